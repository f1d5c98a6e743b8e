"""Steps of the order form: customer lookup, one line at a time, header fields.

Controls are found through the client control collection (the lines grid by name and
AddNewRow, the lookups by name suffix); numbers and dates are typed in the browser's culture,
as the real editors parse them (FACTS §0, §2).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from erp import selectors as sel
from erp import steps
from erp.detail import (
    find_control,
    open_tab,
    read_embedded_grid,
    read_fields,
    show_grid_row,
    write_fields,
)
from erp.errors import ErpMismatch, ErpRejected, ErpUnavailable, GridStuck
from erp.grid import parse_number
from erp.waits import (
    DEFAULT_CALLBACK_TIMEOUT_MS,
    DEFAULT_UPDATE_EDIT_TIMEOUT_MS,
    boundary,
    leaving,
    set_value,
    wait_idle,
)

ORDER_URL = re.compile(sel.ORDER_URL_PATTERN)
#: A probe of the page (is the grid editing? how many nodes?) answers within this, or the
#: page is frozen (FACTS §11: a stuck grid blocks the JS thread; evaluate then hangs).
DEFAULT_PROBE_TIMEOUT_MS = 5_000
#: A reload of the order form may first wait for a frozen script (FACTS §3: 90 s).
DEFAULT_RELOAD_TIMEOUT_MS = 90_000
#: Reload the order form past this many DOM nodes (FACTS §10: 23k at the start, 27-43k
#: during long orders, >50k broke the page with "Execution context was destroyed").
DEFAULT_DOM_NODE_BUDGET = 40_000
#: The grid's state in one probe: editing?, saved rows (GetRowCount), DOM nodes.
_GRID_PROBE_JS = """(n) => {
    const g = ASPxClientControl.GetControlCollection().GetByName(n);
    return [!!(g && g.IsEditing()), g ? g.GetRowCount() : -1,
            document.getElementsByTagName('*').length];
}"""

Hook = Callable[[], Awaitable[None]]

#: What a callback left on the page: the grid's line error row and the error popup.
_PROBLEMS_JS = """(grid, lineErr, popup) => {
    const visible = (e) => e && e.getClientRects().length > 0 ? e.textContent.trim() : '';
    const root = grid ? document.getElementById(grid) : null;
    return [visible(root ? root.querySelector(lineErr) : null), visible(document.querySelector(popup))];
}"""


async def browser_lang(page: Any) -> str:
    """ "it" when the browser's language is Italian (navigator.language it*), else "en"."""
    async with boundary(page, "read the browser language"):
        tag: str = await page.evaluate("() => navigator.language || ''")
    return "it" if tag.lower().startswith("it") else "en"


def culture_number(value: float, lang: str) -> str:
    """A number as typed in the browser's culture: 2.5 -> "2,5" (it) / "2.5" (en); 10.0 -> "10"."""
    if value == int(value):
        return str(int(value))
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "it" else text


def italian_number(value: float) -> str:
    """2.5 -> "2,5"; 10.0 -> "10"."""
    return culture_number(value, "it")


def culture_date(iso: str, lang: str) -> str:
    """ "2026-03-01" -> "01/03/2026" (it) / "3/1/2026" (en)."""
    year, month, day = iso.split("-")
    if lang == "it":
        return f"{day}/{month}/{year}"
    return f"{int(month)}/{int(day)}/{year}"


def choose_variant(quantity: float, packages: list[tuple[str, float]]) -> str:
    """The variant whose package content divides the quantity (the largest such), else the first."""
    dividing = [
        (content, variant)
        for variant, content in packages
        if content > 0 and abs(quantity / content - round(quantity / content)) < 1e-9
    ]
    if dividing:
        return max(dividing)[1]
    return packages[0][0]


async def lines_grid(page: Any, step: str) -> str:
    """The SALESLINEs grid's client name: contains `dviSALESLINEs` and has AddNewRow.

    A "Linea di vendita" popup left open covers the grid: it is closed first.
    """
    await close_line_popups(page, step)
    return await find_control(page, step, part=sel.LINES_GRID_NAME, role="AddNewRow")


#: Visible XAF popups whose title is one of `titles`: their ids.
_TITLED_POPUPS_JS = """(popupSel, titleSel, titles) => [...document.querySelectorAll(popupSel)]
    .filter(p => p.getClientRects().length > 0)
    .filter(p => {
        const t = p.querySelector(titleSel);
        return titles.includes((t ? t.textContent : '').trim().toLowerCase());
    })
    .map(p => p.id)"""

