//! Routing, query parameters, redirects, inline responses, error pages and HTTP methods,
//! against the test site in `tests/sites/edge` (and a few small inline sites). Django is the
//! reference wherever it has an answer; where Trellis deliberately differs, the test says so.
//!
//! Most tests ask the site in process (`edge()`, loaded once per run): the route, the view and
//! the response it gives. What only the wire shows (percent-decoding of raw bytes, HEAD, the
//! server's headers, static files, the Host check) is asked of one server shared by the tests
//! that only read (`edge_server()`), or of a server of a test's own.

use std::sync::OnceLock;

use crate::common;
use crate::common::{edge_dir, logged, write_site, Local, Resp, Server};

/// The edge site, loaded in process once per run.
fn edge() -> &'static Local {
    static SITE: OnceLock<Local> = OnceLock::new();
    SITE.get_or_init(|| Local::shared(&edge_dir()))
}

/// The edge site served over real HTTP, once per run, for the tests that only read.
fn edge_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::shared(&edge_dir()))
}

/// A page rendered by `show.hbs` for the route whose context says `route: NAME`.
fn assert_route(r: &Resp, route: &str) {
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains(&format!("<p>route: {route}</p>")),
        "expected route {route}: {}",
        r.body
    );
}

fn assert_param(r: &Resp, name: &str, value: &str) {
    let line = format!("<p>param {name} = [{value}]</p>");
    assert!(r.body.contains(&line), "expected {line}: {}", r.body);
}

/// The edge site's own 404 page, for this decoded (and HTML-escaped) path.
fn assert_edge_404(r: &Resp, shown_path: &str) {
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.mime(), "text/html");
    assert!(
        r.body.contains("<h1>Edge: page not found</h1>"),
        "{}",
        r.body
    );
    let line = format!("Status 404: nothing lives at <code>{shown_path}</code>.");
    assert!(r.body.contains(&line), "expected {line}: {}", r.body);
}

fn assert_500(r: &Resp) {
    assert_eq!(r.status, 500, "{r:?}");
    assert_eq!(r.mime(), "text/html");
    assert!(
        r.body.contains("<h1>Edge: something went wrong</h1>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("Status 500. The error has been logged."),
        "{}",
        r.body
    );
}

/// An `href` of `<a id="ID" href="…">` in the body.
fn href<'a>(r: &'a Resp, id: &str) -> &'a str {
    let start = format!("<a id=\"{id}\" href=\"");
    let at = r
        .body
        .find(&start)
        .unwrap_or_else(|| panic!("no link {id}: {}", r.body))
        + start.len();
    let len = r.body[at..].find('"').expect("a closing quote");
    &r.body[at..at + len]
}

// ---------------------------------------------------------------------------------------------
// Built-in converters

#[test]
fn int_drops_leading_zeros() {
    let s = edge();
    let r = s.get("/n/007/");
    assert_route(&r, "int");
    assert_param(&r, "n", "7");
}

#[test]
fn an_int_too_large_for_i64_falls_to_the_next_route_or_404() {
    // Django's IntConverter is Python's unbounded int() and would answer the int route with
    // 99999999999999999999; Trellis keeps i64 values and treats a larger number as no match.
    let s = edge();
    let r = s.get("/n/9223372036854775807/");
    assert_route(&r, "int");
    assert_param(&r, "n", "9223372036854775807");

    let r = s.get("/n/9223372036854775808/");
    assert_route(&r, "int-fallback");
    assert_param(&r, "s", "9223372036854775808");

    let r = s.get("/only-int/99999999999999999999/");
    assert_edge_404(&r, "/only-int/99999999999999999999/");
    // Not a number at all is no match either.
    let r = s.get("/only-int/12a/");
    assert_edge_404(&r, "/only-int/12a/");
    // Django's int converter has no sign.
    let r = s.get("/only-int/-1/");
    assert_edge_404(&r, "/only-int/-1/");
}

#[test]
fn slug_is_ascii_only() {
    let s = edge();
    let r = s.get("/slug/hello-World_42/");
    assert_route(&r, "slug");
    assert_param(&r, "s", "hello-World_42");

    let r = s.get("/slug/h%C3%A9llo/");
    assert_edge_404(&r, "/slug/héllo/");
    let r = s.get("/slug/two%20words/");
    assert_edge_404(&r, "/slug/two words/");
}

#[test]
fn uuid_matches_lowercase_only() {
    let s = edge();
    let r = s.get("/uuid/12345678-9abc-def0-1234-56789abcdef0/");
    assert_route(&r, "uuid");
    assert_param(&r, "id", "12345678-9abc-def0-1234-56789abcdef0");

    let r = s.get("/uuid/12345678-9ABC-DEF0-1234-56789ABCDEF0/");
    assert_edge_404(&r, "/uuid/12345678-9ABC-DEF0-1234-56789ABCDEF0/");
    // Django's regex wants the hyphens.
    let r = s.get("/uuid/123456789abcdef0123456789abcdef0/");
    assert_eq!(r.status, 404);
}

