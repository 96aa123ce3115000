-- The item mapping page. Each Coupa item stores its mapping status and
-- what decides it, so that filtering, counting and paging by status are
-- index scans. Triggers refresh an item whenever its identifiers, the
-- mappings of its part, a product with its match value or the account's
-- identifier settings change.
--
-- The rules are the sync's line matching (engine src/products.rs):
-- - A manual mapping of the item's part applies when it names the item's
--   buyer or no buyer, and the item's unit or no unit. Buyer-specific wins
--   over account-wide, then unit-specific over any unit. Units compare
--   after trimming, ignoring ASCII case.
-- - A part with mappings, none of which applies, is unmapped.
-- - Otherwise the item's Coupa identifier chosen by the account's
--   coupa_id_field, trimmed, must equal the Brightpearl identifier chosen by
--   brightpearl_id_field of exactly one product in the local index.
--
-- Trimming removes the code points Rust's char::is_whitespace accepts,
-- listed in each char() call.

ALTER TABLE coupa_items ADD COLUMN match_value TEXT;
ALTER TABLE coupa_items ADD COLUMN match_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE coupa_items ADD COLUMN match_product_id INTEGER;
ALTER TABLE coupa_items ADD COLUMN manual_product_id INTEGER;
ALTER TABLE coupa_items ADD COLUMN part_mapped INTEGER NOT NULL DEFAULT 0;
-- mapped_by_hand, mapped_by_unique_id or unmapped.
ALTER TABLE coupa_items ADD COLUMN mapping_status TEXT NOT NULL DEFAULT 'unmapped';

CREATE VIEW coupa_item_match_keys AS
SELECT
    i.id,
    i.account_id,
    i.buyer_id,
    i.part_id,
    trim(i.unit_of_measure, char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198,
            8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288)) AS unit,
    nullif(trim(
        CASE coalesce(json_extract(a.settings, '$.coupa_id_field'), 'supplier_part_id')
            WHEN 'supplier_part_id' THEN i.part_id
            WHEN 'supplier_part_auxiliary_id' THEN i.auxiliary_id
            WHEN 'manufacturer_part_id' THEN i.manufacturer_part_id
            WHEN 'buyer_part_id' THEN i.buyer_part_id
        END,
        char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198,
            8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288)
    ), '') AS match_value,
    coalesce(json_extract(a.settings, '$.brightpearl_id_field'), 'sku') AS brightpearl_field
FROM coupa_items i
JOIN accounts a ON a.id = i.account_id;

-- One CASE arm per Brightpearl identifier, so that each lookup uses that
-- column's index.
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
        CASE k.brightpearl_field
            WHEN 'sku' THEN (SELECT count(*) FROM products p
                WHERE p.account_id = k.account_id AND p.sku = k.match_value)
            WHEN 'barcode' THEN (SELECT count(*) FROM products p
                WHERE p.account_id = k.account_id AND p.barcode = k.match_value)
            WHEN 'ean' THEN (SELECT count(*) FROM products p
                WHERE p.account_id = k.account_id AND p.ean = k.match_value)
            WHEN 'upc' THEN (SELECT count(*) FROM products p
                WHERE p.account_id = k.account_id AND p.upc = k.match_value)
            WHEN 'mpn' THEN (SELECT count(*) FROM products p
                WHERE p.account_id = k.account_id AND p.mpn = k.match_value)
            WHEN 'isbn' THEN (SELECT count(*) FROM products p
                WHERE p.account_id = k.account_id AND p.isbn = k.match_value)
            ELSE 0
        END AS match_count,
        CASE k.brightpearl_field
            WHEN 'sku' THEN (SELECT min(p.product_id) FROM products p INDEXED BY products_sku
                WHERE p.account_id = k.account_id AND p.sku = k.match_value)
            WHEN 'barcode' THEN (SELECT min(p.product_id) FROM products p INDEXED BY products_barcode
                WHERE p.account_id = k.account_id AND p.barcode = k.match_value)
            WHEN 'ean' THEN (SELECT min(p.product_id) FROM products p INDEXED BY products_ean
                WHERE p.account_id = k.account_id AND p.ean = k.match_value)
            WHEN 'upc' THEN (SELECT min(p.product_id) FROM products p INDEXED BY products_upc
                WHERE p.account_id = k.account_id AND p.upc = k.match_value)
            WHEN 'mpn' THEN (SELECT min(p.product_id) FROM products p INDEXED BY products_mpn
                WHERE p.account_id = k.account_id AND p.mpn = k.match_value)
            WHEN 'isbn' THEN (SELECT min(p.product_id) FROM products p INDEXED BY products_isbn
                WHERE p.account_id = k.account_id AND p.isbn = k.match_value)
        END AS match_product_id,
        (SELECT m.product_id FROM item_mappings m
         WHERE m.account_id = k.account_id AND m.coupa_part_id = k.part_id
             AND (m.buyer_id IS NULL OR m.buyer_id = k.buyer_id)
             AND (m.unit_of_measure IS NULL
                 OR trim(m.unit_of_measure, char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198,
                     8199, 8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288)) = k.unit COLLATE NOCASE)
         ORDER BY m.buyer_id IS NULL, m.unit_of_measure IS NULL, m.unit_of_measure
         LIMIT 1) AS manual_product_id,
        EXISTS (SELECT 1 FROM item_mappings m
                WHERE m.account_id = k.account_id AND m.coupa_part_id = k.part_id) AS part_mapped
    FROM coupa_item_match_keys k
);