#: Remove hidden drop-down popups that no live editor owns: its editor is gone, or another
#: element (the live editor's popup) answers to the same id. Returns how many went.
_REMOVE_STALE_POPUPS_JS = """(popupSel) => {
    let removed = 0;
    document.querySelectorAll(popupSel).forEach(p => {
        if (p.getClientRects().length > 0) return;
        const editor = document.getElementById(p.id.replace(/_DDD_PW-1$/, ''));
        if (editor && document.getElementById(p.id) === p) return;
        p.remove();
        removed += 1;
    });
    return removed;
}"""


#: Ids of the cancel buttons of visible header filter popups (hidden ones are never touched:
#: clicking them posts back and ends the page, FACTS §11).
_HEADER_FILTER_CANCELS_JS = """(popupSel, footerSel, texts) => [...document.querySelectorAll(popupSel)]
    .filter(p => p.getClientRects().length > 0)
    .map(p => [...p.querySelectorAll(footerSel + ' a')]
        .find(a => texts.includes(a.textContent.trim().toLowerCase())))
    .filter(a => a && a.id)
    .map(a => a.id)"""


async def close_line_popups(page: Any, step: str) -> None:
    """Close a "Linea di vendita" popup (a mouse click over a saved line opens it) and cancel a
    visible header filter popup: their modal background takes every click meant for the form
    (FACTS §2.7, §11)."""
    async with boundary(page, step):
        popups: list[str] = await page.evaluate(
            _TITLED_POPUPS_JS,
            sel.XAF_POPUP,
            sel.XAF_POPUP_TITLE,
            list(sel.SALES_LINE_POPUP_TITLES),
        )
        cancels: list[str] = await page.evaluate(
            _HEADER_FILTER_CANCELS_JS,
            sel.HEADER_FILTER_POPUP,
            sel.HEADER_FILTER_FOOTER,
            list(sel.CANCEL_TEXTS),
        )
        closing = [(f'[id="{i}"] {sel.XAF_POPUP_CLOSE}', f'[id="{i}"]') for i in popups]
        closing += [(f'[id="{i}"]', f'[id="{i}"]') for i in cancels]
        for button, gone in closing:
            await page.click(button)
            await page.waitForSelector(
                gone, {"hidden": True, "timeout": DEFAULT_CALLBACK_TIMEOUT_MS}
            )


async def remove_stale_popups(page: Any, step: str) -> int:
    """Drop the hidden `_DDD` popups earlier lookups left behind (each article lookup leaves
    one): they grow the DOM line after line (FACTS §2.12, §11). How many were removed."""
    async with boundary(page, step):
        removed: int = await page.evaluate(_REMOVE_STALE_POPUPS_JS, sel.DROPDOWN_POPUP)
    return removed


async def retype(page: Any, selector: str, text: str, step: str) -> None:
    """Replace an editor's text with real keystrokes: focus by script (a click could land on
    a saved line), select all, type (Backspace to empty it). Spin editors such as the line
    discount take only typed values (FACTS §2.10)."""
    async with boundary(page, step):
        await page.evaluate(
            "(s) => { const e = document.querySelector(s); e.focus(); e.select(); }", selector
        )
        if text:
            with steps.step(steps.TYPING):
                await page.keyboard.type(text)
        else:
            await page.keyboard.press("Backspace")


async def _editor_value(page: Any, editor: str, step: str) -> str:
    """The key a lookup editor holds (its hidden `_VI` input)."""
    async with boundary(page, step):
        value: str = await page.evaluate(
            "(id) => { const e = document.getElementById(id); return e ? e.value : ''; }",
            f"{editor}_VI",
        )
    return value


async def raise_problems(page: Any, step: str, field: str | None, grid: str = "") -> None:
    async with boundary(page, step):
        line_error, popup_error = await page.evaluate(
            _PROBLEMS_JS, grid, sel.LINE_ERROR, sel.CALLBACK_ERROR
        )
    if line_error:
        raise ErpRejected(line_error, field=field)
    if popup_error:
        raise ErpUnavailable(f"{step}: {popup_error}")


