//! The client's IP address as an axum extractor, for the order endpoint's
//! and the portal's counts of failed attempts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Once;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use pobridge_core::throttle::{client_ip, TrustForwardedFor};

/// The client's IP address: with [`TrustForwardedFor`] set as a request
/// extension, the last `X-Forwarded-For` entry, else the peer address when
/// the server records it (`into_make_service_with_connect_info`), else
/// unknown.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let trusted = parts.extensions.get::<TrustForwardedFor>().is_some();
        if !trusted && parts.headers.contains_key("x-forwarded-for") {
            warn_untrusted_forwarded_for();
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok());
        Ok(Self(client_ip(peer, trusted, forwarded)))
    }
}

/// Logs once per process that requests carry `X-Forwarded-For` while it is
/// not trusted. Behind a proxy every client then shares the proxy's
/// address, so one client's failed logins or credential checks hold off
/// the others.
fn warn_untrusted_forwarded_for() {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "a request carries X-Forwarded-For, but portal.trust_forwarded_for is off, so failed \
             logins and credential checks are counted under the proxy's address; set it when \
             every request comes through a proxy that sets the header"
        );
    });
}
