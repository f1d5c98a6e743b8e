"""Markup of the customer detail view (CUSTTABLE_DetailView) in view and edit mode.

Field names, tabs and id shapes as the structure dump's ``detailViews.Customer_Detail``:
layout ``Vertical_v9_{rand}_MainLayoutView`` (edit: ``Vertical_v4_{rand}_MainLayoutEdit``),
fields ``…_xaf_dvi{FIELD}_View`` / ``…_xaf_dvi{FIELD}_Edit_I``, the tabs Principale/Main,
Prezzi e sconti/Price Discount, … and the orders grid ``…_xaf_dviSALESTABLEs_v10_{rand}_LE_v10``
on the "Sales-History:" tab.
"""

from __future__ import annotations

import json
import re
from html import escape

from erpsim import find_popup, html_weight
from erpsim.culture import Lang
from erpsim.detail_ids import Mode, Visit, new_rand
from erpsim.detail_texts import text
from erpsim.fmt import fmt_int
from erpsim.html_fields import Field, Widget, edit_value, layout_item, tabs, view_value
from erpsim.html_grid import ColumnSpec, GridPage, GridRow, grid_control, grid_inner, paginate
from erpsim.model import AltAddress, Customer

VIEW_NUMBERS = {"View": (9, 10), "Edit": (4, 5)}
TABS_PATH = "xaf_l1504_pg"
#: The hidden input with the values an edit page showed (a merge keeps others' changes).
ORIGINAL_INPUT = "CustOriginal"
_VAT_EDITOR_RE = re.compile(r"^Vertical_v\d+_\d+_MainLayoutEdit_.*_xaf_dviVATNUM_Edit$")


def _m(
    name: str, item: int, it: str, en: str, editable: bool = False, widget: Widget = "span"
) -> Field:
    """A field of the Main tab at layout item `item`."""
    return Field(
        name, f"{TABS_PATH}_xaf_l1510_xaf_l{item}", (it, en), widget=widget, editable=editable
    )


