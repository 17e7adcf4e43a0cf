//! CORS over real HTTP: `site.cors` and a route's own `cors:` answer preflights (204 and the
//! `Access-Control-Allow-*` headers) for allowed origins only, name an allowed origin on every
//! other answer (errors included), say `Vary: Origin`, and add nothing where CORS is off. A
//! mistake in a policy is a placed diagnostic with a hint.

use std::sync::OnceLock;

use crate::common::{check_prints, write_files, Resp, Server, SiteDir};

const SITE: &str = r#"
site:
  allowed_hosts: [127.0.0.1]
  cors:
    origins: [https://app.example.org, "http://localhost:5173"]
    headers: [X-Token]
    expose_headers: [X-Total]
    max_age: 600
    credentials: true
routes:
  - { path: "api/", view: response, body: '{"ok": true}', content_type: application/json }
  - { path: "api/write/", view: response, body: "done", methods: [GET, POST, DELETE] }
  - { path: "open/", view: response, body: "open", cors: { origins: ["*"] } }
  - { path: "private/", view: response, body: "private", cors: false }
"#;

fn server() -> &'static Server {
    static SITE_DIR: OnceLock<SiteDir> = OnceLock::new();
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = SITE_DIR.get_or_init(|| write_files(&[("site.yaml", SITE)]));
        Server::start(&dir.path)
    })
}

const APP: &str = "https://app.example.org";
const EVIL: &str = "https://evil.example";

fn preflight(path: &str, origin: &str, method: &str, headers: Option<&str>) -> Resp {
    let mut h = vec![
        ("Origin", origin),
        ("Access-Control-Request-Method", method),
    ];
    if let Some(headers) = headers {
        h.push(("Access-Control-Request-Headers", headers));
    }
    server().request("OPTIONS", path, &h)
}

#[test]
fn a_preflight_from_an_allowed_origin_is_answered_with_what_it_may_do() {
    let r = preflight("/api/write/", APP, "DELETE", Some("x-token"));
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some(APP), "{r:?}");
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, HEAD, POST, DELETE"),
        "{r:?}"
    );
    assert_eq!(r.header("access-control-allow-headers"), Some("x-token"));
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_eq!(r.body, "");
}

#[test]
fn a_preflight_that_asks_too_much_gets_no_cors_headers() {
    for (what, r) in [
        (
            "another origin",
            preflight("/api/write/", EVIL, "DELETE", None),
        ),
        (
            "a method the route refuses",
            preflight("/api/", APP, "DELETE", None),
        ),
        (
            "a header not allowed",
            preflight("/api/", APP, "GET", Some("x-token, x-admin")),
        ),
        (
            "a route with cors: false",
            preflight("/private/", APP, "GET", None),
        ),
    ] {
        // The route answers OPTIONS as it does without CORS: the browser refuses the request.
        assert_eq!(r.status, 200, "{what}: {r:?}");
        assert!(r.header("allow").is_some(), "{what}: {r:?}");
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{what}: {r:?}"
        );
        assert_eq!(
            r.header("access-control-allow-methods"),
            None,
            "{what}: {r:?}"
        );
    }
}

#[test]
fn a_simple_request_names_an_allowed_origin_and_varies_by_origin() {
    let s = server();
    let r = s.request("GET", "/api/", &[("Origin", APP)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, r#"{"ok": true}"#);
    assert_eq!(r.header("access-control-allow-origin"), Some(APP), "{r:?}");
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("access-control-expose-headers"), Some("X-Total"));
    assert_eq!(r.header("vary"), Some("Origin"));

    // An error is readable too, so that a page can show it.
    let missing = s.request(
        "GET",
        "/api/missing/",
        &[("Origin", "http://localhost:5173")],
    );
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(
        missing.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let refused = s.request("POST", "/api/", &[("Origin", APP)]);
    assert_eq!(refused.status, 405, "{refused:?}");
    assert_eq!(refused.header("access-control-allow-origin"), Some(APP));

    for (what, r) in [
        (
            "another origin",
            s.request("GET", "/api/", &[("Origin", EVIL)]),
        ),
        ("no origin", s.get("/api/")),
        // Origins are compared exactly, as browsers send them.
        (
            "a longer origin",
            s.request(
                "GET",
                "/api/",
                &[("Origin", "https://app.example.org.evil.example")],
            ),
        ),
    ] {
        assert_eq!(r.status, 200, "{what}: {r:?}");
        assert_eq!(
            r.header("access-control-allow-origin"),
            None,
            "{what}: {r:?}"
        );
        assert_eq!(r.header("access-control-allow-credentials"), None, "{what}");
        assert_eq!(r.header("vary"), Some("Origin"), "{what}: {r:?}");
    }
}

#[test]
fn a_routes_own_policy_replaces_the_sites_and_false_turns_it_off() {
    let s = server();
    let open = s.request("GET", "/open/", &[("Origin", EVIL)]);
    assert_eq!(
        open.header("access-control-allow-origin"),
        Some("*"),
        "{open:?}"
    );
    assert_eq!(open.header("access-control-allow-credentials"), None);
    assert_eq!(open.header("vary"), None, "{open:?}");
    let pre = preflight("/open/", EVIL, "GET", None);
    assert_eq!(pre.status, 204, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert_eq!(pre.header("access-control-allow-headers"), None);
    // It allows no header beyond the safelisted ones.
    let pre = preflight("/open/", EVIL, "GET", Some("x-anything"));
    assert_eq!(pre.status, 200, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), None, "{pre:?}");

    let private = s.request("GET", "/private/", &[("Origin", APP)]);
    assert_eq!(private.status, 200, "{private:?}");
    for name in ["access-control-allow-origin", "vary"] {
        assert_eq!(private.header(name), None, "{private:?}");
    }
}

#[test]
fn a_site_without_cors_sends_no_cors_headers() {
    let dir = write_files(&[(
        "site.yaml",
        "routes:\n  - { path: \"\", view: response, body: hi }\n",
    )]);
    let s = Server::start(&dir.path);
    let r = s.request("GET", "/", &[("Origin", APP)]);
    let pre = s.request(
        "OPTIONS",
        "/",
        &[("Origin", APP), ("Access-Control-Request-Method", "GET")],
    );
    assert_eq!(pre.status, 200, "{pre:?}");
    for r in [r, pre] {
        let cors: Vec<_> = r
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-") || n == "vary")
            .collect();
        assert!(cors.is_empty(), "{r:?}");
    }
}

#[test]
fn a_mistake_in_a_cors_policy_is_placed_with_a_hint() {
    check_prints(
        "site:\n  cors:\n    origins: [\"*\"]\n    credentials: true\nroutes:\n  - path: \"\"\n    view: response\n    body: hi\n    cors: { origins: [https://app.example.org/] }\n",
        &[
        "site.yaml:4:18: site.cors.credentials: credentials cannot go with `*` in `origins`: browsers refuse the answer",
        "help: list the origins a page with cookies may use, or set `credentials: false`",
        "site.yaml:9:23: routes[0].cors.origins[0]: \"https://app.example.org/\" is not an origin as browsers send it",
        "help: write `https://app.example.org` (scheme, host and port only, lower case, no trailing slash)",
        ],
    );
}
