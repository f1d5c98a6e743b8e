"""The order and customer detail views as in the real ERP's dumps, and the bot reading them.

Ids, field names, the SALESLINEs columns and the page weight are held against
../shared/erp-real/archibald-structure.json (``detailViews.Order_Detail`` and
``Customer_Detail``); the bot's readback of an order must work in Italian and in English.
"""

from __future__ import annotations

import re
from typing import Any

from erp.orders import NewOrder, OrderLine, read_order, submit_order
from erp.session import login
from tests.test_erp_writes import AGENT, PASSWORD

#: The order header fields of the dump (view mode), in its order.
ORDER_VIEW_FIELDS = (
    "ID", "CUSTTABLE", "SALESID", "SALESNAME", "ORDERDATE", "SAMPLEORDER", "DELIVERYDATE",
    "DELIVERYPOSTALADDRESS", "DELIVERYNAME", "DLVADDRESS", "PURCHORDERFORMNUM", "CUSTOMERREF",
    "BRASCRMATTENTIONTO", "DLVEMAIL", "SALESORIGINID", "DLVMODE", "VATNUM", "QUOTE",
    "LANGUAGEID", "COMPLETEDDATE", "TEXTEXTERNAL", "TEXTINTERNAL", "SALESTYPE", "SALESSTATUS",
    "DOCUMENTSTATUS", "TRANSFERSTATUS", "TRANSFERREDDATE",
)  # fmt: skip
#: The dump's SALESLINEs columns (embeddedGrids), by visibleIndex from 1.
LINE_COLUMNS = [
    "LINENUM", "INVENTTABLE.NAME", "QTYORDERED", "SALESPRICE", "LINEPERCENT", "MANUALDISCOUNT",
    "LINEAMOUNT", "BRASNETPRICE", "NAME",
]  # fmt: skip
CUSTOMER_VIEW_FIELDS = (
    "VATNUM", "ACCOUNTNUM", "ID", "NAME", "NAMEALIAS", "FISCALCODE", "LEGALEMAIL", "STREET",
    "LOGISTICSADDRESSZIPCODE", "CITY", "PHONE", "CELLULARPHONE", "EMAIL",
)  # fmt: skip
CUSTOMER_EDIT_FIELDS = (
    "NAME", "NAMEALIAS", "FISCALCODE", "LEGALEMAIL", "STREET", "CITY", "PHONE", "CELLULARPHONE",
    "EMAIL",
)  # fmt: skip
#: The CAP is a lookup on the live form (its FindPopup): its editor ``…_Edit_find_Edit_I``.
ZIP_EDITOR = '[id$="xaf_dviLOGISTICSADDRESSZIPCODE_Edit_find_Edit_I"]'
VIEW_ID = r"^Vertical_v\d+_(\d{8})_MainLayoutView_[a-z0-9_]+_xaf_dvi%s_View$"
EDIT_ID = r"^Vertical_v\d+_(\d{8})_MainLayoutEdit_[a-z0-9_]+_xaf_dvi%s_Edit_I$"
LINES_GRID = (
    r"^Vertical_v\d+_\d{8}_MainLayout(View|Edit)_[a-z0-9_]+_xaf_dviSALESLINEs_v(\d+)_\d{8}_LE_v\2$"
)

_IDS_JS = """(suffixes) => Object.fromEntries(suffixes.map(s => {
    const e = document.querySelector('[id$="' + s + '"]');
    return [s, e ? e.id : null];
}))"""
_COLUMNS_JS = """(pattern) => {
    const re = new RegExp(pattern);
    let grid = null;
    ASPxClientControl.GetControlCollection().ForEachControl(c => {
        if (!grid && re.test(c.name) && typeof c.AddNewRow === 'function') grid = c;
    });
    if (!grid) return null;
    const columns = [];
    for (let i = 0; i < grid.GetColumnCount(); i++) columns.push(grid.GetColumn(i));
    return {name: grid.name, columns: columns};
}"""


