//! `view: redirect` — Django's RedirectView: to a named route (reversed with literal `args`,
//! the rest taken from this route's captures by name) or to a URL with `{capture}`
//! placeholders; 302, or 301 when `permanent`; the query string passed on when asked.

use super::context::Ctx;
use super::error::ViewError;
use super::request::Response;
use super::{Call, RouteDef};
use crate::config::Diagnostic;
use crate::routing::{quote, Args, Params, ReverseError, Router, Shape};

#[derive(Debug)]
pub enum RedirectTarget {
    /// A route name; literal arguments, the rest taken from the captures by name (those of
    /// `from_captures` that the request has: an optional group may have taken no part).
    Route {
        name: String,
        args: Params,
        from_captures: Vec<String>,
    },
    /// A URL with `{capture}` placeholders.
    Url(String),
}

/// A compiled `view: redirect`.
#[derive(Debug)]
pub struct RedirectView {
    pub target: RedirectTarget,
    /// The location, when it does not depend on the request's captures (reversed at load).
    fixed: Option<String>,
    pub permanent: bool,
    pub query_string: bool,
}

impl RedirectView {
    pub fn compile(r: &RouteDef, router: &Router, errors: &mut Vec<Diagnostic>) -> RedirectView {
        let raw = &r.raw;
        let target = match (&raw.to, &raw.url) {
            (Some(name), None) => {
                let args: Params = raw
                    .args
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect();
                let from_captures = check_route_target(r, router, name, &args, errors);
                RedirectTarget::Route {
                    name: name.clone(),
                    args,
                    from_captures,
                }
            }
            (None, Some(url)) => {
                check_placeholders(r, url, errors);
                RedirectTarget::Url(url.clone())
            }
            (Some(_), Some(_)) => {
                errors.push(r.source.diag(
                    &r.at,
                    "a redirect has either `to` (a route name) or `url`, not both",
                ));
                RedirectTarget::Url(String::new())
            }
            (None, None) => {
                errors.push(
                    r.source
                        .diag(&r.at, "a redirect needs `to` (a route name) or `url`"),
                );
                RedirectTarget::Url(String::new())
            }
        };
        // A route target whose arguments are all given in `args` goes to one place: reverse it once.
        let fixed = match &target {
            RedirectTarget::Route {
                name,
                args,
                from_captures,
            } if from_captures.is_empty() => router.reverse(name, Args::Named(args)).ok(),
            RedirectTarget::Route { .. } => None,
            RedirectTarget::Url(url) => (!url.contains('{')).then(|| url.clone()),
        };
        RedirectView {
            target,
            fixed,
            permanent: raw.permanent.unwrap_or(false),
            query_string: raw.query_string.unwrap_or(false),
        }
    }

    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let mut location = match (&self.fixed, &self.target) {
            (Some(location), _) => location.clone(),
            (
                None,
                RedirectTarget::Route {
                    name,
                    args,
                    from_captures,
                },
            ) => {
                let mut full = args.clone();
                for p in from_captures {
                    if let Some(v) = call.params.get(p) {
                        full.insert(p.clone(), v.clone());
                    }
                }
                ctx.router
                    .reverse(name, Args::Named(&full))
                    .map_err(|e| call.internal(e))?
            }
            (None, RedirectTarget::Url(url)) => fill_placeholders(url, call.params),
        };
        if let RedirectTarget::Url(written) = &self.target {
            location = confine(written, location);
        }
        let qs = &call.req.query_string;
        if self.query_string && !qs.is_empty() {
            location.push(if location.contains('?') { '&' } else { '?' });
            location.push_str(qs);
        }
        Ok(Response::redirect(
            if self.permanent { 301 } else { 302 },
            location,
        ))
    }

    /// What the routes table shows in its TARGET column.
    pub fn target(&self) -> String {
        let code = if self.permanent { 301 } else { 302 };
        match &self.target {
            RedirectTarget::Route { name, .. } => format!("{code} -> {name}"),
            RedirectTarget::Url(u) => format!("{code} -> {u}"),
        }
    }
}

