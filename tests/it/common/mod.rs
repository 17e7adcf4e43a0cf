//! The harness: in process (`local.rs`: `Local`, a site loaded once and asked through
//! `Site::handle`), and over real HTTP: start the `trellis` binary on an ephemeral port over a
//! private copy of a site, talk raw HTTP/1.1 to it, and read what it logged.
//!
//! - `Server::start(dir)` copies the site into a fresh temporary folder, runs
//!   `trellis serve COPY --addr 127.0.0.1:0 --workers 1`, and waits for the `http://ADDR/` line
//!   on stdout (no sleeps, no fixed ports). Dropping the `Server` kills the process, and so
//!   does the end of the test run (a `Server` in a `OnceLock` is never dropped): see `WATCHDOG`.
//! - `Server::shared(dir)` serves a copy kept for the whole run (`shared_copy`), for a
//!   `OnceLock<Server>` that the read-only tests of one site share.
//! - `server.get(target)` / `head` / `request(method, target, headers)` send the request target
//!   byte for byte as given (so `%FF`, `%zz`, `%2F` reach the server untouched) and read the
//!   response to EOF (`Connection: close`), decoding a chunked body.
//! - `server.wait_for_log(needle)` waits for a line on the server's stderr.
//! - `write_site` / `write_files` make a small site from inline strings.
//! - `trellis(args)` runs the binary for the other subcommands (`check`, `routes`, `schema`).

#![allow(dead_code)]

mod local;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use local::{logged, remove_databases, Local, CSRF_SECRET};

/// How long the harness waits for the server's address or for a log line before it gives up
/// and fails the test. It is a guard against a hang, not a timing assertion: a healthy server
/// answers long before.
const PATIENCE: Duration = Duration::from_secs(60);

/// The bundled example site, as the repository holds it.
pub fn greetings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sites/greetings")
}

/// The site the routing tests run against.
pub fn edge_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sites/edge")
}

/// A command for the `trellis` binary, with a deterministic environment: no `RUST_LOG` from
/// the caller, no colours in the log, and `TMPDIR` set to `tmp` so that the bundled site
/// (written out when no SITE is given) lands in a folder the test cleans up.
pub fn command(tmp: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trellis"));
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmp)
        .current_dir(tmp)
        .stdin(Stdio::null());
    cmd
}

/// A program some tests need and `.ci/run` installs (Debian's `package`): the first of `names`
/// on `PATH` or in `dirs`. When there is none: a failure in CI (`CI` set: the install broke),
/// and elsewhere a `SKIPPED:` line for `test` and `None`. The line goes to the process's
/// stderr, not through eprintln!, which the harness captures and shows only for a failing
/// test: a skip must never look like a pass.
pub fn installed(names: &[&str], dirs: &[&str], package: &str, test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(dirs.iter().map(PathBuf::from));
    for dir in dirs {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("{package} is missing: .ci/run installs it (apt-get install {package})");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: no {package} on this machine (apt-get install {package}; CI installs it)"
    );
    None
}

/// Run `trellis ARGS…` to completion (for `check`, `routes`, `schema`).
pub fn trellis<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let tmp = TempDir::new().expect("a temporary folder");
    command(tmp.path())
        .args(args)
        .output()
        .expect("the trellis binary runs")
}

/// `trellis check` on a site of this `site.yaml` fails, printing each of `expected` (lines
/// of its diagnostics).
pub fn check_prints(site_yaml: &str, expected: &[&str]) {
    let dir = write_files(&[("site.yaml", site_yaml)]);
    let out = trellis(["check".as_ref(), dir.path.as_os_str()]);
    assert!(!out.status.success(), "{site_yaml}");
    let err = String::from_utf8_lossy(&out.stderr);
    for line in expected {
        assert!(err.contains(line), "{line}\n---\n{err}");
    }
}

/// What the server wrote to stderr, shared with the thread that reads it.
#[derive(Default)]
struct Log {
    text: Mutex<String>,
    grew: Condvar,
    closed: Mutex<bool>,
}

impl Log {
    /// The whole log once the process has closed stderr (bounded by `PATIENCE`).
    fn until_closed(&self) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut text = self.text.lock().unwrap();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || *self.closed.lock().unwrap() {
                return text.clone();
            }
            text = self.grew.wait_timeout(text, left).unwrap().0;
        }
    }
}