#: The Main ("Principale") tab, in the dump's order.
MAIN = (
    _m("VATNUM", 1520, "Partita IVA", "VAT number", editable=True),
    _m("VATLASTCHECKEDDATE", 1522, "Ultimo controllo IVA", "VAT last checked"),
    _m("VATVALIEDE", 1524, "IVA valida", "VAT valid", widget="check"),
    _m("VATADDRESS", 1526, "Indirizzo IVA", "VAT address"),
    _m("ACCOUNTNUM", 1528, "Conto cliente", "Account"),
    _m("ID", 1530, "ID", "ID"),
    _m("NAME", 1532, "Ragione sociale", "Name", editable=True),
    _m("NAMEALIAS", 1534, "Nome breve", "Name alias", editable=True),
    _m("DLVMODE", 1536, "Modalità di consegna", "Delivery mode", editable=True, widget="combo"),
    _m("FISCALCODE", 1538, "Codice fiscale", "Fiscal code", editable=True),
    _m("CURRENCY", 1540, "Valuta", "Currency"),
    _m("BRASCRMATTENTIONTO", 1542, "All'attenzione di", "Attention to"),
    _m("FISCALCODEVALIDE", 1544, "Codice fiscale valido", "Fiscal code valid", widget="check"),
    _m("FISCALCODELASTCHECKDATE", 1546, "Ultimo controllo CF", "Fiscal code checked"),
    _m("CUSTINFO", 1548, "Info cliente", "Customer info"),
    _m("BUSINESSSECTORID", 1550, "Settore", "Business sector", widget="link"),
    _m("PAYMTERMID", 1552, "Termini di pagamento", "Payment terms", editable=True, widget="link"),
    _m("LEGALEMAIL", 1554, "PEC", "Legal e-mail", editable=True),
    _m("LEGALAUTHORITY", 1556, "Codice SDI", "Legal authority", editable=True),
    _m("BLOCKED", 1558, "Bloccato", "Blocked", widget="check"),
    _m("ADDRESS", 1560, "Indirizzo completo", "Address"),
    _m("STREET", 1562, "Indirizzo", "Street", editable=True),
    _m("LOGISTICSADDRESSZIPCODE", 1564, "CAP", "Zip code", editable=True, widget="link"),
    _m("COUNTRYREGIONID", 1566, "Paese", "Country"),
    _m("CITY", 1568, "Città", "City", editable=True),
    _m("COUNTY", 1570, "Provincia", "County"),
    _m("STATE", 1572, "Regione", "State"),
    _m("PHONE", 1574, "Telefono", "Phone", editable=True),
    _m("CELLULARPHONE", 1576, "Cellulare", "Mobile", editable=True),
    _m("EMAIL", 1578, "E-mail", "E-mail", editable=True),
    _m("URL", 1580, "Sito web", "URL"),
)
#: The "Prezzi e sconti" tab: the LINEDISC combo (a new customer's form shows the default
#: "Discount to get street price"; FACTS §2.15, §6).
LINE_DISCOUNT = Field(
    "LINEDISC",
    f"{TABS_PATH}_xaf_l1600_xaf_l1602",
    ("Sconto linea", "Line discount"),
    widget="combo",
    editable=True,
)
LINE_DISCOUNTS = ("N/A", "Discount to get street price")
#: PRICEGROUP on the same tab (d4-dropdowns.json; `dviPRICEGROUP_Edit_dropdown_DD_I`).
PRICE_GROUP = Field(
    "PRICEGROUP",
    f"{TABS_PATH}_xaf_l1600_xaf_l1604",
    ("Gruppo prezzi", "Price group"),
    widget="combo",
    editable=True,
)
#: Every combo's items as the live form lists them (d4-dropdowns.json): "N/A", an empty item,
#: then the values. Their items take real mouse clicks only (dx.js).
COMBO_ITEMS: dict[str, tuple[str, ...]] = {
    "LINEDISC": LINE_DISCOUNTS,
    "PRICEGROUP": ("N/A", "", "DETTAGLIO (consigliato)"),
    "DLVMODE": (
        "N/A",
        "",
        "Airenterprise",
        "Destinatario",
        "FedEx",
        "General Logistic Systems Spa",
        "Mittente",
        "Mototaxi",
        "Poste Italiane",
        "UPS - International Express Saver",
        "UPS Italia",
    ),
}
#: Lookups chosen through the FindPopup (erpsim.find_popup): the editor shows the choice and
#: posts its key; nothing typed into it is a choice.
FIND_FIELDS = ("LOGISTICSADDRESSZIPCODE", "PAYMTERMID")
FIELDS = {f.name: f for f in (*MAIN, LINE_DISCOUNT, PRICE_GROUP)}
#: Editors whose change or blank leaving runs a server check (FACTS §6: FISCALCODE, SDI).
CHECKED_EDITORS = ("FISCALCODE", "LEGALAUTHORITY")
#: This page's own texts (IT, EN).
TEXTS = {
    "ignore_warnings": ("Ignora avvisi", "Ignore warnings"),
    "merge_text": (
        "L'oggetto è stato modificato da un altro utente. Fondere le modifiche?",
        "The object was changed by another user. Merge the changes?",
    ),
    "merge": ("Fondersi", "Merge"),
    "merge_view": ("Vista", "View"),
    "merge_cancel": ("Annulla", "Cancel"),
    "cannot_edit": (
        "Impossibile modificare l'oggetto: è bloccato o in uso.",
        "The object cannot be edited: it is locked or in use.",
    ),
}
_CHECKED_EDITOR_RE = re.compile(
    r"^Vertical_v\d+_\d+_MainLayoutEdit_.*_xaf_dvi(FISCALCODE|LEGALAUTHORITY)_Edit$"
)
#: Editors the server re-renders while the user types in them (FACTS §6, §11: NAME, STREET).
RERENDERED_EDITORS = ("NAME", "STREET")
_RERENDERED_EDITOR_RE = re.compile(r"^Vertical_v\d+_\d+_MainLayoutEdit_.*_xaf_dvi(NAME|STREET)_Edit$")
TAB_KEYS = (
    "tab_main",
    "tab_delivery_times",
    "tab_crm",
    "tab_other",
    "tab_price_discount",
    "tab_sales_history",
    "tab_packing_history",
    "tab_invoice_history",
    "tab_alt_addresses",
)


