//! Issue 12, "Safe on the open internet": each flaw of the issue asked of the real binary over
//! real HTTP, with raw request lines where a client would normalise the path (`//`, `%2F`,
//! `\`, `..`). Redirects stay on the site; static files stay in the static folder, fresh, and
//! cacheable; a Host is well-formed and allowed (only the local names without
//! `allowed_hosts`); the log cannot be forged; the database file and reloads behave when the
//! file is replaced, locked or written to by the server's own log.

use std::path::Path;

use crate::common::{self, write_files, Resp, Server};

/// A small site: a redirect with a `path` capture, a page, and static files.
fn attack_site() -> common::SiteDir {
    write_files(&[
        (
            "site.yaml",
            "routes:\n  \
             - { path: \"\", view: response, content_type: text/plain, body: \"home\" }\n  \
             - { path: \"go/<path:rest>\", view: redirect, url: \"/{rest}\" }\n  \
             - { path: \"away/<path:rest>\", view: redirect, url: \"{rest}\" }\n",
        ),
        ("static/site.css", "body { color: black }\n"),
        ("static/sub/inner.txt", "inner\n"),
        ("secret.txt", "the site folder's secret\n"),
    ])
}

fn location(r: &Resp) -> &str {
    r.header("location").unwrap_or("")
}

// ---------------------------------------------------------------------------------------------
// F3: a redirect's Location never names another host.

#[test]
fn a_redirect_built_from_the_path_never_names_another_host() {
    let site = attack_site();
    let s = Server::start_site(&site);
    for (target, expected) in [
        ("/go//evil.example", "/%2Fevil.example"),
        ("/go/%2Fevil.example", "/%2Fevil.example"),
        ("/go/%5Cevil.example", "/%5Cevil.example"),
        ("/go/\\evil.example", "/%5Cevil.example"),
        ("/go/docs/page/", "/docs/page/"),
        ("/away/https://evil.example/", "https%3A//evil.example/"),
        ("/away//evil.example", "/evil.example"),
        ("/away///evil.example", "/%2Fevil.example"),
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 302, "{target}: {r:?}");
        assert_eq!(location(&r), expected, "{target}");
    }
}

// ---------------------------------------------------------------------------------------------
// F9, F10: the Host header.

fn host_site(allowed: Option<&str>) -> common::SiteDir {
    let site = match allowed {
        Some(list) => format!("site:\n  allowed_hosts: {list}\n"),
        None => String::new(),
    };
    write_files(&[(
        "site.yaml",
        &format!(
            "{site}routes:\n  - {{ path: \"\", view: response, content_type: text/plain, body: \"home\" }}\n"
        ),
    )])
}

fn status_for_host(s: &Server, host: &str) -> u16 {
    s.request("GET", "/", &[("Host", host)]).status
}

#[test]
fn a_host_is_checked_for_its_syntax_before_allowed_hosts() {
    let site = host_site(Some("[\".example.org\", example.com]"));
    let s = Server::start_site(&site);
    for (host, status) in [
        ("example.org", 200),
        ("www.example.org:8000", 200),
        ("example.com", 200),
        ("EXAMPLE.COM.", 200),
        ("evil.example/.example.org", 400),
        ("evil.example?.example.org", 400),
        ("evil.example#.example.org", 400),
        ("evil.example@.example.org", 400),
        ("evil.example\\.example.org", 400),
        ("example.com:", 400),
        ("example.com:8o", 400),
        ("evil.example", 400),
        ("localhost", 400),
    ] {
        assert_eq!(status_for_host(&s, host), status, "Host: {host}");
    }
    let r = s.request("GET", "/", &[("Host", "evil.example/.example.org")]);
    assert!(r.body.contains("Invalid Host header"), "{}", r.body);
}

