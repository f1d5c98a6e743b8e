"""The two cultures of the real Archibald: label language and number/date formats.

The real server picks the *label* language from the HTTP ``Accept-Language`` header (a German
host was served English until the bot forced it-IT), while the grid's *number and date text*
follows the browser's ``navigator.language`` (Chromium ``--lang``) — FACTS §0, §8. So:

* :func:`lang_of` reads a request's label language, :func:`label` gives a UI text in it;
* :func:`format_value` formats a raw invariant value as the grid shows it in a culture. It is
  the server-side twin of ``window.ASPxFormat`` in ``static/dxfmt.js`` (same rules, same kinds;
  ``tests/test_culture.py`` runs both on the same samples). Pages formatted in the browser call
  ``ASPxFormat``; this twin serves pages rendered without JS and the tests.

Why not babel: the real grid's formats are not CLDR's. it-IT money is "250,01 EUR" (CLDR:
"250,01 €"), en-US dates carry a four-digit year and seconds ("3/28/2026 6:24:57 AM"; CLDR
short: "3/28/26, 6:24 AM"), and percentages are "63,00 %" with a space in both cultures. A
small explicit table, mirrored by ~60 lines of JS, is easier to keep equal on both sides than
babel on one side and ``Intl`` on the other.

Label keys (snake_case, the English meaning; ``label(key, lang)``):

* toolbar actions: ``new``, ``delete``, ``edit``, ``clone``, ``send``, ``refresh``, ``save``,
  ``save_and_close``, ``close``, ``cancel``, ``reset_view``, ``show_hidden``, ``export``,
  ``get_pdf``, ``previous_record``, ``next_record``, ``change_password``, ``send_message``,
  ``ok``, ``yes``, ``no``;
* login and shell: ``login``, ``login_title``, ``login_welcome``, ``login_user``,
  ``login_password``, ``login_failed`` (takes ``{username}``), ``logout``, ``app_title``;
* navigation menu: ``menu_announcements``, ``menu_customers``, ``menu_orders``,
  ``menu_packing_slips``, ``menu_invoices``, ``menu_master_data``;
* announcements page: ``announcements``, ``announcement_welcome`` (takes ``{name}``),
  ``announcement_cutoff``, ``announcement_prices``;
* customer list filter items: ``filter_all_customers``, ``filter_exclusive_customers``,
  ``filter_free_customers``;
* order list filter items: ``filter_all_orders`` ("All Orders " — trailing space as the real
  one), ``filter_today``, ``filter_week``, ``filter_month``, ``filter_entered``,
  ``filter_completed``, ``filter_approval``, ``filter_transferred``, ``filter_quote``;
* order values: ``status_modified``, ``status_waiting_approval``, ``status_transferred``,
  ``status_completed``, ``status_transfer_error``, ``sales_status_open``,
  ``sales_status_invoiced``, ``sales_type_journal``, ``document_status_none``, ``origin_agent``;
* customer detail tabs: ``tab_main``, ``tab_price_discount``, ``tab_alt_addresses``,
  ``tab_delivery_times``, ``tab_crm``, ``tab_other``; order detail tab ``tab_overview``;
* grids and popups: ``empty_grid``, ``search_placeholder``, ``confirm_delete``,
  ``confirm_send``, ``server_error``, ``communication_error``;
* the customer save's validation: ``validation_empty``, ``validation_zero``,
  ``validation_phone`` (take ``{field}``), ``validation_zip_empty``, and the fields they name:
  ``field_vat_number``, ``field_name``, ``field_street``, ``field_pec``, ``field_sdi``,
  ``field_fiscal_code``, ``field_vat_valid``, ``field_phone``, ``field_mobile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from aiohttp import web

Lang = Literal["it", "en"]
#: What a request without an Italian first language tag gets (the real server answered a
#: German host in English).
DEFAULT_LANG: Lang = "en"

Kind = Literal["int", "decimal", "money", "percent", "date", "datetime", "text"]
KINDS: tuple[Kind, ...] = ("int", "decimal", "money", "percent", "date", "datetime", "text")


def lang_of(request: web.Request) -> Lang:
    """The label language of a request: its first Accept-Language tag ``it*`` → "it", else "en"."""
    return lang_of_header(request.headers.get("Accept-Language", ""))


def lang_of_header(accept_language: str) -> Lang:
    """:func:`lang_of` on a raw header value ("it-IT,it;q=0.9" → "it")."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return "it" if first.startswith("it") else DEFAULT_LANG


