"""Reads of customers that change nothing: the ERP's VAT check on a form left unsaved, and one
customer's whole record. Each is called as ``(page, erp_url, payload, hooks=)``."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urljoin

from erp import grid
from erp import selectors as sel
from erp.customer_form import find_input
from erp.customers import CustomerSnapshot, enter_vat_number, read_customer
from erp.detail import open_tab, read_embedded_grid, read_fields, read_view_fields
from erp.errors import ErpError, ErpRejected, ErpUnavailable, NotOwnRecord
from erp.waits import DEFAULT_POLL_MS, boundary, goto, wait_idle

log = logging.getLogger(__name__)

#: Result key -> the new-customer form's input the VAT check fills (FACTS §6).
VAT_FILLED_FIELDS = {
    "name": "NAME",
    "street": "STREET",
    "city": "CITY",
    "fiscal_code": "FISCALCODE",
}
#: How long the alternative addresses' grid may take to render after its tab is shown (the
#: live bot gives it 12 s, FACTS §13; ours fails transient after this).
ADDRESS_GRID_TIMEOUT_MS = 30_000
_DUPLICATE_ID = re.compile(sel.DUPLICATE_VAT_ID)
_ERROR_PAGE = re.compile(r"/Error\.aspx", re.IGNORECASE)


async def check_vat(
    page: Any, erp_url: str, payload: dict[str, Any], *, hooks: Any
) -> dict[str, Any]:
    """Type the VAT number into a new customer form, read what the ERP filled, leave unsaved.

    The form is left whatever happens (its beforeunload dialog confirmed), so no customer and
    no open form stay behind. A VAT an existing customer holds comes back with
    ``duplicate_of`` (the id the ERP names) and ``valid`` False: the ERP checks nothing then.
    """
    vat = str(payload["vat_number"]).strip()
    step = f"check VAT {vat}"
    await goto(page, urljoin(erp_url, sel.NEW_CUSTOMER), step)
    try:
        await wait_idle(page, step)
        banner = await enter_vat_number(page, vat, step)
        filled = await read_fields(page, list(VAT_FILLED_FIELDS.values()), edit=True)
        # The CAP is a lookup: the check's fill shows in its FindPopup editor.
        async with boundary(page, step):
            filled["LOGISTICSADDRESSZIPCODE"] = await page.evaluate(
                "(s) => { const e = document.querySelector(s); return e ? e.value : ''; }",
                find_input("LOGISTICSADDRESSZIPCODE"),
            )
        checks = await read_fields(page, ["VATVALIEDE", "VATLASTCHECKEDDATE"], edit=False)
    except Exception:
        await _leave_quietly(page, erp_url, step)
        raise
    await goto(page, urljoin(erp_url, sel.CUSTOMERS_LIST), f"{step}: leave the form unsaved")
    result: dict[str, Any] = {"vat_number": vat}
    if banner and sel.DUPLICATE_VAT_TEXT in banner:
        found = _DUPLICATE_ID.search(banner)
        result.update(valid=False, duplicate_of=re.sub(r"\D", "", found.group(1)) if found else "")
        return result
    if banner:
        raise ErpUnavailable(f"{step}: the VAT check answered {banner!r}")
    result["valid"] = checks["VATVALIEDE"].strip().lower() in sel.VAT_VALID_TEXTS
    result.update({key: filled[field] or None for key, field in VAT_FILLED_FIELDS.items()})
    result["zip"] = filled["LOGISTICSADDRESSZIPCODE"] or None
    result["checked_at"] = checks["VATLASTCHECKEDDATE"] or None
    return result


async def _leave_quietly(page: Any, erp_url: str, step: str) -> None:
    """Leave the form after a failure; the failure, not a failed leave, is what is reported."""
    try:
        await goto(page, urljoin(erp_url, sel.CUSTOMERS_LIST), f"{step}: leave the form")
    except ErpError as exc:
        log.warning("check_vat_leave_failed", extra={"step": step, "error": str(exc)})


async def refresh_customer(
    page: Any, erp_url: str, payload: dict[str, Any], *, hooks: Any
) -> dict[str, Any]:
    """Read one customer's record in View mode, with alternative addresses and BLOCKED.

    The customer is looked up in the agent's own list first (detail views open for any id,
    FACTS §13), and the record is cached under its account. ErpRejected(field="customer")
    when the agent has no such customer.
    """
    account = str(payload["customer"]).strip()
    step = f"refresh customer {account}"
    found, fields = await open_own_customer_view(page, erp_url, account, step)
    addresses = await read_addresses(page, step)
    record: dict[str, Any] = {
        "customer_id": found.id,
        "account": found.account,
        "fields": fields,
        "addresses": addresses,
        "blocked": blocked_of(fields),
    }
    await hooks.cache_record("customer_records", found.account, record)
    return record


async def open_own_customer_view(
    page: Any, erp_url: str, account: str, step: str
) -> tuple[CustomerSnapshot, dict[str, str]]:
    """The agent's own customer `account` (looked up in their own list first: detail views
    open for any id, FACTS §13), its View page opened; the customer and the page's fields.
    NotOwnRecord when the agent's list does not hold it."""
    found = await read_customer(page, erp_url, account)
    if found is None:
        raise NotOwnRecord("customer", account)
    await goto(page, urljoin(erp_url, sel.customer_view_url(found.id)), step)
    await wait_idle(page, step)
    if _ERROR_PAGE.search(page.url):
        raise ErpRejected(
            f"{step}: the ERP answered its detail view with Error.aspx", field="customer"
        )
    fields = await read_view_fields(page)
    if fields.get("ACCOUNTNUM", "").strip() != found.account:
        raise ErpUnavailable(
            f"{step}: the detail view shows account {fields.get('ACCOUNTNUM')!r}, not {found.account!r}"
        )
    return found, fields


