"""Documents the ERP makes: a delivery note's or an invoice's PDF, an order's lines as PDF.

Each reader is called as ``(page, erp_url, payload, hooks=)``; ``hooks.store_document(content,
filename, content_type)`` stores the bytes once and returns their document id.

The delivery notes' and invoices' lists (FACTS §8) come up empty until their date filter is
used with real mouse clicks — ``SetValue`` on that combo never reaches the server — so
``prepared_documents`` clicks "Oggi/Today" (invoices "Ultimi 3 mesi/Last 3 Month") and then
"Tutti/All", waits for the cells, and puts the agent's own filter back at the end.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urljoin

from erp import culture as culture_parse
from erp import grid, orders
from erp import selectors as sel
from erp.errors import ErpLeftHost, ErpUnavailable, NotOwnRecord
from erp.waits import (
    DEFAULT_CALLBACK_TIMEOUT_MS,
    DEFAULT_POLL_MS,
    boundary,
    goto,
    same_origin,
    wait_idle,
    where,
)

log = logging.getLogger(__name__)
#: Tries of a PDF export that answers "Requested objects cannot be loaded" (FACTS §8).
DEFAULT_EXPORT_TRIES = 3
#: Share of data cells that must hold text before a page counts as arrived (DXU:386-411).
DEFAULT_FILLED_SHARE = 0.5
DEFAULT_FILE_TIMEOUT_S = 120.0
_PREFIX = re.compile(r"^xaf_xaf_a\d+")

#: Opens the filter combo's drop-down and names the item to click (an id it may give it).
_COMBO_ITEM_JS = """(comboPattern, texts, values) => {
  const re = new RegExp(comboPattern);
  let combo = null;
  ASPxClientControl.GetControlCollection().ForEachControl(x => {
    if (combo === null && x && re.test(x.name) && x.GetItemCount) combo = x; });
  if (!combo) return null;
  combo.ShowDropDown();
  const items = [...document.querySelectorAll('[id^="' + combo.name + '_DDD_L_LBI"]')];
  const item = items.find(e => texts.includes(e.textContent.trim().toLowerCase()))
      || items.find(e => values.some(v => (e.getAttribute('data-dx-combo-item') || '').endsWith(v)));
  if (!item) { combo.HideDropDown(); return ''; }
  return item.id;
}"""


async def _read(page: Any, name: str) -> dict[str, Any]:
    async with boundary(page, f"read grid {name}"):
        data: dict[str, Any] | None = await page.evaluate(
            sel.READ_GRID_TAIL_JS, name, sel.DATA_ROW
        )
    if data is None:
        raise ErpUnavailable(f"the page {page.url} has no grid {name}")
    data["name"] = name
    return data


async def read_document_grid(page: Any, name: str) -> dict[str, Any]:
    """The grid's page once at least half of its data cells hold text (or it has no rows)."""
    step = f"wait for the cells of {name}"
    async with boundary(page, step):
        await page.waitForFunction(
            """(js, name, rowSel, share) => { const d = eval(js)(name, rowSel);
                return d && (d.cells === 0 || d.filled >= share * d.cells); }""",
            {"polling": DEFAULT_POLL_MS * 4, "timeout": DEFAULT_CALLBACK_TIMEOUT_MS},
            sel.READ_GRID_TAIL_JS, name, sel.DATA_ROW, DEFAULT_FILLED_SHARE,
        )
    return await _read(page, name)


async def _click_filter(page: Any, texts: tuple[str, ...], values: tuple[str, ...], step: str) -> bool:
    """Open the date filter and click one item with the mouse; False when it has no such item."""
    async with boundary(page, step):
        item = await page.evaluate(_COMBO_ITEM_JS, sel.FILTER_COMBO_PATTERN, list(texts), list(values))
        if item is None:
            raise ErpUnavailable(f"{step}: the list has no date filter")
        if not item:
            return False
        element = await page.waitForSelector(f'[id="{item}"]', {"visible": True, "timeout": 5_000})
        await element.click()  # a real mouse click: the combo ignores script clicks
    await wait_idle(page, step)
    return True


