"""check-vat and refresh-customer against the simulator, in a real Chromium."""

from __future__ import annotations

import random
from typing import Any

import pytest

from erp.customer_reads import check_vat, refresh_customer
from erp.customers import NewCustomer, create_customer
from erp.errors import ErpRejected
from erp.session import login
from erpsim.model import AltAddress, Customer
from erpsim.registry import registry_lookup, vat_is_valid
from erpsim.seeding import vat_number
from tests.test_erp_writes import AGENT, PASSWORD

OTHER_AGENT = "agent02"


class ReadHooks:
    """The hooks a read executor gets: records what it caches, stores and reports."""

    def __init__(self) -> None:
        self.cached: list[tuple[str, str, dict[str, Any]]] = []

    async def cache_record(self, entity: str, key: str, data: dict[str, Any]) -> None:
        self.cached.append((entity, key, data))

    async def store_document(self, content: bytes, filename: str, content_type: str) -> str:
        raise AssertionError("a customer read stores no document")

    async def progress(self, info: dict[str, Any]) -> None:
        pass


def _customers(erp: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = erp.state("customers")["customers"]
    return rows


def _fresh_vat(erp: Any, *, known: bool) -> str:
    """A valid VAT number no customer uses, known (or not) to the fake public registry."""
    taken = {c["vat_number"] for c in _customers(erp)}
    rng = random.Random(7)
    while True:
        vat = vat_number(rng)
        if vat not in taken and vat_is_valid(vat) and (registry_lookup(vat) is not None) == known:
            return vat


def _check(aio: Any, page: Any, erp: Any, vat: str) -> tuple[dict[str, Any], list[str]]:
    """Run check-vat logged in as agent01; its result and the dialogs the page showed."""
    dialogs: list[str] = []

    async def flow() -> dict[str, Any]:
        await login(page, erp.url, AGENT, PASSWORD)
        page.on("dialog", lambda d: dialogs.append(d.type))
        return await check_vat(page, erp.url, {"vat_number": vat}, hooks=ReadHooks())

    return aio.run(flow()), dialogs


async def _form_left(page: Any) -> bool:
    """The page is off the customer form and arms no beforeunload of it."""
    armed: bool = await page.evaluate("() => !!window.onbeforeunload")
    return "CUSTTABLE_DetailView" not in page.url and not armed


def test_check_vat_of_a_registry_vat_fills_its_data_and_saves_nothing(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a VAT number the public registry knows, and the ERP's customers before
    vat = _fresh_vat(erp, known=True)
    registry = registry_lookup(vat)
    assert registry is not None
    before = _customers(erp)

    # When
    result, dialogs = _check(aio, page, erp, vat)

    # Then the registry's data, validated and dated by the ERP
    assert result == {
        "vat_number": vat,
        "valid": True,
        "name": registry["NAME"],
        "street": registry["STREET"],
        "zip": registry["LOGISTICSADDRESSZIPCODE"],
        "city": registry["CITY"],
        "fiscal_code": registry["FISCALCODE"],
        "checked_at": result["checked_at"],
    }
    assert result["checked_at"]
    # ...and nothing saved: the form was left through its beforeunload dialog
    assert _customers(erp) == before
    assert dialogs == ["beforeunload"]
    assert aio.run(_form_left(page))

    # And the agent's next create-customer, of that very VAT, still works
    new = NewCustomer(
        name="Studio Bianchi", vat_number=vat, street="Via Po 3", zip="10121", city="Torino (TO)",
        email="studio.bianchi@pec.it",
    )
    created = aio.run(create_customer(page, erp.url, new))
    after = _customers(erp)
    assert len(after) == len(before) + 1
    assert [c["id"] for c in after if c["vat_number"] == vat] == [created.id]


def test_check_vat_of_a_vat_the_registry_does_not_know_is_not_valid(
    erp: Any, aio: Any, page: Any
) -> None:
    vat = _fresh_vat(erp, known=False)
    before = _customers(erp)

    result, _ = _check(aio, page, erp, vat)

    assert result["vat_number"] == vat and result["valid"] is False
    assert result["checked_at"]
    assert [result[k] for k in ("name", "street", "zip", "city", "fiscal_code")] == [None] * 5
    assert "duplicate_of" not in result
    assert _customers(erp) == before
    assert aio.run(_form_left(page))


def test_check_vat_of_an_existing_customers_vat_names_that_customer(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given a VAT number another agent's customer holds
    before = _customers(erp)
    owner = next(c for c in before if c["agent"] == OTHER_AGENT)

    result, _ = _check(aio, page, erp, owner["vat_number"])

    # Then the ERP's message names it (by the number the message carries) and nothing changed
    assert result == {
        "vat_number": owner["vat_number"],
        "valid": False,
        "duplicate_of": owner["account"],
    }
    assert _customers(erp) == before
    assert aio.run(_form_left(page))


def test_seeded_customers_have_addresses_and_blocked_deterministically(erp: Any) -> None:
    customers = _customers(erp)
    counts = {len(c["addresses"]) for c in customers}
    assert 0 in counts and counts & {1, 2, 3} and counts <= {0, 1, 2, 3}
    blocked = [c["blocked"] for c in customers]
    assert set(blocked) <= {"No", "Fattura:", "Completo"}
    assert blocked.count("No") > len(blocked) / 2
    ids = [a["id"] for c in customers for a in c["addresses"]]
    assert len(ids) == len(set(ids))
    erp.reset()
    assert _customers(erp) == customers
    # The simulator persists customers through these dicts: addresses survive the trip.
    row = next(c for c in customers if c["addresses"])
    assert Customer.from_json(row).to_json() == row
    assert isinstance(Customer.from_json(row).addresses[0], AltAddress)


def test_refresh_customer_reads_the_record_its_addresses_and_blocked(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given one of agent01's customers with two alternative addresses and invoices blocked
    customer = next(c for c in _customers(erp) if c["agent"] == AGENT)
    addresses = [
        {
            "type": "Consegna",
            "name": "Magazzino Nord",
            "street": "Via Emilia 12",
            "zip": "40121",
            "city": "Bologna",
            "county": "BO",
            "state": "",
            "country": "IT",
            "district": "",
        },
        {
            "id": "99001",
            "type": "Fattura",
            "name": customer["name"],
            "street": "Corso Italia 5",
            "zip": "56125",
            "city": "Pisa",
            "county": "PI",
            "state": "Toscana",
            "country": "IT",
            "district": "Porta a Mare",
        },
    ]
    erp.call(
        "POST",
        f"/__sim/customers/{customer['id']}",
        {"addresses": addresses, "blocked": "Fattura:"},
    )
    held = next(c for c in _customers(erp) if c["id"] == customer["id"])
    hooks = ReadHooks()

    async def flow() -> dict[str, Any]:
        await login(page, erp.url, AGENT, PASSWORD)
        return await refresh_customer(page, erp.url, {"customer": customer["account"]}, hooks=hooks)

    # When
    record = aio.run(flow())

    # Then the simulator's record: fields, addresses (with their ERP ids) and BLOCKED
    assert record["customer_id"] == customer["id"] and record["account"] == customer["account"]
    fields = record["fields"]
    assert {
        k: fields[k]
        for k in (
            "ACCOUNTNUM",
            "NAME",
            "VATNUM",
            "STREET",
            "CITY",
            "LOGISTICSADDRESSZIPCODE",
            "LEGALEMAIL",
            "PHONE",
        )
    } == {
        "ACCOUNTNUM": held["account"],
        "NAME": held["name"],
        "VATNUM": held["vat_number"],
        "STREET": held["street"],
        "CITY": held["city"],
        "LOGISTICSADDRESSZIPCODE": held["zip"],
        "LEGALEMAIL": held["email"],
        "PHONE": held["phone"],
    }
    assert record["addresses"] == held["addresses"]
    assert record["addresses"][1]["id"] == "99001" and record["addresses"][0]["id"]
    assert record["blocked"] == fields["BLOCKED"] == "Fattura:"
    assert hooks.cached == [("customer_records", customer["account"], record)]


def test_refresh_customer_of_a_customer_without_addresses(erp: Any, aio: Any, page: Any) -> None:
    customer = next(c for c in _customers(erp) if c["agent"] == AGENT and not c["addresses"])
    hooks = ReadHooks()

    async def flow() -> dict[str, Any]:
        await login(page, erp.url, AGENT, PASSWORD)
        return await refresh_customer(page, erp.url, {"customer": customer["account"]}, hooks=hooks)

    record = aio.run(flow())
    assert record["addresses"] == [] and record["blocked"] == customer["blocked"]


def test_refresh_customer_of_another_agent_is_rejected(erp: Any, aio: Any, page: Any) -> None:
    # Given a customer of agent02 (its detail view would open for anyone: FACTS §13)
    theirs = next(c for c in _customers(erp) if c["agent"] == OTHER_AGENT)
    hooks = ReadHooks()

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await refresh_customer(page, erp.url, {"customer": theirs["account"]}, hooks=hooks)

    with pytest.raises(ErpRejected) as info:
        aio.run(flow())
    assert info.value.field == "customer"
    assert hooks.cached == []
