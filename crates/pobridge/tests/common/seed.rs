//! Purchase orders put into a test database through the engine, in the
//! states that the order commands act on. Orders arrive through
//! `Engine::receive_order`; the states a sync would reach are then set
//! through the store, since no Brightpearl is involved.

use std::sync::Arc;

use pobridge_brightpearl::ClientConfig;
use pobridge_core::{Clock, PoNumber, SystemClock};
use pobridge_engine::admin::{self, AddBuyer, BuyerAuth};
use pobridge_engine::{ClientPool, Engine, EngineConfig, IntakeRequest};
use pobridge_store::{
    Account, Buyer, JobOutcome, PoStatus, PoStatusUpdate, Product, PurchaseOrder, RevisionStatus,
};

const ORDER: &str = include_str!("../fixtures/order-widgets.xml");

/// Returns a stock-tracked product with only an id, a name and `sku`.
pub fn product(id: i64, sku: &str) -> Product {
    Product {
        product_id: id,
        name: format!("product {id}"),
        sku: Some(sku.to_owned()),
        barcode: None,
        ean: None,
        upc: None,
        mpn: None,
        isbn: None,
        stock_tracked: true,
        tax_code: None,
        updated_on: None,
    }
}

/// The shared secret of every seeded buyer.
pub const SECRET: &str = "widgets-s3cret";

/// An engine on a test database with the account `acme` and the buyer
/// `buyer-1` (From identity `BUYER-1`).
pub struct Seed {
    pub engine: Engine,
    pub account: Account,
}

impl Seed {
    pub async fn new(database_url: &str) -> Self {
        let store = pobridge_store::open(database_url).await.unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // The sandbox rejects requests without its app reference, so a
        // test may connect the account to a sandbox it runs.
        let client_config = ClientConfig {
            app_ref: pobridge_sandbox::SandboxConfig::default().app_ref,
            ..ClientConfig::default()
        };
        let clients = ClientPool::new(
            reqwest::Client::new(),
            client_config,
            store.clone(),
            clock.clone(),
        );
        let engine = Engine::new(store, clock, clients, EngineConfig::default());
        let account = admin::create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap();
        let seed = Self { engine, account };
        seed.add_buyer("buyer-1", "BUYER-1").await;
        seed
    }

    /// Adds a buyer whose From and Sender identity is `identity`.
    pub async fn add_buyer(&self, name: &str, identity: &str) {
        let request = AddBuyer {
            from: format!("NetworkID:{identity}"),
            to: "DUNS:123456789".to_owned(),
            sender: format!("NetworkID:{identity}"),
            auth: BuyerAuth::SharedSecret(SECRET.to_owned()),
            mode: "production".to_owned(),
            invoice_url: None,
            name: Some(name.to_owned()),
        };
        admin::add_buyer(&self.engine, "acme", &request)
            .await
            .unwrap();
    }

    pub async fn buyer(&self, name: &str) -> Buyer {
        let store = &self.engine.store;
        store.buyer_by_name(self.account.id, name).await.unwrap()
    }

    /// Posts the widgets order as `number` from the buyer whose identity
    /// is `identity`; `version` above 1 makes it an update.
    pub async fn receive(&self, identity: &str, number: &str, version: u32) {
        let header = if version > 1 {
            format!(r#"orderID="{number}" orderVersion="{version}""#)
        } else {
            format!(r#"orderID="{number}""#)
        };
        let kind = if version > 1 { "update" } else { "new" };
        let body = ORDER
            .replace("BUYER-1", identity)
            .replacen(
                "1710000000.000001@buyer.example",
                &format!("{identity}-{number}-{version}@buyer.example"),
                1,
            )
            .replacen(r#"orderID="PO-1001""#, &header, 1)
            .replacen(r#"type="new""#, &format!(r#"type="{kind}""#), 1);
        let request = IntakeRequest {
            account: "acme".to_owned(),
            url_token: None,
            content_type: Some("text/xml".to_owned()),
            content_encoding: None,
            client_ip: None,
            body: body.into(),
        };
        let reply = self.engine.receive_order(request).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    pub async fn order(&self, buyer: &str, number: &str) -> PurchaseOrder {
        let buyer = self.buyer(buyer).await;
        let number = PoNumber(number.to_owned());
        let store = &self.engine.store;
        store
            .purchase_order_by_number(self.account.id, buyer.id, &number)
            .await
            .unwrap()
            .unwrap()
    }

    /// Sets an order's status as a sync would, with `event` on its timeline.
    pub async fn set_status(&self, po: &PurchaseOrder, status: PoStatus, event: &str) {
        let synced = matches!(status, PoStatus::Synced | PoStatus::HeldForReview);
        let update = PoStatusUpdate {
            status,
            reason: (status != PoStatus::Synced).then(|| event.to_owned()),
            brightpearl_order_id: synced.then_some(7),
            synced_revision: (status == PoStatus::Synced).then_some(po.latest_revision),
            event: event.to_owned(),
        };
        let now = self.engine.clock.now();
        let store = &self.engine.store;
        store
            .set_po_status(self.account.id, po.id, &update, now)
            .await
            .unwrap();
    }

    /// Receives `number` from buyer-1 and fails its sync for good, as a
    /// Brightpearl validation error would.
    pub async fn failed_order(&self, number: &str) -> PurchaseOrder {
        self.receive("BUYER-1", number, 1).await;
        let store = &self.engine.store;
        let now = self.engine.clock.now();
        let jobs = store
            .claim_jobs("seed", now, chrono::Duration::minutes(1), 100)
            .await
            .unwrap();
        let failure = JobOutcome::Failed {
            error: "Brightpearl rejected the order".to_owned(),
        };
        for job in jobs
            .iter()
            .filter(|job| job.key.ends_with(&format!(":{number}")))
        {
            store
                .finish_job(job.id, "seed", &failure, now)
                .await
                .unwrap();
        }
        let po = self.order("buyer-1", number).await;
        self.set_status(&po, PoStatus::Failed, "Brightpearl rejected the order")
            .await;
        self.order("buyer-1", number).await
    }

    /// Receives `number` from buyer-1, marks it synced as Brightpearl order
    /// 7, then receives version 2 and holds it for review, as a sync does.
    pub async fn held_order(&self, number: &str) -> PurchaseOrder {
        self.receive("BUYER-1", number, 1).await;
        let po = self.order("buyer-1", number).await;
        self.set_status(&po, PoStatus::Synced, "synced as Brightpearl sales order 7")
            .await;

        self.receive("BUYER-1", number, 2).await;
        let po = self.order("buyer-1", number).await;
        let store = &self.engine.store;
        store
            .set_revision_status(
                self.account.id,
                po.latest_revision,
                RevisionStatus::HeldForReview,
            )
            .await
            .unwrap();
        self.set_status(
            &po,
            PoStatus::HeldForReview,
            "held for review: an update arrived after Brightpearl sales order 7 was created",
        )
        .await;
        self.order("buyer-1", number).await
    }
}
