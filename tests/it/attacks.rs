//! The attack table: hostile requests against the real server (`tests/sites/attacks`), each
//! with the status it must get and what must not come back: injection strings and `<script>`
//! in every capture kind and query parameter (escaped in HTML, in JSON, and never reaching SQL
//! but as a bound value: the table keeps its rows), traversal on static files, invalid and
//! overlong UTF-8, huge headers and bodies, malformed requests, bad Hosts. After every row the
//! server still answers a normal request, and its log never says `panicked`.

use std::sync::OnceLock;

use crate::common::{Resp, Server};

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::shared(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sites/attacks"),
        )
    })
}

/// What a hostile value tries: SQL, HTML and template injection, a NUL, a header split,
/// traversal, an already-encoded value (decoded once only), and text that is merely not ASCII.
const PAYLOADS: &[&str] = &[
    "'; DROP TABLE note; --",
    "\" OR 1=1 --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${7*7}",
    "\0",
    "a\r\nSet-Cookie: x=1",
    "../../etc/passwd",
    "%2e%2e%2f",
    "ünïcødé ✓",
];

/// Every byte but the unreserved ones percent-encoded, so the value arrives whole.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Handlebars' HTML escaping, which every value a template prints goes through.
fn escaped(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '&' => "&amp;".into(),
            '\'' => "&#x27;".into(),
            '`' => "&#x60;".into(),
            '=' => "&#x3D;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// What no response may carry, whatever the request.
fn assert_nothing_leaked(what: &str, r: &Resp) {
    assert_eq!(
        r.header("set-cookie"),
        None,
        "{what}: a header was injected: {r:?}"
    );
    for never in [
        "<script>alert(1)</script>",
        "root:x:0:0",
        "data/notes.yaml",
        "SQLite format 3",
        "panicked",
        "sqlite",
    ] {
        assert!(!r.body.contains(never), "{what}: {never:?} in {:?}", r.body);
    }
}

/// The server still answers a normal page with every row, and has not panicked.
fn assert_alive(s: &Server, after: &str) {
    let r = s.get("/notes/?page=2");
    assert_eq!(r.status, 200, "after {after}: {r:?}");
    assert!(
        r.body.contains("<li>Gamma note</li>"),
        "after {after}: {}",
        r.body
    );
    assert!(r.body.contains("page 2 of 2"), "after {after}: {}", r.body);
    let log = s.log();
    assert!(!log.contains("panicked"), "after {after}: {log}");
}

/// Whether a capture of `kind` takes `value` (as the built-in converters and this site's
/// `code` and `regex:` routes define them): `str` and `[^/]+` stop at a slash, `path` and `.+`
/// at a line break, and the others take none of the payloads.
fn captured(kind: &str, value: &str) -> bool {
    match kind {
        "str" | "code" => !value.contains('/'),
        "path" | "re" => !value.contains('\n'),
        _ => false,
    }
}

#[test]
fn injection_in_every_capture_kind_is_escaped_or_not_found() {
    let s = server();
    for kind in ["str", "int", "slug", "uuid", "path", "code", "color", "re"] {
        for payload in PAYLOADS {
            let tail = if kind == "path" { "" } else { "/" };
            let target = format!("/{kind}/{}{tail}", encode(payload));
            let what = format!("GET {target}");
            let r = s.get(&target);
            assert_nothing_leaked(&what, &r);
            if captured(kind, payload) {
                assert_eq!(r.status, 200, "{what}: {r:?}");
                let shown = format!("<p>param v = [{}]</p>", escaped(payload));
                assert!(
                    r.body.contains(&shown),
                    "{what}: no {shown:?} in {}",
                    r.body
                );
            } else {
                assert_eq!(r.status, 404, "{what}: {r:?}");
            }
        }
        assert_alive(s, kind);
    }
}

#[test]
fn injection_in_every_query_parameter_is_escaped_or_refused() {
    let s = server();
    for payload in PAYLOADS {
        let p = encode(payload);
        let e = escaped(payload);
        let nul = payload.contains('\0');
        for (target, status, shown) in [
            (format!("/q/?s={p}"), 200, Some(format!("query s = [{e}]"))),
            (format!("/q/?n={p}"), 200, Some("query n = []".to_string())),
            (format!("/q/?b={p}"), 200, Some("query b = []".to_string())),
            (format!("/q/?l={p}"), 200, None),
            (format!("/q/?{p}={p}"), 200, Some(format!("[{e}]"))),
            (
                format!("/notes/?q={p}"),
                200,
                Some(format!("q = [{}]", e.trim())),
            ),
            (format!("/notes/?slug={p}"), 200, Some("page 1 of 1".into())),
            (format!("/notes/?title__icontains={p}"), 200, None),
            (
                format!("/notes/?ordering={p}"),
                200,
                Some("<li>Alpha note</li>".into()),
            ),
            // A value with a NUL matches nothing (no column holds one); another that is no
            // number is refused.
            (
                format!("/notes/?views__gte={p}"),
                if nul { 200 } else { 400 },
                None,
            ),
            (format!("/notes/?page={p}"), 404, None),
            (format!("/notes/{p}/"), 404, None),
            (format!("/api/notes/?q={p}&ordering={p}"), 200, None),
            (
                format!("/api/notes/?slug={p}"),
                200,
                Some("\"count\": 0".into()),
            ),
        ] {
            let what = format!("GET {target}");
            let r = s.get(&target);
            assert_eq!(r.status, status, "{what}: {r:?}");
            assert_nothing_leaked(&what, &r);
            if let Some(shown) = shown {
                assert!(
                    r.body.contains(&shown),
                    "{what}: no {shown:?} in {}",
                    r.body
                );
            }
        }
        // In JSON, the value is a JSON string that reads back as what was sent.
        let target = format!("/json/{}/?s={p}", encode("x\"y"));
        let r = s.get(&target);
        assert_eq!(r.status, 200, "{target}: {r:?}");
        let doc: serde_json::Value = serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {}", r.body));
        assert_eq!(doc["s"], *payload, "{target}");
        assert_eq!(doc["v"], "x\"y", "{target}");
        assert_alive(s, payload);
    }
    // Every row is still there.
    let r = s.get("/api/notes/");
    assert!(r.body.contains("\"count\": 3"), "{}", r.body);
}

#[test]
fn static_files_do_not_leave_the_static_folder() {
    let s = server();
    for target in [
        "/static/../site.yaml",
        "/static/%2e%2e/site.yaml",
        "/static/..%2fsite.yaml",
        "/static/%2e%2e%2fsite.yaml",
        "/static/%252e%252e/site.yaml",
        "/static/..\\site.yaml",
        "/static/%5c..%5csite.yaml",
        "/static/..%5csite.yaml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/....//site.yaml",
        "/static/./site.css/..",
        "/static/site.css%00.yaml",
        "/static/site.css/",
        "/static/.%2e/attacks.sqlite3",
        "/../site.yaml",
        "/static/../../../../etc/passwd",
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert_nothing_leaked(target, &r);
        assert_alive(s, target);
    }
    // Overlong UTF-8 for `.` and `/` is not UTF-8 at all: a 400, as any undecodable path.
    for target in [
        "/static/%C0%AE%C0%AE/site.yaml",
        "/static/%C0%AE%C0%AE%C0%AFsite.yaml",
        "/static/%E0%80%AE%E0%80%AE/site.yaml",
        "/str/%FF/",
        "/str/%C0%AE/",
        "/str/%ED%A0%80/",
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 400, "{target}: {r:?}");
        assert_nothing_leaked(target, &r);
        assert_alive(s, target);
    }
    let r = s.get("/static/site.css");
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn malformed_huge_and_misdirected_requests_get_a_4xx() {
    let s = server();
    let host = s.addr.to_string();
    let many: Vec<(String, String)> = (0..200).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let long_path = format!("/str/{}/", "a".repeat(20_000));
    let huge_path = format!("/str/{}/", "a".repeat(100_000));
    let big = "b".repeat(100_000);
    let rows: Vec<Row> = vec![
        (
            "200 headers",
            Box::new(|| s.request("GET", "/str/a/", &many)),
            Some(431),
        ),
        ("a 20 KB path", Box::new(|| s.get(&long_path)), Some(414)),
        // Past actix's own cap on a request head: its bare 400, before Trellis sees it.
        ("a 100 KB path", Box::new(|| s.get(&huge_path)), Some(400)),
        (
            "a 100 KB header",
            Box::new(|| s.request("GET", "/str/a/", &[("X-Big", &big)])),
            Some(431),
        ),
        (
            "no request line",
            Box::new(|| s.raw(b"GARBAGE\r\n\r\n")),
            Some(400),
        ),
        (
            "HTTP/9.9",
            Box::new(|| s.raw(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n")),
            Some(400),
        ),
        (
            "HTTP/1.1 without Host",
            Box::new(|| s.raw(b"GET /str/a/ HTTP/1.1\r\nConnection: close\r\n\r\n")),
            Some(400),
        ),
        (
            "a NUL in a header",
            Box::new(|| s.request("GET", "/str/a/", &[("X-A", "a\0b")])),
            Some(400),
        ),
        (
            "a Content-Length that is not a number",
            Box::new(|| s.request("POST", "/str/a/", &[("Content-Length", "abc")])),
            Some(400),
        ),
        (
            "an unknown method",
            Box::new(|| s.request("BREW", "/str/a/", &[])),
            Some(405),
        ),
        (
            "a Host not allowed",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", "evil.example")])),
            Some(400),
        ),
        (
            "an empty Host",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", "")])),
            Some(400),
        ),
        (
            "a Host with a path",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", "127.0.0.1/evil")])),
            Some(400),
        ),
        (
            "a Host with two ports",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", "localhost:80:80")])),
            Some(400),
        ),
        (
            "a Host hiding a name behind a slash",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", "evil.example/.localhost")])),
            Some(400),
        ),
        (
            "a Host with an empty port",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", "localhost:")])),
            Some(400),
        ),
        (
            "a request target naming another host",
            Box::new(|| {
                s.raw(b"GET http://evil.example/str/a/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            }),
            Some(400),
        ),
        (
            "a Host with a user",
            Box::new(|| s.request("GET", "/str/a/", &[("Host", &format!("evil@{host}"))])),
            Some(400),
        ),
    ];
    check_rows(s, rows);
}

/// Bodies nobody reads (each answer waits for actix to give up on the body: a test of their own,
/// so that it runs beside the others).
#[test]
fn huge_bodies_get_a_4xx() {
    let s = server();
    let rows: Vec<Row> = vec![
        (
            "a 3 MB body to a page",
            Box::new(|| s.request_with_body("POST", "/str/a/", &[], &"x".repeat(3_000_000))),
            Some(413),
        ),
        (
            "a body announced as 10 GB",
            Box::new(|| s.request("POST", "/str/a/", &[("Content-Length", "10000000000")])),
            Some(413),
        ),
    ];
    check_rows(s, rows);
}

/// A request (sent when its row's turn comes), and the status it must get.
type Row<'a> = (&'a str, Box<dyn Fn() -> Resp + 'a>, Option<u16>);

/// Each response has its status (or, for `None`, some 4xx), leaks nothing, and the server is
/// still well afterwards.
fn check_rows(s: &Server, rows: Vec<Row>) {
    for (what, send, status) in rows {
        let r = send();
        match status {
            Some(status) => assert_eq!(r.status, status, "{what}: {r:?}"),
            // The exact status is the server's limits' (413, 414, 431); never a success or a
            // server error.
            None => assert!((400..500).contains(&r.status), "{what}: {r:?}"),
        }
        assert_nothing_leaked(what, &r);
        assert_alive(s, what);
    }
}
