"""Preparing a new page: resource blocking, timeouts and the Accept-Language it sends.

Images, fonts and media are blocked because Chromium's CPU is the scarce
resource (DESIGN §5); stylesheets are kept, the ERP's visibility checks need
layout. Two mechanisms, both free per request:

* ``--blink-settings=imagesEnabled=false`` (see :mod:`pool.browser`): Blink
  never fetches nor decodes an image, whatever its URL or CSS origin.
* CDP ``Network.setBlockedURLs`` with URL patterns for fonts, media and image
  files: the network service refuses them before any request goes out.

Request interception (``page.setRequestInterception``) is not used: it pauses
every request, scripts and callbacks included, for a round trip to Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyppeteer.page import Page

DEFAULT_NAVIGATION_TIMEOUT_MS = 30_000

_BLOCKED_EXTENSIONS: tuple[str, ...] = (
    # images (belt and braces: imagesEnabled=false already stops <img> and CSS images)
    "png", "jpg", "jpeg", "gif", "webp", "avif", "bmp", "ico",
    # fonts
    "woff", "woff2", "ttf", "otf", "eot",
    # media
    "mp4", "webm", "ogg", "ogv", "mp3", "wav", "m4a", "avi", "mov",
)  # fmt: skip

#: CDP URL patterns (``*`` matches anything): each extension bare and with a query string.
DEFAULT_BLOCKED_PATTERNS: tuple[str, ...] = tuple(
    pattern for ext in _BLOCKED_EXTENSIONS for pattern in (f"*.{ext}", f"*.{ext}?*")
)


async def prepare_page(
    page: Page,
    *,
    blocked_url_patterns: Sequence[str] = DEFAULT_BLOCKED_PATTERNS,
    navigation_timeout_ms: int = DEFAULT_NAVIGATION_TIMEOUT_MS,
    accept_language: str = "",
) -> None:
    """Block the page's heavy resources, set its default navigation timeout and, if given,
    the ``Accept-Language`` header of all its requests (the ERP's label language)."""
    page.setDefaultNavigationTimeout(navigation_timeout_ms)
    if accept_language:
        await page.setExtraHTTPHeaders({"Accept-Language": accept_language})
    if blocked_url_patterns:
        # pyppeteer has no wrapper for it; its NetworkManager already sent Network.enable.
        await page._client.send("Network.setBlockedURLs", {"urls": list(blocked_url_patterns)})
