"""The admin and inspection API under /__sim/ (JSON in and out)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from erpsim import list_state, views_admin_rows, views_documents
from erpsim.config import MAX_AGENTS
from erpsim.errors import ConfigError
from erpsim.sim import Sim, sim_of

ADMIN_HEADER = "X-Sim-Token"
STATE_PARTS = ("agents", "customers", "orders", "products")


def _authorized(sim: Sim, request: web.Request) -> bool:
    if sim.admin_open:
        return True
    token = sim.config.admin_token
    return bool(token) and request.headers.get(ADMIN_HEADER) == token


@web.middleware
async def admin_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse /__sim/ calls without the admin token unless the sim runs in test mode."""
    if request.path.startswith("/__sim/") and not _authorized(sim_of(request), request):
        return web.json_response(
            {"error": f"forbidden: send header {ADMIN_HEADER} or start erpsim with --test-mode"},
            status=403,
        )
    response: web.StreamResponse = await handler(request)
    return response


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


async def reset(request: web.Request) -> web.Response:
    sim = sim_of(request)
    body = await _json_body(request)
    agents = body.get("agents")
    if agents is not None and not 1 <= int(agents) <= MAX_AGENTS:
        return web.json_response({"error": f"agents must be 1..{MAX_AGENTS}"}, status=400)
    sim.reset(
        None if body.get("seed") is None else int(body["seed"]),
        None if agents is None else int(agents),
    )
    if isinstance(body.get("faults"), dict):
        try:
            sim.faults.update(body["faults"])
        except ConfigError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        sim.engine.reseed()
    return web.json_response({"ok": True, "seed": sim.state.seed, "agents": len(sim.state.agents)})


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).faults.to_json())


async def put_faults(request: web.Request) -> web.Response:
    sim = sim_of(request)
    body = await _json_body(request)
    try:
        sim.faults.update(body)
    except ConfigError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    if "seed" in body:
        sim.engine.reseed()
    return web.json_response(sim.faults.to_json())


async def state(request: web.Request) -> web.Response:
    sim = sim_of(request)
    raw = request.query.get("include", "")
    include = {p.strip() for p in raw.split(",") if p.strip()} if raw else set(STATE_PARTS)
    data = sim.state.to_json(include, with_passwords=sim.config.test_mode)
    agent = request.query.get("agent")
    if agent:
        for part in ("customers", "orders"):
            if part in data:
                data[part] = [row for row in data[part] if row["agent"] == agent]
    return web.json_response(data)


async def counters(request: web.Request) -> web.Response:
    return web.json_response(sim_of(request).counters.to_json())


async def writes(request: web.Request) -> web.Response:
    """The write log: every committed write still kept (WRITE_LOG_SIZE), oldest first."""
    return web.json_response({"writes": [w.to_json() for w in sim_of(request).write_log]})


async def expire(request: web.Request) -> web.Response:
    sim = sim_of(request)
    body = await _json_body(request)
    agent = body.get("agent")
    if agent:
        expired = sim.sessions.expire_agent(str(agent))
    else:
        expired = sum(sim.sessions.expire_agent(a) for a in list(sim.state.agents))
    return web.json_response({"expired": expired})


async def get_logins(request: web.Request) -> web.Response:
    """Login attempts per client address in the window, and which addresses are blocked."""
    sim = sim_of(request)
    faults = sim.faults
    return web.json_response(sim.login_limiter.to_json(faults.login_limit, faults.login_window_s))


async def reset_logins(request: web.Request) -> web.Response:
    """Forget every address's login attempts: the operator lifts the block."""
    sim = sim_of(request)
    sim.login_limiter.clear()
    faults = sim.faults
    return web.json_response(sim.login_limiter.to_json(faults.login_limit, faults.login_window_s))


