//! Live reload: `serve` watches the site folder (YAML, templates, static files, fixtures) with
//! `notify`, waits for a burst of events to settle (editors write a file in several steps),
//! builds a whole new `Site`, runs the migrations it needs, and swaps it in atomically. Requests
//! in flight finish on the old site; new ones see the new one. A change that does not load or
//! migrate is printed, and the old site goes on serving until a good save.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::cli::shell_quoted;
use crate::config::diagnostic::{count, format_all};
use crate::site::{MigrateError, Migrated, Site};

/// What a reload replaces, and what the server reads on every request: the current site and
/// the live-reload state. The server holds it; this module swaps it and knows nothing of HTTP.
pub struct Current {
    pub site: ArcSwap<Site>,
    pub live: Live,
}

impl Current {
    pub fn new(site: Site, live: bool) -> Current {
        Current {
            site: ArcSwap::from_pointee(site),
            live: Live {
                enabled: live,
                generation: AtomicU64::new(0),
                error: Mutex::new(None),
            },
        }
    }
}

/// Browser live reload (`serve --live`): HTML pages get a small script that asks
/// `/__trellis/live` for the site's generation and reloads the page when it changes; while the
/// last reload failed, pages show its error over the (previous) site.
pub struct Live {
    pub enabled: bool,
    /// Bumped by every reload, good or bad.
    pub generation: AtomicU64,
    /// The last reload's error, while it has not been fixed.
    pub error: Mutex<Option<String>>,
}

/// The path the live-reload script polls.
pub const LIVE_PATH: &str = "/__trellis/live";

impl Live {
    /// Add the script (and the error, if any) to an HTML page.
    pub fn inject(&self, body: &mut String) {
        let generation = self.generation.load(Ordering::SeqCst).to_string();
        let mut html = String::new();
        if let Some(error) = self.error.lock().ok().and_then(|e| e.clone()) {
            html.push_str(ERROR_BOX_START);
            html.push_str(&crate::views::html_escape(&error));
            html.push_str("</div><script>");
            html.push_str(&ERROR_BOX_SCRIPT.replace("GENERATION", &generation));
            html.push_str("</script>");
        }
        html.push_str("<script>");
        html.push_str(
            &LIVE_SCRIPT
                .replace("GENERATION", &generation)
                .replace("LIVE_PATH", LIVE_PATH),
        );
        html.push_str("</script>");
        match body.rfind("</body>") {
            Some(i) => body.insert_str(i, &html),
            None => body.push_str(&html),
        }
    }
}

/// The box that shows the last reload's error: a panel along the bottom of the window (the
/// page gets as much room below its content, so nothing of it stays hidden, and its navigation
/// at the top is never covered), with a button to dismiss it (Escape too).
const ERROR_BOX_START: &str = "<div id=\"trellis-error\" role=\"alert\" style=\"position:fixed;bottom:0;left:0;right:0;max-height:40vh;overflow:auto;box-sizing:border-box;margin:0;padding:.8em 1em;background:#fff4f4;color:#8a1111;border-top:3px solid #c00;box-shadow:0 -2px 8px rgba(0,0,0,.15);font:13px/1.4 ui-monospace,monospace;text-align:left;white-space:pre-wrap;z-index:2147483647\"><button type=\"button\" id=\"trellis-error-close\" title=\"Dismiss (Escape)\" aria-label=\"Dismiss this message\" style=\"float:right;margin:0 0 .5em 1em;padding:.2em .7em;font:inherit;font-weight:bold;color:#8a1111;background:#fff;border:1px solid #c00;border-radius:3px;cursor:pointer\">Dismiss</button><strong>The last change did not load; the previous version is shown.</strong>\n\n";

