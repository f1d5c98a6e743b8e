"""Every URL, id and selector the page objects use: the only part to change for a new ERP build."""

from __future__ import annotations

LOGIN_PAGE = "Login.aspx?ReturnUrl=%2fArchibald%2fDefault.aspx"
DEFAULT_PAGE = "Default.aspx"
ORDERS_LIST = "SALESTABLE_ListView_Agent/"
NEW_ORDER = "SALESTABLE_DetailViewAgent/?NewObject=true"
ORDER_URL_PATTERN = r"/SALESTABLE_DetailViewAgent/(\d+)/"

# Login.aspx
USER_INPUT = 'input[id*="UserName"][id$="_I"]'
PASSWORD_INPUT = 'input[type="password"]'
LOGIN_BUTTON = "#Logon_PopupActions_Menu_DXI0_T"
LOGIN_ERROR = ".ErrorMessage, .dxeErrorCell"

# Lists
LIST_GRID = "Vertical_v1_LE_v2"
SEARCH_INPUT = 'input[id*="SearchAC"][id*="Ed_I"]'
DATA_ROW = "tr.dxgvDataRow_XafTheme"

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
CALLBACK_ERROR = "#Vertical_CallbackErrorPopup"
VALIDATION_BANNER = '[id*="ErrorInfo"]'
SAVE_MENU = "#Vertical_mainMenu_Menu_DXI0_T"
SAVE_AND_CLOSE = "#Vertical_mainMenu_Menu_DXI0i1_T"


def field_input(field: str) -> str:
    """The edit-mode input of a detail field, e.g. CUSTOMERREF."""
    return f'[id*="xaf_dvi{field}_Edit_I"]'


#: Idle: no visible loading panel and no control in a callback (or we are on Login.aspx).
IDLE_JS = """() => {
  if (/\\/Login\\.aspx/i.test(location.pathname)) return true;
  if (document.readyState === 'loading') return false;
  for (const e of document.querySelectorAll('.dxgvLoadingPanel_XafTheme, [id*="LPV"]')) {
    if (e.getClientRects().length > 0) return false;
  }
  return !(window.ASPx && window.ASPx.anyInCallback());
}"""
