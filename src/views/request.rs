//! The request as views see it and the response they answer with: plain values, nothing of
//! actix. The server builds a `Request` from the wire and turns a `Response` back into HTTP;
//! the in-process tests build one with `Request::new`. Also the URL pieces every view kind
//! shares: Django's path decoding and quoting, and the request's URL with a parameter changed.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// A request as views see it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Upper-case method; HEAD is answered as GET and the server drops the body.
    pub method: String,
    /// The percent-decoded path, with its leading slash.
    pub path: String,
    /// The query string as received, without `?`.
    pub query_string: String,
    /// Decoded query pairs, in order, repeated keys kept.
    pub pairs: Vec<(String, String)>,
    /// The client's request came over HTTPS, as a trusted proxy says (`site.proxy`; Django's
    /// `is_secure()`): templates see it as `request.is_secure` and `request.scheme`, and a
    /// cookie set on this request must then be `Secure`.
    pub secure: bool,
    /// `Origin` and a preflight's `Access-Control-Request-*` headers, when the request has an
    /// `Origin` (the server sets it; see `cors`).
    pub cors: Option<super::cors::Ask>,
    /// The body's fields, decoded, in order, repeated keys kept: read only for a method that
    /// may carry one (not GET, HEAD, OPTIONS) sent as `application/x-www-form-urlencoded`,
    /// within `site.limits.body_bytes` (the server answers 413 beyond).
    pub form: Vec<(String, String)>,
    /// The request's cookies (`Cookie` header), in order; a malformed pair is skipped, as
    /// Django's `parse_cookie` skips it.
    pub cookies: Vec<(String, String)>,
    /// The `Origin` and `Referer` headers and the host the request was answered for (the Host
    /// header, or a trusted proxy's forwarded host): what the CSRF check compares.
    pub origin: Option<String>,
    pub referer: Option<String>,
    pub host: String,
    /// The `X-CSRFToken` header: a script's way to send the CSRF token.
    pub csrf_header: Option<String>,
    /// The CSRF secret this request uses: the `csrftoken` cookie's when it holds a well-formed
    /// one, else one made the first time a page asks for a token (and then set as the cookie on
    /// the response). See `csrf`.
    pub csrf: std::cell::OnceCell<String>,
    /// The client's address: the peer's, or a trusted proxy's `X-Forwarded-For`
    /// (`site.proxy.forwarded_for`), never a header from an untrusted client. Sign-in counts
    /// failures per address with it.
    pub client: Option<String>,
    /// The request's session once read (`auth::session`): `Some(None)` when it has none.
    pub session: std::cell::OnceCell<Option<crate::auth::Session>>,
    /// Every header, name (lower case) and value, for the debug page alone: the server copies
    /// them only when a failure may show that page, so it is empty on any other server.
    pub headers: Vec<(String, String)>,
    /// What the request read from and added to the `messages` cookie of a visitor without a
    /// session (`auth::flash`), written on the answer.
    pub flash: std::cell::RefCell<crate::auth::flash::Flash>,
}

impl Request {
    /// A request as the server builds it from a method and a request target
    /// (`/path?query`): the path percent-decoded (a malformed one is kept raw), the query
    /// pairs decoded with repeated keys kept. The in-process tests use it to ask a site what
    /// the wire would.
    pub fn new(method: &str, target: &str) -> Request {
        let (raw_path, query_string) = target.split_once('?').unwrap_or((target, ""));
        Request::from_parts(&method.to_ascii_uppercase(), raw_path, query_string).0
    }

