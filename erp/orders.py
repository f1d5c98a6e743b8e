"""Orders in Archibald: submit a new order, find an order by the marker written into it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from erp import grid, order_form, steps
from erp import selectors as sel
from erp.detail import (
    banner_text,
    click_save,
    open_tab,
    read_embedded_grid,
    read_fields,
    show_grid_row,
    write_fields,
)
from erp.errors import ErpMismatch, ErpRejected, ErpUnavailable, GridStuck, NotOwnRecord
from erp.order_form import DEFAULT_DOM_NODE_BUDGET
from erp.waits import DEFAULT_UPDATE_EDIT_TIMEOUT_MS, accepting_dialogs, boundary, goto, wait_idle

MAX_MARKER_CHARS = 40
#: Reloads of the order form one write may need (a stuck grid, a DOM past its budget).
MAX_FORM_RELOADS = 3
#: LINEDISC clear + "Salvare" rounds one write may need beyond the lines' count: the live ERP
#: resets one line on the first round, the rest on the next (FACTS §2.15).
EXTRA_LINEDISC_ROUNDS = 2

ProgressHook = Callable[[str], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
#: A named point of a write (``after_line_1``, ``before_save_close``): a test hook.
CheckpointHook = Callable[[str], Awaitable[None]]
#: Order attributes read from the detail view (FACTS §2.18 readback): FIELD of each.
_VIEW_FIELDS = [
    "CUSTTABLE",
    "TEXTEXTERNAL",
    "PURCHORDERFORMNUM",
    "TRANSFERSTATUS",
    "SALESID",
    "MANUALDISCOUNT",
    "DLVADDRESS",
]


@dataclass(frozen=True)
class OrderLine:
    """One line to order: an article code, a quantity, an optional discount % and variant."""

    article: str
    quantity: float
    discount: float | None = None
    variant: str | None = None
    #: LINEPERCENT as read back (the order's LINEDISC default); a wanted line always has 0.
    default_discount: float = 0.0


@dataclass(frozen=True)
class NewOrder:
    """An order to create for a customer (ACCOUNTNUM); delivery_date is ISO yyyy-mm-dd."""

    customer: str
    lines: tuple[OrderLine, ...]
    notes: str | None = None
    delivery_date: str | None = None
    discount: float | None = None
    #: One of the customer's alternative addresses: as the payload names it ({"id"} or
    #: {"street", "city"}), then as its grid holds it (id, street, zip, city, …).
    delivery_address: dict[str, str] | None = None


@dataclass
class WriteHooks:
    """What an order write calls back: `before_commit` before every irreversible click (each
    line's UpdateEdit commits at once, FACTS §2.11), `after_click` after the final save's
    click, `checkpoint(name)` at named points, `progress(text)` between steps."""

    before_commit: Hook | None = None
    after_click: Hook | None = None
    checkpoint: CheckpointHook | None = None
    progress: ProgressHook | None = None
    dom_node_budget: int = DEFAULT_DOM_NODE_BUDGET
    #: Line writes (UpdateEdit, delete) the ERP committed so far.
    lines_saved: int = 0

    async def line_saved(self) -> None:
        self.lines_saved += 1
        if self.lines_saved == 1:
            await self.point("after_line_1")

    async def commit(self) -> None:
        if self.before_commit is not None:
            await self.before_commit()

    async def point(self, name: str) -> None:
        if self.checkpoint is not None:
            await self.checkpoint(name)

    async def say(self, text: str) -> None:
        if self.progress is not None:
            await self.progress(text)


async def submit_order(
    page: Any,
    erp_url: str,
    order: NewOrder,
    *,
    marker: str,
    before_commit: Hook | None = None,
    on_progress: ProgressHook | None = None,
    after_click: Hook | None = None,
    checkpoint: CheckpointHook | None = None,
    dom_node_budget: int = DEFAULT_DOM_NODE_BUDGET,
) -> str:
    """Create the order through the new-order form, save it, read it back; its ERP id.

    The order exists in the ERP from its first line (FACTS §2.11), so `marker` goes into
    PURCHORDERFORMNUM before it: a retry finds even a partial order and completes it
    (`complete_order`). `before_commit` is awaited before every line's UpdateEdit and before
    the final save; if it raises, nothing more is written. A line the ERP refuses leaves no
    partial order behind. ErpMismatch when the saved order differs from the request.
    """
    if not marker or len(marker) > MAX_MARKER_CHARS:
        raise ValueError(f"marker must be 1..{MAX_MARKER_CHARS} characters, got {marker!r}")
    if not order.lines:
        raise ErpRejected("an order needs at least one line", field="lines")
    hooks = WriteHooks(before_commit, after_click, checkpoint, on_progress, dom_node_budget)
    await goto(page, urljoin(erp_url, sel.NEW_ORDER), "open the new order form")
    await hooks.say("form opened")
    await order_form.choose_customer(page, order.customer)
    await hooks.say(f"customer {order.customer} chosen")
    await order_form.fill_header(page, order, marker)
    order_id = ""
    try:
        order_id = await _enter_lines(page, order.lines, 0, hooks)
    except ErpRejected:
        ordered = order_form.ORDER_URL.search(page.url)
        if ordered:
            await _discard_partial(page, erp_url, ordered.group(1), hooks)
        raise
    if not order_id:
        raise ErpUnavailable("the ERP did not assign an order id after the first line")
    # Before "Salva e chiudi" the lines grid must hold exactly the request (FACTS §2.13).
    have = await clear_default_discounts(page, order_id, hooks)
    _check_lines(f"check order {order_id} before saving", have, order.lines)
    if order.discount is not None:
        await order_form.write_global_discount(page, order.discount)
    if order.delivery_address is not None:
        await order_form.choose_delivery_address(page, order.delivery_address)
        await hooks.say(f"delivery address {order.delivery_address['street']} chosen")
    await hooks.point("before_save_close")
    await hooks.commit()
    await _save_and_close(page, order_id, hooks.after_click)
    await hooks.say(f"order {order_id} saved")
    await verify_order(page, erp_url, order_id, order, marker)
    return order_id


async def _enter_lines(
    page: Any, lines: tuple[OrderLine, ...], base: int, hooks: WriteHooks
) -> str:
    """Add `lines` to the open form, whose grid already holds `base` saved rows; the order id
    from the URL. A grid left editing or a DOM past its budget: reload, count the saved rows
    (GetRowCount), resume after them — a saved line is never added twice (FACTS §11)."""
    order_id = ""
    done = 0
    reloads = 0
    reloaded_at = -1
    while done < len(lines):
        step = f"line {done + 1} ({lines[done].article})"
        try:
            if done and reloaded_at != done:  # a fresh page is as small as it gets
                grid = await order_form.lines_grid(page, step)
                _, _, nodes = await order_form.grid_probe(page, grid, step)
                if nodes > hooks.dom_node_budget:
                    raise GridStuck(f"{step}: {nodes} DOM nodes, past {hooks.dom_node_budget}")
            order_id = (
                await order_form.add_line(page, lines[done], done + 1, before_commit=hooks.commit)
                or order_id
            )
        except GridStuck as exc:
            reloads += 1
            if reloads > MAX_FORM_RELOADS or not order_form.ORDER_URL.search(page.url):
                raise
            await hooks.say(f"reload the order form: {exc}")
            done = await order_form.reload_form(page, f"reload after {step}") - base
            reloaded_at = done
            if not 0 <= done <= len(lines):
                raise ErpUnavailable(f"{step}: the reloaded form holds {done + base} rows") from exc
            order_id = order_form.ORDER_URL.search(page.url).group(1)  # type: ignore[union-attr]
            continue
        done += 1
        await hooks.say(f"line {done}/{len(lines)} added")
        await hooks.line_saved()
    return order_id


async def _discard_partial(page: Any, erp_url: str, order_id: str, hooks: WriteHooks) -> None:
    """The ERP refused a later line: delete what the first lines committed (FACTS §11)."""
    await hooks.commit()
    async with accepting_dialogs(page):
        await delete_order(page, erp_url, order_id)
    await hooks.say(f"partial order {order_id} deleted")


def _check_lines(step: str, have: list[OrderLine], wanted: tuple[OrderLine, ...]) -> None:
    deletes, changes, additions = plan_line_edit(have, wanted)
    if deletes or changes or additions:
        shown = [(x.article, x.variant, x.quantity, x.discount) for x in have]
        asked = [(x.article, x.variant, x.quantity, x.discount) for x in wanted]
        raise ErpMismatch(step, "lines", asked, shown)
    defaults = [x.default_discount for x in have]
    if any(defaults):
        # The discount a line ends with is LINEPERCENT + MANUALDISCOUNT: the request's alone.
        raise ErpMismatch(step, "line default discounts (LINEPERCENT)", [0.0] * len(have), defaults)


async def clear_default_discounts(
    page: Any, order_id: str, hooks: WriteHooks
) -> list[OrderLine]:
    """Bring every line's LINEPERCENT to 0 on the open form; the lines as it ends.

    A customer's LINEDISC ("Discount to get street price") gives each new line 20 %
    (FACTS §2.15, §11). It is cleared only through the order's LINEDISC: its Clear button,
    then "Salvare" — shown only once the order has been saved, and a save resets one line
    the first time, the others the next. Nothing is done when no line has one (read from
    the grid this write reads anyway), and the lines are re-read after every round.
    """
    have = await _read_lines(page)
    rounds = 0
    while any(line.default_discount for line in have):
        if rounds >= len(have) + EXTRA_LINEDISC_ROUNDS:
            raise ErpMismatch(
                f"clear the line discounts of order {order_id}",
                "line default discounts (LINEPERCENT)",
                [0.0] * len(have),
                [line.default_discount for line in have],
            )
        step = f"clear the line discounts of order {order_id} (round {rounds + 1})"
        await open_tab(page, sel.PRICE_DISCOUNT_TAB_TEXTS, step)
        async with boundary(page, step):
            clear = await page.querySelector(sel.LINEDISC_CLEAR)
            if clear is not None:
                await clear.click()
        await hooks.commit()
        # Plain "Salvare" with no row open (never during insertion: it rolls back, FACTS §2).
        await click_save(page, step, close=False)
        await wait_idle(page, step)
        banner = await banner_text(page)
        if banner:
            raise ErpRejected(banner, field=None)
        rounds += 1
        have = await _read_lines(page)
        left = sum(1 for line in have if line.default_discount)
        await hooks.say(f"line discounts: round {rounds}, {left} line(s) left")
    return have


async def verify_order(
    page: Any,
    erp_url: str,
    order_id: str,
    order: NewOrder,
    marker: str | None = None,
) -> OrderSnapshot:
    """Read the saved order back (`?mode=View`) and compare it with the request: customer,
    lines (article, variant, quantity, discount), notes, marker, global discount.
    ErpMismatch names the first field that differs (FACTS §2.18, §12)."""
    step = f"read order {order_id} back"
    with steps.step(steps.READBACK):
        saved = await _read_detail(page, erp_url, order_id)
    if saved.customer.strip() != order.customer.strip():
        raise ErpMismatch(step, "customer", order.customer, saved.customer)
    _check_lines(step, list(saved.lines), order.lines)
    if order.notes is not None and saved.notes.strip() != order.notes.strip():
        raise ErpMismatch(step, "notes", order.notes, saved.notes)
    if marker is not None and saved.reference.strip() != marker:
        raise ErpMismatch(step, "reference", marker, saved.reference)
    if order.discount is not None and abs((saved.discount or 0.0) - order.discount) > 1e-9:
        raise ErpMismatch(step, "discount", order.discount, saved.discount)
    _check_address(step, order.delivery_address, saved.delivery_address)
    return saved


def _check_address(step: str, wanted: dict[str, str] | None, shown: str) -> None:
    """DLVADDRESS of the saved order must show the wanted street (FACTS §2.17)."""
    if wanted is not None and not order_form.shows_address(shown, wanted):
        raise ErpMismatch(step, "delivery_address", wanted["street"], shown)


async def complete_order(
    page: Any,
    erp_url: str,
    order_id: str,
    order: NewOrder,
    marker: str,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
    checkpoint: CheckpointHook | None = None,
    on_progress: ProgressHook | None = None,
) -> bool:
    """An order an earlier attempt left (maybe partial: it exists from its first line) made
    exactly the request through the edit path, then read back; whether anything was saved."""
    changed = await apply_order_edit(
        page,
        erp_url,
        order_id,
        order.lines,
        notes=order.notes,
        discount=order.discount,
        delivery_address=order.delivery_address,
        before_commit=before_commit,
        after_click=after_click,
        checkpoint=checkpoint,
        on_progress=on_progress,
        verify=False,
    )
    await verify_order(page, erp_url, order_id, order, marker)
    return changed


async def _save_and_close(page: Any, order_id: str, after_click: Hook | None = None) -> None:
    step = f"save order {order_id}"
    await click_save(page, step, close=True, after_click=after_click)
    if sel.ORDERS_LIST in page.url:
        return
    banner = await banner_text(page)
    if banner:
        raise ErpRejected(banner, field=None)
    raise ErpUnavailable(f"{step}: unexpected page after saving: {page.url}")


async def find_order_by_marker(page: Any, erp_url: str, marker: str) -> str | None:
    """Search the orders list for `marker` in the PURCHORDERFORMNUM column; the order id or None.

    None only when the list, reset to all orders from the first page and showing both the id
    and the PURCHORDERFORMNUM columns, has no such row; otherwise ErpUnavailable (fail closed).
    """
    column = sel.ORDER_MARKER_COLUMN
    found = await grid.find_row(
        page,
        erp_url,
        sel.ORDERS_LIST,
        marker,
        lambda row: row.get(column, "").strip() == marker,
        need=("id", column),
    )
    return re.sub(r"\D", "", found[1]["id"]) if found else None


@dataclass(frozen=True)
class OrderSnapshot:
    """A saved order as the ERP shows it."""

    id: str
    customer: str
    lines: tuple[OrderLine, ...]
    notes: str
    reference: str
    transfer_status: str
    sales_id: str
    sent: bool
    #: MANUALDISCOUNT, the global discount % ("Prezzi e sconti").
    discount: float | None = None
    #: DLVADDRESS, the delivery address's text.
    delivery_address: str = ""


def _same_id(order_id: str) -> Callable[[dict[str, str]], bool]:
    wanted = order_id.replace(".", "").strip()
    return lambda row: grid.normalize("id", row.get("id", "")) == wanted


async def find_own_order(
    page: Any, erp_url: str, order_id: str
) -> tuple[int, dict[str, str]] | None:
    """Search the agent's own orders list for the id; leaves the list showing the result.
    None: not the agent's (the ERP would still open another agent's order by its URL)."""
    return await grid.find_row(page, erp_url, sel.ORDERS_LIST, order_id, _same_id(order_id))


async def _read_lines(page: Any) -> list[OrderLine]:
    """The SALESLINEs of the open detail view (view or edit mode), by column field name.

    Quantities and discounts are shown in the browser's culture; the package variant is a
    hidden column (ITEMID), read with GetPageRowValues.
    """
    step = "read the order lines"
    lines = await order_form.lines_grid(page, step)
    lang = await order_form.browser_lang(page)
    rows = await read_embedded_grid(page, lines, (sel.LINE_VARIANT,))
    needed = (sel.LINE_ARTICLE, sel.LINE_QUANTITY, sel.LINE_DISCOUNT, sel.LINE_DEFAULT_DISCOUNT)
    if rows and any(field not in rows[0] for field in needed):
        raise ErpUnavailable(f"{step}: the lines grid does not show {list(needed)}")
    return [
        OrderLine(
            article=row[sel.LINE_ARTICLE],
            quantity=grid.parse_number(row[sel.LINE_QUANTITY], lang) or 0.0,
            discount=grid.parse_number(row[sel.LINE_DISCOUNT], lang) or None,
            variant=row.get(sel.LINE_VARIANT) or None,
            default_discount=grid.parse_number(row[sel.LINE_DEFAULT_DISCOUNT], lang) or 0.0,
        )
        for row in rows
    ]


async def read_order(page: Any, erp_url: str, order_id: str) -> OrderSnapshot | None:
    """The order as saved in the ERP (list search, then its detail view); None if it doesn't exist."""
    if await find_own_order(page, erp_url, order_id) is None:
        return None
    return await _read_detail(page, erp_url, order_id)


