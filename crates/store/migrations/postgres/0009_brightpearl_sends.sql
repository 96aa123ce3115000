-- The send time of every recent Brightpearl request, per account, so that
-- all pobridge processes on this database keep each account's
-- requests_per_minute together. A claim deletes the account's rows that
-- have left the window, so each account keeps at most about
-- requests_per_minute rows. The times come from the database server's
-- clock, which every process shares.
CREATE TABLE brightpearl_sends (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sent_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX brightpearl_sends_account_sent_at ON brightpearl_sends (account_id, sent_at);