CREATE INDEX item_mappings_part ON item_mappings (account_id, coupa_part_id);
CREATE INDEX coupa_items_match ON coupa_items (account_id, match_value);

-- Page indexes: each ends with the page order and the searched columns, so
-- that paging, counting and searching read the index only.
DROP INDEX coupa_items_part;
CREATE INDEX coupa_items_page ON coupa_items (
    account_id, part_id, buyer_id, unit_of_measure, mapping_status, part_id_folded,
    description_folded
);
CREATE INDEX coupa_items_status_page ON coupa_items (
    account_id, mapping_status, part_id, buyer_id, unit_of_measure, part_id_folded,
    description_folded
);
CREATE INDEX coupa_items_buyer_page ON coupa_items (
    account_id, buyer_id, mapping_status, part_id, unit_of_measure, part_id_folded,
    description_folded
);

-- Items per account, buyer and status, so that the page's counts without a
-- search read a few rows. Triggers on coupa_items keep it current.
CREATE TABLE coupa_item_status_counts (
    account_id INTEGER NOT NULL,
    buyer_id INTEGER NOT NULL,
    mapping_status TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    PRIMARY KEY (account_id, buyer_id, mapping_status)
);

-- The count of the inserted status comes first, so that the status change
-- the refresh makes moves the item from it.
CREATE TRIGGER coupa_items_match_insert AFTER INSERT ON coupa_items
BEGIN
    INSERT INTO coupa_item_status_counts (account_id, buyer_id, mapping_status, item_count)
    VALUES (NEW.account_id, NEW.buyer_id, NEW.mapping_status, 1)
    ON CONFLICT (account_id, buyer_id, mapping_status)
    DO UPDATE SET item_count = item_count + 1;
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE id = NEW.id;
END;

CREATE TRIGGER coupa_items_match_update
AFTER UPDATE OF account_id, buyer_id, part_id, unit_of_measure, auxiliary_id, buyer_part_id,
    manufacturer_part_id ON coupa_items
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.buyer_id IS NOT NEW.buyer_id
    OR OLD.part_id IS NOT NEW.part_id OR OLD.unit_of_measure IS NOT NEW.unit_of_measure
    OR OLD.auxiliary_id IS NOT NEW.auxiliary_id OR OLD.buyer_part_id IS NOT NEW.buyer_part_id
    OR OLD.manufacturer_part_id IS NOT NEW.manufacturer_part_id
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE id = NEW.id;
END;

CREATE TRIGGER item_mappings_match_insert AFTER INSERT ON item_mappings
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE account_id = NEW.account_id AND part_id = NEW.coupa_part_id;
END;

CREATE TRIGGER item_mappings_match_update AFTER UPDATE ON item_mappings
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE (account_id = OLD.account_id AND part_id = OLD.coupa_part_id)
            OR (account_id = NEW.account_id AND part_id = NEW.coupa_part_id);