#[test]
fn without_allowed_hosts_only_the_local_names_are_answered() {
    let site = host_site(None);
    let s = Server::start_with(&site.path, &["--live"]);
    let port = s.addr.port();
    for (host, status) in [
        (format!("127.0.0.1:{port}"), 200),
        (format!("localhost:{port}"), 200),
        ("localhost".to_string(), 200),
        (format!("[::1]:{port}"), 200),
        ("attacker.example".to_string(), 400),
        (format!("attacker.example:{port}"), 400),
        ("127.0.0.1.attacker.example".to_string(), 400),
    ] {
        assert_eq!(status_for_host(&s, &host), status, "Host: {host}");
    }
    // The live endpoint (which tells whether a reload failed) checks the Host too.
    let live = s.request("GET", "/__trellis/live", &[("Host", "attacker.example")]);
    assert_eq!(live.status, 400, "{live:?}");
    let live = s.request("GET", "/__trellis/live", &[]);
    assert_eq!(live.status, 200, "{live:?}");
    // The visitor is told the Host is refused, not how the site is configured: that is in the
    // log.
    let r = s.request("GET", "/", &[("Host", "attacker.example")]);
    assert!(r.body.contains("Invalid Host header"), "{}", r.body);
    assert!(!r.body.contains("allowed_hosts"), "{}", r.body);
    let log = s.wait_for_log("add it to site.allowed_hosts");
    assert!(
        log.contains("Invalid Host header \"attacker.example\""),
        "{log}"
    );
}

