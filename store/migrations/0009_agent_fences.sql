-- The highest fence ever claimed for each agent: one row, so a claim's fencing check and
-- the next lease's floor (Claims.max_fence) read one row instead of the agent's whole
-- history, and stay right once old rows are pruned (store/retention.py). The claim
-- statement (store/claim_sql.py CLAIM_SQL) raises it in the same statement.
CREATE TABLE agent_fences (
    agent text PRIMARY KEY REFERENCES agents (agent) ON DELETE CASCADE,
    fence bigint NOT NULL
);

INSERT INTO agent_fences (agent, fence)
SELECT agent, max(fence) FROM operations WHERE fence IS NOT NULL GROUP BY agent;

-- An operation's units of work (its order lines, at least 1), stored so the picker's
-- recent-rate estimate (FREE_AGENTS_SQL) reads an index, not the payloads of done rows.
ALTER TABLE operations ADD COLUMN units integer NOT NULL
    GENERATED ALWAYS AS (greatest(1, coalesce(jsonb_array_length(payload -> 'lines'), 1))) STORED;

-- The picker's `recent` CTE: the latest done rows that measured a time, index-only.
CREATE INDEX operations_done_recent ON operations (seq DESC) INCLUDE (op_type, exec_ms, units)
    WHERE status = 'done' AND exec_ms > 0;

-- Retention (store/retention.py): the oldest ended rows first.
CREATE INDEX operations_ended ON operations (finished_at)
    WHERE status IN ('done', 'failed', 'cancelled');

-- Deleting an operation cascades to its Idempotency-Keys: without this, each pruned row
-- would scan the keys table.
CREATE INDEX idempotency_keys_op ON idempotency_keys (op_id);