async def probe(page: Any, step: str, js: str, *args: Any) -> Any:
    """A bounded evaluate: GridStuck when the page does not answer (its JavaScript is frozen).

    The evaluate itself is left to finish: pyppeteer's connection breaks when the answer to
    a cancelled call arrives later.
    """
    call = asyncio.ensure_future(page.evaluate(js, *args))
    call.add_done_callback(_consume)
    async with boundary(page, step):
        try:
            return await asyncio.wait_for(asyncio.shield(call), DEFAULT_PROBE_TIMEOUT_MS / 1000)
        except TimeoutError as exc:
            raise GridStuck(
                f"{step}: the page did not answer for {DEFAULT_PROBE_TIMEOUT_MS} ms"
            ) from exc


def _consume(call: asyncio.Future[Any]) -> None:
    """A late probe's outcome is nobody's: read it so it is not reported as lost."""
    if not call.cancelled():
        call.exception()


async def grid_probe(page: Any, grid: str, step: str) -> tuple[bool, int, int]:
    """(editing, saved rows, DOM nodes) of the lines grid's page, bounded."""
    editing, rows, nodes = await probe(page, step, _GRID_PROBE_JS, grid)
    return bool(editing), int(rows), int(nodes)


async def check_not_editing(page: Any, grid: str, step: str) -> None:
    """After UpdateEdit: the grid must have left edit mode (FACTS §2.11, §9: IsEditing() can
    stay true after the callback; adding a row then freezes the page) — else GridStuck."""
    editing, _, _ = await grid_probe(page, grid, step)
    if editing:
        raise GridStuck(f"{step}: the lines grid is still editing after its callback")


async def _unfreeze(page: Any) -> None:
    """End a script that holds the page's JavaScript thread (a busy AddNewRow), best effort:
    CDP's Runtime.terminateExecution interrupts it; nothing running is fine too."""
    call = asyncio.ensure_future(page._client.send("Runtime.terminateExecution"))
    call.add_done_callback(_consume)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(call), DEFAULT_PROBE_TIMEOUT_MS / 1000)


async def reload_form(page: Any, step: str) -> int:
    """Reload the order form (a stuck grid, a DOM past its budget) and count its saved lines
    through the grid's GetRowCount() (FACTS §11); GridStuck if it is not an editable form."""
    await _unfreeze(page)
    async with boundary(page, step), leaving(page):
        # Should the script still hold the page, the reload waits it out; the unsaved form
        # asks before it goes (beforeunload), and leaving it is the point.
        await page.reload({"waitUntil": "domcontentloaded", "timeout": DEFAULT_RELOAD_TIMEOUT_MS})
    await wait_idle(page, step)
    grid = await lines_grid(page, step)
    editing, rows, _ = await grid_probe(page, grid, step)
    new_line = await probe(
        page,
        step,
        "(s) => !!document.querySelector(s)",
        f'[id="{grid}_DXHeadersRow0"] {sel.ADD_LINE}',
    )
    if editing or rows < 0 or not new_line:
        raise GridStuck(f"{step}: the reloaded order is not an editable form ({page.url})")
    return rows


async def search_lookup(page: Any, editor: str, text: str, step: str) -> str:
    """Open a lookup editor's drop-down (a real click on `_B-1`), search `text` in its box
    (`_DDD_gv_DXSE_I`, Enter) and wait for the answer; the selector of its rows (FACTS §2.4,
    §2.17). A row is then taken only by a real click on it."""
    async with boundary(page, step):
        await page.click(f'[id="{editor}_B-1"]')
        await page.waitForSelector(
            f'[id="{editor}_DDD_PW-1"]', {"visible": True, "timeout": DEFAULT_CALLBACK_TIMEOUT_MS}
        )
    await set_value(page, f'[id="{editor}_DDD_gv_DXSE_I"]', text, step)
    async with boundary(page, step):
        await page.keyboard.press("Enter")
    await wait_idle(page, step)
    return f'[id="{editor}_DDD_gv"] tr.dxgvDataRow_XafTheme'


async def choose_customer(page: Any, account: str) -> None:
    """Open the CUSTTABLE lookup (`_B-1`), search the account, click its row (FACTS §2.4)."""
    step = f"choose customer {account}"
    editor = await find_control(page, step, suffix=sel.CUSTOMER_LOOKUP_SUFFIX)
    rows = await search_lookup(page, editor, account, step)
    async with boundary(page, step):
        index = await page.evaluate(
            """(rowSel, account) => [...document.querySelectorAll(rowSel)]
                .findIndex(tr => [...tr.cells].some(td => td.textContent.trim() === account))""",
            rows,
            account,
        )
        if index < 0:
            raise ErpRejected(
                f"cliente '{account}' non trovato nella ricerca clienti", field="customer"
            )
        await (await page.querySelectorAll(rows))[index].click()
    await wait_idle(page, step)
    await raise_problems(page, step, "customer")
    if await _editor_value(page, editor, step) != account:
        # The lookup takes only a real click on its row (FACTS §9): fail loudly, never go on
        # with another customer or none.
        raise ErpUnavailable(f"{step}: the lookup did not take customer {account}")


