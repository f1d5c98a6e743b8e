"""Every URL, id and selector the page objects use: the only part to change for a new ERP build."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

#: Login.aspx under the live ERP's base path /Archibald/ (login_url builds it for any base).
LOGIN_PAGE = "Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
DEFAULT_PAGE = "Default.aspx"


def login_url(erp_url: str) -> str:
    """Login.aspx under the ERP's base URL, its ReturnUrl that base's Default.aspx as IIS
    writes it (lower-case escapes: ``?ReturnUrl=%2fArchibald%2fDefault.aspx``)."""
    back = urlsplit(urljoin(erp_url, DEFAULT_PAGE)).path
    return urljoin(erp_url, "Login.aspx?ReturnUrl=" + quote(back, safe="").replace("%2F", "%2f"))
ORDERS_LIST = "SALESTABLE_ListView_Agent/"
CUSTOMERS_LIST = "CUSTTABLE_ListView_Agent/"
PRODUCTS_LIST = "INVENTTABLE_ListView/"
NEW_ORDER = "SALESTABLE_DetailViewAgent/?NewObject=true"
ORDER_URL_PATTERN = r"/SALESTABLE_DetailViewAgent/(\d+)/"
NEW_CUSTOMER = "CUSTTABLE_DetailView/?NewObject=true"
CUSTOMER_URL_PATTERN = r"/CUSTTABLE_DetailView/(\d+)/"


def order_view_url(order_id: str) -> str:
    """The detail view of a saved order in view mode (relative to the ERP base URL)."""
    return f"SALESTABLE_DetailViewAgent/{order_id}/?mode=View"


def customer_view_url(customer_id: str) -> str:
    """A customer's detail view in view mode (FACTS §7: View first, then "Modifica")."""
    return f"CUSTTABLE_DetailView/{customer_id}/"


# Login.aspx (FACTS §1). Editor ids embed a per-visit random number: match by suffix, never by id.
USER_INPUT = 'input[id*="dviUserName_Edit_I"]'
PASSWORD_INPUT = 'input[id*="dviPassword_Edit_I"]'
#: The login action is a DevExpress menu item (no <button> on the page).
LOGIN_BUTTON = "#Logon_PopupActions_Menu_DXI0_T"
#: Texts the login action shows, lower-case: Italian contains "accedi", English is "log in".
LOGIN_BUTTON_CONTAINS = ("accedi",)
LOGIN_BUTTON_EQUALS = ("log in", "login")
LOGIN_ERROR = ".dxeErrorCell, .ErrorMessage"

