//! Files of a build: which file a URL becomes (as static hosts look them up), writing a file
//! without touching one that has not changed, and putting a finished build in the place of
//! the previous one.
//!
//! A build is written into a sibling folder of the output, and only once every page is
//! written and every link checked does anything move into the output: the whole folder, for a
//! first build; over a previous build, only the files whose bytes changed (each by a rename,
//! so no file is ever half-written), then the previous build's files this one lacks are
//! removed. An unchanged file is not touched (its modification time kept, so `rsync` and
//! upload tools see nothing to send); a failed build changes nothing.

use std::io;
use std::path::{Path, PathBuf};

/// The file that marks a folder as a build's, listing the files it holds, one a line.
pub const MANIFEST: &str = ".trellis-build";
const MANIFEST_HEAD: &str =
    "# Written by `trellis build`; the next build replaces this folder whole.\n";

/// The file (relative to the build) that a static host answers the URL path `path` (decoded)
/// with, and a warning when hosts will not find it or give it another type:
///
/// - `/a/b/` → `a/b/index.html` (a folder's index; another type gets `index.json`, …, which
///   a host must be told to look for);
/// - `/a/b.xml` → `a/b.xml` (a name with an extension: the host types it by the extension);
/// - `/a/b`, HTML → `a/b/index.html` (hosts answer `/a/b` with a redirect to `/a/b/`).
pub fn file_for(path: &str, content_type: &str) -> Result<(String, Option<String>), String> {
    let rel = path
        .strip_prefix('/')
        .ok_or_else(|| format!("{path:?} does not start with `/`"))?;
    let bad = rel.contains('\\')
        || rel.contains('\0')
        || rel.split('/').any(|s| s == "." || s == "..")
        || rel.contains("//")
        || rel.split('/').any(|s| s == MANIFEST);
    if bad {
        return Err(format!("{path:?} cannot be a file's path"));
    }
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let html = mime == "text/html";
    if rel.is_empty() || rel.ends_with('/') {
        if html {
            return Ok((format!("{rel}index.html"), None));
        }
        let ext = extension(&mime).unwrap_or("html");
        let warning = format!(
            "{path} ({mime}) is written as {rel}index.{ext}: most static hosts look only for \
             index.html in a folder; give the route a path with an extension, such as {}.{ext}",
            path.trim_end_matches('/')
        );
        return Ok((format!("{rel}index.{ext}"), Some(warning)));
    }
    let last = rel.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return Ok((rel.to_string(), None));
    }
    if html {
        return Ok((format!("{rel}/index.html"), None));
    }
    let warning = format!(
        "{path} ({mime}) has no extension: static hosts will not know its type; give the \
         route a path with one"
    );
    Ok((rel.to_string(), Some(warning)))
}

fn extension(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "application/json" => "json",
        "application/xml" | "text/xml" | "application/atom+xml" | "application/rss+xml" => "xml",
        "text/plain" => "txt",
        "text/css" => "css",
        "text/javascript" | "application/javascript" => "js",
        _ => return None,
    })
}

/// Where a build is written. Into a new `out`: a sibling folder, renamed into place when the
/// build is complete. Over a previous build: only the files whose bytes changed are written,
/// into the sibling folder, and moved into `out` (a rename each) when the build is complete;
/// unchanged files are not touched, and the previous build's files that this one lacks are
/// removed then.
pub struct Writer {
    pub tmp: PathBuf,
    out: PathBuf,
    /// Whether `out` holds a previous build (which is then updated in place).
    previous: bool,
    /// The files written into `tmp`, to move into `out`.
    staged: std::sync::Mutex<Vec<String>>,
}

