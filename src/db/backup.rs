//! `trellis backup` and `trellis restore`: the database copied with SQLite's online backup API
//! while the site is serving.
//!
//! **Backup** copies every page in one step (`sqlite3_backup_step(-1)`). The database is in
//! WAL mode, where a reader blocks no writer and no writer blocks a reader, so that one step
//! is one read transaction: the copy is the database as it was when the step began, and the
//! server's readers and any writer carry on meanwhile (only checkpointing waits for it). A copy
//! in small steps with pauses would not be safer: each step is its own read, and SQLite
//! restarts the copy whenever another connection writes between two steps, so a steady write
//! load could keep it from ever finishing. The copy is made in a temporary file next to the
//! destination, turned into a single self-contained file (rollback journal, no `-wal`),
//! checked (`PRAGMA integrity_check`), synced, and only then renamed over the destination:
//! the destination is the old file or the whole new one, never half of one.
//!
//! **Restore** runs the same API the other way, from the backup file into the live database,
//! through SQLite's locks and the WAL: the file keeps its inode, a running server's
//! connections see the restored rows with their next transaction (their `PRAGMA data_version`
//! moves), and its readers never see a half-restored database. Moving a file over a live WAL
//! database is not safe: the old `-wal` file would be read as the new file's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// What went wrong, in the user's words.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Sqlite {
        what: String,
        source: rusqlite::Error,
    },
}

/// How long a backup or restore waits for a lock another connection holds before giving up.
const PATIENCE: Duration = Duration::from_secs(30);

/// What a finished backup or restore copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub pages: u64,
    pub bytes: u64,
}

