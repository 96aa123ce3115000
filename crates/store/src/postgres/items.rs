//! Coupa items seen on orders, and the item and customer mappings people set.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::buyers::ensure_buyer;
use super::codec::{decimal_column, page};
use super::PostgresStore;
use crate::{CoupaItem, CoupaItemRow, CustomerMapping, ItemFilter, ItemMapping, StoreResult};

/// Inserts new items and refreshes known ones: the description, auxiliary
/// ids and last_seen change, first_seen stays.
pub(super) async fn record_coupa_items(
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    ensure_buyer(&mut tx, account, buyer).await?;
    upsert_coupa_items(&mut tx, account, buyer, items, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Inserts or refreshes Coupa items inside the caller's transaction. The
/// caller has checked that `buyer` belongs to `account`.
///
/// Rows are written in key order, so two transactions that share items lock
/// them in the same order instead of deadlocking on each other. The sort is
/// stable, so of two items with one key the later one is written last and kept.
pub(super) async fn upsert_coupa_items(
    conn: &mut PgConnection,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut ordered: Vec<&CoupaItem> = items.iter().collect();
    ordered.sort_by(|a, b| {
        (a.part_id.as_bytes(), a.unit_of_measure.as_bytes())
            .cmp(&(b.part_id.as_bytes(), b.unit_of_measure.as_bytes()))
    });
    for item in ordered {
        sqlx::query(
            "INSERT INTO coupa_items (account_id, buyer_id, part_id, unit_of_measure, \
                 auxiliary_id, buyer_part_id, manufacturer_part_id, description, part_id_folded, \
                 description_folded, first_seen, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
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
        .bind(item.part_id.to_lowercase())
        .bind(item.description.to_lowercase())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn coupa_item_from_row(row: PgRow) -> StoreResult<CoupaItemRow> {
    Ok(CoupaItemRow {
        buyer_id: BuyerId(row.try_get("buyer_id")?),
        item: CoupaItem {
            part_id: row.try_get("part_id")?,
            auxiliary_id: row.try_get("auxiliary_id")?,
            buyer_part_id: row.try_get("buyer_part_id")?,
            manufacturer_part_id: row.try_get("manufacturer_part_id")?,
            unit_of_measure: row.try_get("unit_of_measure")?,
            description: row.try_get("description")?,
        },
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}

/// Lists items ordered by part id, then buyer and unit. The search matches
/// a substring of the part id or the description after both are
/// lower-cased (Unicode lower-casing, not full case folding: `ß` does not
/// match `SS`).
pub(super) async fn list_coupa_items(
    store: &PostgresStore,
    account: AccountId,
    filter: &ItemFilter,
) -> StoreResult<Vec<CoupaItemRow>> {
    let (limit, offset) = page(filter.limit, filter.offset);
    sqlx::query(
        "SELECT buyer_id, part_id, unit_of_measure, auxiliary_id, buyer_part_id, \
             manufacturer_part_id, description, first_seen, last_seen \
         FROM coupa_items \
         WHERE account_id = $1 \
             AND ($2::bigint IS NULL OR buyer_id = $2) \
             AND ($3::text IS NULL OR strpos(part_id_folded, $3) > 0 \
                 OR strpos(description_folded, $3) > 0) \
         ORDER BY part_id, buyer_id, unit_of_measure LIMIT $4 OFFSET $5",
    )
    .bind(account.0)
    .bind(filter.buyer.map(|buyer| buyer.0))
    .bind(filter.search.as_deref().map(str::to_lowercase))
    .bind(limit)
    .bind(offset)
    .fetch_all(&store.pool)
    .await?
    .into_iter()
    .map(coupa_item_from_row)
    .collect()
}

/// Inserts the mapping or replaces the one with the same buyer (or none),
/// part id and unit (or none).
pub(super) async fn upsert_item_mapping(
    store: &PostgresStore,
    account: AccountId,
    mapping: &ItemMapping,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    super::accounts::ensure_account(&mut tx, account).await?;
    if let Some(buyer) = mapping.buyer {
        ensure_buyer(&mut tx, account, buyer).await?;
    }
    // The key is UNIQUE NULLS NOT DISTINCT, so a NULL buyer or unit
    // conflicts with a stored NULL.
    sqlx::query(
        "INSERT INTO item_mappings (account_id, buyer_id, coupa_part_id, unit_of_measure, \
             product_id, quantity_factor, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $7) \
         ON CONFLICT (account_id, buyer_id, coupa_part_id, unit_of_measure) DO UPDATE SET \
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
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lists every mapping of the part: account-wide ones first, then by buyer,
/// with the any-unit mapping before unit-specific ones.
pub(super) async fn item_mappings(
    store: &PostgresStore,
    account: AccountId,
    part_id: &str,
) -> StoreResult<Vec<ItemMapping>> {
    let rows = sqlx::query(
        "SELECT buyer_id, coupa_part_id, unit_of_measure, product_id, \
             quantity_factor::text AS quantity_factor \
         FROM item_mappings WHERE account_id = $1 AND coupa_part_id = $2 \
         ORDER BY buyer_id NULLS FIRST, unit_of_measure NULLS FIRST",
    )
    .bind(account.0)
    .bind(part_id)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let buyer: Option<i64> = row.try_get("buyer_id")?;
            Ok(ItemMapping {
                buyer: buyer.map(BuyerId),
                coupa_part_id: row.try_get("coupa_part_id")?,
                unit_of_measure: row.try_get("unit_of_measure")?,
                product_id: row.try_get("product_id")?,
                quantity_factor: decimal_column(&row, "quantity_factor", "item mapping")?,
            })
        })
        .collect()
}

/// Inserts the mapping or replaces the one with the same buyer and BillTo
/// address (or none).
pub(super) async fn upsert_customer_mapping(
    store: &PostgresStore,
    account: AccountId,
    mapping: &CustomerMapping,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    ensure_buyer(&mut tx, account, mapping.buyer).await?;
    sqlx::query(
        "INSERT INTO customer_mappings (account_id, buyer_id, bill_to_address_id, contact_id, \
             created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (account_id, buyer_id, bill_to_address_id) DO UPDATE SET \
             contact_id = excluded.contact_id, updated_at = excluded.updated_at",
    )
    .bind(account.0)
    .bind(mapping.buyer.0)
    .bind(&mapping.bill_to_address_id)
    .bind(mapping.contact_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lists the buyer's mappings, the whole-buyer mapping first.
pub(super) async fn customer_mappings(
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
) -> StoreResult<Vec<CustomerMapping>> {
    let mut conn = store.pool.acquire().await?;
    ensure_buyer(&mut conn, account, buyer).await?;
    let rows = sqlx::query(
        "SELECT bill_to_address_id, contact_id FROM customer_mappings \
         WHERE account_id = $1 AND buyer_id = $2 \
         ORDER BY bill_to_address_id NULLS FIRST",
    )
    .bind(account.0)
    .bind(buyer.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(CustomerMapping {
                buyer,
                bill_to_address_id: row.try_get("bill_to_address_id")?,
                contact_id: row.try_get("contact_id")?,
            })
        })
        .collect()
}