# Lists. Grids and controls are found through the DevExpress control collection by the
# stable part of their name: the number in the middle changes on every visit (FACTS §0).
LIST_GRID_PATTERN = r"^Vertical_v\d+_\d+_LE_v\d+$"
#: The grid suffix of each list view (FACTS §8).
LIST_SUFFIXES = {ORDERS_LIST: "_LE_v3", CUSTOMERS_LIST: "_LE_v2", PRODUCTS_LIST: "_LE_v4"}
FILTER_COMBO_PATTERN = r"^Vertical_mainMenu_Menu_ITCNT\d+_xaf_a\d+_Cb$"
#: How the "show everything" item of a list filter is recognised (value suffix or text).
FILTER_ALL_VALUES: tuple[str, ...] = ("OrdersAll", "All_Customers")
FILTER_ALL_TEXTS: tuple[str, ...] = (
    "all orders", "tutti gli ordini", "all customers", "tutti i clienti"
)
SEARCH_INPUT = 'input[id*="SearchAC"][id*="Ed_I"]'
#: The orders list column holding our marker (AB-<op id>), lowercase field name.
ORDER_MARKER_COLUMN = "purchorderformnum"
#: Customers list columns (lowercase field names) of each CustomerSnapshot attribute.
CUSTOMER_LIST_COLUMNS = {
    "vat_number": "vatnum",
    "name": "name",
    "email": "legalemail",
    "phone": "phone",
    "street": "street",
    "zip": "logisticsaddresszipcode.zipcode",
    "city": "city",
    "fiscal_code": "fiscalcode",
}
DATA_ROW = "tr.dxgvDataRow_XafTheme"
#: List columns (lowercase field names) holding numbers or dates, which the browser formats
#: in its own culture (FACTS §8): parsed back to plain values when read.
NUMBER_FIELDS = frozenset({
    "grossamount", "amounttotal", "manualdiscount", "ordercountact", "salesact",
    "ordercountprev", "salesprev", "ordercountprev2", "salesprev2", "priceunit", "lowestqty",
    "multipleqty", "highestqty", "purchpricepcs", "standardqty", "defaultsalesqty",
})
DATE_FIELDS = frozenset({
    "createddatetime", "deliverydate", "transferreddate", "completeddate", "lastorderdate",
    "modifieddatetime",
})
EDIT_ROW_LINK = 'a[data-args*="Edit"]'
SELECT_CHECK = "input.dxgvSelectCheck"
TOOLBAR_LINKS = 'a[id^="Vertical_mainMenu_Menu_DXI"][id$="_T"]'
#: Toolbar texts in both cultures (labels follow Accept-Language).
DELETE_TOOL = ("Cancellare", "Elimina", "Delete")
SEND_TOOL = ("Invia ordine/i", "Send Order(s)")
DISABLED_TOOL = "dxm-disabled"
#: The XAF error panel: validation banners and failed callbacks.
ERROR_PANEL = "#Vertical_ErrorInfo"
ERROR_TEXT = '[id*="ErrorInfo"] .ErrorMessage, [id*="ErrorInfo"].ErrorMessage'
#: Error texts that mean the server failed (not a business rejection).
SERVER_FAILURE_TEXTS = ("Server Error in", "TypeError", "Failed to fetch", "NetworkError")

# Order detail: controls are found through the client control collection by name and role
# (FACTS §2.3), never by a fixed id; every id below is built from a control's client name.
#: The SALESLINEs grid: its name contains this and it has AddNewRow.
LINES_GRID_NAME = "dviSALESLINEs"
#: The customer lookup editor's name ends with this (FACTS §2.4).
CUSTOMER_LOOKUP_SUFFIX = "dviCUSTTABLE_Edit"
#: The order's delivery-address lookup (FACTS §2.17: `[id$="DELIVERYPOSTALADDRESS_Edit_I"]`,
#: opened by a real click on `_B-1`, searched by street) and the address it shows after.
DELIVERY_ADDRESS_LOOKUP_SUFFIX = "dviDELIVERYPOSTALADDRESS_Edit"
DELIVERY_ADDRESS_TEXT = '[id$="_xaf_dviDLVADDRESS_View"]'
#: How much of the street DLVADDRESS must show to confirm the pick (the production bot's 15).
DELIVERY_STREET_CHARS = 15
OVERVIEW_TAB_TEXTS = ("Panoramica", "Overview")
#: The article editor of an editing row: its name ends with this (FACTS §2.7).
ARTICLE_EDITOR_SUFFIX = "xaf_dviINVENTTABLE_Edit"
NEW_LINE_TAG = "editnew"
ADD_LINE = 'a[data-args*="AddNew"]'
UPDATE_LINE = 'a[data-args*="UpdateEdit"]'
LINE_START_EDIT = 'a[data-args*="StartEdit"]'
LINE_DELETE = 'a[data-args*="DeleteRow"]'
EDITING_ROW = 'tr[id*="DXEditingRow"]'
NEW_LINE_ROW = 'tr[id*="editnew"]'
QUANTITY_INPUT = 'input[id$="_xaf_dviQTYORDERED_Edit_I"]'
LINE_DISCOUNT_INPUT = 'input[id$="_xaf_dviMANUALDISCOUNT_Edit_I"]'
LINE_ERROR = 'tr[id$="_DXEditingErrorRow"]'
#: Column field names (lowercase, as grid.read_grid keys rows) of the SALESLINEs grid (dump
#: embeddedGrids); ITEMID, the package variant, is a hidden column.
LINE_ARTICLE = "inventtable.name"
LINE_QUANTITY = "qtyordered"
LINE_DISCOUNT = "manualdiscount"
#: LINEPERCENT ("SCONTO %"): the discount the order's LINEDISC gives each new line (the
#: customer's default, 20 % for "Discount to get street price"; FACTS §2.15, §11).
LINE_DEFAULT_DISCOUNT = "linepercent"
LINE_VARIANT = "ITEMID"
#: The order's LINEDISC ("Sconto linea", tab "Prezzi e sconti"): its Clear button (BOT:6767-6920).
LINEDISC_CLEAR = 'td[id*="xaf_dviLINEDISC_Edit"][id$="_B1"]'
#: Columns of the article drop-down (one row per package variant).
ARTICLE_NAME = "name"
ARTICLE_VARIANT = "itemid"
ARTICLE_PACKAGE = "braspackageqty"
CALLBACK_ERROR = ERROR_TEXT
VALIDATION_BANNER = '[id*="ErrorInfo"]'
TOOLBAR_ITEM_LINKS = 'a[id^="Vertical_mainMenu_Menu_DXI"][id$="_T"]'
#: Toolbar texts in Italian and English (FACTS §0: match both everywhere).
SAVE_TEXTS = ("Salvare", "Save")
SAVE_AND_CLOSE_TEXTS = ("Salva e chiudi", "Save and Close")
EDIT_TEXTS = ("Modifica", "Edit")
PRICE_DISCOUNT_TAB_TEXTS = ("Prezzi e sconti", "Price Discount")
#: TRANSFERSTATUS of an order not yet sent to Verona, in both languages (FACTS §5).
ORDER_EDITABLE_STATUSES = ("Modifica", "modified")