# (italian, english). Where FACTS or the structure dump give no Italian text, the Italian one is
# invented (plausible XAF Italian) and marked "# it: invented".
_LABELS: dict[str, tuple[str, str]] = {
    # Toolbar actions (structure JSON toolbars; FACTS §2-§8).
    "new": ("Nuovo", "New"),
    "delete": ("Cancellare", "Delete"),
    "edit": ("Modifica", "Edit"),
    "clone": ("Clona ordine", "Clone Order"),  # it: invented
    "send": ("Invia ordine/i", "Send Order(s)"),
    "refresh": ("Aggiorna", "Refresh"),
    "save": ("Salvare", "Save"),
    "save_and_close": ("Salva e chiudi", "Save and Close"),
    "close": ("Chiudi", "Close"),  # it: invented
    "cancel": ("Annulla", "Cancel"),
    # it: invented
    "reset_view": ("Reimposta visualizzazione", "Reset View Settings"),
    "show_hidden": ("Mostra elementi nascosti", "Show hidden items"),  # it: invented
    "export": ("Esportare in", "Export to"),
    "get_pdf": ("Ottieni PDF", "Get PDF"),  # it: invented
    "previous_record": ("Record precedente", "Previous Record"),  # it: invented
    "next_record": ("Record successivo", "Next Record"),  # it: invented
    "change_password": ("Cambia password", "Change My Password"),  # it: invented
    "send_message": ("Invia messaggio", "Send Message"),  # it: invented
    "ok": ("OK", "OK"),
    "yes": ("Sì", "Yes"),
    "no": ("No", "No"),
    # Login page and page shell (FACTS §1; the English error is XAF's standard one).
    "login": ("Accedi", "Log In"),
    "login_title": ("Accesso", "Log In"),  # it: invented
    "login_welcome": (
        "Benvenuto in Archibald. Inserire nome account e password.",  # it: invented
        "Welcome! Please enter your user name and password below.",
    ),
    "login_user": ("Nome utente:", "User Name:"),  # it: invented
    "login_password": ("Password:", "Password:"),
    "login_failed": (
        # it: invented
        (
            "Accesso non riuscito per '{username}'. Verificare che il nome account sia corretto "
            "e reinserire la password rispettando maiuscole e minuscole."
        ),
        (
            "Login failed for '{username}'. Make sure your user name is correct and retype the "
            "password in the correct case."
        ),
    ),
    "logout": ("Esci", "Log Off"),  # it: invented
    "app_title": ("Archibald", "Archibald"),
    # Navigation menu.
    "menu_announcements": ("Annunci", "Announcements"),  # it: invented
    "menu_customers": ("Clienti", "Customers"),
    "menu_orders": ("Ordini", "Orders"),
    "menu_packing_slips": ("Documenti di trasporto", "Packing Slips"),  # it: invented
    "menu_invoices": ("Fatture", "Invoices"),
    "menu_master_data": ("MASTER DATA", "MASTER DATA"),
    # Announcements page (the texts are the simulator's own).
    "announcements": ("Annunci", "Announcements"),  # it: invented
    "announcement_welcome": ("Benvenuto, {name}.", "Welcome, {name}."),
    "announcement_cutoff": (
        "Gli ordini inviati a Verona entro le 12:00 partono in giornata.",
        "Orders sent to Verona by 12:00 ship the same day.",
    ),
    "announcement_prices": (
        "Listino prezzi aggiornato al 1 gennaio.",
        "Price list updated on January 1st.",
    ),
    # Orders list filter combo (FA:931-975; "All Orders " keeps the real trailing space).
    "filter_all_orders": ("Tutti gli ordini", "All Orders "),
    "filter_today": ("Ordini di oggi", "Orders from today"),  # it: invented
    "filter_week": ("Ordini di questa settimana", "Orders from this week"),  # it: invented
    "filter_month": ("Ordini di questo mese", "Orders from this month"),  # it: invented
    "filter_entered": ("Ordini inseriti", "Orders entered"),  # it: invented
    "filter_completed": ("Ordini completati", "Orders completed"),  # it: invented
    "filter_approval": (
        "Ordini in approvazione Regional Manager",  # it: invented
        "Orders Approval Regional Manager",
    ),
    "filter_transferred": ("Ordini trasferiti", "Orders transferred"),  # it: invented
    "filter_quote": ("Preventivo", "Quote"),  # it: invented
    # Customer list filter items (structure dump).
    "filter_all_customers": ("Tutti i clienti", "All Customers"),  # it: invented
    "filter_exclusive_customers": ("Clienti in esclusiva", "Exclusiv customers"),  # it: invented
    "filter_free_customers": ("Clienti liberi", "Free customers"),  # it: invented
    # Order values (FACTS §5; the English misspellings are the real ones).
    "status_modified": ("Modifica", "modified"),
    "status_waiting_approval": ("In attesa di approvazione", "Approvel_regionalmanager"),
    "status_transferred": ("Trasferito", "Transfered"),
    "status_completed": ("Completato", "Completed"),
    "status_transfer_error": ("Errore di trasferimento", "Transfer Error"),  # it: invented
    "sales_status_open": ("Ordine aperto", "Open order"),
    "sales_status_invoiced": ("Fatturato", "Invoiced"),  # it: invented
    "sales_type_journal": ("Giornale", "Journal"),
    "document_status_none": ("Nessuno", "None"),
    "origin_agent": ("Agent", "Agent"),
    # Detail view tabs (FACTS §6, §2.14).
    "tab_main": ("Principale", "Main"),
    "tab_price_discount": ("Prezzi e sconti", "Price Discount"),
    "tab_alt_addresses": ("Indirizzo alt.", "Alt. addresses"),
    "tab_delivery_times": ("Orari di consegna", "Deliverytimes"),
    "tab_crm": ("Info CRM", "CRM Infos"),
    "tab_other": ("Altre informazioni", "Other Information"),
    "tab_overview": ("Panoramica", "Overview"),
    # Grids and popups (DevExpress / XAF standard English texts).
    "empty_grid": ("Nessun dato da visualizzare", "No data to display"),  # it: invented
    # it: invented
    "search_placeholder": ("Inserire il testo da cercare...", "Enter text to search..."),
    "confirm_delete": (
        "Si sta per eliminare gli oggetti selezionati. Continuare?",  # it: invented
        "You are about to delete the selected object(s). Do you want to proceed?",
    ),
    "confirm_send": (
        "Inviare gli ordini selezionati a Verona?",  # it: invented
        "Send the selected order(s) to Verona?",
    ),
    "server_error": ("Errore del server", "Server error"),
    "communication_error": ("Errore di comunicazione", "Communication error"),
    # Detail views (erpsim.detail_texts).
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
    # Customer BLOCKED (FACTS §13; English as Dynamics AX's CustVendorBlocked) and the
    # alternative addresses' TYPE.
    "blocked_no": ("No", "No"),
    "blocked_invoice": ("Fattura:", "Invoice"),
    "blocked_all": ("Completo", "Complete"),
    "address_delivery": ("Consegna", "Delivery"),
    "address_invoice": ("Fattura", "Invoice"),  # it: invented
    # Delivery notes and invoices (dump listViews.DDT/Invoices; IT from BOT:16060-16245 and
    # CONF/ddt.ts, CONF/invoices.ts).
    "download_pdf": ("Scarica PDF", "Get PDF"),
    "filter_doc_today": ("Oggi", "Today"),
    "filter_doc_week": ("Questa settimana", "This week"),
    "filter_doc_month": ("Questo mese", "This month"),
    "filter_doc_3months": ("Ultimi 3 mesi", "Last 3 month"),
    "filter_doc_all": ("Tutti", "All"),
    "filter_inv_3months": ("Ultimi 3 mesi", "Last 3 Month"),
    "filter_inv_open": ("Fatture aperte", "open invoices"),  # it: invented
    "filter_inv_overdue": ("Fatture scadute", "Overdued invoices"),  # it: invented
    "export_lines_pdf": ("Esporta in PDF", "Export to PDF"),  # it: invented
    # Price and line-discount lists (dump listViews.Prices/LineDiscounts).
    "menu_prices": ("Prezzi", "Prices"),  # it: invented
    "menu_line_discounts": ("Sconti di riga", "Line Discounts"),  # it: invented
    "filter_active_prices": ("Prezzi attivi", "Active prices"),  # it: invented
    "filter_closed_prices": ("Prezzi chiusi", "Closed prices"),  # it: invented
    # it: invented
    "filter_active_line_discounts": ("Sconti di riga attivi", "Active line discounts"),
    # it: invented
    "filter_closed_line_discounts": ("Sconti di riga chiusi", "Closed line discounts"),
    # The customer save's validation (d6-save-flow.json:29-39, d7-form-state-after-vat.json:15,
    # 285). The live Italian texts; en: invented in XAF's style.
    "validation_empty": ("{field}: non deve essere vuoto.", "{field}: must not be empty."),
    "validation_zero": ("{field}: non deve essere uguale a 0.", "{field}: must not be equal to 0."),
    # it, en: invented (the live form's message for a malformed phone is not recorded)
    "validation_phone": (
        "{field}: il valore non corrisponde al formato ^\\+[1-9]\\d{{1,15}}$.",
        "{field}: the value does not match the format ^\\+[1-9]\\d{{1,15}}$.",
    ),
    "validation_zip_empty": (
        "Indirizzo logistico CAP non deve essere vuoto.",
        "Logistics address ZIP code must not be empty.",
    ),
    "field_vat_number": ("Partita IVA", "VAT number"),
    "field_name": ("Ragione sociale", "Name"),
    "field_street": ("Via", "Street"),
    "field_pec": ("PEC", "PEC"),
    "field_sdi": ("SDI", "SDI"),
    "field_fiscal_code": ("codice fiscale", "Fiscal code"),
    "field_vat_valid": ("IVA validata", "VAT validated"),
    "field_phone": ("Telefono", "Phone"),
    "field_mobile": ("Cellulare", "Mobile"),
}

