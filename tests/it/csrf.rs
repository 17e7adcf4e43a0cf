//! CSRF over real HTTP against the real binary (what only the wire shows: the cookie the
//! server sets, the headers a browser sends, the form body read from the socket): a page with
//! `{{csrf_input}}` sets `csrftoken` and carries a masked token; a POST with both passes, and
//! each fault (no cookie, no token, a wrong token, a foreign Origin) is a 403 with Django's
//! reason on the site's 403 page. Form bodies past `site.limits.body_bytes` are 413s even when
//! sent chunked. Masking itself is unit-tested in `src/views/csrf.rs`.

use crate::common::{write_site, Resp, Server};

const SITE: &str = "site:\n  name: Forms\n  limits:\n    body_bytes: 400\nroutes:\n  - path: form/\n    view: template\n    template: form.hbs\n    methods: [GET, POST, DELETE]\n  - path: \"\"\n    view: template\n    template: home.hbs\n  - path: plain/\n    view: template\n    template: plain.hbs\n";

fn start() -> Server {
    let dir = write_site(
        SITE,
        &[
            (
                "form.hbs",
                "<form method=\"post\">{{csrf_input}}</form>[{{request.method}}]",
            ),
            ("home.hbs", "home"),
            ("plain.hbs", "<form>{{csrf_input}}</form>"),
            ("403.hbs", "<h1>Refused</h1><p>{{message}}</p>"),
        ],
    );
    Server::start_site(&dir)
}

/// The `csrftoken` cookie's value in a response's `Set-Cookie`, and the whole header.
pub(crate) fn csrf_cookie(r: &Resp) -> (String, String) {
    let set = r
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("csrftoken="))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no csrftoken cookie: {r:?}"));
    let value = set["csrftoken=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (value, set)
}