/// Makes room for the error box and dismisses it, by its button or Escape; a dismissed error
/// stays hidden on the tab's other pages until the next reload.
const ERROR_BOX_SCRIPT: &str = r#"(function(){var g="GENERATION",k="trellis-dismissed",b=document.getElementById("trellis-error");if(!b){return}var seen=null;try{seen=sessionStorage.getItem(k)}catch(e){}if(seen===g){b.remove();return}var fit=function(){document.body.style.paddingBottom=b.offsetHeight+"px"};var esc=function(e){if(e.key==="Escape"){close()}};var close=function(){b.remove();document.body.style.paddingBottom="";window.removeEventListener("resize",fit);document.removeEventListener("keydown",esc);try{sessionStorage.setItem(k,g)}catch(e){}};fit();window.addEventListener("resize",fit);document.getElementById("trellis-error-close").addEventListener("click",close);document.addEventListener("keydown",esc)})();"#;

/// Asks `LIVE_PATH` for the site's generation and reloads the page when it moves.
const LIVE_SCRIPT: &str = r#"(function(){var g=GENERATION;function p(){fetch("LIVE_PATH",{cache:"no-store"}).then(function(r){return r.json()}).then(function(d){if(d.generation!==g){location.reload()}else{setTimeout(p,500)}}).catch(function(){setTimeout(p,2000)})}setTimeout(p,500)})();"#;

/// Quiet time that ends a burst of events.
const SETTLE: Duration = Duration::from_millis(80);
/// A burst that goes on longer than this is reloaded anyway.
const MAX_WAIT: Duration = Duration::from_millis(1000);
/// How often a refused migration's database is asked whether it changed (one `PRAGMA` and
/// one `stat`).
const DB_POLL: Duration = Duration::from_millis(250);

