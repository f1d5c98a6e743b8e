"""WebForms hidden fields: an opaque __VIEWSTATE carrying the page and draft key, MAC-checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

VIEWSTATE_GENERATOR = "CA0B0334"
_SECRET = secrets.token_bytes(16)


@dataclass(frozen=True)
class ViewState:
    """What the simulator keeps in a page's __VIEWSTATE."""

    page: str
    draft_key: str = ""


def encode(state: ViewState) -> tuple[str, str]:
    """(__VIEWSTATE, __EVENTVALIDATION) for a page."""
    raw = json.dumps({"p": state.page, "k": state.draft_key, "n": secrets.token_hex(4)})
    viewstate = "/wEP" + base64.b64encode(raw.encode()).decode()
    return viewstate, _mac(viewstate)


def decode(
    viewstate: str | None, generator: str | None, validation: str | None
) -> ViewState | None:
    """The posted view state, or None when it is missing or tampered with."""
    if not viewstate or not validation or generator != VIEWSTATE_GENERATOR:
        return None
    if not hmac.compare_digest(_mac(viewstate), validation):
        return None
    try:
        data = json.loads(base64.b64decode(viewstate[4:]))
        return ViewState(page=str(data["p"]), draft_key=str(data.get("k", "")))
    except (ValueError, KeyError):
        return None


def hidden_fields(state: ViewState) -> str:
    """The hidden inputs every WebForms page carries."""
    viewstate, validation = encode(state)
    return (
        '<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="">'
        '<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="">'
        f'<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{viewstate}">'
        f'<input type="hidden" name="__VIEWSTATEGENERATOR" id="__VIEWSTATEGENERATOR" value="{VIEWSTATE_GENERATOR}">'
        f'<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="{validation}">'
    )


def _mac(viewstate: str) -> str:
    digest = hmac.new(_SECRET, viewstate.encode(), hashlib.sha256).digest()[:20]
    return "/wEd" + base64.b64encode(digest).decode()
