//! The bundled example site, `sites/greetings`, as a visitor sees it: its pages asked in
//! process (`site()`, loaded once per run), and what only the wire shows (the banner, the
//! stylesheet, the server's headers and log) asked of one server that the tests share.

use std::sync::OnceLock;

use crate::common;
use crate::common::{greetings_dir, Local, Server};

/// The site, loaded in process once per run.
fn site() -> &'static Local {
    static SITE: OnceLock<Local> = OnceLock::new();
    SITE.get_or_init(|| Local::shared(&greetings_dir()))
}

/// The site served over real HTTP, once per run.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::shared(&greetings_dir()))
}

/// Every page of the site is a full HTML page with its own title and the navigation.
fn assert_page(r: &common::Resp, title: &str) {
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "text/html", "{r:?}");
    assert!(
        r.header("content-type").unwrap().contains("charset=utf-8"),
        "{r:?}"
    );
    assert!(
        r.body
            .contains(&format!("<title>{title} · Greetings</title>")),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"<a href="/">Home</a>"#), "{}", r.body);
    assert!(
        r.body
            .contains(r#"<a href="/greetings/search/">Search</a>"#),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<a href="/greetings/profile/alice/">Alice</a>"#),
        "{}",
        r.body
    );
}

#[test]
fn the_banner_names_the_site_and_its_routes() {
    let s = server();
    assert!(s.banner.starts_with("Trellis "), "{}", s.banner);
    assert!(s.banner.contains("(6 routes)"), "{}", s.banner);
    assert!(
        s.banner.ends_with(&format!("at http://{}/", s.addr)),
        "{}",
        s.banner
    );
}

#[test]
fn home_and_greetings_index_welcome_the_visitor() {
    let s = site();
    for target in ["/", "/greetings/"] {
        let r = s.get(target);
        assert_page(&r, "Home");
        assert!(
            r.body.contains("<h1>Welcome to the App!</h1>"),
            "{target}: {}",
            r.body
        );
        // The home page links to the other pages by reversing their names.
        assert!(
            r.body
                .contains(r#"<a href="/greetings/alice/">a greeting</a>"#),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains(r#"<a href="/greetings/search/?q=django">a search</a>"#),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains(r#"<a href="/greetings/profile/bob/">a profile</a>"#),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains(r#"<link rel="stylesheet" href="/static/site.css">"#),
            "{}",
            r.body
        );
    }
}

#[test]
fn a_greeting_capitalizes_the_name() {
    let s = site();
    let r = s.get("/greetings/alice/");
    assert_page(&r, "Hello");
    assert!(
        r.body.contains("Hello, Alice! Nice to meet you."),
        "{}",
        r.body
    );

    // Python's str.capitalize: the rest of the name is lowered.
    let r = s.get("/greetings/mARY/");
    assert!(
        r.body.contains("Hello, Mary! Nice to meet you."),
        "{}",
        r.body
    );
}

#[test]
fn search_shows_the_term_and_the_page() {
    let s = site();
    let r = s.get("/greetings/search/?q=django&page=2");
    assert_page(&r, "Search");
    assert!(r.body.contains("You searched for: django"), "{}", r.body);
    assert!(r.body.contains("Showing page: 2"), "{}", r.body);
    // The form keeps the term.
    assert!(
        r.body.contains(r#"<input name="q" value="django">"#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"<form action="/greetings/search/">"#),
        "{}",
        r.body
    );
}

#[test]
fn search_without_a_term_asks_for_one() {
    let s = site();
    for target in [
        "/greetings/search/",
        "/greetings/search/?q=",
        "/greetings/search/?page=3",
    ] {
        let r = s.get(target);
        assert_page(&r, "Search");
        assert!(
            r.body.contains("Please provide a search term using ?q=..."),
            "{target}: {}",
            r.body
        );
        assert!(!r.body.contains("You searched for"), "{target}: {}", r.body);
    }
}

#[test]
fn search_page_defaults_to_one() {
    let s = site();
    // Absent, below `min: 1`, or not a number: the default.
    for target in [
        "/greetings/search/?q=django",
        "/greetings/search/?q=django&page=0",
        "/greetings/search/?q=django&page=-4",
        "/greetings/search/?q=django&page=two",
        "/greetings/search/?q=django&page=",
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 200, "{target}");
        assert!(
            r.body.contains("You searched for: django"),
            "{target}: {}",
            r.body
        );
        assert!(r.body.contains("Showing page: 1"), "{target}: {}", r.body);
    }
}

#[test]
fn go_home_redirects_to_the_home_page() {
    let s = site();
    let r = s.get("/greetings/go-home/");
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/"));
    assert_eq!(r.body, "");
}

#[test]
fn a_known_user_has_a_profile() {
    let s = site();
    let r = s.get("/greetings/profile/bob/");
    assert_page(&r, "Profile");
    assert!(r.body.contains("<h1>Profile of Bob</h1>"), "{}", r.body);
    assert!(
        r.body
            .contains("Keeps the servers running and the coffee hot."),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(r#"<a href="/greetings/bob/">Say hello to Bob</a>"#),
        "{}",
        r.body
    );
}

#[test]
fn an_unknown_user_is_a_404_with_the_sites_own_page() {
    let s = site();
    let r = s.get("/greetings/profile/dave/");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.mime(), "text/html");
    assert!(
        r.body.contains("<title>Not found · Greetings</title>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<h1>Page not found</h1>"), "{}", r.body);
    assert!(
        r.body
            .contains("Nothing lives at <code>/greetings/profile/dave/</code>."),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"Try the <a href="/">home page</a>."#),
        "{}",
        r.body
    );
}

#[test]
fn any_other_missing_page_is_the_same_404() {
    let s = site();
    let r = s.get("/no/such/page/");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<h1>Page not found</h1>"), "{}", r.body);
    assert!(r.body.contains("<code>/no/such/page/</code>"), "{}", r.body);
}

#[test]
fn a_missing_slash_is_added_by_a_permanent_redirect() {
    let s = site();
    let r = s.get("/greetings");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/greetings/"));

    let r = s.get("/greetings/search?q=django");
    assert_eq!(r.status, 301, "{r:?}");
    assert_eq!(r.header("location"), Some("/greetings/search/?q=django"));
}

#[test]
fn the_stylesheet_is_served() {
    let s = server();
    let r = s.get("/static/site.css");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.mime(), "text/css");
    let on_disk = std::fs::read_to_string(greetings_dir().join("static/site.css")).unwrap();
    assert_eq!(r.body, on_disk);

    let r = s.get("/static/missing.css");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("<h1>Page not found</h1>"), "{}", r.body);
}

