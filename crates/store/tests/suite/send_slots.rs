//! The Brightpearl send budget: slots per account in a sliding window.

use std::time::Duration;

use pobridge_store::{SendSlot, Store};

use super::*;

pub async fn send_slots_fill_per_account(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let window = Duration::from_secs(60);

    for _ in 0..3 {
        let slot = store.claim_send_slot(acme, 3, window, 1).await.unwrap();
        assert_eq!(slot, SendSlot::Granted);
    }
    let full = store.claim_send_slot(acme, 3, window, 1).await.unwrap();
    let SendSlot::Full(wait) = full else {
        panic!("a fourth send in the window was granted");
    };
    assert!(wait > Duration::from_secs(55), "wait {wait:?}");
    assert!(wait <= window, "wait {wait:?}");

    let other = store.claim_send_slot(globex, 3, window, 1).await.unwrap();
    assert_eq!(
        other,
        SendSlot::Granted,
        "another account has its own budget"
    );
}

pub async fn send_slots_free_as_the_window_moves(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let window = Duration::from_millis(300);

    let first = store.claim_send_slot(acme, 1, window, 1).await.unwrap();
    assert_eq!(first, SendSlot::Granted);
    let SendSlot::Full(wait) = store.claim_send_slot(acme, 1, window, 1).await.unwrap() else {
        panic!("a second send in the window was granted");
    };
    assert!(wait <= window, "wait {wait:?}");

    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    let later = store.claim_send_slot(acme, 1, window, 1).await.unwrap();
    assert_eq!(later, SendSlot::Granted);
}

pub async fn send_slots_claim_several_at_once(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let window = Duration::from_secs(60);

    let batch = store.claim_send_slot(acme, 10, window, 7).await.unwrap();
    assert_eq!(batch, SendSlot::Granted);
    let too_many = store.claim_send_slot(acme, 10, window, 4).await.unwrap();
    let SendSlot::Full(wait) = too_many else {
        panic!("4 slots were granted with 3 of 10 free");
    };
    assert!(wait > Duration::from_secs(55), "wait {wait:?}");
    assert!(wait <= window, "wait {wait:?}");
    for _ in 0..3 {
        let single = store.claim_send_slot(acme, 10, window, 1).await.unwrap();
        assert_eq!(single, SendSlot::Granted, "the 3 free slots are granted");
    }
    let full = store.claim_send_slot(acme, 10, window, 1).await.unwrap();
    assert!(
        matches!(full, SendSlot::Full(_)),
        "the 7 slots of the batch count: {full:?}"
    );
}
