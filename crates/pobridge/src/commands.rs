//! The administrative commands: each runs one engine action and prints its
//! result as a table, or as JSON with `--json`.

mod audit;
mod buyers;
mod export;
mod invoices;
mod mail;
mod orders;
mod rows;
pub mod secret;
mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use pobridge_core::{Clock, SystemClock};
use pobridge_engine::admin::{self, ItemStatus, MapItem};
use pobridge_engine::{ClientPool, Engine};

use crate::cli::{
    AccountCommand, Command, InvoicesAction, ItemsAction, ItemsArgs, MapArgs, OrdersAction,
    ProductsArgs, RefreshArgs, SettingsAction, SettingsArgs, UserCommand,
};
use crate::config::Config;
use crate::output::{
    line, or_blank, print_json, print_pairs, print_queued_job, print_table, released_text,
    QueuedJob,
};

/// Fails unless the SQLite file that `database_url` names exists, so that a
/// command run in the wrong directory reports it instead of creating an
/// empty database there. In-memory and non-SQLite URLs pass unchecked.
pub fn ensure_database_exists(database_url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_file(database_url) else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let shown = std::path::absolute(&path).unwrap_or(path);
    anyhow::bail!(
        "no pobridge database at {}; run the command where `pobridge serve` runs, or pass --database",
        shown.display()
    )
}

