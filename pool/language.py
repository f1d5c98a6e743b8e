"""The browser's culture: which language Archibald's labels and grid formats come out in.

The real ERP picks label language from the ``Accept-Language`` header and formats grid numbers
and dates for ``navigator.language`` (FACTS §0). Chromium's ``--lang`` does not move
``navigator.language`` on Linux (measured with Debian's chromium and chromium-headless-shell:
it stays en-US, and the headless shell sends no Accept-Language at all); ``--accept-lang``
sets both ``navigator.language`` and the header. So Chromium gets ``--lang`` (for platforms
where it counts) and ``--accept-lang``, and every page also sends the exact header
``{lang},{primary};q=0.9`` via CDP, whatever the browser would have made of the flag.
"""

from __future__ import annotations

import re

#: The bot works in Italian, like the agents' own browsers (the ERP is configured for Italy).
DEFAULT_LANG = "it-IT"
_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def check_lang(lang: str) -> str:
    """``lang`` if it is a BCP 47 language tag such as "it-IT" or "en"; ValueError otherwise."""
    if not _TAG_RE.match(lang):
        raise ValueError(f"not a language tag like 'it-IT' or 'en-US': {lang!r}")
    return lang


def primary_language(lang: str) -> str:
    """ "it-IT" → "it"."""
    return check_lang(lang).split("-", 1)[0].lower()


def accept_language(lang: str) -> str:
    """The Accept-Language header pages send: "it-IT" → "it-IT,it;q=0.9", "it" → "it"."""
    primary = primary_language(lang)
    return lang if primary == lang.lower() else f"{lang},{primary};q=0.9"


def chromium_language_args(lang: str) -> tuple[str, ...]:
    """Chromium switches that make ``navigator.language`` (and the default header) ``lang``."""
    primary = primary_language(lang)
    languages = lang if primary == lang.lower() else f"{lang},{primary}"
    return (f"--lang={lang}", f"--accept-lang={languages}")
