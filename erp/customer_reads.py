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
from erp.customers import enter_vat_number, read_customer
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
    addresses = await read_addresses(page, step)
    blocked = fields.get("BLOCKED", "").strip()
    record: dict[str, Any] = {
        "customer_id": found.id,
        "account": found.account,
        "fields": fields,
        "addresses": addresses,
        "blocked": sel.BLOCKED_TEXTS.get(blocked, blocked),
    }
    await hooks.cache_record("customer_records", found.account, record)
    return record


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
