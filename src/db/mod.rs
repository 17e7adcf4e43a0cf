//! The database: SQLite through rusqlite, the only module that knows SQL. It owns the models
//! (`model`), the DDL and migrations (`migrate`), fixtures (`fixtures`), the join tables of
//! many-to-many fields (`many`) and the query builder (`query`), which binds every value that
//! comes from a request as a parameter; identifiers come only from the validated YAML.
//!
//! Each thread keeps its own connection per database file (WAL mode, a busy timeout, foreign
//! keys on, a cache of prepared statements), so reads on one worker never wait for another's.
//! A statement run through [`Database::with`] that outlives the site's time limit
//! (`site.limits.query_ms`) is interrupted by SQLite's progress handler: `DbError::Interrupted`.

pub mod backup;
pub mod fixtures;
pub mod many;
pub mod migrate;
pub mod model;
pub mod query;
pub mod sync;
pub mod write;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use many::set_many;
pub use model::{Field, JoinTable, Model, Models, Order};
/// A value bound to a statement; views build conditions with it without knowing rusqlite.
pub use rusqlite::types::Value as SqlValue;
/// A connection, as `connect` opens it (callers outside `db/` only pass it back in).
pub use rusqlite::Connection;

/// A database error, with the statement's context where there is one; shown in the log, never
/// to a client. `Display` is SQLite's message after that context.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file could not be opened (no such folder, no permission, not a database).
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// Another connection held the database past the busy timeout (SQLite's BUSY or LOCKED):
    /// nothing is wrong with the request, and it may succeed a moment later.
    #[error("{}{source}", context(sql))]
    Busy {
        sql: Option<String>,
        source: rusqlite::Error,
    },
    /// The statement ran past the site's time limit and SQLite's progress handler stopped it.
    #[error(
        "{}interrupted: it ran past the time limit (site.limits.query_ms)",
        context(sql)
    )]
    Interrupted { sql: Option<String> },
    /// No database file at the path while serving (removed, and no reload has made it again):
    /// a request never creates one, since only a migration makes the tables it needs.
    #[error("no database file at {}: a reload (or `trellis migrate`) makes it", path.display())]
    Missing { path: PathBuf },
    /// SQLite refused a statement, or a value read back.
    #[error("{}{source}", context(sql))]
    Sqlite {
        sql: Option<String>,
        source: rusqlite::Error,
    },
    /// What was asked of the database makes no sense for this site (an unknown model).
    #[error("{0}")]
    Invalid(String),
}

fn context(sql: &Option<String>) -> String {
    sql.as_ref().map(|s| format!("{s}: ")).unwrap_or_default()
}

impl DbError {
    /// SQLite's error `source` while running `sql`.
    pub fn at(sql: &str, source: rusqlite::Error) -> DbError {
        DbError::classify(Some(sql.to_string()), source)
    }

    /// Whether the database was busy or locked, or the statement ran out of time, rather than
    /// the statement wrong: the request may succeed a moment later.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            DbError::Busy { .. } | DbError::Interrupted { .. } | DbError::Missing { .. }
        )
    }

    fn classify(sql: Option<String>, source: rusqlite::Error) -> DbError {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked, OperationInterrupted};
        match source.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => DbError::Busy { sql, source },
            Some(OperationInterrupted) => DbError::Interrupted { sql },
            _ => DbError::Sqlite { sql, source },
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(source: rusqlite::Error) -> Self {
        DbError::classify(None, source)
    }
}

