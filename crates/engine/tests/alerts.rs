//! Alert e-mails over a real store, SQLite and PostgreSQL, with a manual
//! clock: each condition is written straight to the store, the check runs,
//! and the outbox is read back. A second check must queue nothing new.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{new_buyer, on_each_backend, utc, Backend, Records, TestEngine};
use pobridge_core::{
    AccountId, BuyerId, Clock, Connection, ConnectionAuth, ConnectionStatus, ManualClock, PoId,
};
use pobridge_engine::alerts::{
    AlertConfig, AlertSummary, AUTHORIZATION_LOST_MAIL, BACKLOG_MAIL, BUYER_SILENT_MAIL,
    CHECK_ALERTS, INVOICE_MAIL, ORDER_FAILED_MAIL,
};
use pobridge_engine::worker::Worker;
use pobridge_engine::{admin, EngineConfig};
use pobridge_store::{BuyerMode, InvoiceStatus, InvoiceUpdate, JobStatus, Mail, PoStatus};

const NOW: &str = "2024-05-10T06:00:00Z";
const ARCHIVED: &str = "Brightpearl rejected the order: product 7 is archived";
const UNKNOWN_UNIT: &str = "Coupa rejected the invoice: unknown unit EA";
const TOKEN: &str = "private-app-token-0123";

/// Returns alert thresholds with every alert off, so each test turns on the one it checks.
fn alerts_off() -> AlertConfig {
    AlertConfig {
        check_minutes: 15,
        backlog_minutes: 0,
        buyer_silent_days: 0,
    }
}

/// An account `acme` with one production buyer and a clock the test moves.
struct Fixture {
    engine: TestEngine,
    clock: Arc<ManualClock>,
    account: AccountId,
    buyer: BuyerId,
}

impl Fixture {
    async fn new(alerts: AlertConfig, backend: Backend) -> Self {
        let clock = Arc::new(ManualClock::new(utc(NOW)));
        let config = EngineConfig {
            alerts,
            ..EngineConfig::default()
        };
        let engine = common::engine(backend, clock.clone(), config).await;
        let account = admin::create_account(&engine, "acme", "ops@acme.example")
            .await
            .unwrap();
        let mut fixture = Self {
            engine,
            clock,
            account: account.id,
            buyer: BuyerId(0),
        };
        fixture.buyer = fixture.add_buyer("coupa", BuyerMode::Production).await;
        fixture
    }

    /// Adds the users `ann` and `bob`.
    async fn with_users(self) -> Self {
        for email in ["ann@acme.example", "bob@acme.example"] {
            let now = self.clock.now();
            self.engine
                .store
                .create_user(self.account, email, now)
                .await
                .unwrap();
        }
        self
    }

    async fn add_buyer(&self, name: &str, mode: BuyerMode) -> BuyerId {
        let buyer = new_buyer(name, name, mode);
        self.engine
            .create_buyer(self.account, buyer)
            .await
            .unwrap()
            .id
    }

    /// Returns a writer of `buyer`'s records.
    fn records(&self, buyer: BuyerId) -> Records<'_> {
        Records {
            engine: &self.engine,
            account: self.account,
            buyer,
        }
    }

    async fn receive(&self, buyer: BuyerId, number: &str, at: &str) -> PoId {
        self.records(buyer).receive(number, at).await
    }

    async fn set_status(&self, po: PoId, status: PoStatus, reason: &str, at: &str) {
        let records = self.records(self.buyer);
        records.set_status(po, status, reason, at).await;
    }

    /// Stores an invoice of `po` and moves it to `status` at `at`.
    async fn invoice(&self, po: PoId, number: &str, status: InvoiceStatus, at: &str) {
        let created = "2024-05-01T00:00:00Z";
        let records = self.records(self.buyer);
        let id = records.create_invoice(po, number, created, at).await;
        let rejected = status == InvoiceStatus::Failed;
        let update = InvoiceUpdate {
            status,
            reason: Some(if rejected { UNKNOWN_UNIT } else { "see Coupa" }.to_owned()),
            coupa_status: rejected.then_some(400),
            coupa_text: rejected.then(|| "Bad Request".to_owned()),
            counts_attempt: true,
            outcome_unknown: None,
            document: None,
            sent_at: (status == InvoiceStatus::Sent).then(|| utc(at)),
        };
        self.engine
            .store
            .update_invoice(self.account, id, &update, utc(at))
            .await
            .unwrap();
    }

    async fn connect(&self, status: ConnectionStatus) {
        let connection = Connection {
            account_code: "acmeltd".to_owned(),
            api_base: "https://ws-eu1.brightpearl.com".to_owned(),
            auth: ConnectionAuth::PrivateApp {
                token: TOKEN.to_owned(),
                staff: false,
            },
            installation_instance_id: None,
            is_sandbox: false,
            status,
            connected_at: utc("2024-05-01T09:00:00Z"),
        };
        self.engine
            .store
            .save_connection(self.account, &connection)
            .await
            .unwrap();
    }

    async fn check(&self) -> AlertSummary {
        self.engine.check_alerts(self.account).await.unwrap()
    }

    /// Returns the account's queued messages of `kind`, oldest first.
    async fn mail(&self, kind: &str) -> Vec<Mail> {
        let mut mail = self
            .engine
            .store
            .list_mail(Some(self.account), 1000)
            .await
            .unwrap();
        mail.retain(|message| message.kind == kind);
        mail.reverse();
        mail
    }
}