@asynccontextmanager
async def prepared_documents(
    page: Any, erp_url: str, path: str, *, page_size: int | None = None
) -> AsyncIterator[str]:
    """Open a delivery-note or invoice list showing everything from its first page; yields
    the grid's name. The agent's filter and page size are put back on the way out."""
    step = f"prepare {path}"
    await goto(page, urljoin(erp_url, path), f"open {path}")
    await wait_idle(page, step)
    suffix = sel.LIST_SUFFIXES[path]
    name = await grid.list_grid(page, step, suffix)
    before = await grid.list_state(page, name, step)
    first = sel.DOCUMENT_FILTER_FIRST_TEXTS[path]
    if not await _click_filter(page, first, (), f"{step}: filter {first[0]!r}"):
        raise ErpUnavailable(f"{step}: the date filter offers none of {first}: {before.items}")
    if not await _click_filter(page, sel.DOCUMENT_FILTER_ALL_TEXTS, sel.DOCUMENT_FILTER_ALL_VALUES,
                               f"{step}: filter all"):
        raise ErpUnavailable(f"{step}: the date filter has no 'all' item: {before.items}")
    if page_size is not None and before.page_size != page_size:
        await grid._set_page_size(page, name, page_size, f"{step}: page size {page_size}")
    now = await grid.list_state(page, name, step)
    if now.page_index != 0:
        await grid.goto_page(page, name, 0, f"{step}: first page")
        now = await grid.list_state(page, name, step)
    shown = _PREFIX.sub("", now.filter or "")
    if now.page_index != 0 or not shown.endswith(sel.DOCUMENT_FILTER_ALL_VALUES) or (
        page_size is not None and now.page_size != page_size
    ):
        raise ErpUnavailable(f"{step}: could not reset the list (state now {now})")
    try:
        yield name
    finally:
        await _restore(page, path, name, before, step)


async def _restore(page: Any, path: str, name: str, before: grid.ListState, step: str) -> None:
    """The agent's page size and filter back, by the same real clicks; best effort."""
    if path not in page.url:
        return
    try:
        now = await grid.list_state(page, name, step)
        if before.page_size and now.page_size != before.page_size:
            await grid._set_page_size(page, name, before.page_size, f"{step}: restore page size")
        wanted = _PREFIX.sub("", before.filter or "")
        if wanted and _PREFIX.sub("", now.filter or "") != wanted:
            await _click_filter(page, (), (wanted,), f"{step}: restore filter")
    except Exception as exc:  # noqa: BLE001 - never mask the real outcome
        log.warning("could not put back the list state of %s: %s", path, exc)


# -- one document's PDF ----------------------------------------------------------------------

_FETCH_JS = """async (url) => {
  const r = await fetch(url, {credentials: 'include'});
  const buf = new Uint8Array(await r.arrayBuffer());
  let s = ''; for (let i = 0; i < buf.length; i += 0x8000)
    s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  return {status: r.status, disposition: r.headers.get('content-disposition') || '',
          type: r.headers.get('content-type') || '', body: btoa(s)};
}"""


async def fetch_file(page: Any, url: str, step: str) -> tuple[bytes, str]:
    """GET a file inside the page's session; (bytes, file name from Content-Disposition).

    Only from the ERP's own host: a link to another host is ErpLeftHost, never fetched.
    """
    if not same_origin(url, page.url):
        raise ErpLeftHost(step, where(page.url), where(url))
    async with boundary(page, step):
        got = await asyncio.wait_for(page.evaluate(_FETCH_JS, url), DEFAULT_FILE_TIMEOUT_S)
    if got["status"] >= 500:
        raise ErpUnavailable(f"{step}: the ERP answered HTTP {got['status']}")
    if got["status"] != 200:
        raise ErpUnavailable(f"{step}: the file answered HTTP {got['status']}")
    match = re.search(r'filename="?([^";]+)"?', got["disposition"])
    return base64.b64decode(got["body"]), match.group(1) if match else url.rsplit("/", 1)[-1]