def visit_for(mode: Mode) -> Visit:
    layout, grid = VIEW_NUMBERS[mode]
    return Visit.fresh(layout, grid, mode)


def is_vat_editor(control: str) -> bool:
    """Whether a callback's control is the VATNUM editor of a customer form (any visit)."""
    return bool(_VAT_EDITOR_RE.match(control))


def t(key: str, lang: Lang) -> str:
    it, en = TEXTS[key]
    return it if lang == "it" else en


def checked_editor_field(control: str) -> str | None:
    """FISCALCODE or LEGALAUTHORITY when a callback comes from that editor, else None."""
    found = _CHECKED_EDITOR_RE.match(control)
    return found.group(1) if found else None


def rerendered_editor_field(control: str) -> str | None:
    """NAME or STREET when a callback comes from that editor, else None."""
    found = _RERENDERED_EDITOR_RE.match(control)
    return found.group(1) if found else None


def editor_name(visit: Visit, field: str) -> str:
    return f"{visit.layout}_{FIELDS[field].path}_xaf_dvi{field}_Edit"


def rerendered_editor(visit: Visit, field: str, value: str) -> str:
    """NAME / STREET: their first keystrokes make the server re-render the editor (dx.js);
    the new input holds what the server got then, and has lost the focus."""
    f = FIELDS[field]
    name = editor_name(visit, field)
    editor = edit_value(name, Field(f.name, f.path, f.caption), value, value)
    return editor.replace(f'id="{name}_I"', f'id="{name}_I" data-dx-rerender="{name}"', 1)


def check_cell(shown: str) -> str:
    """The inner cells of a view-mode check field (VATVALIEDE)."""
    return f'<tbody><tr><td class="dxeBase">{escape(shown)}</td></tr></tbody>'


def view_id(visit: Visit, field: str) -> str:
    return f"{visit.layout}_{FIELDS[field].path}_xaf_dvi{field}_View"


def vat_editor_name(visit: Visit) -> str:
    return f"{visit.layout}_{FIELDS['VATNUM'].path}_xaf_dviVATNUM_Edit"


def input_id(visit: Visit, field: str) -> str:
    return f"{visit.layout}_{FIELDS[field].path}_xaf_dvi{field}_Edit_I"


def customer_values(customer: Customer | None, lang: Lang = "it") -> dict[str, str]:
    """FIELD -> shown text; a new customer shows empty fields."""
    values = {f: "" for f in FIELDS}
    values["CURRENCY"] = "EUR"
    values["COUNTRYREGIONID"] = "IT"
    values["LINEDISC"] = LINE_DISCOUNTS[1]
    values["DLVMODE"] = values["PRICEGROUP"] = "N/A"
    if customer is None:
        return values
    values.update(
        {
            "VATNUM": customer.vat_number,
            "ACCOUNTNUM": customer.account,
            "ID": fmt_int(customer.id),
            "NAME": customer.name,
            "NAMEALIAS": customer.name_alias,
            "FISCALCODE": customer.fiscal_code,
            "LEGALEMAIL": customer.email,
            "LEGALAUTHORITY": customer.sdi,
            "ADDRESS": f"{customer.street}, {customer.zip_code} {customer.city}",
            "STREET": customer.street,
            "LOGISTICSADDRESSZIPCODE": customer.zip_code,
            "CITY": customer.city,
            "PHONE": customer.phone,
            "CELLULARPHONE": customer.mobile,
            "EMAIL": customer.contact_email,
            "VATLASTCHECKEDDATE": customer.vat_checked,
            "VATVALIEDE": ("Sì" if customer.vat_valid else "No") if customer.vat_checked else "",
            "VATADDRESS": customer.vat_address,
            "LINEDISC": customer.line_discount,
            "DLVMODE": customer.delivery_mode,
            "PRICEGROUP": customer.price_group,
            "PAYMTERMID": customer.payment_terms,
            "COUNTY": customer.county,
            "STATE": customer.state,
            "BLOCKED": _shown(BLOCKED_LABELS, customer.blocked, lang),
        }
    )
    return values


