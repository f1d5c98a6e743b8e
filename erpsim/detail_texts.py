"""UI texts of the detail views in both languages, and the request's label language.

The real server picks label language from Accept-Language (FACTS §0). Field captions and
detail-only texts live here; the toolbar texts shared with the list views come from the same
table so a page never mixes languages.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web

Lang = Literal["it", "en"]

# (italian, english)
_TEXTS: dict[str, tuple[str, str]] = {
    "new": ("Nuovo", "New"),
    "edit": ("Modifica", "Edit"),
    "save": ("Salvare", "Save"),
    "save_and_new": ("Salva e nuovo", "Save and New"),
    "save_and_close": ("Salva e chiudi", "Save and Close"),
    "cancel": ("Annulla", "Cancel"),
    "refresh": ("Aggiorna", "Refresh"),
    "reset_view": ("Reimposta visualizzazione", "Reset View Settings"),
    "previous_record": ("Record precedente", "Previous Record"),
    "next_record": ("Record successivo", "Next Record"),
    "show_hidden": ("Mostra elementi nascosti", "Show hidden items"),
    "update": ("Aggiorna", "Update"),
    "delete": ("Elimina", "Delete"),
    "empty_grid": ("Nessun dato da visualizzare", "No data to display"),
    "search_placeholder": ("Inserire il testo da cercare...", "Enter text to search..."),
    "loading": ("Caricamento…", "Loading…"),
    "not_found": (
        "L'oggetto richiesto non esiste o è stato eliminato.",
        "The requested object does not exist or has been deleted.",
    ),
    "order": ("Ordine", "Order"),
    "new_order": ("Nuovo ordine", "New Order"),
    "customer": ("Cliente", "Customer"),
    "new_customer": ("Nuovo cliente", "New Customer"),
    "tab_overview": ("Panoramica", "Overview"),
    "tab_delivery_times": ("Orari di consegna", "DeliveryTimes"),
    "tab_price_discount": ("Prezzi e sconti", "Price Discount"),
    "tab_saleslines": ("Righe di vendita:", "Saleslines:"),
    "tab_packing_history": ("Storico DDT:", "Packing Slip-History:"),
    "tab_main": ("Principale", "Main"),
    "tab_customer_delivery_times": ("Orari di consegna", "Deliverytimes"),
    "tab_crm": ("Info CRM", "CRM Infos"),
    "tab_other": ("Altre informazioni", "Other Information"),
    "tab_sales_history": ("Storico vendite:", "Sales-History:"),
    "tab_invoice_history": ("Storico fatture:", "Invoice-History:"),
    "tab_alt_addresses": ("Indirizzo alt.", "Alt. addresses"),
    "vat_checking": ("Verifica partita IVA…", "Checking VAT number…"),
}
#: Model values (kept in Italian by the simulator) and their English face.
_VALUES: dict[str, str] = {
    "Modifica": "modified",
    "In attesa di approvazione": "Approvel_regionalmanager",
    "Trasferito": "Transfered",
    "Completato": "Completed",
    "Ordine aperto": "Open order",
    "Giornale": "Journal",
    "Nessuno": "None",
}


def request_lang(request: web.Request) -> Lang:
    """The label language of a request: its first Accept-Language tag ``it*`` → "it", else "en"."""
    first = request.headers.get("Accept-Language", "").split(",", 1)[0].strip().lower()
    return "it" if first.startswith("it") or not first else "en"


def text(key: str, lang: Lang) -> str:
    """A detail-view UI text; an unknown key is a KeyError (a typo, not data)."""
    italian, english = _TEXTS[key]
    return italian if lang == "it" else english


def value_text(value: str, lang: Lang) -> str:
    """A status value as the page shows it in `lang`."""
    return value if lang == "it" else _VALUES.get(value, value)
