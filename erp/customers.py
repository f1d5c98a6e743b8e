"""Customers in Archibald: find by VAT, read, create (with the VAT check), update."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from erp import grid
from erp import selectors as sel
from erp.detail import banner_text, click_save, open_for_edit, read_fields, write_fields
from erp.errors import ErpRejected, ErpUnavailable
from erp.waits import boundary, goto, set_value, wait_idle

Hook = Callable[[], Awaitable[None]]
_CUSTOMER_URL = re.compile(sel.CUSTOMER_URL_PATTERN)
_QUOTED = re.compile(r"'([^']+)'")
#: list column (lowercase) of each CustomerSnapshot attribute
_LIST_COLUMNS = sel.CUSTOMER_LIST_COLUMNS
UPDATABLE = ("name", "street", "zip", "city", "email", "phone", "fiscal_code")


@dataclass(frozen=True)
class NewCustomer:
    """A customer to create; VAT number is the Italian partita IVA (11 digits)."""

    name: str
    vat_number: str
    street: str
    zip: str
    city: str
    email: str | None = None
    phone: str | None = None
    fiscal_code: str | None = None


@dataclass(frozen=True)
class CustomerSnapshot:
    """A customer as the ERP shows it: `id` is the row id, `account` the ACCOUNTNUM."""

    id: str
    account: str
    name: str
    vat_number: str
    street: str
    zip: str
    city: str
    email: str
    phone: str
    fiscal_code: str


def _from_row(row: dict[str, str]) -> CustomerSnapshot:
    values = {attr: row.get(column, "") for attr, column in _LIST_COLUMNS.items()}
    return CustomerSnapshot(
        id=grid.normalize("id", row.get("id", "")), account=row.get("accountnum", ""), **values
    )


async def _from_detail(page: Any) -> CustomerSnapshot:
    """The customer shown by a detail view in view mode."""
    keys = await read_fields(page, ["ID", "ACCOUNTNUM", *sel.CUSTOMER_FIELDS.values()], edit=False)
    if not keys["ACCOUNTNUM"]:
        raise ErpUnavailable(f"the customer's detail view showed no ACCOUNTNUM ({page.url})")
    values = {attr: keys[field] for attr, field in sel.CUSTOMER_FIELDS.items()}
    return CustomerSnapshot(
        id=re.sub(r"\D", "", keys["ID"]), account=keys["ACCOUNTNUM"], **values
    )


async def find_customer_by_vat(page: Any, erp_url: str, vat_number: str) -> CustomerSnapshot | None:
    """Search the agent's customers for this VAT number (exact match); None if absent."""
    vat = vat_number.strip()
    found = await grid.find_row(
        page,
        erp_url,
        sel.CUSTOMERS_LIST,
        vat,
        lambda row: row.get("vatnum") == vat,
        need=("id", "accountnum", "vatnum"),
    )
    return None if found is None else _from_row(found[1])


async def _find_customer_row(
    page: Any, erp_url: str, customer: str
) -> tuple[int, dict[str, str]] | None:
    return await grid.find_row(
        page, erp_url, sel.CUSTOMERS_LIST, customer.strip(), _is_customer(customer)
    )


def _is_customer(customer: str) -> Callable[[dict[str, str]], bool]:
    """A row of this customer, named by ACCOUNTNUM or by row id."""
    key = customer.strip()
    return lambda row: row.get("accountnum") == key or grid.normalize("id", row.get("id", "")) == key


async def read_customer(page: Any, erp_url: str, customer: str) -> CustomerSnapshot | None:
    """The customer with this ACCOUNTNUM (or row id); None if the agent has none."""
    found = await _find_customer_row(page, erp_url, customer)
    return None if found is None else _from_row(found[1])


def _rejection(message: str) -> ErpRejected:
    """The ERP's banner as ErpRejected naming the field it is about."""
    if sel.DUPLICATE_VAT_TEXT in message:
        return ErpRejected(message, field="vat_number")
    for label in _QUOTED.findall(message):
        if label in sel.CUSTOMER_LABELS:
            return ErpRejected(message, field=sel.CUSTOMER_LABELS[label])
    return ErpRejected(message, field=None)


async def _save_customer(page: Any, step: str, after_click: Hook | None) -> CustomerSnapshot:
    await click_save(page, step, close=False, after_click=after_click)
    await wait_idle(page, step)
    banner = await banner_text(page)
    if banner:
        raise _rejection(banner)
    if not _CUSTOMER_URL.search(page.url):
        raise ErpUnavailable(f"{step}: unexpected page after saving: {page.url}")
    return await _from_detail(page)


async def create_customer(
    page: Any,
    erp_url: str,
    customer: NewCustomer,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> CustomerSnapshot:
    """Fill the new-customer form (VAT first: its check may fill other fields) and save.

    ErpRejected(field="vat_number") when the VAT is already used; a validation error names
    its field.
    """
    step = f"create customer {customer.vat_number}"
    await goto(page, urljoin(erp_url, sel.NEW_CUSTOMER), step)
    await set_value(page, sel.field_input("VATNUM"), customer.vat_number.strip(), step)
    async with boundary(page, step):
        await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    await wait_idle(page, step)  # the VAT check callback (seconds on the real ERP)
    values = {
        sel.CUSTOMER_FIELDS[attr]: str(value).strip()
        for attr, value in vars(customer).items()
        if attr != "vat_number" and value is not None
    }
    await write_fields(page, values, step)
    if before_commit is not None:
        await before_commit()
    return await _save_customer(page, step, after_click)


async def update_customer_changes(
    page: Any,
    erp_url: str,
    customer: str,
    fields: dict[str, str],
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> tuple[CustomerSnapshot, bool]:
    """`update_customer`, also telling whether a save was needed."""
    unknown = sorted(set(fields) - set(UPDATABLE))
    if unknown:
        raise ErpRejected(
            f"cannot update {unknown}; updatable: {list(UPDATABLE)}", field=unknown[0]
        )
    step = f"update customer {customer}"
    async with grid.prepared_list(page, erp_url, sel.CUSTOMERS_LIST) as name:
        found = await grid.find_in_list(page, name, customer.strip(), _is_customer(customer))
        if found is None:
            raise ErpRejected(f"cliente {customer} non trovato", field="customer")
        _, row = found
        wanted = {sel.CUSTOMER_FIELDS[attr]: value.strip() for attr, value in fields.items()}
        current = {
            sel.CUSTOMER_FIELDS[attr]: row.get(col, "") for attr, col in _LIST_COLUMNS.items()
        }
        changes = {field: value for field, value in wanted.items() if current[field] != value}
        if not changes:
            return _from_row(row), False
        customer_id = _from_row(row).id
        await open_for_edit(page, urljoin(erp_url, sel.customer_view_url(customer_id)), step)
    await write_fields(page, changes, step)
    if before_commit is not None:
        await before_commit()
    return await _save_customer(page, step, after_click), True


async def update_customer(
    page: Any,
    erp_url: str,
    customer: str,
    fields: dict[str, str],
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> CustomerSnapshot:
    """Change some fields (keys: name, street, zip, city, email, phone, fiscal_code) and save.

    Only fields that differ are written; when none does, nothing is saved.
    """
    snapshot, _ = await update_customer_changes(
        page, erp_url, customer, fields, before_commit=before_commit, after_click=after_click
    )
    return snapshot