async def _read_detail(page: Any, erp_url: str, order_id: str) -> OrderSnapshot:
    """A saved order's detail view (`?mode=View`), read."""
    await goto(page, urljoin(erp_url, sel.order_view_url(order_id)), f"open order {order_id}")
    await wait_idle(page, f"open order {order_id}")
    fields = await read_fields(page, _VIEW_FIELDS, edit=False)
    status = fields["TRANSFERSTATUS"]
    if not status or not fields["CUSTTABLE"]:
        # Not the order's detail (an error page, a half-rendered view): never guess "sent"
        # from a blank — a reconcile would report a send that did not happen.
        raise ErpUnavailable(
            f"open order {order_id}: the detail view showed no transfer status ({page.url})"
        )
    lines = await _read_lines(page)
    return OrderSnapshot(
        id=order_id,
        customer=fields["CUSTTABLE"],
        lines=tuple(lines),
        notes=fields["TEXTEXTERNAL"],
        reference=fields["PURCHORDERFORMNUM"],
        transfer_status=status,
        sales_id=fields["SALESID"],
        sent=status not in sel.ORDER_EDITABLE_STATUSES,
        discount=grid.parse_number(fields["MANUALDISCOUNT"], await order_form.browser_lang(page))
        or None,
        delivery_address=fields["DLVADDRESS"],
    )


