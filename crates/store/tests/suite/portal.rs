//! Portal users, sessions, one-time links, the mail outbox and the audit trail.

use pobridge_store::{LinkPurpose, NewAuditEntry, NewMail, OneTimeLink, Session, Store, UserId};

use super::*;

fn session(account: AccountId, user: UserId, token_hash: &str, expires: i64) -> Session {
    Session {
        token_hash: token_hash.to_owned(),
        account,
        user,
        csrf_token: format!("csrf-{token_hash}"),
        created_at: at(0),
        expires_at: at(expires),
    }
}

fn link(account: AccountId, user: UserId, hash: &str, purpose: LinkPurpose) -> OneTimeLink {
    OneTimeLink {
        token_hash: hash.to_owned(),
        account,
        user,
        purpose,
        data: "acme-bp".to_owned(),
        created_at: at(0),
        expires_at: at(60),
    }
}

fn mail(account: Option<AccountId>, key: Option<&str>) -> NewMail {
    NewMail {
        account,
        recipient: "ops@acme.example".to_owned(),
        subject: "Brightpearl data is ready".to_owned(),
        body: "Products and customers were pulled.".to_owned(),
        kind: "reference_data_ready".to_owned(),
        dedupe_key: key.map(str::to_owned),
    }
}

pub async fn users_are_unique_by_email_in_lower_case(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;

    let created = store
        .create_user(acme, " Ops@Acme.Example ", at(0))
        .await
        .unwrap();

    assert_eq!(created.email, "ops@acme.example");
    assert_eq!(created.password_hash, None);
    assert_eq!(
        store.user_by_email("OPS@acme.example").await.unwrap(),
        created
    );
    assert_eq!(store.user(acme, created.id).await.unwrap(), created);
    assert_conflict(store.create_user(globex, "ops@ACME.example", at(1)).await);
    assert_not_found(store.user(globex, created.id).await);
    assert_not_found(
        store
            .create_user(AccountId(999), "x@y.example", at(1))
            .await,
    );
    assert_not_found(store.user_by_email("nobody@acme.example").await);
    assert_eq!(store.list_users(acme).await.unwrap(), vec![created]);
    assert!(store.list_users(globex).await.unwrap().is_empty());
}

pub async fn password_change_ends_the_users_sessions(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let first = store
        .create_user(acme, "a@acme.example", at(0))
        .await
        .unwrap();
    let second = store
        .create_user(acme, "b@acme.example", at(0))
        .await
        .unwrap();
    store
        .create_session(&session(acme, first.id, "s1", 60))
        .await
        .unwrap();
    store
        .create_session(&session(acme, second.id, "s2", 60))
        .await
        .unwrap();

    store
        .set_password_hash(acme, first.id, "$argon2id$v=19$hash", at(5))
        .await
        .unwrap();

    let user = store.user(acme, first.id).await.unwrap();
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$v=19$hash"));
    assert_eq!(user.password_set_at, Some(at(5)));
    assert_eq!(store.session("s1", at(6)).await.unwrap(), None);
    assert!(store.session("s2", at(6)).await.unwrap().is_some());
    let globex = account(store, "globex").await;
    assert_not_found(store.set_password_hash(globex, second.id, "h", at(7)).await);
    assert_eq!(
        store.user(acme, second.id).await.unwrap().password_hash,
        None
    );
}

pub async fn sessions_expire_and_are_deleted(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let user = store
        .create_user(acme, "a@acme.example", at(0))
        .await
        .unwrap();
    let kept = session(acme, user.id, "kept", 60);
    store.create_session(&kept).await.unwrap();
    store
        .create_session(&session(acme, user.id, "short", 10))
        .await
        .unwrap();
    store
        .create_session(&session(acme, user.id, "ended", 60))
        .await
        .unwrap();

    assert_eq!(store.session("kept", at(59)).await.unwrap(), Some(kept));
    assert_eq!(store.session("short", at(10)).await.unwrap(), None);
    assert_eq!(store.session("unknown", at(0)).await.unwrap(), None);
    store.delete_session("ended").await.unwrap();
    assert_eq!(store.session("ended", at(1)).await.unwrap(), None);

    assert_eq!(store.purge_expired_sessions(at(30)).await.unwrap(), 1);
    assert!(store.session("kept", at(30)).await.unwrap().is_some());
    let globex = account(store, "globex").await;
    assert_not_found(
        store
            .create_session(&session(globex, user.id, "other", 60))
            .await,
    );
}

