//! Coupa items seen on orders, and the item and customer mappings people set.

use std::time::Instant;

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};

use super::buyers::ensure_buyer;
use super::codec::{decimal_column, encode_enum, enum_column, page};
use super::PostgresStore;
use crate::known_items::{ItemChange, Remember};
use crate::model::ItemMatchColumns;
use crate::LAST_SEEN_RESOLUTION;
use crate::{
    CoupaItem, CoupaItemRow, CustomerMapping, ItemFilter, ItemMapping, ItemMappingRow, ItemPage,
    ItemPageEntry, ItemPageQuery, MappingStatusCounts, StoreResult,
};

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
    let remember = upsert_coupa_items(store, &mut tx, account, buyer, items, now).await?;
    let committing = Instant::now();
    tx.commit().await?;
    remember.committed(committing);
    Ok(())
}

/// Inserts or refreshes Coupa items inside the caller's transaction. The
/// caller has checked that `buyer` belongs to `account`, and calls
/// [`Remember::committed`] on the result after its commit.
pub(super) async fn upsert_coupa_items(
    store: &PostgresStore,
    conn: &mut PgConnection,
    account: AccountId,
    buyer: BuyerId,
    items: &[CoupaItem],
    now: DateTime<Utc>,
) -> StoreResult<Remember> {
    let seen = items.iter().map(|item| (item, now)).collect();
    upsert_seen_items(
        store,
        conn,
        vec![SeenItems {
            account,
            buyer,
            items: seen,
        }],
    )
    .await
}

/// The items an order carried, each with the time the order was received.
/// Entries of one buyer are taken in the order given, so the later of two
/// items with one key wins.
pub(super) struct SeenItems<'a> {
    pub account: AccountId,
    pub buyer: BuyerId,
    pub items: Vec<(&'a CoupaItem, DateTime<Utc>)>,
}

/// One item to write, with its buyer and when its orders were received:
/// the first of them, and the last, whose item this is.
struct ItemWrite<'a> {
    account: AccountId,
    buyer: BuyerId,
    item: &'a CoupaItem,
    first_seen: DateTime<Utc>,
    seen_at: DateTime<Utc>,
}

