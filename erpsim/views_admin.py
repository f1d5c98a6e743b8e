"""The admin and inspection API under /__sim/ (JSON in and out)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

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


async def expire(request: web.Request) -> web.Response:
    sim = sim_of(request)
    body = await _json_body(request)
    agent = body.get("agent")
    if agent:
        expired = sim.sessions.expire_agent(str(agent))
    else:
        expired = sum(sim.sessions.expire_agent(a) for a in list(sim.state.agents))
    return web.json_response({"expired": expired})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/__sim/reset", reset)
    app.router.add_get("/__sim/faults", get_faults)
    app.router.add_put("/__sim/faults", put_faults)
    app.router.add_get("/__sim/state", state)
    app.router.add_get("/__sim/counters", counters)
    app.router.add_post("/__sim/expire", expire)
