"""The FindPopup of the customer form's lookups: the CAP and the payment terms (FACTS §6, §13).

On the live form LOGISTICSADDRESSZIPCODE and PAYMTERMID are lookups: their button
``…_find_Edit_B0`` opens an iframe ``Default.aspx?FindPopup=true&ActionID=N`` holding a search
box ``FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_I``, its search button ``…_Ed_B1`` ("Filtrare i record
in base al testo"; there is no ``_Ed_B0``), a grid ``FindDialog_v{N}_{rand}_LE_v{N}`` (20 for the
CAP, 19 for the payment terms), OK ``FindDialog_PopupActions_Menu_DXI0_T`` and Annulla
``…_DXI1_T`` (``d2-cap-lookup.json``, ``d3-paymtermid-lookup.json``). A row is picked by a click
(a script click works there), OK writes the choice into the form: the CAP also fills CITY,
COUNTY, STATE and COUNTRYREGIONID. The form posts the chosen key (``…_find_Edit_VI``); text
typed into the editor is not a choice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from erpsim.culture import Lang
from erpsim.detail_ids import new_rand

SEARCH_INPUT = "FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_I"
SEARCH_BUTTON = "FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_B1"
OK_BUTTON = "FindDialog_PopupActions_Menu_DXI0_T"
CANCEL_BUTTON = "FindDialog_PopupActions_Menu_DXI1_T"
#: The customer page's popup window holding the iframe.
POPUP_WINDOW = "Vertical_FindPopup_PW"
POPUP_CONTENT = "Vertical_FindPopup_CC"
POPUP_IFRAME = "Vertical_FindPopup_CIF-1"
PAGE = "FindPopup"
#: The view number of each lookup's grid, as on the live pages.
GRID_VIEWS = {"LOGISTICSADDRESSZIPCODE": 20, "PAYMTERMID": 19}
#: How many rows a search shows at most (the bot searches; it never pages this grid).
MAX_ROWS = 20
_TEXTS = {
    "search_title": ("Filtrare i record in base al testo", "Filter records by text"),
    "ok_title": ("OK\nRichiede la selezione di un unico oggetto", "OK\nRequires a single object"),
    "cancel": ("Annulla", "Cancel"),
    "empty": ("No data to display", "No data to display"),
    "title_zip": ("Trova CAP", "Find ZIP code"),
    "title_terms": ("Trova termini di pagamento", "Find payment terms"),
}


@dataclass(frozen=True)
class ZipCode:
    """One row of the ERP's CAP table (LOGISTICSADDRESSZIPCODE)."""

    zip_code: str
    city: str
    state: str
    county: str
    country: str = "IT"


@dataclass(frozen=True)
class PaymentTerm:
    """One row of the ERP's payment terms (PAYMTERMID): searched by code."""

    code: str
    description: str


