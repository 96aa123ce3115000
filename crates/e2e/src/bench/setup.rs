//! The pobridge set-up the order benchmarks share.

use anyhow::{ensure, Result};

use crate::corpus::with_identity;
use crate::{add_corpus_buyers, configure_defaults, map_corpus_parts, Options, TestApp};

/// Starts pobridge with `options`, ready to sync the corpus orders: the
/// defaults chosen, every corpus part mapped, the corpus buyers added in
/// test mode, and one order of each corpus document already synced. Returns
/// the app and the documents ready to post.
///
/// The first orders are synced one at a time because two corpus buyers
/// share a BillTo company: first orders that sync concurrently would each
/// create a contact, and later orders would wait for a person to choose.
pub async fn corpus_app(options: Options) -> Result<(TestApp, Vec<Vec<u8>>)> {
    let mut app = TestApp::start_with(options).await?;
    configure_defaults(&mut app).await?;
    map_corpus_parts(&app).await?;
    let documents: Vec<Vec<u8>> = add_corpus_buyers(&app, true)
        .await?
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    for (index, document) in documents.iter().enumerate() {
        let body = with_identity(
            document,
            &format!("warm-up-{index}@pobridge.bench"),
            &format!("WARM-UP-{index}"),
        );
        let (status, answer) = app.post_cxml(body).await?;
        ensure!(
            status == 200,
            "warm-up order {index}: HTTP {status}: {answer}"
        );
        app.drain(100).await;
    }
    Ok((app, documents))
}

/// Posts `count` orders through the app's own order endpoint, so their
/// sync jobs wait in the queue, 16 at a time.
pub async fn post_backlog(
    app: &TestApp,
    documents: &[Vec<u8>],
    count: usize,
    prefix: &str,
) -> Result<()> {
    let url = format!("{}/cxml/{}", app.base_url, crate::ACCOUNT);
    for start in (0..count).step_by(16) {
        let mut batch = tokio::task::JoinSet::new();
        for index in start..(start + 16).min(count) {
            let body = with_identity(
                &documents[index % documents.len()],
                &format!("{prefix}-{index}@pobridge.bench"),
                &format!("{}-{index}", prefix.to_uppercase()),
            );
            let request = app
                .http
                .post(&url)
                .header("content-type", "text/xml; charset=UTF-8")
                .body(body);
            batch.spawn(async move { request.send().await.map(|response| response.status()) });
        }
        while let Some(joined) = batch.join_next().await {
            let status = joined??;
            ensure!(status.as_u16() == 200, "a backlog order got HTTP {status}");
        }
    }
    Ok(())
}

/// Returns how many of the account's purchase orders are synced.
pub async fn synced_orders(app: &TestApp) -> Result<usize> {
    let filter = pobridge_store::PoFilter {
        status: Some(pobridge_store::PoStatus::Synced),
        ..Default::default()
    };
    Ok(app
        .store()
        .list_purchase_orders(app.account.id, &filter)
        .await?
        .len())
}
