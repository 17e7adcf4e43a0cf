//! Cross-Origin Resource Sharing: which other sites' pages may read a route's answers.
//!
//! A policy is compiled at load from `site.cors` (every route's) or a route's own `cors:`
//! (which replaces it; `false` turns it off), and checked there: an origin is a scheme, a host
//! and a port, `*` stands alone and never with credentials. Off by default: with no policy
//! nothing here runs and no header is added.
//!
//! Per request, [`Cors::preflight`] answers a browser's preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) with 204 and the `Access-Control-Allow-*` headers when
//! the origin, the method and every requested header are allowed; otherwise the route answers
//! OPTIONS as it always does, without them, and the browser refuses the request.
//! [`Cors::decorate`] adds `Access-Control-Allow-Origin` (and credentials, exposed headers) to
//! every other answer of the route, errors included, for an allowed origin. A policy that
//! names its origins says `Vary: Origin` on every answer, so that a cache keeps the answers
//! for different origins (and for none) apart.
//!
//! Pure: the server copies the three request headers into [`Ask`]; nothing here knows actix.

use std::sync::Arc;

use super::request::{Request, Response};
use crate::config::raw::{RawCors, RawRouteCors};
use crate::config::yaml::Source;
use crate::config::Diagnostic;

/// What a request says about its origin: `Origin`, and for a preflight
/// `Access-Control-Request-Method` and `Access-Control-Request-Headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub origin: String,
    pub method: Option<String>,
    pub headers: Option<String>,
}

impl Ask {
    /// The request's CORS headers, when it has an `Origin` (a same-origin GET has none).
    pub fn from_headers(
        origin: Option<&str>,
        method: Option<&str>,
        headers: Option<&str>,
    ) -> Option<Ask> {
        Some(Ask {
            origin: origin?.to_string(),
            method: method.map(str::to_string),
            headers: headers.map(str::to_string),
        })
    }
}

/// A compiled CORS policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// `None`: any origin (`*`).
    origins: Option<Vec<String>>,
    /// `None`: the route's own methods.
    methods: Option<Vec<&'static str>>,
    /// Allowed request headers, lower-cased; `None`: any (`*`).
    headers: Option<Vec<String>>,
    expose: Vec<String>,
    max_age: Option<u32>,
    credentials: bool,
}

/// A route's policy: the site's, its own, or none.
#[derive(Debug, Clone, Default)]
pub enum RouteCors {
    #[default]
    Site,
    Off,
    Own(Arc<Cors>),
}

