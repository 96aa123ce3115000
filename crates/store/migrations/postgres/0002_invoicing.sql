-- Invoicing: the Brightpearl orders tracked per purchase order, their rows,
-- the invoices and credits sent to Coupa, and the pollers' cursors.
--
-- The encodings and the composite (account_id, id) foreign keys follow
-- 0001_init.sql.

CREATE TABLE tracked_orders (
    account_id BIGINT NOT NULL,
    brightpearl_order_id BIGINT NOT NULL,
    po_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    parent_order_id BIGINT,
    invoice_reference TEXT,
    version BIGINT,
    open BOOLEAN NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, brightpearl_order_id),
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id)
);

CREATE INDEX tracked_orders_po ON tracked_orders (account_id, po_id);

CREATE TABLE row_links (
    account_id BIGINT NOT NULL,
    brightpearl_order_id BIGINT NOT NULL,
    row_id BIGINT NOT NULL,
    po_id BIGINT NOT NULL,
    -- A PO line's lineNumber, a u32 in the records.
    line_number BIGINT NOT NULL,
    PRIMARY KEY (account_id, brightpearl_order_id, row_id),
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id)
);

CREATE INDEX row_links_po ON row_links (account_id, po_id);

CREATE TABLE invoices (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL,
    po_id BIGINT NOT NULL,
    buyer_id BIGINT NOT NULL,
    brightpearl_order_id BIGINT NOT NULL,
    invoice_number TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit')),
    -- The invoice date, plus the offset it was written with.
    invoice_date TIMESTAMPTZ NOT NULL,
    invoice_date_offset_seconds INTEGER NOT NULL,
    currency TEXT NOT NULL,
    brightpearl_total NUMERIC NOT NULL,
    sent_total NUMERIC NOT NULL,
    document TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome_unknown BOOLEAN NOT NULL DEFAULT FALSE,
    coupa_status INTEGER,
    coupa_text TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    UNIQUE (account_id, buyer_id, invoice_number),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, po_id) REFERENCES purchase_orders (account_id, id),
    FOREIGN KEY (account_id, buyer_id) REFERENCES buyers (account_id, id)
);

CREATE INDEX invoices_po ON invoices (account_id, po_id);
CREATE INDEX invoices_created ON invoices (account_id, created_at);

CREATE TABLE invoice_lines (
    invoice_id BIGINT NOT NULL REFERENCES invoices (id),
    -- Position of the line within its invoice, from 0.
    position INTEGER NOT NULL,
    po_line_number BIGINT NOT NULL,
    quantity NUMERIC NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

CREATE TABLE poll_cursors (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    cursor JSONB NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name)
);