def _shown(keys: dict[str, str], value: str, lang: Lang) -> str:
    """A value the simulator keeps in Italian, as the page shows it in `lang`."""
    return text(keys[value], lang) if value in keys else value


def _main_tab(visit: Visit, customer: Customer | None, values: dict[str, str], lang: Lang) -> str:
    editing = visit.mode == "Edit"
    items = []
    for f in MAIN:
        caption = f.caption[0] if lang == "it" else f.caption[1]
        shown = values[f.name]
        editable = editing and f.editable and not (f.name == "VATNUM" and customer is not None)
        if not editable:
            ident = f"{visit.layout}_{f.path}_xaf_dvi{f.name}_View"
            raw = str(customer.id) if f.name == "ID" and customer else shown
            view_field = Field(
                f.name, f.path, f.caption, "int" if f.name == "ID" else "text", f.widget
            )
            items.append(layout_item(caption, view_value(ident, view_field, raw, shown)))
            continue
        if f.name in COMBO_ITEMS:
            items.append(layout_item(caption, combo_editor(visit, f.name, shown)))
            continue
        if f.name in FIND_FIELDS:
            items.append(layout_item(caption, find_editor(visit, f.name, shown, values)))
            continue
        editor = edit_value(
            visit.field(f.path, f.name), Field(f.name, f.path, f.caption), shown, shown
        )
        if f.name == "VATNUM":
            editor = _vat_editor(visit, editor, shown, lang)
        if f.name in CHECKED_EDITORS:
            editor = _checked_editor(visit, f.name, editor)
        if f.name in RERENDERED_EDITORS:
            name = editor_name(visit, f.name)
            editor = (
                f'<div id="{name}_RR" data-dx-control="{name}" data-dx-state="{{}}">'
                f"{rerendered_editor(visit, f.name, shown)}</div>"
            )
        items.append(layout_item(caption, editor))
    return "".join(items)


def _checked_editor(visit: Visit, field: str, editor: str) -> str:
    """FISCALCODE / SDI: a change, or leaving them blank, runs a server callback (dx.js)."""
    name = f"{visit.layout}_{FIELDS[field].path}_xaf_dvi{field}_Edit"
    tagged = editor.replace(f'id="{name}_I"', f'id="{name}_I" data-dx-custcheck="{name}"', 1)
    return f'<div data-dx-control="{name}" data-dx-state="{{}}">{tagged}</div>'


def _price_tab(visit: Visit, values: dict[str, str], lang: Lang) -> str:
    """LINEDISC and PRICEGROUP: in edit mode combos whose items take real clicks only (dx.js)."""
    items = []
    for f in (LINE_DISCOUNT, PRICE_GROUP):
        caption = f.caption[0] if lang == "it" else f.caption[1]
        shown = values[f.name]
        if visit.mode != "Edit":
            view = f'<span id="{view_id(visit, f.name)}">{escape(shown)}</span>'
            items.append(layout_item(caption, view))
        else:
            items.append(layout_item(caption, combo_editor(visit, f.name, shown)))
    return "".join(items)


def combo_name(visit: Visit, field: str) -> str:
    return f"{visit.layout}_{FIELDS[field].path}_xaf_dvi{field}_Edit_dropdown_DD"


def combo_editor(visit: Visit, field: str, shown: str) -> str:
    """A combo (`…_xaf_dvi{FIELD}_Edit_dropdown_DD`): its drop-down button `_B-1`, its items in
    `_DDD_PW`; the form posts its input `_I`. Items take real mouse clicks only (dx.js)."""
    dd = combo_name(visit, field)
    items = "".join(
        f'<tr><td id="{dd}_DDD_L_LBI{n}T0" class="dxeListBoxItem_XafTheme" '
        f'data-dx-cust-combo="{dd}" data-dx-cust-item="{escape(item)}">'
        f"{escape(item) or '&nbsp;'}</td></tr>"
        for n, item in enumerate(COMBO_ITEMS[field])
    )
    return (
        f'<div data-dx-control="{dd}" data-dx-state="{{}}">'
        f'<table id="{dd}" class="dxeButtonEditSys dxeButtonEdit_XafTheme"><tbody><tr>'
        f'<td class="dxic"><input id="{dd}_I" name="{dd}_I" class="dxeEditArea_XafTheme" '
        f'type="text" readonly value="{escape(shown)}" autocomplete="off"></td>'
        f'<td id="{dd}_B-1" class="dxeButton dxeButtonEditButton_XafTheme" '
        f'data-dx-cust-combo-button="{dd}"><img id="{dd}_B-1Img" alt="v"></td></tr></tbody></table>'
        f'<div id="{dd}_DDD_PW" class="dxpcDropDown_XafTheme" style="display:none">'
        f'<table id="{dd}_DDD_L" class="dxeListBox_XafTheme"><tbody>{items}</tbody></table>'
        "</div></div>"
    )


