//! The site's secret key (Django's `SECRET_KEY`): from the environment variable
//! `TRELLIS_SECRET_KEY`, else from the key file `.trellis-secret-key` in the database's folder
//! (the site's folder when it has no database), made on first start with 50 random characters
//! and mode 0600. Never from `site.yaml`, which is shared and committed.
//!
//! The file's name starts with a dot, so the watcher ignores it (`reload::ignored` skips hidden
//! files) and the static files never serve it (`statics` refuses hidden names), wherever the
//! database and the static folder are.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const ENV: &str = "TRELLIS_SECRET_KEY";
pub const FILE: &str = ".trellis-secret-key";
/// Shorter than this, a key is refused (Django warns under 50 characters).
const MIN_LENGTH: usize = 32;

/// The key, and where it came from (for the startup log).
#[derive(Debug)]
pub struct Secret {
    pub key: String,
    pub from: String,
}

/// The folder the key file belongs in: the database's, else the site's.
pub fn folder(site: &crate::site::Site) -> PathBuf {
    match site.db.as_ref().and_then(|db| db.path.parent()) {
        Some(p) if p.as_os_str().is_empty() => PathBuf::from("."),
        Some(p) => p.to_path_buf(),
        None => site.root.clone(),
    }
}

/// The key from `env` (the variable's value, when set) or the file in `dir`, made when absent.
pub fn load(env: Option<String>, dir: &Path) -> Result<Secret, String> {
    if let Some(key) = env.filter(|k| !k.is_empty()) {
        check_length(&key, ENV)?;
        return Ok(Secret {
            key,
            from: ENV.into(),
        });
    }
    let path = dir.join(FILE);
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = text.trim().to_string();
            check_length(&key, &shown)?;
            refuse_if_shared(&path)?;
            Ok(Secret { key, from: shown })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path).map(|key| Secret {
            key,
            from: format!("{shown} (made now)"),
        }),
        Err(e) => Err(format!("reading the secret key {shown}: {e}")),
    }
}

fn check_length(key: &str, from: &str) -> Result<(), String> {
    if key.chars().count() < MIN_LENGTH {
        return Err(format!(
            "the secret key in {from} is shorter than {MIN_LENGTH} characters; use a long random one (or remove the file and let Trellis make one)"
        ));
    }
    Ok(())
}

/// A key file others may read is refused, as ssh refuses such a private key.
#[cfg(unix)]
fn refuse_if_shared(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the secret key {} can be read by other users (mode {:o}); run: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_if_shared(_: &Path) -> Result<(), String> {
    Ok(())
}

/// Make the key file: created only if absent (two servers starting at once cannot both write
/// it), mode 0600 from the start.
fn create(path: &PathBuf) -> Result<String, String> {
    let key = crate::views::csrf::random_string(50);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(path)
        .and_then(|mut f| f.write_all(format!("{key}\n").as_bytes()).and(f.sync_all()));
    match written {
        Ok(()) => Ok(key),
        // Another process made it first: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(text.trim().to_string())
        }
        Err(e) => Err(format!("making the secret key {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_and_a_short_key_is_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let long = "k".repeat(40);
        let s = load(Some(long.clone()), dir.path()).unwrap();
        assert_eq!((s.key, s.from.as_str()), (long, ENV));
        assert!(
            !dir.path().join(FILE).exists(),
            "no file when the variable is set"
        );
        let e = load(Some("short".into()), dir.path()).unwrap_err();
        assert!(e.contains("shorter than 32"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_made_once_with_mode_0600_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let first = load(None, dir.path()).unwrap();
        assert_eq!(first.key.len(), 50);
        assert!(first.from.ends_with("(made now)"), "{}", first.from);
        let path = dir.path().join(FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load(Some(String::new()), dir.path()).unwrap();
        assert_eq!(again.key, first.key);
        // Readable by others: refused, with the fix.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(None, dir.path()).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
    }
}