# Customer detail: FIELD of each CustomerSnapshot attribute, and the labels of its messages.
CUSTOMER_FIELDS = {
    "vat_number": "VATNUM",
    "name": "NAME",
    "email": "LEGALEMAIL",
    "phone": "PHONE",
    "street": "STREET",
    "zip": "LOGISTICSADDRESSZIPCODE",
    "city": "CITY",
    "fiscal_code": "FISCALCODE",
}
CUSTOMER_LABELS = {
    "Partita IVA": "vat_number",
    "Ragione sociale": "name",
    "PEC": "email",
    "Telefono": "phone",
    "Indirizzo": "street",
    "CAP": "zip",
    "Città": "city",
    "Codice fiscale": "fiscal_code",
}
#: The labels the live save's messages name their field by ("Via: non deve essere vuoto.",
#: d6-save-flow.json:29-39), Italian and English -> payload field.
CUSTOMER_MESSAGE_LABELS = {
    "Partita IVA": "vat_number",
    "VAT number": "vat_number",
    "IVA validata": "vat_number",
    "VAT validated": "vat_number",
    "Ragione sociale": "name",
    "Name": "name",
    "Via": "street",
    "Street": "street",
    "Indirizzo logistico CAP": "zip",
    "Logistics address ZIP code": "zip",
    "PEC": "email",
    "SDI": "sdi",
    "codice fiscale": "fiscal_code",
    "Fiscal code": "fiscal_code",
    "Telefono": "phone",
    "Phone": "phone",
    "Cellulare": "mobile",
    "Mobile": "mobile",
}
DUPLICATE_VAT_TEXT = "Il numero IVA è già utilizzato"


def field_input(field: str) -> str:
    """The edit-mode input of a header field, e.g. PURCHORDERFORMNUM (not a grid editor)."""
    return f'[id$="_xaf_dvi{field}_Edit_I"]:not([id*="{LINES_GRID_NAME}"])'


def field_view(field: str) -> str:
    """The view-mode element of a detail field, e.g. SALESID."""
    return f'[id$="_xaf_dvi{field}_View"]'


