-- Trigram index for the item page's search, so that a search reads the items
-- that contain the text rather than every item of the account. The table
-- indexes coupa_items' folded columns (external content: it stores only the
-- index) and the triggers below keep it current. With case_sensitive 1 it
-- matches bytes as given: both the columns and the search text are already
-- lower-cased by the store. A query of fewer than three characters matches
-- nothing here, so the store scans the items for such searches.
CREATE VIRTUAL TABLE coupa_items_search USING fts5 (
    part_id_folded, description_folded,
    content = 'coupa_items', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1'
);

INSERT INTO coupa_items_search (coupa_items_search) VALUES ('rebuild');

CREATE TRIGGER coupa_items_search_insert AFTER INSERT ON coupa_items
BEGIN
    INSERT INTO coupa_items_search (rowid, part_id_folded, description_folded)
    VALUES (NEW.id, NEW.part_id_folded, NEW.description_folded);
END;

-- An external content table removes a row by being given its old values.
CREATE TRIGGER coupa_items_search_delete AFTER DELETE ON coupa_items
BEGIN
    INSERT INTO coupa_items_search
        (coupa_items_search, rowid, part_id_folded, description_folded)
    VALUES ('delete', OLD.id, OLD.part_id_folded, OLD.description_folded);
END;

CREATE TRIGGER coupa_items_search_update
AFTER UPDATE OF part_id_folded, description_folded ON coupa_items
WHEN NEW.part_id_folded IS NOT OLD.part_id_folded
    OR NEW.description_folded IS NOT OLD.description_folded
BEGIN
    INSERT INTO coupa_items_search
        (coupa_items_search, rowid, part_id_folded, description_folded)
    VALUES ('delete', OLD.id, OLD.part_id_folded, OLD.description_folded);
    INSERT INTO coupa_items_search (rowid, part_id_folded, description_folded)
    VALUES (NEW.id, NEW.part_id_folded, NEW.description_folded);
END;
