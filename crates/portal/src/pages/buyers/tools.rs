//! A buyer's tools: removing it, sending a test order and previewing the
//! invoice of one of its purchase orders.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use pobridge_engine::admin::invoice_preview::{
    preview_invoice, BuiltPreview, InvoicePreview, PreviewOutcome,
};
use pobridge_engine::admin::test_order::{send_test_order, TestOrderOutcome, TEST_PART_ID};
use pobridge_engine::admin::{self, AdminError};
use pobridge_store::{InvoiceKind, PoFilter, PurchaseOrder};
use serde::Deserialize;

use super::{audit, find_buyer, mode_name, not_found, without_command, BuyerRow};
use crate::auth::Member;
use crate::extract::{Form, Query};
use crate::render::{page_with_layout, redirect_with_notice, Layout, PortalError};
use crate::PortalState;

#[derive(Template)]
#[template(path = "buyers_remove.html")]
struct RemovePage {
    layout: Layout,
    buyer: BuyerRow,
    /// How many purchase orders refer to the buyer.
    order_count: usize,
    problem: Option<String>,
}

async fn remove_page_for(
    state: &PortalState,
    member: &Member,
    jar: &CookieJar,
    name: &str,
    problem: Option<String>,
) -> Result<RemovePage, PortalError> {
    let view = find_buyer(state, member, name).await?;
    let filter = PoFilter {
        buyer: Some(view.id),
        ..PoFilter::default()
    };
    let orders = state
        .engine
        .store
        .list_purchase_orders(member.account.id, &filter)
        .await?;
    Ok(RemovePage {
        layout: Layout::new(member, jar, "settings"),
        buyer: BuyerRow::new(state, view),
        order_count: orders.len(),
        problem,
    })
}