async def _click_for_file(page: Any, selector: str, step: str) -> tuple[bytes, str]:
    """Click what starts a download and fetch the file it asked for (its URL seen in the
    page's own requests: no interception), for anchors whose href is `javascript:;`."""
    seen: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_response(response: Any) -> None:
        disposition = response.headers.get("content-disposition", "")
        if "attachment" in disposition and not seen.done():
            seen.set_result(response.url)

    page.on("response", on_response)
    try:
        async with boundary(page, step):
            await page.click(selector)
        url = await asyncio.wait_for(seen, DEFAULT_FILE_TIMEOUT_S)
    except TimeoutError as exc:
        raise ErpUnavailable(f"{step}: no file came") from exc
    finally:
        page.remove_listener("response", on_response)
    return await fetch_file(page, url, step)


async def _stored(hooks: Any, content: bytes, filename: str) -> dict[str, Any]:
    document_id = await hooks.store_document(content, filename, "application/pdf")
    return {"document_id": document_id, "filename": filename, "bytes": len(content),
            "sha256": hashlib.sha256(content).hexdigest()}


async def _document_pdf(
    page: Any, erp_url: str, path: str, number: str, column: str, field: str, hooks: Any
) -> dict[str, Any]:
    step = f"PDF of {field} {number}"
    async with prepared_documents(page, erp_url, path) as name:
        await grid.search(page, number)
        while True:
            data = await read_document_grid(page, name)
            grid.require_fields(data, (column,), step)
            index = next((i for i, r in enumerate(data["rows"]) if r[column] == number), None)
            if index is not None:
                break
            if data["page_index"] + 1 >= data["page_count"]:
                raise NotOwnRecord(field, number)
            await grid.goto_page(page, name, data["page_index"] + 1, f"{step}: next page")
        async with boundary(page, step):
            cell = await grid.row_element(page, index, sel.ROW_SELECT_CELL)
            await cell.click()
        for attempt in range(1, DEFAULT_EXPORT_TRIES + 1):
            await grid.clear_popup(page)
            tool = await _get_pdf_tool(page, step)
            async with boundary(page, step):
                await page.click(f'[id="{tool}"]')
            await wait_idle(page, step)
            text = await grid.popup_text(page)
            if sel.OBJECTS_NOT_LOADED_TEXT.lower() in text.lower():
                log.info("%s: %r, try %d of %d", step, text, attempt, DEFAULT_EXPORT_TRIES)
                continue
            grid.raise_popup(text, step, field)
            break
        else:
            raise ErpUnavailable(f"{step}: {sel.OBJECTS_NOT_LOADED_TEXT} ({DEFAULT_EXPORT_TRIES} tries)")
        async with boundary(page, step):
            anchor = await page.waitForSelector(
                sel.PDF_ANCHOR, {"timeout": DEFAULT_CALLBACK_TIMEOUT_MS}
            )
            text, href = await page.evaluate(
                "(a) => [a.textContent.trim(), a.getAttribute('href') || '']", anchor
            )
        if text == sel.NO_PDF_TEXT:
            return {"pdf": None}
        if href and not href.lower().startswith("javascript"):
            content, filename = await fetch_file(page, urljoin(page.url, href), step)
        else:
            content, filename = await _click_for_file(page, sel.PDF_ANCHOR, step)
    return await _stored(hooks, content, filename or text)


async def _get_pdf_tool(page: Any, step: str) -> str:
    """The id of the enabled "Scarica PDF"/"Get PDF" toolbar link (enabled once a row is ticked)."""
    async with boundary(page, step):
        tool = await page.evaluate(
            """(titles, disabled) => {
                const li = [...document.querySelectorAll('li[title]')]
                    .find(e => titles.includes(e.getAttribute('title').trim()));
                if (!li) return null;
                const a = li.querySelector('a.dxm-content');
                return !a || li.classList.contains(disabled) ? '' : a.id;
            }""",
            list(sel.GET_PDF_TITLES),
            sel.DISABLED_TOOL,
        )
    if tool is None:
        raise ErpUnavailable(f"{step}: the toolbar has none of {sel.GET_PDF_TITLES}")
    if not tool:
        raise ErpUnavailable(f"{step}: the PDF item stayed disabled after selecting the row")
    return str(tool)


