"""``/healthz`` (the process answers), ``/readyz`` (its dependencies do), ``/metrics``.

``/healthz`` and ``/readyz`` need no token (load balancers and orchestrators call them);
``/metrics`` needs one like the rest of the API (Prometheus sends it with
``authorization: {credentials: TOKEN}`` in the scrape config), since it names agents.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import redis
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from archibot.api.auth import require_token
from archibot.api.metrics import ArchibotCollector
from archibot.api.services import Services
from archibot.heartbeats import read_heartbeats
from store.errors import DatabaseUnavailable

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The API process is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "a dependency is down"}})
def readyz(request: Request) -> JSONResponse:
    """PostgreSQL and Redis answer, and a worker's heartbeat is fresher than ARCHIBOT_HEARTBEAT_TTL_S."""
    svc: Services = request.app.state.services
    checks: dict[str, Any] = {}
    started = time.monotonic()
    try:
        with svc.client.db.connection() as conn:
            conn.execute("SELECT 1")
        checks["postgres"] = "ok"
    except (DatabaseUnavailable, psycopg.Error) as exc:
        checks["postgres"] = f"error: {exc}"
    try:
        svc.redis.ping()
        checks["redis"] = "ok"
        beats = read_heartbeats(svc.redis)
        checks["workers"] = len(beats)
    except redis.RedisError as exc:
        checks["redis"] = f"error: {exc}"
        checks["workers"] = 0
    ready = checks["postgres"] == "ok" and checks["redis"] == "ok" and checks["workers"] > 0
    body = {"status": "ready" if ready else "not ready", "checks": checks,
            "ms": round((time.monotonic() - started) * 1000, 1)}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", tags=["health"], dependencies=[Depends(require_token)],
            response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    """Prometheus text format, computed now from PostgreSQL and the workers' heartbeats."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def metrics_registry(svc: Services) -> CollectorRegistry:
    """A registry holding only Archibot's collector (no per-process default metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ArchibotCollector(svc.client.db, svc.redis, webhooks=bool(svc.settings.webhook_url),
                                        logins=svc.client.logins))
    return registry
