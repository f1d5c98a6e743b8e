"""The dashboard at ``/``: server-rendered (Jinja2), live through the ``/v1/events`` stream.

Agents with their state and queue, running operations with progress, recent
operations with their errors, a form to send one, cancel and resend buttons. The
browser logs in by posting a token to ``/login``, kept in an HttpOnly, SameSite=Strict
cookie that the API's auth accepts like a bearer header. No build step: one template,
a few lines of plain JavaScript.
"""

from __future__ import annotations

import json
import urllib.parse
from importlib.resources import files
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from archibot.api.auth import COOKIE_NAME, presented_token
from archibot.api.routes import agent_states
from archibot.api.services import Services
from archibot.client import status_dict
from archibot.operations import OPERATION_TYPES
from store.states import Status

#: Recent operations the dashboard lists.
DEFAULT_RECENT = 30

router = APIRouter(include_in_schema=False)
_templates = jinja2.Environment(
    loader=jinja2.FunctionLoader(
        lambda name: (files("archibot.api") / "templates" / name).read_text(encoding="utf-8")
    ),
    autoescape=True,
)
_templates.filters["tojson_compact"] = lambda v: json.dumps(v, separators=(",", ":"))


def _services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def _authed(request: Request) -> bool:
    return _services(request).tokens.is_valid(presented_token(request))


def state(svc: Services) -> dict[str, Any]:
    """What the page shows."""
    recent = [status_dict(r) for r in svc.client.reports.find(limit=DEFAULT_RECENT)]
    running = [status_dict(r) for r in svc.client.reports.find(status=Status.RUNNING, limit=100)]
    failures = [status_dict(r) for r in svc.client.reports.find(status=Status.FAILED, limit=10)]
    return {"agents": agent_states(svc), "running": running, "recent": recent, "failures": failures}


@router.get("/", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    """The dashboard, or the login form without a good token."""
    if not _authed(request):
        return HTMLResponse(_templates.get_template("login.html").render(error=None), status_code=401)
    svc = _services(request)
    html = _templates.get_template("dashboard.html").render(
        types=list(OPERATION_TYPES), **state(svc)
    )
    return HTMLResponse(html)


@router.get("/dashboard/state", response_class=HTMLResponse)
def fragment(request: Request) -> HTMLResponse:
    """The page's live part, re-fetched when the event stream says something changed."""
    if not _authed(request):
        return HTMLResponse("", status_code=401)
    return HTMLResponse(_templates.get_template("state.html").render(**state(_services(request))))


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the posted token; keep it in the dashboard's cookie."""
    form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    svc = _services(request)
    from starlette.concurrency import run_in_threadpool

    if not await run_in_threadpool(svc.tokens.is_valid, token):
        html = _templates.get_template("login.html").render(error="That token is not valid.")
        return HTMLResponse(html, status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the dashboard's cookie."""
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response
