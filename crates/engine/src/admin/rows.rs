//! The account's invoice row rules: which Brightpearl order rows become
//! invoice lines, shipping, special handling, or are left off the invoice.
//! The first rule that matches a row decides, so the rules keep their order.

use pobridge_core::{BrightpearlIdField, RowClass, RowMatcher, RowRule};
use pobridge_store::{Account, ReferenceKind};
use serde::Serialize;

use super::{account, invalid, AdminError};
pub use crate::invoicing::describe_rule;
use crate::settings;
use crate::Engine;

/// The words `pobridge rows SLUG add` takes for what a rule matches.
pub const MATCHER_WORDS: [&str; 3] = ["sku", "product", "nominal"];
/// The words `pobridge rows SLUG add` takes for what a matched row becomes.
pub const CLASS_WORDS: [&str; 4] = ["line", "shipping", "special-handling", "skip"];

/// One rule with its 1-based position, as listed and removed by number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRuleView {
    pub position: usize,
    pub rule: RowRule,
    /// The rule in words, such as `sku SHIP-1 -> shipping`.
    pub text: String,
}

/// The rules after a change, and the number of waiting jobs it released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedRows {
    pub rules: Vec<RowRuleView>,
    pub released_jobs: u64,
}

impl ChangedRows {
    /// Returns the text of the rule at the 1-based `position`, or an empty
    /// text when there is none.
    pub fn rule_text(&self, position: usize) -> String {
        self.rules
            .iter()
            .find(|view| view.position == position)
            .map_or_else(String::new, |view| view.text.clone())
    }
}

/// A rule as the operator types it, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRowRule {
    /// One of [`MATCHER_WORDS`].
    pub matcher: String,
    pub value: String,
    /// One of [`CLASS_WORDS`].
    pub class: String,
    /// 1-based position to insert at; `None` appends.
    pub position: Option<usize>,
}

/// Lists the account's rules in the order they are tried.
pub async fn list_row_rules(engine: &Engine, slug: &str) -> Result<Vec<RowRuleView>, AdminError> {
    let account = account(engine, slug).await?;
    Ok(views(&account.settings.invoice_rows))
}

/// Adds a rule after checking that its product, SKU or nominal code exists
/// in the account's Brightpearl data. A second rule for the same rows is
/// rejected, because the first would always decide.
pub async fn add_row_rule(
    engine: &Engine,
    slug: &str,
    request: &AddRowRule,
) -> Result<ChangedRows, AdminError> {
    let account = account(engine, slug).await?;
    let rule = RowRule {
        matcher: parse_matcher(&request.matcher, &request.value)?,
        class: parse_class(&request.class)?,
    };
    check_exists(engine, &account, &rule.matcher).await?;

    let mut rules = account.settings.invoice_rows.clone();
    if let Some(index) = rules.iter().position(|other| other.matcher == rule.matcher) {
        return Err(AdminError::Invalid {
            field: "rule",
            value: describe_rule(&rule),
            expected: format!(
                "rows that no rule matches yet; rule {} already matches them ({}), remove it first with `pobridge rows {slug} remove {}`",
                index + 1,
                describe_rule(&rules[index]),
                index + 1
            ),
        });
    }
    let index = insert_index(request.position, rules.len())?;
    rules.insert(index, rule);

    save_rules(engine, &account, rules).await
}

/// Removes the rule at 1-based `position`.
pub async fn remove_row_rule(
    engine: &Engine,
    slug: &str,
    position: usize,
) -> Result<ChangedRows, AdminError> {
    let account = account(engine, slug).await?;
    let mut rules = account.settings.invoice_rows.clone();
    if position == 0 || position > rules.len() {
        let expected = match rules.len() {
            0 => format!("the number of a rule, but account {slug} has no invoice row rules"),
            count => {
                format!("a rule number from 1 to {count}, as `pobridge rows {slug}` lists them")
            }
        };
        return Err(invalid("rule number", &position.to_string(), expected));
    }
    rules.remove(position - 1);

    save_rules(engine, &account, rules).await
}

