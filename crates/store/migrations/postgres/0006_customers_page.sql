-- The customers page groups an account's purchase orders by the BillTo of
-- their latest revision. Each order keeps that BillTo's addressID, trimmed
-- as the sync trims it before it looks up a customer mapping, so grouping
-- and counting are index scans that read no order documents. The SQLite
-- migration of the same name keeps the same column.

-- The addressID of a parsed order's BillTo without the code points Rust's
-- char::is_whitespace accepts; NULL when it is missing or empty after that.
CREATE FUNCTION bill_to_address_key(order_json JSONB) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN nullif(btrim(
    order_json #>> '{header,bill_to,address_id}',
    U&'\0009\000A\000B\000C\000D\0020\0085\00A0\1680\2000\2001\2002\2003\2004\2005'
        || U&'\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000'
), '');

ALTER TABLE purchase_orders ADD COLUMN bill_to_address_id TEXT COLLATE "C";

UPDATE purchase_orders p
SET bill_to_address_id = bill_to_address_key(r.order_json)
FROM revisions r
WHERE r.id = p.latest_revision_id;

CREATE INDEX purchase_orders_bill_to
    ON purchase_orders (account_id, buyer_id, bill_to_address_id, latest_revision_id);

-- record_document inserts the revision before it points the order at it.
CREATE FUNCTION purchase_orders_bill_to() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.bill_to_address_id := (
        SELECT bill_to_address_key(r.order_json) FROM revisions r
        WHERE r.id = NEW.latest_revision_id
    );
    RETURN NEW;
END
$$;

CREATE TRIGGER purchase_orders_bill_to
BEFORE UPDATE OF latest_revision_id ON purchase_orders
FOR EACH ROW
WHEN (NEW.latest_revision_id IS DISTINCT FROM OLD.latest_revision_id)
EXECUTE FUNCTION purchase_orders_bill_to();

-- Who chose a mapping's contact in the portal, and which contact it was.
-- A sync that replaces the contact later (because the chosen one was
-- deleted in Brightpearl) leaves both, so the mapping counts as chosen by
-- that person only while chosen_contact_id equals contact_id.
ALTER TABLE customer_mappings ADD COLUMN chosen_by TEXT;
ALTER TABLE customer_mappings ADD COLUMN chosen_contact_id BIGINT;
