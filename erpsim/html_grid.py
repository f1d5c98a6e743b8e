"""DevExpress-like grid markup: data rows, empty row, footer, pager and loading panel.

A grid's client state (`data-dx-state`) carries its columns as the real grid API exposes
them: `{fieldName, visible, visibleIndex}`, the two system columns first with an empty field
name. A data cell is text, or `(kind, raw)`: the server writes the invariant value in
`data-v` and the client formats it for the browser's language (`ASPxFormat`, FACTS §0).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

#: (kind, invariant value): kind one of text, int, decimal, money, percent, date, datetime.
TypedCell = tuple[str, str]
Cell = str | TypedCell
#: Formats a typed cell as server-side text (before the client re-formats it).
CellFormatter = Callable[[str, str], str]
#: (fieldName, visible, visibleIndex), in the grid's column order.
ColumnSpec = tuple[str, bool, int]
PAGE_SIZES = (10, 20, 50, 100, 200)


@dataclass(frozen=True)
class GridRow:
    """One data row: its key, the cells of its visible columns, and where the pencil leads."""

    key: str
    cells: tuple[Cell, ...]
    edit_href: str = ""


@dataclass(frozen=True)
class GridPage:
    """A page of a grid plus the state the client keeps for the next callback."""

    rows: tuple[GridRow, ...]
    total: int
    page_index: int
    page_size: int
    search: str

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    def state(self, columns: tuple[ColumnSpec, ...] = ()) -> dict[str, Any]:
        return {
            "columns": columns_state(columns),
            "page": self.page_index,
            "page_count": self.page_count,
            "page_size": self.page_size,
            "search": self.search,
            "rows": len(self.rows),
            "total": self.total,
        }


def columns_state(columns: tuple[ColumnSpec, ...]) -> list[dict[str, Any]]:
    """The columns as the client's GetColumn(i) returns them (captions are null)."""
    return [{"fieldName": f, "visible": v, "visibleIndex": i} for f, v, i in columns]


def paginate(items: list[Any], page_index: int, page_size: int) -> tuple[list[Any], int]:
    """The slice for a page, clamping the index; returns (slice, clamped index)."""
    page_count = max(1, math.ceil(len(items) / page_size))
    index = min(max(0, page_index), page_count - 1)
    return items[index * page_size : (index + 1) * page_size], index


def visible_fields(columns: tuple[ColumnSpec, ...]) -> tuple[str, ...]:
    """The data columns' field names in visible order (system columns left out)."""
    shown = sorted((index, field) for field, visible, index in columns if visible and field)
    return tuple(field for _, field in shown)


def list_columns(fields: tuple[str, ...], *, system_cells: bool = True) -> tuple[ColumnSpec, ...]:
    """Columns for a grid showing `fields` in that order (after two system columns)."""
    offset = 2 if system_cells else 0
    system: tuple[ColumnSpec, ...] = (("", True, 0), ("", True, 1)) if system_cells else ()
    return system + tuple((f, True, n + offset) for n, f in enumerate(fields))


def _plain_text(kind: str, raw: str) -> str:
    return raw


def _cell(cell: Cell, fmt: CellFormatter) -> str:
    if isinstance(cell, str):
        return f'<td class="dxgv">{escape(cell)}</td>'
    kind, raw = cell
    return (
        f'<td class="dxgv" data-dxfmt="{kind}" data-v="{escape(raw, quote=True)}">'
        f"{escape(fmt(kind, raw))}</td>"
    )


