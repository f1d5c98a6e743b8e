"""The two cultures: erpsim's labels and formats, dxfmt.js agreeing with them, erp's parsers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from erpsim.culture import KINDS, LABEL_KEYS, format_value, label, lang_of_header

DXFMT_JS = Path(__file__).resolve().parent.parent / "erpsim" / "static" / "dxfmt.js"

#: (kind, raw, english, italian): the real grid's texts from FACTS §0 and §8, and edge cases.
SAMPLES = [
    ("int", "51847", "51,847", "51.847"),
    ("int", "100000000", "100,000,000", "100.000.000"),
    ("int", "7", "7", "7"),
    ("int", "-1234", "-1,234", "-1.234"),
    ("decimal", "1234.5", "1,234.50", "1.234,50"),
    ("decimal", "0.005", "0.01", "0,01"),
    ("decimal", "-0.004", "0.00", "0,00"),
    ("decimal", "999.995", "1,000.00", "1.000,00"),
    ("money", "14.34", "$14.34", "14,34 EUR"),
    ("money", "250.01", "$250.01", "250,01 EUR"),
    ("money", "-360.65", "($360.65)", "-360,65 EUR"),
    ("money", "1234567.891", "$1,234,567.89", "1.234.567,89 EUR"),
    ("percent", "63", "63.00 %", "63,00 %"),
    ("percent", "20.5", "20.50 %", "20,50 %"),
    ("date", "2026-03-28", "3/28/2026", "28/03/2026"),
    ("date", "2026-12-01T00:00:00", "12/1/2026", "01/12/2026"),
    ("datetime", "2026-03-28T06:24:57", "3/28/2026 6:24:57 AM", "28/03/2026 06:24:57"),
    ("datetime", "2026-03-28T00:05:00", "3/28/2026 12:05:00 AM", "28/03/2026 00:05:00"),
    ("datetime", "2026-03-28 12:00:01", "3/28/2026 12:00:01 PM", "28/03/2026 12:00:01"),
    ("datetime", "2026-11-02T23:59:59", "11/2/2026 11:59:59 PM", "02/11/2026 23:59:59"),
    ("text", "Ordine aperto", "Ordine aperto", "Ordine aperto"),
    ("money", "", "", ""),
]


@pytest.mark.parametrize(("kind", "raw", "english", "italian"), SAMPLES)
def test_format_value_writes_what_the_real_grid_shows(
    kind: Any, raw: str, english: str, italian: str
) -> None:
    assert format_value(kind, raw, "en") == english
    assert format_value(kind, raw, "it") == italian


def test_aspx_format_in_chromium_agrees_with_the_python_twin(aio: Any, page: Any) -> None:
    # Given dxfmt.js in a real page
    aio.run(page.setContent("<html><body></body></html>"))
    aio.run(page.addScriptTag({"content": DXFMT_JS.read_text()}))
    samples = [(kind, raw) for kind, raw, _, _ in SAMPLES]
    samples += [(kind, raw) for kind in ("int", "decimal", "money", "percent") for raw in _NUMBERS]
    samples += [(kind, raw) for kind in ("date", "datetime") for raw in _MOMENTS]
    # When it formats every sample in both languages
    js = aio.run(
        page.evaluate(
            "(s) => s.map(([k, r]) => [ASPxFormat(k, r, 'en'), ASPxFormat(k, r, 'it')])",
            [list(s) for s in samples],
        )
    )
    # Then it writes exactly what format_value writes
    python = [[format_value(k, r, "en"), format_value(k, r, "it")] for k, r in samples]  # type: ignore[arg-type]
    mismatches = [(s, j, p) for s, j, p in zip(samples, js, python, strict=True) if j != p]
    assert mismatches == []


def test_aspx_format_defaults_to_the_browser_language(aio: Any, page: Any) -> None:
    aio.run(page.setContent("<html><body></body></html>"))
    aio.run(page.addScriptTag({"content": DXFMT_JS.read_text()}))
    language = aio.run(page.evaluate("() => navigator.language"))
    shown = aio.run(page.evaluate("() => ASPxFormat('int', '51847')"))
    expected = "51.847" if language.lower().startswith("it") else "51,847"
    assert shown == expected


_NUMBERS = [
    "0", "1", "-1", "12.345", "12.355", "-12.345", "999", "1000", "-1000", "123456789.987",
    "0.5", "-0.5", "0.994", "0.995", "99999.999", "-99999.999", "42.1", "3.14159",
]  # fmt: skip
_MOMENTS = [
    "2000-01-01T00:00:00", "1999-12-31T23:59:59", "2026-06-15T12:30:00", "2026-06-15T13:07:09",
    "2030-02-28T11:59:59",
]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("it-IT,it;q=0.9", "it"),
        ("it", "it"),
        ("IT-ch", "it"),
        ("en-US,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,it;q=0.8", "en"),
        ("", "en"),
        ("*", "en"),
    ],
)
def test_the_first_language_tag_picks_the_labels(header: str, lang: str) -> None:
    assert lang_of_header(header) == lang


def test_labels_exist_in_both_languages() -> None:
    assert label("new", "it") == "Nuovo"
    assert label("new", "en") == "New"
    assert label("filter_all_orders", "en") == "All Orders "
    assert label("send", "it") == "Invia ordine/i"
    for key in LABEL_KEYS:
        assert label(key, "it") and label(key, "en")
    with pytest.raises(KeyError, match="nuovo"):
        label("nuovo", "it")


def test_format_value_rejects_unknown_kinds() -> None:
    assert "text" in KINDS
    with pytest.raises(ValueError, match="unknown value kind"):
        format_value("weight", "1", "en")  # type: ignore[arg-type]