impl Writer {
    /// A new, empty folder beside `out`.
    pub fn new(out: &Path) -> io::Result<Writer> {
        let tmp = sibling(out, "tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(Writer {
            tmp,
            out: out.to_path_buf(),
            previous: out.join(MANIFEST).is_file(),
            staged: std::sync::Mutex::default(),
        })
    }

    /// Write `bytes` as `rel`; `false` when the previous build holds the same bytes there,
    /// which are then left as they are (their modification time kept).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> io::Result<bool> {
        if self.previous {
            let prev = self.out.join(rel);
            let same = std::fs::metadata(&prev)
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
                && std::fs::read(&prev).is_ok_and(|old| old == bytes);
            if same {
                return Ok(false);
            }
        }
        let dest = self.tmp.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dest, bytes)?;
        self.staged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rel.to_string());
        Ok(true)
    }

    /// The manifest: every file of the build, sorted.
    pub fn manifest(&self, files: &[String]) -> io::Result<bool> {
        let mut text = String::from(MANIFEST_HEAD);
        for f in files {
            text.push_str(f);
            text.push('\n');
        }
        self.write(MANIFEST, text.as_bytes())
    }

    /// Put the finished build at `out`, whose files are `files`: a new folder renamed into
    /// place; or over a previous build, each changed file renamed into place, then the
    /// previous build's files that are not in `files` removed (and folders left empty).
    pub fn finish(self, files: &[String]) -> io::Result<()> {
        if !self.previous {
            if self.out.exists() {
                // An empty folder (checked): replaced.
                std::fs::remove_dir(&self.out)?;
            }
            return std::fs::rename(&self.tmp, &self.out);
        }
        let old = std::fs::read_to_string(self.out.join(MANIFEST)).unwrap_or_default();
        let keep: std::collections::HashSet<&str> = files.iter().map(String::as_str).collect();
        let stale: Vec<&str> = old
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty() && !keep.contains(l))
            .collect();
        for rel in &stale {
            let _ = std::fs::remove_file(self.out.join(rel));
        }
        let mut staged = self.staged.into_inner().unwrap_or_else(|e| e.into_inner());
        // The manifest last: until it is in place, the folder says it holds the last build.
        staged.sort_by_key(|rel| rel == MANIFEST);
        for rel in &staged {
            let dest = self.out.join(rel);
            make_parent(&self.out, &dest)?;
            if dest.is_dir() {
                std::fs::remove_dir_all(&dest)?;
            }
            std::fs::rename(self.tmp.join(rel), &dest)?;
        }
        for rel in &stale {
            remove_empty_parents(&self.out, &self.out.join(rel));
        }
        std::fs::remove_dir_all(&self.tmp)
    }

    /// A failed build: its folder removed, the previous build left as it was.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// The folder `dest` goes in, made; a file of the previous build where a folder must now be
/// (a URL that became a prefix of others) is removed.
fn make_parent(out: &Path, dest: &Path) -> io::Result<()> {
    let Some(parent) = dest.parent() else {
        return Ok(());
    };
    if std::fs::create_dir_all(parent).is_ok() {
        return Ok(());
    }
    let mut p = parent;
    while p.starts_with(out) && p != out {
        if p.is_file() {
            std::fs::remove_file(p)?;
            break;
        }
        p = p.parent().unwrap_or(out);
    }
    std::fs::create_dir_all(parent)
}

/// Remove the folders of `file` that are left empty, up to `out`.
fn remove_empty_parents(out: &Path, file: &Path) {
    let mut p = file.parent();
    while let Some(dir) = p.filter(|d| d.starts_with(out) && *d != out) {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
        p = dir.parent();
    }
}

/// `.NAME.KIND-PID` beside `out` (hidden, so a host serving the parent folder shows none).
fn sibling(out: &Path, kind: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "build".into());
    out.with_file_name(format!(".{name}.{kind}-{}", std::process::id()))
}