def blocked_of(fields: dict[str, str]) -> str:
    """BLOCKED of a customer's View page, in the Italian the results use (No/Fattura:/Completo)."""
    blocked = fields.get("BLOCKED", "").strip()
    return sel.BLOCKED_TEXTS.get(blocked, blocked)


async def check_orderable(
    page: Any,
    erp_url: str,
    account: str,
    delivery_address: dict[str, str] | None = None,
    *,
    refuse_blocked: bool = True,
) -> dict[str, str] | None:
    """Refuse an order for a customer blocked completely (BLOCKED "Completo", FACTS §13)
    before anything is entered: ErpRejected naming the customer. One blocked for invoices
    only ("Fattura:") still takes orders. NotOwnRecord when the agent has no such customer.

    With `delivery_address` (``{"id"}`` or ``{"street", "city"}``), the customer's alternative
    address it names, as its "Indirizzo alt." grid holds it (id, street, zip, city, …);
    ErpRejected(field="delivery_address") listing the customer's addresses when none is it.
    `refuse_blocked` False: only the address (an order an earlier attempt created).
    """
    step = f"check customer {account} takes orders"
    _, fields = await open_own_customer_view(page, erp_url, account, step)
    if refuse_blocked and blocked_of(fields) == sel.BLOCKED_FOR_ORDERS:
        raise ErpRejected(
            f"customer {account} is blocked (BLOCKED {sel.BLOCKED_FOR_ORDERS!r}): the ERP takes "
            "no order for it; nothing was created",
            field="customer",
        )
    if delivery_address is None:
        return None
    addresses = await read_addresses(page, f"{step}: its alternative addresses")
    found = next((a for a in addresses if same_address(a, delivery_address)), None)
    if found is None:
        held = "; ".join(f"{a.get('id')}: {a.get('street')}, {a.get('city')}" for a in addresses)
        raise ErpRejected(
            f"customer {account} has no alternative address {_named(delivery_address)} "
            f"(it has: {held or 'none'}); nothing was created",
            field="delivery_address",
        )
    return found


def _folded(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def same_address(held: dict[str, str], wanted: dict[str, str]) -> bool:
    """Whether an address of the grid is the one a payload names (by id, or street + city)."""
    if wanted.get("id"):
        return held.get("id") == wanted["id"]
    return _folded(held.get("street")) == _folded(wanted.get("street")) and _folded(
        held.get("city")
    ) == _folded(wanted.get("city"))


def _named(wanted: dict[str, str]) -> str:
    if wanted.get("id"):
        return f"with id {wanted['id']}"
    return f"{wanted.get('street')!r} in {wanted.get('city')!r}"


async def read_addresses(page: Any, step: str) -> list[dict[str, str]]:
    """The alternative addresses of the customer the detail view shows, with their ERP ids.

    The "Indirizzo alt." tab renders its grid late, after it is shown: wait for the grid
    control, then read every page by field name (the record id is a hidden column).
    """
    await open_tab(page, sel.ALT_ADDRESSES_TAB_TEXTS, step)
    async with boundary(page, f"{step}: wait for the alternative addresses"):
        await page.waitForFunction(
            sel.FIND_CONTROL_JS,
            {"polling": DEFAULT_POLL_MS, "timeout": ADDRESS_GRID_TIMEOUT_MS},
            sel.ADDRESS_GRID_PATTERN,
            "GetColumn",
        )
    await wait_idle(page, step)
    name = await grid.find_control(page, sel.ADDRESS_GRID_PATTERN, step, "GetColumn")
    rows = await read_embedded_grid(page, name, hidden=(sel.ADDRESS_ID_FIELD,))
    return [
        {
            "id": re.sub(r"\D", "", row.pop(sel.ADDRESS_ID_FIELD, "")),
            **{sel.ADDRESS_COLUMNS.get(field, field): text for field, text in row.items()},
        }
        for row in rows
    ]