#[test]
fn path_captures_several_slashes() {
    let s = edge();
    let r = s.get("/files/docs/2024/report.final.pdf");
    assert_route(&r, "files");
    assert_param(&r, "rest", "docs/2024/report.final.pdf");

    let r = s.get("/files/a/b/c/");
    assert_route(&r, "files");
    assert_param(&r, "rest", "a/b/c/");

    // `path` needs at least one character.
    let r = s.get("/files/");
    assert_edge_404(&r, "/files/");
}

// ---------------------------------------------------------------------------------------------
// Percent-encoding, unicode and bad bytes

#[test]
fn percent_encoded_unicode_names_are_decoded() {
    let s = edge_server();
    let r = s.get("/greetings/caf%C3%A9/");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<h1>Hello, Café!</h1>"), "{}", r.body);
    assert!(r.body.contains("<p>name: [café]</p>"), "{}", r.body);

    let r = s.get("/greetings/jean%20paul/");
    assert!(r.body.contains("<h1>Hello, Jean paul!</h1>"), "{}", r.body);

    // In a path, `+` is a plus, not a space (unlike a query string).
    let r = s.get("/greetings/a+b/");
    assert!(r.body.contains("<p>name: [a+b]</p>"), "{}", r.body);

    let r = s.get("/greetings/%E6%97%A5%E6%9C%AC/");
    assert!(r.body.contains("<p>name: [日本]</p>"), "{}", r.body);
}

#[test]
fn an_encoded_slash_is_decoded_before_matching_as_in_django() {
    let s = edge_server();
    // `str` stops at `/`: a%2Fb is a/b, which has one segment too many for greetings/<str>/.
    let r = s.get("/greetings/a%2Fb/");
    assert_edge_404(&r, "/greetings/a/b/");
    // `path` takes it whole.
    let r = s.get("/files/a%2Fb");
    assert_route(&r, "files");
    assert_param(&r, "rest", "a/b");
    // An encoded slash can complete a literal part of a pattern too.
    let r = s.get("/n%2F007/");
    assert_route(&r, "int");
    assert_param(&r, "n", "7");
}

#[test]
fn a_malformed_escape_is_a_400_and_the_server_goes_on() {
    // Django (through any WSGI server) leaves `%zz` as the three characters `%zz` and would
    // greet "%zz"; Trellis refuses the path instead.
    let s = edge_server();
    for target in ["/greetings/%zz/", "/greetings/%4/", "/greetings/abc%"] {
        let r = s.get(target);
        assert_eq!(r.status, 400, "{target}: {r:?}");
        assert_eq!(r.mime(), "text/html");
        assert!(r.body.contains("<h1>Bad Request (400)</h1>"), "{}", r.body);
        assert!(r.body.contains("malformed percent-escape"), "{}", r.body);
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let log = s.wait_for_log("Bad Request: /greetings/abc%");
    assert!(!log.contains("panicked"), "{log}");
    assert!(s.is_running());
    let r = s.get("/greetings/bob/");
    assert!(r.body.contains("Hello, Bob!"), "{}", r.body);
}

#[test]
fn invalid_utf8_is_a_400_and_the_server_goes_on() {
    // Django re-quotes broken UTF-8 (`repercent_broken_unicode`) and would greet "%FF";
    // Trellis refuses the path instead.
    let s = edge_server();
    for target in ["/greetings/%FF/", "/greetings/caf%C3/", "/%C0%AF/"] {
        let r = s.get(target);
        assert_eq!(r.status, 400, "{target}: {r:?}");
        assert!(r.body.contains("not valid UTF-8"), "{}", r.body);
    }
    let log = s.wait_for_log("Bad Request: /%C0%AF/");
    assert!(!log.contains("panicked"), "{log}");
    assert!(s.is_running());
    assert_eq!(s.get("/about/").status, 200);
}

#[test]
fn bad_bytes_in_the_query_string_are_replaced_not_refused() {
    // Django's QueryDict decodes with errors="replace" and keeps a malformed escape as text.
    let s = edge_server();
    let r = s.get("/search/?q=%FF");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<p>q: [\u{FFFD}]</p>"), "{}", r.body);
    let r = s.get("/search/?q=%zz");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<p>q: [%zz]</p>"), "{}", r.body);
    // `+` is a space; %2B is a plus.
    let r = s.get("/search/?q=a+b%2Bc");
    assert!(r.body.contains("<p>q: [a b+c]</p>"), "{}", r.body);
}

#[test]
fn script_in_a_captured_name_is_escaped() {
    let s = edge();
    let r = s.get("/greetings/%3Cscript%3Ealert(%22x%22)%3C%5Cscript%3E/");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.body.contains("<script"), "{}", r.body);
    assert!(
        r.body
            .contains("<p>name: [&lt;script&gt;alert(&quot;x&quot;)&lt;\\script&gt;]</p>"),
        "{}",
        r.body
    );
}

