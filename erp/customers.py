"""Customers in Archibald: find by VAT, read, create (with the VAT check), update."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from erp import grid, steps
from erp import selectors as sel
from erp.customer_form import choose_combo, choose_in_find_popup, find_input
from erp.detail import (
    banner_text,
    click_save,
    click_to_navigate,
    open_for_edit,
    open_tab,
    read_fields,
    write_fields,
)
from erp.errors import ErpRejected, ErpUnavailable, NotOwnRecord
from erp.waits import DEFAULT_POLL_MS, boundary, goto, wait_idle

Hook = Callable[[], Awaitable[None]]
_CUSTOMER_URL = re.compile(sel.CUSTOMER_URL_PATTERN)
_QUOTED = re.compile(r"'([^']+)'")
#: list column (lowercase) of each CustomerSnapshot attribute
_LIST_COLUMNS = sel.CUSTOMER_LIST_COLUMNS
#: Text fields beyond the snapshot's (payload name -> FIELD): the SDI code and the mobile.
EXTRA_TEXT_FIELDS = {"sdi": "LEGALAUTHORITY", "mobile": "CELLULARPHONE"}
#: Combos (payload name -> FIELD, the tab that holds it).
COMBO_FIELDS = {
    "delivery_mode": ("DLVMODE", ("Principale", "Main")),
    "price_group": ("PRICEGROUP", sel.PRICE_DISCOUNT_TAB_TEXTS),
}
#: Lookups chosen through the FindPopup (payload name -> FIELD): the CAP, the payment terms.
FIND_FIELDS = {"zip": "LOGISTICSADDRESSZIPCODE", "payment_terms": "PAYMTERMID"}
UPDATABLE = (
    "name", "street", "zip", "city", "email", "phone", "fiscal_code",
    *EXTRA_TEXT_FIELDS, *COMBO_FIELDS, "payment_terms",
)
#: The VAT check takes 2.6-28 s on the real ERP (FACTS §6, §10).
VAT_CHECK_TIMEOUT_MS = 60_000
#: Saves of one write: warnings ignored once, "changed by another user" merged, then give up.
MAX_SAVE_ROUNDS = 4
#: The LINEDISC every new customer gets: "N/A", not the form's "Discount to get street price"
#: (which gives orders a 20 % line discount; FACTS §2.15, §6).
NEW_CUSTOMER_LINE_DISCOUNT = "N/A"
MAIN_TAB_TEXTS = ("Principale", "Main")
_ERROR_PAGE = re.compile(r"/Error\.aspx", re.IGNORECASE)
#: The validation banner's ignore-warnings box (FACTS §6: "Ignora avvisi"/"Ignore warnings").
_IGNORE_WARNINGS = 'input[id$="_ErrorInfo_Ch_S"]'
#: Texts of validation errors, which no ignore-warnings box lets through.
_ERROR_TEXTS = (
    "non deve essere vuoto", "must not be empty", sel.DUPLICATE_VAT_TEXT,
    # a malformed phone (erpsim's wording: the live one is not recorded)
    "non corrisponde al formato", "does not match the format",
)
#: The "changed by another user" popup's "Fondersi"/"Merge" button (FACTS §7).
_MERGE_TEXTS = ("Fondersi", "Merge")
#: The VAT check's answer: VATLASTCHECKEDDATE filled, or the VAT cleared with a message.
_VAT_CHECKED_JS = """(dateSel, vatSel, bannerSel) => {
  const date = document.querySelector(dateSel);
  const vat = document.querySelector(vatSel);
  const banner = document.querySelector(bannerSel);
  const shown = banner && banner.getClientRects().length > 0 && banner.textContent.trim();
  return !!((date && date.textContent.trim()) || (vat && !vat.value && shown));
}"""


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
    sdi: str | None = None
    mobile: str | None = None
    delivery_mode: str | None = None
    payment_terms: str | None = None
    price_group: str | None = None


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
    """The ERP's banner as ErpRejected naming the (first) field it is about."""
    if sel.DUPLICATE_VAT_TEXT in message:
        return ErpRejected(message, field="vat_number")
    for label in _QUOTED.findall(message):
        if label in sel.CUSTOMER_LABELS:
            return ErpRejected(message, field=sel.CUSTOMER_LABELS[label])
    # The live form's own wording: "Via: non deve essere vuoto.", "Indirizzo logistico CAP
    # non deve essere vuoto." (d6-save-flow.json), in either language.
    found = [
        (at, -len(label), attr)
        for label, attr in sel.CUSTOMER_MESSAGE_LABELS.items()
        for at in (message.find(label + ":"), message.find(label + " non deve"),
                   message.find(label + " must"))
        if at >= 0
    ]
    return ErpRejected(message, field=min(found)[2] if found else None)