async def request_times(request: web.Request) -> web.Response:
    """When each answered request of a session was in the server: arrival to answer, wall time.

    Query: `agent` (else every agent's), `since` (epoch seconds: requests that ended at or
    after it). Answer: `{"agents": {agent: [{"start_s", "end_s", "kind"}, …]}}`, oldest first.
    """
    sim = sim_of(request)
    raw_since = request.query.get("since")
    try:
        since_s = None if raw_since is None else float(raw_since)
    except ValueError:
        return web.json_response({"error": f"since must be epoch seconds, not {raw_since!r}"}, status=400)
    agents: dict[str, list[dict[str, Any]]] = {}
    for t in sim.request_log.read(request.query.get("agent") or None, since_s):
        agents.setdefault(t.agent, []).append(t.to_json())
    return web.json_response({"agents": agents})


LIST_VIEWS = ("customers", "orders", "products", "prices", "line_discounts")
#: The filter combo of each list view that has one (products has none).
VIEW_FILTERS = {
    "customers": list_state.CUSTOMER_FILTERS,
    "orders": list_state.ORDER_FILTERS,
    "prices": list_state.PRICE_FILTERS,
    "line_discounts": list_state.LINE_DISCOUNT_FILTERS,
}


async def get_list_state(request: web.Request) -> web.Response:
    """What the server remembers of each agent's lists (page size, page index, filter)."""
    return web.json_response({"list_state": sim_of(request).list_state.to_json()})


async def put_list_state(request: web.Request) -> web.Response:
    """Set an agent's remembered list state, e.g. a hostile one for a test.

    Body: `{"agent", "view": one of LIST_VIEWS, "page_size"?, "page_index"?, "filter"?,
    "hidden"?, "sort"?}`; the filter is an item's value suffix or its text in either
    language; `hidden` lists field names the user hid with the column chooser; `sort` is
    `[[field, "ASC"|"DSC"], …]`, most significant first.
    """
    sim = sim_of(request)
    body = await _json_body(request)
    agent = str(body.get("agent") or "")
    view = str(body.get("view") or "")
    if agent not in sim.state.agents:
        return web.json_response({"error": f"unknown agent {agent!r}"}, status=400)
    if view not in LIST_VIEWS:
        return web.json_response({"error": f"view must be one of {sorted(LIST_VIEWS)}"}, status=400)
    filter_value = None
    if body.get("filter") is not None:
        combo = VIEW_FILTERS.get(view, list_state.ORDER_FILTERS)
        wanted = str(body["filter"]).strip().lower()
        match = [
            i.value for i in combo.items
            if wanted in (i.value.lower(), *(t.strip().lower() for t in i.texts()))
        ]
        if view not in VIEW_FILTERS or not match:
            return web.json_response({"error": f"no filter {body['filter']!r} on {view}"}, status=400)
        filter_value = match[0]
    try:
        prefs = sim.list_state.set(
            agent,
            view,
            page_size=None if body.get("page_size") is None else int(body["page_size"]),
            page_index=None if body.get("page_index") is None else int(body["page_index"]),
            filter_value=filter_value,
            hidden=None if body.get("hidden") is None else tuple(str(f) for f in body["hidden"]),
            sort=None if body.get("sort") is None else tuple(
                (str(f), str(o).upper()) for f, o in body["sort"]
            ),
        )
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"agent": agent, "view": view, **prefs.to_json()})


def add_routes(app: web.Application) -> None:
    views_documents.add_routes(app)
    app.router.add_get("/__sim/list-state", get_list_state)
    app.router.add_put("/__sim/list-state", put_list_state)
    app.router.add_post("/__sim/reset", reset)
    app.router.add_get("/__sim/faults", get_faults)
    app.router.add_put("/__sim/faults", put_faults)
    app.router.add_get("/__sim/state", state)
    app.router.add_get("/__sim/counters", counters)
    app.router.add_get("/__sim/request-times", request_times)
    app.router.add_get("/__sim/writes", writes)
    app.router.add_post("/__sim/expire", expire)
    app.router.add_get("/__sim/logins", get_logins)
    app.router.add_delete("/__sim/logins", reset_logins)
    views_admin_rows.add_routes(app)
