-- The login budget counts what the ERP could see (issue 14): each reserved login records how
-- it ended, and one whose post never left (the login page answered 5xx, the connection was
-- refused, it timed out before the post) costs nothing.
--   pending    reserved, being tried (counted: the worker may die after posting)
--   posted     the form was posted and the ERP answered it, or its answer was lost
--   rejected   posted; the ERP refused the credentials
--   throttled  posted; the ERP answered 403 (it blocks the address)
--   unreached  nothing was posted: not counted
ALTER TABLE logins ADD COLUMN outcome text NOT NULL DEFAULT 'posted';

-- An operator who knows the ERP is fine gives an agent (or, with agent NULL, the address) its
-- login budget back: logins before the newest reset no longer count against it.
CREATE TABLE login_budget_resets (
    id       bigserial PRIMARY KEY,
    agent    text,
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    operator text NOT NULL,
    note     text
);
CREATE INDEX login_budget_resets_agent_at ON login_budget_resets (agent, at DESC);