async def _visible(page: Any, selector: str) -> bool:
    async with boundary(page, "look for " + selector):
        shown: bool = await page.evaluate(
            "(s) => [...document.querySelectorAll(s)].some(e => e.getClientRects().length > 0)",
            selector,
        )
    return shown


async def _merge_button(page: Any) -> str:
    """The id of the visible "Fondersi"/"Merge" button of the concurrent-change popup, or ""."""
    async with boundary(page, "look for the merge popup"):
        ident: str = await page.evaluate(
            """(texts) => { const a = [...document.querySelectorAll('a, button, span')]
                .find(e => texts.includes(e.textContent.trim()) && e.getClientRects().length > 0);
                return a ? a.id : ''; }""",
            list(_MERGE_TEXTS),
        )
    return ident


async def _save_customer(
    page: Any, step: str, customer: str, after_click: Hook | None
) -> str:
    """Save; tick "Ignora avvisi" on warnings, click "Fondersi" on a concurrent change.

    The customer's id (from the URL). A validation error is ErpRejected naming its field.
    """
    ignored = False
    click = True
    for _ in range(MAX_SAVE_ROUNDS):
        if click:
            await click_save(page, step, close=False, after_click=after_click)
            after_click = None
            await wait_idle(page, step)
        click = True
        merge = await _merge_button(page)
        if merge:
            # Someone changed the customer since we opened it: "Fondersi" keeps our changes
            # and saves; look at what it led to (the popup may come back).
            await click_to_navigate(page, f'[id="{merge}"]', step)
            await wait_idle(page, step)
            click = False
            continue
        if _ERROR_PAGE.search(page.url):
            raise ErpRejected(f"{step}: the ERP refused the save (Error.aspx)", field="customer")
        found = _CUSTOMER_URL.search(page.url)
        banner = await banner_text(page)
        if found and not banner:
            return found.group(1)
        if not banner:
            raise ErpUnavailable(f"{step}: unexpected page after saving: {page.url}")
        warnings_only = not any(text in banner for text in _ERROR_TEXTS)
        if ignored or not warnings_only or not await _visible(page, _IGNORE_WARNINGS):
            raise _rejection(banner)
        async with boundary(page, step):
            await page.click(_IGNORE_WARNINGS)
        ignored = True
    raise ErpUnavailable(f"{step}: still not saved after {MAX_SAVE_ROUNDS} saves ({customer})")


async def _read_back(page: Any, erp_url: str, customer_id: str, step: str) -> CustomerSnapshot:
    """The saved customer from its detail view in View mode (FACTS §7: readback)."""
    if "mode=edit" in page.url.lower() or not _CUSTOMER_URL.search(page.url):
        await goto(page, urljoin(erp_url, sel.customer_view_url(customer_id)), step)
    await wait_idle(page, step)
    return await _from_detail(page)


def _verify(snapshot: CustomerSnapshot, wanted: dict[str, str], step: str) -> None:
    """Every written attribute as the ERP now shows it; a difference names its field."""
    for attr, value in wanted.items():
        shown = str(getattr(snapshot, attr)).strip()
        if shown != value:
            raise ErpRejected(
                f"{step}: after the save the ERP shows {attr}={shown!r}, we wrote {value!r}",
                field=attr,
            )


async def _write_checked(page: Any, wanted: dict[str, str], step: str) -> None:
    """Write FIELD -> text, let the callbacks answer, then re-inject what they overwrote.

    What the form holds is checked just before saving: a field still wrong after one
    re-injection is ErpUnavailable naming it.
    """
    await write_fields(page, wanted, step)
    await wait_idle(page, step)
    for attempt in range(2):
        held = await read_fields(page, list(wanted), edit=True)
        wrong = {f: v for f, v in wanted.items() if held.get(f, "").strip() != v}
        if not wrong:
            return
        if attempt == 0:
            await write_fields(page, wrong, step)
            await wait_idle(page, step)
    field = next(iter(wrong))
    raise ErpUnavailable(f"{step}: the form holds {field}={held.get(field)!r}, not {wrong[field]!r}")


async def type_vat_number(page: Any, vat: str, step: str) -> None:
    """Type VATNUM key by key and leave it, then wait for the VAT check's answer.

    The ERP runs its VAT check only for typed keystrokes (SetValue does not fire it) and the
    check overwrites other fields, so it must be done before they are written (FACTS §6).
    A VAT already in use is ErpRejected(field="vat_number").
    """
    banner = await enter_vat_number(page, vat, step)
    if banner and sel.DUPLICATE_VAT_TEXT in banner:
        raise _rejection(banner)