#[test]
fn script_in_a_query_value_is_escaped() {
    let s = edge();
    let r = s.get("/search/?q=%3Cscript%3Ealert(1)%3C/script%3E&other=%3Cb%3E%27hi%27%3C/b%3E");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.body.contains("<script"), "{}", r.body);
    assert!(!r.body.contains("<b>"), "{}", r.body);
    assert!(
        r.body
            .contains("<p>q: [&lt;script&gt;alert(1)&lt;/script&gt;]</p>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<p>other: [&lt;b&gt;&#x27;hi&#x27;&lt;/b&gt;]</p>"),
        "{}",
        r.body
    );
}

#[test]
fn script_in_a_missing_path_is_escaped_on_the_404_page() {
    let s = edge();
    let r = s.get("/nope/%3Cscript%3Ealert(1)%3C%5Cscript%3E");
    assert_edge_404(&r, "/nope/&lt;script&gt;alert(1)&lt;\\script&gt;");
    assert!(!r.body.contains("<script"), "{}", r.body);
}

// ---------------------------------------------------------------------------------------------
// Query parameters

#[test]
fn declared_query_parameters_are_typed_with_defaults() {
    let s = edge();
    let r = s.get("/search/");
    assert_eq!(r.status, 200);
    for line in [
        "<p>q: []</p>",
        "<p>page: [1]</p>",
        "<p>page is a number: true/false/false</p>",
        "<p>exact: [false]</p>",
        "<p>sort: [name]</p>",
        "<p>tags:</p>",
        "<p>ns:</p>",
        "<p>other: []</p>",
    ] {
        assert!(r.body.contains(line), "expected {line}: {}", r.body);
    }

    let r = s.get("/search/?q=rust&page=2&exact=yes&sort=date");
    for line in [
        "<p>q: [rust]</p>",
        "<p>page: [2]</p>",
        "<p>page is a number: false/true/false</p>",
        "<p>exact: [true]</p>",
        "<p>sort: [date]</p>",
    ] {
        assert!(r.body.contains(line), "expected {line}: {}", r.body);
    }
}

#[test]
fn a_repeated_key_gives_its_last_value_and_a_list_gets_them_all() {
    // Django's QueryDict: request.GET["q"] is the last value, getlist("tag") every one.
    let s = edge();
    let r = s.get(
        "/search/?q=first&page=2&q=second&page=3&tag=a&tag=b&tag=&tag=c&n=1&n=20&other=x&other=y",
    );
    assert_eq!(r.status, 200, "{r:?}");
    for line in [
        "<p>q: [second]</p>",
        "<p>page: [3]</p>",
        "<p>page is a number: false/false/true</p>",
        // A list of strings keeps an empty value, as getlist does.
        "<p>tags: (a) (b) () (c)</p>",
        "<p>ns: (1) (20)</p>",
        "<p>other: [y]</p>",
        "<p>raw other: [y]</p>",
    ] {
        assert!(r.body.contains(line), "expected {line}: {}", r.body);
    }
}

#[test]
fn an_invalid_value_falls_back_to_the_default() {
    let s = edge();
    let r = s.get("/search/?page=zero&exact=maybe&sort=random&n=1&n=x");
    assert_eq!(r.status, 200, "{r:?}");
    for line in [
        "<p>page: [1]</p>",
        "<p>exact: [false]</p>",
        "<p>sort: [name]</p>",
        // One bad item makes the whole list invalid: the default, an empty list.
        "<p>ns:</p>",
    ] {
        assert!(r.body.contains(line), "expected {line}: {}", r.body);
    }
    let r = s.get("/search/?page=0");
    assert!(r.body.contains("<p>page: [1]</p>"), "{}", r.body);
}

#[test]
fn undeclared_query_parameters_are_readable_as_strings() {
    let s = edge();
    let r = s.get("/search/?other=42");
    assert!(r.body.contains("<p>other: [42]</p>"), "{}", r.body);
    assert!(r.body.contains("<p>raw other: [42]</p>"), "{}", r.body);
    // A route that declares nothing still sees its query string.
    let r = s.get("/greetings/ann/?from=the%20newsletter");
    assert!(
        r.body.contains("<p>from: [the newsletter]</p>"),
        "{}",
        r.body
    );
}

