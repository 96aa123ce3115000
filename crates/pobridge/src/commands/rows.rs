//! `pobridge rows`: list, add and remove the account's invoice row rules.

use pobridge_engine::admin::{self, AddRowRule, ChangedRows, RowRuleView};
use pobridge_engine::Engine;

use super::audit;
use crate::cli::{RowsAction, RowsArgs};
use crate::output::{line, print_json, print_table, released_text};

/// Runs `rows SLUG` or one of its subcommands.
pub async fn run(engine: &Engine, args: RowsArgs) -> anyhow::Result<()> {
    let slug = args.slug;
    match args.action.unwrap_or(RowsAction::List) {
        RowsAction::List => {
            let rules = admin::list_row_rules(engine, &slug).await?;
            if args.json {
                return print_json(&rules);
            }
            print_rules(&slug, &rules)?;
        }
        RowsAction::Add {
            matcher,
            value,
            class,
            at,
        } => {
            let request = AddRowRule {
                matcher,
                value,
                class,
                position: at,
            };
            let changed = admin::add_row_rule(engine, &slug, &request).await?;
            let at = request.position.unwrap_or(changed.rules.len());
            let detail = format!("added rule {at}: {}", changed.rule_text(at));
            audit::record(engine, &slug, "invoice_rows.add", detail).await;
            print_changed(&slug, &changed, "Added", args.json)?;
        }
        RowsAction::Remove { rule } => {
            let (number, text, changed) = remove(engine, &slug, &rule).await?;
            let detail = format!("removed rule {number} ({text})");
            audit::record(engine, &slug, "invoice_rows.remove", detail).await;
            print_changed(&slug, &changed, "Removed", args.json)?;
        }
    }
    Ok(())
}

/// Removes the rule that `rule` names: by number when it parses as one,
/// by its text otherwise. Returns the rule's number and text for the audit
/// trail, with the rules after.
async fn remove(
    engine: &Engine,
    slug: &str,
    rule: &str,
) -> anyhow::Result<(usize, String, ChangedRows)> {
    // A number too large for usize goes to the text lookup, whose error
    // message names both forms.
    let Ok(number) = rule.trim().parse::<usize>() else {
        let (number, changed) = admin::remove_row_rule_by_text(engine, slug, rule).await?;
        return Ok((number, rule.trim().to_owned(), changed));
    };
    let text = admin::list_row_rules(engine, slug)
        .await?
        .into_iter()
        .find(|view| view.position == number)
        .map(|view| view.text)
        .unwrap_or_default();
    let changed = admin::remove_row_rule(engine, slug, number).await?;
    Ok((number, text, changed))
}

fn print_changed(slug: &str, changed: &ChangedRows, verb: &str, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(changed);
    }
    line(format_args!(
        "{verb} the rule. Invoice row rules of account {slug}, tried in this order:"
    ))?;
    print_rules(slug, &changed.rules)?;
    line(released_text(changed.released_jobs))?;
    Ok(())
}

fn print_rules(slug: &str, rules: &[RowRuleView]) -> anyhow::Result<()> {
    let rows = rules
        .iter()
        .map(|rule| vec![rule.position.to_string(), rule.text.clone()])
        .collect();
    let empty = format!(
        "No invoice row rules in account {slug}: rows with a product are invoice lines and free-text rows are left off. Add one with `pobridge rows {slug} add sku SKU shipping`."
    );
    print_table(&["#", "rule"], rows, &empty)?;
    Ok(())
}
