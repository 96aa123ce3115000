-- The item mapping page. Each Coupa item stores its mapping status and
-- what decides it, so that filtering, counting and paging by status are
-- index scans. Triggers refresh an item whenever its identifiers, the
-- mappings of its part, a product with its match value or the account's
-- identifier settings change. The SQLite migration of the same name states
-- the rules; both compute them the same way.
--
-- Under READ COMMITTED two transactions could each refresh items without
-- seeing the other's uncommitted change (a new product and a new item with
-- its value, say) and both store a stale status. So every write that can
-- change a status first takes a transaction-level advisory lock on the
-- account, in a BEFORE trigger, and the refresh after it sees every change
-- committed before. An insert, including the insert of an upsert, takes the
-- lock before any row lock of its statement.
--
-- NOTE: the lock serializes, per account, order intake (which records
-- items), product refreshes and mapping changes. A refresh that writes many
-- products in one transaction holds back the account's orders until it
-- commits. A buyer deletion that races with an order or a mapping of that
-- buyer can deadlock, and PostgreSQL then aborts one of them.

-- Trims the code points Rust's char::is_whitespace accepts.
CREATE FUNCTION trim_whitespace(value TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN btrim(
    value,
    U&'\0009\000A\000B\000C\000D\0020\0085\00A0\1680\2000\2001\2002\2003\2004\2005'
        || U&'\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000'
);

ALTER TABLE coupa_items
    ADD COLUMN match_value TEXT,
    ADD COLUMN match_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN match_product_id BIGINT,
    ADD COLUMN manual_product_id BIGINT,
    ADD COLUMN part_mapped BOOLEAN NOT NULL DEFAULT false,
    -- mapped_by_hand, mapped_by_unique_id or unmapped.
    ADD COLUMN mapping_status TEXT COLLATE "C" NOT NULL DEFAULT 'unmapped';

CREATE VIEW coupa_item_match_keys AS
SELECT
    i.id,
    i.account_id,
    i.buyer_id,
    i.part_id,
    trim_whitespace(i.unit_of_measure) AS unit,
    nullif(trim_whitespace(
        CASE coalesce(a.settings ->> 'coupa_id_field', 'supplier_part_id')
            WHEN 'supplier_part_id' THEN i.part_id
            WHEN 'supplier_part_auxiliary_id' THEN i.auxiliary_id
            WHEN 'manufacturer_part_id' THEN i.manufacturer_part_id
            WHEN 'buyer_part_id' THEN i.buyer_part_id
        END
    ), '') AS match_value,
    coalesce(a.settings ->> 'brightpearl_id_field', 'sku') AS brightpearl_field
FROM coupa_items i
JOIN accounts a ON a.id = i.account_id;

-- Counts the account's products whose Brightpearl identifier `field` (a
-- brightpearl_id_field value) equals `value`, and finds the smallest of
-- their ids. EXECUTE plans the lookup for the column it names each time.
CREATE FUNCTION product_identifier_match(
    account BIGINT,
    field TEXT,
    value TEXT,
    OUT match_count BIGINT,
    OUT match_product_id BIGINT
)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    match_count := 0;
    IF value IS NULL OR field NOT IN ('sku', 'barcode', 'ean', 'upc', 'mpn', 'isbn') THEN
        RETURN;
    END IF;
    EXECUTE format(
        'SELECT count(*), min(product_id) FROM products WHERE account_id = $1 AND %I = $2',
        field
    ) INTO match_count, match_product_id USING account, value;
END
$$;

CREATE VIEW coupa_item_match AS
SELECT
    id,
    match_value,
    match_count,
    match_product_id,
    manual_product_id,
    part_mapped,
    CASE
        WHEN manual_product_id IS NOT NULL THEN 'mapped_by_hand'
        WHEN NOT part_mapped AND match_count = 1 THEN 'mapped_by_unique_id'
        ELSE 'unmapped'
    END AS mapping_status
FROM (
    SELECT
        k.id,
        k.match_value,
        pm.match_count,
        pm.match_product_id,
        (SELECT m.product_id FROM item_mappings m
         WHERE m.account_id = k.account_id AND m.coupa_part_id = k.part_id
             AND (m.buyer_id IS NULL OR m.buyer_id = k.buyer_id)
             AND (m.unit_of_measure IS NULL
                 OR lower(trim_whitespace(m.unit_of_measure) COLLATE "C")
                     = lower(k.unit COLLATE "C"))
         ORDER BY m.buyer_id IS NULL, m.unit_of_measure IS NULL, m.unit_of_measure
         LIMIT 1) AS manual_product_id,
        EXISTS (SELECT 1 FROM item_mappings m
                WHERE m.account_id = k.account_id AND m.coupa_part_id = k.part_id)
            AS part_mapped
    FROM coupa_item_match_keys k
    CROSS JOIN LATERAL
        product_identifier_match(k.account_id, k.brightpearl_field, k.match_value) pm
) inputs;

