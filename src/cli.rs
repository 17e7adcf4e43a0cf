//! What every command of the command line shares: which site it works on ([`resolve_site`]),
//! the address `serve` listens on (`--addr`, `--port`: [`listen_addr`]) and what to say when
//! it cannot ([`bind_error`]), and a path quoted for the shell ([`shell_quoted`]).

use std::io;
use std::path::{Path, PathBuf};

/// The port `serve` listens on when none is given.
pub const DEFAULT_PORT: u16 = 8000;

/// Where a command's site came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The folder named on the command line.
    Given,
    /// The current folder, which holds a `site.yaml`.
    CurrentDir,
    /// The example site built into the binary, written to a temporary folder.
    Bundled,
}

/// The site a command works on. The bundled example's temporary folder is removed again when
/// this value is dropped.
#[derive(Debug)]
pub struct SiteDir {
    pub path: PathBuf,
    pub origin: Origin,
}

impl Drop for SiteDir {
    fn drop(&mut self) {
        if self.origin == Origin::Bundled {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The site for a command: the folder given, else the current folder when it holds a
/// `site.yaml`, else (only when `bundled_fallback`, as for `serve`) the bundled example site.
/// Otherwise the error says what the command needs, ready to print after `error: `; `usage`
/// is the command's words after `trellis`, SITE among them (`"dump SITE MODEL"`).
pub fn resolve_site(
    given: Option<PathBuf>,
    usage: &str,
    bundled_fallback: bool,
) -> Result<SiteDir, String> {
    if let Some(path) = given {
        return Ok(SiteDir {
            path,
            origin: Origin::Given,
        });
    }
    let cwd = std::env::current_dir()
        .map_err(|e| format!("cannot read the current folder (to look for a site.yaml): {e}"))?;
    // Any site.yaml, even one that cannot be read (a folder): the load says what is wrong
    // with it, rather than that there is none, or `serve` serving the example instead.
    if cwd.join("site.yaml").exists() {
        return Ok(SiteDir {
            path: cwd,
            origin: Origin::CurrentDir,
        });
    }
    if bundled_fallback {
        return crate::bundled::extract()
            .map(|path| SiteDir {
                path,
                origin: Origin::Bundled,
            })
            .map_err(|e| format!("cannot write the bundled example site: {e}"));
    }
    Err(format!(
        "no site here: {} has no site.yaml\n  \
         = help: run `trellis {}` in a site's folder, or name the folder: \
         `trellis {usage}` (`trellis new NAME` makes a new site)",
        cwd.display(),
        usage.replace(" SITE", "")
    ))
}

/// What `serve` says, under its banner, when it serves the bundled example site.
pub fn bundled_note() -> String {
    let here = std::env::current_dir()
        .map(|d| format!("{} has", d.display()))
        .unwrap_or_else(|_| "this folder has".into());
    format!(
        "This is the example site built into trellis: {here} no site.yaml.\n\
         Serve your own site with `trellis serve SITE`, or make one with `trellis new NAME`."
    )
}

/// The address to listen on, from `--addr` and `--port`: a bare port (`8080`) listens on
/// 127.0.0.1, a host or IP address without a port gets `port` or 8000, and `--port` alone
/// keeps 127.0.0.1. An address that is none of these is an error in the user's words.
pub fn listen_addr(addr: Option<&str>, port: Option<u16>) -> Result<String, String> {
    let addr = addr.map(str::trim);
    let (host, own_port) = match addr {
        None => ("127.0.0.1".to_string(), None),
        Some(a) => split_addr(a)?,
    };
    match (own_port, port) {
        (Some(p), Some(q)) if p != q => Err(format!(
            "--addr {} names port {p} and --port {q}: give the port once",
            addr.unwrap_or_default()
        )),
        (p, q) => Ok(format!("{host}:{}", p.or(q).unwrap_or(DEFAULT_PORT))),
    }
}

/// `--addr`'s host (IPv6 addresses bracketed) and port, if it names one.
fn split_addr(a: &str) -> Result<(String, Option<u16>), String> {
    let bad = || {
        format!(
            "`{a}` is not an address to listen on\n  \
             = help: give a port (`--addr 8080` or `--port 8080`), or a host and port \
             (`--addr 127.0.0.1:8080`, `--addr [::1]:8080`, `--addr 0.0.0.0:8080`)"
        )
    };
    if a.is_empty() {
        return Err(bad());
    }
    if a.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(("127.0.0.1".into(), Some(port_number(a)?)));
    }
    if let Ok(ip) = a.parse::<std::net::Ipv6Addr>() {
        return Ok((format!("[{ip}]"), None));
    }
    if let Some(inner) = a.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return match inner.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => Ok((format!("[{ip}]"), None)),
            Err(_) => Err(bad()),
        };
    }
    let (host, port) = match a.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (a, None),
    };
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    if !host_ok {
        return Err(bad());
    }
    let port = match port {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => Some(port_number(p)?),
        Some(_) => return Err(bad()),
        None => None,
    };
    Ok((host.to_string(), port))
}

fn port_number(p: &str) -> Result<u16, String> {
    p.parse()
        .map_err(|_| format!("{p} is not a port: ports go from 1 to 65535 (0 picks a free one)"))
}

/// Whether `addr` (as `listen_addr` made it) names an address this machine can look up; the
/// error says so in the user's words.
pub fn resolvable(addr: &str) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    match addr.to_socket_addrs() {
        Ok(found) if !found.as_slice().is_empty() => Ok(()),
        _ => Err(format!(
            "cannot serve on {addr}: the host `{}` is not known here\n  \
             = help: give an IP address (`--addr 127.0.0.1:8000`, `--addr 0.0.0.0:8000`) \
             or a host name this machine resolves",
            addr.rsplit_once(':').map_or(addr, |(h, _)| h)
        )),
    }
}

