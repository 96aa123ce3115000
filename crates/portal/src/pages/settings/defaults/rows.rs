//! The invoice row rules on the defaults page: listing, adding and
//! removing them through the engine's row-rule actions, the ones behind
//! `pobridge rows`.

use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use pobridge_core::{RowClass, RowMatcher};
use pobridge_engine::admin::{
    self, add_row_rule, remove_row_rule, remove_seen_row_rule, AddRowRule, AdminError, RowRuleView,
};
use serde::Deserialize;

use super::fields::Choice;
use super::{render_rejected, Rejected};
use crate::auth::Member;
use crate::extract::Form;
use crate::pages::settings::{audit, field_message};
use crate::render::{redirect_with_notice, PortalError};
use crate::PortalState;

/// One invoice row rule as the page lists it.
pub(super) struct RuleRow {
    pub position: usize,
    pub matcher: String,
    pub class: &'static str,
    /// The rule as [`admin::describe_rule`] words it, which the remove form
    /// posts so that the rule seen is the rule removed.
    pub text: String,
}

/// The add-rule form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub(in crate::pages::settings) struct RuleForm {
    #[serde(default)]
    pub matcher: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub position: String,
}

/// The message for each rejected field of the add-rule form.
#[derive(Debug, Clone, Default)]
pub(super) struct RuleErrors {
    pub matcher: Option<String>,
    pub value: Option<String>,
    pub class: Option<String>,
    pub position: Option<String>,
}

impl RuleErrors {
    pub fn any(&self) -> bool {
        self.matcher.is_some()
            || self.value.is_some()
            || self.class.is_some()
            || self.position.is_some()
    }
}

/// `POST /settings/defaults/rows`: adds an invoice row rule.
pub(in crate::pages::settings) async fn add_row(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<RuleForm>,
) -> Result<Response, PortalError> {
    let position = match form.position.trim() {
        "" => None,
        text => match text.parse::<usize>() {
            Ok(position) => Some(position),
            Err(_) => {
                let rule_errors = RuleErrors {
                    position: Some(format!(
                        "{text:?} is not a whole number: enter 1 to try this rule first, \
                         or leave it empty to add it last."
                    )),
                    ..RuleErrors::default()
                };
                let rejected = Rejected::rule(form, rule_errors);
                return render_rejected(&state, &member, &jar, rejected).await;
            }
        },
    };
    let request = AddRowRule {
        matcher: form.matcher.clone(),
        value: form.value.clone(),
        class: form.class.clone(),
        position,
    };

    match add_row_rule(&state.engine, member.slug(), &request).await {
        Ok(changed) => {
            let at = request.position.unwrap_or(changed.rules.len());
            let detail = format!("added rule {at}: {}", changed.rule_text(at));
            audit(&state, &member, "invoice_rows.add", detail).await?;
            Ok(redirect_with_notice("/settings/defaults", "Rule added."))
        }
        Err(error) => {
            let rule_errors = rule_errors(&error)?;
            render_rejected(&state, &member, &jar, Rejected::rule(form, rule_errors)).await
        }
    }
}

/// Places a rejected rule's message next to the field it is about.
fn rule_errors(error: &AdminError) -> Result<RuleErrors, PortalError> {
    let mut errors = RuleErrors::default();
    let message = field_message(error);
    match error {
        AdminError::Invalid {
            field: "matcher", ..
        } => errors.matcher = Some(message),
        AdminError::Invalid { field: "class", .. } => errors.class = Some(message),
        AdminError::Invalid { field: "--at", .. } => errors.position = Some(message),
        AdminError::Invalid { field: "rule", .. } => {
            errors.value = Some(
                "A rule for these rows exists already, and the first matching rule decides. \
                 Remove that rule first."
                    .to_owned(),
            );
        }
        AdminError::Invalid { .. } | AdminError::Setting(_) => errors.value = Some(message),
        _ => return Err(PortalError::Internal(format!("adding a row rule: {error}"))),
    }
    Ok(errors)
}