#[test]
fn an_invalid_value_with_on_invalid_error_is_a_400_naming_the_parameter() {
    let s = edge();
    let r = s.get("/strict/?page=x");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("<h1>Bad Request (400)</h1>"), "{}", r.body);
    assert!(r.body.contains("query parameter `page`"), "{}", r.body);
    assert!(r.body.contains("expected an integer"), "{}", r.body);

    let r = s.get("/strict/?page=0");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("page"), "{}", r.body);
    assert!(r.body.contains("at least 1"), "{}", r.body);

    let r = s.get("/strict/?color=blue");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("query parameter `color`"), "{}", r.body);
    assert!(r.body.contains("must be one of red, green"), "{}", r.body);

    // Valid, absent or empty values are fine.
    assert_route(&s.get("/strict/?page=3&color=red"), "strict");
    assert_route(&s.get("/strict/"), "strict");
    assert_route(&s.get("/strict/?page="), "strict");
    let (_, log) = logged(|| s.get("/strict/?color=blue"));
    assert!(
        log.contains("Bad Request: /strict/ (query parameter `color`"),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// APPEND_SLASH

#[test]
fn append_slash_redirects_permanently_and_keeps_the_query() {
    let s = edge();
    let r = s.get("/about");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/about/"));
    assert_eq!(r.body, "");

    let r = s.get("/about?a=1&b=%20two");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/about/?a=1&b=%20two"));

    // The redirect target is quoted again.
    let r = s.get("/greetings/caf%C3%A9");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/greetings/caf%C3%A9/"));
    // An encoded `?` or `#` stays part of the path (Django's escape_uri_path).
    let r = s.get("/greetings/what%3F");
    assert_eq!(r.header("location"), Some("/greetings/what%3F/"));
    let r = s.get("/greetings/a%23b?c=d");
    assert_eq!(r.header("location"), Some("/greetings/a%23b/?c=d"));

    let r = s.request("HEAD", "/about");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/about/"));
}

/// Django 5.2 with DEBUG off redirects every method, a POST too (its body is lost; with DEBUG
/// on it raises instead). Recorded with Django's test client against a urlconf holding
/// `about/`: `Client().generic(METHOD, "/about?a=1")` answered 301 to `/about/?a=1` for each.
#[test]
fn append_slash_redirects_every_method_as_django_does() {
    let s = edge();
    for method in [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND",
    ] {
        let r = s.request(method, "/about?a=1");
        assert_eq!(r.status, 301, "{method}: {r:?}");
        assert_eq!(r.header("location"), Some("/about/?a=1"), "{method}");
    }
}

#[test]
fn append_slash_only_redirects_to_a_path_that_matches() {
    let s = edge();
    let r = s.get("/nothing-here");
    assert_edge_404(&r, "/nothing-here");
    // A path that already matches is served as it is.
    let r = s.get("/files/report");
    assert_route(&r, "files");
    assert_param(&r, "rest", "report");
    // A path that ends with a slash and does not match is a plain 404.
    let r = s.get("/nothing-here/");
    assert_edge_404(&r, "/nothing-here/");
}

#[test]
fn append_slash_can_be_turned_off() {
    let site = write_site(
        "site:\n  append_slash: false\nroutes:\n  - { path: \"about/\", view: response, body: \"about us\" }\n",
        &[],
    );
    let s = Local::load(&site.path);
    let r = s.get("/about");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.header("location"), None);
    // Without a 404 template, the built-in page.
    assert!(r.body.contains("<h1>Not Found</h1>"), "{}", r.body);
    let r = s.get("/about/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "about us");
}

#[test]
fn append_slash_never_redirects_to_another_host() {
    // Django's escape_leading_slashes: //evil.example/ would be a scheme-relative URL.
    let site = write_site(
        "routes:\n  - { path: \"<path:p>/\", view: response, body: \"p={{params.p}}\" }\n",
        &[],
    );
    let s = Local::load(&site.path);
    let r = s.get("//evil.example");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/%2Fevil.example/"));
    // Decoded, this is ///evil.example: Django gives /%2F/evil.example/ too.
    let r = s.get("/%2F%2Fevil.example");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/%2F/evil.example/"));
}

// ---------------------------------------------------------------------------------------------
// Methods

#[test]
fn head_answers_like_get_without_a_body() {
    let s = edge_server();
    // Pages that do not print the request's method, so GET and HEAD render the same bytes.
    for target in [
        "/greetings/bob/",
        "/articles/2024/05/",
        "/static/hello.txt",
        "/robots.txt",
    ] {
        let get = s.get(target);
        let head = s.head(target);
        assert_eq!(head.status, get.status, "{target}");
        assert_eq!(head.body, "", "{target}");
        for name in ["content-type", "x-content-type-options", "x-frame-options"] {
            assert_eq!(head.header(name), get.header(name), "{target}: {name}");
        }
        if let Some(len) = head.header("content-length") {
            assert_eq!(len, get.body.len().to_string(), "{target}");
        }
    }
    let r = s.head("/no/such/page/");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, "");

    // The view sees HEAD as the method (as Django's request.method does), then the body goes.
    let r = s.head("/about/");
    assert_eq!(r.status, 200);
    assert_eq!(r.mime(), "text/html");
    assert_eq!(r.body, "");
}

#[test]
fn a_method_the_route_does_not_take_is_a_405_with_allow() {
    let s = edge();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let (r, log) = logged(|| s.request(method, "/about/"));
        assert_eq!(r.status, 405, "{method}: {r:?}");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{method}");
        let line = format!("Method Not Allowed ({method}): /about/");
        assert!(log.contains(&line), "expected {line}: {log}");
    }
}

