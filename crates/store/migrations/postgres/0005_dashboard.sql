-- Indexes for the dashboard, which reads an account's activity in the last
-- days: events by status and time, invoices by the time Coupa accepted
-- them, and failed invoices by their last change.

CREATE INDEX po_events_account_status ON po_events (account_id, status, at);
CREATE INDEX invoices_sent ON invoices (account_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX invoices_status_updated ON invoices (account_id, status, updated_at);