async def choose_delivery_address(page: Any, address: dict[str, str]) -> None:
    """Pick the order's delivery address in the DELIVERYPOSTALADDRESS lookup: real click on
    `_B-1`, search the street, real click on the row of that street and city, then confirm
    DLVADDRESS shows the street (FACTS §2.17). Every line callback puts the customer's
    default back (BOT:4111-4113), so this runs after the last one, right before the save."""
    street, city = address["street"].strip(), address["city"].strip()
    step = f"choose the delivery address {street}, {city}"
    await open_tab(page, sel.OVERVIEW_TAB_TEXTS, step)
    editor = await find_control(page, step, suffix=sel.DELIVERY_ADDRESS_LOOKUP_SUFFIX)
    rows = await search_lookup(page, editor, street, step)
    async with boundary(page, step):
        index = await page.evaluate(
            r"""(rowSel, street, city) => {
                const norm = (s) => s.replace(/\s+/g, ' ').trim().toLowerCase();
                return [...document.querySelectorAll(rowSel)].findIndex(tr => {
                    const cells = [...tr.cells].map(td => norm(td.textContent));
                    return cells.includes(norm(street)) && cells.includes(norm(city));
                });
            }""",
            rows,
            street,
            city,
        )
        if index < 0:
            raise ErpRejected(
                f"{step}: the ERP's address lookup has no {street!r} in {city!r}",
                field="delivery_address",
            )
        # The lookup takes only a real click on its row (FACTS §2.17).
        await (await page.querySelectorAll(rows))[index].click()
    await wait_idle(page, step)
    await raise_problems(page, step, "delivery_address")
    shown = await delivery_address_text(page, step)
    if not shows_address(shown, address):
        raise ErpUnavailable(f"{step}: DLVADDRESS shows {shown!r} after the pick")


def shows_address(shown: str, wanted: dict[str, str]) -> bool:
    """Whether DLVADDRESS's text is the wanted address: it shows the street's first
    characters (as the production bot confirms it, FACTS §2.17)."""
    street = wanted["street"].strip()[: sel.DELIVERY_STREET_CHARS]
    return street.casefold() in shown.casefold()


async def delivery_address_text(page: Any, step: str) -> str:
    """DLVADDRESS as the detail view shows it (view or edit mode)."""
    async with boundary(page, step):
        text: str = await page.evaluate(
            "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
            sel.DELIVERY_ADDRESS_TEXT,
        )
    return text


async def _pick_article(page: Any, grid: str, line: Any, step: str) -> None:
    """Type the article into the new row's editor and click the wanted variant's row."""
    editor = await find_control(
        page, step, part=f"{grid}_{sel.NEW_LINE_TAG}", suffix=sel.ARTICLE_EDITOR_SUFFIX
    )
    await remove_stale_popups(page, step)
    # IncrementalFiltering reacts to keystrokes only: all but the last character by script,
    # the last one typed (FACTS §2.7).
    await set_value(page, f'[id="{editor}_I"]', line.article, step)
    await wait_idle(page, step)
    rows = await read_embedded_grid(page, f"{editor}_DDD_gv")
    packages = [
        (n, row[sel.ARTICLE_VARIANT], float(re.sub(r"\D", "", row[sel.ARTICLE_PACKAGE]) or 0))
        for n, row in enumerate(rows)
        if row.get(sel.ARTICLE_NAME, "").upper() == line.article.upper()
    ]
    if not packages:
        raise ErpRejected(f"articolo '{line.article}' non trovato", field="article")
    by_variant = {variant: n for n, variant, _ in packages}
    if line.variant is not None:
        if line.variant not in by_variant:
            raise ErpRejected(
                f"variante '{line.variant}' non disponibile per {line.article}", field="variant"
            )
        variant = line.variant
    else:
        variant = choose_variant(line.quantity, [(v, content) for _, v, content in packages])
    # The drop-down pages (FACTS §2.8): the row's index runs across its pages.
    row = await show_grid_row(page, f"{editor}_DDD_gv", by_variant[variant], step)
    async with boundary(page, step):
        await page.click(row)
    if await _editor_value(page, editor, step) != variant:
        # Variant rows take only a real mouse click (FACTS §2.8): a pick that did not take
        # would save another package.
        raise ErpUnavailable(f"{step}: the variant {variant} was not taken by the article editor")