    /// A request from its method, its path as received (percent-encoded) and its query string,
    /// as the server has them; with the reason the path cannot be decoded, when it cannot (the
    /// request then keeps the raw path, for the 400 page to show).
    pub fn from_parts(
        method: &str,
        raw_path: &str,
        query_string: &str,
    ) -> (Request, Option<&'static str>) {
        let (path, undecodable) = match decode_path(raw_path) {
            Ok(p) => (p, None),
            Err(why) => (raw_path.to_string(), Some(why)),
        };
        let pairs = form_urlencoded::parse(query_string.as_bytes())
            .into_owned()
            .collect();
        let request = Request {
            method: method.to_string(),
            path,
            query_string: query_string.to_string(),
            pairs,
            secure: false,
            cors: None,
            form: Vec::new(),
            cookies: Vec::new(),
            origin: None,
            referer: None,
            host: String::new(),
            csrf_header: None,
            csrf: std::cell::OnceCell::new(),
            client: None,
            session: std::cell::OnceCell::new(),
            headers: Vec::new(),
            flash: Default::default(),
        };
        (request, undecodable)
    }

    /// This request with a form body (`a=1&b=2`, as `application/x-www-form-urlencoded`).
    pub fn with_form(mut self, body: &str) -> Request {
        self.form = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        self
    }

    /// This request with the cookies of a `Cookie` header (`a=1; b=2`).
    pub fn with_cookies(mut self, header: &str) -> Request {
        self.cookies = parse_cookies(header);
        self
    }

    /// The value of a cookie (the first of that name, as browsers send the most specific first).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last value of a form field.
    pub fn form_last(&self, name: &str) -> Option<&str> {
        last_of(&self.form, name)
    }

    /// Whether the method is one HTTP calls safe (RFC 9110, 9.2.1): it never writes, and needs
    /// no CSRF token.
    pub fn is_safe(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
    }

    /// `http` or `https` (Django's `request.scheme`).
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }

    /// `Request::new("GET", target)`.
    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    /// The path (quoted) and query string, as Django's `get_full_path` (the query string
    /// through `iri_to_uri`), except that a leading `//` is `/%2F` (see [`escape_uri_path`]).
    pub fn full_path(&self) -> String {
        let mut s = escape_uri_path(&self.path);
        if !self.query_string.is_empty() {
            s.push('?');
            s.extend(utf8_percent_encode(&self.query_string, IRI_TO_URI));
        }
        s
    }

    /// The path quoted as Python's `urllib.parse.quote` quotes it (every byte but ASCII
    /// letters, digits, `_.-~` and `/` escaped): Django's `request_path` on its 404 page.
    pub fn quoted_path(&self) -> String {
        utf8_percent_encode(&self.path, PYTHON_QUOTE).to_string()
    }

    /// Every value of a query parameter, in order.
    pub fn values<'a>(&'a self, name: &str) -> Vec<&'a str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The last value of a query parameter (Django's `QueryDict.get`).
    pub fn last(&self, name: &str) -> Option<&str> {
        last_of(&self.pairs, name)
    }

    /// This request's URL with `drop` removed and `set` (a key and its value) put last, other
    /// parameters kept: the links of a page of rows.
    pub fn url_with(&self, set: Option<(&str, &str)>, drop: &[&str]) -> String {
        self.url_at(&self.path, set, drop)
    }

    /// [`Request::url_with`], at another (decoded) path: a list's page `…/page/2/`.
    pub fn url_at(&self, path: &str, set: Option<(&str, &str)>, drop: &[&str]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if set.is_none_or(|(key, _)| k != key) && !drop.contains(&k.as_str()) {
                s.append_pair(k, v);
            }
        }
        if let Some((key, value)) = set {
            s.append_pair(key, value);
        }
        let path = escape_uri_path(path);
        match s.finish() {
            qs if qs.is_empty() => path,
            qs => format!("{path}?{qs}"),
        }
    }
}