async def download_ddt_pdf(page: Any, erp_url: str, payload: dict[str, Any], *, hooks: Any) -> dict[str, Any]:
    """Fetch one delivery note's PDF (FACTS §13): ``{pdf: None}`` when the ERP has none."""
    number = str(payload["ddt"]).strip()
    return await _document_pdf(page, erp_url, sel.DDT_LIST, number, "packingslipid", "ddt", hooks)


async def download_invoice_pdf(page: Any, erp_url: str, payload: dict[str, Any], *, hooks: Any) -> dict[str, Any]:
    """Fetch one invoice's PDF (FACTS §13): ``{pdf: None}`` when the ERP has none."""
    number = str(payload["invoice"]).strip()
    return await _document_pdf(page, erp_url, sel.INVOICES_LIST, number, "invoiceid", "invoice", hooks)


# -- an order's lines ------------------------------------------------------------------------

_NUMBER = r"-?[\d.,]+"
_LINE_RE = re.compile(
    rf"^(\d+)\s+(\S+)\s+(.*?)\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s*%\s+({_NUMBER})"
    rf"(?:\s+({_NUMBER})\s*%)?\s*$"
)
_TOTAL_RE = re.compile(rf"^Totale (IVA|con IVA|imponibile):\s*({_NUMBER})")


def parse_lines_pdf(content: bytes, culture: str | None) -> dict[str, Any]:
    """The lines and VAT totals of an exported lines grid (text read with pypdf)."""
    import io

    from pypdf import PdfReader

    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(content)).pages)

    def num(raw: str) -> float:
        value = culture_parse.parse_number(raw, culture)
        if value is None:
            raise ErpUnavailable(f"the lines PDF holds an unreadable number {raw!r}")
        return value

    lines: list[dict[str, Any]] = []
    totals: dict[str, float] = {}
    for raw_line in text.splitlines():
        row = raw_line.strip()
        total = _TOTAL_RE.match(row)
        if total:
            totals[total.group(1)] = num(total.group(2))
            continue
        match = _LINE_RE.match(row)
        if not match:
            continue
        _, article, description, qty, price, discount, amount, vat = match.groups()
        line: dict[str, Any] = {"article": article, "quantity": num(qty), "price": num(price),
                                "discount": num(discount), "amount": num(amount)}
        if description and description != "-":
            line["description"] = description
        if vat is not None:
            line["vat_percent"] = num(vat)
        lines.append(line)
    if "IVA" not in totals or "con IVA" not in totals:
        raise ErpUnavailable("the lines PDF has no VAT totals")
    return {"lines": lines, "total_vat": totals["IVA"], "total_with_vat": totals["con IVA"]}


async def order_lines_pdf(page: Any, erp_url: str, payload: dict[str, Any], *, hooks: Any) -> dict[str, Any]:
    """Export an order's lines as PDF, store it and read its lines and VAT totals (FACTS §13)."""
    order_id = str(payload["order"]).strip()
    step = f"lines PDF of order {order_id}"
    # Its view page opens for any agent's order (FACTS §13): the agent's own list decides.
    if await orders.find_own_order(page, erp_url, order_id) is None:
        raise NotOwnRecord("order", order_id)
    await goto(page, urljoin(erp_url, sel.order_view_url(order_id)), step)
    await wait_idle(page, step)
    if not re.search(sel.ORDER_URL_PATTERN, page.url) or await page.querySelector(
        sel.LINES_EXPORT_PDF
    ) is None:
        raise ErpUnavailable(f"{step}: the order's view page showed no lines export ({page.url})")
    async with boundary(page, step):
        href = await page.evaluate(
            "(s) => { const a = document.querySelector(s); return a.getAttribute('data-href') || "
            "(a.getAttribute('href') || ''); }",
            sel.LINES_EXPORT_PDF,
        )
        culture = await page.evaluate("navigator.language")
    if href and not href.lower().startswith("javascript"):
        # The item's own target, when the page names it: the same GET its click makes.
        content, filename = await fetch_file(page, urljoin(page.url, href), step)
    else:
        content, filename = await _click_for_file(page, sel.LINES_EXPORT_PDF, step)
    parsed = parse_lines_pdf(content, culture)
    stored = await _stored(hooks, content, filename)
    return {"order_id": order_id, "document_id": stored["document_id"], **parsed}
