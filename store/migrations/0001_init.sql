-- Agents and their ERP credentials (the password is encrypted with ARCHIBOT_SECRET_KEY).
CREATE TABLE agents (
    agent        text PRIMARY KEY,
    erp_username text NOT NULL,
    password_enc bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- An agent's ERP session cookies (encrypted), shared by every worker process so that an
-- agent's operations landing on another process do not log in again.
CREATE TABLE agent_sessions (
    agent       text PRIMARY KEY REFERENCES agents (agent) ON DELETE CASCADE,
    cookies_enc bytea NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now()
);

-- The operation journal: the source of truth for every operation.
CREATE TABLE operations (
    id          uuid PRIMARY KEY,
    seq         bigserial UNIQUE,
    agent       text NOT NULL REFERENCES agents (agent),
    op_type     text NOT NULL,
    is_write    boolean NOT NULL,
    payload     jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'done', 'failed')),
    phase       text CHECK (phase IN ('started', 'about_to_commit', 'erp_committed', 'done')),
    attempts    integer NOT NULL DEFAULT 0,
    requeues    integer NOT NULL DEFAULT 0,
    fence       bigint,
    progress    jsonb,
    result      jsonb,
    error       text,
    not_before  timestamptz,
    exec_ms     integer NOT NULL DEFAULT 0,
    worker      text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at  timestamptz,
    run_started_at timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX operations_pending ON operations (agent, seq)
    WHERE status IN ('queued', 'running');
CREATE INDEX operations_agent_created ON operations (agent, created_at DESC);