async def enter_vat_number(page: Any, vat: str, step: str) -> str:
    """Type VATNUM on an open customer form, leave it, wait for the VAT check to answer.

    The answer is VATLASTCHECKEDDATE filled, or the VAT cleared with a message (a VAT in use:
    "Il numero IVA è già utilizzato dal cliente con ID: NNNN"); the validation banner's
    text ("" when none) is returned for the caller to judge.
    """
    vat_input = sel.field_input("VATNUM")
    async with boundary(page, step):
        await page.waitForSelector(vat_input, {"visible": True})
        await page.click(vat_input, {"clickCount": 3})
        await page.keyboard.press("Backspace")
        with steps.step(steps.TYPING):
            await page.type(vat_input, vat)
        await page.keyboard.press("Tab")
        await page.waitForFunction(
            _VAT_CHECKED_JS,
            {"polling": DEFAULT_POLL_MS, "timeout": VAT_CHECK_TIMEOUT_MS},
            sel.field_view("VATLASTCHECKEDDATE"),
            vat_input,
            sel.VALIDATION_BANNER,
        )
    await wait_idle(page, step)
    return await banner_text(page)


async def choose_line_discount(page: Any, value: str, step: str) -> None:
    """Pick LINEDISC on "Prezzi e sconti" with real mouse clicks (synthetic ones are ignored)."""
    await open_tab(page, sel.PRICE_DISCOUNT_TAB_TEXTS, step)
    await choose_combo(page, "LINEDISC", value, step, payload_field="line_discount")
    await open_tab(page, MAIN_TAB_TEXTS, step)


async def _choose(page: Any, wanted: dict[str, str], step: str, *, hint: str = "") -> None:
    """The combos and lookups among `wanted` (payload name -> value), each picked the way the
    form takes it and read back; the Main tab shown at the end."""
    for attr, (field, tab) in COMBO_FIELDS.items():
        if attr in wanted:
            await open_tab(page, tab, step)
            await choose_combo(page, field, wanted[attr], step, payload_field=attr)
    await open_tab(page, MAIN_TAB_TEXTS, step)
    for attr, field in FIND_FIELDS.items():
        if attr in wanted:
            await choose_in_find_popup(
                page, field, wanted[attr], step, payload_field=attr,
                hint=hint if attr == "zip" else "",
            )


def _text_fields(wanted: dict[str, str]) -> dict[str, str]:
    """FIELD -> text of the payload's text fields (not the combos and lookups)."""
    fields = {**sel.CUSTOMER_FIELDS, **EXTRA_TEXT_FIELDS}
    return {fields[a]: v for a, v in wanted.items() if a in fields and a not in FIND_FIELDS}


async def _read_choices(page: Any, attrs: list[str]) -> dict[str, str]:
    """Payload name -> what the open detail view shows of the extra fields (view mode)."""
    by_attr = {
        **EXTRA_TEXT_FIELDS, **{a: f for a, (f, _) in COMBO_FIELDS.items()},
        "payment_terms": "PAYMTERMID",
    }
    fields = [by_attr[a] for a in attrs if a in by_attr]
    shown = await read_fields(page, fields, edit=False) if fields else {}
    return {a: shown[by_attr[a]] for a in attrs if a in by_attr}


def _verify_choices(shown: dict[str, str], wanted: dict[str, str], step: str) -> None:
    for attr, text in shown.items():
        if text.strip() != wanted[attr]:
            raise ErpRejected(
                f"{step}: after the save the ERP shows {attr}={text.strip()!r}, "
                f"we wrote {wanted[attr]!r}",
                field=attr,
            )


