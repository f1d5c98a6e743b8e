"""The simulator's latency profiles: the realistic one draws within FACTS.md §10 (pure Python)."""

from __future__ import annotations

import statistics

import pytest

from erpsim.config import FAST, PROFILES, REALISTIC, Faults
from erpsim.timing import FaultEngine, RequestKind, request_kind

DRAWS = 4000
SEED = 7


def draws(kind: RequestKind, *, seed: int = SEED, profile: str = "realistic") -> list[float]:
    engine = FaultEngine(Faults(seed=seed), PROFILES[profile])
    return [engine.latency_ms(kind) for _ in range(DRAWS)]


def test_list_callbacks_take_250_to_900_ms_averaging_about_500() -> None:
    values = draws(RequestKind.CALLBACK)
    assert 250 <= min(values) and max(values) <= 900
    assert 470 <= statistics.mean(values) <= 530  # FACTS §10: avg ~500 (HTTP:91)


def test_update_edit_takes_5_to_7_s_with_a_tail_past_20_s() -> None:
    values = draws(RequestKind.UPDATE_EDIT)
    tail = [v for v in values if v >= 20_000]
    body = [v for v in values if v < 20_000]
    assert 5_000 <= min(values) and max(body) <= 7_000 and max(values) <= 30_000
    assert 5_000 <= statistics.median(values) <= 7_000
    assert 0.015 <= len(tail) / DRAWS <= 0.045  # about 3 % of lines


def test_vat_check_takes_2_6_to_28_s() -> None:
    values = draws(RequestKind.VAT_CHECK)
    assert 2_600 <= min(values) and max(values) <= 28_000
    assert 2_600 <= statistics.median(values) <= 4_000  # the bot's 2.6 s is the usual case
    assert any(v >= 20_000 for v in values)  # the probe's 20–28 s happens too


@pytest.mark.parametrize("kind", [RequestKind.PAYMENT_TERMS, RequestKind.DETAIL_PAGE])
def test_payment_terms_and_detail_readback_take_10_to_15_s(kind: RequestKind) -> None:
    values = draws(kind)
    assert 10_000 <= min(values) and max(values) <= 15_000
    assert 11_500 <= statistics.median(values) <= 13_500


def test_chained_navigation_about_3_s_and_cold_login_15_to_30_s() -> None:
    pages = draws(RequestKind.PAGE)
    assert 2_000 <= min(pages) and max(pages) <= 4_500
    assert 2_800 <= statistics.mean(pages) <= 3_200
    # A cold login: the login POST, then Default.aspx (a page).
    logins = [post + page for post, page in zip(draws(RequestKind.LOGIN), pages, strict=True)]
    assert 15_000 <= min(logins) and max(logins) <= 30_000


def test_fast_profile_stays_fast() -> None:
    for kind in RequestKind:
        assert max(draws(kind, profile="fast")) <= 25
    assert PROFILES["fast"] is FAST and PROFILES["realistic"] is REALISTIC


def test_fixed_latency_and_speed() -> None:
    engine = FaultEngine(Faults(latency_ms=150.0), REALISTIC)
    assert {engine.latency_ms(kind) for kind in RequestKind} == {150.0}
    engine = FaultEngine(Faults(seed=SEED, speed=10.0), REALISTIC)
    assert max(engine.latency_ms(RequestKind.DETAIL_PAGE) for _ in range(100)) <= 1_500


def test_draws_are_deterministic_with_the_seed() -> None:
    kinds = list(RequestKind) * 50
    first = FaultEngine(Faults(seed=SEED), REALISTIC)
    again = FaultEngine(Faults(seed=SEED), REALISTIC)
    other = FaultEngine(Faults(seed=SEED + 1), REALISTIC)
    sequence = [first.latency_ms(k) for k in kinds]
    assert sequence == [again.latency_ms(k) for k in kinds]
    assert sequence != [other.latency_ms(k) for k in kinds]
    first.reseed()
    assert sequence == [first.latency_ms(k) for k in kinds]


def test_request_kinds() -> None:
    lines = "Vertical_v11_5_MainLayoutEdit_xaf_l1504_pg_xaf_l1954_xaf_dviSALESLINEs_v12_9_LE_v12"
    assert request_kind("POST", "/x/", lines, "UpdateEdit") is RequestKind.UPDATE_EDIT
    assert request_kind("POST", "/x/", lines, "AddNewRow") is RequestKind.CALLBACK
    vat = "Vertical_v3_MainLayoutEdit_xaf_l7_xaf_dviVATNUM_Edit"
    assert request_kind("POST", "/x/", vat) is RequestKind.VAT_CHECK
    terms = "Vertical_v3_1_MainLayoutEdit_xaf_l9_xaf_dviPAYMTERMID_Edit"
    assert request_kind("POST", "/x/", terms) is RequestKind.PAYMENT_TERMS
    assert request_kind("POST", "/x/", "Vertical_v3_7_LE_v3") is RequestKind.CALLBACK
    assert request_kind("POST", "/Archibald/Login.aspx", None) is RequestKind.LOGIN
    assert request_kind("GET", "/Archibald/Login.aspx", None) is RequestKind.PAGE
    detail = "/Archibald/SALESTABLE_DetailViewAgent/72001/"
    assert request_kind("GET", detail, None) is RequestKind.DETAIL_PAGE
    assert (
        request_kind("GET", "/Archibald/CUSTTABLE_DetailView/5/", None) is RequestKind.DETAIL_PAGE
    )
    assert request_kind("POST", detail, None) is RequestKind.PAGE  # a form post
    new_order = "/Archibald/SALESTABLE_DetailViewAgent/"
    assert request_kind("GET", new_order, None) is RequestKind.PAGE
    assert request_kind("GET", "/Archibald/SALESTABLE_ListView_Agent/", None) is RequestKind.PAGE
