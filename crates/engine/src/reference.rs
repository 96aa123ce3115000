//! Pulling an account's Brightpearl reference data and product index, and
//! turning engine plans into client requests.
//!
//! The product index is refreshed by windows on `createdOn` and on
//! `updatedOn`, each starting a little before the previous refresh, because
//! Brightpearl leaves `updatedOn` empty until a product is first edited and
//! its clocks use the account's own offset.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use pobridge_brightpearl::{self as bp, BrightpearlClient, ProductQuery};
use pobridge_core::AccountId;
use pobridge_store::{Job, JobOutcome, NewMail, Product, ReferenceKind, Store, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::errors::{classify, retry_or_fail, FailureClass};
use crate::sales_order::{PlannedAddress, PlannedOrder, TaxRates};
use crate::sync::SyncError;
use crate::Engine;

/// How far each product window reaches back before the previous refresh.
const WINDOW_OVERLAP_MINUTES: i64 = 15;

/// The mail kind of the message sent to users when a refresh job finishes.
pub const REFERENCE_READY_MAIL: &str = "reference_data_ready";

/// A user gets at most one "data is ready" message in this many minutes, so
/// pressing Refresh data again and again does not fill their inbox.
const READY_MAIL_EVERY_MINUTES: i64 = 60;

/// Start time of the last product index refresh, so the next one only requests
/// what changed since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCursor {
    pub refreshed_from: Option<DateTime<Utc>>,
}

/// Counts of what one refresh pulled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshSummary {
    pub channels: usize,
    pub warehouses: usize,
    pub price_lists: usize,
    pub order_statuses: usize,
    pub tax_codes: usize,
    pub nominal_codes: usize,
    pub shipping_methods: usize,
    pub order_custom_fields: usize,
    pub products: usize,
}

impl Engine {
    /// Pulls every kind of reference data and the changed products.
    pub async fn refresh_reference(&self, account: AccountId) -> Result<RefreshSummary, SyncError> {
        let Some(client) = self.clients.client(account).await? else {
            return Err(SyncError::Store(StoreError::NotFound {
                entity: "Brightpearl connection",
                key: account.to_string(),
            }));
        };
        let now = self.clock.now();
        let store = &*self.store;
        let channels = save(
            store,
            account,
            ReferenceKind::Channels,
            raws(client.channels().await, |item| item.raw)?,
            now,
        )
        .await?;
        let warehouses = save(
            store,
            account,
            ReferenceKind::Warehouses,
            raws(client.warehouses().await, |item| item.raw)?,
            now,
        )
        .await?;
        let price_lists = save(
            store,
            account,
            ReferenceKind::PriceLists,
            raws(client.price_lists().await, |item| item.raw)?,
            now,
        )
        .await?;
        let order_statuses = save(
            store,
            account,
            ReferenceKind::OrderStatuses,
            raws(client.order_statuses().await, |item| item.raw)?,
            now,
        )
        .await?;
        let tax_codes = save(
            store,
            account,
            ReferenceKind::TaxCodes,
            raws(client.tax_codes().await, |item| item.raw)?,
            now,
        )
        .await?;
        let nominal_codes = save(
            store,
            account,
            ReferenceKind::NominalCodes,
            raws(client.nominal_codes().await, |item| item.raw)?,
            now,
        )
        .await?;
        let shipping_methods = save(
            store,
            account,
            ReferenceKind::ShippingMethods,
            raws(client.shipping_methods().await, |item| item.raw)?,
            now,
        )
        .await?;
        let order_custom_fields = save(
            store,
            account,
            ReferenceKind::OrderCustomFields,
            raws(client.order_custom_fields().await, |item| item.raw)?,
            now,
        )
        .await?;
        let products = self.refresh_products(&client, account, now).await?;
        let summary = RefreshSummary {
            channels,
            warehouses,
            price_lists,
            order_statuses,
            tax_codes,
            nominal_codes,
            shipping_methods,
            order_custom_fields,
            products,
        };
        tracing::info!(tenant.id = %account, products = summary.products, "Brightpearl reference data refreshed");
        Ok(summary)
    }