#[test]
fn options_is_a_200_with_allow_and_no_body() {
    // Django's View.options: 200, `Allow`, `Content-Length: 0`.
    let s = edge();
    let r = s.request("OPTIONS", "/about/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{r:?}");
    assert_eq!(r.body, "", "{r:?}");
    let r = s.request("OPTIONS", "/submit/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "{r:?}");
    assert_eq!(r.body, "", "{r:?}");
}

#[test]
fn a_post_only_route() {
    let s = edge();
    // Without a CSRF token, refused before the view (see `csrf`).
    let r = s.post("/submit/");
    assert_eq!(r.status, 403, "{r:?}");
    let r = s.request_with_token("POST", "/submit/");
    assert_route(&r, "submit");
    assert!(r.body.contains("<p>method: POST</p>"), "{}", r.body);

    for method in ["GET", "HEAD"] {
        let r = s.request(method, "/submit/");
        assert_eq!(r.status, 405, "{method}: {r:?}");
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "{method}");
    }

    let r = s.request_with_token("POST", "/either/");
    assert_route(&r, "either");
    assert!(r.body.contains("<p>method: POST</p>"), "{}", r.body);
    let r = s.get("/either/");
    assert_route(&r, "either");
    assert!(r.body.contains("<p>method: GET</p>"), "{}", r.body);
    let r = s.request("DELETE", "/either/");
    assert_eq!(r.status, 405);
    // Django lists them as GET, POST, HEAD, OPTIONS; the order carries no meaning.
    let mut allow: Vec<&str> = r.header("allow").unwrap_or("").split(", ").collect();
    allow.sort();
    assert_eq!(allow, ["GET", "HEAD", "OPTIONS", "POST"]);
}

#[test]
fn a_post_with_a_body_is_answered() {
    let s = edge_server();
    let secret = crate::common::CSRF_SECRET;
    let r = s.request_with_body(
        "POST",
        "/submit/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &format!("csrftoken={secret}")),
        ],
        &format!("name=ann&note=hello+there&csrfmiddlewaretoken={secret}"),
    );
    assert_route(&r, "submit");
    assert!(r.body.contains("<p>method: POST</p>"), "{}", r.body);
}

// ---------------------------------------------------------------------------------------------
// Custom converters and regex routes

#[test]
fn a_regex_converter_with_an_int_type() {
    let s = edge();
    let r = s.get("/year/2024/");
    assert_route(&r, "year");
    assert_param(&r, "y", "2024");
    let r = s.get("/year/0999/");
    assert_route(&r, "year");
    assert_param(&r, "y", "999");
    // The regex must match the whole segment.
    assert_edge_404(&s.get("/year/20245/"), "/year/20245/");
    assert_edge_404(&s.get("/year/24/"), "/year/24/");
}

#[test]
fn a_regex_converter_with_a_float_type() {
    let s = edge();
    let r = s.get("/price/3.50/");
    assert_route(&r, "price");
    assert_param(&r, "p", "3.5");
    assert_edge_404(&s.get("/price/3.5/"), "/price/3.5/");
}

#[test]
fn a_values_converter_takes_only_its_values() {
    let s = edge();
    for color in ["red", "green", "blue"] {
        let r = s.get(&format!("/colors/{color}/"));
        assert_route(&r, "color");
        assert_param(&r, "c", color);
    }
    assert_edge_404(&s.get("/colors/purple/"), "/colors/purple/");
    assert_edge_404(&s.get("/colors/RED/"), "/colors/RED/");
    assert_edge_404(&s.get("/colors/redd/"), "/colors/redd/");
}

#[test]
fn a_regex_route_captures_named_groups_as_strings() {
    let s = edge();
    let r = s.get("/articles/2024/05/");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body.contains("<p>year: [2024] month: [05]</p>"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("year is the string \"2024\": true"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("year is the number 2024: false"),
        "{}",
        r.body
    );
    assert_edge_404(&s.get("/articles/24/05/"), "/articles/24/05/");
    assert_edge_404(
        &s.get("/articles/2024/05/extra/"),
        "/articles/2024/05/extra/",
    );
}

// ---------------------------------------------------------------------------------------------
// Includes, namespaces and reverse

#[test]
fn an_include_prefix_capture_reaches_the_template() {
    let s = edge();
    let r = s.get("/teams/core-team/members/ann/");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<p>team: [core-team]</p>"), "{}", r.body);
    assert!(r.body.contains("<p>member: [ann]</p>"), "{}", r.body);
    assert_eq!(href(&r, "team"), "/teams/core-team/");

    let r = s.get("/teams/core-team/");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("<p>team: [core-team]</p>"), "{}", r.body);
    assert!(r.body.contains("<p>member: []</p>"), "{}", r.body);

    // The prefix's converter applies: a team is a slug.
    assert_edge_404(&s.get("/teams/caf%C3%A9/"), "/teams/café/");
}

