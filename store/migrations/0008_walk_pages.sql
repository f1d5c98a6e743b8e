-- How many pages the last complete walk of a sync read (its longest list): a list that fit on
-- fewer than ARCHIBOT_SYNC_SKIP_MIN_PAGES pages is walked without reading its sentinel first,
-- which costs as much as walking it (the simulated day's A/B, README "Freshness").
ALTER TABLE sync_state ADD COLUMN last_walk_pages int;
