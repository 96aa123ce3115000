//! The command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

/// Turns Coupa cXML purchase orders into Brightpearl sales orders.
#[derive(Debug, Parser)]
#[command(name = "pobridge", version)]
pub struct Cli {
    /// TOML configuration file (see `pobridge config example`).
    #[arg(long, global = true, env = "POBRIDGE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Database URL, such as sqlite://pobridge.db [default: from the
    /// configuration, else sqlite://pobridge.db in the working directory].
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the cXML order endpoint and the job worker.
    Serve(ServeArgs),
    /// Manage accounts (one per supplier).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage an account's Coupa buyers.
    #[command(subcommand)]
    Buyer(BuyerCommand),
    /// Invite portal users to an account.
    #[command(subcommand)]
    User(UserCommand),
    /// Read the portal's outgoing e-mail, sent or waiting in the outbox.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Show or change an account's settings.
    Settings(SettingsArgs),
    /// Pull an account's Brightpearl reference data and product index.
    Refresh(RefreshArgs),
    /// List an account's purchase orders, show one, re-sync them or mark a
    /// held change handled.
    Orders(OrdersArgs),
    /// List the Coupa items seen on an account's orders, or map one.
    Items(ItemsArgs),
    /// List the local index of an account's Brightpearl products.
    Products(ProductsArgs),
    /// List, add or remove the rules that decide what each Brightpearl
    /// order row becomes on an invoice.
    Rows(RowsArgs),
    /// List the invoices and credits sent to Coupa, show one, queue one
    /// again, confirm one, or queue a poll for new invoices.
    Invoices(InvoicesArgs),
    /// Write an account's orders, order events, invoices, item and customer
    /// mappings and audit trail as CSV files.
    Export(ExportArgs),
    /// Work with the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Encrypt a setting such as smtp.password with secrets_key, or make a
    /// new key.
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: from the configuration,
    /// else 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve the built-in Brightpearl sandbox under /sandbox and connect
    /// every account without a Brightpearl connection to it.
    #[arg(long)]
    pub sandbox: bool,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and its first portal user, and queue the e-mail
    /// with the user's set-password link.
    Add {
        /// URL-safe name: lower-case letters, digits and '-'.
        slug: String,
        /// E-mail address of the first portal user, also used for notices
        /// to the account's users.
        #[arg(long)]
        email: String,
    },
    /// List the accounts: slug, notice address, creation time and whether
    /// Brightpearl is connected.
    List {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a portal user to an account and queue an invitation with a
    /// set-password link.
    Add {
        /// The account.
        slug: String,
        /// The user's e-mail address, which they log in with.
        email: String,
    },
    /// List an account's portal users and whether each has chosen a
    /// password.
    List {
        /// The account.
        slug: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// List the newest messages of the outbox, sent or not.
    List {
        /// Only messages to this account's users.
        #[arg(long, value_name = "SLUG")]
        account: Option<String>,
        /// The maximum number of messages to list.
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = parse_limit, allow_negative_numbers = true)]
        limit: i64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print one message: its recipient, subject, delivery state and body.
    Show {
        /// The message id, as `mail list` shows it.
        id: i64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BuyerCommand {
    /// Add a Coupa buyer to an account.
    Add(BuyerAddArgs),
    /// List an account's buyers (shared secrets and order-URL tokens are
    /// masked).
    List {
        /// The account.
        slug: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one buyer with its invoicing settings and what Coupa still
    /// needs (secrets are masked).
    Show {
        /// The account.
        slug: String,
        /// The buyer's name or id.
        buyer: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change one field of a buyer or of its invoicing settings.
    Set(BuyerSetArgs),
    /// Remove a buyer that has no purchase orders.
    Remove {
        /// The account.
        slug: String,
        /// The buyer's name or id.
        buyer: String,
    },
}

#[derive(Debug, Args)]
pub struct BuyerSetArgs {
    /// The account.
    pub slug: String,
    /// The buyer's name or id.
    pub buyer: String,
    /// The field to change.
    #[arg(value_parser = pobridge_engine::admin::BUYER_KEYS)]
    pub key: String,
    /// The new value. Credentials (to, sender, invoice-from, invoice-to,
    /// invoice-sender) take DOMAIN:IDENTITY, and `none` returns an invoice
    /// credential to the default. The key mode takes test or production,
    /// invoice-url a URL, and tax-map CODE=CATEGORY:RATE (such as
    /// T20=VAT:20) or CODE=none. The key tax-level takes line or summary,
    /// header-charges yes or no, credit-form negative-quantities or
    /// credit-memo, dtd-version 1.2.020 to 1.2.069 or default, and
    /// payment-days whole days. The value `none` clears an optional
    /// setting. For secret and invoice-secret, `-` reads the value from
    /// standard input, so that it stays out of `ps` and shell history.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BuyerAddArgs {
    /// The account.
    pub slug: String,
    /// The buyer's From credential, as DOMAIN:IDENTITY.
    #[arg(long, value_name = "DOMAIN:ID")]
    pub from: String,
    /// The supplier's identity the buyer sends to (To), as DOMAIN:IDENTITY.
    #[arg(long, value_name = "DOMAIN:ID")]
    pub to: String,
    /// The Sender credential that carries the shared secret, as DOMAIN:IDENTITY.
    #[arg(long, value_name = "DOMAIN:ID")]
    pub sender: String,
    /// The shared secret configured in Coupa for this supplier; `-` reads
    /// it from standard input, so that it stays out of `ps` and shell history.
    #[arg(
        long,
        required_unless_present = "no_secret",
        conflicts_with = "no_secret"
    )]
    pub secret: Option<String>,
    /// Use no shared secret: the buyer posts to its own unguessable order
    /// URL, which is printed.
    #[arg(long)]
    pub no_secret: bool,
    /// Whether the buyer's orders are tests (test) or real (production).
    #[arg(long, default_value = "production", value_parser = ["test", "production"])]
    pub mode: String,
    /// URL that invoices for this buyer are posted to.
    #[arg(long, value_name = "URL")]
    pub invoice_url: Option<String>,
    /// Short name for the buyer [default: the From identity].
    #[arg(long)]
    pub name: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// The account.
    pub slug: String,
    #[command(subcommand)]
    pub action: SettingsAction,
}

#[derive(Debug, Subcommand)]
pub enum SettingsAction {
    /// Print every setting.
    Show {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change one setting; `none` clears an optional one.
    Set {
        /// The setting, as `settings SLUG show` lists it.
        key: String,
        /// The new value, or `none`.
        value: String,
    },
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// The account.
    pub slug: String,
    /// Queue the refresh for the running server's worker instead of
    /// running it now.
    #[arg(long)]
    pub queue: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OrdersArgs {
    /// The account.
    pub slug: String,
    /// List only orders with this status, such as awaiting_mapping or failed.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<OrdersAction>,
}

#[derive(Debug, Subcommand)]
pub enum OrdersAction {
    /// Show one purchase order: its status, revisions and timeline of
    /// events, including warnings.
    Show {
        /// The PO number (Coupa's orderID).
        po: String,
        /// The buyer's name or id, needed when several buyers used this PO
        /// number.
        #[arg(long)]
        buyer: Option<String>,
    },
    /// Queue a fresh sync of orders with the account's current settings.
    Resync(ResyncArgs),
    /// Record that the change held for review was applied in Brightpearl by
    /// hand: its revisions become handled and the order synced.
    Handled {
        /// The PO number (Coupa's orderID).
        po: String,
        /// The buyer's name or id, needed when several buyers used this PO
        /// number.
        #[arg(long)]
        buyer: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["po", "failed"])))]
pub struct ResyncArgs {
    /// The PO numbers to re-sync.
    pub po: Vec<String>,
    /// Re-sync every order whose status is failed.
    #[arg(long)]
    pub failed: bool,
    /// Only orders of this buyer, by name or id.
    #[arg(long)]
    pub buyer: Option<String>,
    /// List the orders that would be re-queued without changing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ItemsArgs {
    /// The account.
    #[arg(required = true)]
    pub slug: Option<String>,
    /// Only items that no mapping or unique identifier reaches.
    #[arg(long)]
    pub unmapped: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<ItemsAction>,
}

#[derive(Debug, Subcommand)]
pub enum ItemsAction {
    /// Map a Coupa part to a Brightpearl product by hand.
    Map(MapArgs),
}

#[derive(Debug, Args)]
pub struct MapArgs {
    /// The account.
    pub slug: String,
    /// The Coupa supplier part id.
    #[arg(long, value_name = "PART_ID")]
    pub coupa: String,
    /// Only lines in this unit of measure [default: every unit].
    #[arg(long, value_name = "UOM")]
    pub uom: Option<String>,
    /// Only this buyer, by name or id [default: every buyer].
    #[arg(long, value_name = "ID")]
    pub buyer: Option<String>,
    /// The product's SKU in the local product index, or id:PRODUCT_ID.
    #[arg(long, value_name = "SKU")]
    pub brightpearl: String,
    /// Brightpearl quantity per Coupa unit, such as 12 for a case of 12.
    // A negative value reaches the factor's own check, whose message gives
    // the allowed range, rather than clap's "unexpected argument".
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub factor: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProductsArgs {
    /// The account.
    pub slug: String,
    /// Maximum number of products to print.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = parse_limit, allow_negative_numbers = true)]
    pub limit: i64,
    /// Products to skip first.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_offset, allow_negative_numbers = true)]
    pub offset: i64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RowsArgs {
    /// The account.
    pub slug: String,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<RowsAction>,
}

#[derive(Debug, Subcommand)]
pub enum RowsAction {
    /// List the rules, numbered in the order they are tried (the default).
    List,
    /// Add a rule. The first rule that matches a row decides. A row that no
    /// rule matches is a line when it has a product and is left off when it
    /// is free text.
    Add {
        /// The row field the rule matches: its SKU, its Brightpearl product
        /// id, or its nominal code.
        #[arg(value_parser = pobridge_engine::admin::MATCHER_WORDS)]
        matcher: String,
        /// The SKU, product id or nominal code.
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// The class of a matched row: an invoice line, the shipping amount,
        /// the special-handling amount, or nothing (skip).
        #[arg(value_parser = pobridge_engine::admin::CLASS_WORDS)]
        class: String,
        /// Insert at this position (1 is tried first) [default: last].
        #[arg(long, value_name = "N")]
        at: Option<usize>,
    },
    /// Remove a rule, named by its number or by its text as `rows SLUG`
    /// lists it. The text names the same rule even when someone added or
    /// removed a rule in front of it since the list was read.
    Remove {
        /// The rule's number, such as 2, or its text, such as
        /// "sku SHIP-GROUND -> shipping".
        #[arg(allow_hyphen_values = true)]
        rule: String,
    },
}

#[derive(Debug, Args)]
pub struct InvoicesArgs {
    /// The account.
    pub slug: String,
    /// List only invoices with this status: pending, held, sending, sent,
    /// failed, probably_delivered, needs_attention, changed_after_sending or
    /// superseded.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// List only invoices whose number contains this text, ignoring case.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// The maximum number of invoices to list, newest first [default: 100].
    #[arg(long, value_name = "N", value_parser = parse_limit, allow_negative_numbers = true)]
    pub limit: Option<i64>,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<InvoicesAction>,
}

#[derive(Debug, Subcommand)]
pub enum InvoicesAction {
    /// Show one invoice or credit: every field, the cXML document (secrets
    /// masked) and the purchase order's other invoices.
    Show {
        /// The invoice number.
        number: String,
        /// The buyer's name or id, needed when several buyers have an
        /// invoice with this number.
        #[arg(long)]
        buyer: Option<String>,
    },
    /// Rebuild invoices from Brightpearl with the current settings, under
    /// the same number, and send them once their check passes. Only failed,
    /// needs_attention and held invoices are queued.
    Retry(InvoiceRetryArgs),
    /// Record what a person confirmed in Coupa: a probably_delivered or
    /// needs_attention invoice was found there, the change to a
    /// changed_after_sending invoice was made there, or a held invoice was
    /// entered there by hand. Each becomes sent.
    Confirm {
        /// The invoice number.
        number: String,
        /// The buyer's name or id, needed when several buyers have an
        /// invoice with this number.
        #[arg(long)]
        buyer: Option<String>,
    },
    /// Queue a poll for newly invoiced Brightpearl orders, due now, for the
    /// running server's worker.
    Poll,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["number", "all_failed"])))]
pub struct InvoiceRetryArgs {
    /// The invoice numbers to queue again.
    pub number: Vec<String>,
    /// Queue every invoice whose status is failed.
    #[arg(long)]
    pub all_failed: bool,
    /// Only invoices of this buyer, by name or id.
    #[arg(long)]
    pub buyer: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The account.
    pub slug: String,
    /// Directory to write the files into; it must be empty or not exist yet
    /// [default: export-SLUG-YYYYMMDD-HHMMSS in the working directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the annotated example configuration.
    Example,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Read one line from standard input and print it encrypted with
    /// secrets_key (enc:v1:...), to use as smtp.password.
    Encrypt,
    /// Print a new random key for secrets_key: 32 bytes as standard base64.
    NewKey,
}

/// Reads a `--limit`: a whole number of one or more. Without this check a
/// negative limit reached the database, where SQLite reads it as no limit
/// at all and PostgreSQL rejects it.
fn parse_limit(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(limit) if limit >= 1 => Ok(limit),
        Err(error) if *error.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("too large; the most is {}", i64::MAX))
        }
        _ => Err("expected a whole number of 1 or more, such as 50".to_owned()),
    }
}

