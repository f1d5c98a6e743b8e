"""The page shell shared by every authenticated page: menu, toolbar, banners."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from erpsim import urls
from erpsim.culture import Lang, label
from erpsim.viewstate import ViewState, hidden_fields

#: The navigation menu: (label key in erpsim.culture, URL).
MENU = (
    ("menu_announcements", urls.ANNOUNCEMENTS),
    ("menu_customers", urls.CUSTOMERS),
    ("menu_orders", urls.ORDERS),
    ("menu_packing_slips", urls.PACKING_SLIPS),
    ("menu_invoices", urls.INVOICES),
    ("menu_master_data", urls.PRODUCTS),
)
HEAD = (
    '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
    f'<link rel="stylesheet" href="{urls.STATIC}dx.css">'
    f'<script src="{urls.DXR}?r=1_0-Archibald"></script>'
    f'<script src="{urls.STATIC}dxfmt.js"></script><script src="{urls.STATIC}dx.js"></script>'
)


@dataclass(frozen=True)
class ToolItem:
    """One toolbar button; `command` is handled by dx.js, `needs_selection` starts disabled."""

    text: str
    command: str
    needs_selection: bool = False
    children: tuple[ToolItem, ...] = ()
    href: str = ""
    #: The item's fixed slot `DXI{index}` (the real toolbars skip numbers); -1: its position.
    index: int = -1
    #: The question of the native confirm() the command asks first.
    confirm: str = ""
    #: Markup of a template item (`ITCNT{index}`, e.g. a filter combo) instead of a link.
    template: str = ""


def edit_tools(
    new_item: ToolItem, save: str, save_and_new: str, save_and_close: str, cancel: ToolItem
) -> tuple[ToolItem, ...]:
    """A detail view's edit-mode toolbar: New, "Salvare" (saves and stays) whose popout
    (`DXI1_P`) holds "Salva e nuovo" and "Salva e chiudi" (FACTS §2.18, §6), Cancel."""
    return (
        new_item,
        ToolItem(
            save,
            "Save",
            children=(
                ToolItem(save_and_new, "SaveAndNew"),
                ToolItem(save_and_close, "SaveAndClose"),
            ),
        ),
        cancel,
    )


def toolbar(items: tuple[ToolItem, ...]) -> str:
    parts = [
        '<div id="Vertical_TB" class="dxm-main dxm-horizontal"><ul id="Vertical_mainMenu_Menu" class="dx dxm-image-l">'
    ]
    for position, item in enumerate(items):
        n = item.index if item.index >= 0 else position
        if item.template:
            parts.append(f'<li id="Vertical_mainMenu_Menu_DXI{n}_" class="dxm-item">{item.template}</li>')
            continue
        disabled = " dxm-disabled" if item.needs_selection else ""
        needs = ' data-needs-selection="1"' if item.needs_selection else ""
        sub = ""
        if item.children:
            # The item runs its own command; its popout arrow `DXI{n}_P` opens the children.
            sub_items = "".join(
                f'<li id="Vertical_mainMenu_Menu_DXI{n}i{m}_" class="dxm-item">'
                f'<a id="Vertical_mainMenu_Menu_DXI{n}i{m}_T" class="dxm-content" data-menu-cmd="{c.command}">'
                f'<span class="dx-vam">{escape(c.text)}</span></a></li>'
                for m, c in enumerate(item.children)
            )
            sub = (
                f'<div id="Vertical_mainMenu_Menu_DXI{n}_P" class="dxm-popOut" data-menu-popout="1">'
                f'<span id="Vertical_mainMenu_Menu_DXI{n}_PImg" class="dxm-pImage">▾</span></div>'
                f'<ul id="Vertical_mainMenu_Menu_DXM{n}_" class="dxm-popup" style="display:none">{sub_items}</ul>'
            )
        href = f' data-href="{escape(item.href)}"' if item.href else ""
        if item.confirm:
            href += f' data-confirm="{escape(item.confirm)}"'
        parts.append(
            f'<li id="Vertical_mainMenu_Menu_DXI{n}_" class="dxm-item{disabled}"{needs} '
            f'title="{escape(item.text)}">'
            f'<a id="Vertical_mainMenu_Menu_DXI{n}_T" class="dxm-content" data-menu-cmd="{item.command}"{href}>'
            f'<span class="dx-vam">{escape(item.text)}</span></a>{sub}</li>'
        )
    parts.append("</ul></div>")
    return "".join(parts)


def page(
    *,
    title: str,
    agent_name: str,
    view_state: ViewState,
    body: str,
    tools: tuple[ToolItem, ...] = (),
    banner: str = "",
    active: str = "",
    lang: Lang = "it",
) -> str:
    """A full XAF-like page inside one WebForms form; menu and header texts in ``lang``
    (pass ``erpsim.culture.lang_of(request)``)."""
    menu = "".join(
        f'<li class="dxnb-item{" dxnb-itemSelected" if href == active else ""}">'
        f'<a class="dxnb-link" href="{href}">{escape(label(key, lang))}</a></li>'
        for key, href in MENU
    )
    # XAF's error panel: the server fills it on a failed save, the client on a failed callback.
    hidden = "" if banner else ' style="display:none"'
    banner_html = (
        f'<div id="Vertical_ErrorInfo" class="ErrorInfo XafValidationError"{hidden}><table><tr>'
        f'<td id="Vertical_ErrorInfo_Text" class="ErrorMessage dxeErrorCell">{escape(banner)}</td>'
        "</tr></table></div>"
    )
    return (
        f"<!DOCTYPE html><html><head>{HEAD}<title>{escape(title)} - Archibald</title></head>"
        '<body class="VerticalTemplate"><form id="form1" method="post" action="">'
        f"{hidden_fields(view_state)}"
        f'<div id="Vertical_Header" class="Header">'
        f'<span class="AppTitle">{escape(label("app_title", lang))}</span>'
        f'<span id="Vertical_UserName" class="UserName">{escape(agent_name)}</span>'
        f'<a id="Vertical_Logout" href="{urls.LOGOUT}">{escape(label("logout", lang))}</a></div>'
        f'<div id="Vertical_NC_NB" class="dxnbControl_XafTheme NavBar"><ul>{menu}</ul></div>'
        f'<div id="Vertical_Content" class="Content"><h1 id="Vertical_ViewCaption">{escape(title)}</h1>'
        f"{toolbar(tools)}{banner_html}{body}</div></form>"
        "</body></html>"
    )


def server_error_page() -> str:
    """The ASP.NET yellow screen, as the real server shows on an unhandled error."""
    return (
        '<!DOCTYPE html><html><head><title>Runtime Error</title></head><body bgcolor="white">'
        "<span><h1>Server Error in '/Archibald' Application.<hr width=100% size=1 color=silver></h1>"
        "<h2><i>Runtime Error</i></h2></span>"
        "<b>Description:</b> An application error occurred on the server."
        "</body></html>"
    )
