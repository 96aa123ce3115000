//! Accounts, settings, connections and buyers.

use pobridge_core::{AccountId, AccountSettings, AccountSlug, BuyerId, ContactMatch};
use pobridge_store::{BuyerMode, Connection, ConnectionAuth, ConnectionStatus, Store};

use super::*;

pub async fn account_round_trip(store: &dyn Store) {
    let slug = AccountSlug::parse("acme-widgets").unwrap();
    let created = store
        .create_account(&slug, "ops@acme.example", at(0))
        .await
        .unwrap();

    assert_eq!(created.slug, slug);
    assert_eq!(created.email, "ops@acme.example");
    assert_eq!(created.settings, AccountSettings::default());
    assert_eq!(created.created_at, at(0));
    assert_eq!(store.account(created.id).await.unwrap(), created);
    assert_eq!(store.account_by_slug(&slug).await.unwrap(), created);

    let other = account(store, "globex").await;
    let ids: Vec<AccountId> = store
        .list_accounts()
        .await
        .unwrap()
        .iter()
        .map(|account| account.id)
        .collect();
    assert_eq!(ids, vec![created.id, other]);
}

pub async fn account_slug_is_unique(store: &dyn Store) {
    let slug = AccountSlug::parse("acme").unwrap();
    store
        .create_account(&slug, "a@acme.example", at(0))
        .await
        .unwrap();

    assert_conflict(store.create_account(&slug, "b@acme.example", at(1)).await);
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
}

pub async fn unknown_account_is_not_found(store: &dyn Store) {
    let missing = AccountSlug::parse("nobody").unwrap();

    assert_not_found(store.account_by_slug(&missing).await);
    assert_not_found(store.account(AccountId(999)).await);
    assert_not_found(
        store
            .save_settings(AccountId(999), &AccountSettings::default())
            .await,
    );
    assert_not_found(
        store
            .create_buyer(AccountId(999), &new_buyer("b"), at(0))
            .await,
    );
    assert_not_found(
        store
            .enqueue_job(&new_job(AccountId(999), "k", at(0)))
            .await,
    );
}

pub async fn settings_round_trip(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let mut settings = AccountSettings {
        channel_id: Some(3),
        warehouse_id: Some(2),
        default_tax_code: Some("T20".to_owned()),
        contact_match: ContactMatch::Email,
        create_contacts: false,
        retry_hours: 12,
        ..AccountSettings::default()
    };
    settings
        .custom_fields
        .insert("PCF_SOURCE".to_owned(), serde_json::json!("Coupa – Süd"));

    store.save_settings(account_id, &settings).await.unwrap();

    assert_eq!(store.account(account_id).await.unwrap().settings, settings);
}

fn oauth_connection(access_token: &str) -> Connection {
    Connection {
        account_code: "acmeuk".to_owned(),
        api_base: "https://ws-eu1.brightpearl.com".to_owned(),
        auth: ConnectionAuth::OAuth {
            access_token: access_token.to_owned(),
            refresh_token: "refresh-1".to_owned(),
            expires_at: at(60),
        },
        installation_instance_id: Some("instance-7".to_owned()),
        is_sandbox: false,
        status: ConnectionStatus::Connected,
        connected_at: at(2),
    }
}

pub async fn connection_is_saved_and_replaced(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    assert_eq!(store.connection(account_id).await.unwrap(), None);

    let first = oauth_connection("access-1");
    store.save_connection(account_id, &first).await.unwrap();
    assert_eq!(store.connection(account_id).await.unwrap(), Some(first));

    let second = Connection {
        auth: ConnectionAuth::PrivateApp {
            token: "private-token".to_owned(),
            staff: true,
        },
        status: ConnectionStatus::NeedsReauthorization,
        installation_instance_id: None,
        is_sandbox: true,
        ..oauth_connection("unused")
    };
    store.save_connection(account_id, &second).await.unwrap();
    assert_eq!(store.connection(account_id).await.unwrap(), Some(second));
    assert_not_found(
        store
            .save_connection(AccountId(999), &oauth_connection("x"))
            .await,
    );
}

pub async fn account_with_buyers_reads_both(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let zeta = buyer(store, acme, "Zeta").await;
    let alpha = buyer(store, acme, "Alpha").await;
    buyer(store, globex, "Other").await;
    let slug = |text: &str| AccountSlug::parse(text).unwrap();

    let (found, buyers) = store.account_with_buyers(&slug("acme")).await.unwrap();
    assert_eq!(found, store.account(acme).await.unwrap());
    let ids: Vec<BuyerId> = buyers.iter().map(|buyer| buyer.id).collect();
    assert_eq!(ids, vec![alpha, zeta], "the account's buyers by name");
    assert_eq!(buyers, store.list_buyers(acme).await.unwrap());

    let empty = account(store, "initech").await;
    let (found, buyers) = store.account_with_buyers(&slug("initech")).await.unwrap();
    assert_eq!(found.id, empty);
    assert!(buyers.is_empty());

    assert_not_found(store.account_with_buyers(&slug("hooli")).await);
}