/// Inserts or refreshes the items of several buyers inside the caller's
/// transaction, in three statements or fewer when only known items come.
/// The caller has checked that each buyer belongs to its account.
///
/// Most orders repeat items already stored, so the items are read first,
/// without locks, and only what differs is written. Items in this
/// process's copy ([`crate::known_items`]) are compared with it instead of
/// read:
/// - New items, and items whose identifiers changed, can change a mapping
///   status. They are upserted, one statement per buyer, after the
///   account's item-match lock is taken (see migration 0004), before any of
///   their row locks, as a product refresh takes it. Accounts are locked in
///   id order, so two transactions that lock several do not wait for each
///   other in a circle. The lock is held until commit, so such orders of
///   one account commit one at a time.
/// - Items whose description changed, or whose `last_seen` is older than
///   [`LAST_SEEN_RESOLUTION`], change no status and take no match lock.
///   They are updated in one statement that skips rows another transaction
///   has locked. An item whose description differs from order to order would
///   otherwise make the orders that carry it commit one at a time.
///
/// NOTE: a skipped row keeps the holder's description. When the holder is
/// an order that later rolls back, or a product refresh, the item keeps its
/// old description until its next order.
///
/// Returns what the transaction read and wrote, for the caller to keep
/// with [`Remember::committed`] once it has committed.
pub(super) async fn upsert_seen_items(
    store: &PostgresStore,
    conn: &mut PgConnection,
    mut buyers: Vec<SeenItems<'_>>,
) -> StoreResult<Remember> {
    let mut remember = store.known_items.remember(Instant::now());
    // The sort is stable, so one buyer's items stay in the order received.
    buyers.sort_by_key(|seen| (seen.account.0, seen.buyer.0));
    let mut latest: Vec<ItemWrite<'_>> = Vec::new();
    for same_buyer in buyers.chunk_by(|a, b| a.account == b.account && a.buyer == b.buyer) {
        let items: Vec<_> = same_buyer
            .iter()
            .flat_map(|seen| seen.items.iter().copied())
            .collect();
        let first = &same_buyer[0];
        latest.extend(
            latest_per_key(&items)
                .into_iter()
                .map(|(item, first_seen, seen_at)| ItemWrite {
                    account: first.account,
                    buyer: first.buyer,
                    item,
                    first_seen,
                    seen_at,
                }),
        );
    }

    let changes: Vec<Option<ItemChange>> = latest
        .iter()
        .map(|write| {
            let now = Instant::now();
            store
                .known_items
                .change(write.account, write.buyer, write.item, write.seen_at, now)
        })
        .collect();
    let unknown: Vec<&ItemWrite<'_>> = latest
        .iter()
        .zip(&changes)
        .filter(|(_, change)| change.is_none())
        .map(|(write, _)| write)
        .collect();
    let stored = stored_items(conn, &unknown).await?;

    // One pass in key order, so each buyer's upserts stay in key order.
    let mut upserted: Vec<&ItemWrite<'_>> = Vec::new();
    let mut refreshed: Vec<&ItemWrite<'_>> = Vec::new();
    for (write, change) in latest.iter().zip(changes) {
        let change = match change {
            Some(change) => change,
            None => {
                let known = stored.iter().find(|(account, buyer, known, _)| {
                    *account == write.account
                        && *buyer == write.buyer
                        && same_key(known, write.item)
                });
                match known {
                    None => ItemChange::Upsert,
                    Some((_, _, known, last_seen)) => {
                        let change = ItemChange::of(known, *last_seen, write.item, write.seen_at);
                        if change == ItemChange::None {
                            remember.read(write.account, write.buyer, known, *last_seen);
                        }
                        change
                    }
                }
            }
        };
        match change {
            ItemChange::None => {}
            ItemChange::Refresh => refreshed.push(write),
            ItemChange::Upsert => upserted.push(write),
        }
    }
    // The upserts come first, so the match locks are taken before the
    // refresh locks any item row. Otherwise this transaction could wait for
    // a lock while it holds a row that a product refresh is waiting for.
    for buyer_writes in upserted.chunk_by(|a, b| a.account == b.account && a.buyer == b.buyer) {
        write_coupa_items(conn, buyer_writes).await?;
        for write in buyer_writes {
            remember.wrote(write.account, write.buyer, write.item, write.seen_at);
        }
    }
    // A refresh keeps the stored identifiers, which can differ from the
    // order's when the copy was out of date, so the updated rows are noted
    // as the statement returned them.
    let updated = refresh_coupa_items(conn, &refreshed).await?;
    for write in refreshed {
        let row = updated.iter().find(|(account, buyer, item, _)| {
            *account == write.account && *buyer == write.buyer && same_key(item, write.item)
        });
        match row {
            Some((account, buyer, item, last_seen)) => {
                remember.wrote(*account, *buyer, item, *last_seen)
            }
            None => remember.wrote_maybe(write.account, write.buyer, write.item),
        }
    }
    Ok(remember)
}