#: GetPageRowValues(fields) of a grid, resolved when its callback answers.
PAGE_ROW_VALUES_JS = """(name, fields) => new Promise((resolve, reject) => {
  const grid = ASPxClientControl.GetControlCollection().GetByName(name);
  if (!grid || !grid.GetPageRowValues) { reject(new Error('no grid ' + name)); return; }
  grid.GetPageRowValues(fields.join(';'), values => resolve(values));
})"""

#: Text of a detail element without its scripts (combos and checkboxes carry inline scripts).
ELEMENT_TEXT_JS = """(e) => {
  if (!e) return '';
  if ('value' in e && (e.tagName === 'INPUT' || e.tagName === 'TEXTAREA')) return e.value.trim();
  const clone = e.cloneNode(true);
  clone.querySelectorAll('script, input').forEach(s => s.remove());
  return clone.textContent.trim();
}"""


#: The name of the first control whose name matches `pattern` (and has `method`), or null.
FIND_CONTROL_JS = """(pattern, method) => {
  if (!window.ASPxClientControl) return null;
  const re = new RegExp(pattern);
  let found = null;
  ASPxClientControl.GetControlCollection().ForEachControl(c => {
    if (found === null && c && c.name && re.test(c.name) && (!method || typeof c[method] === 'function'))
      found = c.name;
  });
  return found;
}"""

#: Reads a grid through its client API: columns by field name (GetColumn: the captions are
#: null on the real grid), cells placed by visibleIndex, rows {lowercase field: text}.
READ_GRID_JS = """(name, rowSel) => {
  const c = ASPxClientControl.GetControlCollection().GetByName(name);
  const root = document.getElementById(name);
  if (!c || !root) return null;
  const byIndex = {};
  const fields = [];
  for (let i = 0; i < c.GetColumnCount(); i++) {
    const col = c.GetColumn(i);
    if (col && col.visible && col.fieldName) { byIndex[col.visibleIndex] = col.fieldName.toLowerCase(); fields.push(col.fieldName.toLowerCase()); }
  }
  const rows = [...root.querySelectorAll(rowSel)]
      .filter(tr => tr.id.indexOf(name + '_DXDataRow') === 0)
      .map(tr => { const o = {}; [...tr.cells].forEach((td, i) => { if (byIndex[i]) o[byIndex[i]] = td.textContent.trim(); }); return o; });
  return {rows: rows, fields: fields, total: c.GetRowCount ? c.GetRowCount() : rows.length,
          page_index: c.GetPageIndex(), page_count: c.GetPageCount(), culture: navigator.language};
}"""

#: A list's remembered state: page index, page size and the filter combo's value and items.
LIST_STATE_JS = """(name, comboPattern) => {
  const coll = ASPxClientControl.GetControlCollection();
  const c = coll.GetByName(name);
  const psi = document.getElementById(name + '_DXPagerBottom_PSI');
  const re = new RegExp(comboPattern);
  let combo = null;
  coll.ForEachControl(x => { if (combo === null && x && re.test(x.name) && x.GetItemCount) combo = x; });
  const items = [];
  if (combo) for (let i = 0; i < combo.GetItemCount(); i++) { const it = combo.GetItem(i); items.push({text: it.text, value: it.value}); }
  return {page_index: c.GetPageIndex(), page_count: c.GetPageCount(),
          page_size: psi ? parseInt(psi.value, 10) : null,
          combo: combo ? combo.name : null, filter: combo ? combo.GetValue() : null, items: items};
}"""