def _line_matches(want: OrderLine, have: OrderLine) -> bool:
    return want.article.upper() == have.article.upper() and (
        want.variant is None or want.variant == have.variant
    )


def _line_equal(want: OrderLine, have: OrderLine) -> bool:
    return (
        abs(want.quantity - have.quantity) < 1e-9
        and abs((want.discount or 0.0) - (have.discount or 0.0)) < 1e-9
    )


def plan_line_edit(
    current: list[OrderLine], wanted: tuple[OrderLine, ...]
) -> tuple[list[int], list[tuple[int, OrderLine]], list[OrderLine]]:
    """(rows to delete, (row, line) to change, lines to add) turning `current` into `wanted`.

    Lines match by (article, variant); a wanted line without a variant matches any variant.
    Exact variant matches are paired first.
    """
    free = set(range(len(current)))
    pairs: dict[int, int] = {}
    for exact in (True, False):
        for w, want in enumerate(wanted):
            if w in pairs or (exact and want.variant is None):
                continue
            for c in sorted(free):
                if _line_matches(want, current[c]):
                    pairs[w] = c
                    free.discard(c)
                    break
    changes = [(c, wanted[w]) for w, c in pairs.items() if not _line_equal(wanted[w], current[c])]
    additions = [want for w, want in enumerate(wanted) if w not in pairs]
    return sorted(free, reverse=True), sorted(changes, key=lambda p: p[0]), additions