#: What the row's quantity and discount editors hold.
_LINE_NUMBERS_JS = """(qSel, dSel) => [qSel, dSel].map(
    (s) => { const e = document.querySelector(s); return e ? e.value : null; })"""


async def _write_line_numbers(page: Any, row: str, line: Any, step: str) -> None:
    """Quantity and discount into the row's editors with real keystrokes (the discount spin
    takes only typed values, FACTS §2.10), after the variant pick's callback pre-filled the
    quantity (FACTS §2.9); then check the editors hold them."""
    lang = await browser_lang(page)
    quantity_input = f"{row} {sel.QUANTITY_INPUT}"
    discount_input = f"{row} {sel.LINE_DISCOUNT_INPUT}"
    await retype(page, quantity_input, culture_number(line.quantity, lang), step)
    if line.discount is not None:
        await retype(page, discount_input, culture_number(line.discount, lang), step)
    async with boundary(page, step):
        held = await page.evaluate(_LINE_NUMBERS_JS, quantity_input, discount_input)
    if parse_number(held[0] or "", lang) != line.quantity:
        raise ErpMismatch(step, "quantity", line.quantity, held[0])
    if line.discount is not None and parse_number(held[1] or "", lang) != line.discount:
        raise ErpMismatch(step, "discount", line.discount, held[1])


async def add_line(
    page: Any, line: Any, number: int, *, before_commit: Hook | None = None
) -> str | None:
    """Add one line through the inline grid; returns the order id once the URL carries it.

    Its UpdateEdit commits the line in the ERP at once (FACTS §2.11): `before_commit` runs
    right before it. GridStuck when the grid was left editing (reload and resume).
    """
    step = f"line {number} ({line.article})"
    grid = await lines_grid(page, step)
    new_row = f'[id="{grid}"] {sel.NEW_LINE_ROW}'
    # AddNewRow on a grid still editing freezes the page: never click it then.
    await check_not_editing(page, grid, step)
    async with boundary(page, step):
        await page.click(f'[id="{grid}_DXHeadersRow0"] {sel.ADD_LINE}')
    await wait_idle(page, step)
    await _pick_article(page, grid, line, step)
    await wait_idle(page, step)  # the pick's callback pre-fills the quantity: write after it
    await _write_line_numbers(page, new_row, line, step)
    if before_commit is not None:
        await before_commit()
    async with boundary(page, step):
        await page.click(f"{new_row} {sel.UPDATE_LINE}")
    await wait_idle(page, step, DEFAULT_UPDATE_EDIT_TIMEOUT_MS)
    await raise_problems(page, step, "article", grid)
    await check_not_editing(page, grid, step)
    match = ORDER_URL.search(page.url)
    return match.group(1) if match else None


async def fill_header(page: Any, order: Any, marker: str) -> None:
    """Before the first line: the marker into PURCHORDERFORMNUM (where the real bot writes,
    FACTS §2.14), the notes into TEXTEXTERNAL, the delivery date. The first line's callback
    posts them, so the order is findable as ours from its first save (FACTS §2.11)."""
    step = "fill the order header"
    lang = await browser_lang(page)
    values = {"PURCHORDERFORMNUM": marker}
    if order.notes:
        values["TEXTEXTERNAL"] = order.notes
    if order.delivery_date:
        values["DELIVERYDATE"] = culture_date(order.delivery_date, lang)
    await write_fields(page, values, step)


async def write_global_discount(page: Any, discount: float) -> None:
    """The global discount on "Prezzi e sconti", last, right before "Salva e chiudi": every
    save puts it back (FACTS §2.16); then check the editor holds it."""
    step = "write the global discount"
    lang = await browser_lang(page)
    await open_tab(page, sel.PRICE_DISCOUNT_TAB_TEXTS, step)
    await write_fields(page, {"MANUALDISCOUNT": culture_number(discount, lang)}, step)
    held = (await read_fields(page, ["MANUALDISCOUNT"], edit=True))["MANUALDISCOUNT"]
    if (parse_number(held, lang) or 0.0) != discount:
        raise ErpMismatch(step, "discount", discount, held)
