"""The DOM weight of a real XAF detail view: filter-row editors, calendars, menus, hidden tabs.

A saved order's detail view on the real Archibald carries 23k+ DOM elements (FACTS §10); most
of them are DevExpress furniture the bot never touches: every embedded grid has a filter row
with one editor per column (date columns with a whole calendar popup), context menus, a
column chooser and header-filter popups (the ``…_DXFREditorcol{n}_DDD_C_mc_{k}``,
``…_DXContextMenu_Columns_DXI{k}_`` and ``…_custwindow_col{n}`` ids of the structure dump), and
tabs render their content hidden. This module generates that furniture with the dump's id
shapes, so the bot pays the real parsing, layout and query cost.
"""

from __future__ import annotations

import functools

#: Elements a saved order's view page should reach (FACTS §10: 23k+).
DEFAULT_ORDER_VIEW_ELEMENTS = 23_500
#: Edit pages are a little lighter (no history grids rendered), still in the same range.
DEFAULT_ORDER_EDIT_ELEMENTS = 21_000
DEFAULT_CUSTOMER_ELEMENTS = 12_000
_CALENDAR_WEEKS = 6
_DAYS = 7
_MONTHS = 12
_YEARS = 10
_MENU_ITEMS = (
    "SortAscending",
    "SortDescending",
    "ClearSorting",
    "GroupByColumn",
    "UngroupColumn",
    "ClearGrouping",
    "ShowGroupPanel",
    "ShowSearchPanel",
    "HideColumn",
    "ShowColumnChooser",
    "ShowFilterRow",
    "ShowFilterRowMenu",
    "ShowFooter",
    "ClearFilter",
    "ShowFilterEditor",
    "FullExpand",
    "FullCollapse",
    "ExportMenu",
)
_FOOTER_ITEMS = ("Sum", "Min", "Max", "Count", "Average", "None")
_FILTER_ITEMS = (
    "BeginsWith",
    "Contains",
    "DoesNotContain",
    "EndsWith",
    "Equals",
    "DoesNotEqual",
    "Less",
    "LessOrEqual",
    "Greater",
    "GreaterOrEqual",
    "Like",
)


def element_count(html: str) -> int:
    """Start tags in a markup string (every tag we write is closed or void, tbody explicit)."""
    return html.count("<") - html.count("</") - html.count("<!")


def calendar(prefix: str) -> str:
    """A DevExpress calendar popup (``{prefix}_DDD_C``): header, 6x7 days, fast navigation."""
    c = f"{prefix}_DDD_C"
    head = (
        f'<tr><td id="{c}_PYC" class="dxeCalendarHeader"><img id="{c}_PYCImg" alt="&lt;&lt;"></td>'
        f'<td id="{c}_PMC" class="dxeCalendarHeader"><img id="{c}_PMCImg" alt="&lt;"></td>'
        f'<td id="{c}_T" colspan="3"><span id="{c}_TC" class="dxeCalendarHeader">-</span></td>'
        f'<td id="{c}_NMC"><img id="{c}_NMCImg" alt="&gt;"></td>'
        f'<td id="{c}_NYC"><img id="{c}_NYCImg" alt="&gt;&gt;"></td></tr>'
    )
    days = "".join(
        "<tr>"
        + "".join(
            f'<td id="{c}_mc_{w * _DAYS + d}" class="dxeCalendarDay">{w * _DAYS + d + 1}</td>'
            for d in range(_DAYS)
        )
        + "</tr>"
        for w in range(_CALENDAR_WEEKS)
    )
    months = "".join(
        f'<td id="{c}_FNP_m{m}" class="dxeCalendarFastNavMonth">{m + 1}</td>'
        for m in range(_MONTHS)
    )
    years = "".join(
        f'<td id="{c}_FNP_y{y}" class="dxeCalendarFastNavYear">{2020 + y}</td>'
        for y in range(_YEARS)
    )
    return (
        f'<div id="{prefix}_DDD_PW-1" class="dxpcDropDown_XafTheme" style="display:none">'
        f'<div id="{prefix}_DDD_PWC-1" class="dxpc-content"><table id="{c}" class="dxeCalendar">'
        f"<tbody>{head}{days}</tbody></table>"
        f'<div id="{c}_FNP_PW-1" style="display:none"><table><tbody><tr>{months}</tr>'
        f"<tr>{years}</tr></tbody></table>"
        f'<a id="{c}_FNP_BO">OK</a><a id="{c}_FNP_BC">Cancel</a></div>'
        f'<table id="{c}_EC"><tbody><tr><td id="{c}_EC_D"><a id="{c}_BT">Today</a></td>'
        f'<td id="{c}_EC_DD"><a id="{c}_BC">Clear</a></td></tr></tbody></table></div></div>'
    )


def _editor(prefix: str, with_calendar: bool) -> str:
    popup = (
        calendar(prefix)
        if with_calendar
        else (
            f'<div id="{prefix}_DDD_PW-1" class="dxpcDropDown_XafTheme" style="display:none">'
            f'<div id="{prefix}_DDD_PWC-1"><table id="{prefix}_DDD_L"><tbody>'
            f'<tr id="{prefix}_DDD_L_LBI-1"><td id="{prefix}_DDD_L_LBI-1T0"></td></tr>'
            "</tbody></table></div></div>"
        )
    )
    return (
        f'<table id="{prefix}" class="dxeButtonEditSys dxeButtonEdit_XafTheme"><tbody><tr>'
        f'<td class="dxic"><input id="{prefix}_I" class="dxeEditArea_XafTheme" type="text" '
        f'readonly value=""></td><td id="{prefix}_B-1" class="dxeButton"><img id="{prefix}_B-1Img">'
        f"</td></tr></tbody></table>{popup}"
    )


