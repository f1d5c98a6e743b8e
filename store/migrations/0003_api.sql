-- The HTTP API's tables: cancelled operations, idempotency keys, API tokens, webhook
-- deliveries, logins; and the NOTIFY that pushes journal changes to listeners.

-- A queued operation (or a running sync) can be cancelled: a new terminal status.
ALTER TABLE operations DROP CONSTRAINT operations_status_check;
ALTER TABLE operations ADD CONSTRAINT operations_status_check
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled'));
-- Set on a running sync; the sync stops at its next page boundary and ends 'cancelled'.
ALTER TABLE operations ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
CREATE INDEX operations_status_type ON operations (status, op_type);

-- One row per Idempotency-Key: inserted with its operation in one transaction, so the same
-- key sent at once from any number of API processes makes one operation.
CREATE TABLE idempotency_keys (
    key          text PRIMARY KEY,
    request_hash text NOT NULL,
    op_id        uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Bearer tokens for the API; only their SHA-256 is kept.
CREATE TABLE api_tokens (
    name        text PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- Every ERP login a worker makes (the real ERP's operator blocks clients that log in too often).
CREATE TABLE logins (
    id     bigserial PRIMARY KEY,
    agent  text NOT NULL,
    worker text,
    at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX logins_agent_at ON logins (agent, at DESC);

-- The webhook outbox: one row per operation that reached a terminal status, written in the
-- same transaction as that status, so no terminal status is ever missed.
CREATE TABLE webhook_deliveries (
    op_id           uuid PRIMARY KEY REFERENCES operations (id) ON DELETE CASCADE,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL;

-- Push every change of status, phase or progress to LISTEN archibot_ops as
-- {"id", "agent", "status"}; listeners read the row itself.
CREATE FUNCTION archibot_notify_op() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('archibot_ops', json_build_object(
        'id', NEW.id, 'agent', NEW.agent, 'status', NEW.status)::text);
    IF NEW.status IN ('done', 'failed', 'cancelled')
       AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        INSERT INTO webhook_deliveries (op_id, status) VALUES (NEW.id, NEW.status)
        ON CONFLICT (op_id) DO UPDATE SET status = EXCLUDED.status, delivered_at = NULL,
            attempts = 0, next_attempt_at = clock_timestamp();
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER operations_notify_insert AFTER INSERT ON operations
    FOR EACH ROW EXECUTE FUNCTION archibot_notify_op();
CREATE TRIGGER operations_notify_update AFTER UPDATE ON operations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.progress IS DISTINCT FROM NEW.progress
                       OR OLD.phase IS DISTINCT FROM NEW.phase)
    EXECUTE FUNCTION archibot_notify_op();
