"""Markup of the customer detail view (CUSTTABLE_DetailView): edit and view mode."""

from __future__ import annotations

from html import escape

from erpsim.fmt import fmt_int
from erpsim.model import Customer
from erpsim.state import CUSTOMER_FIELDS

LAYOUT = "Vertical_v3_MainLayoutEdit"
#: FIELD -> layout item; VATNUM comes first because its check fills the others.
LAYOUT_ITEMS = {name: f"l{10 + 2 * n}" for n, name in enumerate(CUSTOMER_FIELDS)}
VIEW_ONLY = {"ID": ("l4", "ID"), "ACCOUNTNUM": ("l6", "Conto cliente")}
VAT_EDITOR = f"{LAYOUT}_xaf_{LAYOUT_ITEMS['VATNUM']}_xaf_dviVATNUM_Edit"


def input_id(field: str) -> str:
    return f"{LAYOUT}_xaf_{LAYOUT_ITEMS[field]}_xaf_dvi{field}_Edit_I"


def view_id(field: str) -> str:
    item = VIEW_ONLY[field][0] if field in VIEW_ONLY else LAYOUT_ITEMS[field]
    return f"{LAYOUT}_xaf_{item}_xaf_dvi{field}_View"


def customer_values(customer: Customer) -> dict[str, str]:
    """FIELD -> shown text."""
    return {
        "VATNUM": customer.vat_number,
        "NAME": customer.name,
        "LEGALEMAIL": customer.email,
        "PHONE": customer.phone,
        "STREET": customer.street,
        "ZIP": customer.zip_code,
        "CITY": customer.city,
        "FISCALCODE": customer.fiscal_code,
    }


def edit_body(customer: Customer | None, values: dict[str, str]) -> str:
    """The form; `values` (FIELD -> text) win over the customer's own values."""
    current = customer_values(customer) if customer is not None else {}
    rows = [f'<table id="{LAYOUT}" class="Layout">']
    if customer is not None:
        for field, (_, label) in VIEW_ONLY.items():
            text = fmt_int(customer.id) if field == "ID" else customer.account
            rows.append(
                f'<tr><td class="Caption">{label}:</td><td><span id="{view_id(field)}">'
                f"{escape(text)}</span></td></tr>"
            )
    for field, label in CUSTOMER_FIELDS.items():
        value = escape(values.get(field, current.get(field, "")))
        ident = input_id(field)
        extra = ""
        if field == "VATNUM":
            extra = (
                " readonly"
                if customer is not None
                else f' data-dx-blurcallback="{VAT_EDITOR}" data-dx-checked="{value}"'
            )
        widget = (
            f'<input id="{ident}" name="{ident}" class="dxeEditArea_XafTheme" type="text" '
            f'value="{value}" autocomplete="off"{extra}>'
        )
        if field == "VATNUM":
            widget = (
                f'<div id="{VAT_EDITOR}" data-dx-control="{VAT_EDITOR}" data-dx-state="{{}}" '
                f'class="dxeTextBox_XafTheme">{widget}'
                f'<div id="{VAT_EDITOR}_LPV" class="dxgvLoadingPanel_XafTheme" style="display:none">'
                "Verifica partita IVA…</div></div>"
            )
        rows.append(f'<tr><td class="Caption">{escape(label)}:</td><td>{widget}</td></tr>')
    rows.append("</table>")
    return "".join(rows)


def view_body(customer: Customer) -> str:
    values = customer_values(customer)
    rows = [f'<table id="{LAYOUT}" class="Layout">']
    shown = [("ID", "ID", fmt_int(customer.id)), ("ACCOUNTNUM", "Conto cliente", customer.account)]
    shown += [(f, label, values[f]) for f, label in CUSTOMER_FIELDS.items()]
    for field, label, text in shown:
        rows.append(
            f'<tr><td class="Caption">{escape(label)}:</td><td><span id="{view_id(field)}">'
            f"{escape(text)}</span></td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)
