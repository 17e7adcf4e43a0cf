//! A real nginx (Debian's package) in front of `trellis serve`, both on loopback: the scheme
//! header nginx sets is believed, the same header sent straight to Trellis from an address
//! that is not a trusted proxy is not, and `allowed_hosts` still applies through the proxy.
//!
//! nginx runs as the test's child, in the foreground and without a master process, with a
//! config generated into a temporary folder (its pid, logs and temporary files there too) on
//! free ports. It connects to Trellis from `127.0.0.2` (`proxy_bind`), the only address
//! `site.proxy.trusted` names, so the test's own connections (from `127.0.0.1`) are the
//! untrusted clients. `.ci/run` installs nginx; where it is missing and `CI` is not set, each
//! test prints a `SKIPPED:` line past the harness's capture and returns; in CI it fails.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{request_at, write_site, Resp, Server};

const SITE: &str = r#"
site:
  allowed_hosts: [example.org]
  security: { hsts: { max_age: 600 } }
  proxy:
    trusted: [127.0.0.2]
    scheme_header: { name: X-Forwarded-Proto, value: https }
    forwarded_for: true
routes:
  - { path: "", view: template, template: home.hbs }
  - { path: "old/", view: redirect, url: /, permanent: true }
"#;

/// nginx's binary, on `PATH` or where Debian puts it; when it is missing, a failure in CI and
/// elsewhere a `SKIPPED:` line for `test` and `None`.
fn nginx(test: &str) -> Option<PathBuf> {
    crate::common::installed(
        &["nginx"],
        &["/usr/sbin", "/usr/local/sbin"],
        "nginx",
        &format!("proxy::{test}"),
    )
}

/// A port nobody listens on now (the kernel's choice; free again once the probe is dropped).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The location block both servers share: what the book's deploy page tells nginx to do,
/// with the scheme header's value as given.
fn location(scheme: &str) -> String {
    format!(
        "location / {{
      proxy_pass http://trellis;
      proxy_http_version 1.1;
      proxy_bind 127.0.0.2;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-Proto {scheme};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}"
    )
}

/// A running nginx with two servers in front of Trellis: `https` stands for the book's
/// `listen 443 ssl` server (the same headers, without the TLS, which the test's client does
/// not speak), and `http` is a plain one that passes `$scheme` on.
struct Nginx {
    child: Child,
    https: SocketAddr,
    http: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// nginx in front of the `trellis` instances (one upstream group: a request that one
    /// cannot take is passed to the next).
    fn start(binary: &Path, trellis: &[SocketAddr]) -> Nginx {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let d = dir.path().display();
        let https: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let http: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let upstream: String = trellis.iter().map(|a| format!("server {a}; ")).collect();
        let config = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream trellis {{ {upstream}}}
  server {{
    listen {https};
    {}
  }}
  server {{
    listen {http};
    {}
  }}
}}
",
            location("https"),
            location("$scheme"),
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).expect("write nginx.conf");
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx {
            child,
            https,
            http,
            dir,
        };
        nginx.wait_listening();
        nginx
    }

    /// Until both ports accept a connection; nginx prints nothing when it is ready. A guard
    /// against a hang, not a timing assertion.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for addr in [self.https, self.http] {
            while TcpStream::connect(addr).is_err() {
                let exited = self.child.try_wait().ok().flatten();
                if exited.is_some() || Instant::now() > deadline {
                    let log = std::fs::read_to_string(self.dir.path().join("error.log"));
                    panic!("nginx did not listen on {addr} ({exited:?}): {log:?}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Resp {
    request_at(addr, "GET", target, headers)
}

/// The scheme the page saw, and whether HSTS came with it.
fn seen(r: &Resp) -> (String, bool) {
    assert_eq!(r.status, 200, "{r:?}");
    (
        r.body.trim().to_string(),
        r.header("strict-transport-security").is_some(),
    )
}

fn serving() -> (crate::common::SiteDir, Server) {
    let site = write_site(
        SITE,
        &[("home.hbs", "{{request.scheme}} {{request.is_secure}}")],
    );
    let s = Server::start_site(&site);
    (site, s)
}

#[test]
fn the_scheme_header_is_believed_from_nginx_and_from_no_one_else() {
    let Some(binary) = nginx("the_scheme_header_is_believed_from_nginx_and_from_no_one_else")
    else {
        return;
    };
    let (_site, s) = serving();
    let proxy = Nginx::start(&binary, &[s.addr]);
    let host = ("Host", "example.org");
    let forged = ("X-Forwarded-Proto", "https");

    // Through the HTTPS server: secure, with HSTS.
    let r = get(proxy.https, "/", &[host]);
    assert_eq!(seen(&r), ("https true".into(), true));
    // Through the plain one, nginx replaces what the client claims with `$scheme`.
    let r = get(proxy.http, "/", &[host, forged]);
    assert_eq!(seen(&r), ("http false".into(), false));
    // Straight to Trellis from 127.0.0.1, which is no trusted proxy: the header is ignored.
    let r = get(s.addr, "/", &[host, forged]);
    assert_eq!(seen(&r), ("http false".into(), false));
    // A redirect through the HTTPS server stays relative: the browser keeps its scheme.
    let r = get(proxy.https, "/old/", &[host]);
    assert_eq!((r.status, r.header("location")), (301, Some("/")), "{r:?}");
    assert!(r.header("strict-transport-security").is_some(), "{r:?}");
}

#[test]
fn the_access_log_names_the_client_nginx_saw_not_a_forged_one() {
    let Some(binary) = nginx("the_access_log_names_the_client_nginx_saw_not_a_forged_one") else {
        return;
    };
    let (_site, s) = serving();
    let proxy = Nginx::start(&binary, &[s.addr]);
    let forged = ("X-Forwarded-For", "203.0.113.9");
    get(
        proxy.https,
        "/?through=nginx",
        &[("Host", "example.org"), forged],
    );
    // nginx connected from 127.0.0.2 and appended the client's 127.0.0.1 to the forged list.
    s.wait_for_log("127.0.0.1 \"GET /?through=nginx HTTP/1.1\" 200");
    get(s.addr, "/?direct", &[("Host", "example.org"), forged]);
    let log = s.wait_for_log("127.0.0.1 \"GET /?direct HTTP/1.1\" 200");
    assert!(!log.contains("203.0.113.9"), "{log}");
    assert!(!log.contains("127.0.0.2 \"GET"), "{log}");
}

#[test]
fn allowed_hosts_still_applies_through_nginx() {
    let Some(binary) = nginx("allowed_hosts_still_applies_through_nginx") else {
        return;
    };
    let (_site, s) = serving();
    let proxy = Nginx::start(&binary, &[s.addr]);
    for front in [proxy.https, proxy.http] {
        let r = get(front, "/", &[("Host", "evil.example")]);
        assert_eq!(r.status, 400, "{r:?}");
        // X-Forwarded-Host is not read unless `forwarded_host` asks for it.
        let r = get(
            front,
            "/",
            &[
                ("Host", "evil.example"),
                ("X-Forwarded-Host", "example.org"),
            ],
        );
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(get(front, "/", &[("Host", "example.org")]).status, 200);
    }
    // The line is written after the answer is sent: wait for it (it fails, with the log, if it
    // never comes).
    s.wait_for_log("Invalid Host header \"evil.example\"");
}

/// The way the deploy page upgrades without downtime: two instances behind nginx, restarted
/// one at a time. SIGTERM makes an instance stop accepting and finish what it holds; nginx
/// passes the requests it can no longer take to the other. Not one request fails meanwhile.
#[test]
fn stopping_one_of_two_instances_behind_nginx_fails_no_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let Some(binary) = nginx("stopping_one_of_two_instances_behind_nginx_fails_no_request") else {
        return;
    };
    let (site, a) = serving();
    let b = Server::start_site(&site);
    let proxy = Nginx::start(&binary, &[a.addr, b.addr]);
    let (done, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let statuses = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                statuses.push(get(proxy.https, "/", &[("Host", "example.org")]).status);
                done.fetch_add(1, Ordering::Relaxed);
            }
            statuses
        });
        let after = |n: usize| {
            while done.load(Ordering::Relaxed) < n && !load.is_finished() {
                std::thread::yield_now();
            }
        };
        after(20);
        let status = Command::new("kill")
            .args(["-s", "TERM", &a.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        a.wait_for_log("stopped");
        let stopped_at = done.load(Ordering::Relaxed);
        after(stopped_at + 40);
        stop.store(true, Ordering::Relaxed);
        load.join().unwrap()
    });
    let failed: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {}: {failed:?}",
        failed.len(),
        statuses.len()
    );
    // Both took requests, and the one still running took every request after the stop.
    let served = |s: &Server| s.log().matches("\"GET / HTTP/1.1\" 200").count();
    assert!(served(&a) > 0, "{}", a.log());
    assert!(served(&b) >= 40, "{}", b.log());
}