def find_name(visit: Visit, field: str) -> str:
    """The lookup editor ``…_xaf_dvi{FIELD}_Edit_find_Edit`` (its input ``_I``, button ``_B0``)."""
    return f"{editor_name(visit, field)}_find_Edit"


def find_editor(visit: Visit, field: str, shown: str, values: dict[str, str]) -> str:
    """A FindPopup lookup: a read-only text showing the choice, the chosen key posted in
    ``_VI``, the button ``_B0`` that opens the popup (a callback; FACTS §6)."""
    ed = find_name(visit, field)
    key = values.get(f"{field}#key", shown)
    return (
        f'<div data-dx-control="{ed}" data-dx-state="{{}}">'
        f'<table id="{ed}" class="dxeButtonEditSys dxeButtonEdit_XafTheme"><tbody><tr>'
        f'<td class="dxic"><input id="{ed}_I" class="dxeEditArea_XafTheme" type="text" readonly '
        f'value="{escape(shown)}" autocomplete="off"></td>'
        f'<td id="{ed}_B0" class="dxeButton dxeButtonEditButton_XafTheme" '
        f'data-dx-find-button="{ed}"><img id="{ed}_B0Img" alt="..."></td></tr></tbody></table>'
        f'<input type="hidden" id="{ed}_VI" name="{ed}_VI" value="{escape(key)}"></div>'
    )


def find_key_input(visit: Visit, field: str) -> str:
    return f"{find_name(visit, field)}_VI"


def find_text_input(visit: Visit, field: str) -> str:
    return f"{find_name(visit, field)}_I"


_FIND_EDITOR_RE = re.compile(
    r"^Vertical_v\d+_\d+_MainLayoutEdit_.*_xaf_dvi(LOGISTICSADDRESSZIPCODE|PAYMTERMID)_Edit_find_Edit$"
)


def find_editor_field(control: str) -> str | None:
    """LOGISTICSADDRESSZIPCODE or PAYMTERMID when a callback comes from that lookup's editor."""
    found = _FIND_EDITOR_RE.match(control)
    return found.group(1) if found else None


def save_extras(
    lang: Lang, *, warnings: bool, conflict_view: str = "", original: dict[str, str] | None = None
) -> str:
    """Above the form: the ignore-warnings box, the merge popup, the values the page showed."""
    parts = []
    if warnings:
        parts.append(
            '<div id="Vertical_ErrorInfo_Ch" class="dxichCellSys">'
            '<input type="checkbox" id="Vertical_ErrorInfo_Ch_S" name="Vertical$ErrorInfo$Ch" '
            f'value="C"><label for="Vertical_ErrorInfo_Ch_S">{escape(t("ignore_warnings", lang))}'
            "</label></div>"
        )
    if conflict_view:
        parts.append(
            '<div id="Vertical_PopupWindowMerge" class="dxpcLite_XafTheme" data-dx-merge-popup="1">'
            f'<div class="dxpc-content">{escape(t("merge_text", lang))}</div>'
            f'<a id="Vertical_PopupWindowMerge_Merge" class="dxbButton_XafTheme" href="#" '
            f'data-dx-merge="1">{escape(t("merge", lang))}</a> '
            f'<a id="Vertical_PopupWindowMerge_View" class="dxbButton_XafTheme" '
            f'href="{escape(conflict_view)}">{escape(t("merge_view", lang))}</a> '
            f'<a id="Vertical_PopupWindowMerge_Cancel" class="dxbButton_XafTheme" href="#" '
            f'data-dx-merge-cancel="1">{escape(t("merge_cancel", lang))}</a></div>'
        )
    if original is not None:
        parts.append(
            f'<input type="hidden" name="{ORIGINAL_INPUT}" value="{escape(json.dumps(original))}">'
        )
    return "".join(parts)