def _orders(erp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    mine = erp.orders(AGENT)
    return (
        next(o for o in mine if o["transfer_status"] == "Modifica" and o["lines"]),
        next(o for o in mine if o["transfer_status"] != "Modifica"),
    )


async def _ids(page: Any, url: str, suffixes: list[str]) -> dict[str, str | None]:
    await page.goto(url, {"waitUntil": "domcontentloaded"})
    ids: dict[str, str | None] = await page.evaluate(_IDS_JS, suffixes)
    return ids


def _numbers(ids: dict[str, str | None], pattern: str) -> set[str]:
    """The random numbers of the ids, checking each id has the dump's shape."""
    numbers = set()
    for suffix, ident in ids.items():
        field = re.sub(r"^xaf_dvi|_(View|Edit_I)$", "", suffix)
        assert ident is not None, f"no element id ending with {suffix}"
        match = re.match(pattern % re.escape(field), ident)
        assert match, f"{ident} does not have the dump's shape"
        numbers.add(match.group(1))
    return numbers


def test_order_detail_ids_have_the_dumps_shape_and_a_new_number_per_visit(
    erp: Any, aio: Any, page: Any
) -> None:
    editable, _ = _orders(erp)
    view = f"{erp.url}SALESTABLE_DetailViewAgent/{editable['id']}/?mode=View"
    edit = f"{erp.url}SALESTABLE_DetailViewAgent/{editable['id']}/?mode=Edit"
    view_suffixes = [f"xaf_dvi{f}_View" for f in ORDER_VIEW_FIELDS]
    edit_fields = ("PURCHORDERFORMNUM", "CUSTOMERREF", "TEXTEXTERNAL", "TEXTINTERNAL")
    edit_suffixes = [f"xaf_dvi{f}_Edit_I" for f in (*edit_fields, "DELIVERYDATE", "MANUALDISCOUNT")]

    async def flow() -> tuple[Any, ...]:
        await login(page, erp.url, AGENT, PASSWORD)
        first = await _ids(page, view, view_suffixes)
        second = await _ids(page, view, view_suffixes)
        editing = await _ids(page, edit, edit_suffixes)
        await page.goto(erp.url + "SALESTABLE_DetailViewAgent/?NewObject=true")
        lookup: dict[str, str | None] = await page.evaluate(
            _IDS_JS, ["_dviCUSTTABLE_Edit_B-1", "_dviCUSTTABLE_Edit_DDD_PW-1", "_DDD_gv_DXSE_I"]
        )
        return first, second, editing, lookup

    first, second, editing, lookup = aio.run(flow())
    # Then every field of the dump is there with the dump's id shape, one number per visit
    one, two = _numbers(first, VIEW_ID), _numbers(second, VIEW_ID)
    assert len(one) == 1 and len(two) == 1 and one != two
    assert len(_numbers(editing, EDIT_ID)) == 1
    assert all(v and "_xaf_dviCUSTTABLE_Edit" in v for v in lookup.values()), lookup


def test_saleslines_columns_through_get_column(erp: Any, aio: Any, page: Any) -> None:
    editable, _ = _orders(erp)

    async def flow() -> Any:
        await login(page, erp.url, AGENT, PASSWORD)
        await page.goto(f"{erp.url}SALESTABLE_DetailViewAgent/{editable['id']}/?mode=View")
        return await page.evaluate(_COLUMNS_JS, "dviSALESLINEs")

    grid = aio.run(flow())
    assert grid is not None and re.match(LINES_GRID, grid["name"]), grid
    columns = grid["columns"]
    visible = sorted((c for c in columns if c["visible"]), key=lambda c: c["visibleIndex"])
    # one command column first, then the dump's columns in its visible order; captions null
    assert [c["fieldName"] for c in visible] == ["", *LINE_COLUMNS]
    assert [c["visibleIndex"] for c in visible] == list(range(len(LINE_COLUMNS) + 1))
    assert all(c["caption"] is None for c in columns)
    hidden = {c["fieldName"] for c in columns if not c["visible"]}
    assert "ITEMID" in hidden and all(c["visibleIndex"] == -1 for c in columns if not c["visible"])


def test_a_saved_orders_view_page_weighs_like_the_real_one(erp: Any, aio: Any, page: Any) -> None:
    editable, _ = _orders(erp)

    async def flow() -> int:
        await login(page, erp.url, AGENT, PASSWORD)
        await page.goto(f"{erp.url}SALESTABLE_DetailViewAgent/{editable['id']}/?mode=View")
        count: int = await page.evaluate("() => document.getElementsByTagName('*').length")
        return count

    # FACTS §10: a real order's detail view carries 23k+ DOM nodes
    assert aio.run(flow()) >= 20_000


def test_customer_detail_ids_tabs_and_edit_from_view(erp: Any, aio: Any, page: Any) -> None:
    customer = next(c for c in erp.state("customers")["customers"] if c["agent"] == AGENT)
    url = f"{erp.url}CUSTTABLE_DetailView/{customer['id']}/"
    view_suffixes = [f"xaf_dvi{f}_View" for f in CUSTOMER_VIEW_FIELDS]
    edit_suffixes = [f"xaf_dvi{f}_Edit_I" for f in CUSTOMER_EDIT_FIELDS]

    async def flow() -> tuple[Any, ...]:
        await login(page, erp.url, AGENT, PASSWORD)
        first = await _ids(page, url, view_suffixes)
        tabs = await page.evaluate(
            "() => [...document.querySelectorAll('li.dxtc-tab')].map(li => li.textContent.trim())"
        )
        second = await _ids(page, url, view_suffixes)
        edit = await page.evaluate(
            """() => [...document.querySelectorAll('a[id$="_T"]')]
                .find(a => ['Modifica', 'Edit'].includes(a.textContent.trim())).id"""
        )
        await page.click(f'[id="{edit}"]')
        await page.waitForSelector('[id$="xaf_dviNAME_Edit_I"]')
        editing: dict[str, str | None] = await page.evaluate(_IDS_JS, edit_suffixes)
        zip_code = await page.evaluate(
            "(s) => document.querySelector(s).value", ZIP_EDITOR
        )
        return first, second, tabs, page.url, editing, zip_code

    first, second, tabs, edit_url, editing, zip_code = aio.run(flow())
    one, two = _numbers(first, VIEW_ID), _numbers(second, VIEW_ID)
    assert len(one) == 1 and len(two) == 1 and one != two
    assert tabs[:2] == ["Principale", "Orari di consegna"] and "Prezzi e sconti" in tabs
    assert "mode=Edit" in edit_url and len(_numbers(editing, EDIT_ID)) == 1
    assert zip_code == customer["zip"]


def test_the_bot_reads_an_order_back_in_english_and_in_italian(
    erp: Any, aio: Any, page: Any
) -> None:
    # Given an order with a decimal quantity and a line discount, saved by the bot
    state = erp.state("customers,products")
    customer = next(c["account"] for c in state["customers"] if c["agent"] == AGENT)
    product = next(p for p in state["products"] if len(p["variants"]) >= 2)
    variant = product["variants"][1]["variant"]
    order = NewOrder(
        customer=customer,
        lines=(OrderLine(product["item_id"], 1234.5, 12.5, variant),),
        notes="Consegna al mattino",
    )

    async def as_browser(language: str) -> Any:
        # the label language follows Accept-Language; number text follows navigator.language
        await page.setExtraHTTPHeaders({"Accept-Language": f"{language},{language[:2]};q=0.9"})
        await page.evaluateOnNewDocument(
            "(l) => Object.defineProperty(navigator, 'language', {get: () => l, configurable: true})",
            language,
        )

    async def flow() -> tuple[Any, ...]:
        await login(page, erp.url, AGENT, PASSWORD)
        order_id = await submit_order(page, erp.url, order, marker="AB-culture")
        await as_browser("en-US")
        english = await read_order(page, erp.url, order_id)
        english_status = await page.evaluate(
            "() => document.querySelector('[id$=\"xaf_dviTRANSFERSTATUS_View\"]').textContent"
        )
        return order_id, english, english_status

    order_id, english, english_status = aio.run(flow())

    async def italian() -> tuple[Any, ...]:
        await as_browser("it-IT")
        snapshot = await read_order(page, erp.url, order_id)
        status = await page.evaluate(
            "() => document.querySelector('[id$=\"xaf_dviTRANSFERSTATUS_View\"]').textContent"
        )
        return snapshot, status

    italian_snapshot, italian_status = aio.run(italian())
    # Then both pages speak their language, and the bot reads the same order from both
    assert english_status.strip() == "modified" and italian_status.strip() == "Modifica"
    saved = next(o for o in erp.orders(AGENT) if o["id"] == order_id)
    for snapshot in (english, italian_snapshot):
        assert snapshot is not None and not snapshot.sent
        assert snapshot.customer == customer and snapshot.reference == "AB-culture"
        assert snapshot.notes == "Consegna al mattino" == saved["notes"]
        assert (
            [(ln.article, ln.variant, ln.quantity, ln.discount) for ln in snapshot.lines]
            == [
                (ln["article"], ln["variant"], ln["quantity"], ln["discount"])
                for ln in saved["lines"]
            ]
            == [(product["item_id"], variant, 1234.5, 12.5)]
        )