/// Removes the rule a person saw as `seen` (its [`describe_rule`] text) at
/// the 1-based `position` of a list shown earlier.
///
/// The list may have changed since it was shown: another person or a
/// `pobridge rows` command may have added or removed a rule before it. The
/// rule is then found by its text wherever it is now, since no two rules
/// match the same rows. Fails when the rule is no longer there, rather
/// than removing whatever rule is at that position now. Returns the
/// position the rule had when it was removed, with the rules after.
pub async fn remove_seen_row_rule(
    engine: &Engine,
    slug: &str,
    position: usize,
    seen: &str,
) -> Result<(usize, ChangedRows), AdminError> {
    let account = account(engine, slug).await?;
    let mut rules = account.settings.invoice_rows.clone();
    let is_seen = |rule: &RowRule| describe_rule(rule) == seen;
    let at_position = position
        .checked_sub(1)
        .filter(|&index| rules.get(index).is_some_and(is_seen));
    let Some(index) = at_position.or_else(|| rules.iter().position(is_seen)) else {
        return Err(invalid(
            "rule",
            seen,
            "a rule still in the list; it was removed or changed since the list was shown"
                .to_owned(),
        ));
    };
    rules.remove(index);
    let changed = save_rules(engine, &account, rules).await?;
    Ok((index + 1, changed))
}

/// Removes the rule whose [`describe_rule`] text, as `pobridge rows SLUG`
/// lists it, is `text`. Unlike a number, the text still names the same
/// rule after rules are added or removed in front of it. Returns the
/// position the rule had, with the rules after.
pub async fn remove_row_rule_by_text(
    engine: &Engine,
    slug: &str,
    text: &str,
) -> Result<(usize, ChangedRows), AdminError> {
    let account = account(engine, slug).await?;
    let mut rules = account.settings.invoice_rows.clone();
    let expected_text = text.trim();
    let Some(index) = rules
        .iter()
        .position(|rule| describe_rule(rule) == expected_text)
    else {
        let expected = match rules.first() {
            None => format!("a rule, but account {slug} has no invoice row rules"),
            Some(first) => format!(
                "a rule's number or its text as `pobridge rows {slug}` lists it, such as {:?}",
                describe_rule(first)
            ),
        };
        return Err(invalid("rule", text, expected));
    };
    rules.remove(index);
    let changed = save_rules(engine, &account, rules).await?;
    Ok((index + 1, changed))
}

/// Stores the rules and releases the account's waiting jobs, so invoices
/// held for their rows are rebuilt with the new rules.
async fn save_rules(
    engine: &Engine,
    account: &Account,
    rules: Vec<RowRule>,
) -> Result<ChangedRows, AdminError> {
    let mut updated = account.settings.clone();
    updated.invoice_rows = rules;
    engine.store.save_settings(account.id, &updated).await?;
    let released_jobs = engine
        .store
        .release_waiting_jobs(account.id, engine.clock.now())
        .await?;
    engine.wake.notify_one();
    tracing::info!(tenant.id = %account.id, rules = updated.invoice_rows.len(), released_jobs, "invoice row rules changed");
    Ok(ChangedRows {
        rules: views(&updated.invoice_rows),
        released_jobs,
    })
}

fn views(rules: &[RowRule]) -> Vec<RowRuleView> {
    rules
        .iter()
        .enumerate()
        .map(|(index, rule)| RowRuleView {
            position: index + 1,
            rule: rule.clone(),
            text: describe_rule(rule),
        })
        .collect()
}

fn insert_index(position: Option<usize>, count: usize) -> Result<usize, AdminError> {
    match position {
        None => Ok(count),
        Some(position) if (1..=count + 1).contains(&position) => Ok(position - 1),
        Some(position) => Err(invalid(
            "--at",
            &position.to_string(),
            format!("a position from 1 to {}", count + 1),
        )),
    }
}

