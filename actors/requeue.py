"""Re-enqueue a busy agent's message with exponential backoff — not a failure, no retry.

An actor raises AgentBusy when another worker holds the agent's lease. The
message goes back with a delay of 2 s, 4 s, 8 s, 16 s, then 30 s (jittered) and
its ``requeues`` option counted, until it is older than ``max_requeue_age_s``;
then the operation fails with a clear error. Fast handoff usually runs the
operation long before the delay is up (the lease holder drains the agent's
journal queue); the delayed copy then finds it done and is dropped — it is the
safety net for a holder that died.

WorkerStopping (this worker is shutting down or not booted) puts the message back
as it is, at once, for another worker.

Any other exception that escapes an actor is an infrastructure failure (the
journal or Redis did not answer): the message is re-enqueued with a capped
backoff for as long as the retry budget lasts, so it is not lost with the error
(and the journal's sweep re-sends whatever is still pending after that).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.middleware import Middleware

from actors.errors import AgentBusy, WorkerStopping
from archibot.backoff import compute_backoff_ms

if TYPE_CHECKING:
    from actors.services import WorkerProcess
    from store.claims import Claims

log = logging.getLogger("archibot.requeue")

DEFAULT_MAX_REQUEUE_AGE_S = 3_600
#: Re-enqueues after infrastructure failures are spaced by at most this much.
DEFAULT_FAILURE_BACKOFF_MAX_MS = 60_000


class RequeueBusy(Middleware):
    """Turns AgentBusy into a delayed re-enqueue; see the module docstring.

    It runs on the worker threads and uses the journal through ``process``'s services (their
    PostgreSQL pool is thread-safe), which exist from the boot to the shutdown: every
    message is processed in between.
    """

    def __init__(
        self, process: WorkerProcess, *, max_requeue_age_s: int = DEFAULT_MAX_REQUEUE_AGE_S,
        retry_budget_s: int = DEFAULT_MAX_REQUEUE_AGE_S,
    ) -> None:
        self.process = process
        self.max_requeue_age_s = max_requeue_age_s
        self.retry_budget_s = retry_budget_s
        self.requeued = 0

    @property
    def actor_options(self) -> set[str]:
        # Dramatiq's worker reads ``throws`` to log expected exceptions (AgentBusy) quietly;
        # Retries, which usually declares it, is not installed.
        return {"max_requeue_age_s", "throws"}

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if exception is None:
            return
        op_id = str(message.args[0]) if message.args else "?"
        if isinstance(exception, AgentBusy):
            self._requeue_busy(broker, message, exception, op_id)
            return
        if isinstance(exception, WorkerStopping):
            broker.enqueue(message.copy())
            log.info("message_returned op_id=%s reason=worker_stopping", op_id)
            return
        failures = int(message.options.get("failures", 0))
        age_s = time.time() - message.message_timestamp / 1000
        if age_s > self.retry_budget_s:
            log.error("message_dropped op_id=%s failures=%d age_s=%.0f (the journal's sweep "
                      "re-sends the operation while it is pending)", op_id, failures, age_s)
            return
        delay_ms = compute_backoff_ms(failures, max_ms=DEFAULT_FAILURE_BACKOFF_MAX_MS)
        broker.enqueue(message.copy(options={"failures": failures + 1}), delay=delay_ms)
        log.warning("message_requeued_after_error op_id=%s delay_ms=%d error=%r", op_id, delay_ms, str(exception))

    def _requeue_busy(self, broker: dramatiq.Broker, message: Any, busy: AgentBusy, op_id: str) -> None:
        actor = broker.get_actor(message.actor_name)
        max_age_s = message.options.get(
            "max_requeue_age_s", actor.options.get("max_requeue_age_s", self.max_requeue_age_s)
        )
        age_s = time.time() - message.message_timestamp / 1000
        # An agent busy with long work (a 40-line order holds it half an hour) but still
        # starting and ending operations will reach this one: only a stuck agent fails it.
        claims = self._claims()
        if age_s > max_age_s and not claims.agent_progressed_within(busy.agent, max_age_s):
            error = (
                f"agent {busy.agent!r} stayed busy for {age_s:.0f} s, more than the "
                f"{max_age_s} s an operation may wait; send it again if it is still wanted"
            )
            claims.fail_unclaimed(op_id, error)
            log.warning("requeue_expired op_id=%s agent=%s age_s=%.0f", op_id, busy.agent, age_s)
            return
        requeues = int(message.options.get("requeues", 0))
        delay_ms = compute_backoff_ms(requeues)
        broker.enqueue(message.copy(options={"requeues": requeues + 1}), delay=delay_ms)
        claims.count_requeue(op_id)
        self.requeued += 1
        log.info("requeued op_id=%s agent=%s requeues=%d delay_ms=%d", op_id, busy.agent, requeues + 1, delay_ms)

    def _claims(self) -> Claims:
        return self.process.require_services().claims
