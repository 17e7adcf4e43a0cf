//! Which `Host` a site answers, as Django decides it (`django/http/request.py`): the header's
//! syntax is checked first (`split_domain_port`: a name of letters, digits, `-` and `.`, or an
//! IPv6 literal in brackets, then an optional `:port` of digits), and only a well-formed name
//! is matched against `site.allowed_hosts` (`validate_host`). With no `allowed_hosts`, only the
//! local names are answered (Django's default while DEBUG is on), so a page served on a
//! laptop cannot be read by another site through DNS rebinding. Pure functions: the server
//! asks them, `serve` asks [`is_loopback`] before it binds.

use std::net::ToSocketAddrs;

/// What `allowed_hosts` is when the site does not set it: `localhost` (and its subdomains,
/// which resolve to the loopback too), `127.0.0.1` and `[::1]`, on any port.
pub const LOCAL_HOSTS: [&str; 3] = [".localhost", "127.0.0.1", "[::1]"];

/// Django's `split_domain_port`: the lower-cased name (without a trailing dot) and port of a
/// `Host` header, or `None` when it is not a well-formed host (`evil.example/.example.org`,
/// `example.com:` with an empty port, `user@host`, a space).
pub fn split_domain_port(host: &str) -> Option<(String, &str)> {
    let (name, port) = if host.starts_with('[') {
        // `[v6]` or `[v6]:port`.
        let end = host.find(']')?;
        let (name, rest) = host.split_at(end + 1);
        let port = match rest {
            "" => "",
            _ => rest.strip_prefix(':')?,
        };
        (name, port)
    } else {
        host.rsplit_once(':').unwrap_or((host, ""))
    };
    // `:` must be followed by digits: `example.com:` has an empty port, and is refused.
    let has_colon = host.len() > name.len();
    if (has_colon && port.is_empty()) || !port.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let well_formed = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        // Django's `\[[a-f0-9]*:[a-f0-9\.:]+\]`.
        Some(v6) => {
            let (head, tail) = v6.split_once(':')?;
            head.chars().all(|c| c.is_ascii_hexdigit())
                && !tail.is_empty()
                && tail
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':')
        }
        None => {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        }
    };
    if !well_formed {
        return None;
    }
    let name = name.strip_suffix('.').unwrap_or(&name).to_string();
    Some((name, port))
}

/// Django's `validate_host` on a name from [`split_domain_port`]: a pattern is the exact name,
/// `.example.org` for the domain and its subdomains, or `*` for any name.
pub fn validate_host<S: AsRef<str>>(name: &str, allowed: &[S]) -> bool {
    !name.is_empty()
        && allowed.iter().any(|pattern| {
            let pattern = pattern.as_ref();
            pattern == "*"
                || pattern == name
                || pattern
                    .strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(pattern))
        })
}

/// Whether a request with this `Host` header is answered: well-formed, and allowed by the
/// site's `allowed_hosts` (lower-cased), or by [`LOCAL_HOSTS`] when the site sets none.
pub fn host_allowed(allowed: Option<&[String]>, host: &str) -> bool {
    let Some((name, _port)) = split_domain_port(host) else {
        return false;
    };
    match allowed {
        Some(allowed) => validate_host(&name, allowed),
        None => validate_host(&name, &LOCAL_HOSTS),
    }
}

/// Whether a `Host` header names this machine: one of [`LOCAL_HOSTS`] (the debug page is shown
/// only to such requests).
pub fn is_local_host(host: &str) -> bool {
    split_domain_port(host).is_some_and(|(name, _port)| validate_host(&name, &LOCAL_HOSTS))
}

/// Whether every address `addr` (`127.0.0.1:8000`, `localhost:0`, `[::1]:80`) stands for is a
/// loopback one; an address that does not resolve is not.
pub fn is_loopback(addr: &str) -> bool {
    match addr.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

/// Why `serve` will not listen on `addr` for a site without `allowed_hosts`.
pub fn refusal(addr: &str) -> String {
    format!(
        "refusing to serve on {addr} without `allowed_hosts`: only requests for localhost, 127.0.0.1 and [::1] would be answered\n  \
         = help: name the site's hosts under `site:` in site.yaml, e.g. `allowed_hosts: [example.org, .example.org]` \
         (or `allowed_hosts: [\"*\"]` to answer any Host, knowingly); or serve on 127.0.0.1"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_split_as_in_django() {
        for (host, split) in [
            ("example.com", Some(("example.com", ""))),
            ("EXAMPLE.com:8000", Some(("example.com", "8000"))),
            ("example.com.", Some(("example.com", ""))),
            ("[::1]:8000", Some(("[::1]", "8000"))),
            ("[::1]", Some(("[::1]", ""))),
            ("[2001:db8::1]", Some(("[2001:db8::1]", ""))),
            ("127.0.0.1:80", Some(("127.0.0.1", "80"))),
            ("example.com:", None),
            ("example.com:80:80", None),
            ("example.com:8o", None),
            ("evil.example/.example.org", None),
            ("evil.example?.example.org", None),
            ("evil.example#.example.org", None),
            ("evil.example@.example.org", None),
            ("evil.example .example.org", None),
            ("evil.example\\.example.org", None),
            ("user@example.org", None),
            ("", None),
            (":80", None),
            ("[::1", None),
            ("[::1]x", None),
            ("[::1]:", None),
            ("[zz::1]", None),
            ("exämple.org", None),
        ] {
            let got = split_domain_port(host);
            let got = got.as_ref().map(|(n, p)| (n.as_str(), *p));
            assert_eq!(got, split, "{host:?}");
        }
    }

    #[test]
    fn hosts_match_as_in_django() {
        let allowed: Vec<String> = ["example.com", ".example.org", "[::1]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (host, ok) in [
            ("example.com", true),
            ("EXAMPLE.com:8000", true),
            ("www.example.com", false),
            ("example.org", true),
            ("a.b.example.org", true),
            ("badexample.org", false),
            ("[::1]:8000", true),
            ("evil.com", false),
            ("example.com.", true),
            ("evil.example/.example.org", false),
            ("example.com:", false),
        ] {
            assert_eq!(host_allowed(Some(&allowed), host), ok, "{host}");
        }
        assert!(host_allowed(Some(&["*".to_string()]), "anything"));
        assert!(!host_allowed(Some(&["*".to_string()]), "any/thing"));
    }

    #[test]
    fn without_allowed_hosts_only_local_names_are_answered() {
        for (host, ok) in [
            ("localhost", true),
            ("localhost:8000", true),
            ("app.localhost", true),
            ("127.0.0.1:8000", true),
            ("[::1]:8000", true),
            ("attacker.example", false),
            ("127.0.0.2", false),
            ("localhost.attacker.example", false),
        ] {
            assert_eq!(host_allowed(None, host), ok, "{host}");
        }
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1:0"));
        assert!(is_loopback("[::1]:8000"));
        assert!(!is_loopback("0.0.0.0:8000"));
        assert!(!is_loopback("192.0.2.1:80"));
        assert!(!is_loopback("not an address"));
    }
}
