//! Cross-site request forgery protection, as Django's `CsrfViewMiddleware` does it (Django 4.1
//! and later): a 32-character secret in the `csrftoken` cookie, and in each form a token of 64
//! characters, the secret masked afresh on every render (a random mask, then each character
//! shifted by the mask's, over the 62 letters and digits), so that a page's token never
//! repeats and BREACH cannot read the secret from compressed pages.
//!
//! Every request whose method is not safe (anything but GET, HEAD, OPTIONS, TRACE) is checked
//! on every route before its view runs ([`check`]):
//! 1. an `Origin` header must name this site (`scheme://host`, the scheme the request came
//!    in by, the host it was answered for) or one of `site.security.csrf_trusted_origins`;
//!    without one, a secure request's `Referer` must be an `https` URL of this host or of a
//!    trusted origin's host ([`Trusted`], Django's `CSRF_TRUSTED_ORIGINS`, matched as
//!    `_origin_verified` and `_check_referer` match it);
//! 2. the `csrftoken` cookie must be there, and the form field `csrfmiddlewaretoken` (or the
//!    `X-CSRFToken` header) must unmask to the same secret, compared in constant time.
//!
//! A failure is a 403 with Django's reason. A template that names `csrf_token` or
//! `csrf_input` gets the token (`{{csrf_input}}` is the hidden field), and the response then
//! sets the cookie (again, as Django does, to renew its year).

use super::request::{set_cookie, Request, Response};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::hosts::validate_host;

pub const COOKIE: &str = "csrftoken";
pub const FIELD: &str = "csrfmiddlewaretoken";
const SECRET_LENGTH: usize = 32;
const TOKEN_LENGTH: usize = 2 * SECRET_LENGTH;
const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// A year, as Django's CSRF_COOKIE_AGE.
const COOKIE_AGE: u64 = 60 * 60 * 24 * 365;

/// `n` random characters from `CHARS`, from the operating system's generator (unbiased: bytes
/// past the last whole multiple of 62 are drawn again).
pub fn random_string(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        getrandom::fill(&mut buf).expect("the operating system's random generator failed");
        for &b in &buf {
            if out.len() == n {
                break;
            }
            if usize::from(b) < 256 - 256 % CHARS.len() {
                out.push(CHARS[usize::from(b) % CHARS.len()] as char);
            }
        }
    }
    out
}

fn index(c: u8) -> Option<usize> {
    CHARS.iter().position(|&x| x == c)
}

fn well_formed(token: &str) -> bool {
    (token.len() == SECRET_LENGTH || token.len() == TOKEN_LENGTH)
        && token.bytes().all(|b| index(b).is_some())
}

/// The secret masked with `mask` (Django's `_mask_cipher_secret`): the mask, then each of the
/// secret's characters shifted by the mask's.
fn mask_with(secret: &str, mask: &str) -> String {
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| {
            let (s, m) = (index(s).unwrap_or(0), index(m).unwrap_or(0));
            CHARS[(s + m) % CHARS.len()] as char
        })
        .collect();
    format!("{mask}{cipher}")
}

/// A 64-character token (well formed) back to its secret (Django's `_unmask_cipher_token`).
fn unmask(token: &str) -> String {
    let (mask, cipher) = token.split_at(SECRET_LENGTH);
    cipher
        .bytes()
        .zip(mask.bytes())
        .map(|(c, m)| {
            let (c, m) = (index(c).unwrap_or(0), index(m).unwrap_or(0));
            CHARS[(c + CHARS.len() - m) % CHARS.len()] as char
        })
        .collect()
}

/// A cookie's or a form's token as the secret it stands for: a secret as it is, a masked token
/// unmasked; `None` when it is not well formed.
fn secret_of(token: &str) -> Option<String> {
    if !well_formed(token) {
        return None;
    }
    Some(if token.len() == TOKEN_LENGTH {
        unmask(token)
    } else {
        token.to_string()
    })
}