fn recipients(mail: &[Mail]) -> Vec<&str> {
    let mut recipients: Vec<&str> = mail
        .iter()
        .map(|message| message.recipient.as_str())
        .collect();
    recipients.sort_unstable();
    recipients
}

on_each_backend!(
    account_without_users_gets_no_mail,
    failed_order_mails_each_user_once,
    order_failing_again_after_resync_mails_again,
    invoice_problems_mail_once_each,
    lost_authorization_mails_daily_until_reconnected,
    backlog_mails_after_the_configured_age,
    silent_production_buyer_mails_after_the_configured_days,
    zero_thresholds_turn_alerts_off,
    worker_runs_the_check_and_queues_the_next,
    concurrent_checks_queue_each_message_once,
);

async fn account_without_users_gets_no_mail(backend: Backend) {
    let alerts = AlertConfig {
        backlog_minutes: 60,
        buyer_silent_days: 1,
        ..alerts_off()
    };
    let fixture = Fixture::new(alerts, backend).await;
    let po = fixture
        .receive(fixture.buyer, "PO-1", "2024-05-01T08:00:00Z")
        .await;
    fixture
        .set_status(po, PoStatus::Failed, ARCHIVED, "2024-05-10T05:00:00Z")
        .await;
    fixture
        .connect(ConnectionStatus::NeedsReauthorization)
        .await;

    let summary = fixture.check().await;

    assert_eq!(summary, AlertSummary::default());
    let outbox = fixture
        .engine
        .store
        .list_mail(Some(fixture.account), 100)
        .await
        .unwrap();
    assert!(outbox.is_empty(), "{outbox:?}");
}

async fn failed_order_mails_each_user_once(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    let failed = fixture
        .receive(fixture.buyer, "PO-7", "2024-05-09T20:00:00Z")
        .await;
    fixture
        .set_status(failed, PoStatus::Failed, ARCHIVED, "2024-05-10T05:00:00Z")
        .await;
    let old = fixture
        .receive(fixture.buyer, "PO-OLD", "2024-04-01T08:00:00Z")
        .await;
    fixture
        .set_status(old, PoStatus::Failed, ARCHIVED, "2024-04-01T09:00:00Z")
        .await;
    let synced = fixture
        .receive(fixture.buyer, "PO-8", "2024-05-09T20:00:00Z")
        .await;
    fixture
        .set_status(synced, PoStatus::Synced, "synced", "2024-05-09T21:00:00Z")
        .await;

    let first = fixture.check().await;
    let again = fixture.check().await;
    fixture.clock.advance(Duration::days(6));
    let days_later = fixture.check().await;

    assert_eq!(first.queued, 2);
    assert_eq!(again.queued, 0);
    assert_eq!(days_later.queued, 0);
    let mail = fixture.mail(ORDER_FAILED_MAIL).await;
    assert_eq!(recipients(&mail), ["ann@acme.example", "bob@acme.example"]);
    let message = &mail[0];
    assert_eq!(message.subject, "Order PO-7 from coupa failed");
    assert!(message.body.contains("PO-7"), "{}", message.body);
    assert!(message.body.contains(ARCHIVED), "{}", message.body);
    assert!(message.body.contains("press Re-sync"), "{}", message.body);
    assert!(
        message.body.contains("2024-05-10 05:00 UTC"),
        "{}",
        message.body
    );
}

async fn order_failing_again_after_resync_mails_again(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    let po = fixture
        .receive(fixture.buyer, "PO-7", "2024-05-09T20:00:00Z")
        .await;
    fixture
        .set_status(po, PoStatus::Failed, ARCHIVED, "2024-05-10T05:00:00Z")
        .await;
    let first = fixture.check().await;

    fixture
        .set_status(
            po,
            PoStatus::Received,
            "re-sync requested",
            "2024-05-10T05:30:00Z",
        )
        .await;
    fixture
        .set_status(
            po,
            PoStatus::Failed,
            "still archived",
            "2024-05-10T05:40:00Z",
        )
        .await;
    let second = fixture.check().await;

    assert_eq!(first.queued, 2);
    assert_eq!(second.queued, 2);
    let mail = fixture.mail(ORDER_FAILED_MAIL).await;
    assert!(mail[3].body.contains("still archived"), "{}", mail[3].body);
}