CREATE INDEX item_mappings_part ON item_mappings (account_id, coupa_part_id);
CREATE INDEX coupa_items_match ON coupa_items (account_id, match_value);

-- Page indexes: the filtered columns, then the page order, then what the
-- page and a search read, so that they can be index-only scans.
DROP INDEX coupa_items_part;
CREATE INDEX coupa_items_page
    ON coupa_items (account_id, part_id, buyer_id, unit_of_measure)
    INCLUDE (id, mapping_status, part_id_folded, description_folded);
CREATE INDEX coupa_items_status_page
    ON coupa_items (account_id, mapping_status, part_id, buyer_id, unit_of_measure)
    INCLUDE (id, part_id_folded, description_folded);
CREATE INDEX coupa_items_buyer_page
    ON coupa_items (account_id, buyer_id, mapping_status, part_id, unit_of_measure)
    INCLUDE (id, part_id_folded, description_folded);

-- Items per account, buyer and status, so that the page's counts without a
-- search read a few rows. Triggers on coupa_items keep it current.
CREATE TABLE coupa_item_status_counts (
    account_id BIGINT NOT NULL,
    buyer_id BIGINT NOT NULL,
    mapping_status TEXT COLLATE "C" NOT NULL,
    item_count BIGINT NOT NULL,
    PRIMARY KEY (account_id, buyer_id, mapping_status)
);

CREATE FUNCTION add_coupa_item_count(account BIGINT, buyer BIGINT, status TEXT, change BIGINT)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO coupa_item_status_counts (account_id, buyer_id, mapping_status, item_count)
    VALUES (account, buyer, status, change)
    ON CONFLICT (account_id, buyer_id, mapping_status)
    DO UPDATE SET item_count = coupa_item_status_counts.item_count + excluded.item_count
$$;

