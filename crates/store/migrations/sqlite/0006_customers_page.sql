-- The customers page groups an account's purchase orders by the BillTo of
-- their latest revision. Each order keeps that BillTo's addressID, trimmed
-- as the sync trims it before it looks up a customer mapping, so grouping
-- and counting are index scans that read no order documents.

-- The addressID of each revision's BillTo without the code points Rust's
-- char::is_whitespace accepts, listed in the char() call; NULL when it is
-- missing or empty after that, as in customer_mappings.
CREATE VIEW revision_bill_to_address_ids AS
SELECT
    id,
    nullif(trim(json_extract(order_json, '$.header.bill_to.address_id'),
        char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198,
            8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288)), '') AS bill_to_address_id
FROM revisions;

ALTER TABLE purchase_orders ADD COLUMN bill_to_address_id TEXT;

CREATE INDEX purchase_orders_bill_to
    ON purchase_orders (account_id, buyer_id, bill_to_address_id, latest_revision_id);

-- record_document inserts the revision before it points the order at it.
CREATE TRIGGER purchase_orders_bill_to AFTER UPDATE OF latest_revision_id ON purchase_orders
WHEN NEW.latest_revision_id IS NOT OLD.latest_revision_id
BEGIN
    UPDATE purchase_orders
    SET bill_to_address_id = (
        SELECT bill_to_address_id FROM revision_bill_to_address_ids
        WHERE id = NEW.latest_revision_id
    )
    WHERE id = NEW.id;
END;

-- Orders stored before this migration.
UPDATE purchase_orders
SET bill_to_address_id = (
    SELECT bill_to_address_id FROM revision_bill_to_address_ids
    WHERE id = purchase_orders.latest_revision_id
)
WHERE latest_revision_id IS NOT NULL;

-- Who chose a mapping's contact in the portal, and which contact it was.
-- A sync that replaces the contact later (because the chosen one was
-- deleted in Brightpearl) leaves both, so the mapping counts as chosen by
-- that person only while chosen_contact_id equals contact_id.
ALTER TABLE customer_mappings ADD COLUMN chosen_by TEXT;
ALTER TABLE customer_mappings ADD COLUMN chosen_contact_id INTEGER;