/// The last value of `name` among decoded pairs.
fn last_of<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A `Cookie` header's pairs, as Django's `parse_cookie`: split on `;`, each trimmed, a pair
/// without `=` taken as a value with an empty name; surrounding double quotes taken off.
pub fn parse_cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|chunk| {
            let (name, value) = chunk.split_once('=').unwrap_or(("", chunk));
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() && value.is_empty() {
                return None;
            }
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// A `Set-Cookie` header's value: the cookie for the whole site (`Path=/`), `SameSite=Lax`,
/// `Secure` on a secure request, `HttpOnly` when scripts need not read it; `max_age` in
/// seconds (`Some(0)` deletes it, `None` lasts the browser's session). The name and value are
/// Trellis's own (tokens and ids of letters and digits), never a request's.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: Option<u64>,
    http_only: bool,
    secure: bool,
) -> String {
    let mut s = format!("{name}={value}; Path=/; SameSite=Lax");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        s.push_str("; HttpOnly");
    }
    if secure {
        s.push_str("; Secure");
    }
    s
}

/// A response ready to be sent.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// The rest of the body, read chunk by chunk after `body` is sent (a CSV export).
    pub stream: Option<super::csv::Stream>,
}

pub const HTML: &str = "text/html; charset=utf-8";

impl Response {
    pub fn html(status: u16, body: String) -> Response {
        Response {
            status,
            content_type: HTML.into(),
            headers: Vec::new(),
            body,
            stream: None,
        }
    }

    pub fn redirect(status: u16, location: String) -> Response {
        Response {
            status,
            content_type: HTML.into(),
            headers: vec![("Location", location)],
            body: String::new(),
            stream: None,
        }
    }

    /// Add the header `name: value` (after any of the same name: `Set-Cookie` may come twice).
    pub fn header(&mut self, name: &'static str, value: impl Into<String>) {
        self.headers.push((name, value.into()));
    }

    /// Whether the response has a header `name` (any case).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Add `header` to the response's `Vary` (one header, names joined, each once).
    pub fn vary(&mut self, header: &str) {
        match self.headers.iter_mut().find(|(name, _)| *name == "Vary") {
            Some((_, v)) if v.split(',').any(|h| h.trim().eq_ignore_ascii_case(header)) => {}
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(header);
            }
            None => self.header("Vary", header),
        }
    }

    pub fn json(status: u16, v: &serde_json::Value) -> Response {
        Response {
            status,
            content_type: "application/json".into(),
            headers: Vec::new(),
            body: serde_json::to_string_pretty(v).unwrap_or_default(),
            stream: None,
        }
    }
}

/// Percent-decode a request path as Django does before matching (`%2F` becomes `/`). A
/// malformed escape or bytes that are not UTF-8 are refused with the reason.
pub fn decode_path(raw: &str) -> Result<String, &'static str> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                _ => return Err("the path has a malformed percent-escape"),
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the path is not valid UTF-8")
}

/// Django's `escape_uri_path`: quote a decoded path for a Location header.
const URI_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'+')
    .remove(b'$')
    .remove(b',')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// A local URL that may hold text that is not ASCII as a URI (Django's `iri_to_uri`): what a
/// `Location` header can carry.
pub fn iri_to_uri(iri: &str) -> String {
    utf8_percent_encode(iri, IRI_TO_URI).to_string()
}

/// Django's `iri_to_uri`: `quote(iri, safe="/#%[]=:;$&()+,!?*@'~")`.
const IRI_TO_URI: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'#')
    .remove(b'%')
    .remove(b'[')
    .remove(b']')
    .remove(b'=')
    .remove(b':')
    .remove(b';')
    .remove(b'$')
    .remove(b'&')
    .remove(b'(')
    .remove(b')')
    .remove(b'+')
    .remove(b',')
    .remove(b'!')
    .remove(b'?')
    .remove(b'*')
    .remove(b'@')
    .remove(b'\'')
    .remove(b'~')
    .remove(b'_')
    .remove(b'.')
    .remove(b'-');