fn sqlite(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sqlite { what, source }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// Copy the database at `db` into `file`, atomically (see the module's comment).
pub fn backup(db: &Path, file: &Path) -> Result<Copied, BackupError> {
    if !db.is_file() {
        return Err(BackupError::Refused(format!(
            "no database at {}: `trellis migrate` makes it",
            db.display()
        )));
    }
    refuse_live_file(db, file, "write the backup over")?;
    if file.is_dir() {
        return Err(BackupError::Refused(format!(
            "{} is a folder: name the backup file, e.g. {}",
            file.display(),
            file.join("site.sqlite3").display()
        )));
    }
    refuse_other_file(file)?;
    let name = file
        .file_name()
        .ok_or_else(|| BackupError::Refused(format!("{} names no file", file.display())))?;
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(BackupError::Refused(format!(
            "no folder {} to write the backup into",
            dir.display()
        )));
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = copy_into(db, &tmp).and_then(|copied| {
        std::fs::rename(&tmp, file).map_err(io(format!(
            "cannot move the finished copy to {}",
            file.display()
        )))?;
        // The rename itself is durable once the folder is synced.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(copied)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Refuse to replace an existing file that is not an SQLite database (an earlier backup): a
/// slip such as `trellis backup site.yaml` would put a database where the site's settings were.
fn refuse_other_file(file: &Path) -> Result<(), BackupError> {
    use std::io::Read;
    match std::fs::metadata(file) {
        Err(_) => return Ok(()),
        // A device (`/dev/null`), a named pipe or a socket: the rename would replace the
        // node itself (as root, `/dev/null` with a database), and reading a pipe would hang.
        Ok(meta) if !meta.is_file() => {
            return Err(BackupError::Refused(format!(
                "{} is not a regular file (a device, a pipe or a socket): name a file to \
                 write the backup to",
                file.display()
            )))
        }
        Ok(_) => {}
    }
    let Ok(mut f) = std::fs::File::open(file) else {
        return Ok(());
    };
    let mut head = Vec::new();
    f.by_ref()
        .take(16)
        .read_to_end(&mut head)
        .map_err(io(format!("cannot read {}", file.display())))?;
    if head.is_empty() || head == b"SQLite format 3\0" {
        return Ok(());
    }
    Err(BackupError::Refused(format!(
        "{} exists and is not an SQLite database: a backup replaces only an earlier backup; \
         name a new file, e.g. {}",
        file.display(),
        file.with_file_name("backup.sqlite3").display()
    )))
}

/// The backup proper, into the new file `tmp`: copied, made one file, checked, synced.
fn copy_into(db: &Path, tmp: &Path) -> Result<Copied, BackupError> {
    let _ = std::fs::remove_file(tmp);
    let src = super::connect(db).map_err(|e| BackupError::Refused(e.to_string()))?;
    let mut dst =
        Connection::open(tmp).map_err(sqlite(format!("cannot create {}", tmp.display())))?;
    run(&src, &mut dst, "reading the database")?;
    drop(src);
    // The copy carries the source's WAL flag in its header: made a rollback-journal database,
    // it is one file that `sqlite3` or `trellis restore` can open anywhere.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite("cannot finish the copy"))?;
    check(&dst, tmp)?;
    let copied = size(&dst)?;
    dst.close()
        .map_err(|(_, e)| sqlite("cannot close the copy")(e))?;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("cannot sync {}", tmp.display())))?;
    Ok(copied)
}

/// Copy the backup `file` into the live database at `db`, replacing its content in one write
/// transaction (see the module's comment). The file is checked first; nothing is written when
/// it is not a sound SQLite database, or holds none of `tables` (the site's: an empty file or
/// another site's backup would replace every row with nothing the site reads).
pub fn restore(db: &Path, file: &Path, tables: &[&str]) -> Result<Copied, BackupError> {
    refuse_live_file(db, file, "restore from")?;
    if !file.is_file() {
        return Err(BackupError::Refused(format!(
            "no backup file at {}",
            file.display()
        )));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let src = Connection::open_with_flags(file, flags)
        .map_err(sqlite(format!("cannot open {}", file.display())))?;
    check(&src, file)?;
    holds_the_sites_tables(&src, file, tables)?;
    let mut dst = super::connect(db).map_err(|e| BackupError::Refused(e.to_string()))?;
    let page_size = |c: &Connection| -> Result<i64, BackupError> {
        c.query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(sqlite("cannot read the page size"))
    };
    let live = page_size(&dst)?;
    if page_size(&src)? == live {
        run(&src, &mut dst, "writing the database")?;
        return size(&dst);
    }
    // SQLite cannot change a WAL database's page size through the backup API ("attempt to
    // write a readonly database"): the backup is rewritten with the live page size first.
    let name = db.file_name().unwrap_or_default().to_string_lossy();
    let tmp = db.with_file_name(format!(".{name}.restore-{}", std::process::id()));
    let result = resized(&src, &tmp, live).and_then(|resized| {
        run(&resized, &mut dst, "writing the database")?;
        size(&dst)
    });
    let _ = std::fs::remove_file(&tmp);
    result
}

/// A copy of `src` in the new file `tmp`, one file with pages of `page_size` bytes.
fn resized(src: &Connection, tmp: &Path, page_size: i64) -> Result<Connection, BackupError> {
    let _ = std::fs::remove_file(tmp);
    let mut conv =
        Connection::open(tmp).map_err(sqlite(format!("cannot create {}", tmp.display())))?;
    run(src, &mut conv, "reading the backup")?;
    conv.pragma_update(None, "journal_mode", "DELETE")
        .and_then(|()| conv.pragma_update(None, "page_size", page_size))
        .and_then(|()| conv.execute_batch("VACUUM"))
        .map_err(sqlite("cannot give the backup the database's page size"))?;
    Ok(conv)
}

/// Refuse a backup that shares no table with the site: SQLite takes an empty file for an
/// empty database, and restoring one (or another site's backup) would leave the site with
/// none of its rows.
fn holds_the_sites_tables(
    src: &Connection,
    file: &Path,
    tables: &[&str],
) -> Result<(), BackupError> {
    let found: Vec<String> = src
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite(format!(
            "cannot list the tables of {}",
            file.display()
        )))?;
    if tables.is_empty() || tables.iter().any(|t| found.iter().any(|f| f == t)) {
        return Ok(());
    }
    let held = if found.is_empty() {
        "no table at all".to_string()
    } else {
        format!("only {}", found.join(", "))
    };
    Err(BackupError::Refused(format!(
        "{} holds none of this site's tables ({}), {held}: restoring it would leave the site \
         without its rows; the database was not changed (is it another site's backup?)",
        file.display(),
        tables.join(", ")
    )))
}

/// One backup step of every page, retried while another connection holds a lock it needs.
fn run(src: &Connection, dst: &mut Connection, doing: &str) -> Result<(), BackupError> {
    let backup = Backup::new(src, dst).map_err(sqlite(format!("cannot start {doing}")))?;
    let start = Instant::now();
    loop {
        match backup.step(-1).map_err(sqlite(doing.to_string()))? {
            StepResult::Done => return Ok(()),
            StepResult::Busy | StepResult::Locked if start.elapsed() > PATIENCE => {
                return Err(BackupError::Refused(format!(
                    "{doing}: the database stayed locked by another connection for {}s",
                    PATIENCE.as_secs()
                )))
            }
            // `More` cannot follow a step of every page; a lock is waited out.
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// `PRAGMA integrity_check` must answer `ok`.
fn check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let what = format!("{} is not a sound SQLite database", path.display());
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(sqlite(what.clone()))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(BackupError::Refused(format!("{what}: {verdict}")))
    }
}

fn size(conn: &Connection) -> Result<Copied, BackupError> {
    let read = |pragma: &str| -> Result<u64, BackupError> {
        conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(sqlite("cannot read the copy's size"))
    };
    let pages = read("page_count")?;
    Ok(Copied {
        pages,
        bytes: pages * read("page_size")?,
    })
}

/// Refuse `file` when it is the live database or one of its companion files (`-wal`, `-shm`,
/// `-journal`): by path, and by identity for an existing file reached another way (a link).
fn refuse_live_file(db: &Path, file: &Path, doing: &str) -> Result<(), BackupError> {
    let canonical = |p: &Path| -> PathBuf {
        match (p.parent(), p.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
            .map(|d| d.join(name))
            .unwrap_or_else(|_| p.to_path_buf()),
            _ => p.to_path_buf(),
        }
    };
    let live = canonical(db).to_string_lossy().into_owned();
    let target = canonical(file).to_string_lossy().into_owned();
    let same_path = ["", "-wal", "-shm", "-journal"]
        .iter()
        .any(|suffix| target == format!("{live}{suffix}"));
    if same_path || super::file_id(file).is_some_and(|id| super::file_id(db) == Some(id)) {
        return Err(BackupError::Refused(format!(
            "{} is the site's live database (or one of its files): cannot {doing} it",
            file.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path, rows: i64) -> PathBuf {
        let path = dir.join("site.sqlite3");
        let conn = super::super::connect(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            .unwrap();
        for i in 0..rows {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])
                .unwrap();
        }
        path
    }

    fn count(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_backup_is_one_file_with_every_row() {
        let tmp = tempfile::tempdir().unwrap();
        let db = database(tmp.path(), 50);
        let out = tmp.path().join("copy.sqlite3");
        let copied = backup(&db, &out).unwrap();
        assert!(copied.pages > 1);
        assert_eq!(count(&out), 50);
        let mode: String = Connection::open(&out)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        let nowhere = tmp.path().join("no/such/folder/copy.sqlite3");
        let err = backup(&db, &nowhere).unwrap_err();
        assert!(err.to_string().contains("no folder"), "{err}");
    }

    #[test]
    fn the_live_database_is_never_the_destination() {
        let tmp = tempfile::tempdir().unwrap();
        let db = database(tmp.path(), 3);
        for target in ["site.sqlite3", "site.sqlite3-wal", "./site.sqlite3"] {
            let err = backup(&db, &tmp.path().join(target)).unwrap_err();
            assert!(err.to_string().contains("live database"), "{target}: {err}");
        }
        let link = tmp.path().join("link.sqlite3");
        std::fs::hard_link(&db, &link).unwrap();
        assert!(backup(&db, &link).is_err());
        assert!(restore(&db, &db, &["t"]).is_err());
        assert_eq!(count(&db), 3);
    }

    #[test]
    fn restoring_a_file_that_is_not_a_database_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let db = database(tmp.path(), 4);
        let junk = tmp.path().join("junk.sqlite3");
        std::fs::write(&junk, "not a database, just text that is long enough").unwrap();
        let err = restore(&db, &junk, &["t"]).unwrap_err();
        assert!(
            err.to_string().contains("not a sound SQLite database"),
            "{err}"
        );
        assert_eq!(count(&db), 4);
    }
}