/// `forwarded_host: true` (Django's USE_X_FORWARDED_HOST): the host comes from a trusted
/// proxy's `X-Forwarded-Host`, and must still be one of `allowed_hosts`. No nginx needed: the
/// test, on loopback, is the trusted proxy here (the default `trusted`).
#[test]
fn a_forwarded_host_is_checked_against_allowed_hosts() {
    let site = write_site(
        "site:\n  allowed_hosts: [example.org]\n  proxy: { forwarded_host: true }\nroutes:\n  - { path: \"\", view: response, body: hi }\n",
        &[],
    );
    let s = Server::start_site(&site);
    for (host, forwarded, status) in [
        ("evil.example", "example.org", 200),
        ("example.org", "evil.example", 400),
        ("example.org", "example.org, evil.example", 400),
    ] {
        let r = get(
            s.addr,
            "/",
            &[("Host", host), ("X-Forwarded-Host", forwarded)],
        );
        assert_eq!(r.status, status, "{host} {forwarded}: {r:?}");
    }
}

/// A trusted proxy written in its IPv4-mapped form (`::ffff:127.0.0.1`, as a socket listening
/// on IPv6 reports an IPv4 peer) is the IPv4 address it maps: Trellis listening on
/// `[::ffff:127.0.0.1]` sees the test's connection from `127.0.0.1` in exactly that form.
#[test]
fn a_trusted_proxy_in_its_ipv4_mapped_form_is_trusted() {
    let site = write_site(
        "site:\n  allowed_hosts: [example.org]\n  proxy:\n    trusted: [\"::ffff:127.0.0.1\"]\n    scheme_header: { name: X-Forwarded-Proto, value: https }\nroutes:\n  - { path: \"\", view: template, template: home.hbs }\n",
        &[("home.hbs", "{{request.scheme}} {{request.is_secure}}")],
    );
    let s = Server::start_with(&site.path, &["--addr", "[::ffff:127.0.0.1]:0"]);
    let v4 = SocketAddr::from(([127, 0, 0, 1], s.addr.port()));
    let r = get(
        v4,
        "/",
        &[("Host", "example.org"), ("X-Forwarded-Proto", "https")],
    );
    assert_eq!(r.body.trim(), "https true", "{r:?}");
}
