"""The SALESLINEs grid of the order detail view: columns, rows, the inline edit row, editors.

Columns as the dump's ``embeddedGrids`` (LINENUM, INVENTTABLE.NAME, QTYORDERED, SALESPRICE,
LINEPERCENT, MANUALDISCOUNT, LINEAMOUNT, BRASNETPRICE, NAME after one command column), with
the hidden columns the real grid also carries (ITEMID: the package variant picked, e.g.
"005159K3"). The client reads them through ``GetColumn(i)``: the grid's ``data-dx-state``
lists ``{fieldName, visible, visibleIndex}`` per column index. Data cells are rendered in
visible order; numbers carry ``data-dxfmt``/``data-v`` for the browser's culture.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from erpsim import html_weight
from erpsim.culture import Lang
from erpsim.detail_texts import text
from erpsim.fmt import fmt_decimal, fmt_int, fmt_money, fmt_quantity
from erpsim.html_fields import Kind
from erpsim.html_grid import GridPage, grid_control, pager
from erpsim.model import Order, OrderLine, Product
from erpsim.state import SimState


@dataclass(frozen=True)
class Column:
    """One column of the lines grid (index = position in LINE_COLUMNS)."""

    field: str
    visible: bool
    kind: Kind = "text"


LINE_COLUMNS = (
    Column("", True),
    Column("LINENUM", True, "int"),
    Column("ITEMID", False),
    Column("INVENTTABLE.NAME", True),
    Column("QTYORDERED", True, "decimal"),
    Column("SALESPRICE", True, "money"),
    Column("LINEPERCENT", True, "percent"),
    Column("MANUALDISCOUNT", True, "percent"),
    Column("LINEAMOUNT", True, "money"),
    Column("BRASNETPRICE", True),
    Column("NAME", True),
    Column("SALESUNIT", False),
    Column("CURRENCYCODE", False),
    Column("LINEDISC", False),
    Column("CONFIRMEDDLV", False, "date"),
    Column("CREATEDDATETIME", False, "datetime"),
    Column("MODIFIEDDATETIME", False, "datetime"),
)
VISIBLE = tuple(c for c in LINE_COLUMNS if c.visible)
#: The article drop-down: one row per package variant.
ARTICLE_COLUMNS = ("NAME", "ITEMID", "BRASPACKAGEQTY", "DESCRIPTION")
#: Rows a grid shows per page (FACTS §2.12: the lines grid pages at 20).
DEFAULT_LINES_PAGE_SIZE = 20


def columns_state() -> list[dict[str, Any]]:
    """What GetColumn(i) answers: fieldName, visible, visibleIndex (-1 when hidden)."""
    out = []
    visible_index = 0
    for c in LINE_COLUMNS:
        out.append(
            {
                "fieldName": c.field,
                "visible": c.visible,
                "visibleIndex": visible_index if c.visible else -1,
            }
        )
        visible_index += 1 if c.visible else 0
    return out


def page_count(order: Order) -> int:
    """Pages of the lines grid: 20 rows a page (FACTS §2.12), at least one."""
    return max(1, -(-len(order.lines) // DEFAULT_LINES_PAGE_SIZE))


def clamp_page(order: Order, page: int) -> int:
    """`page` within the grid's pages (a deleted last line can leave it past the end)."""
    return min(max(0, page), page_count(order) - 1)


def page_of_row(row: int) -> int:
    """The page that shows line `row` (visible indices run across pages, as DevExpress's)."""
    return row // DEFAULT_LINES_PAGE_SIZE


def _page_rows(order: Order, page: int) -> range:
    start = clamp_page(order, page) * DEFAULT_LINES_PAGE_SIZE
    return range(start, min(start + DEFAULT_LINES_PAGE_SIZE, len(order.lines)))


def grid_state(order: Order, page: int = 0) -> dict[str, Any]:
    """The client state: the page shown, the page count and the total (GetRowCount())."""
    return {
        "rows": len(_page_rows(order, page)),
        "page": clamp_page(order, page),
        "page_count": page_count(order),
        "page_size": DEFAULT_LINES_PAGE_SIZE,
        "total": len(order.lines),
        "columns": columns_state(),
    }