#: Italian CAPs (public postal codes), each city's province and region. A CAP may have more
#: than one row (several places share it), as on the live table. 00100 is not a CAP there
#: (d2-cap-lookup.json: "No data to display").
ZIP_CODES: tuple[ZipCode, ...] = (
    ZipCode("37121", "Verona", "Veneto", "VR"),
    ZipCode("37100", "Verona", "Veneto", "VR"),
    ZipCode("20121", "Milano", "Lombardia", "MI"),
    ZipCode("00184", "Roma", "Lazio", "RM"),
    ZipCode("80133", "Napoli", "Campania", "NA"),
    ZipCode("80038", "Pomigliano d'Arco", "Campania", "NA"),
    ZipCode("10121", "Torino", "Piemonte", "TO"),
    ZipCode("40121", "Bologna", "Emilia-Romagna", "BO"),
    ZipCode("50122", "Firenze", "Toscana", "FI"),
    ZipCode("35122", "Padova", "Veneto", "PD"),
    ZipCode("35121", "Padova", "Veneto", "PD"),
    ZipCode("35100", "Padova", "Veneto", "PD"),
    ZipCode("25121", "Brescia", "Lombardia", "BS"),
    ZipCode("70121", "Bari", "Puglia", "BA"),
    ZipCode("90133", "Palermo", "Sicilia", "PA"),
    ZipCode("36100", "Vicenza", "Veneto", "VI"),
    ZipCode("38122", "Trento", "Trentino-Alto Adige", "TN"),
    ZipCode("24121", "Bergamo", "Lombardia", "BG"),
    ZipCode("41121", "Modena", "Emilia-Romagna", "MO"),
    ZipCode("43121", "Parma", "Emilia-Romagna", "PR"),
    ZipCode("16121", "Genova", "Liguria", "GE"),
    ZipCode("31100", "Treviso", "Veneto", "TV"),
    ZipCode("56125", "Pisa", "Toscana", "PI"),
    ZipCode("37012", "Bussolengo", "Veneto", "VR"),
    ZipCode("37010", "Affi", "Veneto", "VR"),
    ZipCode("37010", "Brenzone sul Garda", "Veneto", "VR"),
    ZipCode("37010", "Cavaion Veronese", "Veneto", "VR"),
)
#: Payment terms by code (descriptions invented in the live table's style).
PAYMENT_TERMS: tuple[PaymentTerm, ...] = (
    PaymentTerm("001", "001 RIMESSA DIRETTA"),
    PaymentTerm("101", "101 RI.BA. 30 GG. D.F.F.M."),
    PaymentTerm("102", "102 RI.BA. 60 GG. D.F.F.M."),
    PaymentTerm("201", "201 BONIF. BANC. 60 GG. D.F.F.M."),
    PaymentTerm("206", "206 BONIF. BANC. 30 GG. D.F.F.M."),
    PaymentTerm("301", "301 CONTRASSEGNO"),
)
_ZIP_HEADERS = ("CAP", "CITTÀ", "STATO", "CONTEA", "ID REGIONE")
_TERMS_HEADERS = ("ID TERMINE DI PAGAMENTO", "DESCRIZIONE")


def zip_rows(zip_code: str) -> list[ZipCode]:
    """The table's rows of this CAP."""
    return [z for z in ZIP_CODES if z.zip_code == zip_code.strip()]


def payment_term(code: str) -> PaymentTerm | None:
    return next((p for p in PAYMENT_TERMS if p.code == code.strip()), None)


def zip_key(row: ZipCode) -> str:
    """The key the form posts for a CAP row: the CAP and its place (one CAP, several places)."""
    return f"{row.zip_code}|{row.city}"


def zip_of_key(key: str) -> ZipCode | None:
    code, _, city = key.partition("|")
    rows = zip_rows(code)
    return next((z for z in rows if z.city == city), rows[0] if rows and not city else None)


def t(key: str, lang: Lang) -> str:
    it, en = _TEXTS[key]
    return it if lang == "it" else en


def search(field: str, text: str) -> list[tuple[str, str, tuple[str, ...], dict[str, str]]]:
    """Rows matching `text`: (key, shown text, cells, FIELD -> text the pick writes)."""
    needle = text.strip().lower()
    if not needle:
        return []
    out: list[tuple[str, str, tuple[str, ...], dict[str, str]]] = []
    if field == "LOGISTICSADDRESSZIPCODE":
        for z in ZIP_CODES:
            if z.zip_code.startswith(needle) or needle in z.city.lower():
                fill = {"CITY": z.city, "COUNTY": z.county, "STATE": z.state,
                        "COUNTRYREGIONID": z.country}
                out.append((zip_key(z), z.zip_code,
                            (z.zip_code, z.city, z.state, z.county, z.country), fill))
    else:
        for p in PAYMENT_TERMS:
            if p.code.startswith(needle) or needle in p.description.lower():
                out.append((p.code, p.code, (p.code, p.description), {}))
    return out[:MAX_ROWS]


def grid_name(field: str) -> str:
    n = GRID_VIEWS[field]
    return f"FindDialog_v{n}_{new_rand()}_LE_v{n}"


