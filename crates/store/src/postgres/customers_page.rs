//! The customers page's reads and its mapping write: BillTo addresses seen
//! on orders, the orders of each, and mappings with who chose them.

use chrono::{DateTime, Utc};
use pobridge_core::{AccountId, BuyerId, PoId, RevisionId};
use sqlx::Row;

use super::buyers::ensure_buyer;
use super::codec::json_column;
use super::PostgresStore;
use crate::{
    BillToOrder, ChosenCustomerMapping, CustomerMapping, PoStatus, SeenBillTo, StoreResult,
};

pub(super) async fn seen_bill_tos(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Vec<SeenBillTo>> {
    // The newest latest revision of each group is the one with the highest
    // id, because revision ids are their arrival order.
    let rows = sqlx::query(
        "SELECT g.buyer_id, g.bill_to_address_id, g.orders, r.received_at, \
             (r.order_json #> '{header,bill_to}')::text AS bill_to \
         FROM ( \
             SELECT buyer_id, bill_to_address_id, count(*) AS orders, \
                 max(latest_revision_id) AS revision_id \
             FROM purchase_orders \
             WHERE account_id = $1 AND latest_revision_id IS NOT NULL \
             GROUP BY buyer_id, bill_to_address_id \
         ) g \
         JOIN revisions r ON r.id = g.revision_id \
         ORDER BY g.buyer_id, g.bill_to_address_id NULLS FIRST",
    )
    .bind(account.0)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let bill_to: Option<String> = row.try_get("bill_to")?;
            let bill_to = match bill_to {
                Some(_) => json_column(&row, "bill_to", "revision")?,
                None => serde_json::Value::Null,
            };
            Ok(SeenBillTo {
                buyer: BuyerId(row.try_get("buyer_id")?),
                address_id: row.try_get("bill_to_address_id")?,
                bill_to,
                orders: row.try_get("orders")?,
                last_seen: row.try_get("received_at")?,
            })
        })
        .collect()
}

pub(super) async fn bill_to_orders(
    store: &PostgresStore,
    account: AccountId,
    statuses: &[PoStatus],
) -> StoreResult<Vec<BillToOrder>> {
    let names: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
    let rows = sqlx::query(
        "SELECT id, buyer_id, bill_to_address_id, latest_revision_id FROM purchase_orders \
         WHERE account_id = $1 AND latest_revision_id IS NOT NULL AND status = ANY($2) \
         ORDER BY id",
    )
    .bind(account.0)
    .bind(names)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(BillToOrder {
                po: PoId(row.try_get("id")?),
                buyer: BuyerId(row.try_get("buyer_id")?),
                address_id: row.try_get("bill_to_address_id")?,
                latest_revision: RevisionId(row.try_get("latest_revision_id")?),
            })
        })
        .collect()
}

pub(super) async fn choose_customer_mapping(
    store: &PostgresStore,
    account: AccountId,
    mapping: &CustomerMapping,
    chosen_by: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    ensure_buyer(&mut tx, account, mapping.buyer).await?;
    sqlx::query(
        "INSERT INTO customer_mappings (account_id, buyer_id, bill_to_address_id, contact_id, \
             created_at, updated_at, chosen_by, chosen_contact_id) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $4) \
         ON CONFLICT (account_id, buyer_id, bill_to_address_id) DO UPDATE SET \
             contact_id = excluded.contact_id, updated_at = excluded.updated_at, \
             chosen_by = excluded.chosen_by, chosen_contact_id = excluded.chosen_contact_id",
    )
    .bind(account.0)
    .bind(mapping.buyer.0)
    .bind(&mapping.bill_to_address_id)
    .bind(mapping.contact_id)
    .bind(now)
    .bind(chosen_by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn chosen_customer_mappings(
    store: &PostgresStore,
    account: AccountId,
) -> StoreResult<Vec<ChosenCustomerMapping>> {
    let rows = sqlx::query(
        "SELECT buyer_id, bill_to_address_id, contact_id, updated_at, \
             CASE WHEN chosen_contact_id = contact_id THEN chosen_by END AS chosen_by \
         FROM customer_mappings WHERE account_id = $1 \
         ORDER BY buyer_id, bill_to_address_id NULLS FIRST",
    )
    .bind(account.0)
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ChosenCustomerMapping {
                mapping: CustomerMapping {
                    buyer: BuyerId(row.try_get("buyer_id")?),
                    bill_to_address_id: row.try_get("bill_to_address_id")?,
                    contact_id: row.try_get("contact_id")?,
                },
                chosen_by: row.try_get("chosen_by")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}