def line_values(state: SimState, line: OrderLine, n: int) -> dict[str, tuple[str, str]]:
    """FIELD -> (invariant value, Italian text) of line `n`."""
    product = state.products_by_id.get(line.article)
    disc = line.discount or 0.0
    return {
        "LINENUM": (str(n + 1), fmt_int(n + 1)),
        "ITEMID": (line.variant, line.variant),
        "INVENTTABLE.NAME": (line.article, line.article),
        "QTYORDERED": (f"{line.quantity:g}", fmt_quantity(line.quantity)),
        "SALESPRICE": (f"{line.price_eur:.2f}", fmt_money(line.price_eur)),
        "LINEPERCENT": (f"{line.line_percent:.2f}", f"{fmt_decimal(line.line_percent)} %"),
        "MANUALDISCOUNT": (f"{disc:.2f}", f"{fmt_decimal(disc)} %"),
        "LINEAMOUNT": (f"{line.amount_eur:.2f}", fmt_money(line.amount_eur)),
        "BRASNETPRICE": ("No", "No"),
        "NAME": (product.name if product else "", product.name if product else ""),
        "SALESUNIT": ("PZ", "PZ"),
        "CURRENCYCODE": ("EUR", "EUR"),
        "LINEDISC": ("", ""),
        "CONFIRMEDDLV": ("", ""),
        "CREATEDDATETIME": ("", ""),
        "MODIFIEDDATETIME": ("", ""),
    }


def row_values(
    state: SimState, order: Order, fields: list[str], page: int = 0
) -> list[list[str]]:
    """GetPageRowValues: the invariant values of `fields` for every row on the page."""
    rows = []
    for n in _page_rows(order, page):
        values = line_values(state, order.lines[n], n)
        rows.append([values[f][0] if f in values else "" for f in fields])
    return rows


def _cell(column: Column, raw: str, shown: str) -> str:
    fmt = f' data-dxfmt="{column.kind}" data-v="{escape(raw)}"' if column.kind != "text" else ""
    align = "dx-ar" if column.kind != "text" else "dx-al"
    return f'<td class="dxgv {align}"{fmt}>{escape(raw if fmt else shown)}</td>'


class _Buttons:
    """Numbers the grid's command buttons `{grid}_DXCBtn{k}` in render order."""

    def __init__(self, grid: str) -> None:
        self.grid = grid
        self.next = 0

    def __call__(self, command: str, args: str, title: str) -> str:
        ident = f"{self.grid}_DXCBtn{self.next}"
        self.next += 1
        return (
            f'<a id="{ident}" class="dxbButton_XafTheme dxgvCommandColumnItem" data-args="{args}" '
            f'title="{escape(title)}"><img id="{ident}Img" title="{escape(title)}" alt="{command}">'
            f"<span>{escape(title)}</span></a>"
        )


