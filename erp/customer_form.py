"""The customer form's choices: combos picked with real clicks, lookups through the FindPopup.

Combos (LINEDISC, PRICEGROUP, DLVMODE) ignore script clicks on their items (FACTS §6, §9), so
an item is clicked with the mouse and the combo's text read back. The CAP
(LOGISTICSADDRESSZIPCODE) and the payment terms (PAYMTERMID) are lookups whose button opens
an iframe, the FindPopup (FACTS §13, ``d2-cap-lookup.json``, ``d3-paymtermid-lookup.json``):
the text is typed key by key (~100 ms a key: faster, the live search shows no rows), its search
button ``_Ed_B1`` clicked, a row picked, OK clicked; the form then shows the choice — the CAP
also fills CITY, COUNTY, STATE and COUNTRYREGIONID.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from erp import steps
from erp.errors import ErpRejected, ErpUnavailable
from erp.waits import DEFAULT_POLL_MS, boundary, wait_idle

#: Each key of a FindPopup search, typed this far apart (the live search needs ~100 ms).
FIND_TYPE_DELAY_MS = 100
#: The payment terms' pick answers in 10-15 s on the live ERP (FACTS §7, §10).
FIND_SEARCH_TIMEOUT_MS = 60_000
FIND_OPEN_TIMEOUT_MS = 30_000
FIND_SEARCH_INPUT = "#FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_I"
FIND_SEARCH_BUTTON = "#FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_B1"
FIND_OK = "#FindDialog_PopupActions_Menu_DXI0_T"
FIND_CANCEL = "#FindDialog_PopupActions_Menu_DXI1_T"
_FIND_ROWS = 'tr[class*="dxgvDataRow"]'
_FIND_ROWS_JS = """(rows) => [...document.querySelectorAll(rows)].map(r => ({
    id: r.id, cells: [...r.querySelectorAll('td')].map(td => td.textContent.trim())}))"""
_FIND_OPEN_JS = """() => [...document.querySelectorAll('iframe')]
    .some(f => (f.src || '').includes('FindPopup=true'))"""


def combo_selector(field: str) -> str:
    return f'[id$="_xaf_dvi{field}_Edit_dropdown_DD"]'


def find_input(field: str) -> str:
    """The lookup editor's text: it shows the choice (nothing typed into it is one)."""
    return f'[id$="_xaf_dvi{field}_Edit_find_Edit_I"]'


async def choose_combo(page: Any, field: str, value: str, step: str, *, payload_field: str) -> None:
    """Pick `value` in the combo FIELD of the tab shown, with real mouse clicks, and read it
    back. A value the combo does not list is ErpRejected naming `payload_field`."""
    async with boundary(page, step):
        combo = await page.waitForSelector(combo_selector(field), {"visible": True})
        name = await page.evaluate("(e) => e.id", combo)
        popup = f'[id="{name}_DDD_PW"]'
        shown_now = await page.evaluate(
            "(s) => [...document.querySelectorAll(s)].some(e => e.getClientRects().length > 0)",
            popup,
        )
        if not shown_now:
            await page.click(f'[id="{name}_B-1"]')
        await page.waitForSelector(popup, {"visible": True})
        item = await page.evaluate(
            """(popup, value) => { const td = [...document.querySelectorAll(popup + ' td')]
                .find(e => e.textContent.trim() === value); return td ? td.id : ''; }""",
            popup,
            value,
        )
        if not item:
            raise ErpRejected(f"{step}: {field} has no item {value!r}", field=payload_field)
        await page.click(f'[id="{item}"]')
        shown = await page.evaluate("(s) => document.querySelector(s).value", f'[id="{name}_I"]')
    if shown.strip() != value:
        raise ErpUnavailable(f"{step}: {field} shows {shown!r} after choosing {value!r}")


async def choose_in_find_popup(
    page: Any,
    field: str,
    search: str,
    step: str,
    *,
    payload_field: str,
    hint: str = "",
) -> None:
    """Choose the row of `search` in the lookup FIELD's FindPopup and read the choice back.

    The rows whose first cell is `search` are the candidates; with several (one CAP, several
    places) the one whose text holds every word of `hint` wins, else the first. No such row is
    ErpRejected naming `payload_field` (the popup is cancelled).
    """
    button = f'[id$="_xaf_dvi{field}_Edit_find_Edit_B0"]'
    async with boundary(page, step):
        await page.waitForSelector(button, {"visible": True})
        await page.click(button)
    frame = await _find_frame(page, step)
    async with boundary(page, step):
        await frame.waitForSelector(FIND_SEARCH_INPUT, {"visible": True})
        await frame.click(FIND_SEARCH_INPUT, {"clickCount": 3})
        with steps.step(steps.TYPING):
            await frame.type(FIND_SEARCH_INPUT, search, {"delay": FIND_TYPE_DELAY_MS})
        await frame.click(FIND_SEARCH_BUTTON)
    await wait_idle(frame, step, FIND_SEARCH_TIMEOUT_MS)
    async with boundary(page, step):
        rows: list[dict[str, Any]] = await frame.evaluate(_FIND_ROWS_JS, _FIND_ROWS)
    row = _pick(rows, search, hint)
    if row is None:
        async with boundary(page, step):
            await frame.click(FIND_CANCEL)
        await _find_closed(page, step)
        raise ErpRejected(
            f"{step}: the ERP's {field} lookup has no {search!r}", field=payload_field
        )
    async with boundary(page, step):
        # A script click picks a row there (d6-save-flow.json); OK needs one picked.
        await frame.evaluate("(id) => document.getElementById(id).click()", row)
        await frame.click(FIND_OK)
    await _find_closed(page, step)
    # The pick posts back to the form: the payment terms' callback takes 10-15 s live, and
    # a field written meanwhile is lost to its re-rendering (BOT:15183-15190).
    await wait_idle(page, step, FIND_SEARCH_TIMEOUT_MS)
    async with boundary(page, step):
        shown = await page.evaluate(
            "(s) => { const e = document.querySelector(s); return e ? e.value : ''; }",
            find_input(field),
        )
    if shown.strip() != search:
        raise ErpUnavailable(f"{step}: {field} shows {shown!r} after choosing {search!r}")


def _pick(rows: list[dict[str, Any]], search: str, hint: str) -> str | None:
    """The id of the row to pick (see choose_in_find_popup), or None."""
    exact = [r for r in rows if r["cells"] and r["cells"][0] == search]
    if not exact:
        return None
    words = [w for w in hint.lower().replace("(", " ").replace(")", " ").split() if len(w) > 2]
    for r in exact:
        text = " ".join(r["cells"]).lower()
        if words and all(w in text for w in words):
            return str(r["id"])
    return str(exact[0]["id"])


async def _find_frame(page: Any, step: str) -> Any:
    """The FindPopup's frame, once its page has loaded."""
    deadline = time.monotonic() + FIND_OPEN_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "FindPopup=true" in (frame.url or ""):
                try:
                    async with boundary(page, step):
                        ready = await frame.evaluate(
                            "() => document.readyState === 'complete' && "
                            "!!document.getElementById('FindDialog')"
                        )
                except ErpUnavailable:
                    ready = False  # the frame is still navigating
                if ready:
                    return frame
        await asyncio.sleep(DEFAULT_POLL_MS / 1000)
    raise ErpUnavailable(f"{step}: the FindPopup did not open")


async def _find_closed(page: Any, step: str) -> None:
    async with boundary(page, step):
        await page.waitForFunction(
            f"() => !({_FIND_OPEN_JS})()",
            {"polling": DEFAULT_POLL_MS, "timeout": FIND_OPEN_TIMEOUT_MS},
        )