/// Quote an identifier for SQL. Identifiers come from the validated YAML, never a request.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether every one of `tables` is empty. `EXISTS` stops at the first row, where `count(*)`
/// would read a whole index.
pub fn tables_empty<'a>(
    conn: &Connection,
    tables: impl IntoIterator<Item = &'a str>,
) -> Result<bool, DbError> {
    for table in tables {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", ident(table));
        if conn.query_row(&sql, [], |r| r.get::<_, bool>(0))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A site's database: its file and its models.
#[derive(Debug)]
pub struct Database {
    pub path: PathBuf,
    pub models: Models,
    /// How long one call of [`Database::with`] may run its statements (`None`: no limit).
    pub query_limit: Option<Duration>,
}

/// A thread's connection and what it remembers between requests.
pub struct Conn {
    pub conn: Connection,
    /// Row counts by query, valid while `(data_version, total_changes)` is unchanged.
    counts: HashMap<String, (i64, u64, i64)>,
    /// The file this connection has open (device, inode), as its path named it then.
    file: Option<(u64, u64)>,
    /// When the progress handler interrupts the running statement, in milliseconds since
    /// [`clock`]'s start; 0 for never.
    deadline: Arc<AtomicU64>,
}

/// The file a path names now (device, inode); `None` when there is none, or off Unix.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Milliseconds since the first call: a deadline fits an atomic, which the progress handler
/// (a `Send + 'static` closure) reads.
fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// The progress handler runs every this many SQLite virtual-machine instructions (some
/// microseconds): often enough to stop within a millisecond of the limit, rarely enough to
/// cost nothing a page would show.
const PROGRESS_OPS: i32 = 1000;

thread_local! {
    static CONNECTIONS: RefCell<HashMap<PathBuf, Conn>> = RefCell::new(HashMap::new());
}

/// Open a connection with Trellis's settings.
pub fn connect(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path).map_err(|source| DbError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )?;
    conn.set_prepared_statement_cache_capacity(256);
    // The query planner's stability guarantee: plans never depend on bound values, so binding a
    // new OFFSET (a page number) does not make SQLite re-prepare a cached statement on every run.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// Whether a database has changed since the last look, by anyone else: `PRAGMA data_version`
/// on a connection of its own (it moves when another connection commits), and the file its
/// path names (a restored copy is another file). The reloader asks it while a refused
/// migration waits for another process (`trellis migrate --allow-destructive`) to make way.
pub struct Changes {
    conn: Connection,
    path: PathBuf,
    seen: (Option<i64>, Option<(u64, u64)>),
}

impl Changes {
    /// Start watching the database at `path`, which must exist (this never creates it).
    pub fn open(path: &Path) -> Result<Changes, DbError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| DbError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut changes = Changes {
            conn,
            path: path.to_path_buf(),
            seen: (None, None),
        };
        changes.seen = changes.now();
        Ok(changes)
    }

    fn now(&self) -> (Option<i64>, Option<(u64, u64)>) {
        let version = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .ok();
        (version, file_id(&self.path))
    }

    /// Whether another connection committed, or the file was replaced, since the last call
    /// (or since `open`). A database that cannot be read now (locked) has not changed yet.
    pub fn moved(&mut self) -> bool {
        let now = self.now();
        if now.0.is_none() || now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }
}

impl Database {
    pub fn new(path: PathBuf, models: Models) -> Database {
        Database {
            path,
            models,
            query_limit: None,
        }
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.get(name).map(|m| m.as_ref())
    }

    /// Run `f` with this thread's connection, opening it on first use; its statements are
    /// interrupted once they have run for longer than `query_limit` in all.
    pub fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, DbError>) -> Result<T, DbError> {
        CONNECTIONS.with(|cell| {
            let mut map = cell.borrow_mut();
            // A file moved over the database's path (a restored backup), or created there by a
            // reload after the old one was removed, is read from now on: one `stat` per
            // transaction. While the path names no file, the open one goes on serving.
            let replaced = map.get(&self.path).is_some_and(|c| {
                c.conn.is_autocommit()
                    && c.file.is_some()
                    && file_id(&self.path).is_some_and(|now| Some(now) != c.file)
            });
            if replaced {
                map.remove(&self.path);
                tracing::info!(
                    "{} is a new file: reading it from now on",
                    self.path.display()
                );
            }
            if !map.contains_key(&self.path) {
                // Serving never creates the file: SQLite would make an empty database there.
                if !self.path.exists() {
                    return Err(DbError::Missing {
                        path: self.path.clone(),
                    });
                }
                let mut conn = connect(&self.path)?;
                let deadline = Arc::new(AtomicU64::new(0));
                let watched = deadline.clone();
                conn.progress_handler(
                    PROGRESS_OPS,
                    Some(move || {
                        let at = watched.load(Ordering::Relaxed);
                        at != 0 && clock() > at
                    }),
                )?;
                let entry = Conn {
                    conn,
                    counts: HashMap::new(),
                    file: file_id(&self.path),
                    deadline,
                };
                map.insert(self.path.clone(), entry);
            }
            let conn = map.get_mut(&self.path).expect("just inserted");
            if let Some(limit) = self.query_limit {
                let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
                conn.deadline
                    .store(clock().saturating_add(ms).max(1), Ordering::Relaxed);
            }
            let out = f(conn);
            conn.deadline.store(0, Ordering::Relaxed);
            out
        })
    }

    /// Run `f` inside one read transaction on this thread's connection: every query it makes
    /// sees the same snapshot (a page and its count agree), and SQLite takes its locks once
    /// instead of once per statement.
    pub fn snapshot<T>(&self, f: impl FnOnce() -> T) -> T {
        let run = |sql: &str| {
            self.with(|c| {
                c.conn.prepare_cached(sql)?.execute([])?;
                Ok(())
            })
        };
        let began = run("BEGIN").is_ok();
        let out = f();
        if began && run("COMMIT").is_err() {
            let _ = run("ROLLBACK");
        }
        out
    }
}

