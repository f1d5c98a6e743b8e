"""Customer page objects and operations, and paging through whole lists, in a real Chromium."""

from __future__ import annotations

import time
from typing import Any

import pytest

from erp import operations
from erp.customers import (
    NewCustomer,
    create_customer,
    find_customer_by_vat,
    read_customer,
    update_customer,
)
from erp.errors import ErpRejected, ErpUnavailable
from erp.lists import iter_list
from erp.session import login
from erpsim.registry import registry_lookup, vat_is_valid
from erpsim.seeding import vat_number
from tests.test_erp_writes import AGENT, PASSWORD, Hooks


def _fresh_vat(known: bool, taken: set[str]) -> str:
    """A valid VAT number no customer uses, known (or not) to the fake public registry."""
    import random

    rng = random.Random(42)
    while True:
        vat = vat_number(rng)
        if vat not in taken and vat_is_valid(vat) and (registry_lookup(vat) is not None) == known:
            return vat


def _taken(erp: Any) -> set[str]:
    return {c["vat_number"] for c in erp.state("customers")["customers"]}


def _timed(aio: Any, coro: Any, label: str) -> Any:
    started = time.monotonic()
    try:
        return aio.run(coro)
    finally:
        print(f"{label}: {(time.monotonic() - started) * 1000:.0f} ms")


def test_create_find_and_update_customer(erp: Any, aio: Any, page: Any) -> None:
    # Given a VAT number the public registry knows (its check fills the form)
    vat = _fresh_vat(known=True, taken=_taken(erp))
    new = NewCustomer(
        name="Studio Dentistico Rossi",
        vat_number=vat,
        street="Via Roma 1",
        zip="20121",
        city="Milano (MI)",
        email="rossi@pec.it",
    )
    hooks = Hooks()
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    # When
    created = _timed(
        aio,
        create_customer(
            page, erp.url, new, before_commit=hooks.before_commit, after_click=hooks.after_click
        ),
        "create_customer",
    )

    # Then the ERP holds it for agent01, with the payload winning over the registry's fill
    rows = [c for c in erp.state("customers")["customers"] if c["vat_number"] == vat]
    assert len(rows) == 1 and rows[0]["agent"] == AGENT
    assert rows[0]["name"] == new.name and rows[0]["email"] == "rossi@pec.it"
    assert rows[0]["fiscal_code"] == vat  # filled by the registry, not in the payload
    assert created.account == rows[0]["account"] and created.id == rows[0]["id"]
    assert hooks.calls == ["before_commit", "after_click"]
    assert aio.run(find_customer_by_vat(page, erp.url, vat)) == created
    assert aio.run(read_customer(page, erp.url, created.account)) == created
    assert aio.run(find_customer_by_vat(page, erp.url, "00000000000")) is None

    # And an update changes only what differs; the same update again saves nothing
    updated = _timed(
        aio,
        update_customer(
            page, erp.url, created.account, {"phone": "+39021234567", "city": created.city}
        ),
        "update_customer",
    )
    assert updated.phone == "+39021234567" and updated.city == created.city
    row = next(c for c in erp.state("customers")["customers"] if c["vat_number"] == vat)
    assert row["phone"] == "+39021234567" and row["changed"] >= row["created"] > 0
    result = aio.run(
        operations.update_customer(
            page,
            erp.url,
            {"customer": created.account, "fields": {"phone": "+39021234567"}},
            op_id="op-u",
            reconcile=True,
            hooks=Hooks(),
        )
    )
    assert result == {"customer_id": created.id, "account": created.account, "unchanged": True}
    assert erp.counters()["writes"] == {"customer_create": 1, "customer_update": 1}


def test_duplicate_vat_and_validation_errors(erp: Any, aio: Any, page: Any) -> None:
    existing = next(c for c in erp.state("customers")["customers"] if c["agent"] == AGENT)
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    duplicate = NewCustomer(
        name="Altro", vat_number=existing["vat_number"], street="Via X 1", zip="00184", city="Roma"
    )
    with pytest.raises(ErpRejected) as info:
        aio.run(create_customer(page, erp.url, duplicate))
    assert info.value.field == "vat_number"
    assert info.value.erp_message == (
        f"Il numero IVA è già utilizzato dal cliente con ID: {existing['account']}"
    )
    # An unknown VAT fills nothing, so a missing street is a validation error
    vat = _fresh_vat(known=False, taken=_taken(erp))
    incomplete = NewCustomer(name="Nuovo", vat_number=vat, street="", zip="00184", city="Roma")
    with pytest.raises(ErpRejected) as info:
        aio.run(create_customer(page, erp.url, incomplete))
    assert info.value.field == "street" and "Data Validation Error" in info.value.erp_message
    assert erp.counters()["writes"] == {}


