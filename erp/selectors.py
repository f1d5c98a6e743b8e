"""Every URL, id and selector the page objects use: the only part to change for a new ERP build."""

from __future__ import annotations

LOGIN_PAGE = "Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
DEFAULT_PAGE = "Default.aspx"
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
FILTER_ALL_VALUES = ("OrdersAll", "All_Customers")
FILTER_ALL_TEXTS = ("all orders", "tutti gli ordini", "all customers", "tutti i clienti")
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
LINE_VARIANT = "ITEMID"
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