/// A running `trellis serve` (under `WATCHDOG`), killed on drop.
pub struct Server {
    /// The `sh` running `WATCHDOG`, which waits for the server and exits with it.
    child: Mutex<Child>,
    /// Closing it (on drop, or when the test process ends) kills the server.
    lifeline: Mutex<Option<ChildStdin>>,
    pub addr: SocketAddr,
    /// The banner line (`Trellis 0.1.0: serving … at http://…/`).
    pub banner: String,
    /// The private copy of the site that the server serves (absent for the bundled site).
    pub site: Option<PathBuf>,
    log: Arc<Log>,
    /// Holds the site copy and TMPDIR; removed after the child is killed (none for a shared
    /// server, whose folder is the run's, `shared_dir`).
    _tmp: Option<TempDir>,
}

/// The shell script that runs every server: it starts the server (its arguments), then waits
/// for it and exits with it, while a watcher kills it as soon as the script's stdin reaches
/// its end. The test holds the other end of that pipe, and the system closes it when the test
/// process ends however it ends, so no server outlives the run, not even one shared through a
/// `OnceLock` (statics are never dropped).
const WATCHDOG: &str = r#"exec 3<&0 </dev/null
"$@" 3<&- &
server=$!
{ cat <&3 >/dev/null; kill -KILL "$server"; } >/dev/null 2>&1 &
exec 3<&-
wait "$server"
"#;

/// `cmd` (a `trellis` command with its environment and folder) run under `WATCHDOG`.
fn watched(cmd: &Command) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(WATCHDOG)
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::piped());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(name, value),
            None => sh.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

/// The folder of this test run's shared copies (`CARGO_TARGET_TMPDIR/shared/PID`), made on
/// first use. Copies left by earlier runs are removed then (on Linux, those of processes that
/// no longer run); elsewhere they stay in `target/` until `cargo clean`.
pub fn shared_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared");
        if Path::new("/proc/self").exists() {
            for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let ended = name.parse::<u32>().is_ok_and(|pid| {
                    pid != std::process::id() && !Path::new("/proc").join(&name).exists()
                });
                if ended {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the run's shared folder");
        dir
    })
}

/// A copy of the site in `dir`, as the repository holds it (without any database file that a
/// local run left in it), kept in `shared_dir` for the whole run.
pub fn shared_copy(dir: &Path) -> PathBuf {
    static COPIES: AtomicUsize = AtomicUsize::new(0);
    let n = COPIES.fetch_add(1, Ordering::Relaxed);
    let name = dir.file_name().expect("a site folder has a name");
    let copy = shared_dir().join(n.to_string()).join(name);
    copy_dir(dir, &copy);
    remove_databases(&copy);
    copy
}

impl Server {
    /// Copy `site_dir` into a fresh temporary folder and serve the copy.
    pub fn start(site_dir: &Path) -> Server {
        let tmp = TempDir::new().expect("a temporary folder");
        let name = site_dir.file_name().expect("a site folder has a name");
        let copy = tmp.path().join(name);
        copy_dir(site_dir, &copy);
        let mut cmd = command(tmp.path());
        cmd.arg("serve").arg(&copy);
        Server::spawn(cmd, Some(tmp), Some(copy))
    }

    /// Serve a copy of `site_dir` kept for the whole run (`shared_copy`): for a
    /// `OnceLock<Server>` shared by tests that only read.
    pub fn shared(site_dir: &Path) -> Server {
        let copy = shared_copy(site_dir);
        let mut cmd = command(shared_dir());
        cmd.arg("serve").arg(&copy);
        Server::spawn(cmd, None, Some(copy))
    }

    /// Serve a site written from inline strings (see `write_site`).
    pub fn start_site(site: &SiteDir) -> Server {
        Server::start(&site.path)
    }

    /// `trellis serve` with no SITE: the bundled example site.
    pub fn start_bundled() -> Server {
        let tmp = TempDir::new().expect("a temporary folder");
        let mut cmd = command(tmp.path());
        cmd.arg("serve");
        Server::spawn(cmd, Some(tmp), None)
    }

