//! The administrative commands: each runs one engine action and prints its
//! result as a table, or as JSON with `--json`.

use std::sync::Arc;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pobridge_core::{Clock, SystemClock};
use pobridge_engine::admin::{self, AddBuyer, BuyerAuth, BuyerView, ItemStatus, MapItem};
use pobridge_engine::{ClientPool, Engine};
use rand::RngCore;
use serde::Serialize;

use crate::cli::{
    AccountCommand, BuyerAddArgs, BuyerCommand, Command, ItemsAction, ItemsArgs, MapArgs,
    OrdersArgs, ProductsArgs, RefreshArgs, SettingsAction, SettingsArgs,
};
use crate::config::Config;
use crate::output::{or_blank, print_json, print_pairs, print_table};

/// Opens the store and builds an engine on it. With `sandbox_base`, the
/// Brightpearl client's OAuth URLs point at the sandbox served there.
pub async fn engine(config: &Config, sandbox_base: Option<&str>) -> anyhow::Result<Engine> {
    let store = pobridge_store::open(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "could not open the database {}; check --database or database_url",
                config.database_url
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
    Ok(Engine::new(store, clock, clients, config.engine_config()))
}

/// Runs one administrative command.
pub async fn run(engine: &Engine, config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Account(AccountCommand::Add { slug, email }) => {
            account_add(engine, &slug, &email).await
        }
        Command::Buyer(BuyerCommand::Add(args)) => buyer_add(engine, config, args).await,
        Command::Buyer(BuyerCommand::List { slug, json }) => {
            buyer_list(engine, config, &slug, json).await
        }
        Command::Settings(args) => settings(engine, args).await,
        Command::Refresh(args) => refresh(engine, args).await,
        Command::Orders(args) => orders(engine, args).await,
        Command::Items(args) => items(engine, args).await,
        Command::Products(args) => products(engine, args).await,
        Command::Serve(_) | Command::Config(_) => {
            anyhow::bail!("serve and config are not administrative commands")
        }
    }
}

async fn account_add(engine: &Engine, slug: &str, email: &str) -> anyhow::Result<()> {
    let account = admin::create_account(engine, slug, email).await?;

    println!("Created account {} ({}).", account.slug, account.email);
    println!(
        "Next: pobridge buyer add {} --from DOMAIN:ID --to DOMAIN:ID --sender DOMAIN:ID --secret SECRET",
        account.slug
    );
    Ok(())
}

/// A buyer with its full order URL, for printing.
#[derive(Serialize)]
struct BuyerOutput<'a> {
    #[serde(flatten)]
    buyer: &'a BuyerView,
    order_url: String,
}

async fn buyer_add(engine: &Engine, config: &Config, args: BuyerAddArgs) -> anyhow::Result<()> {
    let auth = match args.secret {
        Some(secret) => BuyerAuth::SharedSecret(secret),
        None => BuyerAuth::UrlToken(new_url_token()),
    };
    let request = AddBuyer {
        from: args.from,
        to: args.to,
        sender: args.sender,
        auth,
        mode: args.mode,
        invoice_url: args.invoice_url,
        name: args.name,
    };

    let buyer = admin::add_buyer(engine, &args.slug, &request).await?;

    let order_url = format!("{}{}", config.public_base_url(), buyer.order_path);
    if args.json {
        return print_json(&BuyerOutput {
            buyer: &buyer,
            order_url,
        });
    }
    println!("Added buyer {} to account {}.", buyer.name, args.slug);
    print_pairs(&buyer_pairs(&buyer, &order_url));
    if buyer.shared_secret.is_none() {
        println!();
        println!("This buyer has no shared secret: the order URL is its credential.");
        println!("Enter it in Coupa as the supplier's cXML URL and keep it private.");
    }
    Ok(())
}

