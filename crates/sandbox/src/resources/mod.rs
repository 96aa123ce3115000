//! Dispatches an API call to the resource that serves it. The same
//! dispatcher serves direct calls and the messages inside a multi-message.

pub(crate) mod contacts;
pub(crate) mod products;
pub(crate) mod reference;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};

use crate::account::Account;
use crate::config::SandboxConfig;
use crate::envelope::{code, Reply};
use crate::idset::{IdSet, MAX_IDS_PER_GET};
use crate::webhooks::Event;

/// One API call, with the path relative to `/public-api/{account}/`.
pub(crate) struct ApiRequest<'a> {
    pub method: Method,
    /// Path segments; a trailing slash leaves an empty last segment.
    pub segments: Vec<String>,
    /// Decoded query pairs; `+` reads as a space, as a form decoder does.
    pub query: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl<'a> ApiRequest<'a> {
    pub fn new(method: &Method, path: &str, query: Option<&str>, body: &'a [u8]) -> Self {
        let segments = path
            .trim_start_matches('/')
            .split('/')
            .map(str::to_owned)
            .collect();
        let query = query
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .unwrap_or_default();
        Self {
            method: method.clone(),
            segments,
            query,
            body,
        }
    }

    /// Returns the first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// True when `includeOptional` lists `name`.
    pub fn includes(&self, name: &str) -> bool {
        self.param("includeOptional")
            .is_some_and(|list| list.split(',').any(|item| item.trim() == name))
    }
}

/// The state a handler may change while serving one call.
pub(crate) struct Ctx<'a> {
    pub account: &'a mut Account,
    pub config: &'a SandboxConfig,
    pub now: DateTime<Utc>,
    /// Webhook events raised by this call, delivered once the lock is free.
    pub events: Vec<Event>,
}

impl<'a> Ctx<'a> {
    pub fn new(account: &'a mut Account, config: &'a SandboxConfig, now: DateTime<Utc>) -> Self {
        crate::orders::invoicing::settle_pending(account, now);
        Self {
            account,
            config,
            now,
            events: Vec::new(),
        }
    }

    pub fn raise(&mut self, full_event: &str, id: u64) {
        self.events.push(Event::new(full_event, id, self.now));
    }
}

/// Serves one API call.
pub(crate) fn dispatch(ctx: &mut Ctx<'_>, request: &ApiRequest<'_>) -> Reply {
    if crate::multi_message::is_multi_message(&request.segments) {
        return crate::multi_message::handle(ctx, request)
            .unwrap_or_else(|| unknown_resource(request));
    }
    let segments: Vec<&str> = request.segments.iter().map(String::as_str).collect();
    let Some((service, rest)) = segments.split_first() else {
        return unknown_resource(request);
    };
    let reply = match *service {
        "product-service" => products::dispatch(ctx, request, rest),
        "contact-service" => contacts::dispatch(ctx, request, rest),
        "order-service" => crate::orders::dispatch(ctx, request, rest),
        "accounting-service" | "warehouse-service" => {
            reference::dispatch(ctx, request, service, rest)
        }
        "integration-service" => crate::webhooks::dispatch(ctx, request, rest),
        _ => None,
    };
    reply.unwrap_or_else(|| unknown_resource(request))
}

fn unknown_resource(request: &ApiRequest<'_>) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        format!(
            "No resource at {} /{}",
            request.method,
            request.segments.join("/")
        ),
        "api-proxy",
    )
}

/// Parses an ID set segment, or returns the 400 reply.
pub(crate) fn parse_ids(segment: &str, message_type: &str) -> Result<IdSet, Reply> {
    IdSet::parse(segment).map_err(|e| {
        Reply::error(
            StatusCode::BAD_REQUEST,
            code::ID_SET_INVALID,
            e.to_string(),
            message_type,
        )
    })
}

/// Parses an ID set for a capped GET (orders, products, contacts).
pub(crate) fn parse_capped_ids(segment: &str, message_type: &str) -> Result<IdSet, Reply> {
    let ids = parse_ids(segment, message_type)?;
    let count = ids.ids().map_or(0, <[u64]>::len);
    if count > MAX_IDS_PER_GET {
        return Err(Reply::error(
            StatusCode::BAD_REQUEST,
            code::ID_SET_TOO_LARGE,
            format!(
                "The ID set names {count} ids; at most {MAX_IDS_PER_GET} are allowed per request"
            ),
            message_type,
        ));
    }
    Ok(ids)
}

/// Orders found records the way Brightpearl's multi-id GETs do: not by id.
/// The order is a stable hash of the id, so replies are reproducible.
pub(crate) fn unsorted<T>(mut items: Vec<(u64, T)>) -> Vec<T> {
    items.sort_by_key(|(id, _)| id.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17));
    items.into_iter().map(|(_, item)| item).collect()
}

/// Returns the id segment after a resource name: `""` when the path ends there.
pub(crate) fn id_segment<'s>(rest: &[&'s str]) -> &'s str {
    rest.first().copied().unwrap_or("")
}
