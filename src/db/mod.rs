//! The database: SQLite through rusqlite, the only module that knows SQL. It owns the models
//! (`model`), the DDL and migrations (`migrate`), fixtures (`fixtures`) and the query builder
//! (`query`), which binds every value that comes from a request as a parameter; identifiers come
//! only from the validated YAML.
//!
//! Each thread keeps its own connection per database file (WAL mode, a busy timeout, foreign
//! keys on, a cache of prepared statements), so reads on one worker never wait for another's.

pub mod fixtures;
pub mod migrate;
pub mod model;
pub mod query;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use model::{Field, Model, Models, Order};
/// A value bound to a statement; views build conditions with it without knowing rusqlite.
pub use rusqlite::types::Value as SqlValue;

/// A database error, with the statement's context; shown in the log, never to a client.
#[derive(Debug, Clone, PartialEq)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(e.to_string())
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
}

/// A thread's connection and what it remembers between requests.
pub struct Conn {
    pub conn: Connection,
    /// Row counts by query, valid while `(data_version, total_changes)` is unchanged.
    counts: HashMap<String, (i64, u64, i64)>,
}

thread_local! {
    static CONNECTIONS: RefCell<HashMap<PathBuf, Conn>> = RefCell::new(HashMap::new());
}

/// Open a connection with Trellis's settings.
pub fn connect(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open(path)
        .map_err(|e| DbError(format!("cannot open {}: {e}", path.display())))?;
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

impl Database {
    pub fn new(path: PathBuf, models: Models) -> Database {
        Database { path, models }
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.get(name).map(|m| m.as_ref())
    }

    /// Run `f` with this thread's connection, opening it on first use.
    pub fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, DbError>) -> Result<T, DbError> {
        CONNECTIONS.with(|cell| {
            let mut map = cell.borrow_mut();
            if !map.contains_key(&self.path) {
                let conn = connect(&self.path)?;
                map.insert(
                    self.path.clone(),
                    Conn {
                        conn,
                        counts: HashMap::new(),
                    },
                );
            }
            let conn = map.get_mut(&self.path).expect("just inserted");
            f(conn)
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
