-- Invoicing: the Brightpearl orders tracked per purchase order, their rows,
-- the invoices and credits sent to Coupa, and the pollers' cursors.
--
-- The encodings and the composite (account_id, id) foreign keys follow
-- 0001_init.sql.

CREATE TABLE tracked_orders (
    account_id INTEGER NOT NULL,
    brightpearl_order_id INTEGER NOT NULL,
    po_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    parent_order_id INTEGER,
    invoice_reference TEXT,
    version INTEGER,
    open INTEGER NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (account_id, brightpearl_order_id),
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id)
);

CREATE INDEX tracked_orders_po ON tracked_orders (account_id, po_id);

CREATE TABLE row_links (
    account_id INTEGER NOT NULL,
    brightpearl_order_id INTEGER NOT NULL,
    row_id INTEGER NOT NULL,
    po_id INTEGER NOT NULL,
    line_number INTEGER NOT NULL,
    PRIMARY KEY (account_id, brightpearl_order_id, row_id),
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id)
);

CREATE INDEX row_links_po ON row_links (account_id, po_id);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    po_id INTEGER NOT NULL,
    buyer_id INTEGER NOT NULL,
    brightpearl_order_id INTEGER NOT NULL,
    invoice_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- The invoice date in UTC, plus the offset it was written with.
    invoice_date TEXT NOT NULL,
    invoice_date_offset_seconds INTEGER NOT NULL,
    currency TEXT NOT NULL,
    brightpearl_total TEXT NOT NULL,
    sent_total TEXT NOT NULL,
    document TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome_unknown INTEGER NOT NULL DEFAULT 0,
    coupa_status INTEGER,
    coupa_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (account_id, buyer_id, invoice_number),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE INDEX invoices_po ON invoices (account_id, po_id);
CREATE INDEX invoices_created ON invoices (account_id, created_at);

-- Quantities are decimal TEXT, so they are summed in Rust, never in SQL,
-- where sum() would turn them into floating point.
CREATE TABLE invoice_lines (
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    -- Position of the line within its invoice, from 0.
    position INTEGER NOT NULL,
    po_line_number INTEGER NOT NULL,
    quantity TEXT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE poll_cursors (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    cursor TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);
