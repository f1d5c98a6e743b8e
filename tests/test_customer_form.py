"""The customer form as the live ERP validates it (issue 17 item 4; FACTS §6, §13).

erpsim's save refuses what the live save refuses, with its messages in both languages; the CAP
and the payment terms are chosen through the FindPopup iframe; DLVMODE and PRICEGROUP take real
clicks only. The bot picks each the way the form takes it and reads it back after the save; a
refusal names the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from erp import selectors as sel
from erp.customer_form import (
    FIND_OK,
    FIND_SEARCH_BUTTON,
    FIND_SEARCH_INPUT,
    choose_combo,
    choose_in_find_popup,
    find_input,
)
from erp.customers import NewCustomer, create_customer, update_customer
from erp.errors import ErpRejected
from erp.session import login
from erp.waits import wait_idle
from erpsim.timing import RequestKind, request_kind
from tests.test_customer_quirks import _mine, _open_new_form, _row
from tests.test_erp_customers import _fresh_vat, _taken
from tests.test_erp_writes import AGENT, PASSWORD
from tests.test_erpsim import Browser, _hidden

NEW = "/Archibald/CUSTTABLE_DetailView/?NewObject=true"


def _name(html: str, suffix: str) -> str:
    found = re.search(rf'name="(Vertical_v\d+_\d+_MainLayoutEdit_\w*?{suffix})"', html)
    assert found is not None, suffix
    return found.group(1)


def _save(browser: Browser, values: dict[str, str], *, ignore_warnings: bool = False) -> tuple[int, str]:
    """Post the new-customer form with FIELD -> text (the CAP as its lookup's key)."""
    _, _, html = browser.request(NEW)
    form = {**_hidden(html), "__EVENTTARGET": "Vertical$mainMenu", "__EVENTARGUMENT": "Save"}
    if ignore_warnings:
        form["Vertical$ErrorInfo$Ch"] = "C"  # "Ignora avvisi": the unverified VAT only warns
    for field, value in values.items():
        suffix = (
            f"xaf_dvi{field}_Edit_find_Edit_VI"
            if field == "LOGISTICSADDRESSZIPCODE"
            else f"xaf_dvi{field}_Edit_I"
        )
        form[_name(html, suffix)] = value
    status, _, body = browser.request(NEW, form)
    return status, body


@pytest.mark.parametrize(
    ("accept_language", "messages"),
    [
        (
            "it-IT,it;q=0.9",
            [
                "Via: non deve essere vuoto.",
                "Indirizzo logistico CAP non deve essere vuoto.",
                "PEC: non deve essere vuoto.",
                "SDI: non deve essere vuoto.",
                "codice fiscale: non deve essere vuoto.",
                "Telefono: il valore non corrisponde al formato ^\\+[1-9]\\d{1,15}$.",
            ],
        ),
        (
            "en-US,en;q=0.9",
            [
                "Street: must not be empty.",
                "Logistics address ZIP code must not be empty.",
                "PEC: must not be empty.",
                "SDI: must not be empty.",
                "Fiscal code: must not be empty.",
                "Phone: the value does not match the format ^\\+[1-9]\\d{1,15}$.",
            ],
        ),
    ],
)
def test_the_save_refuses_what_the_live_save_refuses_in_its_words(
    erp: Any, accept_language: str, messages: list[str]
) -> None:
    browser = Browser(erp, accept_language)
    browser.login("agent02", "pw-agent02")
    vat = _fresh_vat(known=False, taken=_taken(erp))

    # When a form with no street, no CAP chosen, none of PEC/SDI/CF and a national phone is saved
    status, html = _save(browser, {"VATNUM": vat, "NAME": "Bar Sport", "PHONE": "045 123456"})

    # Then the form comes back with every message, and nothing is created
    banner = re.search(r'id="Vertical_ErrorInfo_Text"[^>]*>([^<]*)<', html)
    assert status == 200 and banner is not None
    text = banner.group(1).replace("&#x27;", "'")
    for message in messages:
        assert message in text, (message, text)
    assert not [c for c in erp.state("customers")["customers"] if c["vat_number"] == vat]


def test_a_cap_the_lookup_does_not_list_is_no_cap_and_a_listed_one_fills_its_place(erp: Any) -> None:
    browser = Browser(erp, "it-IT")
    browser.login("agent02", "pw-agent02")
    vat = _fresh_vat(known=False, taken=_taken(erp))
    base = {"VATNUM": vat, "NAME": "Bar Sport", "STREET": "Via Verdi 2", "LEGALEMAIL": "b@pec.it",
            "PHONE": "+390451234567"}

    # Given a key no FindPopup row has (00100 is no CAP on the live table): no CAP at all
    status, html = _save(browser, {**base, "LOGISTICSADDRESSZIPCODE": "00100"}, ignore_warnings=True)
    assert status == 200 and "Indirizzo logistico CAP non deve essere vuoto." in html

    # When the key of a listed place is posted, the customer is saved with the CAP's place
    status, _ = _save(
        browser, {**base, "LOGISTICSADDRESSZIPCODE": "80038|Pomigliano d'Arco"}, ignore_warnings=True
    )
    assert status == 302
    row = _row(erp, vat)
    assert (row["zip"], row["county"], row["state"]) == ("80038", "NA", "Campania")


def test_a_payment_terms_pick_takes_the_profiles_payment_terms_time() -> None:
    # The form's callback after a payment term is picked is the live ERP's 10-15 s one; the
    # button opening the FindPopup and the CAP's pick are ordinary callbacks
    editor = "Vertical_v4_12345678_MainLayoutEdit_xaf_l1_xaf_dviPAYMTERMID_Edit_find_Edit"
    cap = editor.replace("PAYMTERMID", "LOGISTICSADDRESSZIPCODE")
    path = "/Archibald/CUSTTABLE_DetailView/"
    assert request_kind("POST", path, editor, "PICKED") == RequestKind.PAYMENT_TERMS
    assert request_kind("POST", path, editor, "FIND") == RequestKind.CALLBACK
    assert request_kind("POST", path, cap, "PICKED") == RequestKind.CALLBACK


def test_the_cap_find_popup_is_an_iframe_whose_pick_fills_the_place(
    erp: Any, aio: Any, page: Any
) -> None:
    async def pick(cap: str) -> dict[str, Any]:
        await _open_new_form(page, erp)
        await page.click('[id$="_xaf_dviLOGISTICSADDRESSZIPCODE_Edit_find_Edit_B0"]')
        await page.waitForSelector('iframe[src*="FindPopup=true"]')
        frame = None
        while frame is None:
            frame = next((f for f in page.frames if "FindPopup=true" in f.url), None)
            await page.waitFor(50)
        await frame.waitForSelector(FIND_SEARCH_INPUT, {"visible": True})
        no_b0 = await frame.evaluate(
            "() => !document.getElementById('FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_B0')"
        )
        await frame.type(FIND_SEARCH_INPUT, cap, {"delay": 100})
        await frame.click(FIND_SEARCH_BUTTON)
        await wait_idle(frame, "search the CAP")
        rows = await frame.evaluate(
            "() => [...document.querySelectorAll('tr[class*=dxgvDataRow]')].map(r => r.id)"
        )
        empty = await frame.evaluate("() => !!document.querySelector('tr[id$=_DXEmptyRow]')")
        if rows:
            await frame.evaluate("(id) => document.getElementById(id).click()", rows[0])
            await frame.click(FIND_OK)
            await page.waitForFunction("() => !document.querySelector('iframe[src*=FindPopup]')")
        shown = await page.evaluate(
            """(s) => ({cap: document.querySelector(s).value,
                city: document.querySelector('[id$="_xaf_dviCITY_Edit_I"]').value,
                county: document.querySelector('[id$="_xaf_dviCOUNTY_View"]').textContent,
                state: document.querySelector('[id$="_xaf_dviSTATE_View"]').textContent})""",
            find_input("LOGISTICSADDRESSZIPCODE"),
        )
        return {"no_b0": no_b0, "rows": rows, "empty": empty, **shown}

    # When a CAP is searched in the popup and its one row picked with OK
    got = aio.run(pick("80038"))

    # Then the popup had no _Ed_B0, one row, and the pick filled CAP, CITY, COUNTY and STATE
    assert got["no_b0"] and len(got["rows"]) == 1 and re.match(r"FindDialog_v20_\d+_LE_v20_", got["rows"][0])
    assert (got["cap"], got["city"], got["county"], got["state"]) == (
        "80038", "Pomigliano d'Arco", "NA", "Campania"
    )
    # And a CAP the table does not have shows "No data to display"
    none = aio.run(pick("00100"))
    assert none["rows"] == [] and none["empty"] and none["cap"] == ""


def test_delivery_mode_and_price_group_combos_ignore_script_clicks(
    erp: Any, aio: Any, page: Any
) -> None:
    async def script_then_real(field: str, value: str, tab: tuple[str, ...]) -> tuple[str, str]:
        from erp.detail import open_tab

        await open_tab(page, tab, "open the tab")
        combo = f'[id$="_xaf_dvi{field}_Edit_dropdown_DD"]'
        name = await page.evaluate("(s) => document.querySelector(s).id", combo)
        await page.click(f'[id="{name}_B-1"]')
        await page.evaluate(
            """(name, value) => [...document.querySelectorAll('[id="' + name + '_DDD_PW"] td')]
                .find(td => td.textContent.trim() === value).click()""",
            name,
            value,
        )
        after_script = await page.evaluate("(s) => document.querySelector(s).value", f'[id="{name}_I"]')
        await choose_combo(page, field, value, "real clicks", payload_field=field.lower())
        after_real = await page.evaluate("(s) => document.querySelector(s).value", f'[id="{name}_I"]')
        return after_script, after_real

    aio.run(_open_new_form(page, erp))
    items = json.loads(
        aio.run(
            page.evaluate(
                """() => JSON.stringify([...document.querySelectorAll(
                    '[id$="_xaf_dviDLVMODE_Edit_dropdown_DD_DDD_L"] td')].map(td => td.textContent.trim()))"""
            )
        )
    )
    assert items == ["N/A", "", "Airenterprise", "Destinatario", "FedEx",
                     "General Logistic Systems Spa", "Mittente", "Mototaxi", "Poste Italiane",
                     "UPS - International Express Saver", "UPS Italia"]
    assert aio.run(script_then_real("DLVMODE", "FedEx", ("Principale", "Main"))) == ("N/A", "FedEx")
    assert aio.run(
        script_then_real("PRICEGROUP", "DETTAGLIO (consigliato)", sel.PRICE_DISCOUNT_TAB_TEXTS)
    ) == ("N/A", "DETTAGLIO (consigliato)")


def test_create_customer_chooses_cap_and_combos_and_reads_them_back(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a CAP three places share, and every combo and lookup the payload may set
    vat = _fresh_vat(known=False, taken=_taken(erp))
    new = NewCustomer(
        name="Studio Dentistico Cavaion",
        vat_number=vat,
        street="Via Fontana 3",
        zip="37010",
        city="Cavaion Veronese",
        sdi="M5UXCR1",
        phone="+390456261234",
        mobile="+393331234567",
        delivery_mode="General Logistic Systems Spa",
        payment_terms="206",
        price_group="DETTAGLIO (consigliato)",
    )
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    # When the bot creates it
    created = aio.run(create_customer(page, erp.url, new))

    # Then the ERP holds each choice: the CAP of the payload's place, the combos, the terms
    row = _row(erp, vat)
    assert (row["zip"], row["city"], row["county"], row["state"]) == (
        "37010", "Cavaion Veronese", "VR", "Veneto"
    )
    assert (row["delivery_mode"], row["price_group"], row["payment_terms"]) == (
        "General Logistic Systems Spa", "DETTAGLIO (consigliato)", "206"
    )
    assert (row["sdi"], row["mobile"], row["email"]) == ("M5UXCR1", "+393331234567", "")
    assert created.zip == "37010" and created.account == row["account"]


def test_update_customer_changes_cap_delivery_mode_and_payment_terms(
    erp: Any, aio: Any, page: Any
) -> None:
    customer = _mine(erp)
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    # When the bot moves the customer to Pisa, ships by UPS and pays by RI.BA.
    changes = {"zip": "56125", "city": "Pisa", "delivery_mode": "UPS Italia", "payment_terms": "101"}
    updated = aio.run(update_customer(page, erp.url, customer["account"], changes))

    # Then the ERP holds all of it, and the same update again saves nothing
    row = next(c for c in erp.state("customers")["customers"] if c["id"] == customer["id"])
    assert (row["zip"], row["county"], row["delivery_mode"], row["payment_terms"]) == (
        "56125", "PI", "UPS Italia", "101"
    )
    assert updated.zip == "56125"
    writes = erp.counters()["writes"]
    aio.run(update_customer(page, erp.url, customer["account"], changes))
    assert erp.counters()["writes"] == writes


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"phone": "045 123456"}, "phone", "Telefono:"),
        ({"email": "", "fiscal_code": ""}, "email", "PEC: non deve essere vuoto."),
    ],
)
def test_an_erp_refusal_names_the_field(
    erp: Any, aio: Any, page: Any, changes: dict[str, str], field: str, text: str
) -> None:
    # Given a customer the ERP refuses (the bot called directly: send would refuse it first)
    vat = _fresh_vat(known=False, taken=_taken(erp))
    values: dict[str, Any] = {"name": "Edicola Blu", "vat_number": vat, "street": "Via Po 1",
                              "zip": "10121", "city": "Torino", "email": "blu@pec.it", **changes}
    new = NewCustomer(**{k: (v or None) for k, v in values.items()})
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    # When the bot saves it, then it fails naming the field, with the ERP's message
    with pytest.raises(ErpRejected) as info:
        aio.run(create_customer(page, erp.url, new))
    assert info.value.field == field and text in info.value.erp_message
    assert not [c for c in erp.state("customers")["customers"] if c["vat_number"] == vat]


def test_a_cap_or_payment_term_the_erp_does_not_list_names_the_field(
    erp: Any, aio: Any, page: Any
) -> None:
    async def choose(field: str, search: str, payload_field: str) -> str:
        await _open_new_form(page, erp)
        try:
            await choose_in_find_popup(page, field, search, "choose", payload_field=payload_field)
        except ErpRejected as exc:
            return str(exc.field)
        return ""

    assert aio.run(choose("LOGISTICSADDRESSZIPCODE", "00100", "zip")) == "zip"
    assert aio.run(choose("PAYMTERMID", "999", "payment_terms")) == "payment_terms"
    # the popup was cancelled: no FindPopup left open
    assert not aio.run(page.evaluate("() => !!document.querySelector('iframe[src*=FindPopup]')"))
