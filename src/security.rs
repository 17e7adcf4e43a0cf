//! The security headers every response Trellis writes carries: Django's defaults
//! (`X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`,
//! `Cross-Origin-Opener-Policy: same-origin`) and what `site.security` adds or changes (a
//! content security policy, HSTS, a permissions policy). They are compiled at load into plain
//! name and value pairs, checked there, so that `server.rs` only copies them onto responses
//! (and a reload that changes them takes effect with the new site).

use crate::config::raw::{FrameOptions, OpenerPolicy, RawHsts, RawSecurity, ReferrerPolicy};
use crate::config::yaml::Source;
use crate::config::Diagnostic;

/// The headers, in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    pub headers: Vec<(&'static str, String)>,
}

impl Default for SecurityHeaders {
    /// The defaults: what a site without `site.security` sends.
    fn default() -> Self {
        compile(&RawSecurity::default(), None, &mut Vec::new())
    }
}

impl SecurityHeaders {
    /// Whether any site may show the site's pages in a frame: no `X-Frame-Options` and no
    /// `frame-ancestors` in the content security policy.
    pub fn frameable(&self) -> bool {
        let header = |name: &str| self.headers.iter().find(|(n, _)| *n == name);
        header("X-Frame-Options").is_none()
            && !header("Content-Security-Policy")
                .is_some_and(|(_, p)| p.contains("frame-ancestors"))
    }

    /// Whether the site sends `Strict-Transport-Security` (says it is served over HTTPS).
    pub fn hsts(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| *name == "Strict-Transport-Security")
    }
}

/// A year, the least `max_age` the browsers' HSTS preload list accepts.
pub const YEAR: u64 = 31_536_000;

/// `site.security` into headers; a mistake is a diagnostic placed under `site.security`.
/// `source` is absent only for the defaults.
pub fn compile(
    raw: &RawSecurity,
    source: Option<&Source>,
    errors: &mut Vec<Diagnostic>,
) -> SecurityHeaders {
    let mut headers = vec![("X-Content-Type-Options", "nosniff".to_string())];
    let frame = match raw.frame_options.unwrap_or(FrameOptions::Deny) {
        FrameOptions::Deny => Some("DENY"),
        FrameOptions::SameOrigin => Some("SAMEORIGIN"),
        FrameOptions::Off => None,
    };
    headers.extend(frame.map(|v| ("X-Frame-Options", v.to_string())));
    let referrer = referrer_policy(raw.referrer_policy.unwrap_or(ReferrerPolicy::SameOrigin));
    headers.extend(referrer.map(|v| ("Referrer-Policy", v.to_string())));
    let opener = match raw
        .cross_origin_opener_policy
        .unwrap_or(OpenerPolicy::SameOrigin)
    {
        OpenerPolicy::SameOrigin => Some("same-origin"),
        OpenerPolicy::SameOriginAllowPopups => Some("same-origin-allow-popups"),
        OpenerPolicy::UnsafeNone => Some("unsafe-none"),
        OpenerPolicy::Off => None,
    };
    headers.extend(opener.map(|v| ("Cross-Origin-Opener-Policy", v.to_string())));
    if let Some(hsts) = &raw.hsts {
        if let Some(value) = hsts_value(hsts, source, errors) {
            headers.push(("Strict-Transport-Security", value));
        }
    }
    for (key, name, value) in [
        (
            "content_security_policy",
            "Content-Security-Policy",
            &raw.content_security_policy,
        ),
        (
            "permissions_policy",
            "Permissions-Policy",
            &raw.permissions_policy,
        ),
    ] {
        let Some(value) = value else { continue };
        match header_value(value) {
            Ok(()) => headers.push((name, value.trim().to_string())),
            Err(why) => errors.extend(source.map(|s| {
                s.diag(&format!("site.security.{key}"), why)
                    .with_hint(Some(format!(
                        "write the {name} header's value on one line, e.g. {}",
                        if key == "permissions_policy" {
                            "\"geolocation=(), camera=()\""
                        } else {
                            "\"default-src 'self'\""
                        }
                    )))
            })),
        }
    }
    SecurityHeaders { headers }
}

fn referrer_policy(p: ReferrerPolicy) -> Option<&'static str> {
    Some(match p {
        ReferrerPolicy::NoReferrer => "no-referrer",
        ReferrerPolicy::NoReferrerWhenDowngrade => "no-referrer-when-downgrade",
        ReferrerPolicy::Origin => "origin",
        ReferrerPolicy::OriginWhenCrossOrigin => "origin-when-cross-origin",
        ReferrerPolicy::SameOrigin => "same-origin",
        ReferrerPolicy::StrictOrigin => "strict-origin",
        ReferrerPolicy::StrictOriginWhenCrossOrigin => "strict-origin-when-cross-origin",
        ReferrerPolicy::UnsafeUrl => "unsafe-url",
        ReferrerPolicy::Off => return None,
    })
}

/// `max-age=N; includeSubDomains; preload`; preloading asks what the preload list needs.
fn hsts_value(
    hsts: &RawHsts,
    source: Option<&Source>,
    errors: &mut Vec<Diagnostic>,
) -> Option<String> {
    if hsts.preload && (!hsts.include_subdomains || hsts.max_age < YEAR) {
        errors.extend(source.map(|s| {
            s.diag(
                "site.security.hsts.preload",
                "HSTS preload needs `include_subdomains: true` and a `max_age` of at least a year",
            )
            .with_hint(Some(format!(
                "write `hsts: {{ max_age: {YEAR}, include_subdomains: true, preload: true }}`, \
                 or leave preload out"
            )))
        }));
        return None;
    }
    let mut value = format!("max-age={}", hsts.max_age);
    if hsts.include_subdomains {
        value.push_str("; includeSubDomains");
    }
    if hsts.preload {
        value.push_str("; preload");
    }
    Some(value)
}

/// A value a header can carry as written: one line of visible ASCII, not empty.
fn header_value(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("an empty policy: leave the key out to send no header".into());
    }
    match value.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        Some(c) => Err(format!(
            "{c:?} cannot be in a header: only visible ASCII characters and spaces can"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_djangos() {
        let names: Vec<_> = SecurityHeaders::default()
            .headers
            .into_iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        assert_eq!(
            names,
            [
                "X-Content-Type-Options: nosniff",
                "X-Frame-Options: DENY",
                "Referrer-Policy: same-origin",
                "Cross-Origin-Opener-Policy: same-origin"
            ]
        );
    }

    #[test]
    fn header_values_are_one_visible_line() {
        assert!(header_value("default-src 'self'; img-src *").is_ok());
        assert!(header_value("a\r\nSet-Cookie: x=1").is_err());
        assert!(header_value("  ").is_err());
        assert!(header_value("caf\u{e9}").is_err());
    }
}