/// Refuse an output folder that a build must not replace: the site's folder or one holding
/// it, the static folder or one inside it, or a folder with files that no build wrote.
pub fn check_out(out: &Path, site_root: &Path, static_dir: Option<&Path>) -> Result<(), String> {
    let shown = out.display();
    let absolute = |p: &Path| -> PathBuf {
        let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        // The real path of the longest part that exists, so links and `..` compare rightly.
        let mut existing = p.as_path();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => break,
            }
        }
        let mut real = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.into());
        real.extend(rest.iter().rev());
        real
    };
    let out_abs = absolute(out);
    let root = absolute(site_root);
    if out_abs.parent().is_none() {
        return Err(format!("{shown} is a file system's root"));
    }
    if root.starts_with(&out_abs) {
        return Err(format!(
            "{shown} holds the site itself; write the build to a folder of its own"
        ));
    }
    if let Some(s) = static_dir.map(absolute) {
        if out_abs.starts_with(&s) {
            return Err(format!(
                "{shown} is inside the static folder, whose files the build copies"
            ));
        }
    }
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(format!("{shown} is a file, not a folder"));
    }
    let mut entries = std::fs::read_dir(out).map_err(|e| format!("{shown}: {e}"))?;
    let empty = entries.next().is_none();
    if !empty && !out.join(MANIFEST).is_file() {
        return Err(format!(
            "{shown} holds files that `trellis build` did not write (it has no {MANIFEST}); \
             a build replaces its folder whole, so give it an empty or new one"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_the_file_a_static_host_looks_for() {
        let html = "text/html; charset=utf-8";
        for (path, ty, file, warned) in [
            ("/", html, "index.html", false),
            ("/blog/", html, "blog/index.html", false),
            ("/blog/page/2/", html, "blog/page/2/index.html", false),
            (
                "/robots.txt",
                "text/plain; charset=utf-8",
                "robots.txt",
                false,
            ),
            (
                "/blog/feed.xml",
                "application/atom+xml",
                "blog/feed.xml",
                false,
            ),
            (
                "/api/posts/3.json",
                "application/json",
                "api/posts/3.json",
                false,
            ),
            ("/about", html, "about/index.html", false),
            ("/a b/", html, "a b/index.html", false),
            (
                "/api/posts/",
                "application/json",
                "api/posts/index.json",
                true,
            ),
            ("/feed/", "application/atom+xml", "feed/index.xml", true),
            ("/data", "application/json", "data", true),
        ] {
            let (f, warning) = file_for(path, ty).unwrap();
            assert_eq!(f, file, "{path}");
            assert_eq!(warning.is_some(), warned, "{path}: {warning:?}");
        }
        for bad in [
            "/../x",
            "/a/../b/",
            "/a//b",
            "/.trellis-build",
            "x",
            "/a\\b",
        ] {
            assert!(file_for(bad, html).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unchanged_file_is_not_touched_and_a_finished_build_replaces_the_last() {
        let dir = std::env::temp_dir().join(format!("trellis-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let build = |pages: &[(&str, &[u8])]| -> Vec<bool> {
            let w = Writer::new(&out).unwrap();
            let changed = pages
                .iter()
                .map(|(rel, b)| w.write(rel, b).unwrap())
                .collect();
            let mut names: Vec<String> = pages.iter().map(|(rel, _)| rel.to_string()).collect();
            names.push(MANIFEST.into());
            w.manifest(&names).unwrap();
            w.finish(&names).unwrap();
            changed
        };
        assert_eq!(
            build(&[
                ("a/index.html", b"one"),
                ("b.txt", b"two"),
                ("c/d/e.txt", b"3")
            ]),
            [true, true, true]
        );
        let old = std::fs::metadata(out.join("a/index.html")).unwrap();
        std::fs::write(out.join("mine.txt"), "not the build's").unwrap();

        assert_eq!(
            build(&[("a/index.html", b"one"), ("b.txt", b"changed")]),
            [false, true]
        );
        let new = std::fs::metadata(out.join("a/index.html")).unwrap();
        assert_eq!(new.modified().unwrap(), old.modified().unwrap());
        assert_eq!(
            std::fs::read_to_string(out.join("b.txt")).unwrap(),
            "changed"
        );
        assert!(
            !out.join("c").exists(),
            "a file the build no longer has, and its folders"
        );
        assert!(
            out.join("mine.txt").exists(),
            "a file no build wrote is left"
        );
        // A file that becomes a folder.
        assert_eq!(build(&[("b.txt/index.html", b"x")]), [true]);
        assert!(out.join("b.txt/index.html").is_file());
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the build is left: {leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_no_build_wrote_is_not_replaced() {
        let dir = std::env::temp_dir().join(format!("trellis-out-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let site = dir.join("site");
        std::fs::create_dir_all(site.join("static")).unwrap();
        let mine = dir.join("mine");
        std::fs::create_dir_all(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
        let static_dir = site.join("static");
        let check = |out: &Path| check_out(out, &site, Some(&static_dir));
        assert!(check(&dir.join("new")).is_ok());
        assert!(check(&mine).unwrap_err().contains("did not write"));
        assert!(check(&dir).unwrap_err().contains("holds the site"));
        assert!(check(&site).unwrap_err().contains("holds the site"));
        assert!(check(&site.join("static/out"))
            .unwrap_err()
            .contains("static folder"));
        std::fs::write(mine.join(MANIFEST), MANIFEST_HEAD).unwrap();
        assert!(check(&mine).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