async def _open_order_for_edit(page: Any, erp_url: str, order_id: str) -> None:
    """The order's pencil on the list → its detail in edit mode; ErpRejected if not editable."""
    async with grid.prepared_list(page, erp_url, sel.ORDERS_LIST) as name:
        found = await grid.find_in_list(page, name, order_id, _same_id(order_id))
        if found is None:
            raise NotOwnRecord("order", order_id)
        await grid.open_row(page, found[0], f"open order {order_id} for editing")
    async with boundary(page, f"open order {order_id} for editing"):
        editable = await page.querySelector(sel.field_input("TEXTEXTERNAL"))
    if editable is None:
        banner = await banner_text(page)
        raise ErpRejected(banner or f"l'ordine {order_id} non è modificabile", field="order")


async def _click_in_line(page: Any, row: int, selector: str, step: str) -> str:
    """Click a command of line `row`; returns the lines grid's name."""
    lines = await order_form.lines_grid(page, step)
    # Past 20 lines the row is on another page of the grid (FACTS §2.12).
    row_selector = await show_grid_row(page, lines, row, step)
    async with boundary(page, step):
        button = await page.querySelector(f"{row_selector} {selector}")
        if button is None:
            raise ErpUnavailable(f"{step}: line {row} has no {selector}")
        await button.click()
    return lines


