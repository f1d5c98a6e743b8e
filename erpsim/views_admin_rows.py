"""Admin calls that make records disappear from the ERP or change under the bot (`/__sim/`).

The syncs' guards need an ERP whose lists lose rows (someone deleted them, a remembered filter
hides most of them) and the skip-unchanged logic needs records that change (their
MODIFIEDDATETIME moves). Both act on the simulator's records themselves, so the list views,
the detail views and `/__sim/state` all see the same thing.

* `POST /__sim/remove` `{"entity", "agent"?, "keys": [...]}` or `{"entity", "agent"?,
  "keep": 0.4}` → `{"removed": [keys]}`;
* `POST /__sim/touch` `{"entity", "agent"?, "key"}` → `{"touched": key, "modified": iso}`.

Entities: `customers` (key: account) and `orders` (key: order id) of one agent; `products`
(item id), `prices` and `line_discounts` (row id), the same for everyone.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from erpsim.prices import iso_local
from erpsim.sim import Sim, sim_of
from erpsim.state import SimState

PER_AGENT = ("customers", "orders")
GLOBAL = ("products", "prices", "line_discounts")
ENTITIES = PER_AGENT + GLOBAL


class BadRequest(Exception):
    """The admin call names no entity, agent or key this simulator has."""


def _keys(state: SimState, entity: str, agent: str) -> list[str]:
    """Every key of the entity, in the list's own order."""
    if entity == "customers":
        return [c.account for c in state.customers_by_agent.get(agent, [])]
    if entity == "orders":
        return [str(o.id) for o in state.agent_orders(agent)]
    if entity == "products":
        return [p.item_id for p in state.products]
    return [r.key for r in state.price_book.rows(entity)]


def kept_share(keys: list[str], keep: float) -> set[str]:
    """The keys a `keep` fraction leaves, spread evenly over the list (never the first page
    only): key i stays when floor((i + 1) * keep) > floor(i * keep)."""
    return {k for i, k in enumerate(keys) if int((i + 1) * keep) > int(i * keep)}


def remove_rows(state: SimState, entity: str, agent: str, keys: set[str]) -> list[str]:
    """Delete records for good; the keys that existed, in list order."""
    gone = [k for k in _keys(state, entity, agent) if k in keys]
    if entity == "customers":
        for customer in [state.customers_by_account[k] for k in gone]:
            state.customers.remove(customer)
            state.customers_by_agent[agent].remove(customer)
            del state.customers_by_account[customer.account]
            del state.customers_by_id[customer.id]
            state.touched_customers.discard(customer.id)
    elif entity == "orders":
        for key in gone:
            del state.orders[int(key)]
    elif entity == "products":
        state.products[:] = [p for p in state.products if p.item_id not in keys]
        for key in gone:
            del state.products_by_id[key]
    else:
        state.price_book.remove(entity, keys)
    state.persist()
    return gone


def touch_row(state: SimState, entity: str, agent: str, key: str) -> str | None:
    """Someone changed the record now: its MODIFIEDDATETIME (its `changed`) moves; the new
    value, or None when there is no such record."""
    now = time.time()
    if entity == "customers":
        customer = state.agent_customer(agent, key)
        if customer is None:
            return None
        customer.changed = max(now, customer.changed + 1)
        state.touched_customers.add(customer.id)
        state.persist()
        return iso_local(customer.changed)
    if entity == "orders":
        order = state.orders.get(int(key)) if key.isdigit() else None
        if order is None or order.agent != agent:
            return None
        order.changed = max(now, order.changed + 1)
        state.persist()
        return iso_local(order.changed)
    if entity == "products":
        return state.price_book.touch_product(key, now)
    return state.price_book.touch(entity, key, now)


def _target(sim: Sim, body: dict[str, Any]) -> tuple[str, str]:
    entity = str(body.get("entity") or "")
    if entity not in ENTITIES:
        raise BadRequest(f"entity must be one of {list(ENTITIES)}, not {entity!r}")
    agent = str(body.get("agent") or "")
    if entity in PER_AGENT and agent not in sim.state.agents:
        raise BadRequest(f"{entity} belong to an agent: unknown agent {agent!r}")
    return entity, agent


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    return body


async def remove(request: web.Request) -> web.Response:
    """POST /__sim/remove: records disappear from the ERP (by key, or all but a share)."""
    sim = sim_of(request)
    try:
        body = await _body(request)
        entity, agent = _target(sim, body)
        if body.get("keep") is not None:
            keep = float(body["keep"])
            if not 0.0 <= keep <= 1.0:
                raise BadRequest(f"keep must be a fraction 0..1, not {keep}")
            every = _keys(sim.state, entity, agent)
            keys = set(every) - kept_share(every, keep)
        elif isinstance(body.get("keys"), list):
            keys = {str(k) for k in body["keys"]}
        else:
            raise BadRequest('send "keys": [...] or "keep": fraction')
    except (BadRequest, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"removed": remove_rows(sim.state, entity, agent, keys)})


async def touch(request: web.Request) -> web.Response:
    """POST /__sim/touch: another user changed a record (its MODIFIEDDATETIME moves)."""
    sim = sim_of(request)
    try:
        body = await _body(request)
        entity, agent = _target(sim, body)
    except BadRequest as exc:
        return web.json_response({"error": str(exc)}, status=400)
    key = str(body.get("key") or "")
    modified = touch_row(sim.state, entity, agent, key)
    if modified is None:
        return web.json_response({"error": f"no {entity} record {key!r}"}, status=404)
    return web.json_response({"touched": key, "modified": modified})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/__sim/remove", remove)
    app.router.add_post("/__sim/touch", touch)
