//! Real `pobridge serve` processes on one PostgreSQL database, against a
//! sandbox Brightpearl hosted in the test process so that it outlives them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use pobridge_engine::admin::{self, GrantedTokens};
use pobridge_sandbox::Sandbox;
use serde_json::json;

use super::seed::Seed;

/// One running `pobridge serve`.
pub struct Server {
    pub child: Child,
    pub base_url: String,
}

/// Starts `pobridge serve` on a free port with the database at
/// `database_url`, the Brightpearl app pointed at the sandbox at
/// `sandbox_url`, and the extra `POBRIDGE_` variables in `env`. Its log is
/// appended to `log`. Returns once the server listens.
pub fn start_server(
    database_url: &str,
    sandbox_url: &str,
    directory: &Path,
    log: &Path,
    env: &[(&str, String)],
) -> Server {
    let log_file = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_pobridge"));
    for (name, _) in std::env::vars() {
        if name.starts_with("POBRIDGE_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .current_dir(directory)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("POBRIDGE_DATABASE_URL", database_url)
        .env("POBRIDGE_BRIGHTPEARL__APP_REF", "pobridge")
        .env(
            "POBRIDGE_BRIGHTPEARL__TOKEN_URL_TEMPLATE",
            format!("{sandbox_url}/token/{{account}}"),
        )
        .env(
            "POBRIDGE_BRIGHTPEARL__AUTHORIZE_URL_TEMPLATE",
            format!("{sandbox_url}/authorize/{{account}}"),
        )
        .env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .expect("pobridge starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let Some(base_url) = line.trim().strip_prefix("pobridge listening on ") else {
        panic!(
            "the server printed {line:?} instead of its address; log:\n{}",
            log_tail(log)
        );
    };
    Server {
        child,
        base_url: base_url.to_owned(),
    }
}

/// Returns the last 40 lines of a log file.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The running servers, which a test may replace and which are killed
/// when it ends, also when it panics.
pub struct Servers {
    pub running: Mutex<Vec<Server>>,
}

impl Servers {
    pub fn base_url(&self, slot: usize) -> String {
        self.running.lock().unwrap()[slot].base_url.clone()
    }

    pub fn kill(&self, slot: usize) {
        let mut running = self.running.lock().unwrap();
        running[slot].child.kill().expect("SIGKILL is sent");
        running[slot].child.wait().unwrap();
    }

    pub fn replace(&self, slot: usize, server: Server) {
        self.running.lock().unwrap()[slot] = server;
    }

    pub fn stop_all(&self) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for server in running.iter_mut() {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }
}

impl Drop for Servers {
    /// Kills the servers when the test ends early, so none outlives it.
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Connects `acme` to the sandbox account `code` with the defaults an
/// order needs. The buyer's company exists in Brightpearl already.
/// Otherwise two servers could create a contact for it at the same moment,
/// a known limitation that parks later orders between two matching
/// contacts.
pub async fn connect_sandbox(seed: &Seed, sandbox: &Sandbox, code: &str) {
    let contact = json!({
        "lastName": "Buyer Example Corp",
        "organisation": { "name": "Buyer Example Corp" },
        "communication": { "emails": { "PRI": { "email": "ap@buyer.example" } } },
        "relationshipToAccount": { "isSupplier": false, "isStaff": false },
    });
    sandbox.add_contact(code, contact).unwrap();

    let grant = sandbox.connect(code);
    let tokens = GrantedTokens {
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_in: grant.expires_in,
        installation_instance_id: grant.installation_instance_id,
        api_domain: grant.api_domain,
    };
    admin::connect_sandbox(&seed.engine, &seed.account, &tokens)
        .await
        .unwrap();
    seed.engine
        .refresh_reference(seed.account.id)
        .await
        .unwrap();
    for (key, value) in [
        ("channel_id", "1"),
        ("warehouse_id", "2"),
        ("default_tax_code", "T20"),
        ("shipping", "omit"),
    ] {
        admin::set_setting(&seed.engine, "acme", key, value)
            .await
            .unwrap();
    }
}