/// Parses what a rule matches: `sku`, `product` (a Brightpearl product id)
/// or `nominal` (a nominal code), and its value.
pub fn parse_matcher(kind: &str, value: &str) -> Result<RowMatcher, AdminError> {
    let text = value.trim();
    match kind.trim().to_ascii_lowercase().as_str() {
        "sku" if !text.is_empty() => Ok(RowMatcher::Sku(text.to_owned())),
        "sku" => Err(invalid("sku", value, "a non-empty SKU")),
        "product" => text
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(RowMatcher::ProductId)
            .ok_or_else(|| {
                invalid(
                    "product",
                    value,
                    "a Brightpearl product id (a whole number)",
                )
            }),
        "nominal" if !text.is_empty() => Ok(RowMatcher::NominalCode(text.to_owned())),
        "nominal" => Err(invalid("nominal", value, "a nominal code such as 4040")),
        _ => Err(invalid(
            "matcher",
            kind,
            format!("one of {}", MATCHER_WORDS.join(", ")),
        )),
    }
}

/// Parses what a matched row becomes, one of [`CLASS_WORDS`].
pub fn parse_class(value: &str) -> Result<RowClass, AdminError> {
    match value.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "line" => Ok(RowClass::Line),
        "shipping" => Ok(RowClass::Shipping),
        "special-handling" => Ok(RowClass::SpecialHandling),
        "skip" => Ok(RowClass::Skip),
        _ => Err(invalid(
            "class",
            value,
            "line (an invoice line), shipping (the summary's shipping amount), \
             special-handling (the summary's handling amount) or skip (left off the invoice)",
        )),
    }
}

/// Rejects a product or SKU missing from the local product index, and a
/// nominal code missing from the account's reference data.
async fn check_exists(
    engine: &Engine,
    account: &Account,
    matcher: &RowMatcher,
) -> Result<(), AdminError> {
    let slug = account.slug.as_str();
    let refresh = format!(
        "a product in the local product index; run `pobridge refresh {slug}` if it was added in Brightpearl recently"
    );
    match matcher {
        RowMatcher::ProductId(id) => {
            if engine.store.product(account.id, *id).await?.is_none() {
                return Err(invalid("product", &id.to_string(), refresh));
            }
        }
        RowMatcher::Sku(sku) => {
            let products = engine
                .store
                .products_by_identifier(account.id, BrightpearlIdField::Sku, sku)
                .await?;
            if products.is_empty() {
                return Err(invalid("sku", sku, refresh));
            }
        }
        RowMatcher::NominalCode(code) => {
            settings::reference_code(
                &*engine.store,
                account.id,
                "nominal",
                code,
                ReferenceKind::NominalCodes,
                "nominal codes",
            )
            .await?
            .map_err(|error| settings::name_account(error, &account.slug))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_text_reads_as_typed() {
        let rule = RowRule {
            matcher: RowMatcher::NominalCode("4050".to_owned()),
            class: RowClass::SpecialHandling,
        };

        assert_eq!(describe_rule(&rule), "nominal 4050 -> special-handling");
    }

    #[test]
    fn matcher_values_are_checked() {
        assert_eq!(
            parse_matcher("product", " 901 ").unwrap(),
            RowMatcher::ProductId(901)
        );
        assert_eq!(
            parse_matcher("SKU", "SHIP-1").unwrap(),
            RowMatcher::Sku("SHIP-1".to_owned())
        );
        for (kind, value) in [
            ("product", "0"),
            ("product", "SHIP"),
            ("sku", " "),
            ("nominal", ""),
        ] {
            let error = parse_matcher(kind, value).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{kind}: ")), "{error}");
        }
        let error = parse_matcher("row", "1").unwrap_err().to_string();
        assert!(error.contains("sku, product, nominal"), "{error}");
    }

    #[test]
    fn class_words_parse() {
        let words = CLASS_WORDS.map(|word| parse_class(word).unwrap());

        assert_eq!(
            words,
            [
                RowClass::Line,
                RowClass::Shipping,
                RowClass::SpecialHandling,
                RowClass::Skip
            ]
        );
        let error = parse_class("freight").unwrap_err().to_string();
        assert!(error.contains("special-handling"), "{error}");
    }

    #[test]
    fn insert_position_is_checked() {
        assert_eq!(insert_index(None, 2).unwrap(), 2);
        assert_eq!(insert_index(Some(1), 2).unwrap(), 0);
        assert_eq!(insert_index(Some(3), 2).unwrap(), 2);
        for position in [0, 4] {
            let error = insert_index(Some(position), 2).unwrap_err().to_string();
            assert!(error.contains("from 1 to 3"), "{error}");
        }
    }
}