/// The message for `serve` failing to listen on `addr`, with a hint when the port is taken
/// (naming the process that holds it when this system says) or the host does not resolve.
pub fn bind_error(addr: &str, e: &io::Error) -> String {
    let port = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok());
    match (e.kind(), port) {
        (io::ErrorKind::AddrInUse, Some(port)) => {
            let holder = port_holder(port)
                .map(|(pid, name)| format!(" (by `{name}`, process {pid})"))
                .unwrap_or_default();
            let other = port.checked_add(1).unwrap_or(8000);
            format!(
                "cannot serve on {addr}: port {port} is already in use{holder}\n  \
                 = help: stop what holds it, or serve on another port: `--port {other}` \
                 (`--port 0` picks a free one)"
            )
        }
        (io::ErrorKind::PermissionDenied, Some(port)) if port < 1024 => format!(
            "cannot serve on {addr}: ports below 1024 need administrator rights\n  \
             = help: serve on a port from 1024 up, e.g. `--port 8000`, behind a proxy"
        ),
        (io::ErrorKind::AddrNotAvailable, _) => format!(
            "cannot serve on {addr}: this machine has no such address\n  \
             = help: listen on 127.0.0.1 (the default), or 0.0.0.0 for every address"
        ),
        _ => format!("cannot serve on {addr}: {e}"),
    }
}

/// The process listening on TCP `port`, from `/proc/net/tcp{,6}` and the socket links under
/// `/proc/*/fd` (Linux; only the processes this user may look into). None when not found.
pub fn port_holder(port: u16) -> Option<(u32, String)> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| Path::new(w) == target))
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|_| "?".into());
            return Some((pid, name));
        }
    }
    None
}

/// The inodes of the sockets listening (state `0A`) on `port` in a `/proc/net/tcp` table.
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    let hex = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            (local.ends_with(&hex) && cols.get(3) == Some(&"0A"))
                .then(|| cols.get(9).map(|s| s.to_string()))
                .flatten()
        })
        .collect()
}

/// `path` as one word for a POSIX shell: as is when it needs no quoting, else quoted
/// (`bad name!` becomes `'bad name!'`).
pub fn shell_quoted(path: &Path) -> String {
    let text = path.to_string_lossy();
    shlex::try_quote(&text)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_completed_as_a_person_means_them() {
        for (addr, port, want) in [
            (None, None, "127.0.0.1:8000"),
            (None, Some(8080), "127.0.0.1:8080"),
            (Some("8080"), None, "127.0.0.1:8080"),
            (Some("0"), None, "127.0.0.1:0"),
            (Some("0.0.0.0"), None, "0.0.0.0:8000"),
            (Some("0.0.0.0"), Some(9000), "0.0.0.0:9000"),
            (Some("localhost:9000"), None, "localhost:9000"),
            (Some("localhost:9000"), Some(9000), "localhost:9000"),
            (Some("::1"), None, "[::1]:8000"),
            (Some("[::1]"), Some(1), "[::1]:1"),
            (Some("[::1]:8080"), None, "[::1]:8080"),
            (Some("example.org"), None, "example.org:8000"),
        ] {
            assert_eq!(
                listen_addr(addr, port).as_deref(),
                Ok(want),
                "{addr:?} {port:?}"
            );
        }
    }

    #[test]
    fn bad_addresses_say_what_an_address_looks_like() {
        for addr in ["", "a b", "1.2.3.4:x", "[::1", "[zz]:80", "host:"] {
            let e = listen_addr(Some(addr), None).unwrap_err();
            assert!(e.contains("is not an address to listen on"), "{addr}: {e}");
            assert!(e.contains("--port 8080"), "{e}");
        }
        let e = listen_addr(Some("70000"), None).unwrap_err();
        assert_eq!(
            e,
            "70000 is not a port: ports go from 1 to 65535 (0 picks a free one)"
        );
        let e = listen_addr(Some("127.0.0.1:8080"), Some(9090)).unwrap_err();
        assert_eq!(
            e,
            "--addr 127.0.0.1:8080 names port 8080 and --port 9090: give the port once"
        );
    }

    #[test]
    fn failures_to_listen_are_said_in_words() {
        let e = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(
            bind_error("0.0.0.0:80", &e),
            "cannot serve on 0.0.0.0:80: ports below 1024 need administrator rights\n  \
             = help: serve on a port from 1024 up, e.g. `--port 8000`, behind a proxy"
        );
        let e = io::Error::from(io::ErrorKind::AddrNotAvailable);
        assert!(bind_error("10.9.9.9:8000", &e).contains("this machine has no such address"));
        // A label over 63 characters cannot be asked of DNS: refused here, with no query sent.
        let host = format!("{}.example", "x".repeat(64));
        let e = resolvable(&format!("{host}:8000")).unwrap_err();
        assert!(
            e.contains(&format!("the host `{host}` is not known here")),
            "{e}"
        );
        assert_eq!(resolvable("localhost:8000"), Ok(()));
    }

    #[test]
    fn listening_sockets_are_found_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n   \
            1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 8080), vec!["4242".to_string()]);
        assert!(listening_inodes(table, 8000).is_empty());
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quoted(Path::new("mysite")), "mysite");
        assert_eq!(
            shell_quoted(Path::new("sites/my-site_2")),
            "sites/my-site_2"
        );
        assert_eq!(shell_quoted(Path::new("bad name!")), "'bad name!'");
        assert_eq!(shell_quoted(Path::new("it's")), r#""it's""#);
    }
}