#[test]
fn url_reverses_namespaced_names_with_djangos_quoting() {
    let s = edge();
    let r = s.get("/links/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(href(&r, "home"), "/");
    assert_eq!(href(&r, "team"), "/teams/core/");
    assert_eq!(href(&r, "space"), "/teams/core/members/Jean%20Paul/");
    assert_eq!(href(&r, "accent"), "/teams/core/members/%C3%A9/");
    assert_eq!(href(&r, "positional"), "/n/7/");
    assert_eq!(href(&r, "article"), "/articles/2024/05/");
    assert_eq!(href(&r, "files"), "/files/a%20b/c.txt");
    assert_eq!(href(&r, "static"), "/static/hello.txt");

    // And the links lead where they say.
    let r = s.get("/teams/core/members/Jean%20Paul/");
    assert!(r.body.contains("<p>member: [Jean Paul]</p>"), "{}", r.body);
    let r = s.get("/teams/core/members/%C3%A9/");
    assert!(r.body.contains("<p>member: [é]</p>"), "{}", r.body);
}

// ---------------------------------------------------------------------------------------------
// Redirects

#[test]
fn a_redirect_to_a_name_passes_the_captures_through() {
    let s = edge();
    let r = s.get("/old/greet/bob/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/greetings/bob/"));
    assert_eq!(r.body, "");

    let r = s.get("/old/greet/caf%C3%A9/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/greetings/caf%C3%A9/"));

    // Both the include's capture (team) and the route's (member).
    let r = s.get("/teams/core/old-members/ann/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/teams/core/members/ann/"));

    // Literal `args` fill what the route does not capture.
    let r = s.get("/old/article/2024/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/articles/2024/01/"));

    // Without query_string, the query is dropped (Django's RedirectView default).
    let r = s.get("/old/greet/bob/?x=1");
    assert_eq!(r.header("location"), Some("/greetings/bob/"));
}

#[test]
fn a_redirect_answers_every_method_as_djangos_redirect_view() {
    let s = edge();
    for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"] {
        let r = s.request_with_token(method, "/moved/");
        assert_eq!(r.status, 301, "{method}: {r:?}");
        assert_eq!(r.header("location"), Some("/about/"), "{method}");
    }
}

#[test]
fn a_redirect_whose_captures_cannot_be_reversed_is_a_500() {
    // Django raises NoReverseMatch, a 500.
    let s = edge();
    let (r, log) = logged(|| s.get("/old/article/abcd/"));
    assert_500(&r);
    assert!(
        log.contains("Internal Server Error: /old/article/abcd/"),
        "{log}"
    );
    assert!(log.contains("cannot reverse `article`"), "{log}");
}

#[test]
fn a_redirect_to_a_url_fills_placeholders() {
    let s = edge();
    let r = s.get("/old/url/ann/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/greetings/ann/?from=old"));

    // The capture is quoted; the query string is appended after the URL's own.
    let r = s.get("/old/url/Jean%20Paul/?utm=x&y=1");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(
        r.header("location"),
        Some("/greetings/Jean%20Paul/?from=old&utm=x&y=1")
    );

    let r = s.get("/old/url/caf%C3%A9/");
    assert_eq!(r.header("location"), Some("/greetings/caf%C3%A9/?from=old"));
}

#[test]
fn a_permanent_redirect_is_a_301() {
    let s = edge();
    let r = s.get("/moved/?x=1");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/about/"));
}

#[test]
fn a_redirect_with_query_string_keeps_the_query() {
    let s = edge();
    let r = s.get("/moved-keep-query/?a=1&b=two%20words");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/about/?a=1&b=two%20words"));
    let r = s.get("/moved-keep-query/");
    assert_eq!(r.header("location"), Some("/about/"));
}

// ---------------------------------------------------------------------------------------------
// Inline responses, status codes, not_found

#[test]
fn a_text_plain_response_is_not_html_escaped() {
    let s = edge();
    let r = s.get("/robots.txt?extra=%3Cb%3E%26'");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.body, "User-agent: *\nDisallow: /private/<b>&'\n");
}

#[test]
fn an_html_response_is_escaped_and_has_its_status() {
    let s = edge();
    let r = s.get("/teapot/?say=%3Cscript%3Eshort%20%26%20stout");
    assert_eq!(r.status, 418, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        r.body,
        "<p>I'm a teapot: &lt;script&gt;short &amp; stout</p>"
    );
}

#[test]
fn values_in_a_json_body_are_escaped_as_json_strings() {
    let s = edge();
    // A quote, a backslash, a newline and markup in the values must not break out of the strings.
    let r = s.get("/api/echo/a%22b.json?q=x%5C%22%0A%3C%2Fscript%3E");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        r#"{"word": "a\"b", "q": "x\\\"\n\u003c/script\u003e"}"#
    );
}

#[test]
fn a_json_response_has_its_content_type_and_status() {
    let s = edge();
    let r = s.get("/api/ping.json");
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, r#"{"pong": true, "site": "Edge"}"#);
    // Its security headers (the server's) are in security_headers_are_on_every_kind_of_response.
}

#[test]
fn a_template_route_can_set_its_status() {
    let s = edge();
    let r = s.get("/accepted/");
    assert_eq!(r.status, 202, "{r:?}");
    assert!(r.body.contains("<p>route: accepted</p>"), "{}", r.body);
}