/// Equal, in a time that does not depend on where two strings of the same length differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A fresh token for this request's secret (the cookie's, or a new one), for a page's form.
pub fn token(req: &Request) -> String {
    let secret = req.csrf.get_or_init(|| {
        req.cookie(COOKIE)
            .and_then(secret_of)
            .unwrap_or_else(|| random_string(SECRET_LENGTH))
    });
    mask_with(secret, &random_string(SECRET_LENGTH))
}

/// A page that used the token sets (or renews) the cookie holding its secret. The cookie is
/// readable by scripts, as Django's is (a page's script sends it as `X-CSRFToken`); it is
/// `Secure` on a secure request.
pub fn set_cookie_if_used(req: &Request, r: &mut Response) {
    if let Some(secret) = req.csrf.get() {
        let cookie = set_cookie(COOKIE, secret, Some(COOKIE_AGE), false, req.secure);
        r.header("Set-Cookie", cookie);
        r.vary("Cookie");
    }
}

/// A new secret in the cookie, as Django's `rotate_token` does at sign-in.
pub fn rotate(req: &Request, r: &mut Response) {
    let secret = random_string(SECRET_LENGTH);
    let cookie = set_cookie(COOKIE, &secret, Some(COOKIE_AGE), false, req.secure);
    r.header("Set-Cookie", cookie);
}

/// `site.security.csrf_trusted_origins`, compiled as Django's `CsrfViewMiddleware` reads
/// `CSRF_TRUSTED_ORIGINS`: an origin without `*` is trusted exactly; one with `*.` trusts
/// its host and every subdomain of it, at any depth, for its scheme alone; and for a secure
/// request's `Referer`, every trusted host is trusted whatever its scheme.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trusted {
    /// Origins trusted as written (lower case): `https://admin.example.com`.
    exact: Vec<String>,
    /// A wildcard origin's scheme and its host without the `*`: `("https", ".example.org")`.
    subdomains: Vec<(String, String)>,
    /// Each origin's host, the `*` taken off (`admin.example.com`, `.example.org`), for
    /// `Referer`.
    hosts: Vec<String>,
}

impl Trusted {
    /// Each origin checked (Django's check 4_0.E001: a scheme is required; and, since an
    /// origin the check would never match is a mistake, no path, and `*` only as `*.` at
    /// the host's start); a mistake is a diagnostic at its place, with the origin to write.
    pub fn compile(
        origins: Option<&[String]>,
        source: &Source,
        errors: &mut Vec<Diagnostic>,
    ) -> Trusted {
        let mut trusted = Trusted::default();
        for (i, origin) in origins.unwrap_or_default().iter().enumerate() {
            match parse_origin(origin) {
                Ok((scheme, host)) => trusted.add(scheme, host),
                Err((why, hint)) => errors.push(
                    source
                        .diag(&format!("site.security.csrf_trusted_origins[{i}]"), why)
                        .with_hint(Some(hint)),
                ),
            }
        }
        trusted
    }

    fn add(&mut self, scheme: String, host: String) {
        match host.strip_prefix('*') {
            Some(rest) => {
                self.hosts.push(rest.to_string());
                self.subdomains.push((scheme, rest.to_string()));
            }
            None => {
                self.exact.push(format!("{scheme}://{host}"));
                self.hosts.push(host);
            }
        }
    }

    /// The trusted origins served over plain HTTP, as written in `site.yaml` (lower case),
    /// for `check --deploy`.
    pub fn plain_http(&self) -> Vec<String> {
        let wildcards = self
            .subdomains
            .iter()
            .map(|(scheme, host)| format!("{scheme}://*{host}"));
        self.exact
            .iter()
            .cloned()
            .chain(wildcards)
            .filter(|o| o.starts_with("http://"))
            .collect()
    }