/// The hidden field's token in a page.
pub(crate) fn token_in(body: &str) -> String {
    let at = body
        .find("name=\"csrfmiddlewaretoken\" value=\"")
        .unwrap_or_else(|| panic!("no token field in {body}"));
    let rest = &body[at + "name=\"csrfmiddlewaretoken\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// A request's headers and body, and the reason its 403 gives.
type Case<'a> = (Vec<(&'a str, &'a str)>, String, &'a str);

#[test]
fn a_form_page_sets_the_cookie_and_a_post_with_its_token_passes() {
    let server = start();
    let page = server.get("/form/");
    assert_eq!(page.status, 200, "{page:?}");
    let (secret, set) = csrf_cookie(&page);
    assert_eq!(secret.len(), 32, "{set}");
    assert!(
        set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let token = token_in(&page.body);
    assert_eq!(token.len(), 64);
    // A page whose only varying part is the token is rendered afresh each time (a page that
    // reads nothing of the request is otherwise kept once rendered).
    let (a, b) = (server.get("/plain/"), server.get("/plain/"));
    assert_ne!(token_in(&a.body), token_in(&b.body));
    assert_ne!(
        csrf_cookie(&a).0,
        csrf_cookie(&b).0,
        "no cookie sent: a new secret each"
    );
    // A page that shows no token sets no cookie.
    let home = server.get("/");
    assert!(home.header("set-cookie").is_none(), "{home:?}");
    // The cookie is reused, and each render masks it afresh.
    let cookie = format!("csrftoken={secret}");
    let again = server.request("GET", "/form/", &[("Cookie", &cookie)]);
    assert_eq!(csrf_cookie(&again).0, secret);
    assert_ne!(token_in(&again.body), token);

    let body = format!("csrfmiddlewaretoken={token}&title=x");
    let ok = server.request_with_body(
        "POST",
        "/form/",
        &[("Cookie", &cookie), ("Content-Type", FORM)],
        &body,
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body.contains("[POST]"), "{}", ok.body);
    // Same-origin Origin passes too.
    let port = server.addr.port();
    let origin = format!("http://127.0.0.1:{port}");
    let ok = server.request_with_body(
        "POST",
        "/form/",
        &[
            ("Cookie", &cookie),
            ("Content-Type", FORM),
            ("Origin", &origin),
            ("Host", &format!("127.0.0.1:{port}")),
        ],
        &body,
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    // The header a script sends works as the field does.
    let ok = server.request_with_body(
        "POST",
        "/form/",
        &[("Cookie", &cookie), ("X-CSRFToken", &token)],
        "",
    );
    assert_eq!(ok.status, 200, "{ok:?}");
}

#[test]
fn each_csrf_fault_is_a_403_with_its_reason_on_the_sites_page() {
    let server = start();
    let page = server.get("/form/");
    let (secret, _) = csrf_cookie(&page);
    let token = token_in(&page.body);
    let cookie = format!("csrftoken={secret}");
    let other = token_in(&server.get("/form/").body);
    let port = server.addr.port();
    let host = format!("127.0.0.1:{port}");
    let good = format!("csrfmiddlewaretoken={token}");
    let cases: Vec<Case> = vec![
        (
            vec![("Content-Type", FORM)],
            good.clone(),
            "CSRF cookie not set.",
        ),
        (
            vec![("Cookie", &cookie), ("Content-Type", FORM)],
            "title=x".into(),
            "CSRF token missing.",
        ),
        (
            vec![("Cookie", &cookie), ("Content-Type", FORM)],
            format!("csrfmiddlewaretoken={other}"),
            "CSRF token from POST incorrect.",
        ),
        (
            vec![
                ("Cookie", &cookie),
                ("Content-Type", FORM),
                ("Origin", "http://evil.example"),
                ("Host", &host),
            ],
            good.clone(),
            "Origin checking failed - http://evil.example does not match any trusted origins.",
        ),
        // A form sent as multipart is not read: its token is missing.
        (
            vec![("Cookie", &cookie), ("Content-Type", "text/plain")],
            good.clone(),
            "CSRF token missing.",
        ),
    ];
    for (headers, body, why) in cases {
        let r = server.request_with_body("POST", "/form/", &headers, &body);
        assert_eq!(r.status, 403, "{headers:?}: {r:?}");
        assert!(r.body.contains("<h1>Refused</h1>"), "{}", r.body);
        assert!(r.body.contains(why), "{why}: {}", r.body);
    }
    // Every unsafe method is checked, not only POST; a safe one never is.
    let r = server.request("DELETE", "/form/", &[("Cookie", &cookie)]);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("CSRF token missing."), "{}", r.body);
    let r = server.request("GET", "/form/", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let log = server.wait_for_log("Forbidden (CSRF cookie not set.): /form/");
    assert!(log.contains("Forbidden (CSRF token missing.)"), "{log}");
}

#[test]
fn an_attackers_token_and_origin_reach_the_page_escaped() {
    let server = start();
    let (secret, _) = csrf_cookie(&server.get("/form/"));
    let cookie = format!("csrftoken={secret}");
    let r = server.request_with_body(
        "POST",
        "/form/",
        &[
            ("Cookie", &cookie),
            ("Content-Type", FORM),
            ("Origin", "http://x\"><script>alert(1)</script>"),
        ],
        "csrfmiddlewaretoken=x",
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert!(!r.body.contains("<script>"), "{}", r.body);
    assert!(r.body.contains("&lt;script&gt;"), "{}", r.body);
}

#[test]
fn a_form_body_past_the_limit_is_a_413_even_chunked() {
    let server = start();
    let (secret, _) = csrf_cookie(&server.get("/form/"));
    let big = format!("csrfmiddlewaretoken={secret}&t={}", "a".repeat(500));
    let chunked = format!(
        "POST /form/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: csrftoken={secret}\r\nContent-Type: {FORM}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let r = server.raw(chunked.as_bytes());
    assert_eq!(r.status, 413, "{r:?}");
    // Within the limit, chunked, the body is read and the token found.
    let small = format!("csrfmiddlewaretoken={secret}&t=a");
    let chunked = format!(
        "POST /form/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: csrftoken={secret}\r\nContent-Type: {FORM}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{small}\r\n0\r\n\r\n",
        small.len()
    );
    let r = server.raw(chunked.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
}

/// `serve` makes the secret key file on first start (mode 0600, hidden, beside the database,
/// here the site folder), keeps it on the next start, and refuses to start when other users can
/// read it. (The key's rules are unit-tested in `src/secret.rs`.)
#[cfg(unix)]
#[test]
fn serve_makes_the_secret_key_file_once_and_refuses_a_shared_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = write_site(
        SITE,
        &[
            ("form.hbs", "{{csrf_input}}"),
            ("home.hbs", "home"),
            ("plain.hbs", ""),
        ],
    );
    let key = dir.path.join(".trellis-secret-key");
    let first = {
        let server = Server::start_in_place(&dir.path, &[]);
        server.wait_for_log("secret key: ");
        std::fs::read_to_string(&key).expect("the key file is made")
    };
    assert_eq!(first.trim().len(), 50, "{first:?}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    {
        let server = Server::start_in_place(&dir.path, &[]);
        server.wait_for_log("secret key: ");
    }
    assert_eq!(std::fs::read_to_string(&key).unwrap(), first, "kept");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out =
        crate::common::trellis(["serve", dir.path.to_str().unwrap(), "--addr", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("can be read by other users") && err.contains("chmod 600"),
        "{err}"
    );
}

/// Behind a trusted proxy that says the request came over HTTPS: the cookie is `Secure`, a POST
/// without `Origin` needs an `https` Referer of this host, and an `http` Origin is foreign.
/// The site behind a trusted proxy that says `X-Forwarded-Proto: https`, with `settings`
/// added under `site:`; and its form page, asked for over HTTPS.
fn behind_https(settings: &str) -> (Server, Resp) {
    let yaml = SITE.replace(
        "  limits:\n",
        &format!("  proxy:\n    trusted: [127.0.0.1]\n    scheme_header: {{ name: X-Forwarded-Proto, value: https }}\n{settings}  limits:\n"),
    );
    let dir = write_site(
        &yaml,
        &[
            ("form.hbs", "{{csrf_input}}"),
            ("home.hbs", "home"),
            ("plain.hbs", ""),
        ],
    );
    let server = Server::start_site(&dir);
    let page = server.request("GET", "/form/", &[("X-Forwarded-Proto", "https")]);
    (server, page)
}

#[test]
fn over_https_the_cookie_is_secure_and_the_referer_is_checked() {
    let (server, page) = behind_https("");
    let https = ("X-Forwarded-Proto", "https");
    let (secret, set) = csrf_cookie(&page);
    assert!(set.contains("; Secure"), "{set}");
    let cookie = format!("csrftoken={secret}");
    let body = format!("csrfmiddlewaretoken={}", token_in(&page.body));
    let host = "127.0.0.1";
    let post = |extra: &[(&str, &str)]| {
        let mut headers = vec![
            https,
            ("Cookie", cookie.as_str()),
            ("Content-Type", FORM),
            ("Host", host),
        ];
        headers.extend_from_slice(extra);
        server.request_with_body("POST", "/form/", &headers, &body)
    };
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Headers, u16, &str); 5] = [
        (&[], 403, "Referer checking failed - no Referer."),
        (
            &[("Referer", "http://127.0.0.1/form/")],
            403,
            "Referer is insecure while host is secure.",
        ),
        (
            &[("Referer", "https://evil.example/form/")],
            403,
            "does not match any trusted origins",
        ),
        (
            &[("Origin", "http://127.0.0.1")],
            403,
            "Origin checking failed",
        ),
        (&[("Referer", "https://127.0.0.1/form/")], 200, ""),
    ];
    for (extra, status, why) in cases {
        let r = post(extra);
        assert_eq!(r.status, status, "{extra:?}: {r:?}");
        assert!(r.body.contains(why), "{why}: {}", r.body);
    }
    assert_eq!(post(&[("Origin", "https://127.0.0.1")]).status, 200);
}

/// `site.security.csrf_trusted_origins` (Django's CSRF_TRUSTED_ORIGINS): an unsafe request
/// from another origin of the site's own passes the Origin check, and over HTTPS the Referer
/// check, exactly as Django's `_origin_verified` and `_check_referer` decide: an origin
/// trusted as written, a `*.` one for its host and every subdomain at any depth but only for
/// its scheme; never a lookalike suffix, another port, or a subdomain of an exact origin.
/// The token is still needed.
#[test]
fn trusted_origins_pass_the_origin_and_referer_checks_as_in_django() {
    let (server, page) = behind_https(
        "  security:\n    csrf_trusted_origins: [\"https://*.example.org\", \"https://admin.example.com\", \"http://localhost:8080\"]\n",
    );
    let https = ("X-Forwarded-Proto", "https");
    let (secret, _) = csrf_cookie(&page);
    let cookie = format!("csrftoken={secret}");
    let body = format!("csrfmiddlewaretoken={}", token_in(&page.body));
    let post = |header: (&str, &str), body: &str| {
        let headers = [
            https,
            ("Cookie", cookie.as_str()),
            ("Content-Type", FORM),
            ("Host", "127.0.0.1"),
            header,
        ];
        server.request_with_body("POST", "/form/", &headers, body)
    };
    let accepted = [
        ("Origin", "https://admin.example.com"),
        ("Origin", "https://example.org"),
        ("Origin", "https://shop.example.org"),
        ("Origin", "https://a.b.example.org"),
        ("Origin", "http://localhost:8080"),
        ("Referer", "https://admin.example.com/edit/"),
        ("Referer", "https://shop.example.org/form/"),
        ("Referer", "https://a.b.example.org/"),
        ("Referer", "https://example.org/"),
        // A Referer is matched by host alone, whatever the trusted origin's scheme.
        ("Referer", "https://localhost:8080/"),
    ];
    for header in accepted {
        let r = post(header, &body);
        assert_eq!(r.status, 200, "{header:?}: {r:?}");
    }
    let refused = [
        (
            "Origin",
            "http://shop.example.org",
            "Origin checking failed",
        ),
        (
            "Origin",
            "http://admin.example.com",
            "Origin checking failed",
        ),
        ("Origin", "https://localhost:8080", "Origin checking failed"),
        (
            "Origin",
            "https://evilexample.org",
            "Origin checking failed",
        ),
        (
            "Origin",
            "https://example.org.evil.com",
            "Origin checking failed",
        ),
        (
            "Origin",
            "https://admin.example.com.evil.com",
            "Origin checking failed",
        ),
        (
            "Origin",
            "https://sub.admin.example.com",
            "Origin checking failed",
        ),
        (
            "Origin",
            "https://shop.example.org:8443",
            "Origin checking failed",
        ),
        ("Origin", "null", "Origin checking failed"),
        (
            "Referer",
            "https://evilexample.org/",
            "does not match any trusted origins",
        ),
        (
            "Referer",
            "https://sub.admin.example.com/",
            "does not match any trusted origins",
        ),
        (
            "Referer",
            "https://shop.example.org:8443/",
            "does not match any trusted origins",
        ),
        (
            "Referer",
            "http://shop.example.org/",
            "Referer is insecure while host is secure.",
        ),
    ];
    for (name, value, why) in refused {
        let r = post((name, value), &body);
        assert_eq!(r.status, 403, "{name}: {value}: {r:?}");
        assert!(r.body.contains(why), "{why}: {}", r.body);
    }
    // A trusted origin still needs the token.
    let r = post(("Origin", "https://shop.example.org"), "title=x");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("CSRF token missing."), "{}", r.body);
}

#[test]
fn a_trusted_origin_without_a_scheme_or_with_a_path_does_not_load() {
    crate::common::check_prints(
        "site:\n  security:\n    csrf_trusted_origins: [example.com, \"https://admin.example.com/\", \"https://*example.org\", \"https://ok.example.org\"]\n",
        &[
            "site.yaml:3:28: site.security.csrf_trusted_origins[0]: \"example.com\" has no scheme: a trusted origin starts with one (as Django 4.0 and later require)",
            "help: write \"https://example.com\"",
            "site.security.csrf_trusted_origins[1]: \"https://admin.example.com/\" has a path",
            "help: write \"https://admin.example.com\"",
            "site.security.csrf_trusted_origins[2]: \"https://*example.org\" is not an origin with a host",
            "help: `*` stands only for the subdomains",
            "3 errors found",
        ],
    );
}

/// A form route whose own template shows no token is a warning, not a missing route: the
/// site serves, the form page and every route after it answer (the server once panicked on
/// them, indexing past the routes it had compiled), and the form's POST is the promised 403.
#[test]
fn a_form_template_without_a_token_is_warned_and_still_served() {
    let site = "site:\n  database: s.sqlite3\nmodels:\n  Entry:\n    fields:\n      name: { type: string, max_length: 50 }\nroutes:\n  - { path: \"login/\", name: login, view: login, template: login.hbs }\n  - { path: \"sign/\", name: sign, view: create, model: Entry, success: after, template: sign.hbs }\n  - { path: \"after/\", name: after, view: template, template: after.hbs }\n";
    let dir = write_site(
        site,
        &[
            ("login.hbs", "<form method=\"post\">sign in</form>"),
            ("sign.hbs", "<form method=\"post\">{{form.title}}</form>"),
            ("after.hbs", "after"),
        ],
    );
    let server = Server::start_site(&dir);
    let log = server.wait_for_log("the template shows no CSRF token");
    assert_eq!(
        log.matches("the template shows no CSRF token").count(),
        2,
        "{log}"
    );
    let login = server.get("/login/");
    assert_eq!(login.status, 200, "{login:?}");
    assert!(login.body.contains("sign in"), "{login:?}");
    let sign = server.get("/sign/");
    assert_eq!(sign.status, 200, "{sign:?}");
    assert!(sign.body.contains("New Entry"), "{sign:?}");
    assert_eq!(server.get("/after/").body, "after");
    let post = server.request_with_body("POST", "/sign/", &[("Content-Type", FORM)], "name=x");
    assert_eq!(post.status, 403, "{post:?}");
    assert!(server.is_running(), "{}", server.log());
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
