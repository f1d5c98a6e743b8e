"""UI texts of the detail views in both languages, and the request's label language.

The real server picks label language from Accept-Language (FACTS §0). Detail-only texts live
here; toolbar and shared texts come from erpsim.culture, so a page never mixes languages.
"""

from __future__ import annotations

from aiohttp import web

from erpsim import culture
from erpsim.culture import Lang

# (italian, english) of the texts only the detail views show; the rest comes from
# erpsim.culture's table, so a page never mixes languages.
_TEXTS: dict[str, tuple[str, str]] = {
    "save_and_new": ("Salva e nuovo", "Save and New"),
    "update": ("Aggiorna", "Update"),
    "delete_line": ("Elimina", "Delete"),
    "loading": ("Caricamento…", "Loading…"),
    "not_found": (
        "L'oggetto richiesto non esiste o è stato eliminato.",
        "The requested object does not exist or has been deleted.",
    ),
    "order": ("Ordine", "Order"),
    "new_order": ("Nuovo ordine", "New Order"),
    "customer": ("Cliente", "Customer"),
    "new_customer": ("Nuovo cliente", "New Customer"),
    "tab_order_delivery_times": ("Orari di consegna", "DeliveryTimes"),
    "tab_saleslines": ("Righe di vendita:", "Saleslines:"),
    "tab_packing_history": ("Storico DDT:", "Packing Slip-History:"),
    "tab_sales_history": ("Storico vendite:", "Sales-History:"),
    "tab_invoice_history": ("Storico fatture:", "Invoice-History:"),
    "vat_checking": ("Verifica partita IVA…", "Checking VAT number…"),
}
#: Status values (kept in Italian by the simulator) and their label keys.
_VALUES: dict[str, str] = {
    "Modifica": "status_modified",
    "In attesa di approvazione": "status_waiting_approval",
    "Trasferito": "status_transferred",
    "Completato": "status_completed",
    "Ordine aperto": "sales_status_open",
    "Giornale": "sales_type_journal",
    "Nessuno": "document_status_none",
}


def request_lang(request: web.Request) -> Lang:
    """The label language of a request (Accept-Language, FACTS §0)."""
    return culture.lang_of(request)


def text(key: str, lang: Lang) -> str:
    """A detail-view UI text: detail-only keys here, the others from erpsim.culture."""
    if key in _TEXTS:
        italian, english = _TEXTS[key]
        return italian if lang == "it" else english
    return culture.label(key, lang)


def value_text(value: str, lang: Lang) -> str:
    """A status value as the page shows it in `lang`."""
    key = _VALUES.get(value)
    return culture.label(key, lang) if key else value