/// `to:` must name a route, and the arguments of `args` and the captures a route of that name
/// takes must fit one of its forms; when they come from `args` alone, they must reverse. Gives
/// the captures the target takes that `args` does not set.
fn check_route_target(
    r: &RouteDef,
    router: &Router,
    name: &str,
    args: &Params,
    errors: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let src = &r.source;
    if router.routes_named(name).is_empty() {
        errors.push(
            src.diag(&r.key("to"), format!("no route is named `{name}`"))
                .with_hint(router.suggest(name)),
        );
        return Vec::new();
    }
    let captures = r.pattern.param_names();
    let wanted = router.takes(name);
    let from_captures: Vec<String> = wanted
        .iter()
        .filter(|w| !args.contains_key(*w) && captures.contains(w))
        .cloned()
        .collect();
    let before = errors.len();
    for w in router.required(name) {
        if !args.contains_key(&w) && !captures.contains(&w) {
            errors.push(src.diag(&r.key("to"), format!("route `{name}` needs argument `{w}`, which this route neither captures nor sets in `args`")));
        }
    }
    for k in args.keys() {
        if !wanted.contains(k) {
            errors.push(
                src.diag(
                    &r.key(&format!("args.{k}")),
                    format!("route `{name}` takes no argument `{k}`"),
                )
                .with_hint(Some(if wanted.is_empty() {
                    "it takes none".into()
                } else {
                    format!("it takes {}", wanted.join(", "))
                })),
            );
        }
    }
    if errors.len() > before {
        return from_captures;
    }
    let given: Vec<&str> = args
        .keys()
        .chain(&from_captures)
        .map(String::as_str)
        .collect();
    let result = match router.check(name, &Shape::Named(given)) {
        Ok(()) if from_captures.is_empty() => router.reverse(name, Args::Named(args)).map(drop),
        other => other,
    };
    if let Err(e) = result {
        let at = if args.is_empty() {
            r.key("to")
        } else {
            r.key("args")
        };
        errors.push(match e {
            ReverseError::Shape {
                problems, takes, ..
            } => src
                .diag(
                    &at,
                    format!("cannot reverse `{name}`: {}", problems.join("; ")),
                )
                .with_hint(Some(takes)),
            e => src.diag(&at, e.to_string()),
        });
    }
    from_captures
}

/// Every `{name}` of a `url:` must be a capture of the route.
fn check_placeholders(r: &RouteDef, url: &str, errors: &mut Vec<Diagnostic>) {
    let captures = r.pattern.param_names();
    for piece in url.split('{').skip(1) {
        if let Some(end) = piece.find('}') {
            let p = &piece[..end];
            if !captures.iter().any(|c| c == p) {
                errors.push(
                    r.source
                        .diag(
                            &r.key("url"),
                            format!("`{{{p}}}` is not captured by this route"),
                        )
                        .with_hint(Some(if captures.is_empty() {
                            "it captures nothing".into()
                        } else {
                            format!("it captures {}", captures.join(", "))
                        })),
                );
            }
        }
    }
}

/// A `url:` that is a path as written stays a path on this site once its placeholders are
/// filled: a location that would start with `//` or `/\` (which a browser reads as another
/// host) gets its second character escaped (`/%2F…`, as Django's `escape_leading_slashes`), and
/// one that would start with a scheme (`{rest}` filled with `https://…`) gets its colon
/// escaped. A `url:` written absolute or scheme-relative is the author's choice, and kept.
fn confine(written: &str, location: String) -> String {
    if has_scheme(written) || written.starts_with("//") || written.starts_with("/\\") {
        return location;
    }
    if let Some(rest) = location
        .strip_prefix("//")
        .or_else(|| location.strip_prefix("/\\"))
    {
        let second = if location.as_bytes()[1] == b'/' {
            "%2F"
        } else {
            "%5C"
        };
        return format!("/{second}{rest}");
    }
    if has_scheme(&location) {
        return location.replacen(':', "%3A", 1);
    }
    location
}

/// Whether a URL starts with a scheme (`https:`, `javascript:`), as RFC 3986 spells one.
fn has_scheme(url: &str) -> bool {
    let end = url.find([':', '/', '?', '#']);
    match end {
        Some(i) if url.as_bytes()[i] == b':' && i > 0 => {
            let scheme = &url[..i];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

/// Replace `{name}` in a redirect URL with the quoted capture.
fn fill_placeholders(url: &str, params: &Params) -> String {
    let mut out = url.to_string();
    for (k, v) in params {
        out = out.replace(
            &format!("{{{k}}}"),
            &quote(&crate::render::helpers::text(v)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_with_quoted_captures() {
        let mut params = Params::new();
        params.insert("slug".into(), json!("a b/c"));
        params.insert("year".into(), json!(2024));
        assert_eq!(
            fill_placeholders("/blog/{year}/{slug}/?x={slug}", &params),
            "/blog/2024/a%20b/c/?x=a%20b/c"
        );
        assert_eq!(fill_placeholders("/{missing}/", &params), "/{missing}/");
    }

    #[test]
    fn a_path_url_never_becomes_another_host() {
        for (written, filled, location) in [
            ("/{rest}", "//evil.example", "/%2Fevil.example"),
            ("/{rest}", "/\\evil.example", "/%5Cevil.example"),
            ("/{rest}", "/%5Cevil.example", "/%5Cevil.example"),
            ("{rest}", "https://evil.example/", "https%3A//evil.example/"),
            ("{rest}", "javascript:alert(1)", "javascript%3Aalert(1)"),
            ("/{rest}", "/docs/a:b", "/docs/a:b"),
            ("/new/{rest}", "/new//x", "/new//x"),
            (
                "https://{host}/",
                "https://evil.example/",
                "https://evil.example/",
            ),
            ("//{host}/", "//cdn.example/", "//cdn.example/"),
        ] {
            assert_eq!(
                confine(written, filled.to_string()),
                location,
                "{written} {filled}"
            );
        }
    }
}
