"""The journal's retention: ended operations older than the retention are deleted, so the
journal grows with pending work, not with history.

A row is kept while something still needs it: an Idempotency-Key younger than its own
retention (the key must keep answering with its operation; an older key is replaced on
reuse, so it may go with its row), a document it fetched (listed on the operation), or a
webhook not yet delivered and still young enough to be sent. Deleting a row cascades to its delivered webhook row and its
expired keys. Fences live in ``agent_fences``, so pruning never lowers the next lease's
floor (:meth:`store.claims.Claims.max_fence`).

Rows go in batches of one statement each, so no statement holds many locks or runs long
next to the workers' claims; a call does at most ``max_batches`` and reports whether more
were left (the sweeper's next turn, or the CLI's loop, takes them).
"""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Database
from store.states import TERMINAL
from store.submissions import DEFAULT_IDEMPOTENCY_RETENTION_S

#: Ended rows older than this many days are pruned (ARCHIBOT_JOURNAL_RETENTION_DAYS).
DEFAULT_JOURNAL_RETENTION_DAYS = 30
#: The webhook deliverer gives up on a row this old (archibot/api/webhooks.py DEFAULT_MAX_AGE_S):
#: an operation whose terminal status is still undelivered but older may go.
DEFAULT_WEBHOOK_MAX_AGE_S = 86_400
#: Rows deleted per statement.
DEFAULT_BATCH_ROWS = 5_000
#: Statements per call: a sweeper's turn stays short; what is left waits for the next turn.
DEFAULT_MAX_BATCHES = 20

_TERMINAL_SQL = "(" + ", ".join(f"'{s.value}'" for s in TERMINAL) + ")"

PRUNE_SQL = f"""
WITH doomed AS (
    SELECT o.id FROM operations o
    WHERE o.status IN {_TERMINAL_SQL}
      AND o.finished_at < clock_timestamp() - make_interval(days => %(days)s)
      AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.op_id = o.id
                      AND k.created_at >= clock_timestamp() - make_interval(secs => %(key_s)s))
      AND NOT EXISTS (SELECT 1 FROM operation_documents d WHERE d.op_id = o.id)
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.op_id = o.id
                      AND w.delivered_at IS NULL
                      AND w.created_at >= clock_timestamp() - make_interval(secs => %(webhook_s)s))
    ORDER BY o.finished_at LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
DELETE FROM operations o USING doomed WHERE o.id = doomed.id
"""


@dataclass(frozen=True)
class Pruned:
    """What one :meth:`Retention.prune` call did."""

    deleted: int
    batches: int
    #: The last batch was full: older rows may be left for the next call.
    more: bool


class Retention:
    """Deletes the journal's old ended rows (run by the sweeper and ``archibot prune``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def prune(
        self,
        older_than_days: int = DEFAULT_JOURNAL_RETENTION_DAYS,
        *,
        key_retention_s: int = DEFAULT_IDEMPOTENCY_RETENTION_S,
        webhook_max_age_s: int = DEFAULT_WEBHOOK_MAX_AGE_S,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        max_batches: int = DEFAULT_MAX_BATCHES,
    ) -> Pruned:
        """Delete ended rows finished more than ``older_than_days`` ago, in batches of
        ``batch_rows`` (at most ``max_batches`` statements), keeping those still needed
        (``webhook_max_age_s``: how long an undelivered webhook may still be sent)."""
        deleted = batches = 0
        more = False
        params = {"days": older_than_days, "key_s": key_retention_s,
                  "webhook_s": webhook_max_age_s, "batch": batch_rows}
        while batches < max_batches:
            with self._db.connection() as conn:
                count = conn.execute(PRUNE_SQL, params).rowcount
            batches += 1
            deleted += count
            more = count == batch_rows
            if not more:
                break
        return Pruned(deleted=deleted, batches=batches, more=more)