def test_create_customer_lost_response_then_reconcile(erp: Any, aio: Any, page: Any) -> None:
    vat = _fresh_vat(known=False, taken=_taken(erp))
    payload = {
        "name": "Ferramenta Bianchi",
        "vat_number": vat,
        "street": "Via Po 3",
        "zip": "10121",
        "city": "Torino (TO)",
        "email": "bianchi@pec.it",
    }
    aio.run(login(page, erp.url, AGENT, PASSWORD))
    erp.set_faults(lost_response_rate=1.0)
    with pytest.raises(ErpUnavailable):
        aio.run(
            operations.create_customer(
                page, erp.url, payload, op_id="c", reconcile=False, hooks=Hooks()
            )
        )
    erp.set_faults(lost_response_rate=0.0)
    result = aio.run(
        operations.create_customer(page, erp.url, payload, op_id="c", reconcile=True, hooks=Hooks())
    )
    rows = [c for c in erp.state("customers")["customers"] if c["vat_number"] == vat]
    assert len(rows) == 1
    assert result == {
        "customer_id": rows[0]["id"],
        "account": rows[0]["account"],
        "reconciled": True,
    }
    # without reconcile the same payload is a duplicate
    with pytest.raises(ErpRejected) as info:
        aio.run(
            operations.create_customer(
                page, erp.url, payload, op_id="c", reconcile=False, hooks=Hooks()
            )
        )
    assert info.value.field == "vat_number"
    # update under a lost response: the retry finds nothing left to change
    update = {"customer": rows[0]["account"], "fields": {"street": "Via Po 5"}}
    erp.set_faults(lost_response_rate=1.0)
    with pytest.raises(ErpUnavailable):
        aio.run(
            operations.update_customer(
                page, erp.url, update, op_id="u", reconcile=False, hooks=Hooks()
            )
        )
    erp.set_faults(lost_response_rate=0.0)
    result = aio.run(
        operations.update_customer(page, erp.url, update, op_id="u", reconcile=True, hooks=Hooks())
    )
    assert result["unchanged"] is True
    assert erp.counters()["writes"] == {"customer_create": 1, "customer_update": 1}


def test_iter_list_pages_through_all_customers(erp: Any, aio: Any, page: Any) -> None:
    expected = {c["account"] for c in erp.state("customers")["customers"] if c["agent"] == AGENT}
    aio.run(login(page, erp.url, AGENT, PASSWORD))

    async def collect(view: str, page_size: int, start_page: int = 0) -> list[Any]:
        return [
            p
            async for p in iter_list(
                page, erp.url, view, page_size=page_size, start_page=start_page
            )
        ]  # type: ignore[arg-type]

    pages = _timed(aio, collect("customers", 50), "iter_list customers (4 pages)")
    assert [p.page_index for p in pages] == [0, 1, 2, 3]
    assert all(p.page_count == 4 and p.total_rows == len(expected) for p in pages)
    accounts = [row["accountnum"] for p in pages for row in p.rows]
    assert len(accounts) == len(set(accounts)) == len(expected) and set(accounts) == expected
    assert all(row["id"].isdigit() for p in pages for row in p.rows)

    resumed = aio.run(collect("customers", 50, start_page=3))
    assert [p.page_index for p in resumed] == [3] and resumed[0].rows == pages[3].rows
    assert aio.run(collect("customers", 50, start_page=9)) == []

    products = aio.run(collect("products", 200, start_page=14))
    assert [p.page_index for p in products] == [14] and products[0].total_rows == 3000
    assert len(products[0].rows) == 200 and float(products[0].rows[0]["purchpricepcs"]) > 0
    orders = aio.run(collect("orders", 100))
    assert len(orders) == 1 and orders[0].total_rows == len(erp.orders(AGENT))
    assert all(r["id"].isdigit() and "€" not in r["grossamount"] for r in orders[0].rows)
