//! `trellis check --deploy`: what a site that loads may still lack on the open internet, as
//! Django's `check --deploy` says it of a project. Each warning has a stable id
//! (`security.W001`) and a hint; none stops the site from loading or serving. It reads the
//! compiled `Site` and, for the static folder, the files in it: nothing is written.

use std::path::{Path, PathBuf};

use crate::Site;

/// One thing a production site should have, or should not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `security.W001`: the same finding always has the same id.
    pub id: &'static str,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "warning[{}]: {}", self.id, self.message)?;
        writeln!(f, "  = help: {}", self.hint)
    }
}

fn warn(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Warning {
    Warning {
        id,
        message: message.into(),
        hint: hint.into(),
    }
}

/// Every warning for `site`, in id order.
pub fn check(site: &Site) -> Vec<Warning> {
    let mut out = Vec::new();
    hosts(site, &mut out);
    https(site, &mut out);
    headers(site, &mut out);
    static_folder(site, &mut out);
    out
}

fn hosts(site: &Site, out: &mut Vec<Warning>) {
    match &site.allowed_hosts {
        None => out.push(warn(
            "security.W001",
            "`site.allowed_hosts` is not set",
            "list the names the site is served under, e.g. `allowed_hosts: [example.org, \
             www.example.org]`, so that a request for another Host gets a 400",
        )),
        Some(hosts) if hosts.iter().any(|h| h == "*") => out.push(warn(
            "security.W002",
            "`site.allowed_hosts` contains `*`: any Host is answered",
            "list the names the site is served under instead of `*`",
        )),
        Some(_) => {}
    }
}

fn https(site: &Site, out: &mut Vec<Warning>) {
    if !site.security.hsts() {
        out.push(warn(
            "security.W003",
            "`site.security.hsts` is not set: browsers may keep using plain HTTP",
            "serve the site over HTTPS and set `security: { hsts: { max_age: 31536000 } }` \
             (start with a few minutes' max_age and raise it once HTTPS works everywhere)",
        ));
    }
    if site.security.hsts() && !site.proxy.reads_scheme() {
        out.push(warn(
            "security.W010",
            "`site.security.hsts` is set but `site.proxy.scheme_header` is not: `trellis serve` \
             speaks plain HTTP, so no request is secure and HSTS is never sent",
            "put a proxy that terminates HTTPS in front, have it set a header, and name it: \
             `proxy: { scheme_header: { name: X-Forwarded-Proto, value: https } }` (see the \
             book's deploy page)",
        ));
    }
    if site.proxy.trusts_everyone() {
        out.push(warn(
            "security.W011",
            "`site.proxy.trusted` holds every address: any client can claim HTTPS, or another \
             address or host, with a forwarded header",
            "list only your proxies' addresses (the default is the loopback ones, for a proxy \
             on the same machine)",
        ));
    }
    let plain = site.settings.csrf_trusted.plain_http();
    if !plain.is_empty() {
        out.push(warn(
            "security.W012",
            format!(
                "`site.security.csrf_trusted_origins` trusts {}: a page served over plain HTTP, \
                 which anyone on its network path can change, may send the site's forms",
                plain.join(", ")
            ),
            "trust only https:// origins on a public site",
        ));
    }
    if let Some(url) = site.settings.base_url() {
        if url.starts_with("http://") {
            out.push(warn(
                "security.W004",
                format!("`site.base_url` is {url:?}: feeds and sitemaps link over plain HTTP"),
                "write the site's address with https://",
            ));
        }
    }
}

fn headers(site: &Site, out: &mut Vec<Warning>) {
    let header = |name: &str| {
        site.security
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let csp = header("Content-Security-Policy");
    if csp.is_none() {
        out.push(warn(
            "security.W005",
            "`site.security.content_security_policy` is not set",
            "a policy limits what an injected script could do; start from \
             `content_security_policy: \"default-src 'self'\"` and open what the pages need",
        ));
    }
    if site.security.frameable() {
        out.push(warn(
            "security.W006",
            "`site.security.frame_options` is off and the policy has no `frame-ancestors`: \
             any site can show these pages in a frame (clickjacking)",
            "leave `frame_options` at DENY (or SAMEORIGIN), or add `frame-ancestors 'self'` to \
             the content security policy",
        ));
    }
}

/// How many entries of the static folder are looked at, at most.
const MAX_ENTRIES: usize = 20_000;

fn static_folder(site: &Site, out: &mut Vec<Warning>) {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let static_dir = canonical(&site.static_dir);
    let shown = |p: &Path| {
        p.strip_prefix(&static_dir)
            .map(|rel| site.static_url.clone() + &rel.to_string_lossy())
            .unwrap_or_else(|_| p.display().to_string())
    };
    // A static folder holding the site folder or the database does not load (`site.rs`), so
    // only the files a user put in it are looked at here.
    let db = site.db.as_ref().map(|db| canonical(&db.path));
    let mut found = Vec::new();
    let mut seen = 0;
    walk(&static_dir, &mut seen, &mut found);
    // The database's own files cannot be in it (see above); left out all the same.
    if let Some(db) = db {
        let db = db.to_string_lossy().into_owned();
        found.retain(|p| !p.to_string_lossy().starts_with(&db));
    }
    if !found.is_empty() {
        let n = found.len();
        let mut list: Vec<String> = found.iter().take(5).map(|p| shown(p)).collect();
        if n > 5 {
            list.push(format!("and {} more", n - 5));
        }
        out.push(warn(
            "security.W009",
            format!(
                "the static folder has {n} file{} that look{} like a secret, a database or a \
                 site source, and anyone can download {}: {}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                if n == 1 { "it" } else { "them" },
                list.join(", ")
            ),
            "move them out of the static folder (keys, databases and site files are never \
             static files)",
        ));
    }
}

/// The files under `dir` whose names look private, depth first. Hidden entries are skipped
/// (they are never served), and so are symbolic links to folders (no loops).
fn walk(dir: &Path, seen: &mut usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        *seen += 1;
        if *seen > MAX_ENTRIES {
            return;
        }
        let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&entry.path(), seen, found);
        } else if looks_private(&name) {
            found.push(entry.path());
        }
    }
}

/// A database, a key or certificate, or a file of the site itself.
fn looks_private(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        ".sqlite3", ".sqlite", ".db", "-wal", "-shm", "-journal", ".key", ".pem", ".p12", ".pfx",
        ".env", ".yaml", ".yml", ".hbs",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || matches!(name, "id_rsa" | "id_ed25519" | "id_ecdsa" | "secrets.json")
}

#[cfg(test)]
mod tests {
    #[test]
    fn private_names() {
        for name in [
            "blog.sqlite3",
            "data.db",
            "blog.sqlite3-wal",
            "server.key",
            "cert.pem",
            "site.yaml",
            "routes.yml",
            "home.hbs",
            "prod.env",
            "id_rsa",
        ] {
            assert!(super::looks_private(name), "{name}");
        }
        for name in ["site.css", "app.js", "logo.png", "keys.html", "db.json"] {
            assert!(!super::looks_private(name), "{name}");
        }
    }
}
