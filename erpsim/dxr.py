"""The weight of the real page's DevExpress script resources (`DXR.axd`), never called.

A real XAF page loads the DevExpress client library from `DXR.axd` handlers: the browser
downloads, parses and compiles on the order of a megabyte of script per fresh context, which
is part of what a page costs Chromium's CPU (DESIGN §5). erpsim serves a generated bundle of
the same order — classes with prototype methods, as the library's are — so the bot's CPU per
page is measured against a realistic weight. Nothing in it is called: the API the pages use
lives in `static/dx.js`.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from aiohttp import web

#: About the size of the DevExpress scripts of one XAF page (uncompressed).
DEFAULT_BUNDLE_BYTES = 1_000_000
_SEED = 20260329
_NAMES = ("Grid", "Editor", "Popup", "Menu", "Pager", "Lookup", "Combo", "Callback", "Panel")
_VERBS = ("Get", "Set", "Update", "Render", "Process", "Raise", "Attach", "Detach", "Measure")


def _method(rng: random.Random, cls: str, n: int) -> str:
    verb = rng.choice(_VERBS)
    a, b = rng.randrange(2, 60), rng.randrange(1, 9)
    return (
        f"ASPxW.{cls}.prototype.{verb}Part{n} = function (e, s) {{\n"
        f"  var r = this.state ? this.state[{a}] : null; if (!e) {{ return r; }}\n"
        f"  for (var i = 0; i < {b}; i++) {{ if (e.childNodes && e.childNodes[i]) "
        f"{{ r = (r || 0) + e.childNodes[i].nodeType * {a}; }} }}\n"
        f'  if (s) {{ this.cssText = "dx{cls.lower()}{n}:" + (r || 0) + ";"; }}\n'
        "  return r;\n};\n"
    )


@lru_cache(maxsize=4)
def bundle(size_bytes: int = DEFAULT_BUNDLE_BYTES) -> str:
    """A deterministic script of about `size_bytes`: classes and their (unused) methods."""
    rng = random.Random(_SEED)
    parts = ["/* DXR.axd (erpsim): weight of the DevExpress client library */\n",
             "var ASPxW = window.ASPxW || {};\n"]
    size = sum(map(len, parts))
    n = 0
    while size < size_bytes:
        cls = f"{rng.choice(_NAMES)}{n // 40}"
        if n % 40 == 0:
            parts.append(f"ASPxW.{cls} = function (name) {{ this.name = name; this.state = []; }};\n")
        part = _method(rng, cls, n)
        parts.append(part)
        size += len(part)
        n += 1
    return "".join(parts)


async def dxr(request: web.Request) -> web.Response:
    """`GET DXR.axd?r=…`: the bundle, cacheable as the real resource handler's answers are."""
    text = bundle()
    etag = hashlib.sha1(text.encode()).hexdigest()[:16]
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304)
    return web.Response(
        text=text,
        content_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000", "ETag": etag},
    )