async def _delete_line(page: Any, row: int) -> None:
    """Delete line `row`: its delete button, then OK on the XAF confirmation popup (a
    DevExpress popup, not confirm(); a native dialog is accepted too) (FACTS §3)."""
    step = f"delete line {row}"
    async with accepting_dialogs(page) as dialogs:
        lines = await _click_in_line(page, row, sel.LINE_DELETE, step)
        if not dialogs:
            await grid.confirm_popup(page, step)
        await wait_idle(page, step)
    await order_form.raise_problems(page, step, "lines", lines)


async def _change_line(page: Any, row: int, line: OrderLine, hooks: WriteHooks) -> None:
    """Change a saved line's quantity and discount; its UpdateEdit commits at once."""
    step = f"change line {row} ({line.article})"
    lines = await _click_in_line(page, row, sel.LINE_START_EDIT, step)
    await wait_idle(page, step)
    lang = await order_form.browser_lang(page)
    editing = f'[id="{lines}"] {sel.EDITING_ROW}'
    async with boundary(page, step):
        await page.waitForSelector(f"{editing} {sel.QUANTITY_INPUT}", {"visible": True})
    await order_form.retype(
        page, f"{editing} {sel.QUANTITY_INPUT}", order_form.culture_number(line.quantity, lang), step
    )
    discount = "" if line.discount is None else order_form.culture_number(line.discount, lang)
    await order_form.retype(page, f"{editing} {sel.LINE_DISCOUNT_INPUT}", discount, step)
    await hooks.commit()
    async with boundary(page, step):
        await page.click(f"{editing} {sel.UPDATE_LINE}")
    await wait_idle(page, step, DEFAULT_UPDATE_EDIT_TIMEOUT_MS)
    await order_form.raise_problems(page, step, "lines", lines)
    await order_form.check_not_editing(page, lines, step)