END;

CREATE TRIGGER item_mappings_match_delete AFTER DELETE ON item_mappings
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE account_id = OLD.account_id AND part_id = OLD.coupa_part_id;
END;

-- A product matters to the items whose match value equals its identifier
-- that the account matches on. Refreshing the items equal to any of its
-- identifiers needs no settings lookup, and refreshes a few more at most.
CREATE TRIGGER products_match_insert AFTER INSERT ON products
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE account_id = NEW.account_id
            AND match_value IN (NEW.sku, NEW.barcode, NEW.ean, NEW.upc, NEW.mpn, NEW.isbn);
END;

CREATE TRIGGER products_match_update AFTER UPDATE ON products
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.product_id IS NOT NEW.product_id
    OR OLD.sku IS NOT NEW.sku OR OLD.barcode IS NOT NEW.barcode OR OLD.ean IS NOT NEW.ean
    OR OLD.upc IS NOT NEW.upc OR OLD.mpn IS NOT NEW.mpn OR OLD.isbn IS NOT NEW.isbn
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE (account_id = OLD.account_id
                AND match_value IN (OLD.sku, OLD.barcode, OLD.ean, OLD.upc, OLD.mpn, OLD.isbn))
            OR (account_id = NEW.account_id
                AND match_value IN (NEW.sku, NEW.barcode, NEW.ean, NEW.upc, NEW.mpn, NEW.isbn));
END;

CREATE TRIGGER products_match_delete AFTER DELETE ON products
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE account_id = OLD.account_id
            AND match_value IN (OLD.sku, OLD.barcode, OLD.ean, OLD.upc, OLD.mpn, OLD.isbn);
END;

CREATE TRIGGER accounts_match_update AFTER UPDATE OF settings ON accounts
WHEN json_extract(OLD.settings, '$.coupa_id_field')
        IS NOT json_extract(NEW.settings, '$.coupa_id_field')
    OR json_extract(OLD.settings, '$.brightpearl_id_field')
        IS NOT json_extract(NEW.settings, '$.brightpearl_id_field')
BEGIN
    UPDATE coupa_items
    SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status) = (
        SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
            mapping_status
        FROM coupa_item_match m
        WHERE m.id = coupa_items.id
    )
    WHERE account_id = NEW.id;
END;

-- Items recorded before this migration, before the count triggers exist.
UPDATE coupa_items
SET (match_value, match_count, match_product_id, manual_product_id, part_mapped,
        mapping_status) = (
    SELECT match_value, match_count, match_product_id, manual_product_id, part_mapped,
        mapping_status
    FROM coupa_item_match m
    WHERE m.id = coupa_items.id
)
WHERE true;

INSERT INTO coupa_item_status_counts (account_id, buyer_id, mapping_status, item_count)
SELECT account_id, buyer_id, mapping_status, count(*)
FROM coupa_items
GROUP BY account_id, buyer_id, mapping_status;

CREATE TRIGGER coupa_items_count_update
AFTER UPDATE OF account_id, buyer_id, mapping_status ON coupa_items
WHEN OLD.account_id IS NOT NEW.account_id OR OLD.buyer_id IS NOT NEW.buyer_id
    OR OLD.mapping_status IS NOT NEW.mapping_status
BEGIN
    UPDATE coupa_item_status_counts SET item_count = item_count - 1
    WHERE account_id = OLD.account_id AND buyer_id = OLD.buyer_id
        AND mapping_status = OLD.mapping_status;
    INSERT INTO coupa_item_status_counts (account_id, buyer_id, mapping_status, item_count)
    VALUES (NEW.account_id, NEW.buyer_id, NEW.mapping_status, 1)
    ON CONFLICT (account_id, buyer_id, mapping_status)
    DO UPDATE SET item_count = item_count + 1;
END;

CREATE TRIGGER coupa_items_count_delete AFTER DELETE ON coupa_items
BEGIN
    UPDATE coupa_item_status_counts SET item_count = item_count - 1
    WHERE account_id = OLD.account_id AND buyer_id = OLD.buyer_id
        AND mapping_status = OLD.mapping_status;
END;
