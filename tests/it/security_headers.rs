//! `site.security` over the wire: the headers it asks for (CSP, HSTS, Permissions-Policy, and
//! other values for the defaults) are on every kind of response Trellis writes, and a mistake
//! in it is a placed diagnostic.

use std::sync::OnceLock;

use crate::common::{trellis, write_files, Resp, Server, SiteDir};

const SITE: &str = r#"
site:
  allowed_hosts: [127.0.0.1]
  security:
    content_security_policy: "default-src 'self'; img-src 'self' data:"
    permissions_policy: "geolocation=(), camera=()"
    hsts: { max_age: 31536000, include_subdomains: true }
    frame_options: SAMEORIGIN
    referrer_policy: strict-origin-when-cross-origin
  proxy:
    scheme_header: { name: X-Forwarded-Proto, value: https }
routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - { path: "search/", view: template, template: home.hbs }
  - { path: "article/<int:year>/<int:month>/", name: article, view: template, template: home.hbs }
  - { path: "old/<str:year>/", view: redirect, to: article, args: { month: "01" } }
  - { path: "go/", view: redirect, to: home }
"#;

fn site() -> &'static SiteDir {
    static SITE_DIR: OnceLock<SiteDir> = OnceLock::new();
    SITE_DIR.get_or_init(|| {
        write_files(&[
            ("site.yaml", SITE),
            ("templates/home.hbs", "<p>home</p>"),
            ("static/site.css", "body { margin: 0 }"),
            // Larger than what is kept in memory: actix-files streams it.
            (
                "static/big.txt",
                &"a line of a large text file\n".repeat(20_000),
            ),
        ])
    })
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&site().path))
}

/// The headers `SITE` asks for, and the default it keeps.
const EXPECTED: [(&str, &str); 6] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "SAMEORIGIN"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:",
    ),
];

fn assert_headers(what: &str, r: &Resp) {
    for (name, value) in EXPECTED {
        assert_eq!(r.header(name), Some(value), "{what}: {name} in {r:?}");
    }
    assert_eq!(
        r.header("permissions-policy"),
        Some("geolocation=(), camera=()"),
        "{what}: {r:?}"
    );
}

#[test]
fn every_kind_of_response_carries_the_sites_security_headers() {
    let s = server();
    let css = s.get("/static/site.css");
    let etag = css.header("etag").expect("an ETag").to_string();
    for (method, target, headers, status) in [
        ("GET", "/", vec![], 200),
        ("HEAD", "/", vec![], 200),
        ("OPTIONS", "/", vec![], 200),
        ("GET", "/%FF/", vec![], 400),
        ("GET", "/", vec![("Host", "evil.example")], 400),
        ("GET", "/missing/", vec![], 404),
        ("POST", "/", vec![], 405),
        ("GET", "/old/abcd/", vec![], 500),
        ("GET", "/search", vec![], 301),
        ("GET", "/go/", vec![], 302),
        ("GET", "/static/site.css", vec![], 200),
        (
            "GET",
            "/static/site.css",
            vec![("If-None-Match", etag.as_str())],
            304,
        ),
        ("GET", "/static/big.txt", vec![], 200),
        ("GET", "/static/big.txt", vec![("Range", "bytes=0-9")], 206),
        ("GET", "/static/missing.css", vec![], 404),
        ("POST", "/static/site.css", vec![], 405),
    ] {
        let what = format!("{method} {target} {headers:?}");
        let r = s.request(method, target, &secure(&headers));
        assert_eq!(r.status, status, "{what}: {r:?}");
        assert_headers(&what, &r);
    }
}

/// `headers` and the one by which the proxy (the test, on loopback, which `site.proxy`
/// trusts by default) says the request came over HTTPS: HSTS is sent only then.
fn secure<'a>(headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = headers.to_vec();
    all.push(("X-Forwarded-Proto", "https"));
    all
}