async def _read_header(page: Any) -> tuple[str, float | None]:
    """(notes, global discount) as the edit form holds them."""
    fields = await read_fields(page, ["TEXTEXTERNAL", "MANUALDISCOUNT"], edit=True)
    lang = await order_form.browser_lang(page)
    return fields["TEXTEXTERNAL"], grid.parse_number(fields["MANUALDISCOUNT"], lang) or None


async def apply_order_edit(
    page: Any,
    erp_url: str,
    order_id: str,
    lines: tuple[OrderLine, ...],
    *,
    notes: str | None = None,
    discount: float | None = None,
    delivery_address: dict[str, str] | None = None,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
    checkpoint: CheckpointHook | None = None,
    on_progress: ProgressHook | None = None,
    dom_node_budget: int = DEFAULT_DOM_NODE_BUDGET,
    verify: bool = True,
) -> bool:
    """`edit_order`, telling whether anything had to be saved (False: already as wanted).

    In edit mode too every line's UpdateEdit and every line delete commits at once (as a new
    order's lines, FACTS §2.11): `before_commit` runs before each, and a retry converges
    because this is a diff against what the ERP holds. Notes are written first (the line
    callbacks post them), the global discount last (saves put it back, FACTS §2.16). A grid
    left editing: reload and plan again from what the ERP holds. With `verify`, the saved
    order is read back (lines, notes, discount): ErpMismatch names what differs.
    """
    if not lines:
        raise ErpRejected("an order needs at least one line", field="lines")
    hooks = WriteHooks(before_commit, after_click, checkpoint, on_progress, dom_node_budget)
    await _open_order_for_edit(page, erp_url, order_id)
    reloads = 0
    while True:
        current = await _read_lines(page)
        deletes, changes, additions = plan_line_edit(current, lines)
        current_notes, current_discount = await _read_header(page)
        notes_change = notes is not None and notes.strip() != current_notes
        discount_change = discount is not None and abs((current_discount or 0.0) - discount) > 1e-9
        defaults = any(line.default_discount for line in current)
        address_change = delivery_address is not None and not order_form.shows_address(
            await order_form.delivery_address_text(page, f"read order {order_id}'s address"),
            delivery_address,
        )
        pending = deletes or changes or additions or notes_change or discount_change
        if not (pending or defaults or address_change):
            if not hooks.lines_saved:
                return False
            break
        if notes_change:
            assert notes is not None
            await write_fields(
                page, {"TEXTEXTERNAL": notes.strip()}, f"write the notes of {order_id}"
            )
        try:
            for row, line in changes:  # before deletes, so the row numbers still hold
                await _change_line(page, row, line, hooks)
                await hooks.line_saved()
            for row in deletes:  # highest first
                await hooks.commit()
                await _delete_line(page, row)
                await hooks.line_saved()
            await _enter_lines(page, tuple(additions), len(current) - len(deletes), hooks)
        except GridStuck as exc:
            reloads += 1
            if reloads > MAX_FORM_RELOADS:
                raise
            await hooks.say(f"reload the order form: {exc}")
            await order_form.reload_form(page, f"reload order {order_id}")
            continue
        break
    await clear_default_discounts(page, order_id, hooks)
    if discount is not None:
        await order_form.write_global_discount(page, discount)
    if delivery_address is not None:
        await order_form.choose_delivery_address(page, delivery_address)
    await hooks.point("before_save_close")
    await hooks.commit()
    await _save_and_close(page, order_id, hooks.after_click)
    if verify:
        step = f"read order {order_id} back"
        with steps.step(steps.READBACK):
            saved = await _read_detail(page, erp_url, order_id)
        _check_lines(step, list(saved.lines), lines)
        if notes is not None and saved.notes.strip() != notes.strip():
            raise ErpMismatch(step, "notes", notes, saved.notes)
        if discount is not None and abs((saved.discount or 0.0) - discount) > 1e-9:
            raise ErpMismatch(step, "discount", discount, saved.discount)
        _check_address(step, delivery_address, saved.delivery_address)
    return True



