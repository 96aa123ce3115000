//! Coupa items seen on orders, and the item and customer mappings people set.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::buyers::ensure_buyer;
use super::codec::{decode_decimal, decode_enum, decode_time, encode_enum, encode_time, page};
use super::{SqliteQuery, SqliteStore};
use crate::model::ItemMatchColumns;
use crate::LAST_SEEN_RESOLUTION;
use crate::{
    CoupaItem, CoupaItemRow, CustomerMapping, ItemFilter, ItemMapping, ItemMappingRow, ItemPage,
    ItemPageEntry, ItemPageQuery, MappingStatusCounts, StoreResult,
};

/// Inserts new items and refreshes known ones: the description, auxiliary
/// ids and last_seen change, first_seen stays.
pub(super) async fn record_coupa_items(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    ensure_buyer(&mut tx, account, buyer).await?;
    upsert_coupa_items(&mut tx, account, buyer, items, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts or refreshes the items of one order, read from a JSON array of
/// one array of eight values for each item. Its six parameters are bound by
/// [`bind_items`].
///
/// One statement writes any number of items, with the same text each time,
/// so it is prepared once for the connection. SQLite applies the rows in
/// array order, so a part listed twice in one order updates the row its
/// first line inserted. A stored item is written only when something of it
/// changed or its `last_seen` is due to move. Otherwise every order would
/// rewrite the item's row and index pages.
pub(super) const UPSERT_ITEMS: &str = "INSERT INTO coupa_items (account_id, buyer_id, \
         part_id, unit_of_measure, auxiliary_id, buyer_part_id, manufacturer_part_id, \
         description, part_id_folded, description_folded, first_seen, last_seen) \
     SELECT ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
         value ->> 5, value ->> 6, value ->> 7, ?, ? \
     FROM json_each(?) WHERE true ORDER BY key \
     ON CONFLICT (account_id, buyer_id, part_id, unit_of_measure) DO UPDATE SET \
         auxiliary_id = excluded.auxiliary_id, buyer_part_id = excluded.buyer_part_id, \
         manufacturer_part_id = excluded.manufacturer_part_id, \
         description = excluded.description, \
         description_folded = excluded.description_folded, \
         last_seen = max(coupa_items.last_seen, excluded.last_seen) \
     WHERE coupa_items.auxiliary_id IS NOT excluded.auxiliary_id \
         OR coupa_items.buyer_part_id IS NOT excluded.buyer_part_id \
         OR coupa_items.manufacturer_part_id IS NOT excluded.manufacturer_part_id \
         OR coupa_items.description IS NOT excluded.description \
         OR coupa_items.description_folded IS NOT excluded.description_folded \
         OR coupa_items.last_seen < ?";

/// Binds the parameters of [`UPSERT_ITEMS`], after any bound before: the
/// account, the buyer, the time the items were seen (twice), the items, and
/// the time before which an unchanged item's `last_seen` is due to move.
pub(super) fn bind_items<'q>(
    query: SqliteQuery<'q>,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> SqliteQuery<'q> {
    // The same rule as PostgreSQL's: an unchanged item's last_seen moves
    // only once LAST_SEEN_RESOLUTION has passed.
    let stale_before = encode_time(now - LAST_SEEN_RESOLUTION);
    let rows: Vec<_> = items
        .iter()
        .map(|item| {
            (
                &item.part_id,
                &item.unit_of_measure,
                &item.auxiliary_id,
                &item.buyer_part_id,
                &item.manufacturer_part_id,
                &item.description,
                fold_case(&item.part_id),
                fold_case(&item.description),
            )
        })
        .collect();
    // A tuple of strings and options always serializes.
    let rows = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned());
    query
        .bind(account.0)
        .bind(buyer.0)
        .bind(encode_time(now))
        .bind(encode_time(now))
        .bind(rows)
        .bind(stale_before)
}

/// Inserts or refreshes Coupa items inside the caller's transaction; the
/// caller has checked that `buyer` belongs to `account`.
pub(super) async fn upsert_coupa_items(
    conn: &mut sqlx::SqliteConnection,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    bind_items(sqlx::query(UPSERT_ITEMS), account, buyer, items, now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Lower-cases text for search. Unicode lower-casing, not full case folding:
/// `ß` does not match `SS`.
fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

#[derive(sqlx::FromRow)]
struct CoupaItemRecord {
    buyer_id: i64,
    part_id: String,
    unit_of_measure: String,
    auxiliary_id: Option<String>,
    buyer_part_id: Option<String>,
    manufacturer_part_id: Option<String>,
    description: String,
    first_seen: String,
    last_seen: String,
}

impl CoupaItemRecord {
    fn into_row(self) -> StoreResult<CoupaItemRow> {
        Ok(CoupaItemRow {
            buyer_id: BuyerId(self.buyer_id),
            item: CoupaItem {
                part_id: self.part_id,
                auxiliary_id: self.auxiliary_id,
                buyer_part_id: self.buyer_part_id,
                manufacturer_part_id: self.manufacturer_part_id,
                unit_of_measure: self.unit_of_measure,
                description: self.description,
            },
            first_seen: decode_time("coupa item", &self.first_seen)?,
            last_seen: decode_time("coupa item", &self.last_seen)?,
        })
    }
}

/// Lists items ordered by part id, then buyer and unit. The search matches
/// a case-insensitive substring of the part id or the description.
pub(super) async fn list_coupa_items(
    store: &SqliteStore,
    account: AccountId,
    filter: &ItemFilter,
) -> StoreResult<Vec<CoupaItemRow>> {
    let (limit, offset) = page(filter.limit, filter.offset);
    sqlx::query_as::<_, CoupaItemRecord>(
        "SELECT buyer_id, part_id, unit_of_measure, auxiliary_id, buyer_part_id, \
             manufacturer_part_id, description, first_seen, last_seen \
         FROM coupa_items \
         WHERE account_id = ?1 \
             AND (?2 IS NULL OR buyer_id = ?2) \
             AND (?3 IS NULL OR instr(part_id_folded, ?3) > 0 \
                 OR instr(description_folded, ?3) > 0) \
         ORDER BY part_id, buyer_id, unit_of_measure LIMIT ?4 OFFSET ?5",
    )
    .bind(account.0)
    .bind(filter.buyer.map(|buyer| buyer.0))
    .bind(filter.search.as_deref().map(fold_case))
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.reader)
    .await?
    .into_iter()
    .map(CoupaItemRecord::into_row)
    .collect()
}

/// Inserts the mapping or replaces the one with the same buyer (or none),
/// part id and unit (or none).
pub(super) async fn upsert_item_mapping(
    store: &SqliteStore,
    account: AccountId,
    mapping: &ItemMapping,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    upsert_item_mappings(store, account, std::slice::from_ref(mapping), now).await
}

/// Upserts every mapping as [`upsert_item_mapping`] does, in one transaction.
pub(super) async fn upsert_item_mappings(
    store: &SqliteStore,
    account: AccountId,
    mappings: &[ItemMapping],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    super::accounts::ensure_account(&mut tx, account).await?;
    let now = encode_time(now);
    for mapping in mappings {
        if let Some(buyer) = mapping.buyer {
            ensure_buyer(&mut tx, account, buyer).await?;
        }
        insert_item_mapping(&mut tx, account, mapping, &now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_item_mapping(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    account: AccountId,
    mapping: &ItemMapping,
    now: &str,
) -> StoreResult<()> {
    // The conflict target repeats the expressions of item_mappings_key.
    sqlx::query(
        "INSERT INTO item_mappings (account_id, buyer_id, coupa_part_id, unit_of_measure, \
             product_id, quantity_factor, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
         ON CONFLICT (account_id, ifnull(buyer_id, 0), coupa_part_id, \
             ifnull(unit_of_measure, x'')) DO UPDATE SET \
             product_id = excluded.product_id, quantity_factor = excluded.quantity_factor, \
             updated_at = excluded.updated_at",
    )
    .bind(account.0)
    .bind(mapping.buyer.map(|buyer| buyer.0))
    .bind(&mapping.coupa_part_id)
    .bind(&mapping.unit_of_measure)
    .bind(mapping.product_id)
    .bind(mapping.quantity_factor.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ItemMappingRecord {
    buyer_id: Option<i64>,
    coupa_part_id: String,
    unit_of_measure: Option<String>,
    product_id: i64,
    quantity_factor: String,
}

impl ItemMappingRecord {
    fn into_mapping(self) -> StoreResult<ItemMapping> {
        Ok(ItemMapping {
            buyer: self.buyer_id.map(BuyerId),
            coupa_part_id: self.coupa_part_id,
            unit_of_measure: self.unit_of_measure,
            product_id: self.product_id,
            quantity_factor: decode_decimal("item mapping", &self.quantity_factor)?,
        })
    }
}

/// Lists every mapping of the part: account-wide ones first, then by buyer,
/// with the any-unit mapping before unit-specific ones.
pub(super) async fn item_mappings(
    store: &SqliteStore,
    account: AccountId,
    part_id: &str,
) -> StoreResult<Vec<ItemMapping>> {
    sqlx::query_as::<_, ItemMappingRecord>(
        "SELECT buyer_id, coupa_part_id, unit_of_measure, product_id, quantity_factor \
         FROM item_mappings WHERE account_id = ? AND coupa_part_id = ? \
         ORDER BY buyer_id IS NOT NULL, buyer_id, unit_of_measure IS NOT NULL, unit_of_measure",
    )
    .bind(account.0)
    .bind(part_id)
    .fetch_all(&store.reader)
    .await?
    .into_iter()
    .map(ItemMappingRecord::into_mapping)
    .collect()
}

#[derive(sqlx::FromRow)]
struct ListedMappingRecord {
    #[sqlx(flatten)]
    mapping: ItemMappingRecord,
    sku: Option<String>,
}

/// Lists the account's mappings by part id, then in the order of
/// [`item_mappings`], each with its product's SKU.
pub(super) async fn list_item_mappings(
    store: &SqliteStore,
    account: AccountId,
) -> StoreResult<Vec<ItemMappingRow>> {
    sqlx::query_as::<_, ListedMappingRecord>(
        "SELECT m.buyer_id, m.coupa_part_id, m.unit_of_measure, m.product_id, \
             m.quantity_factor, p.sku \
         FROM item_mappings m \
         LEFT JOIN products p ON p.account_id = m.account_id AND p.product_id = m.product_id \
         WHERE m.account_id = ? \
         ORDER BY m.coupa_part_id, m.buyer_id IS NOT NULL, m.buyer_id, \
             m.unit_of_measure IS NOT NULL, m.unit_of_measure",
    )
    .bind(account.0)
    .fetch_all(&store.reader)
    .await?
    .into_iter()
    .map(|record| {
        Ok(ItemMappingRow {
            mapping: record.mapping.into_mapping()?,
            sku: record.sku,
        })
    })
    .collect()
}

/// Inserts the mapping or replaces the one with the same buyer and BillTo
/// address (or none).
pub(super) async fn upsert_customer_mapping(
    store: &SqliteStore,
    account: AccountId,
    mapping: &CustomerMapping,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    ensure_buyer(&mut tx, account, mapping.buyer).await?;
    // The conflict target repeats the expressions of customer_mappings_key.
    sqlx::query(
        "INSERT INTO customer_mappings (account_id, buyer_id, bill_to_address_id, contact_id, \
             created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
         ON CONFLICT (account_id, buyer_id, ifnull(bill_to_address_id, x'')) DO UPDATE SET \
             contact_id = excluded.contact_id, updated_at = excluded.updated_at",
    )
    .bind(account.0)
    .bind(mapping.buyer.0)
    .bind(&mapping.bill_to_address_id)
    .bind(mapping.contact_id)
    .bind(encode_time(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lists the buyer's mappings, the whole-buyer mapping first.
pub(super) async fn customer_mappings(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
) -> StoreResult<Vec<CustomerMapping>> {
    let mut conn = store.reader.acquire().await?;
    ensure_buyer(&mut conn, account, buyer).await?;
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT bill_to_address_id, contact_id FROM customer_mappings \
         WHERE account_id = ? AND buyer_id = ? \
         ORDER BY bill_to_address_id IS NOT NULL, bill_to_address_id",
    )
    .bind(account.0)
    .bind(buyer.0)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(bill_to_address_id, contact_id)| CustomerMapping {
            buyer,
            bill_to_address_id,
            contact_id,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ItemPageRecord {
    #[sqlx(flatten)]
    item: CoupaItemRecord,
    mapping_status: String,
    match_value: Option<String>,
    match_count: i64,
    part_mapped: bool,
    product_id: Option<i64>,
    sku: Option<String>,
    name: Option<String>,
}

impl ItemPageRecord {
    fn into_entry(self) -> StoreResult<ItemPageEntry> {
        let columns = ItemMatchColumns {
            mapping_status: decode_enum("coupa item", &self.mapping_status)?,
            match_value: self.match_value,
            match_count: self.match_count,
            part_mapped: self.part_mapped,
            product_id: self.product_id,
            sku: self.sku,
            name: self.name,
        };
        Ok(ItemPageEntry {
            item: self.item.into_row()?,
            matched: columns.into_match()?,
        })
    }
}

/// Reads the counts and the page in one read transaction, so both see the
/// same snapshot. Filters are added only when set, so that SQLite can pick
/// the page index that starts with them.
pub(super) async fn item_page(
    store: &SqliteStore,
    account: AccountId,
    query: &ItemPageQuery,
) -> StoreResult<ItemPage> {
    let search = query.search.as_deref().map(fold_case);
    let mut tx = store.reader.begin().await?;

    let counts = status_counts(&mut tx, account, query.buyer, search.as_deref()).await?;

    let mut page_sql = QueryBuilder::new(format!("SELECT {PAGE_COLUMNS} FROM (SELECT id"));
    push_matching_items(&mut page_sql, account, query.buyer, search.as_deref());
    if let Some(status) = query.status {
        page_sql
            .push(" AND mapping_status = ")
            .push_bind(encode_enum(&status));
    }
    let (limit, offset) = page(query.limit, Some(query.offset));
    page_sql
        .push(" ORDER BY part_id, buyer_id, unit_of_measure LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset)
        .push(PAGE_JOINS);
    let records: Vec<ItemPageRecord> = page_sql.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;

    let entries = records
        .into_iter()
        .map(ItemPageRecord::into_entry)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ItemPage {
        entries,
        total: counts.get(query.status),
        counts,
    })
}

/// Reads one item by its key, with the same columns and joins as a page.
pub(super) async fn item_page_entry(
    store: &SqliteStore,
    account: AccountId,
    buyer: BuyerId,
    part_id: &str,
    unit_of_measure: &str,
) -> StoreResult<Option<ItemPageEntry>> {
    let sql = format!(
        "SELECT {PAGE_COLUMNS} FROM (SELECT id FROM coupa_items \
         WHERE account_id = ? AND buyer_id = ? AND part_id = ? \
             AND unit_of_measure = ?{PAGE_JOINS}"
    );
    let record: Option<ItemPageRecord> = sqlx::query_as(&sql)
        .bind(account.0)
        .bind(buyer.0)
        .bind(part_id)
        .bind(unit_of_measure)
        .fetch_optional(&store.reader)
        .await?;
    record.map(ItemPageRecord::into_entry).transpose()
}

/// The page's item and product columns, by the names [`ItemPageRecord`] reads.
const PAGE_COLUMNS: &str = "i.buyer_id, i.part_id, i.unit_of_measure, i.auxiliary_id, \
    i.buyer_part_id, i.manufacturer_part_id, i.description, i.first_seen, i.last_seen, \
    i.mapping_status, i.match_value, i.match_count, i.part_mapped, \
    CASE i.mapping_status WHEN 'mapped_by_hand' THEN i.manual_product_id \
        WHEN 'mapped_by_unique_id' THEN i.match_product_id END AS product_id, \
    p.sku, p.name";

/// Joins the page's ids to their items and products, in page order.
const PAGE_JOINS: &str = ") page \
    JOIN coupa_items i ON i.id = page.id \
    LEFT JOIN products p ON p.account_id = i.account_id AND p.product_id = \
        CASE i.mapping_status WHEN 'mapped_by_hand' THEN i.manual_product_id \
            WHEN 'mapped_by_unique_id' THEN i.match_product_id END \
    ORDER BY i.part_id, i.buyer_id, i.unit_of_measure";

/// Counts the matching items per status. Without a search the counts
/// come from coupa_item_status_counts; a search counts the items it matches.
///
/// NOTE: a search finds its matches here and again for the page. With 5,000
/// matches among 100,000 items that takes a p95 of 27 to 37 ms (bench-item-page);
/// counting and paging from one set of matches would save most of the second.
async fn status_counts(
    conn: &mut SqliteConnection,
    account: AccountId,
    buyer: Option<BuyerId>,
    folded_search: Option<&str>,
) -> StoreResult<MappingStatusCounts> {
    let mut sql = if folded_search.is_some() {
        let mut sql = QueryBuilder::new("SELECT mapping_status, count(*)");
        push_matching_items(&mut sql, account, buyer, folded_search);
        sql
    } else {
        let mut sql = QueryBuilder::new(
            "SELECT mapping_status, sum(item_count) FROM coupa_item_status_counts",
        );
        push_owner_filters(&mut sql, account, buyer);
        sql
    };
    sql.push(" GROUP BY mapping_status");
    let grouped: Vec<(String, i64)> = sql.build_query_as().fetch_all(conn).await?;

    let mut counts = MappingStatusCounts::default();
    for (status, count) in grouped {
        counts.add(decode_enum("coupa item", &status)?, count);
    }
    Ok(counts)
}

/// Pushes the FROM and WHERE clauses that select the account's items of the
/// buyer (if any) that contain the search text (if any).
fn push_matching_items(
    sql: &mut QueryBuilder<'_, Sqlite>,
    account: AccountId,
    buyer: Option<BuyerId>,
    folded_search: Option<&str>,
) {
    match folded_search {
        Some(search) if search.chars().count() >= MIN_TRIGRAM_SEARCH_CHARS => {
            // CROSS JOIN keeps this join order: SQLite reads the index's
            // matches and looks each item up by id, rather than scanning a
            // page index and testing every id against the matches.
            sql.push(
                " FROM (SELECT rowid AS match_id FROM coupa_items_search \
                 WHERE coupa_items_search MATCH ",
            )
            .push_bind(fts5_string(search))
            .push(") CROSS JOIN coupa_items ON id = match_id");
            push_owner_filters(sql, account, buyer);
        }
        // NOTE: a search shorter than a trigram reads the items in page order
        // and tests each with instr, so counting its matches reads every item
        // of the account. Such searches match many items, so the page itself
        // stops early.
        Some(search) => {
            sql.push(" FROM coupa_items");
            push_owner_filters(sql, account, buyer);
            sql.push(" AND (instr(part_id_folded, ")
                .push_bind(search.to_owned())
                .push(") > 0 OR instr(description_folded, ")
                .push_bind(search.to_owned())
                .push(") > 0)");
        }
        None => {
            sql.push(" FROM coupa_items");
            push_owner_filters(sql, account, buyer);
        }
    }
}

fn push_owner_filters(
    sql: &mut QueryBuilder<'_, Sqlite>,
    account: AccountId,
    buyer: Option<BuyerId>,
) {
    sql.push(" WHERE account_id = ").push_bind(account.0);
    if let Some(buyer) = buyer {
        sql.push(" AND buyer_id = ").push_bind(buyer.0);
    }
}

/// The number of characters (code points) below which coupa_items_search's
/// trigram tokenizer matches no row.
const MIN_TRIGRAM_SEARCH_CHARS: usize = 3;

/// Quotes text as one FTS5 string, so that the trigram index matches it as
/// a substring whatever characters it contains.
fn fts5_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}
