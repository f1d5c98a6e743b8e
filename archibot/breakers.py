"""Where the circuit breakers keep their state, and how ``archibot status`` reads it.

The ERP's breaker lives in Redis (shared by every worker, see actors/breaker.py); an
agent's login breaker lives in PostgreSQL with their credentials (store/agents.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from archibot.keys import ERP_ERRORS_KEY, ERP_OPEN_KEY


def erp_breaker_state(client: redis.Redis) -> dict[str, Any]:
    """``{"open", "errors", "since", "down_s", "probes"}`` of the ERP's breaker."""
    raw, errors = client.mget(ERP_OPEN_KEY, ERP_ERRORS_KEY)
    state: dict[str, Any] = {"open": raw is not None, "errors": int(errors or 0)}
    if raw is not None:
        info = json.loads(raw)
        state.update(info)
        state["down_s"] = round(time.time() - float(info.get("since", time.time())), 1)
    return state