LABEL_KEYS: frozenset[str] = frozenset(_LABELS)


def label(key: str, lang: Lang) -> str:
    """The UI text ``key`` in ``lang``; an unknown key is a KeyError naming it (a typo, not data)."""
    try:
        italian, english = _LABELS[key]
    except KeyError:
        raise KeyError(f"no UI label {key!r}; the keys are listed in erpsim/culture.py") from None
    return italian if lang == "it" else english


def labels_in_all_languages(key: str) -> tuple[str, str]:
    """(italian, english) of ``key``: for code that must recognise a text in either culture."""
    return _LABELS[key]


@dataclass(frozen=True)
class CultureRules:
    """How one culture writes numbers and dates in the grid (mirrored in static/dxfmt.js)."""

    group: str
    decimal: str
    money_prefix: str
    money_suffix: str
    #: Negative money: en-US wraps it in parentheses ("($14.34)"), it-IT puts a minus in front.
    money_negative_parens: bool
    date_order: Literal["mdy", "dmy"]
    #: en-US: "6:24:57 AM" (hour unpadded, 12 h); it-IT: "06:24:57" (24 h).
    twelve_hour: bool


RULES: dict[Lang, CultureRules] = {
    "en": CultureRules(
        group=",",
        decimal=".",
        money_prefix="$",
        money_suffix="",
        money_negative_parens=True,
        date_order="mdy",
        twelve_hour=True,
    ),
    "it": CultureRules(
        group=".",
        decimal=",",
        money_prefix="",
        money_suffix=" EUR",
        money_negative_parens=False,
        date_order="dmy",
        twelve_hour=False,
    ),
}
DECIMAL_PLACES = 2


