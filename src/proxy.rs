//! Running behind a reverse proxy: `site.proxy` compiled, and what a request's forwarded
//! headers say once the connection's peer is known. `trellis serve` speaks plain HTTP; a proxy
//! in front of it (nginx, Caddy) terminates HTTPS and says so in a header (Django's
//! `SECURE_PROXY_SSL_HEADER`). That header, `X-Forwarded-For` and `X-Forwarded-Host` are
//! believed only on a connection from a `trusted` address: anyone else could send them.
//!
//! Pure: the server hands it the peer's address and a way to read a header, and gets a
//! [`Forwarded`] back (whether the request is secure, the client's address, the host), which
//! it keeps with the request for the security headers (HSTS only on a secure request), the
//! access log, the Host check and `Request::secure`.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::raw::RawProxy;
use crate::config::yaml::Source;
use crate::config::Diagnostic;

/// `site.proxy`, compiled.
#[derive(Debug, Clone)]
pub struct Proxy {
    trusted: Vec<IpNet>,
    /// The header's lower-case name and the value that means HTTPS.
    scheme: Option<(String, String)>,
    forwarded_for: bool,
    forwarded_host: bool,
}

impl Default for Proxy {
    fn default() -> Self {
        compile(&RawProxy::default(), None, &mut Vec::new())
    }
}

/// What the request's forwarded headers say, as far as they are believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The client's request came over HTTPS (`request.is_secure`, Django's `is_secure()`).
    pub secure: bool,
    /// The client's address: the peer's, or from `X-Forwarded-For` (`forwarded_for`).
    pub client: Option<IpAddr>,
    /// The host from `X-Forwarded-Host` (`forwarded_host`), to use instead of `Host`.
    pub host: Option<String>,
}

/// `site.proxy` into a `Proxy`; a mistake is a diagnostic under `site.proxy`. `source` is
/// absent only for the defaults.
pub fn compile(raw: &RawProxy, source: Option<&Source>, errors: &mut Vec<Diagnostic>) -> Proxy {
    let mut trusted = Vec::new();
    for (i, text) in raw.trusted.iter().enumerate() {
        match parse_net(text) {
            Some(net) => trusted.push(net),
            None => errors.extend(source.map(|s| {
                s.diag(
                    &format!("site.proxy.trusted[{i}]"),
                    format!("{text:?} is not an IP address or a CIDR block"),
                )
                .with_hint(Some(
                    "write an address (`10.0.0.5`, `::1`) or a block (`10.0.0.0/8`)".into(),
                ))
            })),
        }
    }
    let scheme = raw.scheme_header.as_ref().and_then(|h| {
        let name = h.name.trim();
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid {
            errors.extend(source.map(|s| {
                s.diag(
                    "site.proxy.scheme_header.name",
                    format!("{name:?} is not a header name"),
                )
                .with_hint(Some(
                    "name the header your proxy sets, e.g. `X-Forwarded-Proto`".into(),
                ))
            }));
            return None;
        }
        Some((name.to_ascii_lowercase(), h.value.trim().to_string()))
    });
    Proxy {
        trusted,
        scheme,
        forwarded_for: raw.forwarded_for,
        forwarded_host: raw.forwarded_host,
    }
}

/// An address (a block of one) or a CIDR block. An IPv4-mapped one (`::ffff:10.0.0.5`, how
/// a socket listening on `[::]` sees an IPv4 peer) is kept as the IPv4 block it means: peers
/// are compared in their IPv4 form (`Proxy::trusts`), so the mapped form would match none.
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    let net = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))?;
    if let IpNet::V6(v6) = net {
        if let (Some(v4), Some(len)) = (v6.addr().to_ipv4_mapped(), v6.prefix_len().checked_sub(96))
        {
            return ipnet::Ipv4Net::new(v4, len).ok().map(IpNet::V4);
        }
    }
    Some(net)
}

impl Proxy {
    /// Whether a proxy's header can make a request secure (`scheme_header` is set).
    pub fn reads_scheme(&self) -> bool {
        self.scheme.is_some()
    }

    /// Whether a block of `trusted` holds every address (`0.0.0.0/0`, `::/0`).
    pub fn trusts_everyone(&self) -> bool {
        self.trusted.iter().any(|net| net.prefix_len() == 0)
    }

    /// Whether `addr` is one of the trusted proxies.
    pub fn trusts(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.trusted.iter().any(|net| net.contains(&addr))
    }