async def edit_order(
    page: Any,
    erp_url: str,
    order_id: str,
    lines: tuple[OrderLine, ...],
    *,
    notes: str | None = None,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
    on_progress: ProgressHook | None = None,
) -> None:
    """Make the order's lines exactly `lines`, applying only the difference, then save.

    ErpRejected if the order doesn't exist or was already sent to Verona.
    """
    await apply_order_edit(
        page,
        erp_url,
        order_id,
        lines,
        notes=notes,
        before_commit=before_commit,
        after_click=after_click,
        on_progress=on_progress,
    )


async def _run_order_tool(
    page: Any,
    erp_url: str,
    order_id: str,
    tool: tuple[str, ...],
    step: str,
    before_commit: Hook | None,
    after_click: Hook | None,
) -> list[dict[str, str]]:
    """Find the order in the list, tick it, run a toolbar action on it; the list's rows after."""
    async with grid.prepared_list(page, erp_url, sel.ORDERS_LIST) as name:
        found = await grid.find_in_list(page, name, order_id, _same_id(order_id))
        if found is None:
            raise NotOwnRecord("order", order_id)
        await grid.run_on_row(
            page,
            found[0],
            tool,
            step,
            field="order",
            before_commit=before_commit,
            after_click=after_click,
        )
        rows: list[dict[str, str]] = (await grid.read_grid(page, name))["rows"]
    return rows