    async fn refresh_products(
        &self,
        client: &BrightpearlClient,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<usize, SyncError> {
        let cursor: ProductCursor = self
            .store
            .reference_data(account, ReferenceKind::ProductSyncCursor)
            .await?
            .and_then(|data| serde_json::from_value(data.data).ok())
            .unwrap_or_default();

        let ids = match cursor.refreshed_from {
            None => product_ids(client, ProductQuery::default()).await?,
            Some(since) => {
                let from = since - Duration::minutes(WINDOW_OVERLAP_MINUTES);
                let mut ids = product_ids(
                    client,
                    ProductQuery {
                        created_on: Some((from, None)),
                        ..ProductQuery::default()
                    },
                )
                .await?;
                ids.extend(
                    product_ids(
                        client,
                        ProductQuery {
                            updated_on: Some((from, None)),
                            ..ProductQuery::default()
                        },
                    )
                    .await?,
                );
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        };
        let products: Vec<Product> = if ids.is_empty() {
            Vec::new()
        } else {
            client
                .get_products(&ids)
                .await
                .map_err(SyncError::Brightpearl)?
                .into_iter()
                .map(product_record)
                .collect()
        };
        self.store.upsert_products(account, &products).await?;
        let next = serde_json::to_value(ProductCursor {
            refreshed_from: Some(now),
        })
        .unwrap_or_default();
        self.store
            .save_reference_data(account, ReferenceKind::ProductSyncCursor, &next, now)
            .await?;
        Ok(products.len())
    }

    /// Runs a queued refresh job.
    pub async fn run_refresh_job(&self, job: &Job) -> JobOutcome {
        let retry_hours = 24;
        match self.refresh_reference(job.account).await {
            Ok(summary) => {
                self.mail_reference_ready(job.account, &summary).await;
                JobOutcome::Done
            }
            Err(SyncError::Store(StoreError::NotFound { .. })) => JobOutcome::Failed {
                error: "Brightpearl is not connected".to_owned(),
            },
            Err(SyncError::Store(error)) => {
                retry_or_fail(job, self.clock.now(), retry_hours, true, error.to_string())
            }
            Err(SyncError::Brightpearl(error)) => match classify(&error) {
                FailureClass::Transient { counts } => retry_or_fail(
                    job,
                    self.clock.now(),
                    retry_hours,
                    counts,
                    error.to_string(),
                ),
                FailureClass::Ambiguous => {
                    retry_or_fail(job, self.clock.now(), retry_hours, true, error.to_string())
                }
                FailureClass::Reauthorize => JobOutcome::Wait {
                    reason: error.to_string(),
                },
                FailureClass::Permanent => JobOutcome::Failed {
                    error: error.to_string(),
                },
            },
        }
    }

    /// Queues a "Brightpearl data is ready" message to each user of the
    /// account who has set a password. An invited user without one is left
    /// out, because the invitation is the mail they need first. A failure is
    /// logged and not retried, because the refresh itself succeeded.
    async fn mail_reference_ready(&self, account: AccountId, summary: &RefreshSummary) {
        let now = self.clock.now();
        let since = now - Duration::minutes(READY_MAIL_EVERY_MINUTES);
        let users = match self.store.list_users(account).await {
            Ok(users) => users,
            Err(error) => {
                tracing::error!(tenant.id = %account, %error, "listing users to mail failed");
                return;
            }
        };
        for user in users
            .into_iter()
            .filter(|user| user.password_hash.is_some())
        {
            let mail = NewMail {
                account: Some(account),
                recipient: user.email,
                subject: "Brightpearl data is ready".to_owned(),
                body: ready_mail_body(summary),
                kind: REFERENCE_READY_MAIL.to_owned(),
                dedupe_key: Some(format!("{REFERENCE_READY_MAIL}:{}", user.id)),
            };
            if let Err(error) = self.store.queue_mail(&mail, Some(since), now).await {
                tracing::error!(tenant.id = %account, user.id = %user.id, %error, "queueing the data-ready mail failed");
            }
        }
    }
}

fn ready_mail_body(summary: &RefreshSummary) -> String {
    let counts = [
        (summary.products, "products"),
        (summary.channels, "channels"),
        (summary.warehouses, "warehouses"),
        (summary.price_lists, "price lists"),
        (summary.order_statuses, "order statuses"),
        (summary.tax_codes, "tax codes"),
        (summary.nominal_codes, "nominal codes"),
        (summary.shipping_methods, "shipping methods"),
        (summary.order_custom_fields, "order custom fields"),
    ];
    let mut body = "pobridge has finished pulling your Brightpearl data:\n\n".to_owned();
    for (count, what) in counts {
        body.push_str(&format!("- {count} {what}\n"));
    }
    body.push_str(
        "\nThe product count covers only products new or changed since the previous pull.\n\
         Next, choose the channel, warehouse and other defaults for new sales orders \
         under Settings, Defaults in pobridge.\n",
    );
    body
}

async fn product_ids(
    client: &BrightpearlClient,
    query: ProductQuery,
) -> Result<Vec<i64>, SyncError> {
    let rows = client
        .search_products(&query)
        .await
        .map_err(SyncError::Brightpearl)?;
    Ok(rows.into_iter().map(|row| row.product_id).collect())
}

fn raws<T>(
    result: Result<Vec<T>, bp::BrightpearlError>,
    raw: impl Fn(T) -> serde_json::Value,
) -> Result<Vec<serde_json::Value>, SyncError> {
    Ok(result
        .map_err(SyncError::Brightpearl)?
        .into_iter()
        .map(raw)
        .collect())
}

async fn save(
    store: &dyn Store,
    account: AccountId,
    kind: ReferenceKind,
    items: Vec<serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<usize, SyncError> {
    let count = items.len();
    store
        .save_reference_data(account, kind, &serde_json::Value::Array(items), now)
        .await?;
    Ok(count)
}

/// Converts a Brightpearl product into its local index record.
pub fn product_record(product: bp::Product) -> Product {
    Product {
        product_id: product.id,
        name: product.name,
        sku: product.sku,
        barcode: product.barcode,
        ean: product.ean,
        upc: product.upc,
        mpn: product.mpn,
        isbn: product.isbn,
        stock_tracked: product.stock_tracked,
        tax_code: product.tax_code,
        updated_on: product.updated_on.map(|time| time.with_timezone(&Utc)),
    }
}

/// Tax rates by code from the stored tax codes; a code without a rate is 0 %.
pub async fn tax_rates(store: &dyn Store, account: AccountId) -> Result<TaxRates, StoreError> {
    let mut rates = HashMap::new();
    let Some(data) = store
        .reference_data(account, ReferenceKind::TaxCodes)
        .await?
    else {
        return Ok(rates);
    };
    for item in data.data.as_array().into_iter().flatten() {
        let Some(code) = item.get("code").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let rate = item
            .get("rate")
            .and_then(|rate| match rate {
                serde_json::Value::Number(number) => number.to_string().parse::<Decimal>().ok(),
                serde_json::Value::String(text) => text.parse::<Decimal>().ok(),
                _ => None,
            })
            .unwrap_or(Decimal::ZERO);
        rates.insert(code.to_owned(), rate);
    }
    Ok(rates)
}

/// Builds the Sales Order POST body for a planned order.
pub fn sales_order_request(
    planned: &PlannedOrder,
    installation_instance_id: Option<&str>,
) -> bp::SalesOrder {
    bp::SalesOrder {
        customer_id: planned.customer_id,
        reference: planned.reference.clone(),
        external_ref: planned.external_ref.clone(),
        installed_integration_instance_id: installation_instance_id
            .and_then(|id| id.trim().parse::<i64>().ok()),
        placed_on: planned.placed_on.clone(),
        channel_id: planned.channel_id,
        warehouse_id: planned.warehouse_id,
        status_id: planned.status_id,
        price_list_id: planned.price_list_id,
        price_mode_code: Some("EXC".to_owned()),
        staff_owner_id: planned.staff_owner_id,
        project_id: planned.project_id,
        lead_source_id: planned.lead_source_id,
        currency_code: planned.currency.clone(),
        delivery: Some(bp::SalesOrderDelivery {
            date: planned.delivery_date.clone(),
            address: planned.delivery_address.as_ref().map(address),
            shipping_method_id: None,
        }),
        rows: planned
            .rows
            .iter()
            .map(|row| bp::SalesOrderRow {
                product_id: row.product_id,
                name: row.name.clone(),
                quantity: row.quantity,
                tax_code: row.tax_code.clone(),
                net: row.net,
                tax: row.tax,
                nominal_code: row.nominal_code.clone(),
                external_ref: Some(row.external_ref.clone()),
                sequence: Some(row.sequence),
            })
            .collect(),
    }
}

fn address(planned: &PlannedAddress) -> bp::Address {
    bp::Address {
        address_full_name: planned.full_name.clone(),
        company_name: planned.company_name.clone(),
        address_line1: planned.line1.clone(),
        address_line2: planned.line2.clone(),
        address_line3: planned.line3.clone(),
        address_line4: planned.line4.clone(),
        postal_code: planned.postal_code.clone(),
        country_iso_code: planned.country_iso_code.clone(),
        telephone: planned.telephone.clone(),
        email: planned.email.clone(),
        ..bp::Address::default()
    }
}
