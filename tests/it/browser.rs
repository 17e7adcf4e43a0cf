//! A real headless Chromium against `serve --live`: the page a person has open reloads itself
//! after a save, and a save that does not load shows its error over the previous page. The
//! browser is driven over the DevTools protocol (a minimal WebSocket client below).
//!
//! `.ci/run` installs Chromium (Debian's `chromium`). Where it is missing and `CI` is not set,
//! each test prints a `SKIPPED:` line straight to the terminal (past the test harness's
//! capture, so it shows in a passing run) and returns; in CI a missing Chromium fails them.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{write_site, Server};
use serde_json::{json, Value};

/// Chromium's binary, looked for on `PATH` (as `.ci/run` does) and in the usual folders. When
/// it is missing: a failure in CI, and elsewhere a `SKIPPED:` line for `test` and `None`.
fn chromium(test: &str) -> Option<PathBuf> {
    crate::common::installed(
        &["chromium", "chromium-browser", "google-chrome"],
        &["/usr/bin", "/usr/local/bin"],
        "chromium",
        &format!("browser::{test}"),
    )
}

/// A headless Chromium showing one page, killed on drop.
struct Browser {
    child: Child,
    page: WebSocket,
    _profile: tempfile::TempDir,
    next_id: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn open(bin: &PathBuf, url: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("Chromium starts");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("Chromium says where DevTools listen")
                .unwrap();
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let list = http_get(&format!("127.0.0.1:{port}"), "/json/list");
        let pages: Value = serde_json::from_str(&list).unwrap();
        let ws = pages
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == "page")
            .and_then(|p| p["webSocketDebuggerUrl"].as_str())
            .expect("a page")
            .to_string();
        Browser {
            child,
            page: WebSocket::connect(&ws),
            _profile: profile,
            next_id: 1,
        }
    }

    /// Evaluate a JavaScript expression in the page; its value as JSON.
    fn eval(&mut self, expression: &str) -> Value {
        let params = json!({"expression": expression, "returnByValue": true});
        self.call("Runtime.evaluate", params)["result"]["value"].clone()
    }

    /// Call a DevTools method on the page; its result.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.page.send(&msg.to_string());
        loop {
            let reply: Value = serde_json::from_str(&self.page.recv()).unwrap();
            if reply["id"] == id {
                return reply["result"].clone();
            }
        }
    }

    /// Wait until a JavaScript expression is true in the page (a bounded wait: a guard against
    /// a hang); whether it became true.
    fn until(&mut self, expression: &str) -> bool {
        let start = Instant::now();
        loop {
            if self.eval(expression) == json!(true) {
                return true;
            }
            if start.elapsed() > Duration::from_secs(30) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A key pressed and released, as a person types it.
    fn press(&mut self, key: &str, code: u32) {
        for kind in ["keyDown", "keyUp"] {
            let params = json!({"type": kind, "key": key, "code": key,
                                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code});
            self.call("Input.dispatchKeyEvent", params);
        }
    }

    /// A left click at the middle of the element with this id, as the mouse makes it.
    fn click(&mut self, id: &str) {
        self.click_on(&format!("[id={id:?}]"));
    }

    /// A left click at the middle of the first element `selector` finds, scrolled into view.
    fn click_on(&mut self, selector: &str) {
        // Where the element is once the page has loaded: a click computed on a page still
        // laying out can land beside it.
        let ready =
            format!("document.readyState === 'complete' && !!document.querySelector({selector:?})");
        assert!(self.until(&ready), "{selector} is not on the page");
        let rect = self.eval(&format!(
            "(function(){{var e=document.querySelector({selector:?});e.scrollIntoView({{block:'center'}});\
             var r=e.getBoundingClientRect();return [r.left+r.width/2,r.top+r.height/2]}})()"
        ));
        let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            let params = json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1});
            self.call("Input.dispatchMouseEvent", params);
        }
    }

    /// Type `text` into the field `selector` finds, emptied first, as a keyboard does.
    ///
    /// Typing waits for the page to finish loading, and checks the field holds `text` after:
    /// an `autofocus` Chromium applies late (a slow machine) can take the caret to another
    /// field between the focus and the keys, and the keys then land there. That is retried a
    /// few times, then reported.
    fn type_into(&mut self, selector: &str, text: &str) {
        let ready =
            format!("document.readyState === 'complete' && !!document.querySelector({selector:?})");
        assert!(self.until(&ready), "{selector} is not on the page");
        let check = format!("document.querySelector({selector:?}).value === {text:?}");
        for _ in 0..5 {
            self.eval(&format!(
                "(function(){{var e=document.querySelector({selector:?});e.focus();e.select()}})()"
            ));
            self.press("Backspace", 8);
            self.call("Input.insertText", json!({ "text": text }));
            if self.eval(&check) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("typing into {selector} did not leave {text:?} in it");
    }

    /// Go to `url` and wait until its page has loaded.
    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        let want = format!("location.href === {url:?} && document.readyState === 'complete'");
        assert!(self.until(&want), "{url} did not load");
    }

    /// A PNG of the page, kept where the test run keeps its artifacts
    /// (`target/tmp/screenshots/NAME`, Cargo's `CARGO_TARGET_TMPDIR`); its path.
    fn screenshot(&mut self, name: &str) -> PathBuf {
        use base64::Engine;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("a screenshot"))
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The page's HTML once `pred` holds for it (a bounded wait: a guard against a hang).
    fn html_when(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let html = self
                .eval("document.documentElement ? document.documentElement.outerHTML : ''")
                .as_str()
                .unwrap_or("")
                .to_string();
            if pred(&html) || start.elapsed() > Duration::from_secs(30) {
                return html;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A GET to the DevTools HTTP endpoint, which keeps the connection open: read by length.
fn http_get(host: &str, path: &str) -> String {
    let s = TcpStream::connect(host).unwrap();
    write!(&s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut reader = BufReader::new(s);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

/// Just enough of a WebSocket client for the DevTools protocol: text frames, masked out,
/// unmasked in, fragments joined.
struct WebSocket {
    stream: TcpStream,
}

impl WebSocket {
    fn connect(url: &str) -> WebSocket {
        let rest = url.strip_prefix("ws://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        WebSocket { stream }
    }

    fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).unwrap();
    }

    fn recv(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).unwrap();
            let fin = head[0] & 0x80 != 0;
            let opcode = head[0] & 0x0f;
            let mut len = (head[1] & 0x7f) as u64;
            if len == 126 {
                let mut b = [0u8; 2];
                self.stream.read_exact(&mut b).unwrap();
                len = u16::from_be_bytes(b) as u64;
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.stream.read_exact(&mut b).unwrap();
                len = u64::from_be_bytes(b);
            }
            let mut payload = vec![0u8; len as usize];
            self.stream.read_exact(&mut payload).unwrap();
            if opcode == 0x1 || opcode == 0x0 {
                message.extend(payload);
                if fin {
                    return String::from_utf8(message).unwrap();
                }
            }
        }
    }
}

fn site() -> common::SiteDir {
    write_site(
        "routes:\n  - { path: \"\", view: template, template: home.hbs }\n",
        &[(
            "home.hbs",
            "<!doctype html><html><body><h1>Before the save</h1></body></html>\n",
        )],
    )
}

#[test]
fn an_open_page_reloads_itself_after_a_save() {
    let Some(bin) = chromium("an_open_page_reloads_itself_after_a_save") else {
        return;
    };
    let site = site();
    let s = Server::start_with(&site.path, &["--live"]);
    let mut browser = Browser::open(&bin, &format!("http://{}/", s.addr));
    assert!(browser
        .html_when(|h| h.contains("Before the save"))
        .contains("Before the save"));
    // The page is open and its script is asking for the site's generation.
    s.wait_for_log("GET /__trellis/live");
    std::fs::write(
        s.site_path().join("templates/home.hbs"),
        "<!doctype html><html><body><h1>After the save</h1></body></html>\n",
    )
    .unwrap();
    s.wait_for_log("reloaded in");
    let html = browser.html_when(|h| h.contains("After the save"));
    assert!(html.contains("After the save"), "{html}");
    assert!(!html.contains("Before the save"), "{html}");
    assert!(!html.contains("trellis-error"), "{html}");
}

#[test]
fn a_save_that_does_not_load_shows_its_error_over_the_page() {
    let Some(bin) = chromium("a_save_that_does_not_load_shows_its_error_over_the_page") else {
        return;
    };
    let site = site();
    let s = Server::start_with(&site.path, &["--live"]);
    let mut browser = Browser::open(&bin, &format!("http://{}/", s.addr));
    browser.html_when(|h| h.contains("Before the save"));
    s.wait_for_log("GET /__trellis/live");
    std::fs::write(
        s.site_path().join("site.yaml"),
        "routes:\n  - { path: \"\", view: template, template: hom.hbs }\n",
    )
    .unwrap();
    s.wait_for_log("reload failed");
    let html = browser.html_when(|h| h.contains("trellis-error"));
    // The previous page, and over it the error as `check` prints it, with its did-you-mean.
    assert!(html.contains("Before the save"), "{html}");
    assert!(html.contains("id=\"trellis-error\""), "{html}");
    assert!(html.contains("no template `hom.hbs`"), "{html}");
    assert!(html.contains("did you mean `home`?"), "{html}");
    // Fixing it takes the error away.
    std::fs::write(
        s.site_path().join("site.yaml"),
        "routes:\n  - { path: \"\", view: template, template: home.hbs }\n",
    )
    .unwrap();
    s.wait_for_log("reloaded in");
    // Waiting for the page itself: while the reloaded page loads, the document can be empty,
    // which has no error in it either.
    let html = browser.html_when(|h| h.contains("Before the save") && !h.contains("trellis-error"));
    assert!(!html.contains("trellis-error"), "{html}");
    assert!(html.contains("Before the save"), "{html}");
}

/// The error box of a failed reload sits along the bottom, leaves the page's navigation
/// uncovered and usable, and goes away with Escape or its button (issue 13); and a page that
/// fails to render shows the debug page, with its template's file and line.
#[test]
fn the_error_box_leaves_the_navigation_free_and_can_be_dismissed() {
    let Some(bin) = chromium("the_error_box_leaves_the_navigation_free_and_can_be_dismissed")
    else {
        return;
    };
    let home = |p: &str| {
        format!("<!doctype html><html><body><nav><a id=\"nav\" href=\"/\">Home</a></nav>\n{p}\n</body></html>\n")
    };
    let yaml = |t: &str| format!("routes:\n  - {{ path: \"\", view: template, template: {t} }}\n");
    let site = write_site(
        &yaml("home.hbs"),
        &[("home.hbs", &home("<h1>Before the save</h1>"))],
    );
    let s = Server::start_with(&site.path, &["--live"]);
    let mut browser = Browser::open(&bin, &format!("http://{}/", s.addr));
    browser.html_when(|h| h.contains("Before the save"));
    s.wait_for_log("GET /__trellis/live");
    let save = |rel: &str, text: &str| std::fs::write(s.site_path().join(rel), text).unwrap();
    let shown = "document.getElementById('trellis-error') !== null";
    let gone = "document.getElementById('trellis-error') === null";

    save("site.yaml", &yaml("hom.hbs"));
    s.wait_for_log("reload failed");
    assert!(browser.until(shown), "no error box");
    // The link at the top is what a click there reaches, and the box is below it, at the
    // bottom of the window.
    let at_nav = browser.eval(
        "(function(){var r=document.getElementById('nav').getBoundingClientRect();\
         var e=document.elementFromPoint(r.left+r.width/2,r.top+r.height/2);return e&&e.id})()",
    );
    assert_eq!(at_nav, json!("nav"), "the error box covers the navigation");
    let placed = browser.eval(
        "(function(){var b=document.getElementById('trellis-error').getBoundingClientRect();\
         var n=document.getElementById('nav').getBoundingClientRect();\
         return b.top>=n.bottom && Math.abs(b.bottom-window.innerHeight)<2})()",
    );
    assert_eq!(
        placed,
        json!(true),
        "the box should sit at the bottom, below the navigation"
    );
    let text = browser.eval("document.getElementById('trellis-error').textContent");
    assert!(
        text.as_str()
            .unwrap_or("")
            .contains("no template `hom.hbs`"),
        "{text}"
    );

    browser.press("Escape", 27);
    assert!(browser.until(gone), "Escape did not dismiss the box");
    assert!(browser
        .html_when(|h| h.contains("Before the save"))
        .contains("Before the save"));

    // Another failed reload reloads the page, and the box is back; its button dismisses it.
    save("site.yaml", &yaml("hme.hbs"));
    s.wait_for_log_count("reload failed", 2);
    assert!(
        browser.until("(document.getElementById('trellis-error')||{textContent:''}).textContent.indexOf('hme.hbs')>=0"),
        "no error box after the second failed reload"
    );
    browser.click("trellis-error-close");
    assert!(browser.until(gone), "the button did not dismiss the box");

    // A template that loads but fails to render: the debug page, with its file and line.
    save("templates/home.hbs", &home("<p>{{date request.path}}</p>"));
    s.wait_for_log_count("reload failed", 3);
    save("site.yaml", &yaml("home.hbs"));
    s.wait_for_log("reloaded in");
    let html = browser.html_when(|h| h.contains("Server Error (500)"));
    assert!(html.contains("Server Error (500)"), "{html}");
    assert!(html.contains("templates/home.hbs:2:4"), "{html}");
    assert!(html.contains("date: cannot read `/`"), "{html}");
    assert!(
        html.contains("<mark>    2 | &lt;p&gt;{{date request.path}}&lt;/p&gt;</mark>"),
        "{html}"
    );
}

/// The admin's list on a phone-width screen, used with the keyboard: the page itself never
/// scrolls sideways (the table does, in its box), the first Tab reaches a visible skip link
/// with a focus outline, Enter follows it, and a column header is a real link that Enter
/// follows to order the list.
#[test]
fn the_admin_list_fits_a_phone_and_works_with_the_keyboard() {
    let Some(bin) = chromium("the_admin_list_fits_a_phone_and_works_with_the_keyboard") else {
        return;
    };
    let site = crate::admin::blog_dir();
    let s = Server::start(&site.path);
    let cookie = crate::admin::session_for(s.site_path(), "root", true);
    let (name, value) = cookie.split_once('=').unwrap();
    let base = format!("http://{}", s.addr);
    let mut browser = Browser::open(&bin, &format!("{base}/manage/login/"));
    let set = json!({"name": name, "value": value, "url": base});
    browser.call("Network.setCookie", set);
    browser.navigate(&format!("{base}/manage/post/?page=2"));
    browser.html_when(|h| h.contains("Bananas"));
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": false}),
    );
    assert!(
        browser.until("window.innerWidth === 360"),
        "the phone's width did not apply"
    );
    let overflow = browser.eval(
        "[document.documentElement.scrollWidth, window.innerWidth, \
         document.querySelector('.scroll').scrollWidth > document.querySelector('.scroll').clientWidth]",
    );
    assert!(
        overflow[0].as_f64() <= overflow[1].as_f64(),
        "the page is wider than the screen: {overflow}"
    );

    browser.press("Tab", 9);
    let focused = browser.eval(
        "(function(){var e=document.activeElement, r=e.getBoundingClientRect();\
         return [e.className, r.left>=0 && r.top>=0, getComputedStyle(e).outlineStyle]})()",
    );
    assert_eq!(focused, json!(["skip", true, "solid"]), "the first Tab");
    browser.press("Enter", 13);
    assert!(
        browser.until("location.hash === '#content'"),
        "the skip link"
    );

    browser.eval("document.querySelector('thead a').focus()");
    browser.press("Enter", 13);
    assert!(
        browser.until("location.search === '?ordering=title'"),
        "Enter on the Title header"
    );
    let html = browser.html_when(|h| h.contains("(asc)"));
    assert!(html.contains("Title</a> <small>(asc)</small>"), "{html}");
}