/// Python's `urllib.parse.quote` with its default `safe='/'`.
const PYTHON_QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// Quote a decoded path; a leading `//` becomes `/%2F` so that it cannot be read as another
/// host (Django's `escape_leading_slashes`).
pub fn escape_uri_path(path: &str) -> String {
    let quoted = utf8_percent_encode(path, URI_PATH).to_string();
    match quoted.strip_prefix("//") {
        Some(rest) => format!("/%2F{rest}"),
        None => quoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_path_as_django() {
        assert_eq!(decode_path("/a%20b/").unwrap(), "/a b/");
        assert_eq!(decode_path("/a%2Fb/").unwrap(), "/a/b/");
        assert_eq!(decode_path("/caf%C3%A9/").unwrap(), "/café/");
        assert!(decode_path("/%zz/").is_err());
        assert!(decode_path("/%4").is_err());
        assert!(decode_path("/%FF/").is_err());
    }

    #[test]
    fn a_leading_double_slash_is_never_another_host() {
        for (path, quoted) in [
            ("/a b/", "/a%20b/"),
            ("//evil.example/", "/%2Fevil.example/"),
            ("/café/", "/caf%C3%A9/"),
            ("/x?y#z", "/x%3Fy%23z"),
        ] {
            assert_eq!(escape_uri_path(path), quoted, "{path}");
        }
    }

    #[test]
    fn a_request_target_is_split_and_decoded() {
        let r = Request::new("get", "/caf%C3%A9/?a=1&b=x+y&a=2");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/café/");
        assert_eq!(r.query_string, "a=1&b=x+y&a=2");
        assert_eq!(r.values("a"), ["1", "2"]);
        assert_eq!(r.last("a"), Some("2"));
        assert_eq!(r.last("b"), Some("x y"));
        assert_eq!(r.full_path(), "/caf%C3%A9/?a=1&b=x+y&a=2");
    }

    /// Django's answers: `RequestFactory().get("/p/")` with `META["QUERY_STRING"]` set, then
    /// `get_full_path()` (Django 5.2).
    #[test]
    fn full_path_quotes_the_query_as_djangos_iri_to_uri() {
        for (qs, full) in [
            ("a=1&b=x+y&a=2", "/p/?a=1&b=x+y&a=2"),
            ("q=\"<b>\"{}|\\^`", "/p/?q=%22%3Cb%3E%22%7B%7D%7C%5C%5E%60"),
            ("q=café x", "/p/?q=caf%C3%A9%20x"),
            ("q=%zz%20", "/p/?q=%zz%20"),
        ] {
            let r = Request::from_parts("GET", "/p/", qs).0;
            assert_eq!(r.full_path(), full, "{qs}");
        }
    }

    #[test]
    fn cookies_are_parsed_as_django_does() {
        let got = parse_cookies("a=1; b = \"two\" ;c=x=y;; novalue; =e");
        let want = [
            ("a", "1"),
            ("b", "two"),
            ("c", "x=y"),
            ("", "novalue"),
            ("", "e"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        let r = Request::get("/").with_cookies("csrftoken=abc; csrftoken=def");
        assert_eq!(r.cookie("csrftoken"), Some("abc"));
        assert_eq!(r.cookie("sessionid"), None);
    }

    #[test]
    fn a_form_body_is_decoded_with_repeated_keys_kept() {
        let r = Request::new("POST", "/").with_form("t=a+b&tag=1&tag=2&x=%C3%A9");
        assert_eq!(r.form_last("t"), Some("a b"));
        assert_eq!(r.form_last("tag"), Some("2"));
        assert_eq!(r.form_last("x"), Some("é"));
        assert!(!r.is_safe());
        assert!(Request::get("/").is_safe());
    }

    #[test]
    fn url_with_replaces_one_parameter_and_keeps_the_rest() {
        let r = Request::get("/posts/?q=a%20b&page=2&after=9&x=1");
        assert_eq!(
            r.url_with(Some(("page", "3")), &["after"]),
            "/posts/?q=a+b&x=1&page=3"
        );
        assert_eq!(r.url_with(None, &["after", "page", "q", "x"]), "/posts/");
    }
}