    fn spawn(mut cmd: Command, tmp: Option<TempDir>, site: Option<PathBuf>) -> Server {
        // A port the OS picks, on the loopback unless the test gave an address of its own.
        if !cmd.get_args().any(|a| a == "--addr") {
            cmd.args(["--addr", "127.0.0.1:0"]);
        }
        cmd.args(["--workers", "1"]);
        let mut child = watched(&cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh starts the trellis binary");
        let lifeline = child.stdin.take().expect("stdin is piped");

        let log = Arc::new(Log::default());
        let stderr = child.stderr.take().expect("stderr is piped");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.text.lock().unwrap();
                text.push_str(&strip_ansi(&line));
                text.push('\n');
                sink.grew.notify_all();
            }
            *sink.closed.lock().unwrap() = true;
            // Take the text lock so that a waiter cannot miss this last notification.
            let _text = sink.text.lock().unwrap();
            sink.grew.notify_all();
        });

        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || drain_stdout(stdout, tx));

        let deadline = Instant::now() + PATIENCE;
        let banner = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("http://") => break line,
                Ok(_) => continue,
                Err(why) => {
                    drop(lifeline);
                    let status = child.wait().ok();
                    let text = log.until_closed();
                    panic!(
                        "trellis serve printed no address ({why:?}); exit status {status:?}; stderr:\n{text}"
                    );
                }
            }
        };
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in the banner {banner:?}"));
        Server {
            child: Mutex::new(child),
            lifeline: Mutex::new(Some(lifeline)),
            addr,
            banner,
            site,
            log,
            _tmp: tmp,
        }
    }

    /// Send one request and read the whole response. `target` goes on the request line
    /// exactly as given. `Host` (unless the caller sets one) and `Connection: close` are added; a method that may carry a
    /// body gets a `Content-Length` unless the caller sets one.
    pub fn request(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> Resp {
        self.request_with_body(method, target, headers, "")
    }

    /// `request` with a body (its `Content-Length` is added unless the caller sets one).
    pub fn request_with_body(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        let raw = self.exchange(method, target, headers, body);
        Resp::parse(&raw, method == "HEAD").unwrap_or_else(|why| {
            panic!(
                "{method} {target}: {why}; got {:?}",
                String::from_utf8_lossy(&raw)
            )
        })
    }

    /// `request`, for a body that need not be text (a compressed one): the response with an
    /// empty `body`, and the body's bytes (dechunked).
    pub fn request_bytes(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> (Resp, Vec<u8>) {
        let raw = self.exchange(method, target, headers, "");
        Resp::parse_bytes(&raw, method == "HEAD")
            .unwrap_or_else(|why| panic!("{method} {target}: {why}"))
    }

    /// Send `bytes` as they are (a malformed request, say) and read the response to EOF.
    pub fn raw(&self, bytes: &[u8]) -> Resp {
        let mut stream = TcpStream::connect(self.addr).expect("connect to the server");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("set a read timeout");
        stream.write_all(bytes).expect("send the request");
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("read the response to raw bytes: {e}"));
        Resp::parse(&raw, false)
            .unwrap_or_else(|why| panic!("{why}; got {:?}", String::from_utf8_lossy(&raw)))
    }

    /// Send one request as `request` does and read the raw response to EOF.
    fn exchange(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Vec<u8> {
        exchange_at(self.addr, method, target, headers, body)
    }

    pub fn get(&self, target: &str) -> Resp {
        self.request("GET", target, &[])
    }

    pub fn head(&self, target: &str) -> Resp {
        self.request("HEAD", target, &[])
    }

    pub fn post(&self, target: &str) -> Resp {
        self.request("POST", target, &[])
    }

    /// Everything the server has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.text.lock().unwrap().clone()
    }

    /// Wait until the server's stderr holds `needle`, and return the whole log. Panics (with
    /// the log) if the line does not come: the guard is generous, this is no timing test.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut text = self.log.text.lock().unwrap();
        loop {
            if text.contains(needle) {
                return text.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || *self.log.closed.lock().unwrap() {
                panic!("the server never logged {needle:?}; its log:\n{text}");
            }
            text = self.log.grew.wait_timeout(text, left).unwrap().0;
        }
    }

    /// The process id of the `trellis` process itself (the watchdog's child), for sending it
    /// a signal. Linux only (it reads `/proc`).
    pub fn pid(&self) -> u32 {
        let sh = self.child.lock().unwrap().id();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children"))
            .expect("read the watchdog's children in /proc");
        children
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "trellis")
            })
            .expect("the watchdog runs trellis")
    }

    /// Whether the server process is still running.
    pub fn is_running(&self) -> bool {
        matches!(self.child.lock().unwrap().try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The watcher kills the server; then the script, which waits for it, exits.
        drop(self.lifeline.lock().unwrap().take());
        let _ = self.child.lock().unwrap().wait();
    }
}

