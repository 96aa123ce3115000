//! The rule for the network addresses invoices may be posted to.
//!
//! Each account's staff choose their buyers' invoice URLs, so on a shared
//! installation a URL that points at the server's own network would let one
//! tenant make the server post to internal services (server-side request
//! forgery). Unless the operator allows private addresses, the Coupa client
//! rejects a URL whose host is such an address. Its DNS resolver also drops
//! such addresses from every lookup, on every new connection, so a host name
//! that resolves to one is caught too, also after its DNS record changes.

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The configuration key that allows private addresses, named in messages.
pub const ALLOW_PRIVATE_SETTING: &str = "coupa.allow_private_addresses";

/// Whether invoices may be posted to loopback, private, link-local and other
/// non-public addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrivateAddresses {
    /// Post only to public addresses.
    #[default]
    Reject,
    /// Post to any address, for a Coupa on the server's own network, such as
    /// the built-in sandbox Coupa, or for tests.
    Allow,
}

/// Names the kind of address `ip` is when invoices must not be posted to it
/// while private addresses are rejected, or returns `None` for a public
/// address.
///
/// Rejected:
/// - unspecified (0.0.0.0/8, ::) and loopback (127.0.0.0/8, ::1);
/// - private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16);
/// - shared address space (100.64.0.0/10), which carrier-grade NAT uses and
///   where Alibaba Cloud's metadata service is (100.100.100.200);
/// - link-local (169.254.0.0/16, with the cloud metadata address
///   169.254.169.254, and fe80::/10);
/// - IETF protocol assignments (192.0.0.0/24), benchmarking (198.18.0.0/15),
///   multicast, broadcast and the reserved 240.0.0.0/4;
/// - IPv6 unique-local (fc00::/7) and site-local (fec0::/10).
///
/// IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4
/// `2002:aabb:ccdd::`) are judged by that IPv4 address. A Teredo address
/// (`2001:0::/32`) is rejected when its server's or its client's IPv4
/// address would be.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => non_public_v6(ip),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [first, second, third, _] = ip.octets();
    let kind = match (first, second) {
        (0, _) => "an unspecified address",
        (127, _) => "a loopback address",
        (10, _) | (192, 168) => "a private address",
        (172, 16..=31) => "a private address",
        (100, 64..=127) => "a shared (carrier-grade NAT) address",
        (169, 254) => "a link-local address",
        (192, 0) if third == 0 => "an IETF protocol address",
        (198, 18..=19) => "a benchmarking address",
        (224..=239, _) => "a multicast address",
        (240..=255, _) => "a reserved or broadcast address",
        _ => return None,
    };
    Some(kind)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if let Some(embedded) = embedded_v4(ip) {
        return non_public_v4(embedded);
    }
    if let Some((server, client)) = teredo_v4(ip) {
        return non_public_v4(server).or(non_public_v4(client));
    }
    let first = ip.segments()[0];
    let kind = match first {
        0xfc00..=0xfdff => "a unique-local address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        _ => return None,
    };
    Some(kind)
}

/// Returns the IPv4 address that an IPv4-mapped, IPv4-compatible, NAT64
/// (64:ff9b::/96) or 6to4 (2002::/16) IPv6 address carries, since a
/// connection to it reaches that IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = ip.segments();
    let octets = ip.octets();
    let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if nat64 {
        let [.., a, b, c, d] = octets;
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    // RFC 3056: 2002:AABB:CCDD::/48 is the site behind A.B.C.D.
    if segments[0] == 0x2002 {
        return Some(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    // `to_ipv4` covers ::ffff:a.b.c.d and ::a.b.c.d. The unspecified and
    // loopback addresses, which it would also convert, are judged before.
    ip.to_ipv4()
}

/// Returns the Teredo server's and client's IPv4 addresses that a Teredo
/// (2001:0::/32) address carries. RFC 4380: the server's address is bits
/// 32 to 63, and the client's is the last 32 bits with every bit inverted.
fn teredo_v4(ip: Ipv6Addr) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let segments = ip.segments();
    if segments[..2] != [0x2001, 0] {
        return None;
    }
    let octets = ip.octets();
    let server = Ipv4Addr::new(octets[4], octets[5], octets[6], octets[7]);
    let [.., a, b, c, d] = octets;
    let client = Ipv4Addr::new(!a, !b, !c, !d);
    Some((server, client))
}

/// An invoice URL whose host is, or resolves only to, addresses that
/// private-address rejection forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRejected {
    /// The host as the URL names it.
    pub host: String,
    /// The first rejected address, or `None` for a name rejected by itself,
    /// such as `localhost`.
    pub address: Option<IpAddr>,
    /// The kind of the rejected address, as [`non_public_kind`] names it.
    pub kind: &'static str,
}

