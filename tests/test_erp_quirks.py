"""How the real Archibald answers a bot's interactions on the order form, and how the bot gets
through (issue 8, items 4 and 6; FACTS §2.7-2.12, §3, §9, §11).

Each simulator behaviour is shown with a script (`el.click()`, a value set by script, a synthetic
event) next to the real input pyppeteer sends over CDP (mouse, keyboard), then the bot's flow
working through it.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from actors import attempt
from erp import order_form
from erp import selectors as sel
from erp.detail import find_control
from erp.errors import ErpRejected
from erp.orders import (
    NewOrder,
    OrderLine,
    _read_lines,
    apply_order_edit,
    find_order_by_marker,
    submit_order,
)
from erp.session import login
from erp.waits import goto, set_value, wait_idle

AGENT = "agent01"
PASSWORD = "pw-agent01"
#: A guard, not a measure: a navigation blocked by an unanswered dialog never ends by itself.
HANG_GUARD_S = 60


def _customer_and_product(erp: Any) -> tuple[str, dict[str, Any]]:
    """A customer of agent01 and a product with at least two package variants."""
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    product = next(p for p in state["products"] if len(p["variants"]) >= 2)
    return customer, product


async def _new_form(page: Any, erp: Any) -> None:
    await login(page, erp.url, AGENT, PASSWORD)
    await goto(page, erp.url + sel.NEW_ORDER, "open the new order form")


async def _value(page: Any, ident: str) -> str:
    value: str = await page.evaluate(
        "(id) => { const e = document.getElementById(id); return e ? e.value : null; }", ident
    )
    return value


async def _open_customer_lookup(page: Any, account: str) -> str:
    editor = await find_control(page, "test", suffix=sel.CUSTOMER_LOOKUP_SUFFIX)
    await page.click(f'[id="{editor}_B-1"]')
    await page.waitForSelector(f'[id="{editor}_DDD_PW-1"]', {"visible": True})
    await page.type(f'[id="{editor}_DDD_gv_DXSE_I"]', account)
    await page.keyboard.press("Enter")
    await wait_idle(page, "test")
    return editor


async def _new_line_editor(page: Any) -> tuple[str, str]:
    """AddNew on the lines grid; (grid name, article editor name)."""
    grid = await order_form.lines_grid(page, "test")
    await page.click(f'[id="{grid}_DXHeadersRow0"] {sel.ADD_LINE}')
    await wait_idle(page, "test")
    editor = await find_control(
        page, "test", part=f"{grid}_{sel.NEW_LINE_TAG}", suffix=sel.ARTICLE_EDITOR_SUFFIX
    )
    return grid, editor


async def _article_rows(page: Any, editor: str) -> int:
    count: int = await page.evaluate(
        "(id) => document.querySelectorAll(`[id='${id}_DDD_gv'] tr[data-dx-article]`).length",
        editor,
    )
    return count


async def _visible_popups(page: Any) -> list[str]:
    titles: list[str] = await page.evaluate(
        """(s, t) => [...document.querySelectorAll(s)].filter(p => p.getClientRects().length)
            .map(p => p.querySelector(t).textContent.trim())""",
        sel.XAF_POPUP,
        sel.XAF_POPUP_TITLE,
    )
    return titles


async def _article_popups(page: Any) -> int:
    """Article drop-down popups in the page (the editor of a line's row owns one)."""
    count: int = await page.evaluate(
        "(s) => document.querySelectorAll(s).length",
        f'[id*="{sel.ARTICLE_EDITOR_SUFFIX}"]{sel.DROPDOWN_POPUP}',
    )
    return count


# Item 4: synthetic clicks are ignored; the article lookup filters on real keystrokes only.


def test_customer_lookup_rows_take_only_a_real_click(erp: Any, aio: Any, page: Any) -> None:
    customer, _ = _customer_and_product(erp)

    async def flow() -> tuple[str, str]:
        await _new_form(page, erp)
        editor = await _open_customer_lookup(page, customer)
        row = f'[id="{editor}_DDD_gv"] tr.dxgvDataRow_XafTheme'
        await page.evaluate("(s) => document.querySelector(s).click()", row)
        await wait_idle(page, "test")
        after_script = await _value(page, f"{editor}_VI")
        await page.click(row)
        await wait_idle(page, "test")
        return after_script, await _value(page, f"{editor}_VI")

    after_script, after_mouse = aio.run(flow())
    assert after_script == ""
    assert after_mouse == customer


def test_article_filter_needs_a_real_keystroke(erp: Any, aio: Any, page: Any) -> None:
    customer, product = _customer_and_product(erp)

    async def flow() -> tuple[int, int]:
        await _new_form(page, erp)
        await order_form.choose_customer(page, customer)
        _, editor = await _new_line_editor(page)
        await page.evaluate(
            """(id, v) => { const e = document.getElementById(id); e.value = v;
                e.dispatchEvent(new Event('input', {bubbles: true})); }""",
            f"{editor}_I",
            product["item_id"],
        )
        await wait_idle(page, "test")
        by_script = await _article_rows(page, editor)
        await page.evaluate(
            "(id, v) => { document.getElementById(id).value = v; }",
            f"{editor}_I",
            product["item_id"][:-1],
        )
        await page.type(f'[id="{editor}_I"]', product["item_id"][-1])
        await wait_idle(page, "test")
        return by_script, await _article_rows(page, editor)

    by_script, by_keystroke = aio.run(flow())
    assert by_script == 0
    assert by_keystroke >= len(product["variants"])


def test_variant_rows_take_only_a_real_click(erp: Any, aio: Any, page: Any) -> None:
    customer, product = _customer_and_product(erp)
    variant = product["variants"][1]["variant"]

    async def flow() -> tuple[str, str]:
        await _new_form(page, erp)
        await order_form.choose_customer(page, customer)
        _, editor = await _new_line_editor(page)
        await set_value(page, f'[id="{editor}_I"]', product["item_id"], "test")
        await wait_idle(page, "test")
        row = f'[id="{editor}_DDD_gv"] tr[data-variant="{variant}"]'
        await page.evaluate("(s) => document.querySelector(s).click()", row)
        after_script = await _value(page, f"{editor}_VI")
        await page.click(row)
        return after_script, await _value(page, f"{editor}_VI")

    after_script, after_mouse = aio.run(flow())
    assert after_script == ""
    assert after_mouse == variant


def test_line_discount_takes_only_typed_values(erp: Any, aio: Any, page: Any) -> None:
    # Given a form with one line whose discount is written by script (value + events)
    customer, product = _customer_and_product(erp)
    line = OrderLine(product["item_id"], 1, None, product["variants"][0]["variant"])

    async def flow() -> list[float | None]:
        await _new_form(page, erp)
        await order_form.choose_customer(page, customer)
        grid, _ = await _new_line_editor(page)
        await order_form._pick_article(page, grid, line, "test")
        await page.type(f'[id="{grid}"] {sel.NEW_LINE_ROW} {sel.QUANTITY_INPUT}', "1")
        disc = f'[id="{grid}"] {sel.NEW_LINE_ROW} {sel.LINE_DISCOUNT_INPUT}'
        await page.evaluate(
            """(s) => { const e = document.querySelector(s); e.value = '15';
                e.dispatchEvent(new Event('input', {bubbles: true}));
                e.dispatchEvent(new Event('change', {bubbles: true})); }""",
            disc,
        )
        await page.click(f'[id="{grid}"] {sel.NEW_LINE_ROW} {sel.UPDATE_LINE}')
        await wait_idle(page, "test")
        # And a second line whose discount is typed
        await order_form.add_line(page, OrderLine(product["item_id"], 1, 15.0), 2)
        return [ln.discount for ln in await _read_lines(page)]

    # Then only the typed discount reached the ERP
    assert aio.run(flow()) == [None, 15.0]


def test_click_over_a_saved_line_opens_a_popup_the_bot_closes(
    erp: Any, aio: Any, page: Any
) -> None:
    customer, product = _customer_and_product(erp)

    async def flow() -> tuple[list[str], list[str], int, list[str]]:
        await _new_form(page, erp)
        await order_form.choose_customer(page, customer)
        await order_form.add_line(page, OrderLine(product["item_id"], 1), 1)
        grid = await order_form.lines_grid(page, "test")
        saved = f'[id="{grid}_DXDataRow0"] td:nth-child(3)'
        # A script click over the saved line does nothing; a mouse click opens its popup
        await page.evaluate("(s) => document.querySelector(s).click()", saved)
        by_script = await _visible_popups(page)
        await page.click(saved)
        by_mouse = await _visible_popups(page)
        # The bot's next line gets through: it closes the popup before touching the grid
        await order_form.add_line(page, OrderLine(product["item_id"], 2), 2)
        rows = len(await page.querySelectorAll(f'tr[id^="{grid}_DXDataRow"]'))
        return by_script, by_mouse, rows, await _visible_popups(page)

    by_script, by_mouse, rows, after = aio.run(flow())
    assert by_script == []
    assert by_mouse == ["Linea di vendita"]
    assert rows == 2
    assert after == []


def test_click_on_a_lines_header_opens_a_filter_popup_the_bot_cancels(
    erp: Any, aio: Any, page: Any
) -> None:
    customer, product = _customer_and_product(erp)
    shown = sel.HEADER_FILTER_POPUP

    async def visible() -> int:
        count: int = await page.evaluate(
            "(s) => [...document.querySelectorAll(s)].filter(p => p.getClientRects().length).length",
            shown,
        )
        return count

    async def flow() -> tuple[int, int, int, int]:
        await _new_form(page, erp)
        await order_form.choose_customer(page, customer)
        await order_form.add_line(page, OrderLine(product["item_id"], 1), 1)
        grid = await order_form.lines_grid(page, "test")
        header = f'[id="{grid}_DXHeadersRow0"] td[data-field="QTYORDERED"]'
        await page.evaluate("(s) => document.querySelector(s).click()", header)
        by_script = await visible()
        await page.click(header)
        by_mouse = await visible()
        await order_form.add_line(page, OrderLine(product["item_id"], 2), 2)
        rows = len(await page.querySelectorAll(f'tr[id^="{grid}_DXDataRow"]'))
        return by_script, by_mouse, rows, await visible()

    assert aio.run(flow()) == (0, 1, 2, 0)


# Item 6: popups and messages.


def test_line_delete_asks_in_an_xaf_popup_not_a_browser_dialog(
    erp: Any, aio: Any, page: Any
) -> None:
    customer, product = _customer_and_product(erp)
    dialogs: list[str] = []

    async def flow() -> tuple[list[str], int, int]:
        await _new_form(page, erp)
        page.on("dialog", lambda d: (dialogs.append(d.type), asyncio.ensure_future(d.accept())))
        await order_form.choose_customer(page, customer)
        await order_form.add_line(page, OrderLine(product["item_id"], 1), 1)
        grid = await order_form.lines_grid(page, "test")
        rows = f'tr[id^="{grid}_DXDataRow"]'
        await page.click(f"{rows} {sel.LINE_DELETE}")
        asked = await _visible_popups(page)
        # "Annulla" keeps the line
        await page.click('[id$="_btnCancel"]')
        await wait_idle(page, "test")
        kept = len(await page.querySelectorAll(rows))
        await page.click(f"{rows} {sel.LINE_DELETE}")
        await page.click('[id$="_btnOk"]')
        await wait_idle(page, "test")
        return asked, kept, len(await page.querySelectorAll(rows))

    asked, kept, left = aio.run(flow())
    assert asked == ["Archibald"]
    assert dialogs == []
    assert (kept, left) == (1, 0)


def test_bot_deletes_a_line_through_the_confirmation_popup(erp: Any, aio: Any, page: Any) -> None:
    # Given a saved order of two lines
    customer, product = _customer_and_product(erp)
    variants = [v["variant"] for v in product["variants"][:2]]
    order = NewOrder(
        customer=customer,
        lines=tuple(OrderLine(product["item_id"], 1, None, v) for v in variants),
    )

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        order_id = await submit_order(page, erp.url, order, marker="AB-q-delete")
        # When the edit keeps only the first line
        await apply_order_edit(page, erp.url, order_id, order.lines[:1])
        return order_id

    order_id = aio.run(flow())

    # Then the ERP holds exactly that line
    saved = next(o for o in erp.orders(AGENT) if o["id"] == order_id)
    assert [(ln["article"], ln["variant"]) for ln in saved["lines"]] == [
        (product["item_id"], variants[0])
    ]


def test_leaving_an_unsaved_order_form_asks_and_the_bot_confirms(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given an order form left unsaved: its only article does not exist (nothing committed,
    # so no partial order for the bot to delete — the form stays as typed)
    customer, _ = _customer_and_product(erp)
    order = NewOrder(customer=customer, lines=(OrderLine("ZZ9.999.999", 1),))
    seen: list[str] = []

    async def flow() -> str | None:
        await login(page, erp.url, AGENT, PASSWORD)
        with pytest.raises(ErpRejected):
            await submit_order(page, erp.url, order, marker="AB-q-leave")
        page.on("dialog", lambda d: seen.append(d.type))
        # When the bot goes on with its next operation on the same page
        return await asyncio.wait_for(
            find_order_by_marker(page, erp.url, "AB-q-nothing"), HANG_GUARD_S
        )

    # Then the browser asked before leaving, the bot confirmed, and the next step ran
    assert aio.run(flow()) is None
    assert seen == ["beforeunload"]
    assert sel.ORDERS_LIST in page.url


def test_a_saved_order_form_leaves_without_asking(erp: Any, aio: Any, page: Any) -> None:
    customer, product = _customer_and_product(erp)
    order = NewOrder(customer=customer, lines=(OrderLine(product["item_id"], 1),))
    seen: list[str] = []

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        page.on("dialog", lambda d: seen.append(d.type))
        await submit_order(page, erp.url, order, marker="AB-q-saved")
        await goto(page, erp.url + sel.CUSTOMERS_LIST, "leave")

    aio.run(flow())
    assert seen == []


def test_stale_dropdown_popups_pile_up_and_the_bot_removes_them(
    erp: Any, aio: Any, page: Any
) -> None:
    customer, product = _customer_and_product(erp)
    order = NewOrder(
        customer=customer,
        lines=tuple(OrderLine(product["item_id"], n) for n in range(1, 5)),
    )
    counts: dict[str, int] = {}
    commits: list[int] = []

    async def on_progress(text: str) -> None:
        if text.startswith("line 1/"):
            counts["after line 1"] = await _article_popups(page)

    async def before_commit() -> None:
        commits.append(await _article_popups(page))

    async def flow() -> None:
        await login(page, erp.url, AGENT, PASSWORD)
        await submit_order(
            page,
            erp.url,
            order,
            marker="AB-q-popups",
            before_commit=before_commit,
            on_progress=on_progress,
        )

    aio.run(flow())
    # Line 1's row is gone, its article popup stayed behind...
    assert counts["after line 1"] == 1
    # ...and after four lines (the four line commits, then the first save's) only the last
    # line's is left: the bot removed the others
    assert commits[4] == 1


def test_a_failed_attempt_leaves_an_unsaved_form_for_the_next_holder(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given an attempt that failed on an unsaved order form
    customer, product = _customer_and_product(erp)
    order = NewOrder(
        customer=customer,
        lines=(OrderLine(product["item_id"], 1), OrderLine("ZZ9.999.999", 1)),
    )

    async def flow() -> str:
        await login(page, erp.url, AGENT, PASSWORD)
        with pytest.raises(ErpRejected):
            await submit_order(page, erp.url, order, marker="AB-q-quiesce")
        # When the runtime quiesces the agent's page after the failure
        await attempt._quiesce(SimpleNamespace(page=page))  # type: ignore[arg-type]
        url: str = page.url
        return url

    # Then the page really left the form (not stuck on its beforeunload dialog)
    assert aio.run(flow()) == "about:blank"