impl Conn {
    /// A cached count for `key`, if nothing was committed since it was taken.
    fn cached_count(&mut self, key: &str) -> Result<Option<i64>, DbError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let changes = self.conn.total_changes();
        Ok(match self.counts.get(key) {
            Some((v, c, n)) if *v == version && *c == changes => Some(*n),
            _ => None,
        })
    }

    fn remember_count(&mut self, key: String, n: i64) -> Result<(), DbError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        let changes = self.conn.total_changes();
        if self.counts.len() > 1024 {
            self.counts.clear();
        }
        self.counts.insert(key, (version, changes, n));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_sees_another_connections_commits_and_not_its_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        assert!(
            Changes::open(&path).is_err(),
            "a missing database is not created"
        );
        assert!(!path.exists());
        let other = connect(&path).unwrap();
        other.execute_batch("CREATE TABLE t (x)").unwrap();
        let mut changes = Changes::open(&path).unwrap();
        assert!(!changes.moved());
        let n: i64 = other
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert!(!changes.moved(), "a read is not a change");
        other.execute_batch("ALTER TABLE t ADD COLUMN y").unwrap();
        assert!(changes.moved());
        assert!(!changes.moved(), "each change is seen once");
        other.execute_batch("INSERT INTO t VALUES (1, 2)").unwrap();
        assert!(changes.moved());
    }

    #[test]
    fn a_locked_database_is_told_apart_from_a_wrong_statement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let holder = connect(&path).unwrap();
        holder
            .execute_batch("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
            .unwrap();
        // A second writer that does not wait for the first: SQLite answers BUSY at once.
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let busy = DbError::from(other.execute("INSERT INTO t VALUES (2)", []).unwrap_err());
        assert!(busy.is_busy(), "{busy:?}");
        assert_eq!(busy.to_string(), "database is locked");

        let sql = "SELECT missing FROM t";
        let wrong = DbError::at(sql, holder.prepare(sql).unwrap_err());
        assert!(!wrong.is_busy(), "{wrong:?}");
        assert!(
            wrong
                .to_string()
                .starts_with("SELECT missing FROM t: no such column: missing"),
            "{wrong}"
        );

        let nowhere = dir.path().join("missing").join("db.sqlite3");
        let open = connect(&nowhere).unwrap_err();
        assert!(matches!(open, DbError::Open { .. }), "{open:?}");
        let expected = format!("cannot open {}: unable to open", nowhere.display());
        assert!(open.to_string().starts_with(&expected), "{open}");
    }

    /// A statement past `query_limit` is stopped by the progress handler: `Interrupted`, which
    /// views answer with a 503; the next statement on the same connection runs.
    #[test]
    fn a_statement_past_the_time_limit_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        // Made as a migration makes it: serving never creates the file.
        connect(&path).unwrap();
        let mut db = Database::new(path, Models::default());
        db.query_limit = Some(Duration::from_millis(5));
        // Counting to a billion takes SQLite seconds.
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                       WHERE i < 1000000000) SELECT count(*) FROM n";
        let err = db
            .with(|c| Ok(c.conn.query_row(endless, [], |r| r.get::<_, i64>(0))?))
            .unwrap_err();
        assert!(matches!(err, DbError::Interrupted { .. }), "{err:?}");
        assert!(err.is_busy());
        assert!(err.to_string().contains("site.limits.query_ms"), "{err}");
        let one = db.with(|c| Ok(c.conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?));
        assert_eq!(one.unwrap(), 1);
    }
}