/// The admin as a person works through a long, filtered list, in a real Chromium: a row opened
/// from a filtered and ordered list, its author typed by key (the authors are past a select's
/// cap: a text input), "Save" clicked, and the browser is back on the same filtered list. The
/// form has no `action`: this proves the browser posts it to the address holding the list's
/// query.
#[test]
fn a_row_edited_from_a_filtered_list_saves_back_to_that_list() {
    let test = "a_row_edited_from_a_filtered_list_saves_back_to_that_list";
    let Some(bin) = chromium(test) else {
        return;
    };
    let site = crate::admin::blog_dir();
    let s = Server::start(&site.path);
    let dir = s.site_path().to_path_buf();
    rusqlite::Connection::open(dir.join("db.sqlite3"))
        .unwrap()
        .execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
             INSERT INTO author (id, name) SELECT i, 'A' || i FROM n;",
        )
        .unwrap();
    let cookie = crate::admin::session_for(&dir, "root", true);
    let (name, value) = cookie.split_once('=').unwrap();
    let base = format!("http://{}", s.addr);
    let mut b = Browser::open(&bin, &format!("{base}/manage/login/"));
    b.call(
        "Network.setCookie",
        json!({"name": name, "value": value, "url": base}),
    );
    b.navigate(&format!("{base}/manage/post/?status=live&ordering=-title"));
    b.click_on("a[href^='/manage/post/3/change/']");
    assert!(
        b.until(
            "location.pathname === '/manage/post/3/change/' && \
             location.search === '?_changelist_filters=status%3Dlive%26ordering%3D-title' && \
             document.readyState === 'complete'"
        ),
        "the row's page, with the list's query"
    );
    // "Look up" searches the authors' list in a new tab, from its own form: not the edit form.
    b.type_into("input[name=q]", "A1200");
    b.click_on("button[form=lookup_author]");
    let opened = (0..300).any(|_| {
        let targets = b.call("Target.getTargets", json!({}));
        let found = targets["targetInfos"].as_array().is_some_and(|t| {
            t.iter().any(|t| {
                t["url"]
                    .as_str()
                    .is_some_and(|u| u.ends_with("/manage/author/?q=A1200"))
            })
        });
        if !found {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    });
    assert!(opened, "the authors' list, searched, in a new tab");
    assert!(
        b.until("location.pathname === '/manage/post/3/change/'"),
        "this tab stays on the form"
    );
    b.type_into("#id_title", "Cherry pie");
    b.type_into("#id_author", "1200");
    b.click_on("button[name=_save]");
    assert!(
        b.until(
            "location.pathname === '/manage/post/' && \
             location.search === '?status=live&ordering=-title' && \
             document.readyState === 'complete'"
        ),
        "back on the filtered list"
    );
    let html = b.html_when(|h| h.contains("was changed"));
    assert!(html.contains(">Cherry pie</a>"), "{html}");
    assert!(!html.contains(">Bananas</a>"), "still filtered: {html}");
    let conn = rusqlite::Connection::open(dir.join("db.sqlite3")).unwrap();
    let row: (String, i64) = conn
        .query_row("SELECT title, author_id FROM post WHERE id = 3", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(row, ("Cherry pie".to_string(), 1200));
}

const ADMIN_SITE: &str = "site: { name: Blog, database: db.sqlite3, fixtures: [rows.yaml] }
admin: admin/
models:
  Author:
    fields:
      name: { type: string, max_length: 40 }
  Post:
    fields:
      title: { type: string, max_length: 80 }
      body: { type: text }
      published: { type: boolean, default: false }
      author: { type: foreign_key, to: Author }
    ordering: [title]
routes:
  - { path: posts/, name: post-list, view: list, model: Post, template: posts.hbs }
";

/// One row of the SQLite file the server writes: a post's title, body, published, author.
fn posts(dir: &std::path::Path) -> Vec<(String, String, bool, i64)> {
    let conn = rusqlite::Connection::open(dir.join("db.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare("SELECT title, body, published, author_id FROM post ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The header's "Sign out": back to the sign-in page, no session left in the database, and the
/// admin's pages ask to sign in again.
fn signs_out(b: &mut Browser, base: &str, dir: &std::path::Path) {
    b.click_on("header form button");
    assert!(
        b.until("location.pathname === '/admin/login/'"),
        "signed out"
    );
    let conn = rusqlite::Connection::open(dir.join("db.sqlite3")).unwrap();
    let sessions: i64 = conn
        .query_row("SELECT COUNT(*) FROM trellis_session", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 0);
    let url = format!("{base}/admin/post/");
    b.call("Page.navigate", json!({ "url": url }));
    assert!(
        b.until("location.pathname === '/admin/login/' && location.search === '?next=%2Fadmin%2Fpost%2F'"),
        "no longer signed in"
    );
}

/// `trellis user add [--staff] DIR NAME`, the real binary, the password on standard input.
fn trellis_user_add(dir: &std::path::Path, name: &str, password: &str, staff: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let mut add = common::command(tmp.path())
        .args(["user", "add"])
        .args(staff.then_some("--staff"))
        .arg(dir)
        .arg(name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The admin as a person uses it, in a real Chromium against a real `trellis serve`: a staff
/// user made with `trellis user add --staff` (password on standard input), signed in on the
/// admin's page; a post added, seen on the public list, edited, deleted through the
/// confirmation page; signed out. Each step is checked on the page and in the SQLite file.
/// Screenshots of the edit form and the list go to `target/tmp/screenshots/`.
#[test]
fn a_staff_user_signs_in_adds_edits_and_deletes_a_post_and_signs_out() {
    let test = "a_staff_user_signs_in_adds_edits_and_deletes_a_post_and_signs_out";
    let Some(bin) = chromium(test) else {
        return;
    };
    let site = common::write_files(&[
        ("site.yaml", ADMIN_SITE),
        ("rows.yaml", "- { model: Author, pk: 1, fields: { name: Ann } }\n"),
        (
            "templates/posts.hbs",
            "<!doctype html><title>Posts</title><ul>{{#each objects}}<li>{{title}}</li>{{/each}}</ul>",
        ),
    ]);
    let s = Server::start(&site.path);
    let dir = s.site_path().to_path_buf();
    trellis_user_add(&dir, "root", "a long staff password", true);
    trellis_user_add(&dir, "ann", "a long visitor password", false);

    let base = format!("http://{}", s.addr);
    let mut b = Browser::open(&bin, &format!("{base}/admin/"));
    assert!(
        b.until("location.pathname === '/admin/login/'"),
        "sent to sign in"
    );
    // A user who is not staff is refused on the admin's form, as by Django's admin.
    b.type_into("#id_username", "ann");
    b.type_into("#id_password", "a long visitor password");
    b.click_on("form.edit button[type=submit]");
    let html = b.html_when(|h| h.contains("for a staff account"));
    assert!(
        html.contains("Please enter the correct username and password for a staff account."),
        "{html}"
    );
    assert!(!html.contains("Signed in as"), "{html}");
    b.type_into("#id_username", "root");
    b.type_into("#id_password", "a long staff password");
    b.click_on("form.edit button[type=submit]");
    assert!(b.until("location.pathname === '/admin/'"), "signed in");
    let html = b.html_when(|h| h.contains("Signed in as"));
    assert!(
        html.contains("Signed in as <strong>root</strong>"),
        "{html}"
    );

    // Add.
    b.click_on("a[href='/admin/post/add/']");
    assert!(
        b.until("location.pathname === '/admin/post/add/' && document.readyState === 'complete'"),
        "the add form"
    );
    // Every input has its label; a refused form puts the focus on the list of its errors,
    // whose links lead to the fields.
    let unlabelled = b.eval(
        "Array.from(document.querySelectorAll('form.edit input:not([type=hidden]), form.edit select, form.edit textarea')).filter(e => e.labels.length === 0).map(e => e.name)",
    );
    assert_eq!(unlabelled, json!([]), "inputs without a label");
    b.click_on("button[name=_save]");
    assert!(
        b.until("document.activeElement && document.activeElement.className === 'errors'"),
        "the errors are focused"
    );
    let html = b.html_when(|h| h.contains("Please correct"));
    assert!(html.contains(r##"<a href="#id_title">Title: "##), "{html}");
    assert!(posts(&dir).is_empty());
    b.type_into("#id_title", "Hello from Chromium");
    b.type_into("#id_body", "First <b>words</b>");
    b.click_on("#id_published");
    b.click_on("button[name=_continue]");
    assert!(
        b.until(
            "location.pathname === '/admin/post/1/change/' && document.readyState === 'complete'"
        ),
        "saved"
    );
    let html = b.html_when(|h| h.contains("was added"));
    assert!(
        html.contains(
            "The post “Hello from Chromium” was added successfully. You may edit it again below."
        ),
        "{html}"
    );
    assert_eq!(
        posts(&dir),
        [(
            "Hello from Chromium".into(),
            "First <b>words</b>".into(),
            true,
            1
        )]
    );
    let shot = b.screenshot("admin-edit-form.png");
    eprintln!("screenshot: {}", shot.display());
    // On a phone-width screen the form fits: the page never scrolls sideways.
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": false}),
    );
    assert!(b.until("window.innerWidth === 360"), "the phone's width");
    let wide = b.eval("document.documentElement.scrollWidth");
    assert!(wide.as_f64() <= Some(360.0), "the form is {wide} px wide");
    b.screenshot("admin-edit-form-phone.png");
    b.call("Emulation.clearDeviceMetricsOverride", json!({}));

    // On the public list.
    b.navigate(&format!("{base}/posts/"));
    let html = b.html_when(|h| h.contains("<li>"));
    assert!(html.contains("<li>Hello from Chromium</li>"), "{html}");

    // The admin's list, then edit from it.
    b.navigate(&format!("{base}/admin/post/"));
    b.html_when(|h| h.contains("Hello from Chromium</a>"));
    b.screenshot("admin-list.png");
    b.click_on("th[scope=row] a");
    assert!(
        b.until(
            "location.pathname === '/admin/post/1/change/' && document.readyState === 'complete'"
        ),
        "the edit form"
    );
    b.type_into("#id_title", "Hello, edited");
    b.click_on("button[name=_save]");
    assert!(
        b.until("location.pathname === '/admin/post/'"),
        "\"Save\" goes back to the list"
    );
    let html = b.html_when(|h| h.contains("was changed"));
    assert!(
        html.contains("The post “Hello, edited” was changed successfully."),
        "{html}"
    );
    assert_eq!(posts(&dir)[0].0, "Hello, edited");
    b.navigate(&format!("{base}/posts/"));
    let html = b.html_when(|h| h.contains("<li>"));
    assert!(html.contains("<li>Hello, edited</li>"), "{html}");

    // Delete, through the confirmation page.
    b.navigate(&format!("{base}/admin/post/1/change/"));
    b.click_on("a.delete");
    assert!(
        b.until(
            "location.pathname === '/admin/post/1/delete/' && document.readyState === 'complete'"
        ),
        "confirmation"
    );
    let html = b.html_when(|h| h.contains("Delete Post"));
    assert!(html.contains("Delete Post “Hello, edited”?"), "{html}");
    assert_eq!(posts(&dir).len(), 1, "the confirmation deletes nothing");
    b.click_on("button.danger");
    assert!(b.until("location.pathname === '/admin/post/'"), "deleted");
    let html = b.html_when(|h| h.contains("was deleted"));
    assert!(
        html.contains("The post “Hello, edited” was deleted successfully."),
        "{html}"
    );
    assert!(posts(&dir).is_empty());

    // Sign out: the session's row is gone, the admin asks to sign in again.
    signs_out(&mut b, &base, &dir);
}

/// A public guest book as a visitor uses it: sign it, be thanked once on the next page (what
/// they typed shown as text, not markup), then the thanks is gone on reload. The browser keeps
/// the signed `messages` cookie, which scripts cannot read (HttpOnly), and drops it when the
/// page that showed it deletes it.
#[test]
fn a_visitor_is_thanked_once_after_signing_a_guest_book() {
    let test = "a_visitor_is_thanked_once_after_signing_a_guest_book";
    let Some(bin) = chromium(test) else {
        return;
    };
    let site = common::write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }
models:
  Entry: { fields: { name: { type: string, max_length: 100 } } }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: sign/, name: sign, view: create, model: Entry, success: home, success_message: 'Thanks, {name}!' }
",
        ),
        (
            "templates/home.hbs",
            "<!doctype html><title>Guests</title><ul id=\"messages\">{{#each messages}}<li>{{text}}</li>{{/each}}</ul>",
        ),
    ]);
    let s = Server::start(&site.path);
    let base = format!("http://{}", s.addr);
    let mut b = Browser::open(&bin, &format!("{base}/sign/"));
    b.type_into("#id_name", "<b>Ann</b>");
    b.click_on("button[type=submit]");
    assert!(
        b.until("location.pathname === '/' && document.readyState === 'complete'"),
        "back home"
    );
    let shown = b.eval("document.getElementById('messages').innerText");
    assert_eq!(shown, json!("Thanks, <b>Ann</b>!"));
    assert_eq!(
        b.eval("document.querySelectorAll('#messages b').length"),
        json!(0)
    );
    assert_eq!(
        b.eval("document.cookie.includes('messages=')"),
        json!(false)
    );
    b.navigate(&format!("{base}/"));
    assert_eq!(
        b.eval("document.getElementById('messages').children.length"),
        json!(0),
        "shown once"
    );
    let cookies = b.call("Network.getAllCookies", json!({}));
    let names: Vec<&str> = cookies["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(!names.contains(&"messages"), "{names:?}");
}