/// Read the server's stdout for as long as it runs, so that it never writes into a closed
/// pipe, and hand each line to whoever waits for the banner.
fn drain_stdout(stdout: ChildStdout, tx: mpsc::Sender<String>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // The receiver goes away once it has the banner; keep draining regardless.
        let _ = tx.send(line);
    }
}

/// Remove ANSI colour sequences, in case the log is coloured after all.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Send one request to `addr` as `Server::request` does (any HTTP server: a proxy in front of
/// Trellis) and read the raw response to EOF.
pub fn exchange_at(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("set a read timeout");
    let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    // A caller may send its own Host.
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {}\r\n", addr));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let has_length = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    if !has_length && (!body.is_empty() || !matches!(method, "GET" | "HEAD" | "OPTIONS")) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).expect("send the request");
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read the response to {method} {target}: {e}"));
    raw
}

/// `exchange_at`, the response parsed.
pub fn request_at(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Resp {
    let raw = exchange_at(addr, method, target, headers, "");
    Resp::parse(&raw, method == "HEAD").unwrap_or_else(|why| {
        panic!(
            "{method} {target} to {addr}: {why}; got {:?}",
            String::from_utf8_lossy(&raw)
        )
    })
}

/// A response as the user sees it.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `Content-Type` without parameters, lower-cased (`text/html`).
    pub fn mime(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    fn parse(raw: &[u8], head_request: bool) -> Result<Resp, String> {
        let (mut resp, body) = Resp::parse_bytes(raw, head_request)?;
        resp.body = String::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
        Ok(resp)
    }

    /// The response with an empty `body`, and the body's bytes.
    fn parse_bytes(raw: &[u8], head_request: bool) -> Result<(Resp, Vec<u8>), String> {
        let end = find(raw, b"\r\n\r\n").ok_or("no end of headers")?;
        let head = std::str::from_utf8(&raw[..end]).map_err(|_| "headers are not UTF-8")?;
        let rest = &raw[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().ok_or("no status line")?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(format!("not an HTTP/1.x status line: {status_line:?}"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status code in {status_line:?}"))?;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        let resp = Resp {
            status,
            headers,
            body: String::new(),
        };
        let body = if head_request {
            // A HEAD response has no body whatever its headers say; any bytes would be a bug
            // that the test sees in `body`.
            rest.to_vec()
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"))
        {
            dechunk(rest)?
        } else if let Some(len) = resp.header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len:?}"))?;
            if rest.len() != len {
                return Err(format!(
                    "Content-Length says {len} bytes, the connection carried {}",
                    rest.len()
                ));
            }
            rest.to_vec()
        } else {
            rest.to_vec()
        };
        Ok((resp, body))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decode a chunked body (trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = find(rest, b"\r\n").ok_or("chunk size line without CRLF")?;
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| "chunk size not ASCII")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&rest[..size]);
        if &rest[size..size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        rest = &rest[size + 2..];
    }
}

/// Copy a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let entry = entry.expect("a directory entry");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", path.display(), dest.display()));
        }
    }
}

/// A site written into a temporary folder, removed on drop.
pub struct SiteDir {
    _tmp: TempDir,
    /// The site's folder (holding site.yaml).
    pub path: PathBuf,
}