def _vat_editor(visit: Visit, editor: str, value: str, lang: Lang) -> str:
    """The VATNUM editor of a new customer: leaving it runs the server's VAT check callback."""
    ed = vat_editor_name(visit)
    tagged = editor.replace(
        f'id="{ed}_I"', f'id="{ed}_I" data-dx-vatcheck="{ed}" data-dx-checked="{value}"', 1
    )
    return (
        f'<div data-dx-control="{ed}" data-dx-role="vat" data-dx-state="{{}}">{tagged}'
        f'<div id="{ed}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" style="display:none">'
        f"{text('vat_checking', lang)}</div></div>"
    )


def detail_body(
    visit: Visit,
    customer: Customer | None,
    values: dict[str, str],
    lang: Lang,
    extras: str = "",
) -> str:
    """The form: `values` (FIELD -> text) win over the customer's own values; `extras` above it."""
    shown = customer_values(customer, lang)
    shown.update({k: v for k, v in values.items() if k in shown or k.endswith("#key")})
    pages = [_main_tab(visit, customer, shown, lang)] + [""] * (len(TAB_KEYS) - 1)
    pages[TAB_KEYS.index("tab_price_discount")] = _price_tab(visit, shown, lang)
    pages[TAB_KEYS.index("tab_alt_addresses")] = _alt_addresses_tab(visit)
    host = find_popup.host() if visit.mode == "Edit" else ""
    body = (
        extras
        + host
        + f'<div id="{visit.layout}" class="Layout">'
        + tabs(f"{visit.layout}_{TABS_PATH}", [text(k, lang) for k in TAB_KEYS], pages)
        + "</div>"
    )
    weight = html_weight.DEFAULT_CUSTOMER_ELEMENTS
    return body + html_weight.ballast(visit.layout, weight, html_weight.element_count(body))


# -- the "Indirizzo alt." tab (FACTS §13) ----------------------------------------------------
#: BLOCKED values (kept in Italian) and their label keys.
BLOCKED_LABELS = {"No": "blocked_no", "Fattura:": "blocked_invoice", "Completo": "blocked_all"}
#: Alternative address TYPE values (kept in Italian) and their label keys.
ADDRESS_TYPE_LABELS = {"Consegna": "address_delivery", "Fattura": "address_invoice"}
#: The tab's panel: the live page renders its content late, after the tab is shown (BOT
#: waits up to 12 s for the grid); here a callback the tab's first showing sends fills it.
ALT_ADDRESSES_PANEL = f"{TABS_PATH}_xaf_l477"
#: The ADDRESSes grid's view number (``…_xaf_dviADDRESSes_v7_{rand}_LE_v7`` on the live page).
ADDRESS_GRID_VIEW = 7
#: How much later than its callback's own latency the panel's grid arrives (scaled by the
#: faults' speed): enough that a bot reading right after the tab click finds no grid yet.
ALT_ADDRESSES_RENDER_MS = 300.0
#: The grid's columns: the nine of the live grid (TIPO, NOME, VIA, CAP, CITTÀ, CONTEA, STATO,
#: ID REGIONE, CONTRA) and the record id, hidden (read with GetPageRowValues).
ADDRESS_COLUMNS: tuple[ColumnSpec, ...] = (
    ("ID", False, -1),
    ("TYPE", True, 0),
    ("NAME", True, 1),
    ("STREET", True, 2),
    ("LOGISTICSADDRESSZIPCODE.ZIPCODE", True, 3),
    ("CITY", True, 4),
    ("COUNTY", True, 5),
    ("STATE", True, 6),
    ("COUNTRYREGIONID", True, 7),
    ("DISTRICTNAME", True, 8),
)
ADDRESS_PAGE_SIZE = 20
_PANEL_RE = re.compile(rf"^Vertical_v\d+_\d+_MainLayout(View|Edit)_{ALT_ADDRESSES_PANEL}$")
_ADDRESS_GRID_RE = re.compile(
    rf"^Vertical_v\d+_\d+_MainLayout(View|Edit)_{ALT_ADDRESSES_PANEL}"
    r"_xaf_dviADDRESSes_v\d+_\d+_LE_v\d+$"
)