#[test]
fn a_not_found_route_renders_the_404_page() {
    let s = edge();
    let r = s.get("/gone/");
    assert_edge_404(&r, "/gone/");
    // As in Django, APPEND_SLASH only asks whether the path with a slash resolves.
    let r = s.get("/gone");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/gone/"));
}

// ---------------------------------------------------------------------------------------------
// Render-time failures

#[test]
fn a_url_that_cannot_be_reversed_at_render_time_is_a_500_with_the_detail_logged() {
    let s = edge();
    // The same template renders when its argument fits.
    let r = s.get("/broken/url/?who=ann");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(href(&r, "who"), "/greetings/ann/");

    let (r, log) = logged(|| s.get("/broken/url/?who=a%2Fb"));
    assert_500(&r);
    assert!(
        !r.body.contains("greet"),
        "the detail must not reach the client: {}",
        r.body
    );
    assert!(!r.body.contains("reverse"), "{}", r.body);
    assert!(log.contains("Internal Server Error: /broken/url/"), "{log}");
    assert!(log.contains("rendering broken-url"), "{log}");
    assert!(log.contains("cannot reverse `greet`"), "{log}");
    assert!(log.contains("does not fit converter `str`"), "{log}");

    // No argument at all is the same failure.
    assert_500(&s.get("/broken/url/"));
}

#[test]
fn a_helper_given_the_wrong_type_is_a_500_with_the_detail_logged() {
    let s = edge();
    let r = s.get("/broken/helper/?file=site.css");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains(r#"href="/static/site.css""#), "{}", r.body);

    let (r, log) = logged(|| s.get("/broken/helper/"));
    assert_500(&r);
    assert!(!r.body.contains("static:"), "{}", r.body);
    assert!(
        log.contains("Internal Server Error: /broken/helper/"),
        "{log}"
    );
    assert!(
        log.contains("static: the first argument must be a file path"),
        "{log}"
    );
    // The server goes on.
    assert_eq!(s.get("/about/").status, 200);
}

#[test]
fn a_500_page_that_fails_itself_falls_back_to_the_built_in_page() {
    let site = write_site(
        "routes:\n  - { path: \"boom/\", view: template, template: boom.hbs }\nerrors: { 500: 500.hbs }\n",
        &[
            ("boom.hbs", "<p>{{static query.file}}</p>"),
            ("500.hbs", "<h1>Oops</h1><p>{{static site.missing}}</p>"),
        ],
    );
    let s = Local::load(&site.path);
    let (r, log) = logged(|| s.get("/boom/"));
    assert_eq!(r.status, 500, "{r:?}");
    assert!(r.body.contains("<h1>Server Error (500)</h1>"), "{}", r.body);
    assert!(!r.body.contains("Oops"), "{}", r.body);
    assert!(!r.body.contains("static:"), "{}", r.body);
    assert!(log.contains("rendering the 500 page"), "{log}");
    assert!(log.contains("Internal Server Error: /boom/"), "{log}");
}

#[test]
fn a_404_template_is_used_without_being_declared() {
    // `errors:` defaults to 404.hbs when the site has it.
    let site = write_site(
        "routes:\n  - { path: \"\", view: response, body: home }\n",
        &[("404.hbs", "<h1>Lost: {{request.path}} ({{status}})</h1>")],
    );
    let s = Local::load(&site.path);
    let r = s.get("/where/");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.body, "<h1>Lost: /where/ (404)</h1>");
}

// ---------------------------------------------------------------------------------------------
// Static files and headers

#[test]
fn static_files_are_served_and_nothing_outside_them() {
    let s = edge_server();
    let r = s.get("/static/hello.txt");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "text/plain");
    assert_eq!(r.body, "hello from static\n");

    for target in [
        "/static/.secret",
        "/static/../site.yaml",
        "/static/%2E%2E/site.yaml",
        "/static/%2e%2e%2fsite.yaml",
        "/static/",
        "/static/missing.txt",
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert!(!r.body.contains("TOP-SECRET"), "{target}: {}", r.body);
        assert!(!r.body.contains("converters:"), "{target}: {}", r.body);
    }
    let r = s.post("/static/hello.txt");
    assert_eq!(r.status, 405, "{r:?}");
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[test]
fn security_headers_are_on_every_kind_of_response() {
    let s = edge_server();
    let cases: &[(&str, &str, u16)] = &[
        ("GET", "/about/", 200),
        ("GET", "/nope/", 404),
        ("GET", "/about", 301),
        ("GET", "/moved-keep-query/", 302),
        ("GET", "/greetings/%FF/", 400),
        ("GET", "/strict/?page=x", 400),
        ("POST", "/about/", 405),
        ("GET", "/broken/helper/", 500),
        ("GET", "/static/hello.txt", 200),
        ("GET", "/api/ping.json", 201),
    ];
    for (method, target, status) in cases {
        let r = s.request(method, target, &[]);
        assert_eq!(r.status, *status, "{method} {target}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{method} {target}"
        );
        assert_eq!(
            r.header("x-frame-options"),
            Some("DENY"),
            "{method} {target}"
        );
        assert_eq!(
            r.header("referrer-policy"),
            Some("same-origin"),
            "{method} {target}"
        );
        assert_eq!(
            r.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{method} {target}"
        );
    }
}

