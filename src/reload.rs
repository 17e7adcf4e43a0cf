//! Live reload: `serve` watches the site folder (YAML, templates, static files, fixtures) with
//! `notify`, waits for a burst of events to settle (editors write a file in several steps),
//! builds a whole new `Site`, runs the migrations it needs, and swaps it in atomically. Requests
//! in flight finish on the old site; new ones see the new one. A change that does not load or
//! migrate is printed, and the old site goes on serving until a good save.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::config::diagnostic::format_all;
use crate::server::AppState;
use crate::site::Site;

/// Quiet time that ends a burst of events.
const SETTLE: Duration = Duration::from_millis(80);
/// A burst that goes on longer than this is reloaded anyway.
const MAX_WAIT: Duration = Duration::from_millis(1000);

/// Start watching `root`; reloads happen on a thread of their own. Keep the watcher alive for
/// as long as reloads should happen.
pub fn watch(root: PathBuf, state: Arc<AppState>) -> notify::Result<RecommendedWatcher> {
    let (tx, rx) = channel::<notify::Result<Event>>();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })?;
    watcher.watch(&root, RecursiveMode::Recursive)?;
    // Events name paths as the watch was given, absolutely or through links; hidden parts are
    // looked for below the site folder only, whichever way it is named.
    let mut roots = vec![root.clone()];
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd.join(&root));
    }
    if let Ok(real) = std::fs::canonicalize(&root) {
        roots.push(real);
    }
    std::thread::Builder::new()
        .name("trellis-reload".into())
        .spawn(move || loop {
            let Ok(first) = rx.recv() else { return };
            if !relevant(&first, &state, &roots) {
                continue;
            }
            let start = Instant::now();
            loop {
                match rx.recv_timeout(SETTLE) {
                    Ok(_) if start.elapsed() < MAX_WAIT => continue,
                    Ok(_) | Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            reload(&root, &state, start);
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

/// Does this event change the site? Not reads, not the database's own files, not editors'
/// swap and backup files.
fn relevant(event: &notify::Result<Event>, state: &AppState, roots: &[PathBuf]) -> bool {
    let Ok(event) = event else { return true };
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    let db = state.site.load().db.as_ref().map(|d| d.path.clone());
    event.paths.iter().any(|p| {
        // Below the site folder; a path named some other way is judged by its file name.
        let rel = roots
            .iter()
            .find_map(|r| p.strip_prefix(r).ok())
            .unwrap_or_else(|| p.file_name().map_or(p.as_path(), Path::new));
        !ignored(rel, db.as_deref())
    })
}

/// `path` is relative to the site folder.
fn ignored(path: &Path, db: Option<&Path>) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The database and its companions: `site.sqlite3`, `-wal`, `-shm`, `-journal`.
    if let Some(db_name) = db
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
    {
        let rest = name.strip_prefix(&db_name);
        if matches!(rest, Some("" | "-wal" | "-shm" | "-journal")) {
            return true;
        }
    }
    // Hidden files and folders anywhere in the path (`.git/index`, `.name.swp`), editors'
    // backups and vim's write test.
    let hidden = path.components().any(|c| {
        let part = c.as_os_str().to_string_lossy();
        part.starts_with('.') && part != "." && part != ".."
    });
    hidden
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name == "4913"
}

/// Build, migrate and swap in the site; or report why not and keep the old one.
pub fn reload(root: &Path, state: &AppState, start: Instant) {
    let result = match Site::load(root) {
        Err(diags) => Err(format_all(&diags)),
        Ok(site) => match site.migrate(false) {
            Ok(done) => Ok((site, done)),
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok((site, done)) => {
            for line in done {
                tracing::info!("migrate: {line}");
            }
            let routes = site.router.len();
            state.site.store(Arc::new(site));
            if let Ok(mut e) = state.live.error.lock() {
                *e = None;
            }
            state.live.generation.fetch_add(1, Ordering::SeqCst);
            // Logged last: whoever reads this line finds the new site, and its generation, in place.
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            tracing::info!("reloaded in {ms:.0} ms ({routes} routes)");
        }
        Err(text) => {
            eprint!("{text}");
            if let Ok(mut e) = state.live.error.lock() {
                *e = Some(text);
            }
            state.live.generation.fetch_add(1, Ordering::SeqCst);
            tracing::error!("reload failed; the previous site goes on serving");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ignored;
    use std::path::Path;

    #[test]
    fn what_does_not_reload() {
        let db = Some(Path::new("/x/site"));
        for (path, skip) in [
            ("site", true),
            ("site-wal", true),
            ("site-journal", true),
            ("site.yaml", false),
            ("templates/home.hbs", false),
            (".git/index", true),
            ("templates/.home.hbs.swp", true),
            ("templates/home.hbs~", true),
            ("static/4913", true),
        ] {
            assert_eq!(ignored(Path::new(path), db), skip, "{path}");
        }
    }
}