def grid_rows(grid: str, field: str, text: str, lang: Lang) -> str:
    """The grid's table for a search (``No data to display`` when nothing matches)."""
    headers = _ZIP_HEADERS if field == "LOGISTICSADDRESSZIPCODE" else _TERMS_HEADERS
    head = "".join(f'<td class="dxgvHeader_XafTheme">{escape(h)}</td>' for h in headers)
    rows = search(field, text)
    if not rows:
        body = (
            f'<tr id="{grid}_DXEmptyRow" class="dxgvEmptyDataRow_XafTheme">'
            f'<td colspan="{len(headers)}">{escape(t("empty", lang))}</td></tr>'
        )
    else:
        body = "".join(
            f'<tr id="{grid}_DXDataRow{n}" class="dxgvDataRow_XafTheme" data-dx-find-row="1" '
            f'data-key="{escape(key)}" data-shown="{escape(shown)}" '
            f"data-fill='{escape(json.dumps(fill), quote=True)}'>"
            + "".join(f'<td class="dxgv">{escape(c)}</td>' for c in cells)
            + "</tr>"
            for n, (key, shown, cells, fill) in enumerate(rows)
        )
    return (
        f'<table id="{grid}_DXMainTable" class="dxgvTable_XafTheme"><tbody>'
        f'<tr id="{grid}_DXHeadersRow0">{head}</tr>{body}</tbody></table>'
    )


def popup_body(field: str, action: str, lang: Lang) -> str:
    """The iframe page's content: the search box, its grid (empty until searched), OK/Annulla."""
    grid = grid_name(field)
    return (
        f'<div id="FindDialog" class="FindDialog" data-dx-find-action="{escape(action)}" '
        f'data-dx-find-field="{field}">'
        f'<table id="FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed" class="dxeButtonEditSys"><tbody><tr>'
        f'<td class="dxic"><input id="{SEARCH_INPUT}" name="FindDialog$SAC$Ed" type="text" '
        'class="dxeEditArea_XafTheme" autocomplete="off" value=""></td>'
        f'<td id="{SEARCH_BUTTON}" class="dxeButton" title="{escape(t("search_title", lang))}" '
        f'data-dx-find-search="{grid}"><img id="{SEARCH_BUTTON}Img" alt="" title=""></td>'
        "</tr></tbody></table>"
        f'<div id="{grid}" class="dxgvControl_XafTheme" data-dx-control="{grid}" '
        f'data-dx-state="{{}}"><div id="{grid}_CC">{grid_rows(grid, field, "", lang)}</div></div>'
        f'<div id="{grid}_LPV" class="dxlpLoadingPanel_XafTheme dxlpLoadingPanel" '
        'style="display:none">Loading…</div>'
        '<div id="FindDialog_PopupActions_Menu" class="dxmLite_XafTheme"><ul>'
        f'<li class="dxm-item"><a id="{OK_BUTTON}" class="dxm-content" href="#" '
        f'title="{escape(t("ok_title", lang))}" data-dx-find-ok="1">OK</a></li>'
        f'<li class="dxm-item"><a id="{CANCEL_BUTTON}" class="dxm-content" href="#" '
        f'title="{escape(t("cancel", lang))}" data-dx-find-cancel="1">'
        f"{escape(t('cancel', lang))}</a></li></ul></div></div>"
    )


def page_html(field: str, action: str, lang: Lang, hidden: str, head: str) -> str:
    """The whole iframe page (no menu, no header: a popup)."""
    title = t("title_zip" if field == "LOGISTICSADDRESSZIPCODE" else "title_terms", lang)
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{escape(title)}</title></head>"
        f'<body class="Dialog"><form id="form1" method="post" action="">{hidden}'
        f"{popup_body(field, action, lang)}</form></body></html>"
    )


def host() -> str:
    """The customer edit page's popup window; the iframe is put in it when a lookup opens."""
    return (
        f'<div id="{POPUP_WINDOW}" class="dxpcLite_XafTheme" style="display:none">'
        f'<div id="{POPUP_CONTENT}"></div></div>'
    )


def iframe(src: str) -> str:
    """The popup window's iframe showing the FindPopup page at `src`."""
    return (
        f'<iframe id="{POPUP_IFRAME}" name="{POPUP_IFRAME}" src="{escape(src)}" '
        'style="width:720px;height:420px;border:0"></iframe>'
    )
