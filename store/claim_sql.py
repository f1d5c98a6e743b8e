"""The worker's two larger statements (store/claims.py): which agent to serve, and the claim.

Statuses and phases are written from :mod:`store.states` into the statements' text
(constants, so the partial index ``operations_pending`` serves them).
"""

from __future__ import annotations

from store.rows import PENDING_SQL
from store.states import Status

_DONE, _RUNNING = f"'{Status.DONE.value}'", f"'{Status.RUNNING.value}'"
FREE_AGENTS_SQL = f"""
WITH recent AS (
    SELECT op_type, exec_ms, units FROM operations
    WHERE status = {_DONE} AND exec_ms > 0 ORDER BY seq DESC LIMIT 500
), rates AS (
    SELECT op_type, sum(exec_ms)::float / sum(units) AS ms_per_unit FROM recent GROUP BY op_type
), pending AS (
    SELECT o.agent,
           bool_or(o.status = {_RUNNING}) AS busy,
           sum(coalesce(r.ms_per_unit, 1000) * o.units) AS work_ms
    FROM operations o LEFT JOIN rates r USING (op_type)
    WHERE o.status IN {PENDING_SQL}
    GROUP BY o.agent
), head_writes AS (
    SELECT DISTINCT ON (agent) agent,
           (not_before IS NULL OR not_before <= clock_timestamp()) AS ready
    FROM operations WHERE is_write AND status IN {PENDING_SQL}
    ORDER BY agent, seq
), ready_syncs AS (
    SELECT DISTINCT agent FROM operations
    WHERE NOT is_write AND status IN {PENDING_SQL}
      AND (not_before IS NULL OR not_before <= clock_timestamp())
)
-- The same rule as claim_next: the oldest pending write if it is ready, else a ready sync.
SELECT p.agent FROM pending p
LEFT JOIN head_writes h USING (agent)
WHERE NOT p.busy
  AND (coalesce(h.ready, false) OR p.agent IN (SELECT agent FROM ready_syncs))
ORDER BY p.work_ms DESC, p.agent LIMIT %(limit)s
"""

# Claims a row under fence %(fence)s unless the agent's fence row (agent_fences) already
# holds a newer fence (then the caller's lease is stale, whatever this row says), and
# reports what the row was before: a row still 'running' is an orphan of a holder that died.
# `fenced` raises the agent's fence row in the same statement, and only for a row it may
# claim; it returns nothing when the stored fence is newer, and the update then matches
# nothing. Its row lock orders concurrent claims of one agent: the later one re-reads the
# raised fence.
CLAIM_SQL = f"""
WITH prev AS (
    SELECT id, status AS prev_status, updated_at AS prev_updated, fence AS prev_fence
    FROM operations WHERE id = %(id)s FOR UPDATE
), fenced AS (
    INSERT INTO agent_fences AS f (agent, fence)
    SELECT %(agent)s, %(fence)s FROM prev
    WHERE prev.prev_status IN {PENDING_SQL}
      AND (prev.prev_fence IS NULL OR prev.prev_fence < %(fence)s)
    ON CONFLICT (agent) DO UPDATE SET fence = excluded.fence WHERE f.fence <= excluded.fence
    RETURNING f.fence
)
UPDATE operations o SET status = {_RUNNING}, attempts = o.attempts + 1,
    fence = %(fence)s, worker = %(worker)s, not_before = NULL,
    started_at = coalesce(o.started_at, clock_timestamp()),
    run_started_at = clock_timestamp(), updated_at = clock_timestamp()
FROM prev, fenced
WHERE o.id = prev.id AND o.status IN {PENDING_SQL}
  AND (o.fence IS NULL OR o.fence < %(fence)s)
RETURNING o.*, prev.prev_status, prev.prev_updated
"""

#: Adds the time since this run started to ``exec_ms`` (an assignment of an UPDATE).
EXEC_MS = (
    " exec_ms = exec_ms + CAST(1000 * extract(epoch FROM clock_timestamp() - run_started_at)"
    " AS integer)"
)