def lines_inner(
    grid: str,
    state: SimState,
    order: Order,
    lang: Lang,
    *,
    editing: bool = False,
    adding: bool = False,
    edit_row: int | None = None,
    values: dict[str, str] | None = None,
    error: str = "",
    page: int = 0,
) -> str:
    """The grid's swappable part: headers, the rows of `page` (20 a page; ids and commands
    carry each row's visible index across pages), the `editnew` row or row `edit_row` in
    edit, and a pager when there is more than one page."""
    button = _Buttons(grid)
    span = len(VISIBLE)
    new = button("AddNew", "[['AddNew'],1]", text("new", lang)) if editing else ""
    heads = "".join(
        f'<td id="{grid}_col{n}" class="dxgvHeader_XafTheme" data-field="{c.field}">'
        f'<table><tbody><tr><td class="dx-wrap">{escape(c.field)}</td></tr></tbody></table></td>'
        for n, c in enumerate(LINE_COLUMNS)
        if c.visible and c.field
    )
    out = [
        (
            f'<table id="{grid}_DXMainTable" class="dxgvTable_XafTheme"><tbody>'
            f'<tr id="{grid}_DXHeadersRow0" class="dxgvHeaderRow_XafTheme">'
            f'<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme">{new}</td>{heads}</tr>'
        )
    ]
    for n in _page_rows(order, page):
        line = order.lines[n]
        if n == edit_row:
            out.append(_edit_row(grid, button, values or {}, f"edit{n}", str(n), lang))
            continue
        cells = line_values(state, line, n)
        commands = (
            button("StartEdit", f"[['StartEdit',{n}],1]", text("edit", lang))
            + button("DeleteRow", f"[['DeleteRow',{n}],1]", text("delete_line", lang))
            if editing
            else ""
        )
        out.append(
            f'<tr id="{grid}_DXDataRow{n}" class="dxgvDataRow_XafTheme">'
            f'<td class="dxgvCommandColumn_XafTheme">{commands}</td>'
            + "".join(_cell(c, *cells[c.field]) for c in VISIBLE if c.field)
            + "</tr>"
        )
    if adding:
        out.append(_edit_row(grid, button, values or {}, "editnew", "new", lang))
    if error:
        out.append(
            f'<tr id="{grid}_DXEditingErrorRow" class="dxgvEditingErrorRow_XafTheme">'
            f'<td colspan="{span}" class="dxgvEditingErrorCell">{escape(error)}</td></tr>'
        )
    if not order.lines and not adding:
        out.append(
            f'<tr id="{grid}_DXEmptyRow" class="dxgvEmptyData_XafTheme">'
            f'<td colspan="{span}">{escape(text("empty_grid", lang))}</td></tr>'
        )
    out.append(
        f'<tr id="{grid}_DXFooterRow" class="dxgvFooter_XafTheme">'
        f'<td colspan="{span}">Count={len(order.lines)}</td></tr></tbody></table>'
    )
    if page_count(order) > 1:
        shown = GridPage(rows=(), total=len(order.lines), page_index=clamp_page(order, page),
                         page_size=DEFAULT_LINES_PAGE_SIZE, search="")
        out.append(pager(grid, shown))
    return "".join(out)


def edit_values(line: OrderLine) -> dict[str, str]:
    """The edit row's inputs for an existing line (invariant numbers)."""
    return {
        "article": line.article,
        "variant": line.variant,
        "qty": f"{line.quantity:g}",
        "disc": "" if line.discount is None else f"{line.discount:g}",
    }


def _number_editor(ident: str, value: str, kind: Kind, *, typed: bool = False) -> str:
    """A spin editor; `value` is invariant ("2.5") until the client formats it.

    `typed`: only real keystrokes change its value (the line discount, FACTS §2.10): the
    client keeps what they typed in `_Raw`, and a value written by script is not posted.
    """
    shown = value
    typed_attr = " data-dx-typed" if typed else ""
    return (
        f'<table id="{ident}" class="dxeSpinEdit_XafTheme"><tbody><tr><td class="dxic">'
        f'<input id="{ident}_I" class="dxeEditArea_XafTheme" type="text" value="{escape(shown)}" '
        f'data-dxfmt="{kind}" data-v="{escape(value)}" autocomplete="off"{typed_attr}>'
        f'<input type="hidden" id="{ident}_Raw" value="{escape(value)}"></td></tr></tbody></table>'
    )


def article_editor_name(grid: str, tag: str) -> str:
    return f"{grid}_{tag}_xaf_dviINVENTTABLE_Edit"


