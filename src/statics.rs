//! Static files, apart from HTTP: which file a request under `static_url` names (never one
//! outside the static folder, whatever symlinks it holds), when a file read earlier is still
//! the file on disk ([`Stamp`]), and fingerprinted URLs (`site.static_fingerprint`): at load,
//! each file's content hash goes into its URL (`/static/site.3f2a1b9c.css`), which the server
//! maps back to the file and lets browsers keep for a year. The server serves; the renderer's
//! `static` helper asks [`StaticUrls`] for a file's URL.

use std::collections::HashMap;
use std::hash::Hasher;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::routing::quote;

/// How a static file may be kept by a browser.
pub const NO_CACHE: &str = "no-cache";
/// A fingerprinted URL names one content forever.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// What `{{static "path"}}` gives: the prefix and the quoted path, or the fingerprinted path
/// when the site asks for fingerprints and the file exists.
#[derive(Debug, Clone, Default)]
pub struct StaticUrls {
    pub prefix: String,
    /// A file's path in the static folder → the same path with its content hash.
    fingerprinted: Arc<HashMap<String, String>>,
}

impl From<&str> for StaticUrls {
    fn from(prefix: &str) -> StaticUrls {
        StaticUrls {
            prefix: prefix.to_string(),
            fingerprinted: Arc::default(),
        }
    }
}

impl StaticUrls {
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        let path = self.fingerprinted.get(path).map_or(path, String::as_str);
        format!("{}{}", self.prefix, quote(path))
    }
}

/// The site's static folder, as loaded.
#[derive(Debug, Default)]
pub struct StaticFiles {
    /// The folder's real path (links resolved), when it exists: nothing outside it is served.
    pub real: Option<PathBuf>,
    /// Fingerprinted path → the file's path and what it was when hashed.
    by_fingerprint: HashMap<String, (String, Stamp)>,
    pub urls: StaticUrls,
}

/// Why a static path is not served.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// No such file, or not one that may be named (a folder, `..`, a hidden name).
    NotFound,
    /// The path resolves (through a link) to this file outside the static folder.
    Outside(PathBuf),
}

/// A file to serve: its real path and how a browser may keep it.
#[derive(Debug, PartialEq)]
pub struct Found {
    pub path: PathBuf,
    pub cache_control: &'static str,
}

impl StaticFiles {
    /// The folder `dir` with `prefix` as its URL; each file hashed into its URL when
    /// `fingerprint` is on.
    pub fn load(dir: &Path, prefix: &str, fingerprint: bool) -> StaticFiles {
        let real = std::fs::canonicalize(dir).ok().filter(|d| d.is_dir());
        let mut by_fingerprint = HashMap::new();
        let mut fingerprinted = HashMap::new();
        if let (Some(real), true) = (&real, fingerprint) {
            let mut files = Vec::new();
            walk(real, real, &mut files);
            for (rel, path) in files {
                let Some((hash, stamp)) = hash_file(&path) else {
                    continue;
                };
                let name = with_hash(&rel, &hash);
                fingerprinted.insert(rel.clone(), name.clone());
                by_fingerprint.insert(name, (rel, stamp));
            }
        }
        StaticFiles {
            real,
            by_fingerprint,
            urls: StaticUrls {
                prefix: prefix.to_string(),
                fingerprinted: Arc::new(fingerprinted),
            },
        }
    }

    /// Every file the server would answer below `static_url`, as (path below the prefix, the
    /// file): each under its own name, and under its fingerprinted name when it has one.
    /// `trellis build` copies these.
    pub fn files(&self) -> Vec<(String, PathBuf)> {
        let Some(real) = &self.real else {
            return Vec::new();
        };
        let mut files = Vec::new();
        walk(real, real, &mut files);
        let mut out = Vec::with_capacity(files.len());
        for (rel, path) in files {
            if let Some(name) = self.urls.fingerprinted.get(&rel) {
                out.push((name.clone(), path.clone()));
            }
            out.push((rel, path));
        }
        out
    }

