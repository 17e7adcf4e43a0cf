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
        let rect = self.eval(&format!(
            "(function(){{var r=document.getElementById({id:?}).getBoundingClientRect();\
             return [r.left+r.width/2,r.top+r.height/2]}})()"
        ));
        let (x, y) = (rect[0].as_f64().unwrap(), rect[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            let params = json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1});
            self.call("Input.dispatchMouseEvent", params);
        }
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
    let mut browser = Browser::open(&bin, &format!("http://{}/manage/post/?page=2", s.addr));
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
