//! Who is asking: the reader's address (for rate limits and view counting) and user agent.
//!
//! Behind reverse proxies the connecting peer is the nearest proxy, and the reader's address is in
//! `X-Forwarded-For`. Every proxy appends the address it was connected from, so the header reads
//! left to right from the furthest hop to the nearest, and everything left of what our own proxies
//! wrote is whatever the client chose to send. We therefore read it from the right, skip only the
//! hops we trust, and take the first address that is not one of them. The header counts only when
//! the connecting peer is itself a trusted proxy; otherwise a reader talking to us directly could
//! name any address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};

use super::AppState;

#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub user_agent: String,
}

/// Longest user agent kept; longer ones are cut (and are not taken for a browser's).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// At most this many `X-Forwarded-For` entries are examined, from the right: no real chain of
/// proxies is longer, and a client padding the header must not cost us parsing time.
const MAX_FORWARDED_HOPS: usize = 32;

impl<S> FromRequestParts<S> for Client
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or_else(|| {
            tracing::warn!("request without a peer address; treating it as 0.0.0.0");
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        });
        let trust = ProxyTrust::from_settings(&state.settings.server);
        let ip = trust.client_address(peer, &parts.headers);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(MAX_USER_AGENT_CHARS)
            .collect();
        Ok(Self { ip, user_agent })
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket reports an IPv4
/// peer) is the IPv4 address, so limits and trusted networks treat both spellings alike.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpNetwork {
    base: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address or a network such as 10.0.0.0/8 or 2001:db8::/32")]
pub struct InvalidNetwork(String);

impl IpNetwork {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = InvalidNetwork;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidNetwork(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let base = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let longest = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| invalid())?
            }
            Some(_) => return Err(invalid()),
            None => longest,
        };
        if prefix > longest {
            return Err(invalid());
        }
        Ok(Self { base, prefix })
    }
}

impl TryFrom<String> for IpNetwork {
    type Error = InvalidNetwork;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl From<IpNetwork> for String {
    fn from(network: IpNetwork) -> Self {
        network.to_string()
    }
}

/// Which hops in front of us are our own proxies, from `server.trusted_proxies`,
/// `server.proxy_hops` and the deprecated `server.trust_forwarded_for` (one hop).
#[derive(Debug, Clone, Copy)]
pub struct ProxyTrust<'a> {
    /// How many hops, counting the connecting peer, are ours; with `networks` set, the most of
    /// them that are skipped (0: no limit).
    hops: usize,
    /// When not empty, a hop is ours only if its address is in one of these.
    networks: &'a [IpNetwork],
}

impl<'a> ProxyTrust<'a> {
    pub fn new(hops: usize, networks: &'a [IpNetwork]) -> Self {
        Self { hops, networks }
    }

    pub fn from_settings(server: &'a crate::config::ServerSettings) -> Self {
        Self::new(server.effective_proxy_hops() as usize, &server.trusted_proxies)
    }

    fn trusts_nothing(&self) -> bool {
        self.hops == 0 && self.networks.is_empty()
    }

    /// Whether the hop `position` places from us (0: the connecting peer) at `ip` is our proxy.
    fn is_proxy(&self, position: usize, ip: IpAddr) -> bool {
        let within_hops = self.hops == 0 || position < self.hops;
        if self.networks.is_empty() { within_hops } else { within_hops && self.networks.iter().any(|n| n.contains(ip)) }
    }

