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


# Login.aspx
USER_INPUT = 'input[id*="UserName"][id$="_I"]'
PASSWORD_INPUT = 'input[type="password"]'
LOGIN_BUTTON = "#Logon_PopupActions_Menu_DXI0_T"
LOGIN_ERROR = ".ErrorMessage, .dxeErrorCell"

# Lists
LIST_GRID = "Vertical_v1_LE_v2"
SEARCH_INPUT = 'input[id*="SearchAC"][id*="Ed_I"]'
DATA_ROW = "tr.dxgvDataRow_XafTheme"
LIST_ROWS = f"#{LIST_GRID} {DATA_ROW}"
EDIT_PENCIL = 'img[title="Modifica"]'
SELECT_CHECK = "input.dxgvSelectCheck"
TOOLBAR_LINKS = 'a[id^="Vertical_mainMenu_Menu_DXI"][id$="_T"]'
DELETE_TOOL = "Cancellare"
SEND_TOOL = "invia ordine/i"
DISABLED_TOOL = "dxm-disabled"
PAGE_SIZE_INPUT = f'#{LIST_GRID} input[id*="DXPagerBottom_PSI"]'
#: Popup texts that mean the server failed (not a business rejection).
SERVER_FAILURE_TEXTS = ("Errore del server", "Errore di comunicazione")

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
DATA_ROW_IN_GRID = 'tr[id*="_DXDataRow"]'
EDITING_ROW = 'tr[id*="DXEditingRow"]'
NEW_LINE_ROW = 'tr[id*="editnew"]'
QUANTITY_INPUT = 'input[id$="_xaf_dviQTYORDERED_Edit_I"]'
LINE_DISCOUNT_INPUT = 'input[id$="_xaf_dviMANUALDISCOUNT_Edit_I"]'
LINE_ERROR = 'tr[id$="_DXEditingErrorRow"]'
#: Column field names of the SALESLINEs grid (dump embeddedGrids); ITEMID is hidden.
LINE_ARTICLE = "INVENTTABLE.NAME"
LINE_QUANTITY = "QTYORDERED"
LINE_DISCOUNT = "MANUALDISCOUNT"
LINE_VARIANT = "ITEMID"
#: Columns of the article drop-down (one row per package variant).
ARTICLE_NAME = "NAME"
ARTICLE_VARIANT = "ITEMID"
ARTICLE_PACKAGE = "BRASPACKAGEQTY"
CALLBACK_ERROR = "#Vertical_CallbackErrorPopup"
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


#: The client name of the first control whose name contains `part` (and ends with `suffix`)
#: and which has the method `role`; null when the page has none.
FIND_CONTROL_JS = """(part, suffix, role) => {
  const coll = window.ASPxClientControl && ASPxClientControl.GetControlCollection();
  if (!coll) return null;
  let found = null;
  coll.ForEachControl(c => {
    if (found || !c || !c.name) return;
    if (part && c.name.indexOf(part) < 0) return;
    if (suffix && !c.name.endsWith(suffix)) return;
    if (role && typeof c[role] !== 'function') return;
    found = c.name;
  });
  return found;
}"""

#: Data rows (`{name}_DXDataRow{n}`) of a grid by column field name, through GetColumn: the DOM
#: cell of a visible column is its visibleIndex. {rows: [{FIELD: text}], editing} or null.
READ_EMBEDDED_GRID_JS = """(name) => {
  const grid = ASPxClientControl.GetControlCollection().GetByName(name);
  const root = document.getElementById(name);
  if (!grid || !root || !grid.GetColumn) return null;
  const byCell = {};
  for (let i = 0; i < grid.GetColumnCount(); i++) {
    const c = grid.GetColumn(i);
    if (c && c.visible && c.fieldName) byCell[c.visibleIndex] = c.fieldName;
  }
  const rows = [...root.querySelectorAll('tr[id^="' + name + '_DXDataRow"]')]
    .map(tr => { const o = {}; [...tr.cells].forEach((td, i) => {
      if (byCell[i] !== undefined) o[byCell[i]] = td.textContent.trim(); }); return o; });
  return {rows: rows, fields: Object.values(byCell),
          editing: grid.IsEditing ? grid.IsEditing() : false};
}"""

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


#: Reads a DevExpress grid: rows as {lowercase header: text}, footer Count=N, pager state.
READ_GRID_JS = """(gridId, rowSel) => {
  const root = document.getElementById(gridId);
  if (!root) return null;
  const heads = [...root.querySelectorAll('tr[id$="DXHeadersRow0"] td')]
      .map(td => (td.getAttribute('data-field') || td.textContent).trim().toLowerCase());
  const rows = [...root.querySelectorAll(rowSel)].filter(tr => tr.closest('[id]') && !tr.closest('[id*="_DDD"]'))
      .map(tr => { const o = {}; [...tr.cells].forEach((td, i) => { if (heads[i]) o[heads[i]] = td.textContent.trim(); }); return o; });
  const foot = root.querySelector('tr[class*="dxgvFooter"]');
  const m = foot ? foot.textContent.match(/Count=(\\d+)/) : null;
  const c = window[gridId];
  return {rows: rows, total: m ? parseInt(m[1], 10) : rows.length,
          page_index: c && c.GetPageIndex ? c.GetPageIndex() : 0,
          page_count: c && c.GetPageCount ? c.GetPageCount() : 1};
}"""


#: Idle: no visible loading panel and no control in a callback (or we are on Login.aspx).
IDLE_JS = """() => {
  if (/\\/Login\\.aspx/i.test(location.pathname)) return true;
  if (document.readyState === 'loading') return false;
  for (const e of document.querySelectorAll('.dxgvLoadingPanel_XafTheme, [id*="LPV"]')) {
    if (e.getClientRects().length > 0) return false;
  }
  return !(window.ASPx && window.ASPx.anyInCallback());
}"""
