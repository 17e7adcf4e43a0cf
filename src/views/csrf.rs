//! Cross-site request forgery protection, as Django's `CsrfViewMiddleware` does it (Django 4.1
//! and later): a 32-character secret in the `csrftoken` cookie, and in each form a token of 64
//! characters, the secret masked afresh on every render (a random mask, then each character
//! shifted by the mask's, over the 62 letters and digits), so that a page's token never
//! repeats and BREACH cannot read the secret from compressed pages.
//!
//! Every request whose method is not safe (anything but GET, HEAD, OPTIONS, TRACE) is checked
//! on every route before its view runs ([`check`]):
//! 1. an `Origin` header must name this site (`scheme://host`, the scheme the request came
//!    in by, the host it was answered for); without one, a secure request's `Referer` must be
//!    an `https` URL of this host;
//! 2. the `csrftoken` cookie must be there, and the form field `csrfmiddlewaretoken` (or the
//!    `X-CSRFToken` header) must unmask to the same secret, compared in constant time.
//!
//! A failure is a 403 with Django's reason. A template that names `csrf_token` or
//! `csrf_input` gets the token (`{{csrf_input}}` is the hidden field), and the response then
//! sets the cookie (again, as Django does, to renew its year).

use super::request::{set_cookie, Request, Response};

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

/// Check an unsafe request (see the module's comment); `Err` holds Django's reason for the
/// 403. Safe methods always pass.
pub fn check(req: &Request, header_token: Option<&str>) -> Result<(), String> {
    if req.is_safe() {
        return Ok(());
    }
    let here = format!("{}://{}", req.scheme(), req.host);
    if let Some(origin) = &req.origin {
        if !origin.eq_ignore_ascii_case(&here) {
            return Err(format!(
                "Origin checking failed - {origin} does not match any trusted origins."
            ));
        }
    } else if req.secure {
        check_referer(req)?;
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

/// A secure request without `Origin`: its `Referer` must be an `https` URL of this host.
fn check_referer(req: &Request) -> Result<(), String> {
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
        assert_eq!(check(&post(&field(&good), Some(&secret)), None), Ok(()));
        // The unmasked secret is accepted too, as Django accepts it.
        assert_eq!(check(&post(&field(&secret), Some(&secret)), None), Ok(()));
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
            assert_eq!(check(&req, None), Err(why.to_string()));
        }
        let header = post("", Some(&secret));
        assert_eq!(check(&header, Some(&good)), Ok(()));
    }

    #[test]
    fn origin_and_referer_must_name_this_site() {
        let secret = random_string(SECRET_LENGTH);
        let form = format!("{FIELD}={secret}");
        let mut r = post(&form, Some(&secret));
        r.origin = Some("http://example.com".into());
        assert_eq!(check(&r, None), Ok(()));
        r.origin = Some("http://evil.example".into());
        assert!(check(&r, None)
            .unwrap_err()
            .starts_with("Origin checking failed"));
        r.origin = Some("null".into());
        assert!(check(&r, None).is_err());
        // Secure: the scheme must match, and without Origin the Referer is required.
        r.secure = true;
        r.origin = Some("http://example.com".into());
        assert!(check(&r, None).is_err());
        r.origin = None;
        assert_eq!(
            check(&r, None),
            Err("Referer checking failed - no Referer.".into())
        );
        r.referer = Some("http://example.com/add/".into());
        assert!(check(&r, None).unwrap_err().contains("insecure"));
        r.referer = Some("https://evil.example/add/".into());
        assert!(check(&r, None).unwrap_err().contains("does not match"));
        r.referer = Some("https://example.com/add/".into());
        assert_eq!(check(&r, None), Ok(()));
        // Plain HTTP without Origin: the token alone.
        r.secure = false;
        r.referer = None;
        assert_eq!(check(&r, None), Ok(()));
    }
}
