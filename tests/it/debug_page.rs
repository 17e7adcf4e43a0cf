//! The debug page: while developing (`serve` on a loopback address), a page that fails to
//! render answers 500 with the error, the template's file, line and column with its source,
//! the route and the request — all escaped — instead of the site's 500 page; never on a public
//! address nor with `--no-debug`. In process through `Site::handle_debug` for the content, over
//! real HTTP for which servers show it and for the request's headers and cookies (secrets
//! masked as Django's `SafeExceptionReporterFilter` masks them).

use crate::common::{write_site, Local, Resp, Server};

const SITE: &str = r#"site:
  name: Debug
routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - { path: "when/<str:label>/", name: when, view: template, template: when.hbs }
errors:
  500: 500.hbs
"#;

/// `{{date}}` of a value that is no date fails at render time, at line 3, column 4.
const WHEN: &str =
    "{{#> layout}}\n<h1>{{params.label}}</h1>\n<p>{{date request.query.at}}</p>\n{{/layout}}\n";

fn site() -> crate::common::SiteDir {
    site_with("")
}

/// The site, with `site.yaml` lines added under `site:`.
fn site_with(settings: &str) -> crate::common::SiteDir {
    write_site(
        &SITE.replace("  name: Debug\n", &format!("  name: Debug\n{settings}")),
        &[
            (
                "layout.hbs",
                "<!doctype html>\n<html><body>\n{{> @partial-block}}\n</body></html>\n",
            ),
            ("home.hbs", "{{#> layout}}<p>home</p>{{/layout}}\n"),
            ("when.hbs", WHEN),
            ("500.hbs", "<h1>Our own 500 page</h1>\n"),
        ],
    )
}

/// A request whose path and query hold markup, which the error message quotes.
const TARGET: &str = "/when/%3Cb%3Ex/?at=%3Cscript%3Ealert(1)%3C%2Fscript%3E";

fn assert_debug_page(r: &Resp) {
    assert_eq!(r.status, 500, "{r:?}");
    assert_eq!(r.mime(), "text/html", "{r:?}");
    for part in [
        "<h1>Server Error (500)</h1>",
        // The message, quoting the request's value escaped.
        "date: cannot read `&lt;script&gt;alert(1)&lt;/script&gt;` as an ISO-8601 date",
        // The template's file, line and column, and its source with the line marked.
        "templates/when.hbs:3:4</p>",
        "<mark>    3 | &lt;p&gt;{{date request.query.at}}&lt;/p&gt;</mark>",
        "    2 | &lt;h1&gt;{{params.label}}&lt;/h1&gt;",
        // The route.
        "<tr><th>Name</th><td>when</td></tr>",
        "<tr><th>Pattern</th><td>/when/&lt;str:label&gt;/</td></tr>",
        "<tr><th>View</th><td>template</td></tr>",
        // The request.
        "<tr><th>Method</th><td>GET</td></tr>",
        "<tr><th>Path</th><td>/when/&lt;b&gt;x/</td></tr>",
        "<tr><th>query: at</th><td>&lt;script&gt;alert(1)&lt;/script&gt;</td></tr>",
    ] {
        assert!(r.body.contains(part), "expected {part:?} in:\n{}", r.body);
    }
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    assert!(!r.body.contains("<b>x"), "{}", r.body);
    assert!(!r.body.contains("Our own 500 page"), "{}", r.body);
}

fn assert_site_500(r: &Resp) {
    assert_eq!(r.status, 500, "{r:?}");
    assert!(r.body.contains("Our own 500 page"), "{}", r.body);
    assert!(!r.body.contains("date: cannot read"), "{}", r.body);
    assert!(!r.body.contains("when.hbs"), "{}", r.body);
}

#[test]
fn a_render_error_shows_its_template_line_route_and_request_escaped() {
    let site = site();
    let local = Local::load(&site.path);
    assert_debug_page(&local.get_debug(TARGET));
    // The same request to a server that is not for development: the site's own page.
    assert_site_500(&local.get(TARGET));
    // A page that renders is the same either way.
    assert_eq!(local.get_debug("/").body, local.get("/").body);
}

#[test]
fn a_loopback_server_shows_the_debug_page() {
    let s = Server::start_site(&site());
    let r = s.get(TARGET);
    assert_debug_page(&r);
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    // The detail is in the log too, as before.
    s.wait_for_log("Internal Server Error: /when/<b>x/: rendering when");
}

