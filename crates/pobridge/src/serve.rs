//! `pobridge serve`: the HTTP server, the job worker and, when wanted, the
//! Brightpearl sandbox, in one process.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Extension;
use pobridge_core::throttle::TrustForwardedFor;
use pobridge_engine::worker::Worker;
use pobridge_portal::PortalState;
use pobridge_sandbox::Sandbox;
use pobridge_web::AppState;
use rustix::fs::FlockOperation;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::commands;
use crate::config::Config;
use crate::sandbox_link;

/// Serves until SIGINT or SIGTERM, then stops accepting requests and lets
/// the worker finish the jobs it is running.
pub async fn run(mut config: Config, sandbox_flag: bool) -> anyhow::Result<()> {
    // Checked before anything starts, so a password that cannot be
    // decrypted, or a From address that cannot be read, stops `serve`
    // instead of failing every delivery.
    let smtp = config.smtp_settings()?;
    if let Some(smtp) = &smtp {
        pobridge_portal::mail::check_smtp(smtp)?;
    }
    if config.smtp_password_in_plain_text() {
        tracing::warn!(
            "smtp.password is in plain text; encrypt it with `pobridge secret encrypt` \
             (which needs secrets_key) and set the printed enc:v1: value instead"
        );
    }
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "could not listen on {}; choose another address with --listen",
            config.listen
        )
    })?;
    let local = listener
        .local_addr()
        .context("could not read the bound address")?;
    // The bound address, so that URLs built from it carry the real port when
    // the configured one was 0.
    config.listen = local;
    let sandbox_base = config
        .runs_sandbox(sandbox_flag)
        .then(|| format!("{}/sandbox", Config::loopback_base_url(local)));
    let _only_server = lock_sqlite_database(&config.database_url)?;
    // Installed before the engine exists, so no job or request goes uncounted.
    let metrics = pobridge_web::metrics::install_recorder();
    let engine = commands::engine(&config, sandbox_base.as_deref()).await?;
    let (private_addresses, rule) = config.coupa_private_addresses(sandbox_base.is_some());
    tracing::info!(
        allowed = private_addresses == pobridge_engine::PrivateAddresses::Allow,
        "invoice posts to loopback, private and link-local addresses are {rule}"
    );
    let window_seconds = config.brightpearl.window_seconds;
    if window_seconds != crate::config::BRIGHTPEARL_WINDOW_SECONDS {
        tracing::warn!(
            window_seconds,
            "brightpearl.window_seconds is set for tests: each account may get \
             requests_per_minute Brightpearl requests every {window_seconds} s instead of \
             every 60 s, which Brightpearl answers with 503; remove the setting outside tests"
        );
    }
    if !config.secret_box()?.has_key() {
        tracing::warn!(
            "secrets_key is not set, so Brightpearl tokens and invoicing shared secrets are \
             stored unencrypted; set secrets_key or POBRIDGE_SECRETS_KEY to encrypt them"
        );
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tasks.spawn(pobridge_web::metrics::run_upkeep(
        metrics.clone(),
        shutdown_rx.clone(),
    ));
    let portal = PortalState::new(
        engine.clone(),
        config.portal_config(config.public_base_url()),
    );
    let mut app = pobridge_web::router_with(
        AppState {
            engine: engine.clone(),
        },
        pobridge_portal::router(portal),
    );
    if config.portal.trust_forwarded_for {
        app = app.layer(Extension(TrustForwardedFor));
    }
    tasks.spawn(pobridge_portal::mail::run_delivery(
        engine.clone(),
        smtp,
        shutdown_rx.clone(),
    ));
    if let Some(base) = &sandbox_base {
        let sandbox_config = config.sandbox_config(base, engine.clients.config());
        let sandbox = Sandbox::new(sandbox_config, engine.clock.clone());
        app = app.nest("/sandbox", sandbox.router());
        // A buyer's Coupa to send invoices to while trying pobridge out.
        let coupa = pobridge_sandbox::CoupaSandbox::new(engine.clock.clone());
        app = app.nest("/sandbox-coupa", coupa.router());
        let connected = sandbox_link::connect_accounts(&engine, &sandbox, true).await?;
        tracing::info!(accounts = connected, api_base = %base, "accounts connected to the Brightpearl sandbox");
        tasks.spawn(sandbox_link::keep_connecting(
            engine.clone(),
            sandbox,
            shutdown_rx.clone(),
        ));
    }
    let scheduled = engine
        .schedule_connected_accounts()
        .await
        .context("could not queue the invoice polls")?;
    tracing::info!(accounts = scheduled, "invoice polls and sweeps queued");
    let checked = engine
        .schedule_alert_checks()
        .await
        .context("could not queue the alert checks")?;
    tracing::info!(accounts = checked, "alert checks queued");
    let retained = engine
        .schedule_retention()
        .await
        .context("could not queue the retention jobs")?;
    tracing::info!(
        accounts = retained,
        raw_document_days = config.retention.raw_document_days,
        "retention jobs queued"
    );
    if config.worker.job_batch == 0 {
        tracing::warn!(
            "worker.job_batch is 0, so this process runs no jobs: orders it receives are synced \
             only by other processes on the same database"
        );
    }
    let worker = Worker::new(engine.clone(), format!("pobridge-{}", std::process::id()));
    tasks.spawn(worker.run(shutdown_rx));

    tracing::info!(listen = %local, sandbox = sandbox_base.is_some(), "pobridge is serving");
    if sandbox_base.is_some() {
        tracing::warn!(
            listen = %local,
            "running with the sandbox Brightpearl and Coupa, whose test controls have no login; \
             keep this address unreachable from other machines, and set brightpearl.app_ref \
             before real buyers send orders"
        );
    }
    // Printed after binding, so a supervisor or test that reads it learns the
    // port (also when --listen requested port 0) and that requests are accepted.
    // A closed standard output (a supervisor that stopped reading) must not
    // stop the server, so a failed write is logged instead of panicking.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(error) =
            writeln!(out, "pobridge listening on http://{local}").and_then(|()| out.flush())
        {
            tracing::warn!(%error, "could not print the listening address to standard output");
        }
    }
    // The peer address is what login throttling counts failures by.
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;

    tracing::info!("stopped accepting requests; waiting for running jobs to finish");
    // Sending fails only when every receiver is gone, which means every
    // task has already stopped.
    let _ = shutdown_tx.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!("pobridge stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
/// Takes an exclusive lock on the SQLite database file for as long as the
/// returned file stays open, or fails when another `serve` holds it.
///
/// SQLite serves one process. A second `serve` on the same file would run
/// a second worker and, in sandbox mode, point every account's Brightpearl
/// connection at its own sandbox, which ends with it. `flock` locks are
/// apart from the record locks SQLite takes, and the kernel drops this one
/// when the process ends, however it ends. Commands other than `serve` do
/// not hold it, so they keep working beside a running server.
fn lock_sqlite_database(database_url: &str) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = sqlite_file(database_url) else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("could not open the SQLite database {}", path.display()))?;
    // A command checking for a server takes a shared lock for a moment, so
    // `serve` tries a few times before it fails.
    for _ in 0..LOCK_TRIES {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Some(file)),
            Err(rustix::io::Errno::WOULDBLOCK) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("could not lock the SQLite database {}", path.display())
                })
            }
        }
    }
    anyhow::bail!(
        "another `pobridge serve` is running on the SQLite database {}; stop it first \
         (SQLite allows one server; several need a shared PostgreSQL database)",
        path.display()
    )
}

/// How many times `serve` tries the database lock, 50 ms apart.
const LOCK_TRIES: usize = 10;

/// Returns whether a `serve` holds the lock on the SQLite database that
/// `database_url` names, or `None` when that is unknown: for
/// PostgreSQL, where any number of servers may run, or when the file
/// cannot be opened.
pub fn sqlite_server_running(database_url: &str) -> Option<bool> {
    let path = sqlite_file(database_url)?;
    let file = std::fs::File::open(path).ok()?;
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockShared) {
        // Closing the file releases the lock.
        Ok(()) => Some(false),
        Err(rustix::io::Errno::WOULDBLOCK) => Some(true),
        Err(_) => None,
    }
}

fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    if !database_url.starts_with("sqlite:") {
        return None;
    }
    pobridge_store::sqlite::database_file(database_url)
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "could not listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
