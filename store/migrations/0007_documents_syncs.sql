-- Issue 16: the agents' other lists (delivery notes, invoices, prices, line discounts), one
-- customer's whole record, the documents fetched from the ERP, and what each sync learned.

-- A row leaves a cache only after `missed` reaches ARCHIBOT_SYNC_MISSES_TO_REMOVE complete
-- syncs in a row that did not see it (the live bot once ghost-deleted 4,104 products).
ALTER TABLE customers_cache ADD COLUMN missed int NOT NULL DEFAULT 0;
ALTER TABLE orders_cache ADD COLUMN missed int NOT NULL DEFAULT 0;
ALTER TABLE products_cache ADD COLUMN missed int NOT NULL DEFAULT 0;

CREATE TABLE ddt_cache (
    agent      text NOT NULL,
    ddt_id     text NOT NULL,
    data       jsonb NOT NULL,
    sync_run   uuid NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    missed     int NOT NULL DEFAULT 0,
    PRIMARY KEY (agent, ddt_id)
);

CREATE TABLE invoices_cache (
    agent      text NOT NULL,
    invoice_id text NOT NULL,
    data       jsonb NOT NULL,
    sync_run   uuid NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    missed     int NOT NULL DEFAULT 0,
    PRIMARY KEY (agent, invoice_id)
);

-- The price list and the line discounts are the same for every agent, like the products.
CREATE TABLE prices_cache (
    price_id   text PRIMARY KEY,
    data       jsonb NOT NULL,
    sync_run   uuid NOT NULL,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    missed     int NOT NULL DEFAULT 0
);

CREATE TABLE line_discounts_cache (
    discount_id text PRIMARY KEY,
    data        jsonb NOT NULL,
    sync_run    uuid NOT NULL,
    synced_at   timestamptz NOT NULL DEFAULT now(),
    missed      int NOT NULL DEFAULT 0
);

-- refresh-customer: one customer's whole record (fields, alternative addresses, BLOCKED).
CREATE TABLE customer_records_cache (
    agent        text NOT NULL,
    account      text NOT NULL,
    data         jsonb NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent, account)
);

-- Documents fetched from the ERP, stored once by content (sha256); `content` is NULL when
-- ARCHIBOT_DOCUMENTS_DIR keeps the bytes in a directory instead.
CREATE TABLE documents (
    id           text PRIMARY KEY,
    sha256       text NOT NULL UNIQUE,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         int NOT NULL,
    content      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now()
);

-- Which operation fetched which document (listed on the operation).
CREATE TABLE operation_documents (
    op_id       uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    document_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    PRIMARY KEY (op_id, document_id)
);
CREATE INDEX operation_documents_document ON operation_documents (document_id);

-- What the last syncs of each agent's list saw: the newest MODIFIEDDATETIME of a complete
-- walk (skip-unchanged), when the last complete walk ended (freshness, forced walks).
CREATE TABLE sync_state (
    agent          text NOT NULL,
    op_type        text NOT NULL,
    last_complete  timestamptz,
    last_full_walk timestamptz,
    last_sentinel  text,
    last_skipped   timestamptz,
    skipped_total  int NOT NULL DEFAULT 0,
    walks_total    int NOT NULL DEFAULT 0,
    PRIMARY KEY (agent, op_type)
);
