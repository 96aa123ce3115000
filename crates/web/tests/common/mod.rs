//! An engine on an in-memory store with one account and two buyers: one
//! with a shared secret, one reached only through its own order URL.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pobridge_brightpearl::ClientConfig;
use pobridge_core::{Clock, ManualClock};
use pobridge_engine::admin::{self, AddBuyer, BuyerAuth};
use pobridge_engine::{ClientPool, Engine, EngineConfig};

pub const ACCOUNT: &str = "acme";
/// The per-buyer URL token of the buyer without a shared secret.
pub const BUYER_TOKEN: &str = "k3Yl0ng-RANDOM_token-for-tests-0123456789ab";

/// Bytes of a document in the shared corpus.
pub fn corpus(path: &str) -> Vec<u8> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
    std::fs::read(format!("{root}/{path}")).unwrap()
}

/// Reads a Coupa order whose Sender carries a shared secret.
pub fn order_with_secret() -> Vec<u8> {
    corpus("cxml/order/coupa-staging-orderrequest-1.2.014-extrinsics-accounting-2lines.xml")
}

/// Reads a Coupa order whose Sender carries no shared secret.
pub fn order_without_secret() -> Vec<u8> {
    corpus("cxml/order/coupa-published-annotated-orderrequest-1.2.014-comments.xml")
}

/// The shared secret `order_with_secret` carries.
pub const SHARED_SECRET: &str = "alsdkfjalksdjflaksjdfklj";

pub async fn engine(max_body_bytes: usize) -> Engine {
    engine_with_clock(max_body_bytes).await.0
}

/// Like [`engine`], with the clock the engine reads, for moving time on.
pub async fn engine_with_clock(max_body_bytes: usize) -> (Engine, Arc<ManualClock>) {
    let store = pobridge_store::open("sqlite::memory:").await.unwrap();
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let manual = Arc::new(ManualClock::new(start));
    let clock: Arc<dyn Clock> = manual.clone();
    let clients = ClientPool::new(
        reqwest::Client::new(),
        ClientConfig::default(),
        store.clone(),
        clock.clone(),
    );
    let mut config = EngineConfig::default();
    config.limits.max_body_bytes = max_body_bytes;
    let engine = Engine::new(store, clock, clients, config);

    admin::create_account(&engine, ACCOUNT, "ops@acme.example")
        .await
        .unwrap();
    admin::add_buyer(&engine, ACCOUNT, &staging_buyer())
        .await
        .unwrap();
    admin::add_buyer(&engine, ACCOUNT, &tokened_buyer())
        .await
        .unwrap();
    (engine, manual)
}

fn staging_buyer() -> AddBuyer {
    AddBuyer {
        from: "NetworkID:kasdflkjasdf".to_owned(),
        to: "alksjflkasjdfasdf:development@officeluv.com".to_owned(),
        sender: "NetworkID:DAN_Coupa".to_owned(),
        auth: BuyerAuth::SharedSecret(SHARED_SECRET.to_owned()),
        mode: "production".to_owned(),
        invoice_url: None,
        name: Some("staging".to_owned()),
    }
}

fn tokened_buyer() -> AddBuyer {
    AddBuyer {
        from: "duns:dell".to_owned(),
        to: "Duns:128293714".to_owned(),
        sender: "duns:dell".to_owned(),
        auth: BuyerAuth::UrlToken(BUYER_TOKEN.to_owned()),
        mode: "production".to_owned(),
        invoice_url: None,
        name: Some("dell".to_owned()),
    }
}
