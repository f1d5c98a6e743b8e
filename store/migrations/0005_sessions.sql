-- Sessions and the login budget (issue 8): when the ERP last saw each agent's shared session
-- (an operation or a keep-alive) and when an operation last used it, so one worker keeps the
-- sessions alive that operations leave idle, wherever they ran.
ALTER TABLE agent_sessions ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE agent_sessions ADD COLUMN used_at timestamptz NOT NULL DEFAULT now();
-- The login budget counts attempts per agent, and per address, over a sliding window.
CREATE INDEX logins_at ON logins (at);