    /// The file a (decoded) path below `static_url` names. A fingerprinted path is served
    /// as immutable while the file is still the one hashed; a stale one (the file changed
    /// since) is served as it is now, to be revalidated.
    pub fn find(&self, rest: &str) -> Result<Found, Refused> {
        let Some(real) = &self.real else {
            return Err(Refused::NotFound);
        };
        match inside(real, rest) {
            Ok(path) => Ok(Found {
                path,
                cache_control: NO_CACHE,
            }),
            Err(Refused::NotFound) => {
                let (name, current) = match self.by_fingerprint.get(rest) {
                    Some((name, stamp)) => (name.clone(), Some(stamp)),
                    // An old fingerprint (a page cached before the file changed).
                    None => (without_hash(rest).ok_or(Refused::NotFound)?, None),
                };
                if !self.urls.fingerprinted.contains_key(&name) {
                    return Err(Refused::NotFound);
                }
                let path = inside(real, &name)?;
                let current = current.is_some_and(|stamp| {
                    std::fs::metadata(&path).is_ok_and(|m| Stamp::of(&m) == *stamp)
                });
                Ok(Found {
                    path,
                    cache_control: if current { IMMUTABLE } else { NO_CACHE },
                })
            }
            Err(outside) => Err(outside),
        }
    }
}

/// `rest` in the folder `real`: a plain file whose real path (every link resolved) is inside
/// the folder. A `..`, a `\`, a name starting with `.` or a folder is not found; a link that
/// leads out of the folder is [`Refused::Outside`].
pub fn inside(real: &Path, rest: &str) -> Result<PathBuf, Refused> {
    let rel = Path::new(rest);
    let safe = !rest.is_empty()
        && !rest.contains('\\')
        && !rest.contains('\0')
        && rel.components().all(|c| match c {
            Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
            _ => false,
        });
    if !safe {
        return Err(Refused::NotFound);
    }
    let resolved = std::fs::canonicalize(real.join(rel)).map_err(|_| Refused::NotFound)?;
    if !resolved.starts_with(real) {
        return Err(Refused::Outside(resolved));
    }
    if !resolved.is_file() {
        return Err(Refused::NotFound);
    }
    Ok(resolved)
}

/// What a file is, in the terms a change cannot keep: its size, modification time, and
/// (on Unix) its inode and status-change time, which `cp -p`, `rsync -a`, `tar` and `touch -d`
/// cannot set back. Two reads with the same stamp read the same bytes, unless the file
/// changed within the clock tick that stamped it: see [`Stamp::settled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    changed: (i64, i64),
    inode: (u64, u64),
}

/// A file changed this recently may change again within the same tick of the file system's
/// clock, keeping its stamp: it is not kept in memory until it has been still this long.
const SETTLE: Duration = Duration::from_secs(2);

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let (changed, inode) = {
            use std::os::unix::fs::MetadataExt;
            ((meta.ctime(), meta.ctime_nsec()), (meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let (changed, inode) = ((0, 0), (0, 0));
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed,
            inode,
        }
    }

    /// Whether the file has been still long enough for its stamp to tell a later change.
    pub fn settled(&self) -> bool {
        let newest = if cfg!(unix) {
            let (secs, nanos) = self.changed;
            let at = u64::try_from(secs).ok().map(|s| {
                SystemTime::UNIX_EPOCH + Duration::new(s, u32::try_from(nanos).unwrap_or(0))
            });
            at.max(self.modified)
        } else {
            self.modified
        };
        newest
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age >= SETTLE)
    }
}

/// A short hash of some bytes (16 hex digits), for ETags and fingerprints.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h = siphasher::sip::SipHasher13::new();
    h.write(bytes);
    format!("{:016x}", h.finish())
}

