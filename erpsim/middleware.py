"""Per-request behaviour of the simulated server: auth, latency, faults, overlap counting.

One session's requests are served one at a time (its lock, see erpsim.sessions): the
latency and the handler of a second concurrent request start when the first is answered.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from erpsim import urls
from erpsim.callbacks import parse_callback, redirect_reply
from erpsim.errors import InjectedFault
from erpsim.html_layout import server_error_page
from erpsim.responses import found
from erpsim.sessions import AUTH_COOKIE, SESSION_COOKIE, Session
from erpsim.sim import sim_of
from erpsim.timing import RequestKind, request_kind

PUBLIC_PATHS = {urls.LOGIN.lower(), urls.LOGOUT.lower()}


def _is_dynamic(path: str) -> bool:
    # Script resources are static for the server: no session, no latency, no overlap count.
    return (
        path.startswith(urls.BASE)
        and not path.startswith(urls.STATIC)
        and path != urls.DXR
    )


@web.middleware
async def archibald(request: web.Request, handler: Any) -> web.StreamResponse:
    """Count, authenticate and delay every dynamic request, and inject page faults.

    During an outage (fault ``outage_s``) every request but the admin API's answers 503;
    with ``redirect_host`` set, every page asked for on another host is sent on to it.
    """
    moved_to = sim_of(request).faults.redirect_host
    if moved_to and request.path.startswith(urls.BASE) and request.url.host != moved_to:
        sim_of(request).counters.moved_redirects += 1
        return found(str(request.url.with_host(moved_to)))
    if not request.path.startswith("/__sim/"):
        outage = sim_of(request).faults.outage_left_s()
        if outage > 0:
            sim_of(request).counters.outage_rejections += 1
            return web.Response(
                text="<html><body><h1>503 Service Unavailable</h1></body></html>",
                content_type="text/html", status=503, headers={"Retry-After": str(int(outage) + 1)},
            )
    if not _is_dynamic(request.path):
        response: web.StreamResponse = await handler(request)
        return response
    sim = sim_of(request)
    counters = sim.counters
    counters.requests += 1
    callback = None
    if request.method == "POST":
        form = await request.post()
        request["form"] = form
        callback = parse_callback(form)
        if callback is not None:
            counters.callbacks += 1
    kind = request_kind(
        request.method,
        request.path,
        None if callback is None else callback.control,
        "" if callback is None else callback.command,
    )
    request["callback"] = callback
    if request.path.lower() in PUBLIC_PATHS:
        await sim.engine.sleep(kind)
        response = await handler(request)
        return response
    session = sim.sessions.lookup(
        request.cookies.get(SESSION_COOKIE),
        request.cookies.get(AUTH_COOKIE),
        sim.faults.session_expiry_s,
    )
    if session is None:
        if request.cookies.get(AUTH_COOKIE):
            counters.session_expiries += 1
        await sim.engine.sleep(RequestKind.PAGE)
        target = urls.login_redirect(request.path_qs)
        if callback is not None:
            return redirect_reply(target)
        return found(target)
    request["session"] = session
    agent = session.agent
    # An overlap is two requests of one agent arriving at once, whether or not the session
    # lock then makes the second wait: the bot's own agent lock should have prevented it.
    if counters.in_flight[agent] > 0:
        counters.overlaps += 1
        counters.overlaps_by_agent[agent] += 1
    counters.in_flight[agent] += 1
    # From arrival to answer, a wait for the session lock included: the ERP's time as the
    # bot sees it. Login pages come before any session and are not attributed to an agent.
    arrived_s = time.time()
    try:
        if session.lock.locked():
            counters.session_waits += 1
        async with session.lock:
            return await _serve(request, handler, session, kind)
    finally:
        counters.in_flight[agent] -= 1
        sim.request_log.record(agent, arrived_s, time.time(), kind.value)


async def _serve(
    request: web.Request, handler: Any, session: Session, kind: RequestKind
) -> web.StreamResponse:
    """Serve one request of ``session`` (its lock held): latency, injected faults, handler."""
    sim = sim_of(request)
    counters = sim.counters
    session.active += 1
    counters.session_max_active = max(counters.session_max_active, session.active)
    try:
        await sim.engine.sleep(kind)
        if request.method == "GET" and sim.engine.server_error():
            counters.server_errors += 1
            return web.Response(text=server_error_page(), content_type="text/html", status=500)
        try:
            response: web.StreamResponse = await handler(request)
        except InjectedFault:
            return web.Response(text=server_error_page(), content_type="text/html", status=500)
        return response
    finally:
        session.active -= 1
