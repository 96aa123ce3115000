//! `pobridge buyer`: add, list, show, change and remove an account's Coupa
//! buyers, with their invoicing settings.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pobridge_engine::admin::buyer_changes::change_text;
use pobridge_engine::admin::{self, AddBuyer, BuyerAuth, BuyerView, CredentialView};
use pobridge_engine::Engine;
use rand::RngCore;
use serde::Serialize;

use super::audit;
use crate::cli::{BuyerAddArgs, BuyerCommand, BuyerSetArgs};
use crate::config::Config;
use crate::output::{self, line, print_json, print_pairs, print_table, released_text};

/// Runs one `buyer` subcommand.
pub async fn run(engine: &Engine, config: &Config, command: BuyerCommand) -> anyhow::Result<()> {
    match command {
        BuyerCommand::Add(args) => add(engine, config, args).await,
        BuyerCommand::List { slug, json } => list(engine, config, &slug, json).await,
        BuyerCommand::Show { slug, buyer, json } => show(engine, config, &slug, &buyer, json).await,
        BuyerCommand::Set(args) => set(engine, config, args).await,
        BuyerCommand::Remove { slug, buyer } => {
            admin::remove_buyer(engine, &slug, &buyer).await?;
            audit::record(
                engine,
                &slug,
                "buyer.remove",
                format!("removed buyer {buyer}"),
            )
            .await;
            line(format_args!("Removed buyer {buyer} from account {slug}."))?;
            Ok(())
        }
    }
}

/// A buyer with its order URL, for printing.
#[derive(Serialize)]
struct BuyerOutput<'a> {
    #[serde(flatten)]
    buyer: &'a BuyerView,
    order_url: String,
    /// Waiting jobs released by a change, after `buyer set`.
    #[serde(skip_serializing_if = "Option::is_none")]
    released_jobs: Option<u64>,
}

async fn add(engine: &Engine, config: &Config, args: BuyerAddArgs) -> anyhow::Result<()> {
    let typed_secret = args.secret.as_deref().is_some_and(|secret| secret != "-");
    let auth = match args.secret {
        Some(secret) => BuyerAuth::SharedSecret(secret_value(secret)?),
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
    let detail = format!(
        "added buyer {}: from={}, to={}, sender={}, {}, mode={}{}",
        buyer.name,
        buyer.from,
        buyer.to,
        buyer.sender,
        if buyer.shared_secret.is_some() {
            "shared secret set"
        } else {
            "order URL token"
        },
        mode_name(buyer.mode),
        buyer
            .invoicing
            .invoice_url
            .as_deref()
            .map_or_else(String::new, |url| format!(", invoice-url={url}"))
    );
    audit::record(engine, &args.slug, "buyer.add", detail).await;
    warn_typed_secret(typed_secret);

    // The only output that shows a per-buyer URL token in full.
    let order_url = format!("{}{}", config.public_base_url(), buyer.order_path);
    if args.json {
        return print_json(&BuyerOutput {
            buyer: &buyer,
            order_url,
            released_jobs: None,
        });
    }
    line(format_args!(
        "Added buyer {} to account {}.",
        buyer.name, args.slug
    ))?;
    print_pairs(&buyer_pairs(&buyer, &order_url))?;
    if buyer.shared_secret.is_none() {
        line("")?;
        line("This buyer has no shared secret: the order URL is its credential.")?;
        line("Enter it in Coupa as the supplier's cXML URL and keep it private;")?;
        line("`pobridge buyer list` shows only its first characters.")?;
    }
    Ok(())
}

/// Returns `value`, or for `-` the first line of standard input without
/// surrounding white space, so that the secret never appears in the
/// process list or the shell history.
fn secret_value(value: String) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value);
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprint!("Shared secret: ");
        io::stderr().flush()?;
    }
    let mut secret = String::new();
    stdin
        .lock()
        .read_line(&mut secret)
        .context("could not read the shared secret from standard input")?;
    let secret = secret.trim();
    if secret.is_empty() {
        anyhow::bail!(
            "no shared secret on standard input; pipe it in, such as `printf '%s\\n' \"$SECRET\" | pobridge ... -`"
        );
    }
    Ok(secret.to_owned())
}

/// Warns, after a secret typed on the command line was stored, that it
/// stays in the shell history and shows in the process list meanwhile.
fn warn_typed_secret(typed: bool) {
    if typed {
        eprintln!(
            "warning: a secret given on the command line stays in the shell history and can be read in the process list; pass - to read it from standard input"
        );
    }
}

