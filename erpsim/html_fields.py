"""Property editors of XAF detail views, as DevExpress renders them, and their layout items.

View mode shows ``…_xaf_dvi{FIELD}_View`` (a span, a link, or a table for combos and
checkboxes); edit mode an editor table ``…_xaf_dvi{FIELD}_Edit`` around the input
``…_Edit_I``. Numbers and dates carry their invariant value in ``data-v`` and their kind
in ``data-dxfmt`` (as the list grids' cells): the client writes them in the browser's culture
(``ASPxFormat``), and keeps the invariant value of a typed number or date in the editor's
``_Raw`` input.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Literal

Kind = Literal["text", "int", "decimal", "percent", "money", "date", "datetime"]
Widget = Literal["span", "link", "combo", "check", "memo", "text"]


@dataclass(frozen=True)
class Field:
    """One property of a detail view: where it sits, how it shows, whether it can be edited."""

    name: str
    path: str
    caption: tuple[str, str]
    kind: Kind = "text"
    widget: Widget = "span"
    editable: bool = False


def view_value(ident: str, f: Field, raw: str, shown: str) -> str:
    """The view-mode element of a field (`shown` is the server's text, `raw` its value)."""
    fmt = f' data-dxfmt="{f.kind}" data-v="{escape(raw)}"' if f.kind != "text" and raw else ""
    # A typed value is written by the client in the browser's culture (as the list grids).
    text = escape(raw if fmt else shown)
    if f.widget == "link":
        return f'<a id="{ident}" class="dxeHyperlink_XafTheme" href="#"{fmt}>{text}</a>'
    if f.widget in ("combo", "check"):
        return (
            f'<table id="{ident}" class="dxeBase_XafTheme"><tbody><tr>'
            f'<td class="dxeBase"{fmt}>{text}</td></tr></tbody></table>'
            f'<input type="hidden" id="{ident}_VI" value="{escape(raw or shown)}">'
        )
    return f'<span id="{ident}" class="dxeBase_XafTheme"{fmt}>{text}</span>'


def edit_value(ident: str, f: Field, raw: str, shown: str) -> str:
    """The edit-mode editor of an editable field: table ``{ident}`` around input ``{ident}_I``."""
    fmt = f' data-dxfmt="{f.kind}" data-v="{escape(raw)}"' if f.kind != "text" else ""
    shown = raw if fmt else shown
    if f.widget == "memo":
        inner = (
            f'<textarea id="{ident}_I" name="{ident}_I" class="dxeMemoEditArea_XafTheme" '
            f'rows="3">{escape(shown)}</textarea>'
        )
    else:
        inner = (
            f'<input id="{ident}_I" name="{ident}_I" class="dxeEditArea_XafTheme" type="text" '
            f'value="{escape(shown)}" autocomplete="off"{fmt}>'
        )
    raw_input = (
        f'<input type="hidden" id="{ident}_Raw" name="{ident}_Raw" value="{escape(raw)}">'
        if f.kind != "text"
        else ""
    )
    return (
        f'<table id="{ident}" class="dxeTextBoxSys dxeTextBox_XafTheme"><tbody><tr>'
        f'<td class="dxic">{inner}{raw_input}</td></tr></tbody></table>'
    )


def layout_item(caption: str, editor: str) -> str:
    """An XAF layout item: caption cell and the editor's nested cell."""
    return (
        '<div class="dxflItem_XafTheme"><table class="dxflItemTable"><tbody><tr>'
        f'<td class="dxflCaptionCell_XafTheme"><label>{escape(caption)}:</label></td>'
        f'<td class="dxflNestedControlCell_XafTheme">{editor}</td></tr></tbody></table></div>'
    )


def tabs(control: str, titles: list[str], contents: list[str], active: int = 0) -> str:
    """An XAF tab control (``{control}_T{n}`` tabs, ``{control}_C{n}`` pages, active ``dxtc-psi``)."""
    heads = "".join(
        f'<li id="{control}_T{n}" class="dxtc-tab{" dxtc-activeTab dxtc-psi" if n == active else ""}" '
        f'data-dx-tab="{control}" data-dx-tab-index="{n}"><a id="{control}_T{n}T" class="dxtc-link">'
        f'<span class="dx-vam">{escape(title)}</span></a></li>'
        for n, title in enumerate(titles)
    )
    hidden = ' style="display:none"'
    pages = "".join(
        f'<div id="{control}_C{n}" class="dxtc-content"{"" if n == active else hidden}>'
        f"{content}</div>"
        for n, content in enumerate(contents)
    )
    return (
        f'<div id="{control}" class="dxtcControl_XafTheme"><ul id="{control}_TC" class="dxtc-strip">'
        f"{heads}</ul>{pages}</div>"
    )