/// Write a site from inline strings: `site.yaml` and templates (paths relative to
/// `templates/`, e.g. `("home.hbs", "…")`).
pub fn write_site(site_yaml: &str, templates: &[(&str, &str)]) -> SiteDir {
    let mut files = vec![("site.yaml".to_string(), site_yaml.to_string())];
    for (name, text) in templates {
        files.push((format!("templates/{name}"), text.to_string()));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    write_files(&refs)
}

/// Write any files (paths relative to the site folder) into a fresh site folder.
pub fn write_files(files: &[(&str, &str)]) -> SiteDir {
    let tmp = TempDir::new().expect("a temporary folder");
    let path = tmp.path().join("site");
    std::fs::create_dir_all(&path).expect("create the site folder");
    for (rel, text) in files {
        let file = path.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create a folder of the site");
        }
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
    }
    SiteDir { _tmp: tmp, path }
}

// ---------------------------------------------------------------------------------------------
// Live reload (tests/reload.rs): more arguments for `serve`, serving a folder in place,
// waiting for a log line to come n times, and a request that reports a failure instead of
// panicking.

impl Server {
    /// `start` with more arguments for `serve` (`--live`, `--no-reload`).
    pub fn start_with(site_dir: &Path, extra: &[&str]) -> Server {
        let tmp = TempDir::new().expect("a temporary folder");
        let name = site_dir.file_name().expect("a site folder has a name");
        let copy = tmp.path().join(name);
        copy_dir(site_dir, &copy);
        let mut cmd = command(tmp.path());
        cmd.arg("serve").arg(&copy).args(extra);
        Server::spawn(cmd, Some(tmp), Some(copy))
    }

    /// Serve `site_dir` itself, not a copy (so that two servers can share one folder).
    pub fn start_in_place(site_dir: &Path, extra: &[&str]) -> Server {
        let tmp = TempDir::new().expect("a temporary folder");
        let mut cmd = command(tmp.path());
        cmd.arg("serve").arg(site_dir).args(extra);
        Server::spawn(cmd, Some(tmp), Some(site_dir.to_path_buf()))
    }

    /// Run `trellis ARGS…` (a `serve` command) in `dir`, which the server keeps until it is
    /// dropped, so that a site is named as a user would name it: relative to where they are.
    pub fn start_in(dir: TempDir, args: &[&str]) -> Server {
        let mut cmd = command(dir.path());
        cmd.args(args);
        Server::spawn(cmd, Some(dir), None)
    }

    /// The folder this server serves (its private copy, or the folder itself).
    pub fn site_path(&self) -> &Path {
        self.site.as_deref().expect("a server of a site folder")
    }

    /// Wait until `done` holds for the whole log, and return the log. Panics (with the log,
    /// and saying it waited for `what`) if it never does: a guard against a hang, not a
    /// timing test.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut text = self.log.text.lock().unwrap();
        loop {
            if done(&text) {
                return text.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || *self.log.closed.lock().unwrap() {
                let log = text.clone();
                // Unlocked, so that the thread reading the log is not poisoned by the panic.
                drop(text);
                panic!("waited in vain for {what}; the server's log:\n{log}");
            }
            text = self.log.grew.wait_timeout(text, left).unwrap().0;
        }
    }

    /// Wait until `needle` has come at least `n` times in the log, and return the log.
    pub fn wait_for_log_count(&self, needle: &str, n: usize) -> String {
        self.wait_until(&format!("{needle:?} {n} times"), |log| {
            log.matches(needle).count() >= n
        })
    }

    /// `get`, but a refused connection, a broken response or a read error is returned, not a
    /// panic (for threads that count failures).
    pub fn try_get(&self, target: &str) -> Result<Resp, String> {
        self.try_request("GET", target, &[], "")
    }

    /// `request_with_body`, but a refused connection, a broken response or a read error is
    /// returned, not a panic (for clients of a server that is killed under them).
    pub fn try_request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Resp, String> {
        let mut stream = TcpStream::connect(self.addr).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(PATIENCE))
            .map_err(|e| format!("set a read timeout: {e}"))?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nConnection: close\r\nHost: {}\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(body);
        stream
            .write_all(head.as_bytes())
            .map_err(|e| format!("send: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .map_err(|e| format!("read: {e}"))?;
        Resp::parse(&raw, false)
            .map_err(|why| format!("{why}; got {:?}", String::from_utf8_lossy(&raw)))
    }
}
