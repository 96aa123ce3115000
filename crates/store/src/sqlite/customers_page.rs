//! The customers page's reads and its mapping write: BillTo addresses seen
//! on orders, the orders of each, and mappings with who chose them.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId, RevisionId};

use super::buyers::ensure_buyer;
use super::codec::{decode_json, decode_time, encode_time};
use super::SqliteStore;
use crate::{
    BillToOrder, ChosenCustomerMapping, CustomerMapping, PoStatus, SeenBillTo, StoreResult,
};

#[derive(sqlx::FromRow)]
struct SeenRow {
    buyer_id: i64,
    bill_to_address_id: Option<String>,
    orders: i64,
    received_at: String,
    bill_to: Option<String>,
}

pub(super) async fn seen_bill_tos(
    store: &SqliteStore,
    account: AccountId,
) -> StoreResult<Vec<SeenBillTo>> {
    // The newest latest revision of each group is the one with the highest
    // id, because revision ids are their arrival order.
    let rows: Vec<SeenRow> = sqlx::query_as(
        "SELECT g.buyer_id, g.bill_to_address_id, g.orders, r.received_at, \
             json_extract(r.order_json, '$.header.bill_to') AS bill_to \
         FROM ( \
             SELECT buyer_id, bill_to_address_id, count(*) AS orders, \
                 max(latest_revision_id) AS revision_id \
             FROM purchase_orders \
             WHERE account_id = ? AND latest_revision_id IS NOT NULL \
             GROUP BY buyer_id, bill_to_address_id \
         ) g \
         JOIN revisions r ON r.id = g.revision_id \
         ORDER BY g.buyer_id, g.bill_to_address_id IS NOT NULL, g.bill_to_address_id",
    )
    .bind(account.0)
    .fetch_all(&store.reader)
    .await?;
    rows.into_iter()
        .map(|row| {
            let bill_to = match row.bill_to {
                Some(text) => decode_json("revision", &text)?,
                None => serde_json::Value::Null,
            };
            Ok(SeenBillTo {
                buyer: BuyerId(row.buyer_id),
                address_id: row.bill_to_address_id,
                bill_to,
                orders: row.orders,
                last_seen: decode_time("revision", &row.received_at)?,
            })
        })
        .collect()
}

pub(super) async fn bill_to_orders(
    store: &SqliteStore,
    account: AccountId,
    statuses: &[PoStatus],
) -> StoreResult<Vec<BillToOrder>> {
    let names: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
    let rows: Vec<(i64, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, buyer_id, bill_to_address_id, latest_revision_id FROM purchase_orders \
         WHERE account_id = ?1 AND latest_revision_id IS NOT NULL \
             AND status IN (SELECT value FROM json_each(?2)) \
         ORDER BY id",
    )
    .bind(account.0)
    .bind(serde_json::Value::from(names).to_string())
    .fetch_all(&store.reader)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(po, buyer, address_id, revision)| BillToOrder {
            po: PoId(po),
            buyer: BuyerId(buyer),
            address_id,
            latest_revision: RevisionId(revision),
        })
        .collect())
}

pub(super) async fn choose_customer_mapping(
    store: &SqliteStore,
    account: AccountId,
    mapping: &CustomerMapping,
    chosen_by: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin_write().await?;
    ensure_buyer(&mut tx, account, mapping.buyer).await?;
    // The conflict target repeats the expressions of customer_mappings_key.
    sqlx::query(
        "INSERT INTO customer_mappings (account_id, buyer_id, bill_to_address_id, contact_id, \
             created_at, updated_at, chosen_by, chosen_contact_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?4) \
         ON CONFLICT (account_id, buyer_id, ifnull(bill_to_address_id, x'')) DO UPDATE SET \
             contact_id = excluded.contact_id, updated_at = excluded.updated_at, \
             chosen_by = excluded.chosen_by, chosen_contact_id = excluded.chosen_contact_id",
    )
    .bind(account.0)
    .bind(mapping.buyer.0)
    .bind(&mapping.bill_to_address_id)
    .bind(mapping.contact_id)
    .bind(encode_time(now))
    .bind(chosen_by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct MappingRow {
    buyer_id: i64,
    bill_to_address_id: Option<String>,
    contact_id: i64,
    chosen_by: Option<String>,
    updated_at: String,
}

pub(super) async fn chosen_customer_mappings(
    store: &SqliteStore,
    account: AccountId,
) -> StoreResult<Vec<ChosenCustomerMapping>> {
    let rows: Vec<MappingRow> = sqlx::query_as(
        "SELECT buyer_id, bill_to_address_id, contact_id, updated_at, \
             CASE WHEN chosen_contact_id = contact_id THEN chosen_by END AS chosen_by \
         FROM customer_mappings WHERE account_id = ? \
         ORDER BY buyer_id, bill_to_address_id IS NOT NULL, bill_to_address_id",
    )
    .bind(account.0)
    .fetch_all(&store.reader)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ChosenCustomerMapping {
                mapping: CustomerMapping {
                    buyer: BuyerId(row.buyer_id),
                    bill_to_address_id: row.bill_to_address_id,
                    contact_id: row.contact_id,
                },
                chosen_by: row.chosen_by,
                updated_at: decode_time("customer mapping", &row.updated_at)?,
            })
        })
        .collect()
}