impl fmt::Display for AddressRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (host, kind) = (&self.host, self.kind);
        match self.address {
            Some(address) if *host != address.to_string() => write!(
                f,
                "the invoice URL's host {host} resolves only to non-public addresses, such \
                 as {address}, which is {kind}"
            )?,
            _ => write!(f, "the invoice URL's host {host} is {kind}")?,
        }
        write!(
            f,
            ", and this server posts invoices only to public addresses. Set the buyer's \
             invoice URL to its Coupa's public address, or, if this Coupa is on the \
             server's own network, ask the operator to set {ALLOW_PRIVATE_SETTING} = true"
        )
    }
}

impl Error for AddressRejected {}

/// Returns the rejection of `url` when its host is `localhost` (or a name
/// under `.localhost`) or a literal IP address that invoices must not be
/// posted to. Other host names pass here, without a DNS lookup, and are
/// checked by the client's resolver when the connection is made.
pub fn check_url_host(url: &reqwest::Url) -> Result<(), AddressRejected> {
    check_literal_host(url)?;
    let host = url.host_str().unwrap_or_default();
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(AddressRejected {
            host: host.to_owned(),
            address: None,
            kind: "a name of this server itself",
        });
    }
    Ok(())
}

/// Returns the rejection of `url` when its host is a literal IP address that
/// invoices must not be posted to.
pub(crate) fn check_literal_host(url: &reqwest::Url) -> Result<(), AddressRejected> {
    // The URL parser has already turned IPv4 shorthand such as `127.1` or
    // `2130706433` into dotted form, and IPv6 hosts keep their brackets.
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(address) = bare.parse::<IpAddr>() else {
        return Ok(());
    };
    match non_public_kind(address) {
        Some(kind) => Err(AddressRejected {
            host: address.to_string(),
            address: Some(address),
            kind,
        }),
        None => Ok(()),
    }
}

/// A DNS resolver that looks names up with the system resolver, as reqwest's
/// default does, and drops every non-public address from the result. It
/// fails with [`AddressRejected`] when none is left.
#[derive(Debug, Default)]
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(public_addresses(&host, found)?.into_iter());
            Ok(addrs)
        })
    }
}

