"""The two cultures: erpsim's labels and formats, dxfmt.js agreeing with them, erp's parsers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erp.culture import parse_datetime, parse_int_id, parse_number
from erpsim.culture import KINDS, LABEL_KEYS, Kind, Lang, format_value, label, lang_of_header

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


# --- erp.culture: reading either culture back -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("51,847", 51847),
        ("51.847", 51847),
        ("1,234.56", 1234.56),
        ("1.234,56", 1234.56),
        ("250,01 EUR", 250.01),
        ("$14.34", 14.34),
        ("(360,65)", -360.65),
        ("360,65-", -360.65),
        ("($360.65)", -360.65),
        ("-1.234,50 EUR", -1234.5),
        ("63,00 %", 63.0),
        ("63.00 %", 63.0),
        ("100,000,000", 100_000_000),
        ("100.000.000", 100_000_000),
        ("14,3", 14.3),
        ("7", 7),
        ("0,00", 0.0),
        ("1\u00a0234,56 €", 1234.56),
    ],
)
def test_parse_number_reads_either_culture(text: str, value: float) -> None:
    assert parse_number(text) == value


def test_parse_number_with_a_culture_hint_reads_three_decimals() -> None:
    assert parse_number("51.847", "en-US") == 51.847
    assert parse_number("51.847", "it-IT") == 51847
    assert parse_number("51,847", "it") == 51.847


@pytest.mark.parametrize("text", ["", "  ", "N/A"])
def test_parse_number_of_a_blank_cell_is_none(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize("text", ["abc", "1,23,4", "12.34.5,6,7", "1.2.3"])
def test_parse_number_refuses_what_no_culture_writes(text: str) -> None:
    with pytest.raises(ValueError, match="number|separator"):
        parse_number(text)


def test_parse_int_id() -> None:
    assert parse_int_id("51,847") == parse_int_id("51.847") == parse_int_id("51847") == "51847"
    assert parse_int_id("1.002.305") == "1002305"
    for bad in ("51,8470", "5a", "", "51,847.000,1"):
        with pytest.raises(ValueError, match="not an id"):
            parse_int_id(bad)


@pytest.mark.parametrize(
    ("text", "culture", "moment"),
    [
        ("3/28/2026 6:24:57 AM", None, datetime(2026, 3, 28, 6, 24, 57)),
        ("3/4/2026 12:00:00 AM", None, datetime(2026, 3, 4, 0, 0, 0)),
        ("3/4/2026 12:30:00 PM", None, datetime(2026, 3, 4, 12, 30, 0)),
        ("28/03/2026 06:24:57", None, datetime(2026, 3, 28, 6, 24, 57)),
        ("03/04/2026 18:00:00", None, datetime(2026, 4, 3, 18, 0, 0)),
        ("28/03/2026", None, datetime(2026, 3, 28)),
        ("3/28/2026", None, datetime(2026, 3, 28)),
        ("3/4/2026", None, datetime(2026, 4, 3)),  # ambiguous, no marker: D/M
        ("3/4/2026", "en-US", datetime(2026, 3, 4)),
        ("3/4/2026", "it-IT", datetime(2026, 4, 3)),
        ("2026-03-28T06:24:57", None, datetime(2026, 3, 28, 6, 24, 57)),
        ("", None, None),
        ("N/A", None, None),
        ("31/31/2026", None, None),
    ],
)
def test_parse_datetime(text: str, culture: str | None, moment: datetime | None) -> None:
    assert parse_datetime(text, culture) == moment


LANGS = st.sampled_from(["it", "en"])
CULTURE_TAG = {"it": "it-IT", "en": "en-US"}
AMOUNTS = st.decimals(min_value=-(10**10), max_value=10**10, places=2)
MOMENTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda m: m.replace(microsecond=0)
)


@given(value=st.integers(min_value=-(10**12), max_value=10**12), lang=LANGS)
def test_integers_round_trip(value: int, lang: Lang) -> None:
    shown = format_value("int", str(value), lang)
    assert parse_number(shown) == value
    assert parse_number(shown, CULTURE_TAG[lang]) == value
    if value >= 0:
        assert parse_int_id(shown) == str(value)


@given(value=AMOUNTS, kind=st.sampled_from(["decimal", "money", "percent"]), lang=LANGS)
def test_amounts_round_trip(value: Decimal, kind: Kind, lang: Lang) -> None:
    shown = format_value(kind, str(value), lang)
    assert parse_number(shown) == float(value)
    assert parse_number(shown, CULTURE_TAG[lang]) == float(value)


@given(moment=MOMENTS, lang=LANGS)
def test_datetimes_round_trip_even_without_a_hint(moment: datetime, lang: Lang) -> None:
    shown = format_value("datetime", moment.isoformat(), lang)
    assert parse_datetime(shown) == moment
    assert parse_datetime(shown, CULTURE_TAG[lang]) == moment


@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)), lang=LANGS)
def test_dates_round_trip_with_a_hint_and_without_one_when_unambiguous(
    day: date, lang: Lang
) -> None:
    shown = format_value("date", day.isoformat(), lang)
    midnight = datetime(day.year, day.month, day.day)
    assert parse_datetime(shown, CULTURE_TAG[lang]) == midnight
    if lang == "it" or day.day > 12 or day.day == day.month:
        assert parse_datetime(shown) == midnight
    else:
        # Without the hint an English date like 3/4 reads as 3 April: why callers pass it.
        assert parse_datetime(shown) == datetime(day.year, day.day, day.month)