#: Idle: no visible loading panel and no control in a callback (or we are on Login.aspx).
#: Counted over consecutive polls by the caller's waitForFunction (FACTS §9: 2-3 polls).
IDLE_JS = """(polls, token) => {
  const idle = (() => {
    if (/\\/Login\\.aspx/i.test(location.pathname)) return true;
    if (document.readyState === 'loading') return false;
    for (const e of document.querySelectorAll('[id*="LPV"], .dxlp, .dxlpLoadingPanel, .dxlpLoadingPanel_XafTheme')) {
      if (e.getClientRects().length > 0) return false;
    }
    if (!window.ASPxClientControl) return true;
    let busy = false;
    ASPxClientControl.GetControlCollection().ForEachControl(c => {
      if (!busy && c && typeof c.InCallback === 'function' && c.InCallback()) busy = true;
    });
    return !busy;
  })();
  const seen = window.__archibotIdle && window.__archibotIdle.token === token ? window.__archibotIdle.n : 0;
  window.__archibotIdle = {token: token, n: idle ? seen + 1 : 0};
  return window.__archibotIdle.n >= polls;
}"""

# XAF popup windows (FACTS §3, §11): DevExpress popups, not browser dialogs.
#: A visible XAF popup window, its header text, close button and answer buttons.
XAF_POPUP = 'div.dxpc-mainDiv[id$="_PW-1"]'
XAF_POPUP_TITLE = ".dxpc-headerText"
XAF_POPUP_CLOSE = '[id$="_HCB-1"]'
XAF_POPUP_BUTTONS = "a, button, .dxbButton_XafTheme"
#: Texts of a popup's confirming button (line delete asks "OK"/"Sì"/"Yes"/"Conferma").
XAF_CONFIRM_TEXTS = ("ok", "sì", "si", "yes", "conferma")
#: The popup a mouse click over a saved line opens (it covers the form until closed).
SALES_LINE_POPUP_TITLES = ("linea di vendita", "sales line")
#: Drop-down popups of lookups (`…_DDD_PW-1`); a hidden one whose editor is gone is stale.
DROPDOWN_POPUP = '[id$="_DDD_PW-1"]'
#: A grid's header filter popup (a stray click on a column header opens it, modal): its
#: footer holds OK / Annulla; only a visible one is cancelled (FACTS §11).
HEADER_FILTER_POPUP = '[id$="_DXHFP_PW-1"]'
HEADER_FILTER_FOOTER = '[id$="_DXHFP_PWF-1"]'
CANCEL_TEXTS = ("annulla", "cancel")

# Batch delete / send on the orders list (FACTS §4, §5).
#: TRANSFERSTATUS texts, casefolded, of an order not yet sent to Verona as a list cell shows
#: them (IT "Modifica", EN "modified"/"edit"): anything else is sent or on its way.
ORDER_UNSENT_TEXTS = ("modifica", "modified", "edit")
#: The orders list's column (lowercase field) of the transfer status and of the SALESID.
ORDER_TRANSFER_COLUMN = "transferstatus"
ORDER_SALES_ID_COLUMN = "salesid"

# Customer reads (check-vat, refresh-customer; FACTS §6, §13).
#: The customer id the duplicate-VAT message names ("… con ID: 1.002.305").
DUPLICATE_VAT_ID = r"ID:\s*([\d.,]+)"
#: VATVALIEDE texts meaning "validated" (the view shows "Sì"/"No", FACTS §13).
VAT_VALID_TEXTS = ("sì", "si", "yes", "true")
ALT_ADDRESSES_TAB_TEXTS = ("Indirizzo alt.", "Alt. addresses")
#: The alternative addresses grid (`…_xaf_dviADDRESSes_v7_{rand}_LE_v7`), rendered late
#: after its tab is shown (FACTS §13: the live bot waits up to 12 s for it).
ADDRESS_GRID_PATTERN = r"_xaf_dviADDRESSes_v\d+_\d+_LE_v\d+$"
#: The grid's record id: a hidden column, read with GetPageRowValues.
ADDRESS_ID_FIELD = "ID"
#: The grid's nine columns (lowercase field names) by the result's key; a column not named
#: here is kept under its own field name.
ADDRESS_COLUMNS = {
    "logisticsaddresszipcode.zipcode": "zip",
    "type": "type",
    "name": "name",
    "street": "street",
    "city": "city",
    "county": "county",
    "state": "state",
    "countryregionid": "country",
    "districtname": "district",
}
#: BLOCKED as the English page shows it, in the Italian the results use (FACTS §13:
#: "No" / "Fattura:" / "Completo"; English "No" / "Invoice" / "Complete", the create form's
#: combo in the production bot's probes, d4-dropdowns.json; "All" as erpsim said before).
BLOCKED_TEXTS = {"No": "No", "Invoice": "Fattura:", "Complete": "Completo", "All": "Completo"}
#: The BLOCKED that refuses orders (the customer is blocked for everything).
BLOCKED_FOR_ORDERS = "Completo"
#: FIELD -> text of every view-mode field of a detail view (`…_xaf_dvi{FIELD}_View`),
#: whichever tab holds it.
VIEW_FIELDS_JS = f"""() => {{ const text = {ELEMENT_TEXT_JS};
  const out = {{}};
  for (const e of document.querySelectorAll('[id*="_xaf_dvi"][id$="_View"]')) {{
    const m = e.id.match(/_xaf_dvi([A-Za-z0-9.]+)_View$/);
    if (m && !(m[1] in out)) out[m[1]] = text(e);
  }}
  return out;
}}"""

