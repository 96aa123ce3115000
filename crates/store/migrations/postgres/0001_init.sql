-- Schema of the PostgreSQL store. Requires PostgreSQL 15 or later
-- (UNIQUE NULLS NOT DISTINCT).
--
-- Encodings shared by every table:
-- * times are TIMESTAMPTZ (microseconds); where the offset a time was written
--   with matters, an INTEGER column beside it keeps the offset in seconds;
-- * decimals are NUMERIC, which keeps the scale it was given ('1.50' stays
--   '1.50'), and are read and written as text, never as floating point;
-- * JSON is JSONB, bytes are BYTEA, flags are BOOLEAN;
-- * enums are TEXT holding their snake_case names;
-- * text that is listed in order is COLLATE "C", so lists sort by code
--   point as in the SQLite store, whatever the database's locale.
--
-- Every tenant row carries account_id. Child rows point at their parent with
-- a composite (account_id, id) foreign key, so a row can never reference a
-- buyer, order or document of another account. Revision ids double as
-- arrival order: record_document locks the purchase order before it inserts
-- a revision, so the ids of one order's revisions grow in commit order.

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    settings JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE connections (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
    account_code TEXT NOT NULL,
    api_base TEXT NOT NULL,
    -- ConnectionAuth as JSON, tokens included.
    auth JSONB NOT NULL,
    installation_instance_id TEXT,
    is_sandbox BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    connected_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE buyers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT COLLATE "C" NOT NULL,
    from_domain TEXT NOT NULL,
    from_identity TEXT NOT NULL,
    to_domain TEXT NOT NULL,
    to_identity TEXT NOT NULL,
    sender_domain TEXT NOT NULL,
    sender_identity TEXT NOT NULL,
    shared_secret TEXT,
    url_token TEXT,
    mode TEXT NOT NULL,
    invoice_url TEXT,
    invoicing JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, name),
    UNIQUE (account_id, id)
);

-- A token must select one buyer; NULL tokens are distinct, so many buyers may have none.
CREATE UNIQUE INDEX buyers_url_token ON buyers (account_id, url_token);

CREATE TABLE documents (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    buyer_id BIGINT,
    payload_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    masked_body BYTEA NOT NULL,
    content_type TEXT NOT NULL,
    request_kind TEXT NOT NULL,
    deployment_test BOOLEAN NOT NULL,
    outcome TEXT NOT NULL,
    duplicate_of BIGINT,
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id),
    FOREIGN KEY (account_id, duplicate_of) REFERENCES documents (account_id, id)
);

CREATE INDEX documents_duplicate
    ON documents (account_id, buyer_id, payload_id, body_sha256);
CREATE INDEX documents_duplicate_of ON documents (account_id, duplicate_of);

CREATE TABLE attachments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES documents (id),
    content_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL
);

CREATE INDEX attachments_document ON attachments (document_id);

CREATE TABLE purchase_orders (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    buyer_id BIGINT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    brightpearl_order_id BIGINT,
    -- NULL only inside the transaction that creates the order with its first
    -- revision. The foreign keys to revisions are added below that table.
    latest_revision_id BIGINT,
    synced_revision_id BIGINT,
    create_attempted_ref TEXT,
    revision_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, buyer_id, number),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE INDEX purchase_orders_created ON purchase_orders (account_id, created_at);
CREATE INDEX purchase_orders_status ON purchase_orders (account_id, status, created_at);

CREATE TABLE revisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    po_id BIGINT NOT NULL,
    document_id BIGINT NOT NULL,
    order_type TEXT NOT NULL,
    order_version BIGINT,
    -- The document timestamp, plus the offset it was written with.
    document_timestamp TIMESTAMPTZ,
    document_timestamp_offset_seconds INTEGER,
    content_sha256 TEXT NOT NULL,
    order_json JSONB NOT NULL,
    status TEXT NOT NULL,
    test BOOLEAN NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id),
    FOREIGN KEY (account_id, document_id) REFERENCES documents (account_id, id),
    CHECK ((document_timestamp IS NULL) = (document_timestamp_offset_seconds IS NULL))
);

