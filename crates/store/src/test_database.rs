//! Throwaway PostgreSQL databases for the tests of other crates, so that
//! engine and end-to-end tests can run on PostgreSQL as well as SQLite.
//!
//! Each test creates its own database, with a random name, on the server
//! that `PGTEST_DATABASE_URL` names, and the database is dropped when the
//! [`TestDatabase`] handle is, also when the test panics.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

/// The environment variable that names the PostgreSQL server, such as
/// `postgres://postgres@127.0.0.1:5432/postgres`. Its user must be allowed
/// to create databases.
pub const SERVER_URL_VARIABLE: &str = "PGTEST_DATABASE_URL";

/// Returns the server URL from `PGTEST_DATABASE_URL`, or prints that the
/// PostgreSQL run of `test` is skipped and returns `None` when it is unset.
pub fn server_url_or_skip(test: &str) -> Option<String> {
    match std::env::var(SERVER_URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped {test} on PostgreSQL: {SERVER_URL_VARIABLE} is not set. Set it to a \
                 PostgreSQL 15 or later server whose user may create databases, such as \
                 postgres://postgres@127.0.0.1:5432/postgres, to run it."
            );
            None
        }
    }
}

/// A database that exists for one test and is dropped with this handle.
#[derive(Debug)]
pub struct TestDatabase {
    server: PgConnectOptions,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database on the server at `server_url`.
    ///
    /// Panics with what to do when the server cannot be reached or the
    /// database cannot be created, because a test cannot go on without it.
    pub async fn create(server_url: &str) -> Self {
        let server = PgConnectOptions::from_str(server_url).unwrap_or_else(|error| {
            panic!("{SERVER_URL_VARIABLE} {server_url:?} is not a PostgreSQL URL: {error}")
        });
        let name = format!("pobridge_test_{:032x}", rand::random::<u128>());
        // template0 and UTF8, so the test does not depend on the server's defaults.
        let create = format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'");
        let mut admin = connect(&server).await;
        if let Err(error) = sqlx::query(&create).execute(&mut admin).await {
            panic!("cannot create the test database {name}: {error}");
        }
        let _ = admin.close().await;

        let url = server.clone().database(&name).to_url_lossy().to_string();
        Self { server, name, url }
    }

    /// Returns the URL of this database, for `pobridge_store::open`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    /// Drops the database, ending the connections the test's pools still
    /// hold. It runs on its own thread and runtime because `Drop` cannot
    /// await, and the test's runtime may be shutting down.
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(drop_database(&server, &name))
        })
        .join();
        // A panic here while the test unwinds would abort the whole test
        // binary, so a failed drop is only reported.
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("cannot drop the test database {}: {error}", self.name),
            Err(_) => eprintln!("dropping the test database {} panicked", self.name),
        }
    }
}

async fn drop_database(server: &PgConnectOptions, name: &str) -> Result<(), String> {
    let mut admin = PgConnection::connect_with(server)
        .await
        .map_err(|error| error.to_string())?;
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(&drop)
        .execute(&mut admin)
        .await
        .map_err(|error| error.to_string())?;
    let _ = admin.close().await;
    Ok(())
}

async fn connect(server: &PgConnectOptions) -> PgConnection {
    match PgConnection::connect_with(server).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "cannot connect to PostgreSQL as {:?} at {}:{}: {error}. These tests need a \
             PostgreSQL 15 or later server whose user may create databases: .ci/run installs \
             and starts one on 127.0.0.1:5432, or set {SERVER_URL_VARIABLE} to another server.",
            server.get_username(),
            server.get_host(),
            server.get_port()
        ),
    }
}
