"""The main app's API: ``send`` an operation, read its ``status``, ``wait`` for it.

The client writes the journal row, then sends a Dramatiq message by actor name;
it never imports the actor modules, so the main app needs neither Chromium nor
pyppeteer. Messages carry the operation id only — payloads stay in the journal
and credentials never leave PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import dramatiq
import redis

from archibot.connections import sync_redis
from archibot.doorbell import RingingBroker
from archibot.errors import (
    CannotCancel,
    IdempotencyConflict,
    InvalidOperation,
    ServiceUnavailable,
    UnknownDocument,
    UnknownOperation,
    WaitTimeout,
)
from archibot.heartbeats import read_heartbeats, worker_slots
from archibot.keys import lock_key, periodic_key
from archibot.operations import (
    ORDER_CREATING_TYPE,
    ORDER_REF_TYPES,
    Kind,
    check_agent_name,
    operation_type,
)
from archibot.settings import Settings
from store.agents import AgentStore
from store.claims import Claims
from store.crypto import SecretBox
from store.db import Database, _redact
from store.documents import Documents
from store.errors import DatabaseUnavailable, IdempotencyKeyReused, UnknownAgent
from store.logins import AUTO_PER_ADDRESS
from store.recovery import Recovery, Wakeup, to_wake
from store.reports import Reports
from store.rows import OperationRow, is_uuid
from store.states import TERMINAL, CancelOutcome, Status
from store.submissions import Submissions

DEFAULT_WAIT_TIMEOUT_S = 300.0
#: The largest normalised payload the journal takes (200 lines of an order fit in ~20 KB).
MAX_PAYLOAD_BYTES = 64 * 1024
_WAIT_POLL_MIN_S = 0.05
_WAIT_POLL_MAX_S = 1.0


def make_message(settings: Settings, actor_name: str, op_id: str) -> dramatiq.Message[Any]:
    """The message that asks a worker to run operation ``op_id``."""
    return dramatiq.Message(
        queue_name=settings.queue, actor_name=actor_name, args=(op_id,), kwargs={}, options={}
    )


class Client:
    """A connection to Archibot's journal and queue.

    ``journal`` is the journal's submitting side (create, cancel, get: store/submissions.py),
    ``reports`` its lists, ``recovery`` what finds lost wake-ups; the worker's side of the
    journal (store/claims.py) is not the client's.
    """

    def __init__(
        self, settings: Settings | None = None, *, db_pool_size: int | None = None,
        db: Database | None = None,
    ) -> None:
        """``db``: a pool to share (a worker process's one; :meth:`close` leaves it open)."""
        self.settings = settings or Settings.from_env()
        self._owns_db = db is None
        self.db = db if db is not None else Database(
            self.settings.database_url,
            statement_timeout_ms=self.settings.statement_timeout_ms,
            **({} if db_pool_size is None else {"max_size": db_pool_size}),
        )
        self.journal = Submissions(self.db)
        self.reports = Reports(self.db)
        self.recovery = Recovery(self.db)
        self.agents = AgentStore(self.db, SecretBox(self.settings.secret_key_list()))
        #: Documents the workers fetched from the ERP (PDFs), stored once by content.
        self.documents = Documents(self.db, self.settings.documents_dir)
        self.broker = RingingBroker(client=sync_redis(self.settings), middleware=[])  # type: ignore[no-untyped-call]

    def close(self) -> None:
        """Close the database pool (unless it was shared) and the Redis connections."""
        if self._owns_db:
            self.db.close()
        self.broker.close()

    def send(
        self,
        op_type: str,
        agent: str,
        payload: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Validate, journal and queue an operation; return its id.

        Raises InvalidOperation (naming the field) before anything is queued when the
        type, the agent or the payload is wrong. With ``idempotency_key``, sending the
        same request again within ``ARCHIBOT_IDEMPOTENCY_RETENTION_S`` returns the first
        operation's id and queues nothing (IdempotencyConflict if the request differs).
        """
        return str(self.submit(op_type, agent, payload, idempotency_key=idempotency_key)[0]["id"])

    def submit(
        self,
        op_type: str,
        agent: str,
        payload: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`send`, returning the operation's status and whether it is new (False: the
        Idempotency-Key's replay, nothing queued)."""
        kind = operation_type(op_type)
        if idempotency_key is not None and not (0 < len(idempotency_key.strip()) <= 200):
            raise InvalidOperation(
                "the idempotency key must be 1 to 200 characters", field="idempotency_key"
            )
        check_agent_name(agent)
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise InvalidOperation("payload must be a JSON object", field="payload")
        clean = kind.validate(payload)
        if len(json.dumps(clean)) > MAX_PAYLOAD_BYTES:
            raise InvalidOperation(
                f"payload is larger than {MAX_PAYLOAD_BYTES // 1024} KB once normalised",
                field="payload",
            )
        try:
            if op_type in ORDER_REF_TYPES:
                if not self.agents.exists(agent):
                    raise UnknownAgent(agent)
                for ref in [clean["order"]] if "order" in clean else clean["orders"]:
                    self._check_order_ref(agent, str(ref))
            # The agents table's foreign key refuses an agent without credentials.
            row, created = self.journal.create(
                str(uuid.uuid4()), agent, op_type, kind.is_write, clean,
                idempotency_key=idempotency_key,
                retention_s=self.settings.idempotency_retention_s,
            )
        except UnknownAgent:
            raise InvalidOperation(
                f"unknown agent {agent!r}: store their ERP credentials first "
                f"(archibot agents add {agent})",
                field="agent",
            ) from None
        except DatabaseUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except IdempotencyKeyReused as exc:
            raise IdempotencyConflict(str(exc)) from exc
        op_id = str(row["id"])
        if not created:
            return status_dict(row), False
        try:
            self.broker.enqueue(make_message(self.settings, kind.actor_name, op_id))
        except redis.RedisError as exc:
            # No worker will ever hear of it: fail it as the worker's side fails an unclaimed one.
            Claims(self.db).fail_unclaimed(op_id, f"could not be queued: Redis failed: {exc}")
            raise ServiceUnavailable(
                f"Redis did not answer at {_redact(self.settings.redis_url)}: start it "
                "(redis-server --daemonize yes) or set ARCHIBOT_REDIS_URL"
            ) from exc
        return status_dict(row), True

    def cancel(self, op_id: str) -> str:
        """Cancel an operation: ``cancelled`` (it was queued), ``cancelling`` (a running
        sync stops at its next page); raises CannotCancel or UnknownOperation otherwise."""
        outcome = self.journal.cancel(op_id)
        if outcome == CancelOutcome.UNKNOWN:
            raise UnknownOperation(f"no operation {op_id!r} in the journal")
        if outcome == CancelOutcome.FINISHED:
            raise CannotCancel(f"operation {op_id} has already ended")
        if outcome == CancelOutcome.WRITE_IN_PROGRESS:
            raise CannotCancel(
                f"operation {op_id} is a write that is running or may already have reached the "
                "ERP: it cannot be taken back"
            )
        return str(outcome)

    def agents_with_credentials(self) -> list[str]:
        """Every agent whose ERP credentials are stored."""
        return self.agents.names()

    def send_to_idle_agents(self, op_type: str, agents: list[str] | None = None) -> int:
        """Send ``op_type`` (a sync) to each agent that has none pending; returns how many."""
        pending = self.journal.agents_with_pending(op_type)
        targets = [a for a in (agents if agents is not None else self.agents.names()) if a not in pending]
        for agent in targets:
            self.send(op_type, agent, {})
        return len(targets)

    def resend_pending(self, older_than_s: float) -> int:
        """Send a fresh wake-up for every operation whose wake-up may be lost; how many.

        The journal is the source of truth: this recovers operations whose message
        was lost (a flushed Redis, a worker killed before it re-enqueued) — see
        :meth:`wake_lost`. A spare wake-up is harmless — an operation runs once, under
        its agent's lease.
        """
        return len(self.wake_lost(older_than_s))

    def wake_lost(self, older_than_s: float, *, only_free_slots: bool = False,
                  recent_orphans_leased: bool = False) -> list[Wakeup]:
        """Wake each ``running`` operation whose agent holds no lease (its worker died) and
        each idle agent's next ready operation untouched for ``older_than_s``
        (:meth:`Recovery.lost_wakeups`); what was woken. The workers' sweep calls it with
        ``only_free_slots``: then only as many stuck heads as the live workers have slots
        that neither a running operation nor a queued wake-up will fill (see :func:`to_wake`), and
        with ``recent_orphans_leased``: a running row changed less than a lease ago counts as
        leased without asking Redis (its worker was alive then; a later sweep looks again)."""
        found = self.recovery.lost_wakeups(older_than_s)
        free_slots = self._free_slots(found) if only_free_slots else None
        lease_s = self.settings.lock_ttl_ms / 1000 if recent_orphans_leased else 0.0
        leased = {w.agent for w in found if w.orphan and w.quiet_s < lease_s}
        orphan_agents = sorted({w.agent for w in found if w.orphan} - leased)
        if orphan_agents:
            pipe = self.broker.client.pipeline(transaction=False)
            for agent in orphan_agents:
                pipe.exists(lock_key(agent))
            leased |= {a for a, held in zip(orphan_agents, pipe.execute(), strict=True) if held}
        targets = to_wake(found, leased, free_slots)
        for wakeup in targets:
            self.wake(wakeup.op_type, wakeup.id)
        return targets

    def _free_slots(self, found: list[Wakeup]) -> int:
        """The live workers' slots less the running operations and the queued wake-ups."""
        client = self.broker.client
        slots = worker_slots(read_heartbeats(client), self.settings.contexts_per_browser)
        running = sum(1 for w in found if w.orphan)
        queued = int(client.llen(f"{self.broker.namespace}:{self.settings.queue}"))
        return slots - running - queued

    def breakers(self) -> dict[str, Any]:
        """The circuit breakers: the ERP's (Redis) and every agent's open login breaker."""
        from archibot.breakers import erp_breaker_state

        logins = [
            {"agent": r["agent"], "since": str(r["login_rejected_at"]),
             "error": r["login_rejected_error"]}
            for r in self.agents.open_login_breakers()
        ]
        return {"erp": erp_breaker_state(self.broker.client), "logins": logins}

    def logins(self, days: int = 1) -> dict[str, Any]:
        """ERP logins per agent: per calendar day (the last ``days``), in the budget's
        window, and where each agent and the address stand against the budgets
        (``ARCHIBOT_LOGIN_BUDGET_*``): ``budgets`` per registered agent, ``address`` for all
        together, ``spent`` the agents whose budget is spent now. Only logins the ERP could
        see count; ``unreached`` are the ones whose login page never answered (free)."""
        window_s = self.settings.login_budget_window_s
        budget = self.settings.login_budget()
        in_window = self.agents.login_counts(window_s)
        state = self.agents.budget_state(budget)
        per_day: dict[str, dict[str, int]] = {}
        for row in self.agents.logins_by_day(days):
            per_day.setdefault(str(row["agent"]), {})[row["day"].isoformat()] = int(row["logins"])
        names = sorted(set(in_window) | set(per_day) | set(state["unreached"]))
        address = state["address"]
        budgets: dict[str, dict[str, Any]] = {
            name: {
                "used": v["used"],
                "left": max(0, budget.per_agent - v["used"]) if budget.per_agent > 0 else None,
                "spent_until": _iso(v["spent_until"]),
            }
            for name, v in state["agents"].items()
        }
        agents: dict[str, dict[str, Any]] = {
            name: {
                "in_window": in_window.get(name, 0),
                "per_day": per_day.get(name, {}),
                "unreached": state["unreached"].get(name, 0),
            }
            for name in names
        }
        return {
            "budget_per_day": self.settings.login_budget_per_day,
            "budget_per_address": address["budget"],
            "budget_per_minute": address["budget_minute"],
            "window_s": window_s,
            "total_in_window": sum(in_window.values()),
            "address": {
                "used": address["used"], "budget": address["budget"],
                "used_minute": address["used_minute"], "budget_minute": address["budget_minute"],
                "spent_until": _iso(address["spent_until"]),
                "auto": self.settings.login_budget_per_address == AUTO_PER_ADDRESS,
            },
            "spent": sorted(n for n, v in budgets.items() if v["spent_until"] is not None),
            "agents": agents,
            # Every registered agent against its own budget (since the window or its reset).
            "budgets": budgets,
            "resets": [
                {"agent": r["agent"], "at": _iso(r["at"]), "operator": r["operator"], "note": r["note"]}
                for r in self.agents.login_budget_resets()
            ],
        }

    def reset_login_budget(self, agent: str | None, operator: str, note: str | None = None) -> int:
        """Give ``agent`` (None: the address) its login budget back — journaled, for an
        operator who knows the ERP is fine — and wake what waited for it; how many."""
        self.agents.reset_login_budget(agent, operator, note)
        made_ready = self.recovery.release_login_waits(agent)
        if made_ready:
            for row in self.recovery.ready_heads():
                if agent is None or str(row["agent"]) == agent:
                    self.wake(str(row["op_type"]), str(row["id"]))
        return made_ready

    def wake(self, op_type: str, op_id: str) -> None:
        """Send a (spare) wake-up message for a journaled operation."""
        self.broker.enqueue(make_message(self.settings, operation_type(op_type).actor_name, op_id))

    def claim_period(self, name: str, period_s: int) -> bool:
        """True for the first caller of ``name`` in the current period of ``period_s``.

        Periodic work sent by two schedulers started by mistake then runs once per period.
        """
        period = int(time.time() // period_s)
        key = periodic_key(name, period)
        return bool(self.broker.client.set(key, "1", nx=True, ex=max(60, 2 * period_s)))

    def _check_order_ref(self, agent: str, ref: str) -> None:
        row = self.journal.get(ref)
        if row is None:
            if is_uuid(ref):
                raise InvalidOperation(f"payload field 'order': no operation {ref} in the journal", field="order")
            return  # an ERP order id
        if row.op_type != ORDER_CREATING_TYPE or row.agent != agent:
            raise InvalidOperation(
                f"payload field 'order': operation {ref} is not a {ORDER_CREATING_TYPE} of agent {agent!r}",
                field="order",
            )

    def status(self, op_id: str) -> dict[str, Any]:
        """The operation's status: ``status``, ``progress``, ``result``, ``error``, ``attempts``…
        and, for a type that reads documents, the ``documents`` it fetched."""
        row = self.journal.get(op_id)
        if row is None:
            raise UnknownOperation(f"no operation {op_id!r} in the journal")
        current = status_dict(row)
        if operation_type(row.op_type).kind is Kind.READ:
            current["documents"] = [d.to_json() for d in self.documents.of_operation(op_id)]
        return current

    def document(self, document_id: str) -> bytes:
        """A document's bytes (``result.document_id`` of a download); UnknownDocument if none."""
        found = self.documents.content(document_id)
        if found is None:
            raise UnknownDocument(f"no document {document_id!r} (unknown, or past its retention)")
        return found[1]

    def wait(self, op_id: str, timeout_s: float = DEFAULT_WAIT_TIMEOUT_S) -> dict[str, Any]:
        """Block until the operation is ``done``, ``failed`` or ``cancelled``; return its status."""
        deadline = time.monotonic() + timeout_s
        pause_s = _WAIT_POLL_MIN_S
        while True:
            current = self.status(op_id)
            if current["status"] in TERMINAL:
                return current
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"operation {op_id} still {current['status']} after {timeout_s:g} s")
            time.sleep(min(pause_s, max(0.0, deadline - time.monotonic())))
            pause_s = min(pause_s * 2, _WAIT_POLL_MAX_S)


def status_dict(row: OperationRow | Mapping[str, Any]) -> dict[str, Any]:
    """The public view of a journal row (JSON-friendly; a ``SELECT *`` dict row will do)."""
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": str(row["id"]),
        "type": row["op_type"],
        "op_type": row["op_type"],
        "agent": row["agent"],
        "status": str(row["status"]),
        "phase": None if row["phase"] is None else str(row["phase"]),
        "progress": row["progress"],
        "result": row["result"],
        "error": row["error"],
        "attempts": row["attempts"],
        "requeues": row["requeues"],
        "payload": row["payload"],
        "created_at": iso(row["created_at"]),
        "started_at": iso(row["started_at"]),
        "finished_at": iso(row["finished_at"]),
        #: Time spent executing it, over all attempts (not waiting for the agent or a worker).
        "exec_ms": row["exec_ms"],
        #: What a queued operation waits for, e.g. ``{"for": "login_budget", "until", "message"}``.
        "waiting": _waiting(row),
    }


def _waiting(row: OperationRow | Mapping[str, Any]) -> dict[str, Any] | None:
    progress = row["progress"]
    if row["status"] != Status.QUEUED or not isinstance(progress, dict):
        return None
    waiting = progress.get("waiting")
    return waiting if isinstance(waiting, dict) else None


_default: Client | None = None


def _client() -> Client:
    global _default
    if _default is None:
        _default = Client()
    return _default


def send(
    op_type: str, agent: str, payload: dict[str, Any] | None = None, *, idempotency_key: str | None = None
) -> str:
    """Send an operation with the settings from the environment; return its id."""
    return _client().send(op_type, agent, payload, idempotency_key=idempotency_key)


def status(op_id: str) -> dict[str, Any]:
    """The status of an operation (see :meth:`Client.status`)."""
    return _client().status(op_id)


def wait(op_id: str, timeout_s: float = DEFAULT_WAIT_TIMEOUT_S) -> dict[str, Any]:
    """Wait for an operation to end (see :meth:`Client.wait`)."""
    return _client().wait(op_id, timeout_s)


def submit_order(agent: str, customer: str, lines: list[dict[str, Any]], **extra: Any) -> str:
    """Send a new order (the registry's order-creating type); ``extra`` may hold notes,
    delivery_date, discount."""
    return send(ORDER_CREATING_TYPE, agent, {"customer": customer, "lines": lines, **extra})


def _iso(value: Any) -> str | None:
    """A timestamp as ISO 8601 (seconds), None as None."""
    return None if value is None else value.isoformat(timespec="seconds")