CREATE INDEX revisions_po ON revisions (po_id, status);
CREATE INDEX revisions_document ON revisions (account_id, document_id);

ALTER TABLE purchase_orders
    ADD FOREIGN KEY (latest_revision_id) REFERENCES revisions (id),
    ADD FOREIGN KEY (synced_revision_id) REFERENCES revisions (id);

CREATE TABLE po_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    po_id BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id)
);

CREATE INDEX po_events_po ON po_events (po_id);

CREATE TABLE coupa_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    buyer_id BIGINT NOT NULL,
    part_id TEXT COLLATE "C" NOT NULL,
    unit_of_measure TEXT COLLATE "C" NOT NULL,
    auxiliary_id TEXT,
    buyer_part_id TEXT,
    manufacturer_part_id TEXT,
    description TEXT NOT NULL,
    -- Lower-cased by the store (Rust's to_lowercase) for case-insensitive
    -- search, the same folding as in the SQLite store.
    part_id_folded TEXT NOT NULL,
    description_folded TEXT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, buyer_id, part_id, unit_of_measure),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE INDEX coupa_items_part ON coupa_items (account_id, part_id);

-- In the mapping tables NULL means "any buyer", "any unit" or "the whole
-- buyer", and the keys treat NULL as one value.
CREATE TABLE item_mappings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    buyer_id BIGINT,
    coupa_part_id TEXT NOT NULL,
    unit_of_measure TEXT COLLATE "C",
    product_id BIGINT NOT NULL,
    quantity_factor NUMERIC NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE NULLS NOT DISTINCT (account_id, buyer_id, coupa_part_id, unit_of_measure),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE TABLE customer_mappings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    buyer_id BIGINT NOT NULL,
    bill_to_address_id TEXT COLLATE "C",
    contact_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE NULLS NOT DISTINCT (account_id, buyer_id, bill_to_address_id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE TABLE products (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    product_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    sku TEXT,
    barcode TEXT,
    ean TEXT,
    upc TEXT,
    mpn TEXT,
    isbn TEXT,
    stock_tracked BOOLEAN NOT NULL,
    tax_code TEXT,
    updated_on TIMESTAMPTZ,
    PRIMARY KEY (account_id, product_id)
);

CREATE INDEX products_sku ON products (account_id, sku);
CREATE INDEX products_barcode ON products (account_id, barcode);
CREATE INDEX products_ean ON products (account_id, ean);
CREATE INDEX products_upc ON products (account_id, upc);
CREATE INDEX products_mpn ON products (account_id, mpn);
CREATE INDEX products_isbn ON products (account_id, isbn);

CREATE TABLE contacts (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    contact_id BIGINT NOT NULL,
    company_name TEXT,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    is_customer BOOLEAN NOT NULL,
    PRIMARY KEY (account_id, contact_id)
);

CREATE TABLE reference_data (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    data JSONB NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    job_key TEXT NOT NULL,
    payload JSONB NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('queued', 'running', 'waiting', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at TIMESTAMPTZ NOT NULL,
    -- Set only while the job is running.
    claimed_by TEXT,
    claim_expires_at TIMESTAMPTZ,
    last_error TEXT,
    first_failure_at TIMESTAMPTZ,
    -- Earliest run_at of enqueues that arrived while the job was running;
    -- finishing the job queues it again for then.
    rerun_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

-- The enqueue's ON CONFLICT clause repeats this index's columns and predicate.
CREATE UNIQUE INDEX jobs_unfinished_key
    ON jobs (account_id, job_key) WHERE status IN ('queued', 'running', 'waiting');
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_claim_expiry ON jobs (claim_expires_at) WHERE status = 'running';
CREATE INDEX jobs_account ON jobs (account_id, status);

-- Folds only ASCII letters, as SQLite's lower() does, so a search of PO or
-- invoice numbers matches the same rows on both stores.
CREATE FUNCTION ascii_lower(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
