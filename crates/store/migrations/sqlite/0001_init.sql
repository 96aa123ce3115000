-- Schema of the SQLite store.
--
-- Encodings shared by every table:
-- * times are RFC 3339 text in UTC with nine fractional digits
--   ('2024-05-01T09:30:00.000000000Z'), so text order is time order;
-- * decimals are TEXT (exact, scale kept); JSON is TEXT; bytes are BLOB;
-- * enums are their snake_case names; booleans are 0 or 1.
--
-- Every tenant row carries account_id. Child rows point at their parent with
-- a composite (account_id, id) foreign key, so a row can never reference a
-- buyer, order or document of another account. AUTOINCREMENT keeps ids from
-- being reused, because revision ids double as arrival order.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE connections (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    account_code TEXT NOT NULL,
    api_base TEXT NOT NULL,
    -- ConnectionAuth as JSON, tokens included.
    auth TEXT NOT NULL,
    installation_instance_id TEXT,
    is_sandbox INTEGER NOT NULL,
    status TEXT NOT NULL,
    connected_at TEXT NOT NULL
);

CREATE TABLE buyers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
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
    invoicing TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    UNIQUE (account_id, name),
    UNIQUE (account_id, id)
);

-- A token must select one buyer; NULL tokens are distinct, so many buyers may have none.
CREATE UNIQUE INDEX buyers_url_token ON buyers (account_id, url_token);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    buyer_id INTEGER,
    payload_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    masked_body BLOB NOT NULL,
    content_type TEXT NOT NULL,
    request_kind TEXT NOT NULL,
    deployment_test INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    duplicate_of INTEGER,
    received_at TEXT NOT NULL,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id),
    FOREIGN KEY (account_id, duplicate_of) REFERENCES documents (account_id, id)
);

CREATE INDEX documents_duplicate
    ON documents (account_id, buyer_id, payload_id, body_sha256);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents (id),
    content_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL
);

CREATE INDEX attachments_document ON attachments (document_id);

CREATE TABLE purchase_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    buyer_id INTEGER NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    brightpearl_order_id INTEGER,
    -- NULL only inside the transaction that creates the order with its first revision.
    latest_revision_id INTEGER REFERENCES revisions (id),
    synced_revision_id INTEGER REFERENCES revisions (id),
    create_attempted_ref TEXT,
    revision_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account_id, buyer_id, number),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE INDEX purchase_orders_created ON purchase_orders (account_id, created_at);
CREATE INDEX purchase_orders_status ON purchase_orders (account_id, status, created_at);

CREATE TABLE revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    po_id INTEGER NOT NULL,
    document_id INTEGER NOT NULL,
    order_type TEXT NOT NULL,
    order_version INTEGER,
    -- The document timestamp in UTC, plus the offset it was written with.
    document_timestamp TEXT,
    document_timestamp_offset_seconds INTEGER,
    content_sha256 TEXT NOT NULL,
    order_json TEXT NOT NULL,
    status TEXT NOT NULL,
    test INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id),
    FOREIGN KEY (account_id, document_id) REFERENCES documents (account_id, id),
    CHECK ((document_timestamp IS NULL) = (document_timestamp_offset_seconds IS NULL))
);

CREATE INDEX revisions_po ON revisions (po_id, status);

CREATE TABLE po_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    po_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id)
);

CREATE INDEX po_events_po ON po_events (po_id);

CREATE TABLE coupa_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    buyer_id INTEGER NOT NULL,
    part_id TEXT NOT NULL,
    unit_of_measure TEXT NOT NULL,
    auxiliary_id TEXT,
    buyer_part_id TEXT,
    manufacturer_part_id TEXT,
    description TEXT NOT NULL,
    -- Lower-cased copies for case-insensitive search: SQLite's own lower()
    -- and LIKE fold ASCII only.
    part_id_folded TEXT NOT NULL,
    description_folded TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    UNIQUE (account_id, buyer_id, part_id, unit_of_measure),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE INDEX coupa_items_part ON coupa_items (account_id, part_id);

-- In the mapping tables NULL means "any buyer", "any unit" or "the whole
-- buyer". SQLite treats NULLs as distinct in unique indexes, so the keys
-- replace NULL with a value no stored row has: buyer id 0 (ids start at 1)
-- and an empty BLOB (a BLOB never equals TEXT).
CREATE TABLE item_mappings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    buyer_id INTEGER,
    coupa_part_id TEXT NOT NULL,
    unit_of_measure TEXT,
    product_id INTEGER NOT NULL,
    quantity_factor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE UNIQUE INDEX item_mappings_key ON item_mappings (
    account_id, ifnull(buyer_id, 0), coupa_part_id, ifnull(unit_of_measure, x'')
);

CREATE TABLE customer_mappings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    buyer_id INTEGER NOT NULL,
    bill_to_address_id TEXT,
    contact_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE UNIQUE INDEX customer_mappings_key
    ON customer_mappings (account_id, buyer_id, ifnull(bill_to_address_id, x''));

CREATE TABLE products (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    product_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    sku TEXT,
    barcode TEXT,
    ean TEXT,
    upc TEXT,
    mpn TEXT,
    isbn TEXT,
    stock_tracked INTEGER NOT NULL,
    tax_code TEXT,
    updated_on TEXT,
    PRIMARY KEY (account_id, product_id)
);

CREATE INDEX products_sku ON products (account_id, sku);
CREATE INDEX products_barcode ON products (account_id, barcode);
CREATE INDEX products_ean ON products (account_id, ean);
CREATE INDEX products_upc ON products (account_id, upc);
CREATE INDEX products_mpn ON products (account_id, mpn);
CREATE INDEX products_isbn ON products (account_id, isbn);

CREATE TABLE contacts (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    contact_id INTEGER NOT NULL,
    company_name TEXT,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    is_customer INTEGER NOT NULL,
    PRIMARY KEY (account_id, contact_id)
);

CREATE TABLE reference_data (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    job_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_at TEXT NOT NULL,
    -- Set only while the job is running.
    claimed_by TEXT,
    claim_expires_at TEXT,
    last_error TEXT,
    first_failure_at TEXT,
    -- Earliest run_at of enqueues that arrived while the job was running;
    -- finishing the job queues it again for then.
    rerun_at TEXT,
    created_at TEXT NOT NULL
);

CREATE UNIQUE INDEX jobs_unfinished_key
    ON jobs (account_id, job_key) WHERE status IN ('queued', 'running', 'waiting');
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_claim_expiry ON jobs (claim_expires_at) WHERE status = 'running';
CREATE INDEX jobs_account ON jobs (account_id, status);
