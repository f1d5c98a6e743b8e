"""Reading what Archibald's grids show in either culture back into values.

The grid writes numbers and dates for the browser's language (FACTS §0, §8): en-US shows
"51,847", "$14.34", "3/28/2026 6:24:57 AM"; it-IT shows "51.847", "250,01 EUR",
"28/03/2026 06:24:57". The bot normally knows its culture (``ARCHIBOT_ERP_LANG``) and should
pass it as ``culture``; without it the text is auto-detected by the rules below.

Numbers (:func:`parse_number`), without a culture:

* currency marks ($, €, EUR, USD), "%" and spaces are dropped; "(360,65)", "360,65-" and
  "-360,65" are negative;
* with both "." and "," the last one is the decimal separator ("1,234.56", "1.234,56");
* a separator that appears more than once is a thousands separator ("100,000,000");
* a single separator followed by exactly three digits is a thousands separator ("51,847" and
  "51.847" are both 51847): the grid shows ids and integers grouped and every decimal,
  amount and percentage with two places, so three digits after one separator only ever come
  from grouping;
* any other single separator is the decimal one ("14.34", "14,34").

Dates (:func:`parse_datetime`): with a culture, en* reads M/D/Y and it* reads D/M/Y. Without
one, an AM/PM marker means en-US (M/D); else a first part over 12 means D/M and a second part
over 12 means M/D; a date that stays ambiguous (both parts ≤ 12, no marker) is read D/M, the
bot's default it-IT. An English date without time ("3/4/2026") is therefore misread unless the
caller says ``culture="en-US"`` — a wrong guess of this kind once flipped 412 dates in the
original bot, hence the explicit hint.
"""

from __future__ import annotations

import re
from datetime import datetime

#: A culture hint: "it", "en", or a tag such as "it-IT" / "en-US" (only the language matters).
Culture = str

_CURRENCY_RE = re.compile(r"(?i)eur|usd|[$€£%\s\u00a0]")
_NUMBER_RE = re.compile(r"^\d[\d.,]*$|^[.,]\d+$")
_DATE_RE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?)?$"
)
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")
_THOUSANDS_GROUP_DIGITS = 3
_TWELVE = 12


def _is_italian(culture: Culture) -> bool:
    return culture.strip().lower().startswith("it")


def parse_number(text: str, culture: Culture | None = None) -> float | None:
    """The number a grid cell shows ("51,847", "1.234,56", "$14.34", "(360,65)"); None if blank.

    Raises ValueError on text that is not a number in either culture ("N/A" is blank).
    """
    cleaned = _CURRENCY_RE.sub("", text or "")
    if cleaned in ("", "N/A", "-"):
        return None
    negative = False
    if cleaned.startswith("(") and cleaned.endswith(")"):
        negative, cleaned = True, cleaned[1:-1]
    if cleaned.endswith("-"):
        negative, cleaned = not negative, cleaned[:-1]
    if cleaned.startswith("-"):
        negative, cleaned = not negative, cleaned[1:]
    elif cleaned.startswith("+"):
        cleaned = cleaned[1:]
    if not _NUMBER_RE.match(cleaned):
        raise ValueError(f"not a number in either culture: {text!r}")
    group, decimal = _separators(cleaned, culture)
    whole, _, fraction = cleaned.partition(decimal) if decimal else (cleaned, "", "")
    if (decimal and decimal in fraction) or (group and group in fraction):
        raise ValueError(f"not a number in either culture: {text!r}")
    if group:
        whole = _ungroup(whole, group, text)
    elif "." in whole or "," in whole:
        raise ValueError(f"not a number in either culture: {text!r}")
    value = float(f"{whole or '0'}.{fraction or '0'}")
    return -value if negative else value


def _separators(number: str, culture: Culture | None) -> tuple[str, str]:
    """(thousands separator, decimal separator) of ``number``; "" when it has none."""
    if culture is not None:
        return (".", ",") if _is_italian(culture) else (",", ".")
    dot, comma = number.rfind("."), number.rfind(",")
    if dot >= 0 and comma >= 0:
        return (",", ".") if dot > comma else (".", ",")
    sep = "." if dot >= 0 else "," if comma >= 0 else ""
    if not sep:
        return "", ""
    other = "," if sep == "." else "."
    if number.count(sep) > 1:
        return sep, other
    after = len(number) - number.index(sep) - 1
    return (sep, other) if after == _THOUSANDS_GROUP_DIGITS else (other, sep)


def _ungroup(whole: str, group: str, text: str) -> str:
    parts = whole.split(group)
    head_ok = 1 <= len(parts[0]) <= _THOUSANDS_GROUP_DIGITS
    if len(parts) > 1 and not (
        head_ok and all(len(p) == _THOUSANDS_GROUP_DIGITS for p in parts[1:])
    ):
        raise ValueError(f"misplaced thousands separator in {text!r}")
    return "".join(parts)


def parse_int_id(text: str) -> str:
    """An id as the grid shows it ("51,847", "51.847", "51847") → "51847"; raises ValueError."""
    cleaned = (text or "").strip().replace("\u00a0", "")
    if not re.fullmatch(r"\d{1,3}(?:([.,])\d{3}(?:\1\d{3})*)?|\d+", cleaned):
        raise ValueError(f"not an id: {text!r}")
    return cleaned.replace(".", "").replace(",", "")


def parse_datetime(text: str, culture: Culture | None = None) -> datetime | None:
    """A grid date or date-time in either culture; None when blank or not a date.

    "3/28/2026 6:24:57 AM", "28/03/2026 06:24:57", "28/03/2026", ISO "2026-03-28T06:24:57".
    The day/month order is decided as the module docstring says.
    """
    text = (text or "").strip()
    if _ISO_RE.match(text):
        return datetime.fromisoformat(text)
    match = _DATE_RE.match(text)
    if match is None:
        return None
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    marker = (match[7] or "").upper()
    month_first = _month_first(first, second, marker, culture)
    month, day = (first, second) if month_first else (second, first)
    hour, minute, second_s = int(match[4] or 0), int(match[5] or 0), int(match[6] or 0)
    if marker:
        if not 1 <= hour <= _TWELVE:
            return None
        hour = hour % _TWELVE + (_TWELVE if marker == "PM" else 0)
    try:
        return datetime(year, month, day, hour, minute, second_s)
    except ValueError:
        return None


def _month_first(first: int, second: int, marker: str, culture: Culture | None) -> bool:
    if culture is not None:
        return not _is_italian(culture)
    if marker:
        return True
    # No marker: the part over 12 is the day; a date still ambiguous is D/M (it-IT).
    return first <= _TWELVE < second
