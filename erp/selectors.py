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
ORDER_EDITABLE_STATUS = "Modifica"


def order_view_url(order_id: str) -> str:
    """The detail view of a saved order (relative to the ERP base URL)."""
    return f"SALESTABLE_DetailViewAgent/{order_id}/"


# Login.aspx (FACTS §1). Editor ids embed a per-visit random number: match by suffix, never by id.
USER_INPUT = 'input[id*="dviUserName_Edit_I"]'
PASSWORD_INPUT = 'input[id*="dviPassword_Edit_I"]'
#: The login action is a DevExpress menu item (no <button> on the page).
LOGIN_BUTTON = "#Logon_PopupActions_Menu_DXI0_T"
#: Texts the login action shows, lower-case: Italian contains "accedi", English is "log in".
LOGIN_BUTTON_CONTAINS = ("accedi",)
LOGIN_BUTTON_EQUALS = ("log in", "login")
LOGIN_ERROR = ".dxeErrorCell, .ErrorMessage"

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

# Order detail
LAYOUT = "Vertical_v5_MainLayoutEdit"
CUSTOMER_EDITOR = f"{LAYOUT}_xaf_l12_xaf_dviCUSTACCOUNT_Edit_dropdown_DD"
CUSTOMER_BUTTON = f"#{CUSTOMER_EDITOR}_B-1"
CUSTOMER_POPUP = f"#{CUSTOMER_EDITOR}_DDD_PW"
CUSTOMER_SEARCH = f"#{CUSTOMER_EDITOR}_DDD_gv_DXSE_I"
CUSTOMER_ROWS = f'[id*="_DDD"][id^="{CUSTOMER_EDITOR}"] tr[class*=dxgvDataRow]'
LINES_GRID = f"{LAYOUT}_xaf_l40_xaf_dviSALESLINEs_v6_LE_v7"
ADD_LINE = f'#{LINES_GRID} a[data-args*="AddNew"]'
UPDATE_LINE = f'#{LINES_GRID} a[data-args*="UpdateEdit"]'
NEW_LINE_ROW = f'#{LINES_GRID} tr[id*="editnew"]'
ARTICLE_INPUT = f'{NEW_LINE_ROW} input[id*="INVENTTABLE"][id$="_I"]'
ARTICLE_ROWS = f'{NEW_LINE_ROW} [id*="_DDD"] tr[class*=dxgvDataRow]'
ARTICLE_EMPTY = f'{NEW_LINE_ROW} [id*="_DDD"] tr[class*=dxgvEmptyData]'
QUANTITY_INPUT = f'{NEW_LINE_ROW} input[id*="dviSALESQTY_Edit_I"]'
DISCOUNT_INPUT = f'{NEW_LINE_ROW} input[id*="dviLINEDISC_Edit_I"]'
LINE_ERROR = f'#{LINES_GRID} tr[id$="DXEditingErrorRow"]'
LINE_ROWS = f"#{LINES_GRID} {DATA_ROW}"
LINE_START_EDIT = 'a[data-args*="StartEdit"]'
LINE_DELETE = 'a[data-args*="DeleteRow"]'
EDITING_ROW = f'#{LINES_GRID} tr[id*="DXEditingRow"]'
EDIT_QUANTITY_INPUT = f'{EDITING_ROW} input[id*="dviSALESQTY_Edit_I"]'
EDIT_DISCOUNT_INPUT = f'{EDITING_ROW} input[id*="dviLINEDISC_Edit_I"]'
CALLBACK_ERROR = "#Vertical_CallbackErrorPopup"
VALIDATION_BANNER = '[id*="ErrorInfo"]'
SAVE_MENU = "#Vertical_mainMenu_Menu_DXI0_T"
SAVE = "#Vertical_mainMenu_Menu_DXI0i0_T"
SAVE_AND_CLOSE = "#Vertical_mainMenu_Menu_DXI0i1_T"

# Customer detail: FIELD of each CustomerSnapshot attribute, and the labels of its messages.
CUSTOMER_FIELDS = {
    "vat_number": "VATNUM",
    "name": "NAME",
    "email": "LEGALEMAIL",
    "phone": "PHONE",
    "street": "STREET",
    "zip": "ZIP",
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
    """The edit-mode input of a detail field, e.g. CUSTOMERREF."""
    return f'[id*="xaf_dvi{field}_Edit_I"]'


def field_view(field: str) -> str:
    """The view-mode text of a detail field, e.g. SALESID."""
    return f'[id*="xaf_dvi{field}_View"]'


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