#[test]
fn hsts_is_sent_on_secure_requests_only() {
    let s = server();
    for (headers, hsts) in [
        (vec![], false),
        (vec![("X-Forwarded-Proto", "http")], false),
        (vec![("X-Forwarded-Proto", "https")], true),
    ] {
        for target in ["/", "/missing/", "/static/site.css"] {
            let r = s.request("GET", target, &headers);
            assert_eq!(
                r.header("strict-transport-security").is_some(),
                hsts,
                "{target} {headers:?}: {r:?}"
            );
            assert_eq!(r.header("x-frame-options"), Some("SAMEORIGIN"), "{r:?}");
        }
    }
}

#[test]
fn the_live_endpoint_and_its_pages_carry_them_too() {
    let s = Server::start_with(&site().path, &["--live"]);
    for target in ["/", "/__trellis/live"] {
        let r = s.request("GET", target, &secure(&[]));
        assert_eq!(r.status, 200, "{target}: {r:?}");
        assert_headers(target, &r);
    }
}

#[test]
fn a_site_without_security_settings_sends_djangos_defaults_only() {
    let dir = write_files(&[
        (
            "site.yaml",
            "routes:\n  - { path: \"\", view: response, body: hi }\n",
        ),
        ("static/a.css", "a {}"),
    ]);
    let s = Server::start(&dir.path);
    for target in ["/", "/static/a.css", "/nothing/"] {
        let r = s.get(target);
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{r:?}");
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{r:?}");
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{r:?}");
        assert_eq!(
            r.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{r:?}"
        );
        for absent in [
            "strict-transport-security",
            "content-security-policy",
            "permissions-policy",
        ] {
            assert_eq!(r.header(absent), None, "{target}: {r:?}");
        }
    }
}

#[test]
fn off_leaves_a_default_header_out() {
    let dir = write_files(&[(
        "site.yaml",
        "site:\n  security: { frame_options: \"off\", referrer_policy: \"off\", cross_origin_opener_policy: \"off\" }\nroutes:\n  - { path: \"\", view: response, body: hi }\n",
    )]);
    let s = Server::start(&dir.path);
    let r = s.get("/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{r:?}");
    for absent in [
        "x-frame-options",
        "referrer-policy",
        "cross-origin-opener-policy",
    ] {
        assert_eq!(r.header(absent), None, "{r:?}");
    }
}

#[test]
fn a_mistake_in_site_security_is_placed_with_a_hint() {
    let dir = write_files(&[(
        "site.yaml",
        "site:\n  security:\n    content_security_policy: \"default-src\\n'self'\"\n    hsts: { max_age: 600, preload: true }\n",
    )]);
    let out = trellis(["check".as_ref(), dir.path.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "site.yaml:3:30: site.security.content_security_policy: '\\n' cannot be in a header"
        ),
        "{err}"
    );
    assert!(
        err.contains("site.yaml:4:36: site.security.hsts.preload: HSTS preload needs `include_subdomains: true`"),
        "{err}"
    );
    assert!(
        err.contains("help: write `hsts: { max_age: 31536000"),
        "{err}"
    );

    let dir = write_files(&[(
        "site.yaml",
        "site:\n  security:\n    frame_options: ALLOW\n",
    )]);
    let out = trellis(["check".as_ref(), dir.path.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("site.yaml:3:20: site.security.frame_options: unknown value `ALLOW`"),
        "{err}"
    );
    assert!(
        err.contains("help: expected one of: DENY, SAMEORIGIN, off"),
        "{err}"
    );
}

#[test]
fn a_reload_that_changes_site_security_changes_the_headers() {
    let dir = write_files(&[(
        "site.yaml",
        "routes:\n  - { path: \"\", view: response, body: hi }\n",
    )]);
    let s = Server::start_with(&dir.path, &[]);
    assert_eq!(s.get("/").header("content-security-policy"), None);
    let site = s.site_path().join("site.yaml");
    std::fs::write(
        &site,
        "site:\n  security: { content_security_policy: \"default-src 'none'\" }\nroutes:\n  - { path: \"\", view: response, body: hi }\n",
    )
    .unwrap();
    s.wait_for_log("reloaded in ");
    let r = s.get("/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-security-policy"),
        Some("default-src 'none'"),
        "{r:?}"
    );
}