pub async fn recent_account_with_buyers_shows_own_writes(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let slug = AccountSlug::parse("acme").unwrap();
    let names = |buyers: &[pobridge_store::Buyer]| -> Vec<String> {
        buyers.iter().map(|buyer| buyer.name.clone()).collect()
    };
    let (_, buyers) = store.recent_account_with_buyers(&slug).await.unwrap();
    assert!(buyers.is_empty());

    let zeta = buyer(store, acme, "Zeta").await;
    let (_, buyers) = store.recent_account_with_buyers(&slug).await.unwrap();
    assert_eq!(names(&buyers), ["Zeta"], "a created buyer shows at once");

    let mut renamed = store.buyer(acme, zeta).await.unwrap();
    renamed.name = "Alpha".to_owned();
    store.update_buyer(acme, &renamed).await.unwrap();
    let (_, buyers) = store.recent_account_with_buyers(&slug).await.unwrap();
    assert_eq!(names(&buyers), ["Alpha"], "an updated buyer shows at once");

    let settings = AccountSettings {
        contact_match: ContactMatch::Email,
        ..AccountSettings::default()
    };
    store.save_settings(acme, &settings).await.unwrap();
    let (found, _) = store.recent_account_with_buyers(&slug).await.unwrap();
    assert_eq!(found.settings, settings, "saved settings show at once");

    store.delete_buyer(acme, zeta).await.unwrap();
    let (_, buyers) = store.recent_account_with_buyers(&slug).await.unwrap();
    assert!(buyers.is_empty(), "a deleted buyer is gone at once");

    assert_not_found(
        store
            .recent_account_with_buyers(&AccountSlug::parse("hooli").unwrap())
            .await,
    );
}

pub async fn buyer_round_trip(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let new = NewBuyer {
        shared_secret: None,
        invoice_url: None,
        mode: BuyerMode::Test,
        ..new_buyer("Société Générale")
    };
    let created = store.create_buyer(account_id, &new, at(3)).await.unwrap();

    assert_eq!(created.account_id, account_id);
    assert_eq!(created.name, "Société Générale");
    assert_eq!(created.from, new.from);
    assert_eq!(created.sender, new.sender);
    assert_eq!(created.shared_secret, None);
    assert_eq!(created.mode, BuyerMode::Test);
    assert_eq!(created.invoicing, serde_json::json!({}));
    assert_eq!(created.created_at, at(3));
    assert_eq!(store.buyer(account_id, created.id).await.unwrap(), created);
    assert_eq!(
        store
            .buyer_by_name(account_id, "Société Générale")
            .await
            .unwrap(),
        created
    );
    let token = new.url_token.as_deref().unwrap();
    assert_eq!(
        store.buyer_by_url_token(account_id, token).await.unwrap(),
        created
    );
    assert_not_found(store.buyer_by_url_token(account_id, "wrong-token").await);
}

pub async fn buyer_update_replaces_fields(store: &dyn Store) {
    let account_id = account(store, "acme").await;
    let mut buyer = store
        .create_buyer(account_id, &new_buyer("initech"), at(0))
        .await
        .unwrap();
    buyer.name = "initech-eu".to_owned();
    buyer.to = credential("NetworkID", "AN0100");
    buyer.shared_secret = Some("rotated".to_owned());
    buyer.url_token = None;
    buyer.mode = BuyerMode::Test;
    buyer.invoicing = serde_json::json!({ "enabled": true, "tax_id": "GB123" });

    store.update_buyer(account_id, &buyer).await.unwrap();

    assert_eq!(store.buyer(account_id, buyer.id).await.unwrap(), buyer);
    assert_not_found(store.buyer_by_name(account_id, "initech").await);
    let mut missing = buyer.clone();
    missing.id = BuyerId(999);
    assert_not_found(store.update_buyer(account_id, &missing).await);
}

pub async fn buyer_name_and_token_are_unique_per_account(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let first = store
        .create_buyer(acme, &new_buyer("initech"), at(0))
        .await
        .unwrap();

    assert_conflict(store.create_buyer(acme, &new_buyer("initech"), at(1)).await);
    let same_token = NewBuyer {
        url_token: first.url_token.clone(),
        ..new_buyer("hooli")
    };
    assert_conflict(store.create_buyer(acme, &same_token, at(1)).await);

    let second = store
        .create_buyer(acme, &new_buyer("hooli"), at(1))
        .await
        .unwrap();
    let mut renamed = second.clone();
    renamed.name = "initech".to_owned();
    assert_conflict(store.update_buyer(acme, &renamed).await);

    // Names and tokens of another account do not collide.
    store
        .create_buyer(globex, &new_buyer("initech"), at(2))
        .await
        .unwrap();
    let names: Vec<String> = store
        .list_buyers(acme)
        .await
        .unwrap()
        .into_iter()
        .map(|buyer| buyer.name)
        .collect();
    assert_eq!(names, ["hooli", "initech"]);
}
