//! The database: SQLite through rusqlite, the only module that knows SQL. It owns the models
//! (`model`), the DDL and migrations (`migrate`), fixtures (`fixtures`), the join tables of
//! many-to-many fields (`many`) and the query builder (`query`), which binds every value that
//! comes from a request as a parameter; identifiers come only from the validated YAML.
//!
//! Each thread keeps its own connection per database file (WAL mode, a busy timeout, foreign
//! keys on, a cache of prepared statements), so reads on one worker never wait for another's.
//! A statement run through [`Database::with`] that outlives the site's time limit
//! (`site.limits.query_ms`) is interrupted by SQLite's progress handler: `DbError::Interrupted`.
//! Work run through [`brief`] is stopped the same way once it has used its share of the
//! thread's CPU time, or at once when it would wait for a lock, and reports that it was.

pub mod backup;
pub mod fixtures;
pub mod history;
pub mod many;
pub mod migrate;
pub mod model;
pub mod query;
pub mod session;
pub mod sync;
pub mod write;

use std::cell::{Cell, RefCell};
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
    /// The thread CPU time at which the [`brief`] work in hand is stopped; `None` outside one.
    static BRIEF_UNTIL: Cell<Option<Duration>> = const { Cell::new(None) };
    /// Whether the brief work in hand was stopped (past its time, or facing a lock).
    static BRIEF_CUT: Cell<bool> = const { Cell::new(false) };
}

/// The CPU time this thread has used. Not the wall clock: a thread that the machine's other
/// work keeps waiting has not spent its budget.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Run `f` as brief work: once the statements it runs on this thread find that it has used
/// `budget` of the thread's CPU time since it began, they are interrupted, and so is any that
/// would wait for another connection's lock; `f`'s result is then `None`, whatever `f` made of
/// the errors. The server tries a page that reads the database this way on the thread that took
/// the request, and hands it to a database thread only when it proves expensive: the cheap
/// pages skip the hand-over, and an expensive one holds that thread for about `budget` only.
/// A read transaction's end (`Database::snapshot`) is never interrupted.
pub fn brief<T>(budget: Duration, f: impl FnOnce() -> T) -> Option<T> {
    /// Ends the brief work even if `f` panics (the server answers that with a 500 and goes on
    /// using the thread): nothing later on it is cut short by a budget that is not its own.
    struct End;
    impl Drop for End {
        fn drop(&mut self) {
            BRIEF_UNTIL.set(None);
        }
    }
    BRIEF_UNTIL.set(Some(thread_cpu() + budget));
    BRIEF_CUT.set(false);
    let end = End;
    let out = f();
    drop(end);
    (!BRIEF_CUT.replace(false)).then_some(out)
}

/// Whether the brief work in hand has used its time (and is therefore cut short).
fn brief_spent() -> bool {
    let spent = BRIEF_UNTIL.get().is_some_and(|until| thread_cpu() > until);
    if spent {
        BRIEF_CUT.set(true);
    }
    spent
}

/// How long a serving connection waits for another's lock, in milliseconds.
const BUSY_MS: u64 = 5000;

/// The busy handler of every connection: wait for the lock as SQLite's `busy_timeout` does
/// (sleeping 1, 2, 5, … up to 100 ms at a time, [`BUSY_MS`] in all), except in [`brief`] work,
/// which gives up at once and is answered where waiting costs no one else.
fn wait_for_lock(attempt: i32) -> bool {
    if BRIEF_UNTIL.get().is_some() {
        BRIEF_CUT.set(true);
        return false;
    }
    const DELAYS: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];
    let n = usize::try_from(attempt).unwrap_or(0);
    let waited = DELAYS.iter().take(n).sum::<u64>() + 100 * n.saturating_sub(DELAYS.len()) as u64;
    if waited >= BUSY_MS {
        return false;
    }
    let delay = DELAYS.get(n).copied().unwrap_or(100).min(BUSY_MS - waited);
    std::thread::sleep(Duration::from_millis(delay));
    true
}

/// Open a connection with Trellis's settings.
pub fn connect(path: &Path) -> Result<Connection, DbError> {
    let mut conn = Connection::open(path).map_err(|source| DbError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_handler(Some(wait_for_lock))?;
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
                        brief_spent() || (at != 0 && clock() > at)
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
        // Brief work that was cut short still ends its transaction.
        let brief = BRIEF_UNTIL.take();
        if began && run("COMMIT").is_err() {
            let _ = run("ROLLBACK");
        }
        BRIEF_UNTIL.set(brief);
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

    /// A database as serving opens it, with a table `t` of one row.
    fn one_row(dir: &tempfile::TempDir) -> (Database, PathBuf) {
        let path = dir.path().join("db.sqlite3");
        connect(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)")
            .unwrap();
        (Database::new(path.clone(), Models::default()), path)
    }

    /// Brief work past its budget of CPU time is cut short: `None`, whatever the work made of
    /// the interruption. Within its budget it gives its result, and the connection goes on
    /// serving work that is not brief, uninterrupted.
    #[test]
    fn brief_work_past_its_budget_is_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = one_row(&dir);
        let count = "SELECT count(*) FROM t";
        let quick = brief(Duration::from_secs(5), || {
            db.with(|c| Ok(c.conn.query_row(count, [], |r| r.get::<_, i64>(0))?))
        });
        assert_eq!(quick.map(Result::unwrap), Some(1));
        // Counting to a billion takes SQLite seconds.
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                       WHERE i < 1000000000) SELECT count(*) FROM n";
        let cut = brief(Duration::from_millis(5), || {
            db.with(|c| Ok(c.conn.query_row(endless, [], |r| r.get::<_, i64>(0))?))
        });
        assert!(cut.is_none(), "{cut:?}");
        // Brief work that panics ends all the same.
        let panicked = std::panic::catch_unwind(|| brief(Duration::ZERO, || panic!("a bug")));
        assert!(panicked.is_err());
        // Not brief, and no `query_limit`: a statement of some milliseconds runs to its end.
        let longer = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                      WHERE i < 300000) SELECT count(*) FROM n";
        let n = db.with(|c| Ok(c.conn.query_row(longer, [], |r| r.get::<_, i64>(0))?));
        assert_eq!(n.unwrap(), 300_000);
    }

    /// Brief work never waits for another connection's lock: the read gives up at once and the
    /// work reports itself cut short, to be answered where waiting costs no one else.
    #[test]
    fn brief_work_does_not_wait_for_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (db, path) = one_row(&dir);
        // In exclusive locking mode a writer keeps even readers out until it closes.
        let holder = connect(&path).unwrap();
        holder
            .execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE; BEGIN IMMEDIATE; INSERT INTO t VALUES (2)",
            )
            .unwrap();
        let count = "SELECT count(*) FROM t";
        let cut = brief(Duration::from_secs(60), || {
            db.with(|c| Ok(c.conn.query_row(count, [], |r| r.get::<_, i64>(0))?))
        });
        assert!(cut.is_none(), "{cut:?}");
        holder.execute_batch("COMMIT").unwrap();
        drop(holder);
        let n = db.with(|c| Ok(c.conn.query_row(count, [], |r| r.get::<_, i64>(0))?));
        assert_eq!(n.unwrap(), 2);
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