# Delivery notes (DDT) and invoices (FACTS §8, §13; dump listViews.DDT/Invoices).
DDT_LIST = "CUSTPACKINGSLIPJOUR_ListView/"
INVOICES_LIST = "CUSTINVOICEJOUR_ListView/"
LIST_SUFFIXES = {**LIST_SUFFIXES, DDT_LIST: "_LE_v5", INVOICES_LIST: "_LE_v6"}
#: Their date filters show nothing until an item is clicked for real: first this one…
DOCUMENT_FILTER_FIRST_TEXTS = {
    DDT_LIST: ("oggi", "today"),
    INVOICES_LIST: ("ultimi 3 mesi", "last 3 month"),
}
#: …then "everything".
DOCUMENT_FILTER_ALL_TEXTS = ("tutti", "all")
DOCUMENT_FILTER_ALL_VALUES = ("PackingSlipsAll", "All_invoices")
NUMBER_FIELDS = NUMBER_FIELDS | frozenset({
    "qty", "invoiceamountmst", "salesbalancemst", "sumlinediscmst", "enddiscmst", "sumtaxmst",
    "settleamountmst", "remainamountmst", "overduedays",
})
DATE_FIELDS = DATE_FIELDS | frozenset({
    "invoicedate", "duedate", "lastsettledate", "closed",
})
#: The toolbar item that makes a selected document's file anchor (title, both cultures).
GET_PDF_TITLES = ("Scarica PDF", "Download PDF", "Get PDF")
ROW_SELECT_CELL = 'td.dxgvCommandColumn_XafTheme[onclick*="Select"]'
PDF_ANCHOR = 'div[id$="_xaf_InvoicePDF"] a.XafFileDataAnchor'
NO_PDF_TEXT = "N/A"
OBJECTS_NOT_LOADED_TEXT = "Requested objects cannot be loaded"
#: The order view's lines toolbar item exporting the lines grid to PDF (BOT:11241-11256).
LINES_EXPORT_PDF = 'a[id*="xaf_dviSALESLINEs_ToolBar_Menu_DXI1_T"]'

#: Like READ_GRID_JS, for grids whose rows carry extra leading cells (DDT, invoices: FACTS §8,
#: LVS:199-214): the data cells are the last ones, in visibleIndex order; `filled` counts the
#: data cells with text (InCallback goes false before every text has arrived, DXU:386-411).
READ_GRID_TAIL_JS = """(name, rowSel) => {
  const c = ASPxClientControl.GetControlCollection().GetByName(name);
  const root = document.getElementById(name);
  if (!c || !root) return null;
  const cols = [];
  for (let i = 0; i < c.GetColumnCount(); i++) {
    const col = c.GetColumn(i);
    if (col && col.visible && col.fieldName) cols.push(col);
  }
  cols.sort((a, b) => a.visibleIndex - b.visibleIndex);
  const fields = cols.map(col => col.fieldName.toLowerCase());
  let cells = 0, filled = 0;
  const rows = [...root.querySelectorAll(rowSel)]
      .filter(tr => tr.id.indexOf(name + '_DXDataRow') === 0)
      .map(tr => { const tds = [...tr.cells].slice(-fields.length); const o = {};
                   tds.forEach((td, i) => { const t = td.textContent.trim(); o[fields[i]] = t;
                                            cells += 1; if (t) filled += 1; });
                   return o; });
  return {rows: rows, fields: fields, total: c.GetRowCount ? c.GetRowCount() : rows.length,
          page_index: c.GetPageIndex(), page_count: c.GetPageCount(), culture: navigator.language,
          visible_rows: c.GetVisibleRowsOnPage(), cells: cells, filled: filled};
}"""

