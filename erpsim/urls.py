"""The URL map of the simulated Archibald, relative to the base path."""

from __future__ import annotations

from urllib.parse import quote

BASE = "/Archibald/"
LOGIN = BASE + "Login.aspx"
LOGOUT = BASE + "Logout.aspx"
DEFAULT = BASE + "Default.aspx"
ANNOUNCEMENTS = BASE + "Announcements_ListView/"
CUSTOMERS = BASE + "CUSTTABLE_ListView_Agent/"
ORDERS = BASE + "SALESTABLE_ListView_Agent/"
ORDER_DETAIL = BASE + "SALESTABLE_DetailViewAgent/"
NEW_ORDER = ORDER_DETAIL + "?NewObject=true"
CUSTOMER_DETAIL = BASE + "CUSTTABLE_DetailView/"
NEW_CUSTOMER = CUSTOMER_DETAIL + "?NewObject=true"
PRODUCTS = BASE + "INVENTTABLE_ListView/"
PACKING_SLIPS = BASE + "CUSTPACKINGSLIPJOUR_ListView/"
INVOICES = BASE + "CUSTINVOICEJOUR_ListView/"
MASTER_DATA = BASE + "MasterData_ListView/"
#: The price list and the line-discount list (PRICEDISCTABLE, global; FACTS §8).
PRICES = BASE + "PRICEDISCTABLE_ListView/"
LINE_DISCOUNTS = BASE + "PRICEDISCTABLE_ListViewLineDisc/"
#: A document's stored file (GET, `Content-Disposition: attachment`): `?kind=&id=`.
FILE_DATA = BASE + "FileData.axd"
#: The SALESLINEs grid of an order exported to PDF (GET, attachment `Salesline….pdf`).
SALESLINES_PDF = BASE + "SalesLinesExport.axd"
STATIC = BASE + "static/"
#: The DevExpress script resources (their weight; see erpsim.dxr).
DXR = BASE + "DXR.axd"


def login_redirect(return_path: str) -> str:
    """Login.aspx?ReturnUrl=%2fArchibald%2f… as IIS writes it (lower-case escapes)."""
    escaped = quote(return_path, safe="").replace("%2F", "%2f").replace("%3F", "%3f")
    return f"{LOGIN}?ReturnUrl={escaped}"


def order_detail(order_id: int) -> str:
    return f"{ORDER_DETAIL}{order_id}/"


def customer_detail(customer_id: int) -> str:
    return f"{CUSTOMER_DETAIL}{customer_id}/"