/// Keeps the public addresses of `found`, or fails naming the first
/// rejected one when all are rejected. An empty lookup result stays empty,
/// so the connection fails as it does with reqwest's own resolver.
fn public_addresses(
    host: &str,
    found: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, AddressRejected> {
    let first_rejected = found
        .iter()
        .find_map(|socket| non_public_kind(socket.ip()).map(|kind| (socket.ip(), kind)));
    let public: Vec<SocketAddr> = found
        .into_iter()
        .filter(|socket| non_public_kind(socket.ip()).is_none())
        .collect();
    match first_rejected {
        Some((address, kind)) if public.is_empty() => Err(AddressRejected {
            host: host.to_owned(),
            address: Some(address),
            kind,
        }),
        _ => Ok(public),
    }
}

/// Finds an [`AddressRejected`] in the causes of `error`, where reqwest puts
/// the resolver's error.
pub(crate) fn find_rejection(error: &reqwest::Error) -> Option<&AddressRejected> {
    let mut cause: Option<&(dyn Error + 'static)> = error.source();
    while let Some(current) = cause {
        if let Some(rejected) = current.downcast_ref::<AddressRejected>() {
            return Some(rejected);
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        non_public_kind(text.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges_are_classified() {
        let cases = [
            ("0.0.0.0", Some("an unspecified address")),
            ("0.1.2.3", Some("an unspecified address")),
            ("127.0.0.1", Some("a loopback address")),
            ("127.255.255.254", Some("a loopback address")),
            ("10.0.0.1", Some("a private address")),
            ("172.16.0.1", Some("a private address")),
            ("172.31.255.255", Some("a private address")),
            ("192.168.1.1", Some("a private address")),
            ("100.64.0.1", Some("a shared (carrier-grade NAT) address")),
            (
                "100.100.100.200",
                Some("a shared (carrier-grade NAT) address"),
            ),
            (
                "100.127.255.255",
                Some("a shared (carrier-grade NAT) address"),
            ),
            ("169.254.169.254", Some("a link-local address")),
            ("192.0.0.8", Some("an IETF protocol address")),
            ("198.18.0.1", Some("a benchmarking address")),
            ("224.0.0.1", Some("a multicast address")),
            ("240.0.0.1", Some("a reserved or broadcast address")),
            ("255.255.255.255", Some("a reserved or broadcast address")),
        ];
        for (address, expected) in cases {
            assert_eq!(kind(address), expected, "{address}");
        }
    }

    #[test]
    fn ipv4_neighbours_of_ranges_are_public() {
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "11.0.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.1.1",
            "192.169.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.0.1.1",
            "198.17.0.1",
            "198.20.0.1",
            "223.255.255.255",
        ];
        for address in public {
            assert_eq!(kind(address), None, "{address}");
        }
    }

    #[test]
    fn ipv6_ranges_are_classified() {
        let cases = [
            ("::", Some("an unspecified address")),
            ("::1", Some("a loopback address")),
            ("fc00::1", Some("a unique-local address")),
            ("fd12:3456::1", Some("a unique-local address")),
            ("fe80::1", Some("a link-local address")),
            ("febf::1", Some("a link-local address")),
            ("fec0::1", Some("a site-local address")),
            ("ff02::1", Some("a multicast address")),
            ("2001:4860:4860::8888", None),
            ("2606:4700::1111", None),
            ("fbff::1", None),
        ];
        for (address, expected) in cases {
            assert_eq!(kind(address), expected, "{address}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_use_the_ipv4_rule() {
        let cases = [
            ("::ffff:127.0.0.1", Some("a loopback address")),
            ("::ffff:7f00:1", Some("a loopback address")),
            ("::ffff:10.1.2.3", Some("a private address")),
            ("::ffff:169.254.169.254", Some("a link-local address")),
            ("::ffff:0.0.0.0", Some("an unspecified address")),
            ("::127.0.0.1", Some("a loopback address")),
            ("::192.168.0.1", Some("a private address")),
            ("64:ff9b::10.0.0.1", Some("a private address")),
            ("64:ff9b::169.254.169.254", Some("a link-local address")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::8.8.8.8", None),
            ("2002:7f00:1::1", Some("a loopback address")),
            ("2002:a9fe:a9fe::", Some("a link-local address")),
            ("2002:c0a8:101:5::1", Some("a private address")),
            ("2002:808:808::1", None),
            // Teredo with server 65.54.227.120 and client 127.0.0.1 (the
            // last 32 bits inverted), then 10.0.0.1 as the server.
            (
                "2001:0:4136:e378:8000:63bf:80ff:fffe",
                Some("a loopback address"),
            ),
            (
                "2001:0:a00:1:8000:63bf:f7f7:f7f7",
                Some("a private address"),
            ),
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", None),
        ];
        for (address, expected) in cases {
            assert_eq!(kind(address), expected, "{address}");
        }
    }

    #[test]
    fn literal_hosts_are_checked_in_every_url_form() {
        let rejected = [
            "http://127.0.0.1:8080/cxml/invoices",
            "http://127.1/cxml",
            "http://2130706433/cxml",
            "http://0x7f.0.0.1/cxml",
            "https://[::1]/cxml",
            "https://[::ffff:169.254.169.254]/latest/meta-data",
            "http://0.0.0.0:80/",
            "http://localhost:8080/",
            "http://LocalHost./",
            "http://coupa.localhost/",
        ];
        for text in rejected {
            let url = reqwest::Url::parse(text).unwrap();
            assert!(check_url_host(&url).is_err(), "{text}");
        }
        for text in [
            "https://acme.coupahost.com/cxml/invoices",
            "https://localhost.example.com/",
            "https://8.8.8.8/cxml",
        ] {
            let url = reqwest::Url::parse(text).unwrap();
            assert_eq!(check_url_host(&url), Ok(()), "{text}");
        }
    }

    #[test]
    fn rejection_names_address_and_setting() {
        let url = reqwest::Url::parse("http://169.254.169.254/latest").unwrap();
        let message = check_url_host(&url).unwrap_err().to_string();

        assert!(message.contains("169.254.169.254"), "{message}");
        assert!(
            message.contains("host 169.254.169.254 is a link-local address"),
            "{message}"
        );
        assert!(message.contains(ALLOW_PRIVATE_SETTING), "{message}");
        assert!(!message.contains("resolves to"), "{message}");
    }

    #[test]
    fn resolved_addresses_keep_only_public_ones() {
        let socket = |text: &str| SocketAddr::new(text.parse().unwrap(), 0);
        let mixed = vec![socket("10.0.0.5"), socket("8.8.8.8"), socket("::1")];

        let kept = public_addresses("mixed.example", mixed).unwrap();
        assert_eq!(kept, vec![socket("8.8.8.8")]);

        let private = vec![socket("127.0.0.1"), socket("::1")];
        let rejected = public_addresses("localhost", private).unwrap_err();
        assert_eq!(rejected.address, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(rejected.kind, "a loopback address");
        let message = rejected.to_string();
        assert!(
            message.contains("host localhost resolves only to non-public addresses, such as 127.0.0.1, which is a loopback address"),
            "{message}"
        );

        let none = public_addresses("empty.example", Vec::new());
        assert_eq!(none, Ok(Vec::new()));
    }
}
