"""Small HTTP response helpers."""

from __future__ import annotations

from aiohttp import web


def found(location: str) -> web.Response:
    """A 302 whose Location is sent verbatim (aiohttp's HTTPFound would re-normalise %2f)."""
    return web.Response(status=302, headers={"Location": location})