def filter_row(grid: str, date_columns: tuple[bool, ...]) -> str:
    """One filter editor per column (``{grid}_DXFREditorcol{n}``); date columns get a calendar."""
    cells = "".join(
        f'<td class="dxgvFilterRow">{_editor(f"{grid}_DXFREditorcol{n}", is_date)}</td>'
        for n, is_date in enumerate(date_columns)
    )
    return f'<table id="{grid}_DXFilterRowTable" style="display:none"><tbody><tr>{cells}</tr></tbody></table>'


def context_menu(grid: str, name: str, items: tuple[str, ...]) -> str:
    """A grid context menu (``{grid}_DXContextMenu_{name}_DXI{k}_``), hidden until used."""
    lis = "".join(
        f'<li id="{grid}_DXContextMenu_{name}_DXI{k}_" class="dxm-item">'
        f'<a id="{grid}_DXContextMenu_{name}_DXI{k}_T" class="dxm-content">'
        f'<img id="{grid}_DXContextMenu_{name}_DXI{k}_Img"><span class="dx-vam">{text}</span></a></li>'
        for k, text in enumerate(items)
    )
    return (
        f'<div id="{grid}_DXContextMenu_{name}" class="dxm-popup" style="display:none">'
        f"<ul>{lis}</ul></div>"
    )


def grid_furniture(grid: str, date_columns: tuple[bool, ...], hidden: tuple[str, ...]) -> str:
    """Everything a real embedded grid carries besides its rows."""
    chooser = "".join(
        f'<div id="{grid}_custwindow_col{n}" class="dxgvCustomizationWindowItem">'
        f'<span class="dx-vam">{name}</span></div>'
        for n, name in enumerate(hidden)
    )
    return (
        filter_row(grid, date_columns)
        + context_menu(grid, "Columns", _MENU_ITEMS)
        + context_menu(grid, "Footer", _FOOTER_ITEMS)
        + context_menu(grid, "FilterRowMenu", _FILTER_ITEMS)
        + f'<div id="{grid}_custwindow_PW-1" style="display:none">'
        f'<div id="{grid}_custwindow_PWH-1"><span id="{grid}_custwindow_PWH-1T">Column Chooser</span>'
        f'</div><div id="{grid}_custwindow_PWC-1">{chooser}</div></div>'
        f'<div id="{grid}_DXHFP_PW-1" style="display:none"><div id="{grid}_DXHFP_PWC-1"></div>'
        f'<div id="{grid}_DXHFP_PWF-1"></div><div id="{grid}_DXHFP_DXPWMB-1"></div></div>'
    )


def hidden_grid(grid: str, columns: int) -> str:
    """A history grid on a tab the view does not show (Packing Slip-History…): header only."""
    heads = "".join(
        f'<td id="{grid}_col{n}" class="dxgvHeader_XafTheme"><table><tbody><tr>'
        f'<td class="dx-wrap">COL{n}</td><td><img id="{grid}_col{n}_HFI"></td></tr></tbody></table></td>'
        for n in range(columns)
    )
    return (
        f'<div id="{grid}" class="dxgvControl_XafTheme"><table id="{grid}_DXMainTable"><tbody>'
        f'<tr id="{grid}_DXHeadersRow0">{heads}</tr></tbody></table>'
        + grid_furniture(grid, tuple(n % 3 == 0 for n in range(columns)), ())
        + "</div>"
    )


#: History grids of the hidden tabs ("Packing Slip-History:", "Invoice-History:", …).
HISTORY_GRIDS = ("CUSTPACKINGSLIPJOURs", "CUSTINVOICEJOURs", "SALESTABLEs", "CUSTTRANSs")


_PREFIX_TOKEN = "\x00"


@functools.lru_cache(maxsize=64)
def _history_grids(count: int) -> tuple[str, int]:
    """`count` history grids with a placeholder for the layout prefix, and their element count.

    Rendering 20k elements costs the simulator ~20 ms per page; the markup only depends on the
    prefix (which changes per visit), so it is rendered once and the prefix filled in.
    """
    parts = []
    for n in range(count):
        name = HISTORY_GRIDS[n % len(HISTORY_GRIDS)]
        grid = f"{_PREFIX_TOKEN}_xaf_l{2100 + n}_xaf_dvi{name}_v{20 + n}_LE_v{20 + n}"
        parts.append(hidden_grid(grid, 20))
    html = "".join(parts)
    return html, element_count(html)


def ballast(prefix: str, target_elements: int, already: int) -> str:
    """History grids on hidden tabs until the page reaches `target_elements` elements."""
    per_grid = _history_grids(1)[1]
    count = max(0, -(-(target_elements - already) // per_grid))
    html = _history_grids(count)[0].replace(_PREFIX_TOKEN, prefix)
    return f'<div class="dxtc-content" style="display:none">{html}</div>'
