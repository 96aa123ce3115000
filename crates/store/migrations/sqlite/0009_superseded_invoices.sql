-- Invoices that Brightpearl took back or renumbered before they reached
-- Coupa were stored as failed with a reason that starts "superseded:".
-- They now have a status of their own, so they no longer count among
-- failed invoices or offer a retry.
UPDATE invoices SET status = 'superseded'
WHERE status = 'failed' AND reason LIKE 'superseded:%';
