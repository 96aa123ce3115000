//! A sandbox Brightpearl with a tiny request budget still syncs every
//! corpus order exactly once. Both readings of its window are tested: the
//! calendar minute its headers show and the rolling minute its help page
//! describes, each shrunk to one second here.

use std::time::Duration;

use pobridge_e2e::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};
use pobridge_sandbox::{SandboxConfig, WindowModel};
use pobridge_store::{PoFilter, PoStatus};

async fn sync_corpus_under(window_model: WindowModel) {
    let sandbox = SandboxConfig {
        requests_per_window: 12,
        window: Duration::from_secs(1),
        window_model,
        ..SandboxConfig::default()
    };
    let mut app = TestApp::start_with(Options {
        sandbox,
        ..Options::default()
    })
    .await
    .expect("pobridge starts");
    configure_defaults(&mut app).await.unwrap();
    map_corpus_parts(&app).await.unwrap();
    let documents = add_corpus_buyers(&app, true).await.unwrap();
    for (name, body) in &documents {
        let (status, answer) = app.post_cxml(body.clone()).await.unwrap();
        assert_eq!(status, 200, "{name}: {answer}");
    }
    app.drain(100).await;

    // Under the calendar model the client reads the remaining budget from the
    // headers and waits before it is rejected, so a 503 may never come. The
    // check is that the work needed several windows and still synced.
    let requests = app.sandbox.request_log(&app.brightpearl_code).len();
    assert!(
        requests > 2 * 12,
        "the work needed several windows ({requests} requests, {window_model:?})"
    );
    let orders = app
        .store()
        .list_purchase_orders(app.account.id, &PoFilter::default())
        .await
        .unwrap();
    for po in &orders {
        assert_eq!(
            po.status,
            PoStatus::Synced,
            "PO {} under {window_model:?}: {:?}",
            po.number,
            po.reason
        );
    }
    assert_eq!(
        app.sandbox.sales_orders(&app.brightpearl_code).len(),
        orders.len(),
        "one sales order per PO under {window_model:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calendar_window_still_syncs_once() {
    sync_corpus_under(WindowModel::CalendarMinute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_rolling_window_still_syncs_once() {
    sync_corpus_under(WindowModel::Rolling).await;
}