/// Returns one entry per item key, sorted by key: the item, the earliest
/// and the latest time it was seen. Of two items with one key the later one
/// is kept, as if each had been written in turn.
fn latest_per_key<'a>(
    items: &[(&'a CoupaItem, DateTime<Utc>)],
) -> Vec<(&'a CoupaItem, DateTime<Utc>, DateTime<Utc>)> {
    let mut ordered = items.to_vec();
    // The sort is stable, so items with one key keep their order.
    ordered.sort_by(|(a, _), (b, _)| {
        (a.part_id.as_bytes(), a.unit_of_measure.as_bytes())
            .cmp(&(b.part_id.as_bytes(), b.unit_of_measure.as_bytes()))
    });
    let mut latest: Vec<(&CoupaItem, DateTime<Utc>, DateTime<Utc>)> =
        Vec::with_capacity(ordered.len());
    for (item, seen_at) in ordered {
        match latest.last_mut() {
            Some(last) if same_key(last.0, item) => {
                *last = (item, last.1.min(seen_at), last.2.max(seen_at));
            }
            _ => latest.push((item, seen_at, seen_at)),
        }
    }
    latest
}

fn same_key(a: &CoupaItem, b: &CoupaItem) -> bool {
    a.part_id == b.part_id && a.unit_of_measure == b.unit_of_measure
}

/// The columns of item writes as arrays, for `UNNEST`.
struct ItemColumns<'a> {
    accounts: Vec<i64>,
    buyers: Vec<i64>,
    part_ids: Vec<&'a str>,
    units: Vec<&'a str>,
    auxiliary_ids: Vec<Option<&'a str>>,
    buyer_part_ids: Vec<Option<&'a str>>,
    manufacturer_part_ids: Vec<Option<&'a str>>,
    descriptions: Vec<&'a str>,
    descriptions_folded: Vec<String>,
    first_seen: Vec<DateTime<Utc>>,
    seen_at: Vec<DateTime<Utc>>,
}

