"""Every Redis key Archibot writes, named in one place (as arq's ``constants.py``).

All live under ``archibot:``; Dramatiq's own queues keep its ``dramatiq:`` namespace. The
actors write most of them; the API, the CLI and the bench read some without importing the
actors. A family is a prefix (and a function that builds a member); a single key is a
constant. Light: nothing beyond the standard library.
"""

from __future__ import annotations

#: An agent's lease, ``{token}``, with a TTL: it exists while a worker runs the agent's work.
LOCK_PREFIX = "archibot:lock:"
#: An agent's fence counter: each lease taken increments it (the journal refuses older ones).
FENCE_PREFIX = "archibot:fence:"
#: A worker process's heartbeat, a JSON body with a TTL (``{host}:{pid}``).
HEARTBEAT_PREFIX = "archibot:heartbeat:"
#: An operation under way in a worker, ``{worker}``, with a TTL: a claim that finds its
#: previous holder's mark still there knows that holder died under the operation.
INFLIGHT_PREFIX = "archibot:inflight:"
#: A periodic job's turn, ``{name}:{period}``: the first scheduler of the period takes it.
PERIODIC_PREFIX = "archibot:periodic:"
#: The ERP's circuit breaker (actors/breaker.py; read by ``archibot status``).
ERP_BREAKER_PREFIX = "archibot:erp:"
#: Set while the ERP's breaker is open: ``{"since", "errors", …}``, with a TTL.
ERP_OPEN_KEY = ERP_BREAKER_PREFIX + "open"
#: The ERP's consecutive transient errors (the breaker opens at ARCHIBOT_ERP_BREAKER_ERRORS).
ERP_ERRORS_KEY = ERP_BREAKER_PREFIX + "errors"
#: The one worker allowed to probe the ERP while its breaker is open.
ERP_PROBE_KEY = ERP_BREAKER_PREFIX + "probe"
#: The process whose turn it is to sweep for lost wake-ups (held for one sweep interval).
SWEEP_KEY = "archibot:sweep"
#: The process whose turn it is to prune the journal's old ended rows (store/retention.py).
PRUNE_KEY = "archibot:prune"
#: The process whose turn it is to keep idle ERP sessions alive (held for one round).
KEEPALIVE_KEY = "archibot:keepalive"
#: Until when the ERP blocks this address's logins (it answered 403): an ISO timestamp.
LOGINS_THROTTLED_KEY = "archibot:logins:throttled_until"


def lock_key(agent: str) -> str:
    """The key of the agent's lease: it exists while some worker runs the agent's work."""
    return LOCK_PREFIX + agent


def fence_key(agent: str) -> str:
    """The key of the agent's fence counter."""
    return FENCE_PREFIX + agent


def heartbeat_key(host: str, pid: int) -> str:
    """The key a worker process refreshes while it is alive (a JSON body, with a TTL)."""
    return f"{HEARTBEAT_PREFIX}{host}:{pid}"


def inflight_key(op_id: str) -> str:
    """The key a worker holds while it runs operation ``op_id``."""
    return INFLIGHT_PREFIX + op_id


def periodic_key(name: str, period: int) -> str:
    """The key of periodic job ``name``'s turn in period number ``period``."""
    return f"{PERIODIC_PREFIX}{name}:{period}"