async def create_customer(
    page: Any,
    erp_url: str,
    customer: NewCustomer,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> CustomerSnapshot:
    """Fill the new-customer form in the order that survives its callbacks, save, verify.

    VATNUM first, typed, and its check awaited (it fills and overwrites other fields); LINEDISC
    set to "N/A"; the rest written and checked in the form just before saving; after the save
    the record is read back in View mode and compared. ErpRejected(field="vat_number") when
    the VAT is already used; a validation error or a readback difference names its field.
    """
    step = f"create customer {customer.vat_number}"
    await goto(page, urljoin(erp_url, sel.NEW_CUSTOMER), step)
    await wait_idle(page, step)
    await type_vat_number(page, customer.vat_number.strip(), step)
    await choose_line_discount(page, NEW_CUSTOMER_LINE_DISCOUNT, step)
    wanted = {
        attr: str(value).strip()
        for attr, value in vars(customer).items()
        if attr != "vat_number" and value is not None
    }
    # The CAP's pick fills CITY: the payload's city is written after it.
    await _choose(page, wanted, step, hint=customer.city)
    await _write_checked(page, _text_fields(wanted), step)
    if before_commit is not None:
        await before_commit()
    customer_id = await _save_customer(page, step, customer.vat_number, after_click)
    with steps.step(steps.READBACK):
        snapshot = await _read_back(page, erp_url, customer_id, step)
    basic = {a: v for a, v in wanted.items() if a in sel.CUSTOMER_FIELDS}
    _verify(snapshot, {**basic, "vat_number": customer.vat_number.strip()}, step)
    extra = [a for a in wanted if a not in sel.CUSTOMER_FIELDS]
    _verify_choices(await _read_choices(page, extra), wanted, step)
    return snapshot


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
    wanted = {attr: value.strip() for attr, value in fields.items()}
    # Fields the list shows are compared there; the others only on the edit form.
    formed = {a: v for a, v in wanted.items() if a not in _LIST_COLUMNS}
    async with grid.prepared_list(page, erp_url, sel.CUSTOMERS_LIST) as name:
        found = await grid.find_in_list(page, name, customer.strip(), _is_customer(customer))
        if found is None:
            raise NotOwnRecord("customer", customer)
        _, row = found
        changes = {
            a: v for a, v in wanted.items() if a in _LIST_COLUMNS and row.get(_LIST_COLUMNS[a], "") != v
        }
        if not changes and not formed:
            return _from_row(row), False
        customer_id = _from_row(row).id
        await _open_customer_for_edit(page, erp_url, customer, customer_id, step)
    if formed:
        held = await _form_values(page, list(formed))
        changes.update({a: v for a, v in formed.items() if held.get(a, "").strip() != v})
        if not changes:
            return _from_row(row), False
    await _choose(page, changes, step, hint=changes.get("city", row.get("city", "")))
    await _write_checked(page, _text_fields(changes), step)
    if before_commit is not None:
        await before_commit()
    saved_id = await _save_customer(page, step, customer, after_click)
    with steps.step(steps.READBACK):
        snapshot = await _read_back(page, erp_url, saved_id, step)
    _verify(snapshot, {a: v for a, v in changes.items() if a in sel.CUSTOMER_FIELDS}, step)
    extra = [a for a in changes if a not in sel.CUSTOMER_FIELDS]
    _verify_choices(await _read_choices(page, extra), changes, step)
    return snapshot, True


async def _form_values(page: Any, attrs: list[str]) -> dict[str, str]:
    """Payload name -> what the open edit form holds of fields the list does not show."""
    selectors = {a: sel.field_input(f) for a, f in EXTRA_TEXT_FIELDS.items()}
    selectors.update({a: f'[id$="_xaf_dvi{f}_Edit_dropdown_DD_I"]' for a, (f, _) in COMBO_FIELDS.items()})
    selectors.update({a: find_input(f) for a, f in FIND_FIELDS.items()})
    wanted = {a: selectors[a] for a in attrs if a in selectors}
    async with boundary(page, "read the customer form"):
        values: dict[str, str] = await page.evaluate(
            """(s) => Object.fromEntries(Object.entries(s).map(([a, q]) => {
                const e = document.querySelector(q); return [a, e ? e.value : '']; }))""",
            wanted,
        )
    return values


async def _open_customer_for_edit(
    page: Any, erp_url: str, customer: str, customer_id: str, step: str
) -> None:
    """View first, then "Modifica" (FACTS §7); Error.aspx means it cannot be edited: permanent."""
    try:
        await open_for_edit(page, urljoin(erp_url, sel.customer_view_url(customer_id)), step)
    except ErpUnavailable:
        if not _ERROR_PAGE.search(page.url):
            raise
    if _ERROR_PAGE.search(page.url):
        raise ErpRejected(
            f"customer {customer} cannot be edited: the ERP answered its edit page with Error.aspx",
            field="customer",
        )


async def update_customer(
    page: Any,
    erp_url: str,
    customer: str,
    fields: dict[str, str],
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> CustomerSnapshot:
    """Change some fields (keys: UPDATABLE) and save; the CAP and the payment terms are chosen
    through their FindPopup, the combos with real clicks, and every field read back.

    Only fields that differ are written; when none does, nothing is saved.
    """
    snapshot, _ = await update_customer_changes(
        page, erp_url, customer, fields, before_commit=before_commit, after_click=after_click
    )
    return snapshot
