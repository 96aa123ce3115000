//! Coupa items seen on orders, and the item and customer mappings people set.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId};

use super::buyers::ensure_buyer;
use super::codec::{decode_decimal, decode_time, encode_time, page};
use super::SqliteStore;
use crate::{CoupaItem, CoupaItemRow, CustomerMapping, ItemFilter, ItemMapping, StoreResult};

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

/// Inserts or refreshes Coupa items inside the caller's transaction; the
/// caller has checked that `buyer` belongs to `account`.
pub(super) async fn upsert_coupa_items(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let now = encode_time(now);
    for item in items {
        sqlx::query(
            "INSERT INTO coupa_items (account_id, buyer_id, part_id, unit_of_measure, \
                 auxiliary_id, buyer_part_id, manufacturer_part_id, description, part_id_folded, \
                 description_folded, first_seen, last_seen) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) \
             ON CONFLICT (account_id, buyer_id, part_id, unit_of_measure) DO UPDATE SET \
                 auxiliary_id = excluded.auxiliary_id, buyer_part_id = excluded.buyer_part_id, \
                 manufacturer_part_id = excluded.manufacturer_part_id, \
                 description = excluded.description, \
                 description_folded = excluded.description_folded, \
                 last_seen = excluded.last_seen",
        )
        .bind(account.0)
        .bind(buyer.0)
        .bind(&item.part_id)
        .bind(&item.unit_of_measure)
        .bind(&item.auxiliary_id)
        .bind(&item.buyer_part_id)
        .bind(&item.manufacturer_part_id)
        .bind(&item.description)
        .bind(fold_case(&item.part_id))
        .bind(fold_case(&item.description))
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
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
    let mut tx = store.begin_write().await?;
    super::accounts::ensure_account(&mut tx, account).await?;
    if let Some(buyer) = mapping.buyer {
        ensure_buyer(&mut tx, account, buyer).await?;
    }
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
    .bind(encode_time(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ItemMappingRow {
    buyer_id: Option<i64>,
    coupa_part_id: String,
    unit_of_measure: Option<String>,
    product_id: i64,
    quantity_factor: String,
}

/// Lists every mapping of the part: account-wide ones first, then by buyer,
/// with the any-unit mapping before unit-specific ones.
pub(super) async fn item_mappings(
    store: &SqliteStore,
    account: AccountId,
    part_id: &str,
) -> StoreResult<Vec<ItemMapping>> {
    let rows = sqlx::query_as::<_, ItemMappingRow>(
        "SELECT buyer_id, coupa_part_id, unit_of_measure, product_id, quantity_factor \
         FROM item_mappings WHERE account_id = ? AND coupa_part_id = ? \
         ORDER BY buyer_id IS NOT NULL, buyer_id, unit_of_measure IS NOT NULL, unit_of_measure",
    )
    .bind(account.0)
    .bind(part_id)
    .fetch_all(&store.reader)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ItemMapping {
                buyer: row.buyer_id.map(BuyerId),
                coupa_part_id: row.coupa_part_id,
                unit_of_measure: row.unit_of_measure,
                product_id: row.product_id,
                quantity_factor: decode_decimal("item mapping", &row.quantity_factor)?,
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