async fn invoice_problems_mail_once_each(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    let po = fixture
        .receive(fixture.buyer, "PO-9", "2024-05-01T08:00:00Z")
        .await;
    fixture
        .invoice(po, "INV-1", InvoiceStatus::Failed, "2024-05-10T04:00:00Z")
        .await;
    fixture
        .invoice(
            po,
            "INV-2",
            InvoiceStatus::NeedsAttention,
            "2024-05-10T04:10:00Z",
        )
        .await;
    fixture
        .invoice(
            po,
            "INV-3",
            InvoiceStatus::ChangedAfterSending,
            "2024-05-10T04:20:00Z",
        )
        .await;
    fixture
        .invoice(po, "INV-4", InvoiceStatus::Sent, "2024-05-10T04:30:00Z")
        .await;
    fixture
        .invoice(po, "INV-OLD", InvoiceStatus::Failed, "2024-04-20T04:00:00Z")
        .await;

    let first = fixture.check().await;
    let again = fixture.check().await;

    assert_eq!(first.alerts, 3);
    assert_eq!(first.queued, 6);
    assert_eq!(again.queued, 0);
    let mail = fixture.mail(INVOICE_MAIL).await;
    let subject = |number: &str| {
        let found: Vec<&Mail> = mail
            .iter()
            .filter(|message| message.subject.contains(&format!("Invoice {number} ")))
            .collect();
        assert_eq!(found.len(), 2, "{number}: {mail:?}");
        found[0].clone()
    };
    let rejected = subject("INV-1");
    assert_eq!(rejected.subject, "Invoice INV-1 for PO-9 failed");
    assert!(rejected.body.contains(UNKNOWN_UNIT), "{}", rejected.body);
    assert!(
        rejected.body.contains("400 Bad Request"),
        "{}",
        rejected.body
    );
    assert!(rejected.body.contains("press Retry"), "{}", rejected.body);
    let attention = subject("INV-2");
    assert!(
        attention.subject.ends_with("needs attention"),
        "{}",
        attention.subject
    );
    assert!(
        attention.body.contains("Confirm delivered"),
        "{}",
        attention.body
    );
    let changed = subject("INV-3");
    assert!(changed.body.contains("credit"), "{}", changed.body);
    assert!(!mail.iter().any(|message| message.subject.contains("INV-4")));
    assert!(!mail
        .iter()
        .any(|message| message.subject.contains("INV-OLD")));
}

async fn lost_authorization_mails_daily_until_reconnected(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    fixture
        .connect(ConnectionStatus::NeedsReauthorization)
        .await;

    let first = fixture.check().await;
    fixture.clock.advance(Duration::hours(23));
    let same_day = fixture.check().await;
    fixture.clock.advance(Duration::hours(2));
    let next_day = fixture.check().await;
    fixture.connect(ConnectionStatus::Connected).await;
    fixture.clock.advance(Duration::hours(25));
    let reconnected = fixture.check().await;

    assert_eq!(first.queued, 2);
    assert_eq!(same_day.queued, 0);
    assert_eq!(next_day.queued, 2);
    assert_eq!(reconnected.alerts, 0);
    let mail = fixture.mail(AUTHORIZATION_LOST_MAIL).await;
    assert_eq!(mail.len(), 4);
    let body = &mail[0].body;
    assert!(body.contains("acmeltd"), "{body}");
    assert!(body.contains("Settings, General"), "{body}");
    assert!(!body.contains(TOKEN), "{body}");
}

async fn backlog_mails_after_the_configured_age(backend: Backend) {
    let alerts = AlertConfig {
        backlog_minutes: 240,
        ..alerts_off()
    };
    let fixture = Fixture::new(alerts, backend).await.with_users().await;
    let waiting = fixture
        .receive(fixture.buyer, "PO-3", "2024-05-10T02:30:00Z")
        .await;
    let wait = "Coupa part X-1 has no Brightpearl product";
    fixture
        .set_status(
            waiting,
            PoStatus::AwaitingMapping,
            wait,
            "2024-05-10T03:00:00Z",
        )
        .await;
    let failed = fixture
        .receive(fixture.buyer, "PO-4", "2024-05-01T02:30:00Z")
        .await;
    fixture
        .set_status(failed, PoStatus::Failed, ARCHIVED, "2024-05-01T03:00:00Z")
        .await;

    let young = fixture.check().await;
    fixture.clock.advance(Duration::hours(2));
    let late = fixture.check().await;
    let again = fixture.check().await;
    fixture.clock.advance(Duration::hours(25));
    let reminder = fixture.check().await;

    assert_eq!(young.queued, 0);
    assert_eq!(late.queued, 2);
    assert_eq!(again.queued, 0);
    assert_eq!(reminder.queued, 2);
    let mail = fixture.mail(BACKLOG_MAIL).await;
    let body = &mail[0].body;
    assert_eq!(mail[0].subject, "1 order is waiting in pobridge");
    assert!(
        body.starts_with("1 purchase order has been waiting"),
        "{body}"
    );
    assert!(body.contains("more than 4 hours"), "{body}");
    assert!(body.contains("PO-3 from coupa: awaiting_mapping"), "{body}");
    assert!(body.contains("under Items"), "{body}");
    assert!(!body.contains("PO-4"), "{body}");
}