#[test]
fn a_site_400_template_shows_the_reason_escaped() {
    let site = write_site(
        "routes:\n  - path: \"n/\"\n    view: response\n    body: \"{{query.n}}\"\n    query:\n      n: { type: int, on_invalid: error }\n",
        &[("400.hbs", "<h1>Oops</h1><p>{{message}}</p><p>{{status}}</p>")],
    );
    let s = Server::start_site(&site);
    let r = s.get("/n/?n=%3Cb%3E");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.starts_with("<h1>Oops</h1>"), "{}", r.body);
    assert!(r.body.contains("&lt;b&gt;"), "{}", r.body);
    assert!(!r.body.contains("<b>"), "{}", r.body);
    assert!(r.body.contains("<p>400</p>"), "{}", r.body);
    // A bad path is a 400 with the same page.
    let r = s.get("/%zz/");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("malformed percent-escape"), "{}", r.body);
}

#[test]
fn an_unmatched_optional_regex_group_is_left_out_of_params_as_in_django() {
    let site = write_site(
        "routes:\n  - regex: \"^page/(?P<num>[0-9]+)?/?$\"\n    view: response\n    content_type: text/plain\n    body: \"{{#each params}}{{@key}}={{this}};{{/each}}end\"\n",
        &[],
    );
    let s = Local::load(&site.path);
    assert_eq!(s.get("/page/").body, "end");
    assert_eq!(s.get("/page/7/").body, "num=7;end");
}

#[test]
fn a_host_outside_allowed_hosts_is_a_400() {
    let site = write_site(
        "site:\n  allowed_hosts: [127.0.0.1, .example.com]\nroutes:\n  - { path: \"\", view: response, body: \"home\" }\n",
        &[],
    );
    let s = Server::start_site(&site);
    assert_eq!(s.get("/").body, "home");
    let r = s.request("GET", "/", &[("Host", "www.example.com:8000")]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = s.request("GET", "/", &[("Host", "evil.test")]);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("evil.test"), "{}", r.body);
    // A forwarded host is not trusted.
    let r = s.request(
        "GET",
        "/",
        &[("Host", "evil.test"), ("X-Forwarded-Host", "127.0.0.1")],
    );
    assert_eq!(r.status, 400, "{r:?}");
}

#[test]
fn a_static_file_is_not_sent_again_when_the_client_has_it() {
    let s = edge_server();
    let r = s.get("/static/hello.txt");
    assert_eq!(r.status, 200, "{r:?}");
    let etag = r.header("etag").expect("an ETag").to_string();
    let last_modified = r
        .header("last-modified")
        .expect("a Last-Modified")
        .to_string();
    let r = s.request("GET", "/static/hello.txt", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304, "{r:?}");
    assert_eq!(r.body, "");
    let r = s.request(
        "GET",
        "/static/hello.txt",
        &[("If-Modified-Since", &last_modified)],
    );
    assert_eq!(r.status, 304, "{r:?}");
    // Another ETag is another version: the file again.
    let r = s.request(
        "GET",
        "/static/hello.txt",
        &[("If-None-Match", "\"other\"")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "hello from static\n");
    // HEAD: the headers without the body.
    let r = s.head("/static/hello.txt");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "");
    assert_eq!(r.header("content-length"), Some("18"));
}

#[test]
fn a_large_static_file_is_streamed_with_byte_ranges() {
    let s = Server::start_with(&edge_dir(), &[]);
    // Larger than what is answered from one read: streamed, and ranges are honoured.
    let big: String = (0..300 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    std::fs::write(s.site_path().join("static/big.txt"), &big).unwrap();
    let r = s.get("/static/big.txt");
    assert_eq!(r.status, 200, "{:?}", r.headers);
    assert_eq!(r.body.len(), big.len());
    let r = s.request("GET", "/static/big.txt", &[("Range", "bytes=26-51")]);
    assert_eq!(r.status, 206, "{:?}", r.headers);
    assert_eq!(r.body, "abcdefghijklmnopqrstuvwxyz");
}

#[test]
fn an_edited_static_file_is_served_fresh_without_the_reloader() {
    // Small static files are kept in memory; an edit (here with the reloader off) must still be
    // seen on the next request, with a new ETag.
    let site = common::write_files(&[
        ("site.yaml", "routes: []\n"),
        ("static/app.js", "console.log(1);\n"),
    ]);
    let s = Server::start_in_place(&site.path, &["--no-reload"]);
    let first = s.get("/static/app.js");
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body, "console.log(1);\n");
    assert_eq!(
        first.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(s.get("/static/app.js").body, "console.log(1);\n");
    std::fs::write(site.path.join("static/app.js"), "console.log('two');\n").unwrap();
    let second = s.get("/static/app.js");
    assert_eq!(second.body, "console.log('two');\n");
    assert_ne!(second.header("etag"), first.header("etag"));
}
