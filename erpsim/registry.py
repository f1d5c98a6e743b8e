"""A fake public VAT registry (like the EU VIES service), deterministic per VAT number."""

from __future__ import annotations

import random

from erpsim import names


def vat_is_valid(vat: str) -> bool:
    """True for an Italian partita IVA: 11 digits with the right check digit."""
    if len(vat) != 11 or not vat.isdigit():
        return False
    total = 0
    for i, char in enumerate(vat[:10]):
        digit = int(char)
        if i % 2 == 0:
            total += digit
        else:
            doubled = digit * 2
            total += doubled - 9 if doubled > 9 else doubled
    return (10 - total % 10) % 10 == int(vat[10])


def registry_lookup(vat: str) -> dict[str, str] | None:
    """FIELD -> value for a VAT number the registry knows (3 in 4 valid ones), else None."""
    vat = vat.strip()
    if not vat_is_valid(vat) or int(vat) % 4 == 0:
        return None
    rng = random.Random(int(vat))
    first, surname = rng.choice(names.FIRST_NAMES), rng.choice(names.SURNAMES)
    city, zip_code, province = rng.choice(names.CITIES)
    return {
        "NAME": rng.choice(names.BUSINESS_KINDS).format(f=first, s=surname).upper(),
        "STREET": f"{rng.choice(names.STREETS)} {rng.randrange(1, 180)}".upper(),
        "LOGISTICSADDRESSZIPCODE": zip_code,
        "CITY": f"{city} ({province})".upper(),
        "FISCALCODE": vat,
    }