/// `GET /settings/buyers/{name}/remove`: the confirmation step.
pub(super) async fn remove_page(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(name): Path<String>,
) -> Result<Response, PortalError> {
    let page = remove_page_for(&state, &member, &jar, &name, None).await?;
    Ok(page_with_layout(&page.layout.clone(), page))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RemoveForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /settings/buyers/{name}/remove`. Without `confirm=yes` it shows
/// the confirmation step and changes nothing.
pub(super) async fn remove(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(name): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, PortalError> {
    if form.confirm != "yes" {
        let page = remove_page_for(&state, &member, &jar, &name, None).await?;
        return Ok(page_with_layout(&page.layout.clone(), page));
    }

    match admin::remove_buyer(&state.engine, member.slug(), &name).await {
        Ok(()) => {}
        Err(AdminError::BuyerHasOrders { buyer, count }) => {
            let problem = format!(
                "Buyer {buyer} was not removed: {count} purchase orders refer to it. \
                 Change its credentials on its page instead."
            );
            let page = remove_page_for(&state, &member, &jar, &name, Some(problem)).await?;
            let html = page_with_layout(&page.layout.clone(), page);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
        Err(error) => return Err(not_found(error)),
    }
    audit(
        &state,
        &member,
        "buyer.remove",
        format!("removed buyer {name}"),
    )
    .await?;
    Ok(redirect_with_notice(
        "/settings/buyers",
        &format!("Buyer {name} removed."),
    ))
}

#[derive(Default, Deserialize)]
pub(super) struct TestOrderForm {
    /// The buyer's shared secret, typed to be sent with the test order.
    #[serde(default)]
    test_secret: String,
}

#[derive(Template)]
#[template(path = "buyers_test_order.html")]
struct TestOrderPage {
    layout: Layout,
    buyer: BuyerRow,
    outcome: TestOrderOutcome,
    test_part: &'static str,
}

impl TestOrderPage {
    fn buyer_mode(&self) -> &'static str {
        mode_name(self.outcome.buyer_mode)
    }

    /// Returns the path of the page of the purchase order that the test
    /// order created.
    fn order_path(&self) -> Option<String> {
        self.outcome
            .po
            .as_ref()
            .map(|(id, _)| format!("/orders/{id}"))
    }

    /// Returns whether pobridge accepted the test order with status 200.
    fn accepted(&self) -> bool {
        self.outcome
            .response
            .as_ref()
            .is_ok_and(|response| matches!(response.status, Some((200, _))))
    }

    fn order_status(&self) -> &'static str {
        self.outcome
            .po
            .as_ref()
            .map_or("", |(_, status)| status.as_str())
    }
}

/// `POST /settings/buyers/{name}/test-order`: posts a test order to the
/// buyer's order URL and shows pobridge's response.
pub(super) async fn test_order(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(name): Path<String>,
    Form(form): Form<TestOrderForm>,
) -> Result<Response, PortalError> {
    let view = find_buyer(&state, &member, &name).await?;
    let secret = Some(form.test_secret.as_str()).filter(|secret| !secret.trim().is_empty());

    let outcome = send_test_order(
        &state.engine,
        member.slug(),
        &view.name,
        &state.config.public_url,
        secret,
    )
    .await?;

    let response = match &outcome.response {
        Ok(response) => match &response.status {
            Some((code, text)) => format!("answered {code} {text}"),
            None => format!("answered HTTP {}", response.http_status),
        },
        Err(error) => error.clone(),
    };
    let detail = format!(
        "sent test order {} to buyer {}: {response}",
        outcome.order_id, view.name
    );
    audit(&state, &member, "buyer.test_order", detail).await?;

    let page = TestOrderPage {
        layout: Layout::new(&member, &jar, "settings"),
        buyer: BuyerRow::new(&state, view),
        outcome,
        test_part: TEST_PART_ID,
    };
    Ok(page_with_layout(&page.layout.clone(), page))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PreviewQuery {
    #[serde(default)]
    po: String,
}

#[derive(Template)]
#[template(path = "buyers_preview.html")]
struct PreviewPage {
    layout: Layout,
    buyer: BuyerRow,
    po: String,
    /// A problem with the PO number typed, shown next to the field.
    po_error: Option<String>,
    /// A problem with the whole preview, such as no Brightpearl connection.
    problem: Option<String>,
    preview: Option<InvoicePreview>,
    /// The buyer's latest purchase orders, to pick one from.
    recent: Vec<PurchaseOrder>,
}

impl PreviewPage {
    fn built(&self) -> Option<&BuiltPreview> {
        match &self.preview.as_ref()?.outcome {
            PreviewOutcome::Built(built) => Some(built),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self.built().map(|built| built.kind) {
            Some(InvoiceKind::Credit) => "credit",
            _ => "invoice",
        }
    }

    fn preview_path(&self, po: &PurchaseOrder) -> String {
        let query = serde_urlencoded::to_string([("po", po.number.as_str())]).unwrap_or_default();
        format!("{}/invoice-preview?{query}", self.buyer.path)
    }
}

/// Purchase orders offered for a preview.
const RECENT_ORDERS: i64 = 10;

/// `GET /settings/buyers/{name}/invoice-preview?po=NUMBER`.
pub(super) async fn invoice_preview(
    State(state): State<PortalState>,
    member: Member,
    jar: CookieJar,
    Path(name): Path<String>,
    Query(query): Query<PreviewQuery>,
) -> Result<Response, PortalError> {
    let view = find_buyer(&state, &member, &name).await?;
    let filter = PoFilter {
        buyer: Some(view.id),
        limit: Some(RECENT_ORDERS),
        ..PoFilter::default()
    };
    let recent = state
        .engine
        .store
        .list_purchase_orders(member.account.id, &filter)
        .await?;
    let mut page = PreviewPage {
        layout: Layout::new(&member, &jar, "settings"),
        po: query.po.trim().to_owned(),
        po_error: None,
        problem: None,
        preview: None,
        recent,
        buyer: BuyerRow::new(&state, view),
    };
    if page.po.is_empty() {
        return Ok(page_with_layout(&page.layout.clone(), page));
    }

    let name = page.buyer.view.name.clone();
    match preview_invoice(&state.engine, member.slug(), &name, &page.po).await {
        Ok(mut preview) => {
            for text in &mut preview.missing_for_coupa {
                *text = without_command(text);
            }
            if let PreviewOutcome::Built(built) = &mut preview.outcome {
                for text in &mut built.held_because {
                    *text = without_command(text);
                }
            }
            page.preview = Some(preview);
        }
        Err(AdminError::OrderNotFoundForBuyer { po, buyer, .. }) => {
            page.po_error = Some(format!(
                "Buyer {buyer} has no purchase order {po:?}. Check the number, or pick one below."
            ));
        }
        Err(AdminError::NotConnected(_)) => {
            page.problem = Some(
                "Brightpearl is not connected, so the order cannot be fetched. \
                 Connect it under Settings → General."
                    .to_owned(),
            );
        }
        Err(error) => return Err(error.into()),
    }
    Ok(page_with_layout(&page.layout.clone(), page))
}
