//! The site's secret key (Django's `SECRET_KEY`): from the environment variable
//! `TRELLIS_SECRET_KEY`, else from the key file `.trellis-secret-key` in the database's folder
//! (the site's folder when it has no database), made on first start with 50 random characters
//! and mode 0600. Never from `site.yaml`, which is shared and committed.
//!
//! The file's name starts with a dot, so the watcher ignores it (`reload::ignored` skips hidden
//! files) and the static files never serve it (`statics` refuses hidden names), wherever the
//! database and the static folder are.
//!
//! [`Signer`] signs with it as Django's `django.core.signing.Signer` does (HMAC-SHA256, a salt
//! per purpose): what a visitor keeps for us (the `messages` cookie, `auth::flash`) comes back
//! unchanged or is refused.

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

/// Django's `Signer(key=…, salt=…)`: `value:signature`, the signature an HMAC-SHA256 of the
/// value under the key `sha256(salt + "signer" + secret key)`, in URL-safe base64 without
/// padding. The salt names the purpose, so a value signed for one purpose is refused for
/// another even under the same key. The same key, salt and value give Django's signature.
#[derive(Clone)]
pub struct Signer {
    /// The HMAC key: derived once from the salt and the secret key.
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl Signer {
    pub fn new(secret_key: &str, salt: &str) -> Signer {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(salt.as_bytes());
        h.update(b"signer");
        h.update(secret_key.as_bytes());
        Signer {
            key: h.finalize().into(),
        }
    }

    fn mac(&self, value: &str) -> HmacSha256 {
        use hmac::Mac;
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any size");
        mac.update(value.as_bytes());
        mac
    }

    /// `value:signature` (`value` must not be read as holding a `:` of its own: the last one
    /// separates, as in Django).
    pub fn sign(&self, value: &str) -> String {
        use base64::Engine;
        use hmac::Mac;
        let tag = self.mac(value).finalize().into_bytes();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag);
        format!("{value}:{sig}")
    }

    /// The value of a signed text whose signature is right (checked in constant time), else
    /// `None`: tampered, truncated, signed with another key or for another purpose.
    pub fn unsign<'a>(&self, signed: &'a str) -> Option<&'a str> {
        use base64::Engine;
        use hmac::Mac;
        let (value, sig) = signed.rsplit_once(':')?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .ok()?;
        self.mac(value).verify_slice(&tag).ok()?;
        Some(value)
    }

    /// Django's `sign_object` (uncompressed): compact JSON, URL-safe base64, signed.
    pub fn sign_json<T: serde::Serialize>(&self, value: &T) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        self.sign(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
    }

    /// Django's `unsign_object`: `None` for a bad signature or what is not the JSON of a `T`.
    pub fn unsign_json<T: serde::de::DeserializeOwned>(&self, signed: &str) -> Option<T> {
        use base64::Engine;
        let b64 = self.unsign(signed)?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signatures Django 5.2 gives for the same key, salt and value
    /// (`Signer(key="k" * 40, salt=…).sign(…)` and `.sign_object(…)`).
    #[test]
    fn signatures_are_djangos_and_a_changed_byte_key_or_salt_is_refused() {
        let key = "k".repeat(40);
        let signer = Signer::new(&key, "trellis.messages");
        assert_eq!(
            signer.sign("hello"),
            "hello:ePAPHb4KAlZSY3FjNrBcDXVvTvmtUyZ9fX6KOnsRJ0g"
        );
        let list = serde_json::json!([{"level": "success", "text": "Thanks, Ann!"}]);
        let signed = signer.sign_json(&list);
        assert_eq!(
            signed,
            "W3sibGV2ZWwiOiJzdWNjZXNzIiwidGV4dCI6IlRoYW5rcywgQW5uISJ9XQ:d_k6T0KTvVOY0fQ6Sw0c2rgnWKyW_s665FIjHaUKHrs"
        );
        assert_eq!(signer.unsign_json::<serde_json::Value>(&signed), Some(list));
        // Another purpose (salt) under the same key: Django's signature, refused here.
        let other = Signer::new(&key, "other");
        let theirs = "W3sibGV2ZWwiOiJzdWNjZXNzIiwidGV4dCI6IlRoYW5rcywgQW5uISJ9XQ:PSl2lksQ2O5Uxwoj8xyRms44tw4y6J71FTTrkTVvAMA";
        assert_eq!(
            other.sign_json(&serde_json::json!([{"level": "success", "text": "Thanks, Ann!"}])),
            theirs
        );
        assert_eq!(signer.unsign(theirs), None);
        // Another key, a changed value, a cut signature, no signature, garbage.
        let other_key = Signer::new(&"j".repeat(40), "trellis.messages");
        let bad = [
            other_key.sign("hello"),
            signer.sign("hello").replace("hello", "hellO"),
            signer.sign("hello")[..20].to_string(),
            "hello".to_string(),
            "hello:".to_string(),
            ":::%%%".to_string(),
        ];
        for b in &bad {
            assert_eq!(signer.unsign(b), None, "{b}");
        }
        assert_eq!(
            signer.unsign_json::<serde_json::Value>(&signer.sign("not base64!")),
            None
        );
    }

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