#[test]
fn no_debug_and_a_public_address_show_the_sites_own_500_page() {
    let site = site();
    let s = Server::start_with(&site.path, &["--no-debug"]);
    assert_site_500(&s.get(TARGET));
    s.wait_for_log("Internal Server Error: /when/");

    // Listening on every address (allowed_hosts: ["*"]): never the debug page.
    let site = site_with("  allowed_hosts: [\"*\"]\n");
    let s = Server::start_with(&site.path, &["--addr", "0.0.0.0:0"]);
    assert_site_500(&s.get(TARGET));
}

/// A proxy on the same machine makes a loopback server public (nginx's default `proxy_pass`
/// even sends `Host: 127.0.0.1:8000`): a request that shows a proxy's headers, and any request
/// to a site that names public hosts, get the site's own 500 page.
#[test]
fn behind_a_proxy_or_with_public_hosts_the_debug_page_is_not_shown() {
    let s = Server::start_site(&site());
    for header in [
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-Proto", "https"),
        ("X-Real-IP", "203.0.113.7"),
        ("Forwarded", "for=203.0.113.7"),
        ("Via", "1.1 proxy"),
    ] {
        assert_site_500(&s.request("GET", TARGET, &[header]));
    }
    // The same server, without those headers: the debug page.
    assert_debug_page(&s.get(TARGET));

    let site = site_with("  allowed_hosts: [example.org, localhost, 127.0.0.1]\n");
    let s = Server::start_site(&site);
    assert_site_500(&s.get(TARGET));
    assert_site_500(&s.request("GET", TARGET, &[("Host", "example.org")]));
}

/// Django's technical 500 page shows the request's headers (META) and cookies; Trellis's
/// showed neither. They are shown escaped, sorted by name, and a value that may be a secret
/// is masked as Django's `SafeExceptionReporterFilter` masks it: a header whose name says
/// API, AUTH, TOKEN, KEY, SECRET, PASS or SIGNATURE, the whole `Cookie` header, and the
/// CSRF and session cookies.
#[test]
fn the_debug_page_shows_the_request_headers_with_secrets_masked() {
    const MASK: &str = "********************";
    let s = Server::start_site(&site());
    let headers = [
        ("User-Agent", "<script>ua()</script>"),
        ("Accept-Language", "fr-CA"),
        ("Authorization", "Bearer top-secret-bearer"),
        ("X-Api-Key", "top-secret-api-key"),
        ("X-CSRFToken", "top-secret-csrf-header"),
        (
            "Cookie",
            "csrftoken=TopSecretCsrfCookie0123456789abcd; sessionid=top-secret-session; theme=<b>dark</b>",
        ),
    ];
    let r = s.request("GET", TARGET, &headers);
    assert_debug_page(&r);
    for part in [
        "<h2>Request headers</h2>",
        "<tr><th>accept-language</th><td>fr-CA</td></tr>",
        "<tr><th>user-agent</th><td>&lt;script&gt;ua()&lt;/script&gt;</td></tr>",
        &format!("<tr><th>authorization</th><td>{MASK}</td></tr>"),
        &format!("<tr><th>x-api-key</th><td>{MASK}</td></tr>"),
        &format!("<tr><th>x-csrftoken</th><td>{MASK}</td></tr>"),
        &format!("<tr><th>cookie</th><td>{MASK}</td></tr>"),
        "<h2>Cookies</h2>",
        &format!("<tr><th>csrftoken</th><td>{MASK}</td></tr>"),
        &format!("<tr><th>sessionid</th><td>{MASK}</td></tr>"),
        "<tr><th>theme</th><td>&lt;b&gt;dark&lt;/b&gt;</td></tr>",
    ] {
        assert!(r.body.contains(part), "expected {part:?} in:\n{}", r.body);
    }
    assert!(!r.body.to_lowercase().contains("top-secret"), "{}", r.body);
    assert!(!r.body.contains("TopSecret"), "{}", r.body);
    assert!(!r.body.contains("<script>ua"), "{}", r.body);
    // Sorted by name, as Django sorts META.
    let at = |name: &str| r.body.find(&format!("<tr><th>{name}</th>")).unwrap();
    assert!(at("accept-language") < at("authorization") && at("authorization") < at("user-agent"));

    // Without the debug page, no header is shown.
    let s = Server::start_with(&site().path, &["--no-debug"]);
    let r = s.request("GET", TARGET, &headers);
    assert_site_500(&r);
    assert!(!r.body.contains("fr-CA"), "{}", r.body);
}
