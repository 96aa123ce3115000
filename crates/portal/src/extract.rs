//! Query and form extractors whose rejections are the portal's HTML error
//! page with a plain message, in place of axum's plain-text rejection.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::render::PortalError;

/// The query string parsed into `T`, like [`axum::extract::Query`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PortalError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

/// A URL-encoded form body (or the query string of a GET form) parsed
/// into `T`, like [`axum::Form`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = PortalError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PortalError> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(form_error(&rejection)),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> PortalError {
    let detail = match rejection {
        QueryRejection::FailedToDeserializeQueryString(error) => serde_detail(&error.body_text()),
        other => other.body_text(),
    };
    PortalError::BadRequest(format!(
        "The address has an invalid query string: {detail}. Use the page's own links or \
         filter form, or remove the parameter from the address."
    ))
}

fn form_error(rejection: &FormRejection) -> PortalError {
    let detail = match rejection {
        FormRejection::FailedToDeserializeForm(error) => serde_detail(&error.body_text()),
        FormRejection::FailedToDeserializeFormBody(error) => serde_detail(&error.body_text()),
        other => other.body_text(),
    };
    PortalError::BadRequest(format!(
        "The form could not be read: {detail}. Reload the page and send the form again."
    ))
}

/// Rewrites serde's message, such as "Failed to deserialize query string:
/// duplicate field `status`", as a sentence that names the parameter.
fn serde_detail(text: &str) -> String {
    let detail = text.split_once(": ").map_or(text, |(_, rest)| rest).trim();
    let quoted = |prefix: &str| {
        detail
            .strip_prefix(prefix)
            .map(|rest| rest.trim_matches('`').to_owned())
    };
    if let Some(name) = quoted("duplicate field ") {
        return format!("`{name}` is given more than once, but it takes one value");
    }
    if let Some(name) = quoted("missing field ") {
        return format!("the field `{name}` is missing");
    }
    // serde_path_to_error puts the parameter's name before the message,
    // as in "page: invalid digit found in string".
    match detail.split_once(": ") {
        Some((name, message)) if !name.contains(' ') => format!("`{name}` is invalid ({message})"),
        _ => detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::serde_detail;

    #[test]
    fn serde_detail_names_parameter() {
        let cases = [
            (
                "Failed to deserialize query string: duplicate field `status`",
                "`status` is given more than once, but it takes one value",
            ),
            (
                "Failed to deserialize form body: missing field `email`",
                "the field `email` is missing",
            ),
            (
                "Failed to deserialize query string: page: invalid digit found in string",
                "`page` is invalid (invalid digit found in string)",
            ),
            (
                "Failed to deserialize form: expected a sequence",
                "expected a sequence",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(serde_detail(text), expected, "{text}");
        }
    }
}