async fn silent_production_buyer_mails_after_the_configured_days(backend: Backend) {
    let alerts = AlertConfig {
        buyer_silent_days: 7,
        ..alerts_off()
    };
    let fixture = Fixture::new(alerts, backend).await.with_users().await;
    fixture
        .receive(fixture.buyer, "PO-1", "2024-04-20T08:00:00Z")
        .await;
    fixture
        .receive(fixture.buyer, "PO-2", "2024-05-02T08:00:00Z")
        .await;
    let active = fixture.add_buyer("active", BuyerMode::Production).await;
    fixture
        .receive(active, "PO-A", "2024-05-09T08:00:00Z")
        .await;
    fixture.add_buyer("never", BuyerMode::Production).await;
    let tester = fixture.add_buyer("tester", BuyerMode::Test).await;
    fixture
        .receive(tester, "PO-T", "2024-04-01T08:00:00Z")
        .await;

    let first = fixture.check().await;
    let again = fixture.check().await;
    fixture
        .receive(fixture.buyer, "PO-3", "2024-05-10T06:00:00Z")
        .await;
    fixture.clock.advance(Duration::days(3));
    let ordered_again = fixture.check().await;

    assert_eq!(first.alerts, 1);
    assert_eq!(first.queued, 2);
    assert_eq!(again.queued, 0);
    assert_eq!(ordered_again.alerts, 0);
    let mail = fixture.mail(BUYER_SILENT_MAIL).await;
    assert_eq!(mail[0].subject, "No orders from coupa for 7 days");
    assert!(mail[0].body.contains("PO-2"), "{}", mail[0].body);
    assert!(
        mail[0].body.contains("2024-05-02 08:00 UTC"),
        "{}",
        mail[0].body
    );
}

async fn zero_thresholds_turn_alerts_off(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    let po = fixture
        .receive(fixture.buyer, "PO-1", "2024-04-01T08:00:00Z")
        .await;
    fixture
        .set_status(
            po,
            PoStatus::AwaitingCustomer,
            "no customer",
            "2024-04-01T09:00:00Z",
        )
        .await;

    let summary = fixture.check().await;

    assert_eq!(summary, AlertSummary::default());
}

async fn worker_runs_the_check_and_queues_the_next(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    fixture
        .connect(ConnectionStatus::NeedsReauthorization)
        .await;
    fixture
        .engine
        .schedule_alert_check(fixture.account)
        .await
        .unwrap();
    let worker = Worker::new(fixture.engine.clone(), "test-worker");

    let ran = worker.run_once().await;
    let ran_before_due = worker.run_once().await;

    assert_eq!(ran, 1);
    assert_eq!(ran_before_due, 0);
    let jobs = fixture
        .engine
        .store
        .list_jobs(fixture.account)
        .await
        .unwrap();
    let checks: Vec<_> = jobs.iter().filter(|job| job.kind == CHECK_ALERTS).collect();
    assert_eq!(checks.len(), 1, "{jobs:?}");
    assert_eq!(checks[0].status, JobStatus::Queued);
    assert_eq!(checks[0].run_at, utc(NOW) + Duration::minutes(15));
    assert_eq!(fixture.mail(AUTHORIZATION_LOST_MAIL).await.len(), 2);
}

async fn concurrent_checks_queue_each_message_once(backend: Backend) {
    let fixture = Fixture::new(alerts_off(), backend).await.with_users().await;
    fixture
        .connect(ConnectionStatus::NeedsReauthorization)
        .await;
    let other = fixture.engine.clone();

    let (first, second) = tokio::join!(
        fixture.engine.check_alerts(fixture.account),
        other.check_alerts(fixture.account)
    );

    let queued = first.unwrap().queued + second.unwrap().queued;
    assert_eq!(queued, 2);
    assert_eq!(fixture.mail(AUTHORIZATION_LOST_MAIL).await.len(), 2);
}