/// Returns the file that a `sqlite://PATH` or `sqlite:PATH` URL names. As
/// sqlx does, it cuts off the query and percent-decodes the path.
fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = query.split('&').any(|pair| pair == "mode=memory");
    if path.is_empty() || path == ":memory:" || in_memory {
        return None;
    }
    Some(Path::new(&percent_decode(path)).to_path_buf())
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Opens the store and builds an engine on it. With `sandbox_base`, the
/// Brightpearl client's OAuth URLs point at the sandbox served there, and
/// invoices may go to private addresses unless the configuration rejects them.
pub async fn engine(config: &Config, sandbox_base: Option<&str>) -> anyhow::Result<Engine> {
    let secrets = config.secret_box()?;
    let store = pobridge_store::open_with_secrets(&config.database_url, secrets)
        .await
        .with_context(|| {
            format!(
                "could not open the database {}; check --database or database_url",
                pobridge_core::hide_url_password(&config.database_url)
            )
        })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let http = reqwest::Client::builder()
        .user_agent(concat!("pobridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("could not build the HTTP client")?;
    let clients = ClientPool::new(
        http,
        config.client_config(sandbox_base),
        store.clone(),
        clock.clone(),
    );
    let engine_config = config.engine_config(sandbox_base.is_some());
    Ok(Engine::new(store, clock, clients, engine_config))
}

/// Runs one administrative command.
pub async fn run(engine: &Engine, config: &Config, command: Command) -> anyhow::Result<()> {
    let queues_work = queues_work(&command);
    run_command(engine, config, command).await?;
    if queues_work && crate::serve::sqlite_server_running(&config.database_url) == Some(false) {
        eprintln!(
            "warning: no `pobridge serve` is running on this database, so no queued work \
             runs until one starts"
        );
    }
    Ok(())
}

/// Returns whether `command` queues work for the server's worker.
fn queues_work(command: &Command) -> bool {
    match command {
        Command::Refresh(args) => args.queue,
        Command::Orders(args) => {
            matches!(&args.action, Some(OrdersAction::Resync(resync)) if !resync.dry_run)
        }
        Command::Invoices(args) => matches!(
            args.action,
            Some(InvoicesAction::Retry(_) | InvoicesAction::Poll)
        ),
        _ => false,
    }
}

async fn run_command(engine: &Engine, config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Account(AccountCommand::Add { slug, email }) => {
            users::account_add(engine, config, &slug, &email).await
        }
        Command::User(UserCommand::Add { slug, email }) => {
            users::user_add(engine, config, &slug, &email).await
        }
        Command::Account(AccountCommand::List { json }) => users::account_list(engine, json).await,
        Command::User(UserCommand::List { slug, json }) => {
            users::user_list(engine, &slug, json).await
        }
        Command::Mail(command) => mail::run(engine, command).await,
        Command::Buyer(command) => buyers::run(engine, config, command).await,
        Command::Settings(args) => settings(engine, args).await,
        Command::Refresh(args) => refresh(engine, args).await,
        Command::Orders(args) => orders::run(engine, args).await,
        Command::Items(args) => items(engine, args).await,
        Command::Products(args) => products(engine, args).await,
        Command::Rows(args) => rows::run(engine, args).await,
        Command::Invoices(args) => invoices::run(engine, args).await,
        Command::Export(args) => export::run(engine, args).await,
        Command::Serve(_) | Command::Config(_) | Command::Secret(_) => {
            anyhow::bail!("serve, config and secret are not administrative commands")
        }
    }
}

async fn settings(engine: &Engine, args: SettingsArgs) -> anyhow::Result<()> {
    match args.action {
        SettingsAction::Show { json } => {
            let settings = admin::show_settings(engine, &args.slug).await?;
            if json {
                return print_json(&settings);
            }
            print_pairs(&admin::settings_entries(&settings))?;
        }
        SettingsAction::Set { key, value } => {
            let settings = admin::set_setting(engine, &args.slug, &key, &value).await?;
            let stored = admin::settings_entries(&settings)
                .into_iter()
                .find(|(name, _)| *name == key)
                .map_or_else(|| "none".to_owned(), |(_, value)| value);
            audit::record(
                engine,
                &args.slug,
                "settings.update",
                format!("{key} = {stored}"),
            )
            .await;
            line(format_args!(
                "Set {key} = {stored} for account {}.",
                args.slug
            ))?;
        }
    }
    Ok(())
}

async fn refresh(engine: &Engine, args: RefreshArgs) -> anyhow::Result<()> {
    if args.queue {
        let job = admin::queue_refresh(engine, &args.slug).await?;
        let detail = format!("queued a pull of Brightpearl reference data (job {job})");
        audit::record(engine, &args.slug, "brightpearl.refresh", detail).await;
        let queued = QueuedJob {
            account: &args.slug,
            job: job.0,
            kind: pobridge_engine::worker::REFRESH_REFERENCE,
        };
        let sentence = format!(
            "Queued reference refresh job {job} for account {}; a running server's worker runs it.",
            args.slug
        );
        return print_queued_job(&queued, args.json, &sentence);
    }

    let refreshed = admin::refresh_now(engine, &args.slug).await?;
    let detail = "pulled Brightpearl reference data".to_owned();
    audit::record(engine, &args.slug, "brightpearl.refresh", detail).await;

    if args.json {
        return print_json(&refreshed);
    }
    line(format_args!(
        "Refreshed Brightpearl reference data of account {}:",
        args.slug
    ))?;
    let pairs = serde_json::to_value(&refreshed)?
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.replace('_', " "), value.to_string()))
        .collect::<Vec<_>>();
    print_pairs(&pairs)?;
    Ok(())
}

async fn items(engine: &Engine, args: ItemsArgs) -> anyhow::Result<()> {
    if let Some(ItemsAction::Map(map)) = args.action {
        return map_item(engine, map).await;
    }
    // clap requires the slug when no subcommand is given.
    let slug = args.slug.unwrap_or_default();

    let items = admin::list_items(engine, &slug, args.unmapped).await?;

    if args.json {
        return print_json(&items);
    }
    let rows = items
        .into_iter()
        .map(|item| {
            let (status, product) = status_cells(&item.status);
            vec![
                item.buyer,
                item.part_id,
                item.unit_of_measure,
                status,
                product,
                item.description,
            ]
        })
        .collect();
    let header = ["buyer", "part", "UOM", "status", "product", "description"];
    let empty = if args.unmapped {
        "No unmapped items"
    } else {
        "No items seen yet"
    };
    print_table(&header, rows, &format!("{empty} in account {slug}."))?;
    Ok(())
}

