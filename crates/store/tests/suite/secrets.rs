//! Brightpearl tokens and invoicing shared secrets encrypted at rest.

use pobridge_core::{AccountId, BuyerId};
use pobridge_store::{Connection, ConnectionAuth, ConnectionStatus, SecretBox, Store, StoreError};
use serde_json::json;

use super::*;

/// Opens another handle on the scenario's database, sealing secrets with the
/// given box.
pub type KeyedOpener =
    dyn Fn(SecretBox) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>> + Send + Sync;

/// Reads with plain SQL the stored `connections.auth` and `buyers.invoicing`
/// text of an account and one of its buyers.
pub type RawColumns = dyn Fn(AccountId, BuyerId) -> Pin<Box<dyn Future<Output = (String, String)> + Send>>
    + Send
    + Sync;

/// Opens handles on the database at `url` that seal secrets with the box
/// they are given.
pub fn keyed_opener(url: String) -> Box<KeyedOpener> {
    Box::new(move |secrets| {
        let url = url.clone();
        Box::pin(async move {
            pobridge_store::open_with_secrets(&url, secrets)
                .await
                .unwrap()
        })
    })
}

const ACCESS_TOKEN: &str = "access-token-4f2a";
const REFRESH_TOKEN: &str = "refresh-token-9c1e";
const INVOICE_SECRET: &str = "invoice-secret-77b0";

fn key(byte: u8) -> SecretBox {
    SecretBox::new(&[byte; 32])
}

fn connection() -> Connection {
    Connection {
        account_code: "acmeuk".to_owned(),
        api_base: "https://ws-eu1.brightpearl.com".to_owned(),
        auth: ConnectionAuth::OAuth {
            access_token: ACCESS_TOKEN.to_owned(),
            refresh_token: REFRESH_TOKEN.to_owned(),
            expires_at: at(60),
        },
        installation_instance_id: Some("instance-7".to_owned()),
        is_sandbox: false,
        status: ConnectionStatus::Connected,
        connected_at: at(2),
    }
}

fn invoicing() -> serde_json::Value {
    json!({
        "invoice_url": "https://initech.example/cxml/invoices",
        "shared_secret": INVOICE_SECRET,
    })
}

/// Creates an account with a connection and a buyer with invoicing settings.
async fn write_secrets(store: &dyn Store) -> (AccountId, BuyerId) {
    let account_id = account(store, "acme").await;
    store
        .save_connection(account_id, &connection())
        .await
        .unwrap();
    let buyer_id = buyer(store, account_id, "initech").await;
    rewrite_invoicing(store, account_id, buyer_id).await;
    (account_id, buyer_id)
}

async fn rewrite_invoicing(store: &dyn Store, account_id: AccountId, buyer_id: BuyerId) {
    let mut stored = store.buyer(account_id, buyer_id).await.unwrap();
    stored.invoicing = invoicing();
    store.update_buyer(account_id, &stored).await.unwrap();
}

async fn assert_secrets_read(store: &dyn Store, account_id: AccountId, buyer_id: BuyerId) {
    let read = store.connection(account_id).await.unwrap();
    assert_eq!(read, Some(connection()));
    let buyer = store.buyer(account_id, buyer_id).await.unwrap();
    assert_eq!(buyer.invoicing, invoicing());
}

fn assert_sealed(auth: &str, invoicing: &str) {
    for plain in [ACCESS_TOKEN, REFRESH_TOKEN] {
        assert!(!auth.contains(plain), "token stored in plain text: {auth}");
    }
    assert!(auth.contains("enc:v1:"), "auth not sealed: {auth}");
    assert!(
        !invoicing.contains(INVOICE_SECRET),
        "shared secret stored in plain text: {invoicing}"
    );
    assert!(
        invoicing.contains("enc:v1:"),
        "secret not sealed: {invoicing}"
    );
    assert!(
        invoicing.contains("https://initech.example/cxml/invoices"),
        "other settings must stay readable: {invoicing}"
    );
}

pub async fn secrets_are_encrypted_with_key(open: &KeyedOpener, raw: &RawColumns) {
    let store = open(key(1)).await;
    let (account_id, buyer_id) = write_secrets(store.as_ref()).await;

    let (auth, invoicing) = raw(account_id, buyer_id).await;
    assert_sealed(&auth, &invoicing);
    assert_secrets_read(store.as_ref(), account_id, buyer_id).await;

    let reopened = open(key(1)).await;
    assert_secrets_read(reopened.as_ref(), account_id, buyer_id).await;
}

pub async fn plain_secrets_are_read_and_sealed_on_write(open: &KeyedOpener, raw: &RawColumns) {
    let unkeyed = open(SecretBox::without_key()).await;
    let (account_id, buyer_id) = write_secrets(unkeyed.as_ref()).await;
    let (auth, invoicing) = raw(account_id, buyer_id).await;
    assert!(auth.contains(ACCESS_TOKEN), "{auth}");
    assert!(invoicing.contains(INVOICE_SECRET), "{invoicing}");

    let keyed = open(key(1)).await;
    assert_secrets_read(keyed.as_ref(), account_id, buyer_id).await;

    keyed
        .save_connection(account_id, &connection())
        .await
        .unwrap();
    rewrite_invoicing(keyed.as_ref(), account_id, buyer_id).await;
    let (auth, invoicing) = raw(account_id, buyer_id).await;
    assert_sealed(&auth, &invoicing);
    assert_secrets_read(keyed.as_ref(), account_id, buyer_id).await;
}

pub async fn sealed_secrets_need_the_right_key(open: &KeyedOpener) {
    let keyed = open(key(1)).await;
    let (account_id, buyer_id) = write_secrets(keyed.as_ref()).await;
    let slug = keyed.account(account_id).await.unwrap().slug;

    let unkeyed = open(SecretBox::without_key()).await;
    let wrong = open(key(2)).await;
    for (store, reason) in [
        (unkeyed, "no secrets_key is configured"),
        (wrong, "does not decrypt with the configured secrets_key"),
    ] {
        let error = store.connection(account_id).await.unwrap_err();
        assert!(matches!(error, StoreError::SecretKey { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(reason), "{message}");
        assert!(message.contains("POBRIDGE_SECRETS_KEY"), "{message}");

        // The buyer stays readable, so the account's orders are still
        // taken, with the invoicing secret left out and the reason beside it.
        let (_, buyers) = store.account_with_buyers(&slug).await.unwrap();
        let mut buyer = store.buyer(account_id, buyer_id).await.unwrap();
        assert_eq!(buyers, vec![buyer.clone()]);
        assert!(
            buyer.invoicing["shared_secret"].is_null(),
            "{}",
            buyer.invoicing
        );
        assert!(!buyer.invoicing.to_string().contains(INVOICE_SECRET));
        let unreadable = buyer.invoicing[pobridge_store::INVOICING_SECRET_UNREADABLE]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(unreadable.contains(reason), "{unreadable}");
        assert!(unreadable.contains("POBRIDGE_SECRETS_KEY"), "{unreadable}");

        // Writing the buyer back keeps the secret for the right key.
        buyer.name = format!("initech {reason}");
        store.update_buyer(account_id, &buyer).await.unwrap();
        let reread = keyed.buyer(account_id, buyer_id).await.unwrap();
        assert_eq!(reread.invoicing, invoicing());
    }
}