async def delete_order(
    page: Any,
    erp_url: str,
    order_id: str,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> None:
    """Tick the order, "Cancellare", confirm. ErpRejected(field="order") if missing or sent."""
    step = f"delete order {order_id}"
    rows = await _run_order_tool(
        page, erp_url, order_id, sel.DELETE_TOOL, step, before_commit, after_click
    )
    if any(_same_id(order_id)(row) for row in rows):
        raise ErpUnavailable(f"{step}: the order is still listed after deleting it")


async def send_to_verona(
    page: Any,
    erp_url: str,
    order_id: str,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
) -> str:
    """Tick the order, "invia ordine/i", confirm; returns its SALESID ("ORD/26000553").

    Irreversible. ErpRejected(field="order") if the order is missing or already sent.
    """
    step = f"send order {order_id} to Verona"
    rows = await _run_order_tool(
        page, erp_url, order_id, sel.SEND_TOOL, step, before_commit, after_click
    )
    row = next((r for r in rows if _same_id(order_id)(r)), None)
    if row is None or not row.get("salesid"):
        raise ErpUnavailable(f"{step}: no SALESID shown after sending")
    return str(row["salesid"])


# -- many orders in one list action (batch delete / send to Verona, FACTS §4, §5) -----------

#: Rows a page of the orders list shows while a batch looks for its orders: the most the
#: pager offers (FACTS §8), so ~1,100 orders of an agent are read in 6 pages.
BATCH_PAGE_SIZE = 200


@dataclass(frozen=True)
class ListedOrder:
    """One order as a row of the agent's orders list shows it, and where."""

    id: str
    page_index: int
    transfer_status: str
    sales_id: str

    @property
    def sent(self) -> bool:
        """Anything but "Modifica" (IT) / "modified" (EN) is sent or on its way (FACTS §5)."""
        return self.transfer_status.strip().casefold() not in sel.ORDER_UNSENT_TEXTS


@dataclass(frozen=True)
class BatchRun:
    """What a batch saw and did: the orders listed before the action, those it ticked, the
    same orders listed after it (absent: not in the list any more), the ERP's messages."""

    before: dict[str, ListedOrder]
    ticked: tuple[str, ...]
    after: dict[str, ListedOrder]
    messages: tuple[str, ...]


#: Chooses, from the orders listed, which to tick (in the order given).
BatchChoice = Callable[[dict[str, ListedOrder]], list[str]]


def _listed(row: dict[str, str], page_index: int) -> ListedOrder:
    return ListedOrder(
        id=grid.normalize("id", row.get("id", "")),
        page_index=page_index,
        transfer_status=row.get(sel.ORDER_TRANSFER_COLUMN, "").strip(),
        sales_id=row.get(sel.ORDER_SALES_ID_COLUMN, "").strip(),
    )


async def scan_orders(page: Any, name: str, order_ids: set[str], step: str) -> dict[str, ListedOrder]:
    """One pass over the prepared, unsearched list from its first page; the rows of
    `order_ids` it shows. It stops once all are seen, else reads to the last page, so an id
    missing from the answer is not in the agent's list (fail closed: a page without the id or
    transfer-status column, or a blank status, is ErpUnavailable — never a guess)."""
    found: dict[str, ListedOrder] = {}
    data = await grid.read_grid(page, name)
    if data["page_index"] != 0:
        await grid.goto_page(page, name, 0, f"{step}: first page")
        data = await grid.read_grid(page, name)
    while True:
        grid.require_fields(data, ("id", sel.ORDER_TRANSFER_COLUMN), step)
        for row in data["rows"]:
            listed = _listed(row, int(data["page_index"]))
            if listed.id in order_ids:
                if not listed.transfer_status:
                    raise ErpUnavailable(f"{step}: order {listed.id} shows no transfer status")
                found[listed.id] = listed
        if len(found) == len(order_ids) or data["page_index"] + 1 >= data["page_count"]:
            return found
        await grid.goto_page(page, name, data["page_index"] + 1, f"{step}: next page")
        data = await grid.read_grid(page, name)


async def act_on_orders(
    page: Any,
    erp_url: str,
    order_ids: list[str],
    tool: tuple[str, ...],
    step: str,
    choose: BatchChoice,
    *,
    before_commit: Hook | None = None,
    after_click: Hook | None = None,
    on_progress: ProgressHook | None = None,
) -> BatchRun:
    """Find `order_ids` in the agent's orders list (all orders, from the first page, 200 a
    page: one pass, not one search per order), tick those `choose` picks together and run
    `tool` ("Cancellare", "Invia ordine/i") on them once — one confirm — then read the list
    again for each ticked order's own outcome.

    Ticked orders on several pages (an agent with more than 200 orders between them) are one
    action per page, the last page first: a delete there never shifts the rows of the pages
    before it. A row that moved before its tick, or a server failure of the action, is
    ErpUnavailable: the retry classifies again and ticks only what is still to do. A business
    refusal (the ERP's error panel) is returned in `messages`, judged per order by the caller.
    """

    async def say(text: str) -> None:
        if on_progress is not None:
            await on_progress(text)

    wanted = {grid.normalize("id", i) for i in order_ids}
    async with grid.prepared_list(
        page, erp_url, sel.ORDERS_LIST, page_size=BATCH_PAGE_SIZE, fresh=True
    ) as name:
        before = await scan_orders(page, name, wanted, step)
        await say(f"{len(before)} of {len(wanted)} orders found in the list")
        ticking = tuple(choose(before))
        messages: list[str] = []
        if not ticking:
            return BatchRun(before, (), {}, ())
        pages = sorted({before[i].page_index for i in ticking}, reverse=True)
        for page_index in pages:
            group = [i for i in ticking if before[i].page_index == page_index]
            data = await grid.read_grid(page, name)
            if data["page_index"] != page_index:
                await grid.goto_page(page, name, page_index, f"{step}: page {page_index + 1}")
                data = await grid.read_grid(page, name)
            shown = {grid.normalize("id", r.get("id", "")): n for n, r in enumerate(data["rows"])}
            moved = [i for i in group if i not in shown]
            if moved:
                raise ErpUnavailable(f"{step}: the list changed under us: {moved} moved")
            await say(f"tick {len(group)} orders")
            text = await grid.run_on_rows(
                page,
                tuple(shown[i] for i in group),
                tool,
                f"{step} ({len(group)} orders)",
                before_commit=before_commit,
                after_click=after_click,
            )
            if text and any(text.startswith(p) for p in sel.SERVER_FAILURE_TEXTS):
                raise ErpUnavailable(f"{step}: {text}")
            if text:
                messages.append(text)
        await say("read the list again")
        after = await scan_orders(page, name, set(ticking), f"{step}: check")
    return BatchRun(before, ticking, after, tuple(messages))
