"""The live ERP's customer-form quirks (issue 8, FACTS §6-§7), in erpsim and in the bot.

Each test shows the simulator's behaviour and that the bot's handling of it is what makes
the write come out right: the VAT check fires only for typed keystrokes and overwrites
fields written before it answers; FISCALCODE and SDI run checks of their own; LINEDISC combo
items take real clicks; validation warnings can be ignored, errors cannot; a customer
changed by another user is merged; Error.aspx is a permanent failure naming the customer;
every save is read back and compared.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from erp import operations
from erp import selectors as sel
from erp.customer_form import find_input
from erp.customers import NewCustomer, create_customer, update_customer
from erp.errors import ErpRejected
from erp.session import login
from erp.waits import wait_idle
from erpsim.registry import registry_lookup
from tests.test_erp_customers import _fresh_vat, _taken
from tests.test_erp_writes import AGENT, PASSWORD, Hooks

NEW_CUSTOMER_URL = "CUSTTABLE_DetailView/?NewObject=true"
#: Every request this much slower, so a callback's answer surely comes after quick writes.
SLOW_CALLBACKS = {"slow_rate": 1.0, "slow_ms": 300}


def _row(erp: Any, vat: str) -> dict[str, Any]:
    rows = [c for c in erp.state("customers")["customers"] if c["vat_number"] == vat]
    assert len(rows) == 1
    return rows[0]


def _mine(erp: Any, n: int = 3) -> dict[str, Any]:
    return [c for c in erp.state("customers")["customers"] if c["agent"] == AGENT][n]


async def _field(page: Any, field: str) -> str:
    value: str = await page.evaluate(
        "(s) => { const e = document.querySelector(s); return e ? e.value : null; }",
        sel.field_input(field),
    )
    return value


async def _view_text(page: Any, field: str) -> str:
    value: str = await page.evaluate(
        "(s) => document.querySelector(s).textContent.trim()", sel.field_view(field)
    )
    return value


async def _open_new_form(page: Any, erp: Any) -> None:
    await login(page, erp.url, AGENT, PASSWORD)
    await page.goto(erp.url + NEW_CUSTOMER_URL)
    await wait_idle(page, "open the new-customer form")


def _admin_change(erp: Any, customer_id: str, body: dict[str, Any]) -> Any:
    return erp.call("POST", f"/__sim/customers/{customer_id}", body)


# -- 3. callbacks that overwrite values written too early -----------------------------------


def test_vat_check_runs_only_for_typed_keystrokes(erp: Any, aio: Any, page: Any) -> None:
    vat = _fresh_vat(known=True, taken=_taken(erp))

    async def set_by_script() -> str:
        await _open_new_form(page, erp)
        await page.evaluate(
            """(s, v) => { const e = document.querySelector(s); e.focus(); e.value = v;
                e.dispatchEvent(new Event('input', {bubbles: true})); e.blur(); }""",
            sel.field_input("VATNUM"),
            vat,
        )
        await wait_idle(page, "after a scripted VAT")
        return await _view_text(page, "VATLASTCHECKEDDATE")

    # Given a VAT number put in by script: the ERP runs no check (SetValue does not fire it)
    assert aio.run(set_by_script()) == ""

    # When the bot creates the customer
    new = NewCustomer(
        name="Ottica Verdi", vat_number=vat, street="Via Mazzini 2", zip="37121", city="Verona"
    )
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    aio.run(create_customer(page, erp.url, new))

    # Then the VAT check ran (typed key by key) and the ERP keeps its result
    row = _row(erp, vat)
    assert row["vat_checked"] and row["vat_valid"] is True and row["vat_address"]


def test_vat_check_overwrites_fields_written_before_it(erp: Any, aio: Any, page: Any) -> None:
    vat = _fresh_vat(known=True, taken=_taken(erp))
    registry = registry_lookup(vat)
    assert registry is not None
    erp.set_faults(**SLOW_CALLBACKS)

    async def write_too_early() -> tuple[str, str]:
        await _open_new_form(page, erp)
        await page.type(sel.field_input("VATNUM"), vat)
        await page.keyboard.press("Tab")
        await page.evaluate(
            "(s) => { document.querySelector(s).value = '56125'; }",
            find_input("LOGISTICSADDRESSZIPCODE"),
        )
        await wait_idle(page, "the VAT check")
        zip_code = await page.evaluate(
            "(s) => document.querySelector(s).value", find_input("LOGISTICSADDRESSZIPCODE")
        )
        return zip_code, await _field(page, "NAMEALIAS")

    # Given a CAP written while the VAT check runs: its answer overwrites CAP and NAMEALIAS
    zip_code, alias = aio.run(write_too_early())
    assert zip_code == registry["LOGISTICSADDRESSZIPCODE"] != "56125"
    assert alias == registry["NAME"][:20]

    # When the bot creates a customer whose data differ from the registry's
    new = NewCustomer(
        name="Laboratorio Neri", vat_number=vat, street="Corso Italia 9", zip="56125", city="Pisa"
    )
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    created = aio.run(create_customer(page, erp.url, new))

    # Then the ERP holds what the bot wrote, not the check's fill
    row = _row(erp, vat)
    assert (row["name"], row["street"], row["zip"], row["city"]) == (
        new.name,
        new.street,
        new.zip,
        new.city,
    )
    assert created.zip == "56125" and row["vat_checked"]


def test_fiscal_code_sets_name_alias_and_blank_sdi_resets_it(erp: Any, aio: Any, page: Any) -> None:
    async def fiscal_code_then_blank_sdi() -> tuple[str, str, str]:
        await _open_new_form(page, erp)
        await page.evaluate(
            """(s) => { const e = document.querySelector(s); e.value = 'RSSMRA80A01L781X';
                e.dispatchEvent(new Event('change', {bubbles: true})); }""",
            sel.field_input("FISCALCODE"),
        )
        await wait_idle(page, "the fiscal code check")
        alias = await _field(page, "NAMEALIAS")
        await page.focus(sel.field_input("LEGALAUTHORITY"))
        await page.keyboard.press("Tab")
        await wait_idle(page, "leaving SDI blank")
        return alias, await _field(page, "FISCALCODE"), await _field(page, "LEGALAUTHORITY")

    # The fiscal code check writes the code into NAMEALIAS; leaving SDI blank resets both
    assert aio.run(fiscal_code_then_blank_sdi()) == ("RSSMRA80A01L781X", "", "")


def test_typing_into_street_loses_keys_to_its_rerender(erp: Any, aio: Any, page: Any) -> None:
    erp.set_faults(**SLOW_CALLBACKS)
    street = "Via Garibaldi 12"

    async def type_street() -> str:
        await _open_new_form(page, erp)
        await page.type(sel.field_input("STREET"), street, {"delay": 30})
        await wait_idle(page, "the STREET re-render")
        return await _field(page, "STREET")

    # Given STREET typed key by key: the server re-renders it mid-typing, keys are lost
    kept = aio.run(type_street())
    assert kept != street and street.startswith(kept)

    # When the bot creates a customer, the form holds and the ERP keeps the whole street
    vat = _fresh_vat(known=False, taken=_taken(erp))
    new = NewCustomer(
        name="Bar Centrale", vat_number=vat, street=street, zip="37100", city="VR",
        email="bar.centrale@pec.it",
    )
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    assert aio.run(create_customer(page, erp.url, new)).street == street
    assert _row(erp, vat)["street"] == street


# -- 7. every write verified by reading it back ----------------------------------------------


def test_customer_save_is_read_back_and_a_difference_names_the_field(
    erp: Any, aio: Any, page: Any
) -> None:
    vat = _fresh_vat(known=False, taken=_taken(erp))
    new = NewCustomer(
        name="Farmacia Gialli",
        vat_number=vat,
        street="Via Dante 4",
        zip="35121",
        city="Padova",
        fiscal_code="GLLPLA70B02G224Y",
        email="farmacia.gialli@pec.it",
    )

    class LateCallback(Hooks):
        """Leaves SDI blank after the form was checked: its callback clears FISCALCODE."""

        async def before_commit(self) -> None:
            await super().before_commit()
            await page.focus(sel.field_input("LEGALAUTHORITY"))
            await page.keyboard.press("Tab")
            await wait_idle(page, "leaving SDI blank")

    aio.run(login(page, erp.url, AGENT, PASSWORD))
    hooks = LateCallback()

    # When a callback changes the form after the bot checked it
    with pytest.raises(ErpRejected) as info:
        aio.run(create_customer(page, erp.url, new, before_commit=hooks.before_commit))

    # Then the readback catches it: an error naming the field, never a silent success
    assert info.value.field == "fiscal_code"
    assert "GLLPLA70B02G224Y" in str(info.value)
    assert _row(erp, vat)["fiscal_code"] == ""


# -- 4. combo items need real mouse clicks --------------------------------------------------


def test_line_discount_combo_takes_real_clicks_only(erp: Any, aio: Any, page: Any) -> None:
    async def synthetic_click() -> str:
        await _open_new_form(page, erp)
        return await page.evaluate(
            """() => {
                const input = document.querySelector('[id$="_xaf_dviLINEDISC_Edit_dropdown_DD_I"]');
                const item = document.querySelector('[data-dx-cust-item="N/A"]');
                item.click();
                return input.value;
            }"""
        )

    # A synthetic click on "N/A" leaves the form's default
    assert aio.run(synthetic_click()) == "Discount to get street price"

    # The bot picks "N/A" with real clicks, so a new customer gives orders no 20 % default
    vat = _fresh_vat(known=True, taken=_taken(erp))
    new = NewCustomer(
        name="Studio Blu", vat_number=vat, street="Via Po 1", zip="10121", city="Torino"
    )
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    aio.run(create_customer(page, erp.url, new))
    assert _row(erp, vat)["line_discount"] == "N/A"


# -- 6. popups and messages ------------------------------------------------------------------


def test_validation_warnings_are_ignored_and_errors_are_not(erp: Any, aio: Any, page: Any) -> None:
    # Given a VAT number the public registry does not confirm: the save only warns
    vat = _fresh_vat(known=False, taken=_taken(erp))
    new = NewCustomer(
        name="Edicola Rosa", vat_number=vat, street="Via Verdi 8", zip="40121", city="Bologna",
        sdi="M5UXCR1",
    )
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    # When the bot saves it: the warning's "Ignora avvisi" is ticked and the save repeated
    created = aio.run(create_customer(page, erp.url, new))

    # Then it exists once, unconfirmed
    row = _row(erp, vat)
    assert created.account == row["account"] and row["vat_valid"] is False
    assert erp.counters()["writes"] == {"customer_create": 1}

    # And an error cannot be ignored: it fails naming its field, nothing saved
    other = _fresh_vat(known=False, taken=_taken(erp))
    incomplete = NewCustomer(name="Senza Via", vat_number=other, street="", zip="40121", city="BO")
    with pytest.raises(ErpRejected) as info:
        aio.run(create_customer(page, erp.url, incomplete))
    assert info.value.field == "street" and "non deve essere vuoto" in info.value.erp_message
    assert erp.counters()["writes"] == {"customer_create": 1}


def test_customer_changed_by_another_user_is_merged(erp: Any, aio: Any, page: Any) -> None:
    customer = _mine(erp)

    async def popup_comes_back() -> bool:
        await login(page, erp.url, AGENT, PASSWORD)
        await page.goto(erp.url + f"CUSTTABLE_DetailView/{customer['id']}/?mode=Edit")
        _admin_change(erp, customer["id"], {"fields": {"CITY": "Altrove"}})
        await asyncio.gather(page.waitForNavigation(), page.click('a[data-menu-cmd="Save"]'))
        await page.waitForSelector("[data-dx-merge-popup]", {"visible": True})
        await page.evaluate(
            "() => { document.querySelector('[data-dx-merge-popup]').style.display = 'none'; }"
        )
        await page.waitForSelector("[data-dx-merge-popup]", {"visible": True})
        return True

    # Given a save of a record changed since its edit page opened: the popup, hiding it
    # makes it return
    assert aio.run(popup_comes_back())

    # When another user changes the e-mail while the bot edits the phone
    class OtherUser(Hooks):
        async def before_commit(self) -> None:
            await super().before_commit()
            _admin_change(erp, customer["id"], {"fields": {"LEGALEMAIL": "altro@pec.it"}})

    hooks = OtherUser()
    updated = aio.run(
        update_customer(
            page,
            erp.url,
            customer["account"],
            {"phone": "+39045777777"},
            before_commit=hooks.before_commit,
        )
    )

    # Then "Fondersi" keeps both changes
    row = next(c for c in erp.state("customers")["customers"] if c["id"] == customer["id"])
    assert row["phone"] == updated.phone == "+39045777777"
    assert row["email"] == "altro@pec.it"


def test_customer_that_cannot_be_edited_fails_naming_it(erp: Any, aio: Any, page: Any) -> None:
    customer = _mine(erp)
    _admin_change(erp, customer["id"], {"editable": False})
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    # When the bot updates a customer whose edit page is Error.aspx
    with pytest.raises(ErpRejected) as info:
        aio.run(
            operations.update_customer(
                page,
                erp.url,
                {"customer": customer["account"], "fields": {"phone": "+390451"}},
                op_id="u",
                reconcile=False,
                hooks=Hooks(),
            )
        )

    # Then it fails for good (ErpRejected is not retried), naming the customer
    assert info.value.field == "customer" and customer["account"] in str(info.value)
    assert "Error.aspx" in str(info.value) and erp.counters()["writes"] == {}
