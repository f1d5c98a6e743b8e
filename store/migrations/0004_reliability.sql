-- Reliability (issue 9): transient errors are retried within a time budget, a count applies
-- only to claims by workers that died under the operation, a write's save is timed on the
-- database's clock, and a rejected login opens the agent's breaker until their password changes.

-- Claims of this operation whose previous holder died under it (poison after a few).
ALTER TABLE operations ADD COLUMN dead_claims integer NOT NULL DEFAULT 0;
-- When the operation's current run of transient errors began (its retry budget runs from here).
ALTER TABLE operations ADD COLUMN transient_since timestamptz;
-- When the write last journaled 'about_to_commit' (the save may be in flight from then on).
ALTER TABLE operations ADD COLUMN committing_at timestamptz;

-- The agent's login was refused: no login is tried again until their credentials change.
ALTER TABLE agents ADD COLUMN login_rejected_at timestamptz;
ALTER TABLE agents ADD COLUMN login_rejected_error text;