/// Reads an `--offset`: a whole number of 0 or more.
fn parse_offset(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(offset) if offset >= 0 => Ok(offset),
        Err(error) if *error.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("too large; the most is {}", i64::MAX))
        }
        _ => Err("expected a whole number of 0 or more, such as 100".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn items_map_is_a_subcommand() {
        let cli = Cli::try_parse_from([
            "pobridge",
            "items",
            "map",
            "acme",
            "--coupa",
            "P-1",
            "--brightpearl",
            "SKU-1",
        ])
        .unwrap();
        let Command::Items(items) = cli.command else {
            panic!("expected items");
        };
        assert!(matches!(items.action, Some(ItemsAction::Map(_))));
    }

    #[test]
    fn mail_and_user_commands_parse() {
        let list = Cli::try_parse_from(["pobridge", "mail", "list", "--account", "acme"]).unwrap();
        let show = Cli::try_parse_from(["pobridge", "mail", "show", "7", "--json"]).unwrap();
        let user = Cli::try_parse_from(["pobridge", "user", "add", "acme", "a@acme.example"]);

        assert!(matches!(
            list.command,
            Command::Mail(MailCommand::List {
                account: Some(_),
                limit: 50,
                json: false
            })
        ));
        assert!(matches!(
            show.command,
            Command::Mail(MailCommand::Show { id: 7, json: true })
        ));
        assert!(matches!(
            user.unwrap().command,
            Command::User(UserCommand::Add { .. })
        ));
        assert!(Cli::try_parse_from(["pobridge", "mail", "show", "seven"]).is_err());
    }

    #[test]
    fn items_without_slug_is_rejected() {
        assert!(Cli::try_parse_from(["pobridge", "items"]).is_err());
    }

    #[test]
    fn buyer_needs_secret_or_no_secret() {
        let base = [
            "pobridge", "buyer", "add", "acme", "--from", "a:b", "--to", "c:d", "--sender", "e:f",
        ];
        assert!(Cli::try_parse_from(base).is_err());
        let both = base.iter().copied().chain(["--secret", "x", "--no-secret"]);
        assert!(Cli::try_parse_from(both).is_err());
        let secret = base.iter().copied().chain(["--secret", "x"]);
        assert!(Cli::try_parse_from(secret).is_ok());
    }

    #[test]
    fn dash_secret_is_a_value() {
        let args = [
            "pobridge", "buyer", "add", "acme", "--from", "a:b", "--to", "c:d", "--sender", "e:f",
            "--secret", "-",
        ];

        let cli = Cli::try_parse_from(args).unwrap();

        let Command::Buyer(BuyerCommand::Add(add)) = cli.command else {
            panic!("expected buyer add");
        };
        assert_eq!(add.secret.as_deref(), Some("-"));
    }

    #[test]
    fn invoices_retry_needs_number_or_all_failed() {
        assert!(Cli::try_parse_from(["pobridge", "invoices", "acme", "retry"]).is_err());
        let both = [
            "pobridge",
            "invoices",
            "acme",
            "retry",
            "INV-1",
            "--all-failed",
        ];
        assert!(Cli::try_parse_from(both).is_err());
        let failed = ["pobridge", "invoices", "acme", "retry", "--all-failed"];
        assert!(Cli::try_parse_from(failed).is_ok());
    }

    #[test]
    fn rows_add_rejects_unknown_class() {
        let args = [
            "pobridge", "rows", "acme", "add", "sku", "SHIP-1", "freight",
        ];

        let error = Cli::try_parse_from(args).unwrap_err().to_string();

        assert!(error.contains("special-handling"), "{error}");
    }

    #[test]
    fn orders_json_goes_before_or_after_subcommand() {
        for args in [
            ["pobridge", "orders", "acme", "show", "PO-1", "--json"],
            ["pobridge", "orders", "acme", "--json", "show", "PO-1"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();

            let Command::Orders(orders) = cli.command else {
                panic!("expected orders");
            };
            assert!(orders.json, "{args:?}");
            assert!(
                matches!(orders.action, Some(OrdersAction::Show { .. })),
                "{args:?}"
            );
        }
    }
}