    /// The reader's address: the connecting peer, unless it is one of our proxies, in which case
    /// the right-most `X-Forwarded-For` entry that is not one of our proxies. When the entries
    /// run out, or one cannot be read, the last address a trusted proxy vouched for is used: what
    /// lies to its left was written by the client.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if self.trusts_nothing() || !self.is_proxy(0, peer) {
            return peer;
        }
        // Several X-Forwarded-For fields are one list, in order (RFC 9110, section 5.3).
        let fields: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let mut entries = fields.iter().rev().flat_map(|field| field.rsplit(',')).take(MAX_FORWARDED_HOPS);
        let mut current = peer;
        let mut position = 0;
        while self.is_proxy(position, current) {
            let Some(next) = entries.next().and_then(parse_forwarded_entry) else { return current };
            current = next;
            position += 1;
        }
        current
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it. Anything else (`unknown`, an obfuscated
/// identifier, garbage) is `None`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(canonical(ip))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn nets(list: &[&str]) -> Vec<IpNetwork> {
        list.iter().map(|n| n.parse().expect("network")).collect()
    }

    fn headers(fields: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for field in fields {
            map.append("x-forwarded-for", HeaderValue::from_str(field).expect("header"));
        }
        map
    }

    fn client(hops: usize, networks: &[IpNetwork], peer: &str, fields: &[&str]) -> IpAddr {
        ProxyTrust::new(hops, networks).client_address(ip(peer), &headers(fields))
    }

    #[test]
    fn networks_parse_and_match() {
        let net: IpNetwork = "10.0.0.0/8".parse().expect("parses");
        assert!(net.contains(ip("10.200.1.2")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6 is the IPv4 address");
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(!net.contains(ip("::1")));
        let single: IpNetwork = "127.0.0.1".parse().expect("a bare address");
        assert!(single.contains(ip("127.0.0.1")) && !single.contains(ip("127.0.0.2")));
        let v6: IpNetwork = "2001:db8::/32".parse().expect("parses");
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let all: IpNetwork = "0.0.0.0/0".parse().expect("parses");
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/-1", "garbage", "", "10.0.0.0/8/8"] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn nothing_trusted_means_the_peer() {
        assert_eq!(client(0, &[], "198.51.100.7", &["203.0.113.1"]), ip("198.51.100.7"));
    }

    #[test]
    fn one_hop_takes_the_right_most_entry_and_ignores_spoofed_ones_to_its_left() {
        assert_eq!(client(1, &[], "127.0.0.1", &["203.0.113.1"]), ip("203.0.113.1"));
        assert_eq!(client(1, &[], "127.0.0.1", &["6.6.6.6, 203.0.113.1"]), ip("203.0.113.1"));
        assert_eq!(
            client(1, &[], "127.0.0.1", &["6.6.6.6", "203.0.113.1"]),
            ip("203.0.113.1"),
            "two fields are one list"
        );
        assert_eq!(client(1, &[], "127.0.0.1", &[]), ip("127.0.0.1"), "no header: the peer");
    }

    #[test]
    fn two_hops_skip_the_nearest_proxy_entry() {
        assert_eq!(client(2, &[], "127.0.0.1", &["6.6.6.6, 203.0.113.1, 10.0.0.5"]), ip("203.0.113.1"));
        // Fewer entries than hops: the left-most one a proxy wrote.
        assert_eq!(client(2, &[], "127.0.0.1", &["203.0.113.1"]), ip("203.0.113.1"));
    }

    #[test]
    fn networks_skip_only_trusted_addresses_and_need_a_trusted_peer() {
        let ours = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        assert_eq!(client(0, &ours, "127.0.0.1", &["6.6.6.6, 203.0.113.1, 10.1.2.3"]), ip("203.0.113.1"));
        assert_eq!(
            client(0, &ours, "198.51.100.7", &["203.0.113.1"]),
            ip("198.51.100.7"),
            "an untrusted peer's header does not count"
        );
        // A client naming one of our proxies on the left does not get further than itself.
        assert_eq!(client(0, &ours, "127.0.0.1", &["10.9.9.9, 203.0.113.1"]), ip("203.0.113.1"));
        // Everything trusted: the furthest trusted hop.
        assert_eq!(client(0, &ours, "127.0.0.1", &["10.1.1.1, 10.2.2.2"]), ip("10.1.1.1"));
        // Hops and networks together: a hop must be both within the count and in a network.
        assert_eq!(client(1, &ours, "127.0.0.1", &["203.0.113.1, 10.1.2.3"]), ip("10.1.2.3"));
    }

    #[test]
    fn garbage_stops_at_the_last_vouched_address() {
        assert_eq!(client(1, &[], "127.0.0.1", &["unknown"]), ip("127.0.0.1"));
        assert_eq!(client(1, &[], "127.0.0.1", &["203.0.113.1, not-an-address"]), ip("127.0.0.1"));
        assert_eq!(client(1, &[], "127.0.0.1", &[""]), ip("127.0.0.1"));
        assert_eq!(client(2, &[], "127.0.0.1", &["garbage, 10.0.0.5"]), ip("10.0.0.5"));
        assert_eq!(client(1, &[], "127.0.0.1", &["203.0.113.1:4711"]), ip("203.0.113.1"), "a port is allowed");
    }

    #[test]
    fn ipv6_entries_and_peers() {
        assert_eq!(client(1, &[], "::1", &["2001:db8::7"]), ip("2001:db8::7"));
        assert_eq!(client(1, &[], "::1", &["[2001:db8::7]:443"]), ip("2001:db8::7"));
        assert_eq!(client(1, &[], "::1", &["::ffff:203.0.113.1"]), ip("203.0.113.1"));
        let ours = nets(&["fd00::/8"]);
        assert_eq!(client(0, &ours, "fd00::1", &["2001:db8::7, fd00::2"]), ip("2001:db8::7"));
        assert_eq!(client(0, &ours, "::ffff:127.0.0.1", &["2001:db8::7"]), ip("127.0.0.1"), "mapped peer untrusted");
    }

    #[test]
    fn too_many_entries_are_not_all_read() {
        let ours = nets(&["10.0.0.0/8"]);
        let mut chain: Vec<String> = vec!["203.0.113.1".into()];
        chain.extend((0..100).map(|n| format!("10.0.{}.{}", n / 256, n % 256)));
        let field = chain.join(", ");
        // 100 trusted hops are more than we follow: the client is not reached, and the answer is
        // the furthest trusted hop we did read, never an address the client chose.
        let found = client(0, &ours, "10.255.255.255", &[&field]);
        assert!(ours[0].contains(found), "{found}");
        let spoofed = format!("{}, 203.0.113.1", vec!["6.6.6.6"; 1000].join(", "));
        assert_eq!(client(1, &[], "127.0.0.1", &[&spoofed]), ip("203.0.113.1"));
    }
}
