-- Retention of raw documents. Removing a body keeps its row and metadata
-- (payload ID, hash, times, totals) and records when the body went, because
-- an empty body or invoice document cannot tell "removed" from "never built".
ALTER TABLE documents ADD COLUMN body_removed_at TEXT;
ALTER TABLE invoices ADD COLUMN document_removed_at TEXT;

-- The retention job reads the oldest bodies still kept.
CREATE INDEX documents_retention
    ON documents (account_id, received_at) WHERE body_removed_at IS NULL;
CREATE INDEX invoices_retention
    ON invoices (account_id, sent_at) WHERE document_removed_at IS NULL;