impl<'a> ItemColumns<'a> {
    fn of(writes: &[&ItemWrite<'a>]) -> Self {
        Self {
            accounts: writes.iter().map(|write| write.account.0).collect(),
            buyers: writes.iter().map(|write| write.buyer.0).collect(),
            part_ids: writes
                .iter()
                .map(|write| write.item.part_id.as_str())
                .collect(),
            units: writes
                .iter()
                .map(|write| write.item.unit_of_measure.as_str())
                .collect(),
            auxiliary_ids: writes
                .iter()
                .map(|write| write.item.auxiliary_id.as_deref())
                .collect(),
            buyer_part_ids: writes
                .iter()
                .map(|write| write.item.buyer_part_id.as_deref())
                .collect(),
            manufacturer_part_ids: writes
                .iter()
                .map(|write| write.item.manufacturer_part_id.as_deref())
                .collect(),
            descriptions: writes
                .iter()
                .map(|write| write.item.description.as_str())
                .collect(),
            descriptions_folded: writes
                .iter()
                .map(|write| write.item.description.to_lowercase())
                .collect(),
            first_seen: writes.iter().map(|write| write.first_seen).collect(),
            seen_at: writes.iter().map(|write| write.seen_at).collect(),
        }
    }
}

/// Runs the item statements of a group with no items, for
/// [`super::document_groups::warm_up`]. The item-match lock it takes is
/// that of account 0, which no account has, and the caller's rollback
/// releases it.
pub(super) async fn warm_up(conn: &mut PgConnection) -> StoreResult<()> {
    select_stored_items(conn, &[]).await?;
    upsert_items(conn, AccountId(0), BuyerId(0), &[]).await?;
    update_stale_items(conn, &[]).await?;
    Ok(())
}

/// Reads the stored items with the buyers and keys of `writes`, each with
/// its buyer and `last_seen`.
async fn stored_items(
    conn: &mut PgConnection,
    writes: &[&ItemWrite<'_>],
) -> StoreResult<Vec<StoredItem>> {
    if writes.is_empty() {
        return Ok(Vec::new());
    }
    select_stored_items(conn, writes).await
}

/// Runs the statement of [`stored_items`], even for no writes.
async fn select_stored_items(
    conn: &mut PgConnection,
    writes: &[&ItemWrite<'_>],
) -> StoreResult<Vec<StoredItem>> {
    let columns = ItemColumns::of(writes);
    let rows = sqlx::query(
        "SELECT c.account_id, c.buyer_id, c.part_id, c.unit_of_measure, c.auxiliary_id, \
             c.buyer_part_id, c.manufacturer_part_id, c.description, c.last_seen \
         FROM coupa_items c \
         JOIN UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[]) \
             AS k (account_id, buyer_id, part_id, unit_of_measure) \
             ON c.account_id = k.account_id AND c.buyer_id = k.buyer_id \
                 AND c.part_id = k.part_id AND c.unit_of_measure = k.unit_of_measure",
    )
    .bind(&columns.accounts)
    .bind(&columns.buyers)
    .bind(&columns.part_ids)
    .bind(&columns.units)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(stored_item).collect()
}

/// An item as stored, with its buyer and `last_seen`.
type StoredItem = (AccountId, BuyerId, CoupaItem, DateTime<Utc>);

/// Reads a row of the columns [`stored_items`] selects.
fn stored_item(row: &PgRow) -> StoreResult<StoredItem> {
    Ok((
        AccountId(row.try_get("account_id")?),
        BuyerId(row.try_get("buyer_id")?),
        coupa_item(row)?,
        row.try_get("last_seen")?,
    ))
}

/// Reads the item's own columns of a `coupa_items` row.
fn coupa_item(row: &PgRow) -> StoreResult<CoupaItem> {
    Ok(CoupaItem {
        part_id: row.try_get("part_id")?,
        auxiliary_id: row.try_get("auxiliary_id")?,
        buyer_part_id: row.try_get("buyer_part_id")?,
        manufacturer_part_id: row.try_get("manufacturer_part_id")?,
        unit_of_measure: row.try_get("unit_of_measure")?,
        description: row.try_get("description")?,
    })
}

/// Upserts one buyer's items in key order, under the account's item-match
/// lock: each gets its identifiers, description and `last_seen` from
/// `writes`, and a new one `first_seen` too.
async fn write_coupa_items(conn: &mut PgConnection, writes: &[&ItemWrite<'_>]) -> StoreResult<()> {
    let Some(first) = writes.first() else {
        return Ok(());
    };
    upsert_items(conn, first.account, first.buyer, writes).await
}

/// Runs the statements of [`write_coupa_items`] for `account` and `buyer`,
/// even for no writes.
async fn upsert_items(
    conn: &mut PgConnection,
    account: AccountId,
    buyer: BuyerId,
    writes: &[&ItemWrite<'_>],
) -> StoreResult<()> {
    sqlx::query("SELECT lock_coupa_item_matches($1)")
        .bind(account.0)
        .execute(&mut *conn)
        .await?;
    let columns = ItemColumns::of(writes);
    let part_ids_folded: Vec<String> = writes
        .iter()
        .map(|write| write.item.part_id.to_lowercase())
        .collect();
    sqlx::query(
        "INSERT INTO coupa_items (account_id, buyer_id, part_id, unit_of_measure, \
             auxiliary_id, buyer_part_id, manufacturer_part_id, description, part_id_folded, \
             description_folded, first_seen, last_seen) \
         SELECT $1, $2, k.part_id, k.unit_of_measure, k.auxiliary_id, k.buyer_part_id, \
             k.manufacturer_part_id, k.description, k.part_id_folded, k.description_folded, \
             k.first_seen, k.seen_at \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
                 $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[]) WITH ORDINALITY \
             AS k (part_id, unit_of_measure, auxiliary_id, buyer_part_id, manufacturer_part_id, \
                 description, part_id_folded, description_folded, first_seen, seen_at, \
                 position) \
         ORDER BY k.position \
         ON CONFLICT (account_id, buyer_id, part_id, unit_of_measure) DO UPDATE SET \
             auxiliary_id = excluded.auxiliary_id, buyer_part_id = excluded.buyer_part_id, \
             manufacturer_part_id = excluded.manufacturer_part_id, \
             description = excluded.description, \
             description_folded = excluded.description_folded, \
             last_seen = GREATEST(coupa_items.last_seen, excluded.last_seen)",
    )
    .bind(account.0)
    .bind(buyer.0)
    .bind(&columns.part_ids)
    .bind(&columns.units)
    .bind(&columns.auxiliary_ids)
    .bind(&columns.buyer_part_ids)
    .bind(&columns.manufacturer_part_ids)
    .bind(&columns.descriptions)
    .bind(&part_ids_folded)
    .bind(&columns.descriptions_folded)
    .bind(&columns.first_seen)
    .bind(&columns.seen_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves known items' description and `last_seen` forward, skipping rows
/// another transaction has locked. The columns it sets fire none of the match
/// triggers. The conditions are checked again on the locked row, so of
/// several transactions that saw the same stale row, only the first
/// writes. Returns the items it updated, as stored after the update.
async fn refresh_coupa_items(
    conn: &mut PgConnection,
    writes: &[&ItemWrite<'_>],
) -> StoreResult<Vec<StoredItem>> {
    if writes.is_empty() {
        return Ok(Vec::new());
    }
    update_stale_items(conn, writes).await
}

/// Runs the statement of [`refresh_coupa_items`], even for no writes.
async fn update_stale_items(
    conn: &mut PgConnection,
    writes: &[&ItemWrite<'_>],
) -> StoreResult<Vec<StoredItem>> {
    let columns = ItemColumns::of(writes);
    let stale_before: Vec<DateTime<Utc>> = writes
        .iter()
        .map(|write| write.seen_at - LAST_SEEN_RESOLUTION)
        .collect();
    let rows = sqlx::query(
        "UPDATE coupa_items c SET description = k.description, \
             description_folded = k.description_folded, \
             last_seen = GREATEST(c.last_seen, k.seen_at) \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::timestamptz[], $8::timestamptz[]) \
             AS k (account_id, buyer_id, part_id, unit_of_measure, description, \
                 description_folded, seen_at, stale_before) \
         WHERE c.account_id = k.account_id AND c.buyer_id = k.buyer_id \
             AND c.part_id = k.part_id AND c.unit_of_measure = k.unit_of_measure \
             AND (c.last_seen < k.stale_before OR c.description <> k.description) \
             AND c.id IN ( \
                 SELECT s.id FROM coupa_items s \
                 JOIN UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[]) \
                     AS w (account_id, buyer_id, part_id, unit_of_measure) \
                     ON s.account_id = w.account_id AND s.buyer_id = w.buyer_id \
                         AND s.part_id = w.part_id AND s.unit_of_measure = w.unit_of_measure \
                 ORDER BY s.account_id, s.buyer_id, s.part_id, s.unit_of_measure \
                 FOR NO KEY UPDATE OF s SKIP LOCKED) \
         RETURNING c.account_id, c.buyer_id, c.part_id, c.unit_of_measure, c.auxiliary_id, \
             c.buyer_part_id, c.manufacturer_part_id, c.description, c.last_seen",
    )
    .bind(&columns.accounts)
    .bind(&columns.buyers)
    .bind(&columns.part_ids)
    .bind(&columns.units)
    .bind(&columns.descriptions)
    .bind(&columns.descriptions_folded)
    .bind(&columns.seen_at)
    .bind(&stale_before)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(stored_item).collect()
}

fn coupa_item_from_row(row: &PgRow) -> StoreResult<CoupaItemRow> {
    Ok(CoupaItemRow {
        buyer_id: BuyerId(row.try_get("buyer_id")?),
        item: coupa_item(row)?,
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
    .iter()
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
    upsert_item_mappings(store, account, std::slice::from_ref(mapping), now).await
}

/// Upserts every mapping as [`upsert_item_mapping`] does, in one
/// transaction. Rows are written in key order, so two batches that share
/// mappings lock them in the same order instead of deadlocking.
pub(super) async fn upsert_item_mappings(
    store: &PostgresStore,
    account: AccountId,
    mappings: &[ItemMapping],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut ordered: Vec<&ItemMapping> = mappings.iter().collect();
    ordered.sort_by(|a, b| {
        let key = |mapping: &ItemMapping| {
            (
                mapping.buyer.map(|buyer| buyer.0),
                mapping.coupa_part_id.clone(),
                mapping.unit_of_measure.clone(),
            )
        };
        key(a).cmp(&key(b))
    });

    let mut tx = store.begin().await?;
    super::accounts::ensure_account(&mut tx, account).await?;
    for mapping in ordered {
        if let Some(buyer) = mapping.buyer {
            ensure_buyer(&mut tx, account, buyer).await?;
        }
        insert_item_mapping(&mut tx, account, mapping, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_item_mapping(
    conn: &mut PgConnection,
    account: AccountId,
    mapping: &ItemMapping,
    now: DateTime<Utc>,
) -> StoreResult<()> {
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
    .execute(conn)
    .await?;
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
    rows.iter().map(item_mapping_from_row).collect()
}

fn item_mapping_from_row(row: &PgRow) -> StoreResult<ItemMapping> {
    let buyer: Option<i64> = row.try_get("buyer_id")?;
    Ok(ItemMapping {
        buyer: buyer.map(BuyerId),
        coupa_part_id: row.try_get("coupa_part_id")?,
        unit_of_measure: row.try_get("unit_of_measure")?,
        product_id: row.try_get("product_id")?,
        quantity_factor: decimal_column(row, "quantity_factor", "item mapping")?,
    })
}

/// Lists the account's mappings by part id, then in the order of
/// [`item_mappings`], each with its product's SKU. Part ids sort by code
/// point, as in the SQLite store.
pub(super) async fn list_item_mappings(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Vec<ItemMappingRow>> {
    let rows = sqlx::query(
        "SELECT m.buyer_id, m.coupa_part_id, m.unit_of_measure, m.product_id, \
             m.quantity_factor::text AS quantity_factor, p.sku \
         FROM item_mappings m \
         LEFT JOIN products p ON p.account_id = m.account_id AND p.product_id = m.product_id \
         WHERE m.account_id = $1 \
         ORDER BY m.coupa_part_id COLLATE \"C\", m.buyer_id NULLS FIRST, \
             m.unit_of_measure NULLS FIRST",
    )
    .bind(account.0)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ItemMappingRow {
                mapping: item_mapping_from_row(row)?,
                sku: row.try_get("sku")?,
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

/// Reads the counts and the page in one read-only REPEATABLE READ
/// transaction, so both see the same snapshot. Filters are added only when
/// set, so that the planner can pick the page index that starts with them.
pub(super) async fn item_page(
    store: &PostgresStore,
    account: AccountId,
    query: &ItemPageQuery,
) -> StoreResult<ItemPage> {
    let search = query.search.as_deref().map(str::to_lowercase);
    let mut tx = store.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;

    let counts = status_counts(&mut tx, account, query.buyer, search.as_deref()).await?;

    let mut page_sql = QueryBuilder::new(format!(
        "SELECT {PAGE_COLUMNS} FROM (SELECT id FROM coupa_items"
    ));
    push_item_filters(&mut page_sql, account, query.buyer, search.as_deref());
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
    let rows = page_sql.build().fetch_all(&mut *tx).await?;
    tx.commit().await?;

    let entries = rows
        .iter()
        .map(item_page_entry_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ItemPage {
        entries,
        total: counts.get(query.status),
        counts,
    })
}

/// Reads one item by its key, with the same columns and joins as a page.
pub(super) async fn item_page_entry(
    store: &PostgresStore,
    account: AccountId,
    buyer: BuyerId,
    part_id: &str,
    unit_of_measure: &str,
) -> StoreResult<Option<ItemPageEntry>> {
    let sql = format!(
        "SELECT {PAGE_COLUMNS} FROM (SELECT id FROM coupa_items \
         WHERE account_id = $1 AND buyer_id = $2 AND part_id = $3 \
             AND unit_of_measure = $4{PAGE_JOINS}"
    );
    let row = sqlx::query(&sql)
        .bind(account.0)
        .bind(buyer.0)
        .bind(part_id)
        .bind(unit_of_measure)
        .fetch_optional(&store.pool)
        .await?;
    row.as_ref().map(item_page_entry_from_row).transpose()
}

/// The page's item and product columns, by the names
/// [`item_page_entry_from_row`] reads.
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
/// matches among 100,000 items that takes a p95 of 18 to 31 ms (bench-item-page);
/// counting and paging from one set of matches would save most of the second.
async fn status_counts(
    conn: &mut PgConnection,
    account: AccountId,
    buyer: Option<BuyerId>,
    folded_search: Option<&str>,
) -> StoreResult<MappingStatusCounts> {
    let mut sql = if folded_search.is_some() {
        let mut sql =
            QueryBuilder::new("SELECT mapping_status, count(*) AS count FROM coupa_items");
        push_item_filters(&mut sql, account, buyer, folded_search);
        sql
    } else {
        let mut sql = QueryBuilder::new(
            "SELECT mapping_status, sum(item_count)::bigint AS count \
             FROM coupa_item_status_counts",
        );
        push_item_filters(&mut sql, account, buyer, None);
        sql
    };
    sql.push(" GROUP BY mapping_status");

    let mut counts = MappingStatusCounts::default();
    for row in sql.build().fetch_all(conn).await? {
        let status = enum_column(&row, "mapping_status", "coupa item")?;
        counts.add(status, row.try_get("count")?);
    }
    Ok(counts)
}

fn push_item_filters(
    sql: &mut QueryBuilder<'_, Postgres>,
    account: AccountId,
    buyer: Option<BuyerId>,
    folded_search: Option<&str>,
) {
    sql.push(" WHERE account_id = ").push_bind(account.0);
    if let Some(buyer) = buyer {
        sql.push(" AND buyer_id = ").push_bind(buyer.0);
    }
    match folded_search {
        Some(search) if search.chars().count() >= MIN_TRIGRAM_SEARCH_CHARS => {
            let pattern = format!("%{}%", escape_like(search));
            sql.push(" AND (part_id_folded LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\' OR description_folded LIKE ")
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        // NOTE: the trigram indexes cannot serve a search shorter than a
        // trigram, so it reads the items in page order and tests each with
        // strpos, and counting its matches reads every item of the account.
        // Such searches match many items, so the page itself stops early.
        Some(search) => {
            sql.push(" AND (strpos(part_id_folded, ")
                .push_bind(search.to_owned())
                .push(") > 0 OR strpos(description_folded, ")
                .push_bind(search.to_owned())
                .push(") > 0)");
        }
        None => {}
    }
}

/// The number of characters below which pg_trgm extracts no trigram from a
/// LIKE pattern's text, and a trigram index scan would read the whole index.
const MIN_TRIGRAM_SEARCH_CHARS: usize = 3;

/// Escapes LIKE's wildcards and its escape character, so that the pattern
/// matches the text literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

fn item_page_entry_from_row(row: &PgRow) -> StoreResult<ItemPageEntry> {
    let columns = ItemMatchColumns {
        mapping_status: enum_column(row, "mapping_status", "coupa item")?,
        match_value: row.try_get("match_value")?,
        match_count: row.try_get("match_count")?,
        part_mapped: row.try_get("part_mapped")?,
        product_id: row.try_get("product_id")?,
        sku: row.try_get("sku")?,
        name: row.try_get("name")?,
    };
    Ok(ItemPageEntry {
        item: coupa_item_from_row(row)?,
        matched: columns.into_match()?,
    })
}
