-- The synced copy of the ERP, per agent (products are global). Each sync run stamps the rows
-- it saw with its run id; at the end of the run the rows it did not see are deleted.
CREATE TABLE customers_cache (
    agent      text NOT NULL,
    account    text NOT NULL,
    data       jsonb NOT NULL,
    sync_run   uuid NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent, account)
);

CREATE TABLE orders_cache (
    agent      text NOT NULL,
    order_id   text NOT NULL,
    data       jsonb NOT NULL,
    sync_run   uuid NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent, order_id)
);

CREATE TABLE products_cache (
    item_id    text PRIMARY KEY,
    data       jsonb NOT NULL,
    sync_run   uuid NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now()
);