#[derive(Debug, Default, Deserialize)]
pub(in crate::pages::settings) struct RemoveForm {
    #[serde(default)]
    position: String,
    /// The rule's text as the page showed it. A page rendered before the
    /// form carried it posts none, and then the position alone decides.
    #[serde(default)]
    rule: String,
}

/// `POST /settings/defaults/rows/remove`: removes the rule the page showed
/// at a position, wherever it is now.
pub(in crate::pages::settings) async fn remove_row(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PortalError> {
    let position = form.position.trim().parse::<usize>().unwrap_or(0);
    let removal = if form.rule.is_empty() {
        let rules = &member.account.settings.invoice_rows;
        let text = position
            .checked_sub(1)
            .and_then(|index| rules.get(index))
            .map(admin::describe_rule)
            .unwrap_or_default();
        remove_row_rule(&state.engine, member.slug(), position)
            .await
            .map(|_| (position, text))
    } else {
        remove_seen_row_rule(&state.engine, member.slug(), position, &form.rule)
            .await
            .map(|(removed_at, _)| (removed_at, form.rule.clone()))
    };

    match removal {
        Ok((removed_at, text)) => {
            let detail = format!("removed rule {removed_at} ({text})");
            audit(&state, &member, "invoice_rows.remove", detail).await?;
            let notice = format!("Rule removed: {text}.");
            Ok(redirect_with_notice("/settings/defaults", &notice))
        }
        Err(AdminError::Invalid { .. }) => {
            let missing = if form.rule.is_empty() {
                format!("There is no rule {:?} to remove", form.position)
            } else {
                format!("The rule \"{}\" is no longer in the list", form.rule)
            };
            let rejected = Rejected {
                rules_error: Some(format!(
                    "{missing}; the list may have changed since the page was loaded. \
                     Check the list below and try again."
                )),
                ..Rejected::default()
            };
            render_rejected(&state, &member, &jar, rejected).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Lists the rules as the page shows them.
pub(super) fn rule_rows(views: &[RowRuleView]) -> Vec<RuleRow> {
    views
        .iter()
        .map(|view| RuleRow {
            position: view.position,
            matcher: matcher_text(&view.rule.matcher),
            class: class_name(view.rule.class),
            text: view.text.clone(),
        })
        .collect()
}

/// The options of the add-rule form's "Rows with" list.
pub(super) fn matcher_choices() -> Vec<Choice> {
    vec![
        Choice::new("sku", "SKU"),
        Choice::new("product", "Product ID"),
        Choice::new("nominal", "Nominal code"),
    ]
}

/// The options of the add-rule form's "Become" list.
pub(super) fn class_choices() -> Vec<Choice> {
    [
        RowClass::Line,
        RowClass::Shipping,
        RowClass::SpecialHandling,
        RowClass::Skip,
    ]
    .into_iter()
    .map(|class| Choice::new(class_word(class), class_name(class)))
    .collect()
}

fn matcher_text(matcher: &RowMatcher) -> String {
    match matcher {
        RowMatcher::Sku(sku) => format!("SKU {sku}"),
        RowMatcher::ProductId(id) => format!("Product ID {id}"),
        RowMatcher::NominalCode(code) => format!("Nominal code {code}"),
    }
}

/// Returns the word `add_row_rule` takes for a class.
fn class_word(class: RowClass) -> &'static str {
    match class {
        RowClass::Line => "line",
        RowClass::Shipping => "shipping",
        RowClass::SpecialHandling => "special-handling",
        RowClass::Skip => "skip",
    }
}

fn class_name(class: RowClass) -> &'static str {
    match class {
        RowClass::Line => "An invoice line",
        RowClass::Shipping => "The shipping charge",
        RowClass::SpecialHandling => "The special handling charge",
        RowClass::Skip => "Left off the invoice",
    }
}
