"""Detail views: the "Salvare" menu and the validation banner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from erp import selectors as sel
from erp.errors import ErpUnavailable
from erp.waits import (
    DEFAULT_NAV_TIMEOUT_MS,
    SERVER_ERROR_STATUS,
    boundary,
    check_not_login,
)

Hook = Callable[[], Awaitable[None]]


async def click_save(page: Any, step: str, *, close: bool, after_click: Hook | None = None) -> None:
    """ "Salvare" → "Salva" (stay on the object) or "Salva e chiudi"; wait for the next page.

    A 5xx answer is ErpUnavailable (the save may or may not have committed); Login.aspx
    is SessionExpired. `after_click` runs right after the click, before the answer.
    """
    async with boundary(page, step):
        await page.click(sel.SAVE_MENU)
        item = sel.SAVE_AND_CLOSE if close else sel.SAVE
        await page.waitForSelector(item, {"visible": True, "timeout": DEFAULT_NAV_TIMEOUT_MS})
        navigation = asyncio.ensure_future(
            page.waitForNavigation(
                {"waitUntil": "domcontentloaded", "timeout": DEFAULT_NAV_TIMEOUT_MS}
            )
        )
        try:
            await page.click(item)
            if after_click is not None:
                await after_click()
        except BaseException:
            navigation.cancel()
            raise
        response = await navigation
    check_not_login(page, step)
    if response is not None and response.status >= SERVER_ERROR_STATUS:
        raise ErpUnavailable(
            f"{step}: the ERP answered HTTP {response.status}; the save may or may not have happened"
        )


async def banner_text(page: Any) -> str:
    """The validation banner ("Data Validation Error: …") or ""."""
    async with boundary(page, "read the validation banner"):
        text: str = await page.evaluate(
            "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
            sel.VALIDATION_BANNER,
        )
    return text


async def read_fields(page: Any, fields: list[str], *, edit: bool) -> dict[str, str]:
    """FIELD -> text of detail fields (inputs in edit mode, spans in view mode); "" if absent."""
    selectors = {f: sel.field_input(f) if edit else sel.field_view(f) for f in fields}
    async with boundary(page, "read the detail fields"):
        values: dict[str, str] = await page.evaluate(
            """(selectors, edit) => Object.fromEntries(Object.entries(selectors).map(([f, s]) => {
                const e = document.querySelector(s);
                return [f, e ? (edit && 'value' in e ? e.value : e.textContent).trim() : ''];
            }))""",
            selectors,
            edit,
        )
    return values


async def write_fields(page: Any, values: dict[str, str], step: str) -> None:
    """Set detail inputs by FIELD, firing `change`; ErpUnavailable if a field is missing."""
    by_selector = {sel.field_input(f): v for f, v in values.items()}
    async with boundary(page, step):
        missing = await page.evaluate(
            """(values) => Object.entries(values).filter(([s, v]) => {
                const e = document.querySelector(s);
                if (!e) return true;
                e.value = v;
                e.dispatchEvent(new Event('change', {bubbles: true}));
                return false;
            }).map(([s]) => s)""",
            by_selector,
        )
    if missing:
        raise ErpUnavailable(f"{step}: the form has no field for {missing}")