def is_alt_addresses_panel(control: str) -> bool:
    """Whether a callback's control is the "Indirizzo alt." panel (any visit)."""
    return bool(_PANEL_RE.match(control))


def is_address_grid(control: str) -> bool:
    """Whether a callback's control is the ADDRESSes grid (any visit)."""
    return bool(_ADDRESS_GRID_RE.match(control))


def _alt_addresses_tab(visit: Visit) -> str:
    """The panel, empty until its callback answers, and its loading panel."""
    panel = f"{visit.layout}_{ALT_ADDRESSES_PANEL}"
    return (
        f'<div id="{panel}" class="XafUpdatePanel" data-dx-control="{panel}" data-dx-state="{{}}" '
        'data-dx-lazy="LOAD"></div>'
        f'<div id="{panel}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" '
        'style="display:none"><span class="dxlp-text">Loading…</span></div>'
    )


def address_grid_name(panel: str) -> str:
    """A fresh ADDRESSes grid inside `panel` (its number changes on every rendering)."""
    m = ADDRESS_GRID_VIEW
    return f"{panel}_xaf_dviADDRESSes_v{m}_{new_rand()}_LE_v{m}"


def _address_cells(address: AltAddress, lang: Lang = "it") -> tuple[str, ...]:
    return (
        _shown(ADDRESS_TYPE_LABELS, address.kind, lang),
        address.name,
        address.street,
        address.zip_code,
        address.city,
        address.county,
        address.state,
        address.country,
        address.district,
    )


def _address_page(customer: Customer | None, page_index: int) -> tuple[list[AltAddress], GridPage]:
    """The addresses on page `page_index` (clamped), and that page of the grid."""
    addresses = customer.addresses if customer is not None else []
    shown, index = paginate(addresses, page_index, ADDRESS_PAGE_SIZE)
    rows = tuple(GridRow(str(a.id), _address_cells(a)) for a in shown)
    return shown, GridPage(rows, len(addresses), index, ADDRESS_PAGE_SIZE, "")


def address_grid_inner(name: str, customer: Customer | None, lang: Lang, page_index: int) -> str:
    """The swappable part of the ADDRESSes grid showing page `page_index`."""
    shown, page = _address_page(customer, page_index)
    rows = tuple(GridRow(str(a.id), _address_cells(a, lang)) for a in shown)
    fields = tuple(f for f, visible, _ in ADDRESS_COLUMNS if visible)
    return grid_inner(
        name,
        fields,
        GridPage(rows, page.total, page.page_index, page.page_size, ""),
        system_cells=False,
        pager=page.page_count > 1,
        empty_text=text("empty_grid", lang),
    )


def address_grid_state(customer: Customer | None, page_index: int) -> dict[str, object]:
    """The grid's client state: columns as GetColumn(i) answers, page and row counts."""
    return _address_page(customer, page_index)[1].state(ADDRESS_COLUMNS)


def address_grid(name: str, customer: Customer | None, lang: Lang) -> str:
    """The whole ADDRESSes grid (first page), as the panel's callback renders it."""
    inner = address_grid_inner(name, customer, lang, 0)
    return grid_control(name, inner, address_grid_state(customer, 0))


def address_row_values(
    customer: Customer | None, fields: list[str], page_index: int
) -> list[list[str]]:
    """GetPageRowValues of the ADDRESSes grid: invariant values of `fields` per row."""
    out = []
    for address in _address_page(customer, page_index)[0]:
        values = dict(zip((f for f, _, _ in ADDRESS_COLUMNS), _raw_cells(address), strict=True))
        out.append([values.get(f, "") for f in fields])
    return out


def _raw_cells(address: AltAddress) -> tuple[str, ...]:
    """The record's values in ADDRESS_COLUMNS order (TYPE as kept, not translated)."""
    return (str(address.id), *_address_cells(address, "it"))
