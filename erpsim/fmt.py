"""Italian number, money and date formats as Archibald shows them."""

from __future__ import annotations

import time
from datetime import date


def fmt_int(value: int) -> str:
    """72972 -> "72.972"."""
    return f"{value:,}".replace(",", ".")


def fmt_decimal(value: float, digits: int = 2) -> str:
    """1234.5 -> "1.234,50"."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def fmt_quantity(value: float) -> str:
    """2.5 -> "2,5"; 10.0 -> "10"."""
    if value == int(value):
        return fmt_int(int(value))
    return fmt_decimal(value, 2).rstrip("0").rstrip(",")


def fmt_money(value: float) -> str:
    """1234.56 -> "1.234,56 €"."""
    return f"{fmt_decimal(value)} €"


def fmt_datetime(epoch_s: float) -> str:
    """Epoch seconds -> "dd/mm/yyyy hh:mm:ss" (local time)."""
    return time.strftime("%d/%m/%Y %H:%M:%S", time.localtime(epoch_s)) if epoch_s else ""


def fmt_iso_date(iso: str) -> str:
    """ "2026-03-01" -> "01/03/2026"; empty stays empty."""
    if not iso:
        return ""
    return date.fromisoformat(iso).strftime("%d/%m/%Y")


def parse_decimal(text: str) -> float:
    """Italian decimal "1.234,5" -> 1234.5; raises ValueError."""
    cleaned = text.strip().replace(" ", "").replace(".", "").replace(",", ".")
    if not cleaned:
        raise ValueError("empty")
    return float(cleaned)


def parse_it_date(text: str) -> str:
    """ "01/03/2026" -> "2026-03-01"; empty stays empty; raises ValueError."""
    text = text.strip()
    if not text:
        return ""
    day, month, year = text.split("/")
    return date(int(year), int(month), int(day)).isoformat()