-- Stores the current status of the given items.
--
-- The functions that read or refresh items plan every statement for its
-- values (force_custom_plan). A plan PL/pgSQL kept from a time when the
-- tables were nearly empty can pick an index on account_id alone, and then
-- each lookup reads all the account's rows until the next ANALYZE.
CREATE FUNCTION refresh_coupa_item_matches(ids BIGINT[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    UPDATE coupa_items c
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT m.match_value, m.match_count, m.match_product_id, m.manual_product_id,
            m.part_mapped, m.mapping_status
        FROM coupa_item_match m
        WHERE m.id = c.id
    )
    WHERE c.id = ANY (ids);
END
$$;

CREATE FUNCTION lock_coupa_item_matches(account BIGINT) RETURNS void
LANGUAGE sql
RETURN pg_advisory_xact_lock(hashtextextended('coupa_item_match:' || account, 0));

CREATE FUNCTION coupa_item_match_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM lock_coupa_item_matches(OLD.account_id);
        RETURN OLD;
    END IF;
    PERFORM lock_coupa_item_matches(NEW.account_id);
    RETURN NEW;
END
$$;

CREATE FUNCTION coupa_items_match_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_coupa_item_matches(ARRAY[NEW.id]);
    RETURN NULL;
END
$$;

-- The count of the inserted status comes first, so that the status change
-- the refresh makes moves the item from it.
CREATE FUNCTION coupa_items_match_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_coupa_item_count(NEW.account_id, NEW.buyer_id, NEW.mapping_status, 1);
    PERFORM refresh_coupa_item_matches(ARRAY[NEW.id]);
    RETURN NULL;
END
$$;

CREATE FUNCTION coupa_items_count_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM add_coupa_item_count(OLD.account_id, OLD.buyer_id, OLD.mapping_status, -1);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM add_coupa_item_count(NEW.account_id, NEW.buyer_id, NEW.mapping_status, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION item_mappings_match_refresh() RETURNS trigger
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_coupa_item_matches(ARRAY(
            SELECT id FROM coupa_items
            WHERE account_id = OLD.account_id AND part_id = OLD.coupa_part_id
        ));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM refresh_coupa_item_matches(ARRAY(
            SELECT id FROM coupa_items
            WHERE account_id = NEW.account_id AND part_id = NEW.coupa_part_id
        ));
    END IF;
    RETURN NULL;
END
$$;

-- A product matters to the items whose match value equals its identifier
-- that the account matches on. Refreshing the items equal to any of its
-- identifiers needs no settings lookup, and refreshes a few more at most.
CREATE FUNCTION products_match_refresh() RETURNS trigger
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_coupa_item_matches(ARRAY(
            SELECT id FROM coupa_items
            WHERE account_id = OLD.account_id
                AND match_value IN (OLD.sku, OLD.barcode, OLD.ean, OLD.upc, OLD.mpn, OLD.isbn)
        ));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM refresh_coupa_item_matches(ARRAY(
            SELECT id FROM coupa_items
            WHERE account_id = NEW.account_id
                AND match_value IN (NEW.sku, NEW.barcode, NEW.ean, NEW.upc, NEW.mpn, NEW.isbn)
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION accounts_match_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lock_coupa_item_matches(NEW.id);
    RETURN NEW;
END
$$;

CREATE FUNCTION accounts_match_refresh() RETURNS trigger
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    PERFORM refresh_coupa_item_matches(ARRAY(
        SELECT id FROM coupa_items WHERE account_id = NEW.id
    ));
    RETURN NULL;
END
$$;

CREATE TRIGGER coupa_items_match_lock
BEFORE INSERT OR DELETE OR UPDATE OF account_id, buyer_id, part_id, unit_of_measure, auxiliary_id,
    buyer_part_id, manufacturer_part_id ON coupa_items
FOR EACH ROW EXECUTE FUNCTION coupa_item_match_lock();

CREATE TRIGGER coupa_items_match_insert
AFTER INSERT ON coupa_items
FOR EACH ROW EXECUTE FUNCTION coupa_items_match_insert();

CREATE TRIGGER coupa_items_match_update
AFTER UPDATE OF account_id, buyer_id, part_id, unit_of_measure, auxiliary_id, buyer_part_id,
    manufacturer_part_id ON coupa_items
FOR EACH ROW
WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.buyer_id IS DISTINCT FROM NEW.buyer_id
    OR OLD.part_id IS DISTINCT FROM NEW.part_id
    OR OLD.unit_of_measure IS DISTINCT FROM NEW.unit_of_measure
    OR OLD.auxiliary_id IS DISTINCT FROM NEW.auxiliary_id
    OR OLD.buyer_part_id IS DISTINCT FROM NEW.buyer_part_id
    OR OLD.manufacturer_part_id IS DISTINCT FROM NEW.manufacturer_part_id)
EXECUTE FUNCTION coupa_items_match_refresh();

CREATE TRIGGER item_mappings_match_lock
BEFORE INSERT OR UPDATE OR DELETE ON item_mappings
FOR EACH ROW EXECUTE FUNCTION coupa_item_match_lock();

CREATE TRIGGER item_mappings_match_refresh
AFTER INSERT OR UPDATE OR DELETE ON item_mappings
FOR EACH ROW EXECUTE FUNCTION item_mappings_match_refresh();

CREATE TRIGGER products_match_lock
BEFORE INSERT OR UPDATE OR DELETE ON products
FOR EACH ROW EXECUTE FUNCTION coupa_item_match_lock();

CREATE TRIGGER products_match_insert_delete
AFTER INSERT OR DELETE ON products
FOR EACH ROW EXECUTE FUNCTION products_match_refresh();

CREATE TRIGGER products_match_update
AFTER UPDATE ON products
FOR EACH ROW
WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id
    OR OLD.product_id IS DISTINCT FROM NEW.product_id
    OR OLD.sku IS DISTINCT FROM NEW.sku OR OLD.barcode IS DISTINCT FROM NEW.barcode
    OR OLD.ean IS DISTINCT FROM NEW.ean OR OLD.upc IS DISTINCT FROM NEW.upc
    OR OLD.mpn IS DISTINCT FROM NEW.mpn OR OLD.isbn IS DISTINCT FROM NEW.isbn)
EXECUTE FUNCTION products_match_refresh();

CREATE TRIGGER accounts_match_lock
BEFORE UPDATE OF settings ON accounts
FOR EACH ROW
WHEN (OLD.settings ->> 'coupa_id_field' IS DISTINCT FROM NEW.settings ->> 'coupa_id_field'
    OR OLD.settings ->> 'brightpearl_id_field'
        IS DISTINCT FROM NEW.settings ->> 'brightpearl_id_field')
EXECUTE FUNCTION accounts_match_lock();

CREATE TRIGGER accounts_match_update
AFTER UPDATE OF settings ON accounts
FOR EACH ROW
WHEN (OLD.settings ->> 'coupa_id_field' IS DISTINCT FROM NEW.settings ->> 'coupa_id_field'
    OR OLD.settings ->> 'brightpearl_id_field'
        IS DISTINCT FROM NEW.settings ->> 'brightpearl_id_field')
EXECUTE FUNCTION accounts_match_refresh();

-- Items recorded before this migration, before the count triggers exist.
SELECT refresh_coupa_item_matches(ARRAY(SELECT id FROM coupa_items));

INSERT INTO coupa_item_status_counts (account_id, buyer_id, mapping_status, item_count)
SELECT account_id, buyer_id, mapping_status, count(*)
FROM coupa_items
GROUP BY account_id, buyer_id, mapping_status;

CREATE TRIGGER coupa_items_count_update
AFTER UPDATE OF account_id, buyer_id, mapping_status ON coupa_items
FOR EACH ROW
WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.buyer_id IS DISTINCT FROM NEW.buyer_id
    OR OLD.mapping_status IS DISTINCT FROM NEW.mapping_status)
EXECUTE FUNCTION coupa_items_count_change();

CREATE TRIGGER coupa_items_count_delete
AFTER DELETE ON coupa_items
FOR EACH ROW EXECUTE FUNCTION coupa_items_count_change();