#[test]
fn serve_with_no_site_serves_the_bundled_greetings() {
    let s = Server::start_bundled();
    // Said plainly: not a temporary folder's name.
    assert!(
        s.banner
            .contains("serving the example site built into trellis (6 routes) at http://"),
        "{}",
        s.banner
    );

    let r = s.get("/");
    assert_page(&r, "Home");
    assert!(r.body.contains("Welcome to the App!"), "{}", r.body);
    let r = s.get("/greetings/alice/");
    assert!(
        r.body.contains("Hello, Alice! Nice to meet you."),
        "{}",
        r.body
    );
    let r = s.get("/greetings/profile/dave/");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Page not found"), "{}", r.body);
    let r = s.get("/static/site.css");
    assert_eq!(r.status, 200);
    assert_eq!(r.mime(), "text/css");
}

#[test]
fn every_response_carries_the_security_headers() {
    let s = server();
    for target in [
        "/",
        "/greetings/profile/dave/",
        "/greetings",
        "/greetings/go-home/",
        "/static/site.css",
    ] {
        let r = s.get(target);
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{target}: {r:?}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{target}: {r:?}");
        assert_eq!(
            r.header("referrer-policy"),
            Some("same-origin"),
            "{target}: {r:?}"
        );
        assert_eq!(
            r.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{target}: {r:?}"
        );
    }
}

#[test]
fn each_request_is_logged() {
    let s = server();
    assert_eq!(s.get("/greetings/alice/").status, 200);
    s.wait_for_log("\"GET /greetings/alice/ HTTP/1.1\" 200");
    // A path no other test of the shared server asks for, so the line is this request's.
    assert_eq!(s.get("/greetings/profile/erin/").status, 404);
    s.wait_for_log("\"GET /greetings/profile/erin/ HTTP/1.1\" 404");
}