impl RouteCors {
    /// A route's `cors:` compiled; `at` is the key's YAML path.
    pub fn compile(
        raw: Option<&RawRouteCors>,
        source: &Source,
        at: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> RouteCors {
        match raw {
            None => RouteCors::Site,
            Some(RawRouteCors::Enabled(false)) => RouteCors::Off,
            Some(RawRouteCors::Enabled(true)) => {
                errors.push(
                    source
                        .diag(at, "`cors: true` says nothing: the route already follows `site.cors`")
                        .with_hint(Some(
                            "give the route its own policy (`cors: { origins: [https://app.example.org] }`), or `false` for none".into(),
                        )),
                );
                RouteCors::Off
            }
            Some(RawRouteCors::Policy(p)) => Cors::compile(p, source, at, errors)
                .map_or(RouteCors::Off, |c| RouteCors::Own(Arc::new(c))),
        }
    }

    /// The policy that applies: this route's, or else the site's.
    pub fn or<'a>(&'a self, site: Option<&'a Cors>) -> Option<&'a Cors> {
        match self {
            RouteCors::Site => site,
            RouteCors::Off => None,
            RouteCors::Own(c) => Some(c),
        }
    }
}

/// Whether `name` can be a header name: an HTTP token (RFC 9110, section 5.6.2).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Cors {
    /// `raw` checked; each mistake is a diagnostic under `at` (`site.cors`, `routes[2].cors`).
    pub fn compile(
        raw: &RawCors,
        source: &Source,
        at: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Cors> {
        let before = errors.len();
        let any_origin = raw.origins.iter().any(|o| o == "*");
        if raw.origins.is_empty() {
            errors.push(
                source
                    .diag(&format!("{at}.origins"), "no origin is allowed")
                    .with_hint(Some(
                        "list the origins (`[https://app.example.org]`), or leave `cors` out"
                            .into(),
                    )),
            );
        }
        if any_origin && raw.origins.len() > 1 {
            errors.push(
                source
                    .diag(
                        &format!("{at}.origins"),
                        "`*` allows every origin, so it stands alone",
                    )
                    .with_hint(Some(
                        "write `origins: [\"*\"]`, or list the origins without `*`".into(),
                    )),
            );
        }
        for (i, origin) in raw.origins.iter().enumerate() {
            if origin != "*" {
                if let Err((why, hint)) = check_origin(origin) {
                    errors.push(
                        source
                            .diag(&format!("{at}.origins[{i}]"), why)
                            .with_hint(Some(hint)),
                    );
                }
            }
        }
        let any_header = raw.headers.iter().flatten().any(|h| h == "*");
        for (key, list) in [
            ("headers", &raw.headers),
            ("expose_headers", &raw.expose_headers),
        ] {
            for (i, name) in list.iter().flatten().enumerate() {
                let star = name == "*" && key == "headers";
                if !star && !is_token(name) {
                    errors.push(source.diag(
                        &format!("{at}.{key}[{i}]"),
                        format!("{name:?} is not a header name"),
                    ));
                }
            }
        }
        if raw.credentials && (any_origin || any_header) {
            let what = if any_origin { "origins" } else { "headers" };
            errors.push(
                source
                    .diag(
                        &format!("{at}.credentials"),
                        format!("credentials cannot go with `*` in `{what}`: browsers refuse the answer"),
                    )
                    .with_hint(Some(format!(
                        "list the {what} a page with cookies may use, or set `credentials: false`"
                    ))),
            );
        }
        if errors.len() > before {
            return None;
        }
        Some(Cors {
            origins: (!any_origin).then(|| raw.origins.clone()),
            methods: raw
                .methods
                .as_ref()
                .map(|m| m.iter().map(|m| m.as_str()).collect()),
            headers: (!any_header).then(|| {
                raw.headers
                    .iter()
                    .flatten()
                    .map(|h| h.to_ascii_lowercase())
                    .collect()
            }),
            expose: raw.expose_headers.clone().unwrap_or_default(),
            max_age: raw.max_age,
            credentials: raw.credentials,
        })
    }

    fn allows_origin(&self, origin: &str) -> bool {
        self.origins
            .as_ref()
            .is_none_or(|list| list.iter().any(|o| o == origin))
    }

    /// The answer to a preflight this policy accepts, for a route answering `allow`; `None`
    /// when the request is no preflight, or one refused (the route then answers OPTIONS as
    /// usual, without CORS headers).
    pub fn preflight(&self, req: &Request, allow: &[&str]) -> Option<Response> {
        let ask = req.cors.as_ref()?;
        let method = ask.method.as_deref()?;
        if req.method != "OPTIONS" || !self.allows_origin(&ask.origin) {
            return None;
        }
        let methods: Vec<&str> = match &self.methods {
            Some(m) => m.clone(),
            None => allow.iter().copied().filter(|m| *m != "OPTIONS").collect(),
        };
        if !methods.contains(&method) {
            return None;
        }
        let requested: Vec<String> = ask
            .headers
            .iter()
            .flat_map(|h| h.split(','))
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if let Some(allowed) = &self.headers {
            if !requested.iter().all(|h| allowed.contains(h)) {
                return None;
            }
        }
        let mut r = Response::html(204, String::new());
        self.allow_origin(&ask.origin, &mut r);
        r.header("Access-Control-Allow-Methods", methods.join(", "));
        let headers = match &self.headers {
            // Any: the ones asked for (a literal `*` is not understood with credentials).
            None => requested.join(", "),
            Some(list) => list.join(", "),
        };
        if !headers.is_empty() {
            r.header("Access-Control-Allow-Headers", headers);
        }
        if let Some(age) = self.max_age {
            r.header("Access-Control-Max-Age", age.to_string());
        }
        self.vary(&mut r);
        Some(r)
    }

    /// The CORS headers of an answer to `req` (any answer but an accepted preflight's: a
    /// preflight here was refused, and gets none).
    pub fn decorate(&self, req: &Request, r: &mut Response) {
        self.vary(r);
        let Some(ask) = &req.cors else { return };
        let preflight = req.method == "OPTIONS" && ask.method.is_some();
        if preflight || !self.allows_origin(&ask.origin) {
            return;
        }
        self.allow_origin(&ask.origin, r);
        if !self.expose.is_empty() {
            r.header("Access-Control-Expose-Headers", self.expose.join(", "));
        }
    }

    fn allow_origin(&self, origin: &str, r: &mut Response) {
        let value = if self.origins.is_none() && !self.credentials {
            "*".to_string()
        } else {
            origin.to_string()
        };
        r.header("Access-Control-Allow-Origin", value);
        if self.credentials {
            r.header("Access-Control-Allow-Credentials", "true");
        }
    }

    /// `Vary: Origin` when the answer depends on the origin (a list of origins; `*` answers
    /// every origin the same).
    fn vary(&self, r: &mut Response) {
        if self.origins.is_none() {
            return;
        }
        r.vary("Origin");
    }
}

/// An origin as browsers send it: `https://example.org` or `http://localhost:8000`, lower
/// case, no path, no default port. The error is the message and a hint.
fn check_origin(origin: &str) -> Result<(), (String, String)> {
    if origin == "null" {
        return Err((
            "`null` is the origin of sandboxed pages and local files, which any site can make"
                .into(),
            "list the origins of the sites you trust".into(),
        ));
    }
    let Ok(url) = url::Url::parse(origin) else {
        return Err((
            format!("{origin:?} is not an origin"),
            format!("an origin starts with its scheme: `https://{origin}`"),
        ));
    };
    let serialized = url.origin().ascii_serialization();
    if !url.origin().is_tuple() || !matches!(url.scheme(), "http" | "https") {
        return Err((
            format!("{origin:?} is not an http or https origin"),
            "an origin is a scheme, a host and an optional port: `https://app.example.org`".into(),
        ));
    }
    if serialized != origin {
        return Err((
            format!("{origin:?} is not an origin as browsers send it"),
            format!(
                "write `{serialized}` (scheme, host and port only, lower case, no trailing slash)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        assert!(check_origin("https://app.example.org").is_ok());
        assert!(check_origin("http://localhost:5173").is_ok());
        for (bad, hint) in [
            (
                "https://app.example.org/",
                "write `https://app.example.org`",
            ),
            ("https://App.Example.org", "write `https://app.example.org`"),
            ("https://example.org:443", "write `https://example.org`"),
            ("https://example.org/api", "write `https://example.org`"),
            ("example.org", "`https://example.org`"),
            ("ftp://example.org", "a scheme, a host"),
            ("null", "sites you trust"),
        ] {
            let (_, h) = check_origin(bad).unwrap_err();
            assert!(h.contains(hint), "{bad}: {h}");
        }
    }

    fn policy(yaml_origins: &[&str], credentials: bool, headers: Option<Vec<&str>>) -> Cors {
        let raw = RawCors {
            origins: yaml_origins.iter().map(|s| s.to_string()).collect(),
            methods: None,
            headers: headers.map(|h| h.iter().map(|s| s.to_string()).collect()),
            expose_headers: Some(vec!["X-Total".into()]),
            max_age: Some(600),
            credentials,
        };
        let source = Source::new("site.yaml".into(), String::new());
        let mut errors = Vec::new();
        Cors::compile(&raw, &source, "site.cors", &mut errors).expect("a valid policy")
    }

    fn request(
        method: &str,
        origin: &str,
        ask_method: Option<&str>,
        headers: Option<&str>,
    ) -> Request {
        let mut r = Request::new(method, "/api/");
        r.cors = Ask::from_headers(Some(origin), ask_method, headers);
        r
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_preflight_is_answered_only_for_an_allowed_origin_method_and_headers() {
        let c = policy(&["https://a.example"], false, Some(vec!["X-Token"]));
        let allow = ["GET", "HEAD", "OPTIONS"];
        let ok = c
            .preflight(
                &request("OPTIONS", "https://a.example", Some("GET"), Some("x-token")),
                &allow,
            )
            .expect("accepted");
        assert_eq!(ok.status, 204);
        assert_eq!(
            header(&ok, "Access-Control-Allow-Origin"),
            Some("https://a.example")
        );
        assert_eq!(
            header(&ok, "Access-Control-Allow-Methods"),
            Some("GET, HEAD")
        );
        assert_eq!(header(&ok, "Access-Control-Allow-Headers"), Some("x-token"));
        assert_eq!(header(&ok, "Access-Control-Max-Age"), Some("600"));
        assert_eq!(header(&ok, "Vary"), Some("Origin"));
        assert_eq!(header(&ok, "Access-Control-Allow-Credentials"), None);
        for refused in [
            request("OPTIONS", "https://b.example", Some("GET"), None),
            request("OPTIONS", "https://a.example", Some("DELETE"), None),
            request(
                "OPTIONS",
                "https://a.example",
                Some("GET"),
                Some("x-token, x-other"),
            ),
            // Not a preflight: no Access-Control-Request-Method.
            request("OPTIONS", "https://a.example", None, None),
            request("GET", "https://a.example", Some("GET"), None),
        ] {
            assert!(
                c.preflight(&refused, &allow).is_none(),
                "{:?}",
                refused.cors
            );
        }
    }

    #[test]
    fn an_answer_names_an_allowed_origin_and_always_varies_by_origin() {
        let c = policy(&["https://a.example"], true, None);
        let mut r = Response::html(200, String::new());
        c.decorate(&request("GET", "https://a.example", None, None), &mut r);
        assert_eq!(
            header(&r, "Access-Control-Allow-Origin"),
            Some("https://a.example")
        );
        assert_eq!(header(&r, "Access-Control-Allow-Credentials"), Some("true"));
        assert_eq!(header(&r, "Access-Control-Expose-Headers"), Some("X-Total"));
        let mut refused = Response::html(200, String::new());
        c.decorate(
            &request("GET", "https://b.example", None, None),
            &mut refused,
        );
        assert_eq!(header(&refused, "Access-Control-Allow-Origin"), None);
        assert_eq!(header(&refused, "Vary"), Some("Origin"));
        let mut plain = Response::html(200, String::new());
        c.decorate(&Request::get("/api/"), &mut plain);
        assert_eq!(header(&plain, "Vary"), Some("Origin"));

        let any = policy(&["*"], false, None);
        let mut r = Response::html(200, String::new());
        any.decorate(&request("GET", "https://z.example", None, None), &mut r);
        assert_eq!(header(&r, "Access-Control-Allow-Origin"), Some("*"));
        assert_eq!(header(&r, "Vary"), None);
    }
}
