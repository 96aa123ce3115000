-- Trigram indexes for the item page's search, so that a search reads the
-- items that contain the text rather than every item of the account. The
-- store searches with LIKE '%text%', which these indexes serve when the text
-- has at least three characters; pg_trgm rechecks every candidate row, so
-- the result is exactly that of the LIKE. pg_trgm is a trusted extension
-- since PostgreSQL 13, so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX coupa_items_part_id_trigrams
    ON coupa_items USING gin (part_id_folded gin_trgm_ops);
CREATE INDEX coupa_items_description_trigrams
    ON coupa_items USING gin (description_folded gin_trgm_ops);
