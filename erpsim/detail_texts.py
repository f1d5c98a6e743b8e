"""UI texts of the detail views in both languages, and the request's label language.

The real server picks label language from Accept-Language (FACTS §0). Every text comes from
erpsim.culture's one table, so a page never mixes languages.
"""

from __future__ import annotations

from aiohttp import web

from erpsim import culture
from erpsim.culture import Lang

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
    """A detail-view UI text (erpsim.culture's one table of labels)."""
    return culture.label(key, lang)


def value_text(value: str, lang: Lang) -> str:
    """A status value as the page shows it in `lang`."""
    key = _VALUES.get(value)
    return culture.label(key, lang) if key else value
