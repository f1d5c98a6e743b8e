"""DevExpress-like grid markup: data rows, empty row, footer, pager and loading panel."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from html import escape
from typing import Any


@dataclass(frozen=True)
class GridRow:
    """One data row: its key, the cell texts, and where the pencil leads."""

    key: str
    cells: tuple[str, ...]
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

    def state(self) -> dict[str, Any]:
        return {
            "page": self.page_index,
            "page_count": self.page_count,
            "page_size": self.page_size,
            "search": self.search,
            "rows": len(self.rows),
            "total": self.total,
        }


def paginate(items: list[Any], page_index: int, page_size: int) -> tuple[list[Any], int]:
    """The slice for a page, clamping the index; returns (slice, clamped index)."""
    page_count = max(1, math.ceil(len(items) / page_size))
    index = min(max(0, page_index), page_count - 1)
    return items[index * page_size : (index + 1) * page_size], index


def grid_inner(
    name: str,
    columns: tuple[str, ...],
    page: GridPage,
    *,
    system_cells: bool = True,
    pager: bool = True,
) -> str:
    """The markup inside `{name}_CC`, which callbacks replace."""
    sys_head = (
        '<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme"></td>'
        '<td class="dxgvCommandColumn_XafTheme dxgvHeader_XafTheme"></td>'
        if system_cells
        else ""
    )
    heads = "".join(f'<td class="dxgvHeader_XafTheme" data-field="{c}">{c}</td>' for c in columns)
    out = [
        f'<table id="{name}_DXMainTable" class="dxgvTable_XafTheme">',
        f'<tr id="{name}_DXHeadersRow0" class="dxgvHeaderRow_XafTheme">{sys_head}{heads}</tr>',
    ]
    span = len(columns) + (2 if system_cells else 0)
    for n, row in enumerate(page.rows):
        sys_cells = (
            '<td class="dxgvCommandColumn_XafTheme"><input type="checkbox" class="dxgvSelectCheck" '
            f'id="{name}_DXSelBtn{n}" title="Seleziona riga"></td>'
            '<td class="dxgvCommandColumn_XafTheme"><img class="dxGridView_gvEditButton" title="Modifica" '
            f'alt="Modifica" data-href="{escape(row.edit_href)}"></td>'
            if system_cells
            else ""
        )
        cells = "".join(f'<td class="dxgv">{escape(text)}</td>' for text in row.cells)
        out.append(
            f'<tr id="{name}_DXDataRow{n}" class="dxgvDataRow_XafTheme" data-key="{escape(row.key)}">'
            f"{sys_cells}{cells}</tr>"
        )
    if not page.rows:
        out.append(
            f'<tr id="{name}_DXEmptyRow" class="dxgvEmptyData_XafTheme">'
            f'<td colspan="{span}">Nessun dato da visualizzare</td></tr>'
        )
    out.append(
        f'<tr id="{name}_DXFooterRow" class="dxgvFooter_XafTheme">'
        f'<td colspan="{span}">Count={page.total}</td></tr></table>'
    )
    if pager:
        out.append(_pager(name, page))
    return "".join(out)


def _pager(name: str, page: GridPage) -> str:
    first = page.page_index == 0
    last = page.page_index >= page.page_count - 1
    prev_cls = "dxp-button dxp-bi" + (" dxp-disabled" if first else "")
    next_cls = "dxp-button dxp-bi" + (" dxp-disabled" if last else "")
    return (
        f'<div id="{name}_DXPagerBottom" class="dxpLite_XafTheme dxgvPagerBottomPanel_XafTheme">'
        f'<a id="{name}_DXPagerBottom_PBP" class="{prev_cls}" data-dx-page="prev" title="Pagina precedente">&lt;</a>'
        f'<span class="dxp-summary">Pagina {page.page_index + 1} di {page.page_count} ({page.total} elementi)</span>'
        f'<a id="{name}_DXPagerBottom_PBN" class="{next_cls}" data-dx-page="next" title="Pagina successiva">&gt;</a>'
        '<span class="dxp-pageSizeItem"><label>Dimensione pagina:</label>'
        f'<input id="{name}_DXPagerBottom_PSI" class="dxp-pageSize" value="{page.page_size}" '
        'size="3" data-dx-pagesize="1"></span></div>'
    )


def grid_control(name: str, inner: str, state: dict[str, Any], extra_class: str = "") -> str:
    """The whole grid: the swappable `_CC` part, the loading panel and the client state."""
    state_json = escape(json.dumps(state), quote=True)
    return (
        f'<div id="{name}" class="dxgvControl_XafTheme {extra_class}" data-dx-grid="{name}" '
        f'data-dx-control="{name}" data-dx-state="{state_json}">'
        f'<div id="{name}_CC">{inner}</div>'
        f'<div id="{name}_LPV" class="dxgvLoadingPanel_XafTheme" style="display:none">'
        '<span class="dxlp-text">Caricamento…</span></div></div>'
    )
