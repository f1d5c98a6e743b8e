"""The callback protocol between dx.js and the handlers.

A callback is a POST to the page's own URL carrying `__CALLBACKID` (the control's
client name), `__CALLBACKPARAM` (JSON) and the page's WebForms hidden fields. The
answer is JSON that dx.js applies: `updates` (element id -> inner HTML), `state`
(the control's new client state), `values` (input id -> value), `show`/`hide`
(element ids), `url` (history.replaceState), `redirect` (navigate), `error` (popup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Callback:
    """One parsed callback request."""

    control: str
    param: dict[str, Any]

    @property
    def command(self) -> str:
        return str(self.param.get("cmd", ""))


def parse_callback(form: Any) -> Callback | None:
    control = form.get("__CALLBACKID")
    if not control:
        return None
    try:
        param = json.loads(form.get("__CALLBACKPARAM") or "{}")
    except ValueError:
        param = {}
    return Callback(control=str(control), param=param if isinstance(param, dict) else {})


def reply(**fields: Any) -> web.Response:
    return web.json_response({k: v for k, v in fields.items() if v is not None})


def redirect_reply(url: str) -> web.Response:
    return web.json_response({"redirect": url})