/// Generates the token of a per-buyer order URL: 32 bytes from the
/// operating system's random source, base64url-encoded without padding.
fn new_url_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn buyer_pairs(buyer: &BuyerView, order_url: &str) -> Vec<(String, String)> {
    [
        ("name", buyer.name.clone()),
        ("from", buyer.from.clone()),
        ("to", buyer.to.clone()),
        ("sender", buyer.sender.clone()),
        (
            "shared secret",
            buyer
                .shared_secret
                .clone()
                .unwrap_or_else(|| "none".to_owned()),
        ),
        ("mode", mode_name(buyer.mode).to_owned()),
        (
            "invoice URL",
            buyer
                .invoice_url
                .clone()
                .unwrap_or_else(|| "none".to_owned()),
        ),
        ("order URL", order_url.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

fn mode_name(mode: pobridge_store::BuyerMode) -> &'static str {
    match mode {
        pobridge_store::BuyerMode::Test => "test",
        pobridge_store::BuyerMode::Production => "production",
    }
}

async fn buyer_list(
    engine: &Engine,
    config: &Config,
    slug: &str,
    json: bool,
) -> anyhow::Result<()> {
    let buyers = admin::list_buyers(engine, slug).await?;

    let base = config.public_base_url();
    let outputs: Vec<BuyerOutput<'_>> = buyers
        .iter()
        .map(|buyer| BuyerOutput {
            buyer,
            order_url: format!("{base}{}", buyer.order_path),
        })
        .collect();
    if json {
        return print_json(&outputs);
    }
    let rows = outputs
        .iter()
        .map(|output| {
            let buyer = output.buyer;
            vec![
                buyer.name.clone(),
                buyer.from.clone(),
                buyer.sender.clone(),
                buyer
                    .shared_secret
                    .clone()
                    .unwrap_or_else(|| "none".to_owned()),
                mode_name(buyer.mode).to_owned(),
                output.order_url.clone(),
            ]
        })
        .collect();
    let header = [
        "name",
        "from",
        "sender",
        "shared secret",
        "mode",
        "order URL",
    ];
    print_table(&header, rows, &format!("No buyers in account {slug}."));
    Ok(())
}

async fn settings(engine: &Engine, args: SettingsArgs) -> anyhow::Result<()> {
    match args.action {
        SettingsAction::Show { json } => {
            let settings = admin::show_settings(engine, &args.slug).await?;
            if json {
                return print_json(&settings);
            }
            print_pairs(&admin::settings_entries(&settings));
        }
        SettingsAction::Set { key, value } => {
            let settings = admin::set_setting(engine, &args.slug, &key, &value).await?;
            let stored = admin::settings_entries(&settings)
                .into_iter()
                .find(|(name, _)| *name == key)
                .map_or_else(|| "none".to_owned(), |(_, value)| value);
            println!("Set {key} = {stored} for account {}.", args.slug);
        }
    }
    Ok(())
}

async fn refresh(engine: &Engine, args: RefreshArgs) -> anyhow::Result<()> {
    if args.queue {
        let job = admin::queue_refresh(engine, &args.slug).await?;
        println!("Queued reference refresh job {job} for account {}; the running server's worker runs it.", args.slug);
        return Ok(());
    }

    let summary = admin::refresh_now(engine, &args.slug).await?;

    if args.json {
        return print_json(&summary);
    }
    println!(
        "Refreshed Brightpearl reference data of account {}:",
        args.slug
    );
    let pairs = serde_json::to_value(&summary)?
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.replace('_', " "), value.to_string()))
        .collect::<Vec<_>>();
    print_pairs(&pairs);
    Ok(())
}

async fn orders(engine: &Engine, args: OrdersArgs) -> anyhow::Result<()> {
    let orders = admin::list_orders(engine, &args.slug, args.status.as_deref()).await?;

    if args.json {
        return print_json(&orders);
    }
    let rows = orders
        .into_iter()
        .map(|order| {
            vec![
                order.po_number,
                order.buyer,
                order.revisions.to_string(),
                order.status.as_str().to_owned(),
                or_blank(order.brightpearl_order_id),
                or_blank(order.reason),
            ]
        })
        .collect();
    let header = [
        "PO",
        "buyer",
        "revisions",
        "status",
        "Brightpearl order",
        "reason",
    ];
    print_table(
        &header,
        rows,
        &format!("No purchase orders in account {}.", args.slug),
    );
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
    print_table(&header, rows, &format!("{empty} in account {slug}."));
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

    if args.json {
        return print_json(&mapped);
    }
    let unit = mapped.unit_of_measure.as_deref().unwrap_or("every unit");
    let buyer = mapped.buyer.as_deref().unwrap_or("every buyer");
    println!(
        "Mapped Coupa part {} ({unit}, {buyer}) to Brightpearl product {} ({}), {} Brightpearl units per Coupa unit.",
        mapped.coupa_part_id,
        mapped.product_id,
        mapped.sku.as_deref().unwrap_or("no SKU"),
        mapped.quantity_factor
    );
    println!("Released {} waiting jobs.", mapped.released_jobs);
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
    let empty = format!(
        "No products in the local index of account {}; run `pobridge refresh {}` once Brightpearl is connected.",
        args.slug, args.slug
    );
    print_table(&header, rows, &empty);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_token_is_32_random_bytes_in_base64url() {
        let token = new_url_token();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{token}"
        );
        assert_ne!(token, new_url_token());
    }
}
