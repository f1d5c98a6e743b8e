"""The pool's pages speak the bot's language: ERP labels and grid formats follow ARCHIBOT_ERP_LANG."""

from __future__ import annotations

from typing import Any

import pytest

from archibot.settings import DEFAULT_ERP_LANG, Settings
from erp.session import login
from pool import BrowserPool
from pool.language import accept_language, chromium_language_args, primary_language
from tests.fix_erpsim import SimProcess

CHROMIUM_PATH = Settings.from_env().chromium
AGENT, PASSWORD = "agent01", "pw-agent01"

#: What a page shows, read in the browser: labels (server side) and a grid-formatted number,
#: date-time and amount (navigator.language, through dxfmt.js).
_SHOWN_JS = """() => ({
  language: navigator.language,
  title: document.title,
  login: document.querySelector('#Logon_PopupActions_Menu_DXI0_T').textContent.trim(),
  id: ASPxFormat('int', '51847'),
  moment: ASPxFormat('datetime', '2026-03-28T06:24:57'),
  amount: ASPxFormat('money', '250.01'),
})"""


async def _what_the_pool_shows(erp_url: str, lang: str) -> tuple[dict[str, Any], list[str]]:
    pool = BrowserPool(chromium_path=CHROMIUM_PATH, contexts_per_browser=1, lang=lang)
    async with pool, pool.context(AGENT) as session:
        await session.page.goto(erp_url + "Login.aspx")
        shown = await session.page.evaluate(_SHOWN_JS)
        await login(session.page, erp_url, AGENT, PASSWORD)
        menu = await session.page.evaluate(
            "() => [...document.querySelectorAll('a.dxnb-link')].map(a => a.textContent)"
        )
    return shown, menu


def test_the_default_culture_is_italian(aio: Any, erp: SimProcess) -> None:
    assert DEFAULT_ERP_LANG == Settings.from_env({}).erp_lang == "it-IT"
    shown, menu = aio.run(_what_the_pool_shows(erp.url, DEFAULT_ERP_LANG))
    assert shown == {
        "language": "it-IT",
        "title": "Accesso",
        "login": "Accedi",
        "id": "51.847",
        "moment": "28/03/2026 06:24:57",
        "amount": "250,01 EUR",
    }
    assert menu[:3] == ["Annunci", "Clienti", "Ordini"]


def test_en_us_gets_english_labels_and_formats(aio: Any, erp: SimProcess) -> None:
    lang = Settings.from_env({"ARCHIBOT_ERP_LANG": "en-US"}).erp_lang
    shown, menu = aio.run(_what_the_pool_shows(erp.url, lang))
    assert shown == {
        "language": "en-US",
        "title": "Log In",
        "login": "Log In",
        "id": "51,847",
        "moment": "3/28/2026 6:24:57 AM",
        "amount": "$250.01",
    }
    assert menu[:3] == ["Announcements", "Customers", "Orders"]


def test_language_helpers() -> None:
    assert accept_language("it-IT") == "it-IT,it;q=0.9"
    assert accept_language("en") == "en"
    assert primary_language("en-US") == "en"
    assert chromium_language_args("it-IT") == ("--lang=it-IT", "--accept-lang=it-IT,it")
    with pytest.raises(ValueError, match="language tag"):
        accept_language("it_IT")