# The price list and the line-discount list (sync-prices; FACTS §8: `_LE_v7`, `_LE_v8`).
PRICES_LIST = "PRICEDISCTABLE_ListView/"
LINE_DISCOUNTS_LIST = "PRICEDISCTABLE_ListViewLineDisc/"
LIST_SUFFIXES[PRICES_LIST] = "_LE_v7"
LIST_SUFFIXES[LINE_DISCOUNTS_LIST] = "_LE_v8"
#: Their filters have no "all" item: "Active prices"/"Active line discounts" is what a sync
#: copies (the live bot's xafValuePattern "ActivePrices"); the closed ones are history.
FILTER_ALL_VALUES += ("ActivePrices", "ActiveLineDiscounts")
FILTER_ALL_TEXTS += ("active prices", "prezzi attivi", "active line discounts",
                     "sconti di riga attivi")
NUMBER_FIELDS |= {"amount", "quantityamountfrom", "quantityamountto", "percent1", "percent2"}
DATE_FIELDS |= {"fromdate", "todate"}

# The sentinel: the newest MODIFIEDDATETIME of a list (FACTS §8; a hidden column on most lists).
MODIFIED_FIELD = "MODIFIEDDATETIME"
#: Whether the grid has a column (GetColumn(i).fieldName), visible or not.
HAS_COLUMN_JS = """(name, field) => {
  const g = ASPxClientControl.GetControlCollection().GetByName(name);
  for (let i = 0; i < g.GetColumnCount(); i++) {
    const c = g.GetColumn(i);
    if (c && c.fieldName && c.fieldName.toUpperCase() === field) return true;
  }
  return false;
}"""
#: ASPxClientGridView.SortBy(column, sortOrder, reset, sortIndex): a server callback.
SORT_BY_JS = """(name, field, order, reset, index) =>
  ASPxClientControl.GetControlCollection().GetByName(name).SortBy(field, order, reset, index)"""
#: One field of every row on the page (GetPageRowValues: one callback), each value as text:
#: a Date (what the real API gives for a DATETIME) as the browser's local wall time, ISO.
PAGE_FIELD_VALUES_JS = """(name, field) => new Promise((resolve, reject) => {
  const g = ASPxClientControl.GetControlCollection().GetByName(name);
  if (!g || !g.GetPageRowValues) { reject(new Error('no grid ' + name)); return; }
  const pad = n => String(n).padStart(2, '0');
  const text = v => {
    if (Array.isArray(v)) v = v[0];
    if (v instanceof Date) {
      if (isNaN(v.getTime())) return null;
      return v.getFullYear() + '-' + pad(v.getMonth() + 1) + '-' + pad(v.getDate()) + 'T' +
        pad(v.getHours()) + ':' + pad(v.getMinutes()) + ':' + pad(v.getSeconds());
    }
    return v === null || v === undefined || v === '' ? null : String(v);
  };
  g.GetPageRowValues(field, values => resolve((values || []).map(text)));
})"""

#: A grid's row count over all its pages (GetRowCount, FACTS §9), or null without that method.
ROW_COUNT_JS = """(g) => {
  const c = ASPxClientControl.GetControlCollection().GetByName(g);
  return c && c.GetRowCount ? c.GetRowCount() : null;
}"""