/// The hash (its first 8 hex digits) and stamp of a file, read once.
fn hash_file(path: &Path) -> Option<(String, Stamp)> {
    let before = Stamp::of(&std::fs::metadata(path).ok()?);
    let bytes = std::fs::read(path).ok()?;
    let mut hash = content_hash(&bytes);
    hash.truncate(8);
    Some((hash, before))
}

/// `css/site.css` with hash `3f2a1b9c` → `css/site.3f2a1b9c.css` (`LICENSE` → `LICENSE.3f2a1b9c`).
fn with_hash(rel: &str, hash: &str) -> String {
    let (dir, name) = rel.rsplit_once('/').map_or(("", rel), |(d, n)| (d, n));
    let name = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem}.{hash}.{ext}"),
        _ => format!("{name}.{hash}"),
    };
    if dir.is_empty() {
        name
    } else {
        format!("{dir}/{name}")
    }
}

/// `css/site.3f2a1b9c.css` → `css/site.css`: the path without an 8-hex-digit fingerprint.
fn without_hash(name: &str) -> Option<String> {
    let (dir, file) = name.rsplit_once('/').map_or(("", name), |(d, f)| (d, f));
    let parts: Vec<&str> = file.split('.').collect();
    let hashed = |p: &&str| p.len() == 8 && p.chars().all(|c| c.is_ascii_hexdigit());
    let at = match parts.len() {
        0 | 1 => return None,
        2 if hashed(&parts[1]) => 1,
        n if n >= 3 && hashed(&parts[n - 2]) => n - 2,
        _ => return None,
    };
    let mut kept = parts.clone();
    kept.remove(at);
    let file = kept.join(".");
    Some(if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    })
}

/// Every file a request may name below `real` (hidden names and links out of it skipped), as
/// `/`-separated relative paths.
fn walk(real: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(real) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if path.is_dir() && !path.is_symlink() {
            walk(real, &path, out);
        } else if let Ok(file) = inside(real, &rel) {
            out.push((rel, file));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_goes_before_the_extension() {
        for (rel, name) in [
            ("site.css", "site.0123abcd.css"),
            ("css/site.min.css", "css/site.min.0123abcd.css"),
            ("LICENSE", "LICENSE.0123abcd"),
            ("img/.hidden", "img/.hidden.0123abcd"),
        ] {
            assert_eq!(with_hash(rel, "0123abcd"), name, "{rel}");
        }
    }

    #[test]
    fn an_old_fingerprint_names_the_file() {
        for (name, file) in [
            ("site.0123abcd.css", Some("site.css")),
            ("css/site.min.0123abcd.css", Some("css/site.min.css")),
            ("LICENSE.0123abcd", Some("LICENSE")),
            ("site.css", None),
            ("site.0123abcg.css", None),
        ] {
            assert_eq!(without_hash(name).as_deref(), file, "{name}");
        }
    }

    #[test]
    fn nothing_outside_the_folder_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("static/sub")).unwrap();
        std::fs::write(root.join("static/a.css"), "a").unwrap();
        std::fs::write(root.join("static/sub/b.txt"), "b").unwrap();
        std::fs::write(root.join("secret"), "s").unwrap();
        let real = root.join("static");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("..", real.join("up")).unwrap();
            std::os::unix::fs::symlink("a.css", real.join("alias.css")).unwrap();
        }
        assert_eq!(inside(&real, "a.css"), Ok(real.join("a.css")));
        assert_eq!(inside(&real, "sub/b.txt"), Ok(real.join("sub/b.txt")));
        for rest in [
            "",
            "sub",
            "../secret",
            "sub/../../secret",
            ".hidden",
            "a\\b",
            "/etc/passwd",
        ] {
            assert_eq!(inside(&real, rest), Err(Refused::NotFound), "{rest}");
        }
        #[cfg(unix)]
        {
            assert_eq!(inside(&real, "alias.css"), Ok(real.join("a.css")));
            assert_eq!(
                inside(&real, "up/secret"),
                Err(Refused::Outside(root.join("secret")))
            );
        }
    }
}