def format_value(kind: Kind, raw: str, lang: Lang) -> str:
    """A raw invariant value ("51847", "14.34", "2026-03-28T06:24:57") as the grid shows it.

    Empty stays empty; ``text`` is returned as is. Raises ValueError on a malformed value.
    """
    if raw == "" or kind == "text":
        return raw
    rules = RULES[lang]
    if kind == "int":
        return _group_number(Decimal(raw).to_integral_value(ROUND_HALF_UP), 0, rules)
    if kind == "decimal":
        return _group_number(Decimal(raw), DECIMAL_PLACES, rules)
    if kind == "percent":
        return _group_number(Decimal(raw), DECIMAL_PLACES, rules) + " %"
    if kind == "money":
        amount = Decimal(raw)
        body = rules.money_prefix + _group_number(abs(amount), DECIMAL_PLACES, rules)
        body += rules.money_suffix
        if _rounded(amount, DECIMAL_PLACES) < 0:
            return f"({body})" if rules.money_negative_parens else "-" + body
        return body
    if kind == "date":
        return _date_text(date.fromisoformat(raw[:10]), rules)
    if kind == "datetime":
        moment = datetime.fromisoformat(raw)
        return f"{_date_text(moment.date(), rules)} {_time_text(moment, rules)}"
    raise ValueError(f"unknown value kind {kind!r}; one of {', '.join(KINDS)}")


def _rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _group_number(value: Decimal, places: int, rules: CultureRules) -> str:
    rounded = _rounded(value, places)
    sign = "-" if rounded < 0 else ""
    digits = f"{abs(rounded):.{places}f}"
    whole, _, fraction = digits.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = sign + rules.group.join(groups)
    return text + rules.decimal + fraction if places else text


def _date_text(day: date, rules: CultureRules) -> str:
    if rules.date_order == "mdy":
        return f"{day.month}/{day.day}/{day.year:04d}"
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def _time_text(moment: datetime, rules: CultureRules) -> str:
    if rules.twelve_hour:
        hour = moment.hour % 12 or 12
        marker = "AM" if moment.hour < 12 else "PM"
        return f"{hour}:{moment.minute:02d}:{moment.second:02d} {marker}"
    return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