    /// Django's `_origin_verified`, past the site's own origin: the origin as trusted, or a
    /// wildcard's host matched by its scheme.
    fn origin(&self, origin: &str) -> bool {
        if self.exact.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            return true;
        }
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        // `urlsplit`'s netloc: up to the path, query or fragment.
        let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
        self.subdomains
            .iter()
            .any(|(s, host)| s.eq_ignore_ascii_case(scheme) && validate_host(netloc, &[host]))
    }

    /// Django's `_check_referer`'s first test: the referer's host and port are a trusted
    /// origin's host (its subdomains too, for a wildcard). `hosts::validate_host` matches as
    /// Django's `is_same_domain` does (no trusted host is `*`: `parse_origin` refuses it).
    fn referer(&self, netloc: &str) -> bool {
        validate_host(netloc, &self.hosts)
    }
}

/// `scheme://host[:port]`, lower case, or why not and what to write instead.
fn parse_origin(origin: &str) -> Result<(String, String), (String, String)> {
    let Some((scheme, host)) = origin.split_once("://") else {
        return Err((
            format!("{origin:?} has no scheme: a trusted origin starts with one (as Django 4.0 and later require)"),
            format!("write \"https://{}\"", origin.trim_start_matches('/')),
        ));
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err((
            format!("{scheme:?} is not a scheme"),
            "write the scheme the browser shows, usually `https`: \"https://example.com\"".into(),
        ));
    }
    if let Some(at) = host.find(['/', '?', '#']) {
        return Err((
            format!("{origin:?} has a path: an origin is a scheme and a host, and a browser's `Origin` never has one"),
            format!("write \"{scheme}://{}\"", &host[..at]),
        ));
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    if name.is_empty() || name.starts_with('.') || name.contains(['*', ' ', '@']) {
        return Err((
            format!("{origin:?} is not an origin with a host"),
            "`*` stands only for the subdomains, at the host's start: \"https://*.example.org\" trusts example.org and every subdomain of it".into(),
        ));
    }
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        as_browsers_write(scheme, host)?;
    }
    Ok((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// An `http` or `https` origin must be written as a browser writes `Origin` (the WHATWG URL
/// serialization: no default port, a port without leading zeros, an international name in
/// punycode), since the check compares the two as text: one written otherwise never matches.
fn as_browsers_write(scheme: &str, host: &str) -> Result<(), (String, String)> {
    let origin = format!("{scheme}://{host}");
    let (star, name) = match host.strip_prefix("*.") {
        Some(name) => ("*.", name),
        None => ("", host),
    };
    let url = url::Url::parse(&format!("{scheme}://{name}")).map_err(|e| {
        (
            format!("{origin:?} is not an origin: {e}"),
            "write a scheme and a host, and a port when it is not the scheme's: \"https://example.com:8443\"".to_string(),
        )
    })?;
    let sent = url.origin().ascii_serialization();
    let written = format!("{scheme}://{name}").to_ascii_lowercase();
    if sent == written {
        return Ok(());
    }
    let sent = sent.replacen("://", &format!("://{star}"), 1);
    Err((
        format!("{origin:?} is not how a browser writes this origin: it sends {sent:?}"),
        format!("write \"{sent}\""),
    ))
}

/// Check an unsafe request (see the module's comment); `Err` holds Django's reason for the
/// 403. Safe methods always pass.
pub fn check(req: &Request, trusted: &Trusted, header_token: Option<&str>) -> Result<(), String> {
    if req.is_safe() {
        return Ok(());
    }
    let here = format!("{}://{}", req.scheme(), req.host);
    if let Some(origin) = &req.origin {
        if !origin.eq_ignore_ascii_case(&here) && !trusted.origin(origin) {
            return Err(format!(
                "Origin checking failed - {origin} does not match any trusted origins."
            ));
        }
    } else if req.secure {
        check_referer(req, trusted)?;
    }
    let Some(cookie) = req.cookie(COOKIE) else {
        return Err("CSRF cookie not set.".into());
    };
    let Some(secret) = secret_of(cookie) else {
        return Err("CSRF cookie has incorrect length or invalid characters.".into());
    };
    let (given, from) = match (req.form_last(FIELD), header_token) {
        (Some(t), _) => (t, "POST"),
        (None, Some(t)) => (t, "the 'X-CSRFToken' HTTP header"),
        (None, None) => return Err("CSRF token missing.".into()),
    };
    if given.len() != SECRET_LENGTH && given.len() != TOKEN_LENGTH {
        return Err(format!("CSRF token from {from} has incorrect length."));
    }
    let Some(given) = secret_of(given) else {
        return Err(format!("CSRF token from {from} has invalid characters."));
    };
    if !same(&given, &secret) {
        return Err(format!("CSRF token from {from} incorrect."));
    }
    Ok(())
}

/// A secure request without `Origin`: its `Referer` must be an `https` URL of a trusted
/// origin's host or of this host.
fn check_referer(req: &Request, trusted: &Trusted) -> Result<(), String> {
    let Some(referer) = &req.referer else {
        return Err("Referer checking failed - no Referer.".into());
    };
    let Ok(url) = url::Url::parse(referer) else {
        return Err("Referer checking failed - Referer is malformed.".into());
    };
    let Some(host) = url.host_str() else {
        return Err("Referer checking failed - Referer is malformed.".into());
    };
    if url.scheme() != "https" {
        return Err("Referer checking failed - Referer is insecure while host is secure.".into());
    }
    let netloc = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    if trusted.referer(&netloc) {
        return Ok(());
    }
    let ours = req.host.strip_suffix(":443").unwrap_or(&req.host);
    if !netloc.eq_ignore_ascii_case(ours) {
        return Err(format!(
            "Referer checking failed - {referer} does not match any trusted origins."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(form: &str, cookie: Option<&str>) -> Request {
        let mut r = Request::new("POST", "/add/").with_form(form);
        if let Some(c) = cookie {
            r = r.with_cookies(&format!("{COOKIE}={c}"));
        }
        r.host = "example.com".into();
        r
    }

    /// Django's own test vector (`tests/csrf_tests/tests.py`: `MASKED_TEST_SECRET1` unmasks
    /// to `TEST_SECRET`), and masking is undone by unmasking.
    #[test]
    fn masking_matches_djangos_vectors() {
        let secret = "lcccccccX2kcccccccY2jcccccccssIC";
        let masked = "1bcdefghij2bcdefghij3bcdefghij4bcdefghij5bcdefghij6bcdefghijABCD";
        assert_eq!(unmask(masked), secret);
        assert_eq!(mask_with(secret, &masked[..SECRET_LENGTH]), masked);
    }

    #[test]
    fn each_token_differs_and_unmasks_to_the_cookies_secret() {
        let secret = random_string(SECRET_LENGTH);
        let req = post("", Some(&secret));
        let (a, b) = (token(&req), token(&req));
        assert_ne!(a, b);
        assert_eq!(unmask(&a), secret);
        assert_eq!(unmask(&b), secret);
        let mut r = Response::html(200, String::new());
        set_cookie_if_used(&req, &mut r);
        let set = &r
            .headers
            .iter()
            .find(|(n, _)| *n == "Set-Cookie")
            .unwrap()
            .1;
        assert!(set.starts_with(&format!("{COOKIE}={secret};")), "{set}");
    }

    #[test]
    fn a_good_token_passes_and_each_fault_says_why() {
        let secret = random_string(SECRET_LENGTH);
        let good = mask_with(&secret, &random_string(SECRET_LENGTH));
        let field = |t: &str| format!("{FIELD}={t}");
        assert_eq!(
            check(
                &post(&field(&good), Some(&secret)),
                &Trusted::default(),
                None
            ),
            Ok(())
        );
        // The unmasked secret is accepted too, as Django accepts it.
        assert_eq!(
            check(
                &post(&field(&secret), Some(&secret)),
                &Trusted::default(),
                None
            ),
            Ok(())
        );
        let other = mask_with(&random_string(32), &random_string(32));
        let cases = [
            (post(&field(&good), None), "CSRF cookie not set."),
            (post("", Some(&secret)), "CSRF token missing."),
            (
                post(&field(&other), Some(&secret)),
                "CSRF token from POST incorrect.",
            ),
            (
                post(&field("short"), Some(&secret)),
                "CSRF token from POST has incorrect length.",
            ),
            (
                post(&field(&"!".repeat(64)), Some(&secret)),
                "CSRF token from POST has invalid characters.",
            ),
        ];
        for (req, why) in cases {
            assert_eq!(check(&req, &Trusted::default(), None), Err(why.to_string()));
        }
        let header = post("", Some(&secret));
        assert_eq!(check(&header, &Trusted::default(), Some(&good)), Ok(()));
    }

    /// Django's `is_same_domain` (`hosts::validate_host`), and the origins `csrf_trusted_origins` takes or refuses.
    #[test]
    fn trusted_origins_match_as_djangos_do() {
        let same_domain = |host: &str, pattern: &str| validate_host(host, &[pattern]);
        assert!(same_domain("example.org", ".example.org"));
        assert!(same_domain("a.b.example.org", ".example.org"));
        assert!(!same_domain("evilexample.org", ".example.org"));
        assert!(!same_domain("example.org.evil", ".example.org"));
        assert!(same_domain("admin.example.com", "admin.example.com"));
        assert!(!same_domain("x.admin.example.com", "admin.example.com"));
        assert!(!same_domain("", ""));
        let mut t = Trusted::default();
        for origin in ["https://*.Example.org", "HTTPS://admin.example.com:8443"] {
            let (scheme, host) = parse_origin(origin).unwrap();
            t.add(scheme, host);
        }
        assert!(t.origin("https://shop.example.org"));
        assert!(!t.origin("http://shop.example.org"));
        assert!(t.origin("https://admin.example.com:8443"));
        assert!(!t.origin("https://admin.example.com"));
        assert!(t.referer("admin.example.com:8443"));
        assert!(!t.referer("admin.example.com"));
        for bad in [
            "example.com",
            "//example.com",
            "1http://example.com",
            "https://",
            "https://*",
            "https://*.",
            "https://a.*.example.org",
            "https://*example.org",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?x",
            "https://user@example.com",
            "https://.example.com",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn origin_and_referer_must_name_this_site() {
        let secret = random_string(SECRET_LENGTH);
        let form = format!("{FIELD}={secret}");
        let mut r = post(&form, Some(&secret));
        r.origin = Some("http://example.com".into());
        assert_eq!(check(&r, &Trusted::default(), None), Ok(()));
        r.origin = Some("http://evil.example".into());
        assert!(check(&r, &Trusted::default(), None)
            .unwrap_err()
            .starts_with("Origin checking failed"));
        r.origin = Some("null".into());
        assert!(check(&r, &Trusted::default(), None).is_err());
        // Secure: the scheme must match, and without Origin the Referer is required.
        r.secure = true;
        r.origin = Some("http://example.com".into());
        assert!(check(&r, &Trusted::default(), None).is_err());
        r.origin = None;
        assert_eq!(
            check(&r, &Trusted::default(), None),
            Err("Referer checking failed - no Referer.".into())
        );
        r.referer = Some("http://example.com/add/".into());
        assert!(check(&r, &Trusted::default(), None)
            .unwrap_err()
            .contains("insecure"));
        r.referer = Some("https://evil.example/add/".into());
        assert!(check(&r, &Trusted::default(), None)
            .unwrap_err()
            .contains("does not match"));
        r.referer = Some("https://example.com/add/".into());
        assert_eq!(check(&r, &Trusted::default(), None), Ok(()));
        // Plain HTTP without Origin: the token alone.
        r.secure = false;
        r.referer = None;
        assert_eq!(check(&r, &Trusted::default(), None), Ok(()));
    }
}
