"""The page around a list view's grid (search box, toolbar with its filter combo, page shell)
and what every list's grid callback reads the same way (paging, sort, row values).

Shared by the generic lists (erpsim.views_lists) and the documents lists
(erpsim.views_documents), which draw their grids differently but sit in the same XAF page;
views_lists imports views_documents, so what both use lives here.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from aiohttp import web

from erpsim.culture import Lang, label
from erpsim.html_grid import Cell, ColumnSpec
from erpsim.html_layout import ToolItem, page, server_error_page
from erpsim.list_state import PAGE_SIZES, FilterCombo, ListPrefs, apply_sort
from erpsim.sim import Sim
from erpsim.viewstate import ViewState

SEARCH_INPUT = "Vertical_SearchAC_Menu_ITCNT0_xaf_a0_Ed_I"


def localized(tool: ToolItem, lang: Lang) -> ToolItem:
    """A toolbar item with its label key (and confirm key) put in `lang`; a template item
    (the filter combo) as it is."""
    if tool.template:
        return tool
    return dataclasses.replace(
        tool,
        text=label(tool.text, lang),
        confirm=label(tool.confirm, lang) if tool.confirm else "",
    )


def combo_prefix() -> str:
    """The `xaf_xaf_a{k}` a filter combo's name and values carry: it drifts per visit."""
    return f"xaf_xaf_a{secrets.randbelow(3)}"


def filter_combo(
    combo: FilterCombo, prefs: ListPrefs, lang: Lang, prefix: str, **state: Any
) -> tuple[str, str]:
    """(combo name, its markup inside `ITCNT{slot}_`) showing the agent's current filter;
    `state` adds to the combo's client state (the documents' combo: `trusted`, `grid`)."""
    name = f"Vertical_mainMenu_Menu_ITCNT{combo.slot}_{prefix[4:]}_Cb"
    current = combo.item(prefs.filter or combo.default)
    items = [{"text": i.text(lang), "value": prefix + i.value} for i in combo.items]
    client_state = {"value": prefix + current.value, "items": items, **state}
    entries = "".join(
        f'<tr><td id="{name}_DDD_L_LBI{n}T0" class="dxeListBoxItem_XafTheme" '
        f'data-dx-combo="{name}" data-dx-combo-item="{escape(i["value"])}">'
        f"{escape(i['text'])}</td></tr>"
        for n, i in enumerate(items)
    )
    html = (
        f'<table id="{name}" class="dxeButtonEdit_XafTheme" data-dx-control="{name}" '
        f'data-dx-state="{escape(json.dumps(client_state), quote=True)}"><tr><td>'
        f'<input id="{name}_I" class="dxeEditArea_XafTheme" readonly '
        f'value="{escape(current.text(lang))}"></td>'
        f'<td id="{name}_B-1" class="dxeButton" data-dx-combo-button="{name}">▼</td></tr></table>'
        f'<div id="{name}_DDD_PW" class="dxpcDropDown_XafTheme" style="display:none">'
        f'<table id="{name}_DDD_L">{entries}</table></div>'
        f'<div id="{name}_LPV" class="dxlpLoadingPanel_XafTheme" style="display:none"></div>'
    )
    return name, html


def combo_tool(combo: FilterCombo, html: str) -> ToolItem:
    """The toolbar's template item `ITCNT{slot}` holding the filter combo's markup."""
    template = f'<div id="Vertical_mainMenu_Menu_ITCNT{combo.slot}_" class="dxm-ITC">{html}</div>'
    return ToolItem("", "Filter", index=combo.slot, template=template)


def list_page(
    sim: Sim,
    agent: str,
    lang: Lang,
    *,
    title: str,
    url: str,
    grid: str,
    tools: tuple[ToolItem, ...],
) -> web.Response:
    """A list view's page: the search box over the grid's markup, the toolbar (label keys put
    in `lang`), the list's title (a label key) and its menu entry marked."""
    search = (
        f'<div id="Vertical_SearchAC" class="SearchActionContainer">'
        f'<input id="{SEARCH_INPUT}" class="dxeEditArea_XafTheme" type="text" '
        f'placeholder="{escape(label("search_placeholder", lang))}" autocomplete="off" '
        'data-dx-search="1"></div>'
    )
    html = page(
        lang=lang,
        title=label(title, lang),
        agent_name=sim.state.agents[agent].full_name,
        view_state=ViewState(page=url),
        body=search + grid,
        tools=tuple(localized(tool, lang) for tool in tools),
        active=url,
    )
    return web.Response(text=html, content_type="text/html")


# -- grid callbacks ----------------------------------------------------------------------------


def int_param(value: object, default: int) -> int:
    """A callback parameter as a whole number, `default` when it is none."""
    try:
        return int(str(value))
    except ValueError:
        return default


def foreign_grid(sim: Sim) -> web.Response:
    """A callback naming a grid this page does not have: the yellow screen, counted."""
    sim.counters.server_errors += 1
    return web.Response(text=server_error_page(), content_type="text/html", status=500)


def paging(command: str, param: dict[str, Any], prefs: ListPrefs) -> tuple[int, int]:
    """(page index, page size) a grid callback asks for: the asked page at the kept size; a
    search goes to the first page; a page size the pager offers, to its first page."""
    page_index = int_param(param.get("page"), prefs.page_index)
    page_size = prefs.page_size
    if command == "SEARCH":
        page_index = 0
    elif command == "PAGESIZE":
        size = int_param(param.get("page_size"), prefs.page_size)
        if size in PAGE_SIZES:
            page_size = size
            page_index = 0
    return page_index, page_size


def sort_by(
    sim: Sim,
    key: str,
    columns: tuple[ColumnSpec, ...],
    agent: str,
    param: dict[str, Any],
    prefs: ListPrefs,
) -> None:
    """SortBy(column, sortOrder, reset, sortIndex): the user's sort of list `key` changes and
    is kept (server state, like filter and page size); the page index stays (clamped by the
    render). A column the grid lacks, or an unknown order, changes nothing."""
    sim.counters.sort_by += 1
    field = str(param.get("field") or "")
    order = str(param.get("order") or "").upper()
    if field not in {f for f, _, _ in columns if f} or order not in ("", "ASC", "DSC", "NONE"):
        return
    reset = param.get("reset") is not False
    new = apply_sort(prefs.sort, field, order, reset, int_param(param.get("index"), -1))
    sim.list_state.set(agent, key, sort=new)


def cell_json(cell: Cell | None) -> list[str] | None:
    """A cell as GetRowValues answers it: [kind, invariant raw]; None for no such field."""
    if cell is None:
        return None
    return ["text", cell] if isinstance(cell, str) else list(cell)


def page_row_values(
    items: Iterable[Any], param: dict[str, Any], cell_of: Callable[[Any, str], Cell | None]
) -> list[list[list[str] | None]]:
    """GetPageRowValues: [kind, raw] of each asked field, hidden ones too, per row on the page."""
    fields = [str(f) for f in param.get("fields") or []]
    return [[cell_json(cell_of(item, field)) for field in fields] for item in items]