#[test]
fn a_request_target_in_absolute_form_names_the_host_instead_of_the_host_header() {
    let site = host_site(Some("[example.org]"));
    let s = Server::start_site(&site);
    let asked = |target: &str, host: &str| {
        s.raw(
            format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .status
    };
    // RFC 9112, 3.2.2: the authority of an absolute-form target replaces Host.
    assert_eq!(asked("http://evil.example/", "example.org"), 400);
    assert_eq!(asked("http://example.org/", "evil.example"), 200);
    assert_eq!(asked("/", "example.org"), 200);
}

/// Run `trellis ARGS…` expecting it to exit by itself; a server that starts instead is killed
/// after a generous guard and the test fails.
fn run_to_exit(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut child = common::command(tmp.path())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the trellis binary runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "trellis {args:?} did not exit; stdout: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_on_a_public_address_without_allowed_hosts_refuses_to_start() {
    let site = host_site(None);
    let (ok, stdout, err) = run_to_exit(&[
        "serve".as_ref(),
        site.path.as_os_str(),
        "--addr".as_ref(),
        "0.0.0.0:0".as_ref(),
    ]);
    assert!(!ok, "{stdout}");
    assert!(
        err.contains("refusing to serve on 0.0.0.0:0 without `allowed_hosts`")
            // The hint in the form every other message gives it.
            && err.contains("\n  = help: name the site's hosts under `site:`")
            && err.contains("allowed_hosts: [example.org")
            && err.contains("allowed_hosts: [\"*\"]"),
        "{err}"
    );
    assert!(!stdout.contains("http://"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// F11: the log cannot be forged, and a client's mistake is no ERROR.

#[test]
fn a_path_cannot_write_a_forged_log_line_and_malformed_requests_are_warnings() {
    let site = write_files(&[(
        "site.yaml",
        "routes:\n  - { regex: \"(?s)^x.*$\", view: response, content_type: text/plain, body: \"x\" }\n",
    )]);
    let s = Server::start_site(&site);
    let forged = "2026-12-02T10:50:00Z ERROR forged";
    // A 405 logs the decoded path, which holds a newline.
    let r = s.post("/x%0A2026-12-02T10:50:00Z%20ERROR%20forged/");
    assert_eq!(r.status, 405, "{r:?}");
    // A request line the HTTP library cannot parse.
    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    std::io::Write::write_all(&mut stream, b"GET /a b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = std::io::Read::read_to_string(&mut stream, &mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let log = s.wait_until("the 405 and the parse error", |log| {
        log.contains("Method Not Allowed") && log.contains("request parse error")
    });
    assert!(
        log.lines().all(|l| !l.starts_with(forged)),
        "a forged line:\n{log}"
    );
    assert!(
        log.contains("/x\\n2026-12-02T10:50:00Z ERROR forged/"),
        "{log}"
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(
        errors.iter().all(|l| l.contains("forged/")),
        "a malformed request logged at ERROR:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" WARN ") && l.contains("request parse error")),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// F4: static files stay in the static folder.

#[cfg(unix)]
#[test]
fn links_out_of_the_static_folder_and_traversal_are_not_served() {
    let site = attack_site();
    let s = Server::start_with(&site.path, &["--no-reload"]);
    let stat = s.site_path().join("static");
    std::os::unix::fs::symlink("..", stat.join("up")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", stat.join("passwd")).unwrap();
    std::os::unix::fs::symlink("site.css", stat.join("alias.css")).unwrap();
    for target in [
        "/static/up/secret.txt",
        "/static/up/site.yaml",
        "/static/passwd",
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/sub/%2E%2E/%2E%2E/secret.txt",
        "/static/..%2Fsecret.txt",
        "/static/%5C..%5Csecret.txt",
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert!(
            !r.body.contains("secret") && !r.body.contains("root:"),
            "{target}"
        );
    }
    // A link inside the folder to a file inside it is served.
    let r = s.get("/static/alias.css");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "body { color: black }\n")
    );
    // Waited for by its own line: the first link's line may be logged before the others.
    let log = s.wait_for_log("/static/passwd leads out");
    assert!(
        log.lines()
            .any(|l| l.contains(" WARN ") && l.contains("/static/passwd leads out")),
        "{log}"
    );
}

#[test]
fn a_static_dir_that_is_not_a_folder_inside_the_site_is_refused() {
    for (dir, message) in [
        (".", "is the site folder itself"),
        ("", "is the site folder itself"),
        ("/", "is outside the site folder"),
        ("../elsewhere", "is outside the site folder"),
        ("data", "holds the database"),
    ] {
        let site = write_files(&[
            (
                "site.yaml",
                &format!(
                    "site:\n  static_dir: {dir:?}\n  database: data/site.sqlite3\nmodels:\n  Note:\n    fields:\n      title: {{ type: text }}\nroutes: []\n"
                ),
            ),
            ("data/readme.txt", "data"),
        ]);
        let out = common::trellis(["check".as_ref(), site.path.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "static_dir {dir:?} passed check");
        assert!(
            err.contains("site.static_dir") && err.contains(message) && err.contains("help"),
            "{dir:?}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// F12 and item 4: the static cache sees every change, and static files say how to cache them.

#[test]
fn a_static_file_changed_keeping_size_and_mtime_is_served_fresh() {
    let site = attack_site();
    let s = Server::start_with(&site.path, &["--no-reload"]);
    let file = s.site_path().join("static/site.css");
    let old_mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    for _ in 0..2 {
        let r = s.get("/static/site.css");
        assert_eq!(r.body, "body { color: black }\n");
    }
    let etag = s
        .get("/static/site.css")
        .header("etag")
        .unwrap()
        .to_string();
    // Same size, and the old modification time put back (as `cp -p` or `rsync -a` do).
    std::fs::write(&file, "body { color: white }\n").unwrap();
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(old_mtime).unwrap();
    drop(f);
    let r = s.get("/static/site.css");
    assert_eq!(r.body, "body { color: white }\n");
    assert_ne!(r.header("etag"), Some(etag.as_str()), "{r:?}");
    let r = s.request("GET", "/static/site.css", &[("If-None-Match", &etag)]);
    assert_eq!(
        r.status, 200,
        "an old ETag revalidated a changed file: {r:?}"
    );
}

#[test]
fn static_files_are_revalidated_and_fingerprinted_ones_are_immutable() {
    let site = attack_site();
    let yaml = site.path.join("site.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        format!(
            "site:\n  static_fingerprint: true\n{}  - {{ path: \"page/\", view: response, content_type: text/plain, body: \"{{{{static 'site.css'}}}} {{{{static 'sub/inner.txt'}}}} {{{{static 'missing.js'}}}}\" }}\n",
            text
        ),
    )
    .unwrap();
    let s = Server::start_site(&site);
    let r = s.get("/static/site.css");
    assert_eq!(r.header("cache-control"), Some("no-cache"), "{r:?}");
    let page = s.get("/page/").body;
    let urls: Vec<&str> = page.split(' ').collect();
    assert!(
        urls[0].starts_with("/static/site.")
            && urls[0].ends_with(".css")
            && urls[0].len() == "/static/site.12345678.css".len(),
        "{page}"
    );
    assert!(
        urls[1].starts_with("/static/sub/inner.") && urls[1].ends_with(".txt"),
        "{page}"
    );
    assert_eq!(urls[2], "/static/missing.js", "{page}");
    let r = s.get(urls[0]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, "body { color: black }\n");
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // An edit changes the URL at the next reload; the old URL serves the file as it is now,
    // to be revalidated, never as immutable.
    std::fs::write(
        s.site_path().join("static/site.css"),
        "body { color: red }\n",
    )
    .unwrap();
    let log = s.wait_for_log("reloaded in");
    let page2 = s.get("/page/").body;
    let new_url = page2.split(' ').next().unwrap();
    assert_ne!(new_url, urls[0], "{log}");
    let r = s.get(new_url);
    assert_eq!(
        (r.body.as_str(), r.header("cache-control")),
        (
            "body { color: red }\n",
            Some("public, max-age=31536000, immutable")
        )
    );
    let r = s.get(urls[0]);
    assert_eq!(
        (r.status, r.body.as_str(), r.header("cache-control")),
        (200, "body { color: red }\n", Some("no-cache")),
        "an old fingerprint: {r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// F6: the server's own log, written into the site folder, does not reload the site.

/// `trellis serve SITE` with its stderr written to `log` (a file), killed on drop.
struct LoggingToFile {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl Drop for LoggingToFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_logging_to(site: &Path, log: &Path) -> LoggingToFile {
    use std::io::BufRead;
    let mut child = common::command(site.parent().unwrap())
        .arg("serve")
        .arg(site)
        .args(["--addr", "127.0.0.1:0", "--workers", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the trellis binary runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let banner = lines
        .find_map(|l| l.ok().filter(|l| l.contains("http://")))
        .expect("a banner");
    // Keep reading stdout so that the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .expect("an address");
    LoggingToFile { child, addr }
}

/// Wait (with a generous guard) until the file holds `needle`; its text.
fn wait_in_file(path: &Path, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never logged {needle:?}:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn get_at(addr: std::net::SocketAddr, target: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn a_log_written_into_the_site_folder_does_not_reload_the_site() {
    let site = attack_site();
    let log = site.path.join("trellis.log");
    let server = serve_logging_to(&site.path, &log);
    assert!(get_at(server.addr, "/").ends_with("home"));
    wait_in_file(&log, "\"GET / HTTP/1.1\" 200");
    // The pause only gives a wrong reload the time to show; a correct server never reloads
    // here however long the pause, so this cannot fail spuriously.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("reloaded in"),
        "the log reloaded the site:\n{text}"
    );
    // The watcher is alive: an edit of the site reloads it, once.
    std::fs::write(
        site.path.join("site.yaml"),
        "routes:\n  - { path: \"\", view: response, content_type: text/plain, body: \"edited\" }\n",
    )
    .unwrap();
    wait_in_file(&log, "reloaded in");
    assert!(get_at(server.addr, "/").ends_with("edited"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("reloaded in").count(), 1, "{text}");
}

// ---------------------------------------------------------------------------------------------
// F5, F7: the database file, replaced, removed or locked.

/// One database thread, so that "the connection already open" is one connection: with more,
/// a thread that never opened the file answers from the file at the path (or 503 while there is
/// none), which these tests would see only by chance.
pub(crate) const NOTES: &str = r#"site:
  database: db.sqlite3
  fixtures: [notes.yaml]
  limits: { db_threads: 1 }
models:
  Note:
    fields:
      title: { type: string }
    ordering: [title]
routes:
  - { path: "notes/", view: list, model: Note, format: json }
"#;

fn notes_site() -> common::SiteDir {
    write_files(&[
        ("site.yaml", NOTES),
        (
            "notes.yaml",
            "- model: Note\n  pk: 1\n  fields: { title: first }\n",
        ),
    ])
}

/// The notes site, served, its fixture loaded (the backup tests use it too).
pub(crate) fn serving_notes() -> (common::SiteDir, Server) {
    let site = notes_site();
    let s = Server::start_site(&site);
    s.wait_for_log("migrate: load 1 row from");
    (site, s)
}

/// Set every note's title in the database file `db`, from another connection.
fn set_titles(db: &Path, title: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("UPDATE note SET title = ?1", [title]).unwrap();
}

/// The titles the list route answers.
pub(crate) fn titles(s: &Server) -> Vec<String> {
    let r = s.get("/notes/");
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|n| n["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Hold the database's write lock (`BEGIN IMMEDIATE`) until dropped.
fn lock(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn a_route_change_saved_while_the_database_is_locked_is_not_lost() {
    let (_site, s) = serving_notes();
    let holder = lock(&s.site_path().join("db.sqlite3"));
    let yaml = format!("{NOTES}  - {{ path: \"new/\", view: response, content_type: text/plain, body: \"new\" }}\n");
    std::fs::write(s.site_path().join("site.yaml"), yaml).unwrap();
    // Nothing about the models changed: the reload needs no write lock.
    let log = s.wait_until("the reload", |l| {
        l.contains("reloaded in") || l.contains("reload failed")
    });
    assert!(
        log.contains("reloaded in") && !log.contains("reload failed"),
        "{log}"
    );
    assert_eq!(s.get("/new/").body, "new");
    drop(holder);
}

#[test]
fn a_model_change_saved_while_the_database_is_locked_is_retried() {
    let (_site, s) = serving_notes();
    let db = s.site_path().join("db.sqlite3");
    let holder = lock(&db);
    let yaml = NOTES.replace(
        "      title: { type: string }\n",
        "      title: { type: string }\n      note: { type: string, null: true }\n",
    );
    std::fs::write(s.site_path().join("site.yaml"), yaml).unwrap();
    let log = s.wait_until("a retry or a result", |l| {
        l.contains("retrying the reload")
            || l.contains("reloaded in")
            || l.contains("reload failed")
    });
    assert!(
        log.lines()
            .any(|l| l.contains(" WARN ") && l.contains("database locked, retrying the reload")),
        "{log}"
    );
    drop(holder);
    let log = s.wait_until("the reload", |l| {
        l.contains("reloaded in") || l.contains("reload failed")
    });
    assert!(
        log.contains("migrate: add column") && !log.contains("reload failed"),
        "{log}"
    );
    assert_eq!(titles(&s), ["first"]);
}

#[test]
fn a_database_file_moved_over_the_path_is_read_from_then_on() {
    let (_site, s) = serving_notes();
    assert_eq!(titles(&s), ["first"]);
    let db = s.site_path().join("db.sqlite3");
    let other = s.site_path().join("restored.sqlite3");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("VACUUM INTO ?1", [other.to_str().unwrap()])
            .unwrap();
    }
    set_titles(&other, "restored");
    // `mv restored.sqlite3 db.sqlite3`: a backup put back.
    std::fs::rename(&other, &db).unwrap();
    assert_eq!(titles(&s), ["restored"]);
    s.wait_for_log("is a new file: reading it from now on");
}

#[test]
fn a_removed_database_is_made_again_by_the_reload_and_read_from() {
    let (_site, s) = serving_notes();
    assert_eq!(titles(&s), ["first"]);
    let db = s.site_path().join("db.sqlite3");
    std::fs::remove_file(&db).unwrap();
    // Until a reload, the open file goes on serving.
    assert_eq!(titles(&s), ["first"]);
    let yaml = format!("{NOTES}  - {{ path: \"new/\", view: response, content_type: text/plain, body: \"new\" }}\n");
    std::fs::write(s.site_path().join("site.yaml"), yaml).unwrap();
    let log = s.wait_for_log("reloaded in");
    assert_eq!(log.matches("migrate: load 1 row from").count(), 2, "{log}");
    set_titles(&db, "updated");
    assert_eq!(titles(&s), ["updated"]);
}

#[test]
fn an_allowed_host_that_can_match_nothing_is_refused_with_a_hint() {
    let site = host_site(Some(
        "[example.org, \"https://example.org/\", \"example.org:8000\"]",
    ));
    let out = common::trellis(["check".as_ref(), site.path.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("site.allowed_hosts[1]: \"https://example.org/\" is not a host name"),
        "{err}"
    );
    assert!(
        err.contains("site.allowed_hosts[2]: \"example.org:8000\" is not a host name"),
        "{err}"
    );
    assert!(
        err.contains("help: write the name alone (a port is ignored): `example.org`"),
        "{err}"
    );
    assert!(!err.contains("allowed_hosts[0]"), "{err}");
}

#[test]
fn a_request_never_creates_a_removed_database_file() {
    let site = write_files(&[
        (
            "site.yaml",
            &NOTES.replace("db_threads: 1", "db_threads: 4"),
        ),
        (
            "notes.yaml",
            "- { model: Note, pk: 1, fields: { title: first } }\n",
        ),
    ]);
    let s = Server::start_with(&site.path, &["--no-reload"]);
    let db = s.site_path().join("db.sqlite3");
    std::fs::remove_file(&db).unwrap();
    // Threads that had the file open go on reading it; one that had not says the database is
    // unavailable. None makes an empty database at the path (which would answer 500s).
    for _ in 0..20 {
        let r = s.get("/notes/");
        assert!(matches!(r.status, 200 | 503), "{r:?}");
        if r.status == 503 {
            assert_eq!(r.header("retry-after"), Some("1"), "{r:?}");
        }
    }
    assert!(!db.exists(), "a request made the database file again");
}