/// Generates the token of a per-buyer order URL: 32 bytes from the
/// operating system's random source, base64url-encoded without padding.
fn new_url_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn buyer_pairs(buyer: &BuyerView, order_url: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
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
        ("order URL", order_url.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    pairs.extend(invoicing_pairs(buyer));
    pairs
}

/// Lists the invoicing settings, each under the key `buyer set` takes, then
/// the settings Coupa still needs.
fn invoicing_pairs(buyer: &BuyerView) -> Vec<(String, String)> {
    let invoicing = &buyer.invoicing;
    let none = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".to_owned());
    let mut pairs: Vec<(String, String)> = [
        ("invoice-url", none(&invoicing.invoice_url)),
        (
            "invoice-from",
            credential(&invoicing.from, "the orders' To"),
        ),
        ("invoice-to", credential(&invoicing.to, "the orders' From")),
        (
            "invoice-sender",
            credential(&invoicing.sender, "the orders' To"),
        ),
        ("invoice-secret", none(&invoicing.shared_secret)),
        ("remit-to", none(&invoicing.remit_to_address_id)),
        ("remit-to-name", none(&invoicing.remit_to_name)),
        ("tax-prefix", none(&invoicing.supplier_tax_prefix)),
        ("tax-number", none(&invoicing.supplier_tax_number)),
        ("tax-map", tax_map_text(buyer)),
        ("tax-level", output::enum_name(&invoicing.tax_level)),
        (
            "header-charges",
            if invoicing.header_charges_allowed {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ),
        (
            "credit-form",
            output::enum_name(&invoicing.credit_form).replace('_', "-"),
        ),
        ("dtd-version", invoicing.dtd_version.clone()),
        (
            "payment-days",
            invoicing
                .payment_term_days
                .map_or_else(|| "none".to_owned(), |days| days.to_string()),
        ),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();

    let mut missing = invoicing.missing_for_coupa.iter();
    let first = missing.next().cloned();
    pairs.push((
        "missing for Coupa".to_owned(),
        first.unwrap_or_else(|| "nothing".to_owned()),
    ));
    pairs.extend(missing.map(|entry| (String::new(), entry.clone())));
    pairs
}

fn credential(view: &CredentialView, default: &str) -> String {
    if view.is_default {
        format!("{} (default: {default})", view.credential)
    } else {
        view.credential.clone()
    }
}

fn tax_map_text(buyer: &BuyerView) -> String {
    let map = &buyer.invoicing.tax_map;
    if map.is_empty() {
        return "none".to_owned();
    }
    map.iter()
        .map(|(code, tax)| format!("{code}={}:{}", tax.category, tax.rate))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mode_name(mode: pobridge_store::BuyerMode) -> &'static str {
    match mode {
        pobridge_store::BuyerMode::Test => "test",
        pobridge_store::BuyerMode::Production => "production",
    }
}

async fn list(engine: &Engine, config: &Config, slug: &str, json: bool) -> anyhow::Result<()> {
    let buyers = admin::list_buyers(engine, slug).await?;

    let base = config.public_base_url();
    let outputs: Vec<BuyerOutput<'_>> = buyers
        .iter()
        .map(|buyer| BuyerOutput {
            buyer,
            order_url: format!("{base}{}", buyer.order_path),
            released_jobs: None,
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
                invoicing_state(buyer),
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
        "invoicing",
    ];
    print_table(&header, rows, &format!("No buyers in account {slug}."))?;
    Ok(())
}

/// Summarizes whether the buyer's invoices can be sent: `ready`, or how
/// many settings Coupa still needs (`buyer show` lists them).
fn invoicing_state(buyer: &BuyerView) -> String {
    match buyer.invoicing.missing_for_coupa.len() {
        0 => "ready".to_owned(),
        count => format!("{count} missing"),
    }
}

async fn show(
    engine: &Engine,
    config: &Config,
    slug: &str,
    buyer: &str,
    json: bool,
) -> anyhow::Result<()> {
    let buyer = admin::show_buyer(engine, slug, buyer).await?;

    let order_url = format!("{}{}", config.public_base_url(), buyer.order_path);
    if json {
        return print_json(&BuyerOutput {
            buyer: &buyer,
            order_url,
            released_jobs: None,
        });
    }
    print_pairs(&buyer_pairs(&buyer, &order_url))?;
    Ok(())
}

async fn set(engine: &Engine, config: &Config, args: BuyerSetArgs) -> anyhow::Result<()> {
    let typed_secret =
        matches!(args.key.as_str(), "secret" | "invoice-secret") && args.value != "-";
    let value = match args.key.as_str() {
        "secret" | "invoice-secret" => secret_value(args.value)?,
        _ => args.value,
    };

    let changed = admin::set_buyer(engine, &args.slug, &args.buyer, &args.key, &value).await?;
    let detail = format!(
        "changed buyer {}: {}",
        changed.buyer.name,
        change_text(&args.key, &value)
    );
    audit::record(engine, &args.slug, "buyer.update", detail).await;
    warn_typed_secret(typed_secret);

    let buyer = &changed.buyer;
    let order_url = format!("{}{}", config.public_base_url(), buyer.order_path);
    if args.json {
        return print_json(&BuyerOutput {
            buyer,
            order_url,
            released_jobs: Some(changed.released_jobs),
        });
    }
    line(format_args!(
        "Changed {} of buyer {} in account {}.",
        args.key, buyer.name, args.slug
    ))?;
    print_pairs(&buyer_pairs(buyer, &order_url))?;
    line(released_text(changed.released_jobs))?;
    if args.key == "secret" {
        line("")?;
        line(format_args!("The buyer now posts to {order_url} with this shared secret; an order URL of its own, if it had one, no longer works."))?;
    }
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

    #[test]
    fn secret_value_other_than_dash_is_kept() {
        assert_eq!(secret_value("s3cret".to_owned()).unwrap(), "s3cret");
    }
}