def _edit_row(
    grid: str, button: _Buttons, values: dict[str, str], tag: str, row: str, lang: Lang
) -> str:
    """An inline editing row; `tag` is "editnew" for a new line or "edit{n}" for line n."""
    ed = article_editor_name(grid, tag)
    gv = f"{ed}_DDD_gv"
    article = escape(values.get("article", "") or "N/A")
    commands = button("UpdateEdit", "[['UpdateEdit'],1]", text("update", lang)) + button(
        "CancelEdit", "[['CancelEdit'],1]", text("cancel", lang)
    )
    editors = {
        "INVENTTABLE.NAME": (
            f'<table id="{ed}" class="dxeButtonEditSys dxeButtonEdit_XafTheme" data-dx-control="{ed}" '
            f'data-dx-role="article" data-dx-state="{{}}"><tbody><tr><td class="dxic">'
            f'<input id="{ed}_I" class="dxeEditArea_XafTheme" type="text" value="{article}" '
            f'autocomplete="off" data-dx-incremental="{ed}">'
            f'<input type="hidden" id="{ed}_VI" value="{escape(values.get("variant", ""))}"></td>'
            f'<td id="{ed}_B-1" class="dxeButton" data-dx-dropdown="{ed}"><img id="{ed}_B-1Img" alt="v">'
            "</td></tr></tbody></table>"
            f'<div id="{ed}_DDD_PW-1" class="dxpcDropDown_XafTheme" style="display:none">'
            f'<div id="{ed}_DDD_PWC-1" class="dxpc-content">'
            + grid_control(gv, article_rows(gv, []), article_state(0), "dxgvLookup")
            + "</div></div>"
            f'<div id="{ed}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" style="display:none">'
            f"{escape(text('loading', lang))}</div>"
        ),
        "QTYORDERED": _number_editor(
            f"{grid}_{tag}_xaf_dviQTYORDERED_Edit", values.get("qty", ""), "decimal"
        ),
        "MANUALDISCOUNT": _number_editor(
            f"{grid}_{tag}_xaf_dviMANUALDISCOUNT_Edit", values.get("disc", ""), "percent", typed=True
        ),
    }
    cells = "".join(f"<td>{editors.get(c.field, '')}</td>" for c in VISIBLE if c.field)
    return (
        f'<tr id="{grid}_DXEditingRow_{tag}" class="dxgvEditingRow_XafTheme" data-row="{row}">'
        f'<td class="dxgvCommandColumn_XafTheme">{commands}</td>{cells}</tr>'
    )


def article_state(rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "page": 0,
        "page_count": 1,
        "columns": [
            {"fieldName": name, "visible": True, "visibleIndex": n}
            for n, name in enumerate(ARTICLE_COLUMNS)
        ],
    }


def article_rows(gv: str, products: list[Product], limit: int = 0) -> str:
    """The article drop-down's grid content: one row per package variant of `products`."""
    rows: list[str] = []
    for product in products:
        for variant in product.variants:
            if limit and len(rows) >= limit:
                break
            rows.append(
                f'<tr id="{gv}_DXDataRow{len(rows)}" class="dxgvDataRow_XafTheme" '
                f'data-dx-article="{escape(product.item_id)}" data-variant="{variant.variant_id}">'
                f'<td class="dxgv dx-al">{escape(product.item_id)}</td>'
                f'<td class="dxgv dx-al">{variant.variant_id}</td>'
                f'<td class="dxgv dx-ar" data-dxfmt="int" data-v="{variant.package_content}">'
                f"{variant.package_content}</td>"
                f'<td class="dxgv dx-al">{escape(product.name)}</td></tr>'
            )
    if not rows:
        rows.append(
            f'<tr id="{gv}_DXEmptyRow" class="dxgvEmptyData_XafTheme"><td colspan="4"></td></tr>'
        )
    heads = "".join(
        f'<td class="dxgvHeader_XafTheme" data-field="{c}">{c}</td>' for c in ARTICLE_COLUMNS
    )
    return (
        f'<table id="{gv}_DXMainTable" class="dxgvTable_XafTheme"><tbody>'
        f'<tr id="{gv}_DXHeadersRow0" class="dxgvHeaderRow_XafTheme">{heads}</tr>'
        f"{''.join(rows)}</tbody></table>"
    )


def lines_control(grid: str, state: SimState, order: Order, lang: Lang, *, editing: bool) -> str:
    """The SALESLINEs grid control with its furniture (filter row, menus, column chooser)."""
    inner = lines_inner(grid, state, order, lang, editing=editing)
    hidden = tuple(c.field for c in LINE_COLUMNS if not c.visible)
    dates = tuple(c.kind in ("date", "datetime") or n % 4 == 1 for n, c in enumerate(LINE_COLUMNS))
    return grid_control(grid, inner, grid_state(order), "dxgvEmbedded") + (
        f'<div id="{grid}_Furniture">{html_weight.grid_furniture(grid, dates, hidden)}</div>'
    )