def grid_inner(
    name: str,
    columns: tuple[str, ...],
    page: GridPage,
    *,
    system_cells: bool = True,
    pager: bool = True,
    fmt: CellFormatter = _plain_text,
    edit_title: str = "Modifica",
    empty_text: str = "Nessun dato da visualizzare",
) -> str:
    """The markup inside `{name}_CC`, which callbacks replace.

    `columns` are the visible data columns in visible order; headers carry no caption text
    a bot could rely on (the real grid API returns null captions).
    """
    sys_head = (
        '<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme"></td>'
        '<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme"></td>'
        if system_cells
        else ""
    )
    heads = "".join(f'<td class="dxgvHeader_XafTheme">{escape(_caption(c))}</td>' for c in columns)
    out = [
        f'<table id="{name}_DXMainTable" class="dxgvTable_XafTheme">',
        f'<tr id="{name}_DXHeadersRow0" class="dxgvHeaderRow_XafTheme">{sys_head}{heads}</tr>',
    ]
    span = len(columns) + (2 if system_cells else 0)
    for n, row in enumerate(page.rows):
        sys_cells = (
            '<td class="dxgvCommandColumn_XafTheme"><input type="checkbox" class="dxgvSelectCheck" '
            f'id="{name}_DXSelBtn{n}" title="Seleziona riga"></td>'
            f'<td class="dxgvCommandColumn_XafTheme"><a id="{name}_DXCBtn{n}" '
            f"class=\"dxbButton_XafTheme\" data-args=\"[['Edit'],[{n}]]\">"
            f'<img class="dxGridView_gvEditButton" title="{edit_title}" alt="{edit_title}" '
            f'data-href="{escape(row.edit_href)}"></a>'
            f"<script>ASPx.AddDisabledItems('{name}_DXCBtn{n}',[[['dxbDisabled'],[''],['']]]);"
            "</script></td>"
            if system_cells
            else ""
        )
        cells = "".join(_cell(cell, fmt) for cell in row.cells)
        out.append(
            f'<tr id="{name}_DXDataRow{n}" class="dxgvDataRow_XafTheme" data-key="{escape(row.key)}">'
            f"{sys_cells}{cells}</tr>"
        )
    if not page.rows:
        out.append(
            f'<tr id="{name}_DXEmptyRow" class="dxgvEmptyData_XafTheme">'
            f'<td colspan="{span}">{escape(empty_text)}</td></tr>'
        )
    out.append(
        f'<tr id="{name}_DXFooterRow" class="dxgvFooter_XafTheme">'
        f'<td colspan="{span}">Count={page.total}</td></tr></table>'
    )
    if pager:
        out.append(_pager(name, page))
    return "".join(out)


def _caption(field: str) -> str:
    """A display caption, as a person reads it: not the field name (captions are not an API)."""
    return field.replace(".", " ").replace("_", " ").capitalize()


def _page_buttons(name: str, page: GridPage) -> str:
    """Numbered page buttons around the current page (the current one is a <b>)."""
    low = max(0, page.page_index - 4)
    high = min(page.page_count, low + 10)
    parts = []
    for n in range(low, high):
        if n == page.page_index:
            parts.append(f'<b class="dxp-num dxp-current">{n + 1}</b>')
        else:
            parts.append(
                f'<a id="{name}_DXPagerBottom_PN{n}" class="dxp-num" data-dx-page="{n}">{n + 1}</a>'
            )
    return "".join(parts)


def _pager(name: str, page: GridPage) -> str:
    first = page.page_index == 0
    last = page.page_index >= page.page_count - 1
    prev_cls = "dxp-button dxp-bi" + (" dxp-disabled" if first else "")
    next_cls = "dxp-button dxp-bi" + (" dxp-disabled" if last else "")
    return (
        f'<div id="{name}_DXPagerBottom" class="dxpLite_XafTheme dxgvPagerBottomPanel_XafTheme">'
        f'<a id="{name}_DXPagerBottom_PBP" class="{prev_cls}" data-dx-page="prev">'
        '<img alt="Prev"></a>'
        f"{_page_buttons(name, page)}"
        f'<a id="{name}_DXPagerBottom_PBN" class="{next_cls}" data-dx-page="next">'
        '<img alt="Next"></a>'
        '<span class="dxp-pageSizeItem"><label>Page size:</label>'
        f'<input id="{name}_DXPagerBottom_PSI" class="dxp-pageSize" value="{page.page_size}" '
        'size="3" data-dx-pagesize="1"></span></div>'
    )


def pager(name: str, page: GridPage) -> str:
    """The bottom pager of a grid showing `page` (embedded grids render it themselves)."""
    return _pager(name, page)


def grid_control(name: str, inner: str, state: dict[str, Any], extra_class: str = "") -> str:
    """The whole grid: the swappable `_CC` part, the loading panel and the client state."""
    state_json = escape(json.dumps(state), quote=True)
    return (
        f'<div id="{name}" class="dxgvControl_XafTheme {extra_class}" data-dx-grid="{name}" '
        f'data-dx-control="{name}" data-dx-state="{state_json}">'
        f'<div id="{name}_CC">{inner}</div>'
        f'<div id="{name}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" '
        'style="display:none"><span class="dxlp-text">Loading…</span></div></div>'
    )