    /// What the request's headers say, for a connection from `peer`; `header(name)` gives
    /// every value of a header (lower-case name), in order.
    pub fn read<'h>(
        &self,
        peer: Option<IpAddr>,
        header: impl Fn(&str) -> Vec<&'h str>,
    ) -> Forwarded {
        let peer = peer.map(|p| p.to_canonical());
        let mut out = Forwarded {
            secure: false,
            client: peer,
            host: None,
        };
        if !peer.is_some_and(|p| self.trusts(p)) {
            return out;
        }
        if let Some((name, value)) = &self.scheme {
            // Django compares the first of comma-separated values.
            out.secure = header(name).first().is_some_and(|v| {
                v.split(',')
                    .next()
                    .is_some_and(|first| first.trim() == value)
            });
        }
        if self.forwarded_for {
            out.client = self.client(peer, &header("x-forwarded-for"));
        }
        if self.forwarded_host {
            out.host = header("x-forwarded-host").first().map(|h| h.to_string());
        }
        out
    }

    /// The rightmost address of `X-Forwarded-For` that is not a trusted proxy: each proxy
    /// appends the address it saw, so those to its left are the client's word.
    fn client(&self, peer: Option<IpAddr>, values: &[&str]) -> Option<IpAddr> {
        let mut client = peer;
        for part in values.iter().flat_map(|v| v.split(',')).rev() {
            let Ok(addr) = part.trim().parse::<IpAddr>() else {
                break;
            };
            client = Some(addr.to_canonical());
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawSchemeHeader;

    fn proxy(trusted: &[&str]) -> Proxy {
        let raw = RawProxy {
            trusted: trusted.iter().map(|s| s.to_string()).collect(),
            scheme_header: Some(RawSchemeHeader {
                name: "X-Forwarded-Proto".into(),
                value: "https".into(),
            }),
            forwarded_for: true,
            forwarded_host: true,
        };
        let mut errors = Vec::new();
        let p = compile(&raw, None, &mut errors);
        assert_eq!(p.trusted.len(), trusted.len());
        p
    }

    fn read(p: &Proxy, peer: &str, headers: &[(&'static str, &'static str)]) -> Forwarded {
        p.read(Some(peer.parse().unwrap()), |name| {
            headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
                .collect()
        })
    }

    const ALL: &[(&str, &str)] = &[
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "203.0.113.9, 10.0.0.2"),
        ("X-Forwarded-Host", "example.org"),
    ];

    #[test]
    fn headers_are_believed_from_a_trusted_peer_only() {
        let p = proxy(&["127.0.0.0/8", "::1", "10.0.0.0/8"]);
        let from_proxy = read(&p, "127.0.0.1", ALL);
        assert_eq!(
            from_proxy,
            Forwarded {
                secure: true,
                client: Some("203.0.113.9".parse().unwrap()),
                host: Some("example.org".into()),
            }
        );
        // The IPv4-mapped form of a trusted address is trusted.
        assert!(read(&p, "::ffff:127.0.0.1", ALL).secure);
        let direct = read(&p, "198.51.100.7", ALL);
        assert_eq!(
            direct,
            Forwarded {
                secure: false,
                client: Some("198.51.100.7".parse().unwrap()),
                host: None,
            }
        );
    }

    #[test]
    fn the_scheme_is_the_first_value_and_must_match() {
        let p = proxy(&["127.0.0.1"]);
        assert!(read(&p, "127.0.0.1", &[("x-forwarded-proto", "https, http")]).secure);
        assert!(!read(&p, "127.0.0.1", &[("x-forwarded-proto", "http, https")]).secure);
        assert!(!read(&p, "127.0.0.1", &[("x-forwarded-proto", "HTTPS")]).secure);
        assert!(!read(&p, "127.0.0.1", &[]).secure);
    }

    #[test]
    fn a_forged_forwarded_for_does_not_hide_the_client() {
        let p = proxy(&["127.0.0.1"]);
        // The client sent `1.2.3.4`; the proxy appended the address it saw.
        let f = read(
            &p,
            "127.0.0.1",
            &[("x-forwarded-for", "1.2.3.4, 198.51.100.7")],
        );
        assert_eq!(f.client, Some("198.51.100.7".parse().unwrap()));
        let junk = read(&p, "127.0.0.1", &[("x-forwarded-for", "<script>")]);
        assert_eq!(junk.client, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn without_a_scheme_header_nothing_is_secure() {
        let p = Proxy::default();
        assert!(!p.reads_scheme());
        assert!(!read(&p, "127.0.0.1", ALL).secure);
        assert!(p.trusts("::1".parse().unwrap()));
        assert!(!p.trusts("192.168.1.1".parse().unwrap()));
    }

    #[test]
    fn an_ipv4_mapped_block_is_the_ipv4_block_it_maps() {
        let p = proxy(&["::ffff:10.0.0.0/104", "::ffff:192.0.2.7"]);
        assert!(p.trusts("10.1.2.3".parse().unwrap()));
        assert!(p.trusts("::ffff:192.0.2.7".parse().unwrap()));
        assert!(!p.trusts("192.0.2.8".parse().unwrap()));
        // Every IPv4 address, mapped: `check --deploy` must see it as everyone.
        assert!(proxy(&["::ffff:0:0/96"]).trusts_everyone());
    }

    #[test]
    fn a_bad_address_is_reported() {
        let raw = RawProxy {
            trusted: vec!["10.0.0.0/33".into(), "nginx".into(), "10.1.2.3".into()],
            ..RawProxy::default()
        };
        let p = compile(&raw, None, &mut Vec::new());
        assert_eq!(p.trusted.len(), 1);
    }
}