pub async fn links_work_once_for_their_purpose(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let user = store
        .create_user(acme, "a@acme.example", at(0))
        .await
        .unwrap();
    let reset = link(acme, user.id, "reset", LinkPurpose::ResetPassword);
    store.create_link(&reset).await.unwrap();
    store
        .create_link(&link(acme, user.id, "late", LinkPurpose::SetPassword))
        .await
        .unwrap();

    assert_eq!(
        store
            .use_link("reset", LinkPurpose::SetPassword, at(1))
            .await
            .unwrap(),
        None,
        "another purpose"
    );
    assert_eq!(
        store
            .use_link("reset", LinkPurpose::ResetPassword, at(1))
            .await
            .unwrap(),
        Some(reset)
    );
    assert_eq!(
        store
            .use_link("reset", LinkPurpose::ResetPassword, at(2))
            .await
            .unwrap(),
        None,
        "used"
    );
    assert_eq!(
        store
            .use_link("late", LinkPurpose::SetPassword, at(60))
            .await
            .unwrap(),
        None,
        "expired"
    );
    let globex = account(store, "globex").await;
    assert_not_found(
        store
            .create_link(&link(globex, user.id, "x", LinkPurpose::BrightpearlOauth))
            .await,
    );
}

pub async fn mail_is_queued_deduplicated_and_delivered(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;

    let first = store
        .queue_mail(&mail(Some(acme), Some("backlog")), Some(at(-60)), at(0))
        .await;
    let repeat = store
        .queue_mail(&mail(Some(acme), Some("backlog")), Some(at(-60)), at(10))
        .await;
    let other_account = store
        .queue_mail(&mail(Some(globex), Some("backlog")), Some(at(-60)), at(10))
        .await;
    let later = store
        .queue_mail(&mail(Some(acme), Some("backlog")), Some(at(5)), at(70))
        .await;
    let operator = store.queue_mail(&mail(None, None), None, at(71)).await;

    let first = first.unwrap().expect("queued");
    assert_eq!(repeat.unwrap(), None, "same key inside the window");
    let other_account = other_account
        .unwrap()
        .expect("other accounts do not share keys");
    let later = later.unwrap().expect("window passed");
    let operator = operator.unwrap().expect("queued");

    let due: Vec<_> = store
        .due_mail(at(80), 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(due, vec![first, other_account, later, operator]);

    store.mark_mail_sent(first, at(81)).await.unwrap();
    store
        .mark_mail_failed(later, "connection refused", at(120))
        .await
        .unwrap();

    let due: Vec<_> = store
        .due_mail(at(90), 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(due, vec![other_account, operator]);
    let acme_mail = store.list_mail(Some(acme), 10).await.unwrap();
    assert_eq!(
        acme_mail.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![later, first]
    );
    assert_eq!(acme_mail[0].attempts, 1);
    assert_eq!(
        acme_mail[0].last_error.as_deref(),
        Some("connection refused")
    );
    assert_eq!(acme_mail[0].sent_at, None);
    assert_eq!(acme_mail[1].sent_at, Some(at(81)));
    assert_eq!(acme_mail[1].subject, "Brightpearl data is ready");
    assert_eq!(store.list_mail(None, 10).await.unwrap().len(), 4);
    assert_not_found(
        store
            .mark_mail_sent(pobridge_store::MailId(999), at(1))
            .await,
    );
}

pub async fn audit_trail_is_per_account_newest_first(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    let user = store
        .create_user(acme, "a@acme.example", at(0))
        .await
        .unwrap();
    for (minute, action) in [(1, "buyer.update"), (2, "item_mapping.set")] {
        let entry = NewAuditEntry {
            user: Some(user.id),
            actor: user.email.clone(),
            action: action.to_owned(),
            detail: format!("{action} by hand"),
        };
        store.record_audit(acme, &entry, at(minute)).await.unwrap();
    }

    let entries = store.audit_log(acme, 10).await.unwrap();
    let actions: Vec<_> = entries.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["item_mapping.set", "buyer.update"]);
    assert_eq!(entries[0].at, at(2));
    assert_eq!(entries[0].user, Some(user.id));
    assert!(store.audit_log(globex, 10).await.unwrap().is_empty());
}

pub async fn link_lookup_leaves_the_link_usable(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let user = store
        .create_user(acme, "a@acme.example", at(0))
        .await
        .unwrap();
    let set = link(acme, user.id, "set", LinkPurpose::SetPassword);
    store.create_link(&set).await.unwrap();

    let seen = store.link("set", LinkPurpose::SetPassword, at(1)).await;
    let seen_again = store.link("set", LinkPurpose::SetPassword, at(2)).await;
    let other_purpose = store.link("set", LinkPurpose::ResetPassword, at(2)).await;
    let expired = store.link("set", LinkPurpose::SetPassword, at(60)).await;
    let unknown = store.link("nothing", LinkPurpose::SetPassword, at(1)).await;

    assert_eq!(seen.unwrap(), Some(set.clone()));
    assert_eq!(
        seen_again.unwrap(),
        Some(set.clone()),
        "reading used nothing"
    );
    assert_eq!(other_purpose.unwrap(), None);
    assert_eq!(expired.unwrap(), None);
    assert_eq!(unknown.unwrap(), None);
    assert_eq!(
        store
            .use_link("set", LinkPurpose::SetPassword, at(3))
            .await
            .unwrap(),
        Some(set)
    );
    assert_eq!(
        store
            .link("set", LinkPurpose::SetPassword, at(4))
            .await
            .unwrap(),
        None,
        "a used link is not found"
    );
}

pub async fn mail_is_read_by_id(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let id = store
        .queue_mail(&mail(Some(acme), None), None, at(0))
        .await
        .unwrap()
        .expect("queued");

    let read = store.mail(id).await.unwrap();

    assert_eq!(read.id, id);
    assert_eq!(read.account, Some(acme));
    assert_eq!(read.recipient, "ops@acme.example");
    assert_eq!(read.body, "Products and customers were pulled.");
    assert_eq!(read.sent_at, None);
    assert_not_found(store.mail(pobridge_store::MailId(id.0 + 1)).await);
}

pub async fn audit_pages_go_back_by_id(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let globex = account(store, "globex").await;
    for minute in 1..=5 {
        let entry = NewAuditEntry {
            user: None,
            actor: "cli".to_owned(),
            action: "user.invite".to_owned(),
            detail: format!("entry {minute}"),
        };
        store.record_audit(acme, &entry, at(minute)).await.unwrap();
    }

    let first = store.audit_page(acme, None, 2).await.unwrap();
    let second = store.audit_page(acme, Some(first[1].id), 2).await.unwrap();
    let last = store.audit_page(acme, Some(second[1].id), 2).await.unwrap();
    let details = |page: &[pobridge_store::AuditEntry]| {
        page.iter()
            .map(|entry| entry.detail.clone())
            .collect::<Vec<_>>()
    };

    assert_eq!(details(&first), ["entry 5", "entry 4"]);
    assert_eq!(details(&second), ["entry 3", "entry 2"]);
    assert_eq!(details(&last), ["entry 1"]);
    assert!(store
        .audit_page(globex, Some(first[0].id + 1), 10)
        .await
        .unwrap()
        .is_empty());
}