/// Start watching `root`; reloads happen on a thread of their own. Keep the watcher alive for
/// as long as reloads should happen.
pub fn watch(root: PathBuf, state: Arc<Current>) -> notify::Result<RecommendedWatcher> {
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
        .spawn(move || {
            // A site whose migration was refused, waiting for the database to change.
            let mut pending: Option<Pending> = None;
            loop {
                // Asked on time even while events come (the database's own files send some).
                if let Some(p) = pending.as_mut().filter(|p| p.asked.elapsed() >= DB_POLL) {
                    p.asked = Instant::now();
                    if p.changes.moved() {
                        pending = pending.take().and_then(|p| p.retry(&state));
                        continue;
                    }
                }
                let first = match &pending {
                    None => match rx.recv() {
                        Ok(event) => event,
                        Err(_) => return,
                    },
                    Some(p) => match rx.recv_timeout(DB_POLL.saturating_sub(p.asked.elapsed())) {
                        Ok(event) => event,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return,
                    },
                };
                if let Some((start, changed)) = settle(first, &rx, &state, &roots) {
                    pending = reload(&root, &state, start, &changed);
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

/// After an event that changes the site, the rest of its burst: when it began and the paths
/// its events named; `None` for an event that changes nothing of the site.
fn settle(
    first: notify::Result<Event>,
    rx: &Receiver<notify::Result<Event>>,
    state: &Current,
    roots: &[PathBuf],
) -> Option<(Instant, Vec<PathBuf>)> {
    if !relevant(&first, state, roots) {
        return None;
    }
    let start = Instant::now();
    let mut changed = paths(first);
    while let Ok(event) = rx.recv_timeout(SETTLE) {
        changed.extend(paths(event));
        if start.elapsed() >= MAX_WAIT {
            break;
        }
    }
    Some((start, changed))
}

/// The paths an event names.
fn paths(event: notify::Result<Event>) -> Vec<PathBuf> {
    event.map(|e| e.paths).unwrap_or_default()
}

/// Does this event change the site? Only a change to one of its inputs does: a YAML file
/// anywhere in the site folder, or a file of its templates, static files, collections or
/// fixtures (`Site::inputs`); and not reads, not the database's own files, not editors' swap
/// and backup files. So the server's own log, written into the site folder, does not reload it.
fn relevant(event: &notify::Result<Event>, state: &Current, roots: &[PathBuf]) -> bool {
    let Ok(event) = event else { return true };
    if matches!(event.kind, EventKind::Access(_)) {
        return false;
    }
    let site = state.site.load();
    let db = site.db.as_ref().map(|d| d.path.clone());
    event.paths.iter().any(|p| {
        // Below the site folder; a path named some other way is judged by its file name.
        match roots.iter().find_map(|r| p.strip_prefix(r).ok()) {
            Some(rel) => !ignored(rel, db.as_deref()) && is_input(rel, &site.inputs),
            None => !ignored(p.file_name().map_or(p.as_path(), Path::new), db.as_deref()),
        }
    })
}

/// Whether `path` (relative to the site folder) is a YAML file or lies in one of `inputs`.
fn is_input(path: &Path, inputs: &[PathBuf]) -> bool {
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    yaml || inputs
        .iter()
        .any(|i| !i.as_os_str().is_empty() && path.starts_with(i))
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

/// Build, migrate and swap in the site; or report why not and keep the old one. `changed`
/// are the paths the events named (for saying which saved fixtures were not loaded). A site
/// that loads but whose migration is refused is returned, to be migrated again when the
/// database changes.
pub fn reload(
    root: &Path,
    state: &Current,
    start: Instant,
    changed: &[PathBuf],
) -> Option<Pending> {
    let previous = state.site.load_full();
    let loaded = Site::load_after(root, Some(&previous));
    drop(previous);
    match loaded {
        Err(diags) => {
            failed(state, format_all(&diags));
            None
        }
        Ok(site) => migrate_and_swap(state, site, start, changed),
    }
}

/// A site that loaded but whose migration was refused (or found the database locked past
/// [`LOCK_GIVE_UP`]): another process may make way for it (`trellis migrate
/// --allow-destructive`), so it is migrated again each time the database changes, until a
/// save replaces it.
pub struct Pending {
    site: Site,
    changes: crate::db::Changes,
    /// When `changes` was last asked.
    asked: Instant,
    /// The error last reported, so that an attempt failing the same way says nothing new.
    error: String,
}

impl Pending {
    /// The database changed: migrate again. Still refused: the next attempt, if any.
    fn retry(self, state: &Current) -> Option<Pending> {
        let start = Instant::now();
        match migrate_retrying(&self.site) {
            Ok(migrated) => {
                tracing::info!(
                    "the database changed, and the last reload's migration now goes through"
                );
                swap(state, self.site, migrated, start, &[]);
                None
            }
            Err(e) if e.to_string() == self.error => {
                tracing::debug!("the database changed; the migration is still refused");
                Some(self)
            }
            Err(e) => {
                let error = e.to_string();
                failed(state, error.clone());
                Some(Pending { error, ..self })
            }
        }
    }
}

/// Migrate a site that loaded, and swap it in; or report why not. The database is watched
/// from before the attempt, so a change made while it runs is not missed.
fn migrate_and_swap(
    state: &Current,
    site: Site,
    start: Instant,
    changed: &[PathBuf],
) -> Option<Pending> {
    let watch = || {
        site.db
            .as_ref()
            .and_then(|db| crate::db::Changes::open(&db.path).ok())
    };
    let changes = watch();
    let e = match migrate_retrying(&site) {
        Ok(migrated) => {
            swap(state, site, migrated, start, changed);
            return None;
        }
        Err(e) => e,
    };
    let error = e.to_string();
    failed(state, error.clone());
    if !matches!(e, MigrateError::Refused(_) | MigrateError::Busy(_)) {
        return None;
    }
    // A database the failed attempt made: watched from now on.
    let changes = changes.or_else(watch)?;
    Some(Pending {
        site,
        changes,
        asked: Instant::now(),
        error,
    })
}

/// Put a migrated site in place, and say so.
fn swap(state: &Current, site: Site, migrated: Migrated, start: Instant, changed: &[PathBuf]) {
    for line in &migrated.done {
        tracing::info!("migrate: {line}");
    }
    for w in &site.warnings {
        let mut w = w.clone();
        w.file = crate::config::diagnostic::short_path(&w.file);
        tracing::warn!("{}", w.headline());
    }
    let routes = site.router.len();
    let waiting = if migrated.fixtures_loaded {
        Vec::new()
    } else {
        saved_fixtures(&site, changed)
    };
    let root_text = shell_quoted(&site.root);
    state.site.store(Arc::new(site));
    if let Ok(mut e) = state.live.error.lock() {
        *e = None;
    }
    state.live.generation.fetch_add(1, Ordering::SeqCst);
    // Logged last: whoever reads this line finds the new site, and its generation, in place.
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let routes = count(routes, "route", "routes");
    if waiting.is_empty() {
        tracing::info!("reloaded in {ms:.0} ms ({routes})");
    } else {
        let files: Vec<String> = waiting.iter().map(|f| shell_quoted(Path::new(f))).collect();
        let files = files.join(" ");
        tracing::warn!(
            "reloaded in {ms:.0} ms ({routes}); {files} saved but not loaded: fixtures load only into empty tables, and these hold rows; to load now (rows with the same pk are updated): trellis load {root_text} {files}"
        );
    }
}

/// Report a reload that failed: printed, shown by `--live`, and logged last.
fn failed(state: &Current, text: String) {
    eprint!("{text}");
    if let Ok(mut e) = state.live.error.lock() {
        *e = Some(text);
    }
    state.live.generation.fetch_add(1, Ordering::SeqCst);
    tracing::error!("reload failed; the previous site goes on serving");
}

/// How long a reload waits for another process's lock on the database at each try, and how
/// long it goes on trying before it fails.
const LOCK_WAIT: Duration = Duration::from_millis(500);
const LOCK_GIVE_UP: Duration = Duration::from_secs(120);

/// Migrate the new site; while another process holds the database's write lock (a long
/// transaction, a backup), try again every [`LOCK_WAIT`] instead of losing the edit.
fn migrate_retrying(site: &Site) -> Result<Migrated, MigrateError> {
    let start = Instant::now();
    let mut warned = false;
    loop {
        match site.migrate_waiting(false, Some(LOCK_WAIT)) {
            Err(MigrateError::Busy(why)) if start.elapsed() < LOCK_GIVE_UP => {
                if !warned {
                    tracing::warn!("database locked, retrying the reload ({why})");
                    warned = true;
                }
                std::thread::sleep(LOCK_WAIT);
            }
            other => return other,
        }
    }
}

/// The site's fixture files among `changed`, as the site names them.
fn saved_fixtures(site: &Site, changed: &[PathBuf]) -> Vec<String> {
    let changed: Vec<PathBuf> = changed
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    site.fixtures
        .iter()
        .filter(|f| {
            std::fs::canonicalize(f)
                .map(|f| changed.contains(&f))
                .unwrap_or(false)
        })
        .map(|f| {
            f.strip_prefix(&site.root)
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{ignored, is_input};
    use std::path::{Path, PathBuf};

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

    #[test]
    fn only_the_inputs_of_a_site_reload_it() {
        let inputs: Vec<PathBuf> = ["templates", "static", "content/posts", "data/notes.csv"]
            .iter()
            .map(PathBuf::from)
            .collect();
        for (path, input) in [
            ("site.yaml", true),
            ("routes/blog.yml", true),
            ("templates/home.hbs", true),
            ("templates/partials", true),
            ("static/site.css", true),
            ("content/posts/hello.md", true),
            ("data/notes.csv", true),
            ("trellis.log", false),
            ("data/other.csv", false),
            ("templates.bak", false),
            ("", false),
        ] {
            assert_eq!(is_input(Path::new(path), &inputs), input, "{path}");
        }
    }
}