/// Formats the status and product columns of an item row.
fn status_cells(status: &ItemStatus) -> (String, String) {
    let product = |id: i64, sku: &Option<String>| match sku {
        Some(sku) => format!("{id} ({sku})"),
        None => id.to_string(),
    };
    match status {
        ItemStatus::MappedByHand { product_id, sku } => {
            ("mapped by hand".to_owned(), product(*product_id, sku))
        }
        ItemStatus::MappedByUniqueId { product_id, sku } => {
            ("mapped by unique ID".to_owned(), product(*product_id, sku))
        }
        ItemStatus::Unmapped { detail } => (format!("unmapped: {detail}"), String::new()),
    }
}

async fn map_item(engine: &Engine, args: MapArgs) -> anyhow::Result<()> {
    let request = MapItem {
        coupa_part_id: args.coupa,
        unit_of_measure: args.uom,
        buyer: args.buyer,
        brightpearl: args.brightpearl,
        quantity_factor: args.factor,
    };

    let mapped = admin::map_item(engine, &args.slug, &request).await?;
    let unit = mapped.unit_of_measure.as_deref().unwrap_or("every unit");
    let buyer = mapped.buyer.as_deref().unwrap_or("every buyer");
    let units = if mapped.quantity_factor == 1.into() {
        "unit"
    } else {
        "units"
    };
    let summary = format!(
        "Mapped Coupa part {} ({unit}, {buyer}) to Brightpearl product {} ({}), {} Brightpearl {units} per Coupa unit.",
        mapped.coupa_part_id,
        mapped.product_id,
        mapped.sku.as_deref().unwrap_or("no SKU"),
        mapped.quantity_factor
    );
    let detail = format!("{summary} {}", released_text(mapped.released_jobs));
    audit::record(engine, &args.slug, "item_mapping.set", detail).await;

    if args.json {
        return print_json(&mapped);
    }
    line(&summary)?;
    line(released_text(mapped.released_jobs))?;
    Ok(())
}

async fn products(engine: &Engine, args: ProductsArgs) -> anyhow::Result<()> {
    let products = admin::list_products(engine, &args.slug, args.limit, args.offset).await?;

    if args.json {
        return print_json(&products);
    }
    let rows = products
        .into_iter()
        .map(|product| {
            vec![
                product.product_id.to_string(),
                or_blank(product.sku),
                product.name,
                if product.stock_tracked { "yes" } else { "no" }.to_owned(),
                or_blank(product.tax_code),
            ]
        })
        .collect();
    let header = ["id", "SKU", "name", "stock tracked", "tax code"];
    let empty = if args.offset > 0 {
        format!(
            "No products after the first {} in the local index of account {}.",
            args.offset, args.slug
        )
    } else {
        format!(
            "No products in the local index of account {}; run `pobridge refresh {}` once Brightpearl is connected.",
            args.slug, args.slug
        )
    };
    print_table(&header, rows, &empty)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_names_its_file() {
        let cases = [
            ("sqlite://pobridge.db", Some("pobridge.db")),
            (
                "sqlite:/var/lib/pobridge.db?mode=rwc",
                Some("/var/lib/pobridge.db"),
            ),
            ("sqlite://my%20orders.db", Some("my orders.db")),
            ("sqlite://100%.db", Some("100%.db")),
            ("sqlite::memory:", None),
            ("sqlite://?mode=memory", None),
            ("sqlite://shared.db?mode=memory&cache=shared", None),
            ("postgres://localhost/pobridge", None),
        ];

        for (url, expected) in cases {
            assert_eq!(sqlite_file(url), expected.map(PathBuf::from), "{url}");
        }
    }

    #[test]
    fn missing_database_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");

        let error = ensure_database_exists(&format!("sqlite://{}", path.display()))
            .unwrap_err()
            .to_string();

        assert!(
            error.starts_with(&format!("no pobridge database at {}", path.display())),
            "{error}"
        );
        assert!(error.contains("--database"), "{error}");
    }
}
