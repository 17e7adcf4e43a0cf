//! The built-in tables of sign-in (issue 11): users, sessions and failed sign-ins, made by the
//! same migration machinery as the models' tables ([`table_defs`], added to every site with a
//! database), and every statement that reads or writes them. `auth` decides what to do; only
//! this module speaks SQL about them.
//!
//! Times are Unix seconds (`expires`, `at`), so that an expired session or an old failure is a
//! plain comparison, and a test can move them by editing the file; `date_joined` and
//! `last_login` are ISO 8601 UTC text, for people reading the table.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::migrate::{ColumnDef, IndexDef, TableDef};
use super::DbError;

pub const USER_TABLE: &str = "trellis_user";
pub const SESSION_TABLE: &str = "trellis_session";
pub const FAILURE_TABLE: &str = "trellis_login_failure";
/// The built-in tables (with the history log's, `db::history`); a model's table may not take
/// one of these names.
pub const TABLES: [&str; 4] = [
    USER_TABLE,
    SESSION_TABLE,
    FAILURE_TABLE,
    super::history::TABLE,
];

const NOW_ISO: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

fn column(name: &str, sql_type: &str, null: bool) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        sql_type: sql_type.into(),
        null,
        primary_key: false,
        references: None,
        default_sql: None,
    }
}

fn index(table: &str, column: &str, unique: bool) -> IndexDef {
    IndexDef {
        name: format!("{table}_{column}_{}", if unique { "uniq" } else { "idx" }),
        columns: vec![super::ident(column)],
        unique,
    }
}

/// The three tables, recorded in `_trellis_schema` under their table names.
pub fn table_defs() -> Vec<TableDef> {
    let id = ColumnDef {
        primary_key: true,
        ..column("id", "INTEGER", false)
    };
    let flag = |name: &str, default: &str| ColumnDef {
        default_sql: Some(default.into()),
        ..column(name, "INTEGER", false)
    };
    let user = TableDef {
        model: USER_TABLE.into(),
        table: USER_TABLE.into(),
        columns: vec![
            id.clone(),
            column("username", "TEXT", false),
            column("password", "TEXT", false),
            flag("is_staff", "0"),
            flag("is_active", "1"),
            column("date_joined", "TEXT", false),
            column("last_login", "TEXT", true),
        ],
        indexes: vec![index(USER_TABLE, "username", true)],
        fts: Vec::new(),
    };
    let session = TableDef {
        model: SESSION_TABLE.into(),
        table: SESSION_TABLE.into(),
        columns: vec![
            ColumnDef {
                primary_key: true,
                ..column("session_key", "TEXT", false)
            },
            ColumnDef {
                references: Some(format!(
                    "{}(\"id\") ON DELETE CASCADE",
                    super::ident(USER_TABLE)
                )),
                ..column("user_id", "INTEGER", false)
            },
            column("expires", "INTEGER", false),
            ColumnDef {
                default_sql: Some("'[]'".into()),
                ..column("messages", "TEXT", false)
            },
        ],
        indexes: vec![
            index(SESSION_TABLE, "user_id", false),
            index(SESSION_TABLE, "expires", false),
        ],
        fts: Vec::new(),
    };
    let failure = TableDef {
        model: FAILURE_TABLE.into(),
        table: FAILURE_TABLE.into(),
        columns: vec![
            id,
            column("kind", "TEXT", false),
            column("key", "TEXT", false),
            column("at", "INTEGER", false),
        ],
        indexes: vec![IndexDef {
            name: format!("{FAILURE_TABLE}_kind_key_at_idx"),
            columns: vec!["\"kind\"".into(), "\"key\"".into(), "\"at\"".into()],
            unique: false,
        }],
        fts: Vec::new(),
    };
    vec![user, session, failure]
}

/// A user's row, without the hash.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: String,
    pub last_login: Option<String>,
}

/// The columns of a user's row, in the order [`user_row`] reads them (never the hash).
const USER_FIELDS: [&str; 6] = [
    "id",
    "username",
    "is_staff",
    "is_active",
    "date_joined",
    "last_login",
];

/// [`USER_FIELDS`] as a select list, each of the table called `u` in the query; a column
/// selected after them is at index `USER_FIELDS.len()`.
fn user_columns() -> String {
    USER_FIELDS.map(|c| format!("u.{c}")).join(", ")
}

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        is_staff: r.get(2)?,
        is_active: r.get(3)?,
        date_joined: r.get(4)?,
        last_login: r.get(5)?,
    })
}

fn run<T>(sql: &str, f: impl FnOnce(&str) -> rusqlite::Result<T>) -> Result<T, DbError> {
    f(sql).map_err(|e| DbError::at(sql, e))
}

/// Add a user; `Ok(false)` when the username is taken.
pub fn add_user(c: &Connection, username: &str, hash: &str, staff: bool) -> Result<bool, DbError> {
    let sql = format!(
        "INSERT INTO {USER_TABLE} (username, password, is_staff, is_active, date_joined) \
         VALUES (?1, ?2, ?3, 1, {NOW_ISO}) ON CONFLICT (username) DO NOTHING"
    );
    run(&sql, |sql| c.execute(sql, params![username, hash, staff])).map(|n| n == 1)
}

/// Set a user's password hash and sign them out everywhere; `Ok(false)`: no such user.
pub fn set_password(c: &Connection, username: &str, hash: &str) -> Result<bool, DbError> {
    let sql = format!("UPDATE {USER_TABLE} SET password = ?2 WHERE username = ?1");
    let changed = run(&sql, |sql| c.execute(sql, params![username, hash]))? == 1;
    let sql = format!(
        "DELETE FROM {SESSION_TABLE} WHERE user_id IN (SELECT id FROM {USER_TABLE} WHERE username = ?1)"
    );
    run(&sql, |sql| c.execute(sql, [username]))?;
    Ok(changed)
}

/// Set a user's staff flag; `Ok(false)`: no such user.
pub fn set_staff(c: &Connection, username: &str, staff: bool) -> Result<bool, DbError> {
    let sql = format!("UPDATE {USER_TABLE} SET is_staff = ?2 WHERE username = ?1");
    run(&sql, |sql| c.execute(sql, params![username, staff])).map(|n| n == 1)
}

/// Remove a user (their sessions go with them); `Ok(false)`: no such user.
pub fn remove_user(c: &Connection, username: &str) -> Result<bool, DbError> {
    let sql = format!(
        "DELETE FROM {SESSION_TABLE} WHERE user_id IN (SELECT id FROM {USER_TABLE} WHERE username = ?1)"
    );
    run(&sql, |sql| c.execute(sql, [username]))?;
    let sql = format!("DELETE FROM {USER_TABLE} WHERE username = ?1");
    run(&sql, |sql| c.execute(sql, [username])).map(|n| n == 1)
}

/// Every user, by username.
pub fn list_users(c: &Connection) -> Result<Vec<UserRow>, DbError> {
    let sql = format!(
        "SELECT {} FROM {USER_TABLE} u ORDER BY username",
        user_columns()
    );
    run(&sql, |sql| {
        let mut stmt = c.prepare(sql)?;
        let rows = stmt.query_map([], user_row)?;
        rows.collect()
    })
}

/// Whether the site has any user at all (the admin's sign-in page says how to make one).
pub fn has_users(c: &Connection) -> Result<bool, DbError> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {USER_TABLE})");
    run(&sql, |sql| c.query_row(sql, [], |r| r.get(0)))
}

/// A user and their password hash, by username.
pub fn user_with_hash(
    c: &Connection,
    username: &str,
) -> Result<Option<(UserRow, String)>, DbError> {
    let sql = format!(
        "SELECT {}, u.password FROM {USER_TABLE} u WHERE username = ?1",
        user_columns()
    );
    run(&sql, |sql| {
        c.query_row(sql, [username], |r| {
            Ok((user_row(r)?, r.get(USER_FIELDS.len())?))
        })
        .optional()
    })
}

/// Start a session for a user (signed in now: `last_login` is set).
pub fn create_session(
    c: &Connection,
    key: &str,
    user_id: i64,
    expires: i64,
) -> Result<(), DbError> {
    let sql =
        format!("INSERT INTO {SESSION_TABLE} (session_key, user_id, expires) VALUES (?1, ?2, ?3)");
    run(&sql, |sql| c.execute(sql, params![key, user_id, expires]))?;
    let sql = format!("UPDATE {USER_TABLE} SET last_login = {NOW_ISO} WHERE id = ?1");
    run(&sql, |sql| c.execute(sql, [user_id]))?;
    Ok(())
}

/// The active user of a session that has not expired at `now`, with the session's messages
/// (JSON text).
pub fn session_user(
    c: &Connection,
    key: &str,
    now: i64,
) -> Result<Option<(UserRow, String)>, DbError> {
    let sql = format!(
        "SELECT {}, s.messages \
         FROM {SESSION_TABLE} s JOIN {USER_TABLE} u ON u.id = s.user_id \
         WHERE s.session_key = ?1 AND s.expires > ?2 AND u.is_active",
        user_columns()
    );
    run(&sql, |sql| {
        c.query_row(sql, params![key, now], |r| {
            Ok((user_row(r)?, r.get(USER_FIELDS.len())?))
        })
        .optional()
    })
}

/// The messages (JSON text) of the session `key` if it is `user_id`'s and has not expired at
/// `now`: what a sign-in of the same user carries to the new session, as Django's `login()`
/// keeps the session's data when the user is the same one.
pub fn own_messages(
    c: &Connection,
    key: &str,
    user_id: i64,
    now: i64,
) -> Result<Option<String>, DbError> {
    let sql = format!(
        "SELECT messages FROM {SESSION_TABLE} \
         WHERE session_key = ?1 AND user_id = ?2 AND expires > ?3"
    );
    run(&sql, |sql| {
        c.query_row(sql, params![key, user_id, now], |r| r.get(0))
            .optional()
    })
}

/// Delete a session, and every session that expired before `now`.
pub fn delete_session(c: &Connection, key: &str, now: i64) -> Result<(), DbError> {
    let sql = format!("DELETE FROM {SESSION_TABLE} WHERE session_key = ?1 OR expires <= ?2");
    run(&sql, |sql| c.execute(sql, params![key, now])).map(drop)
}

/// Delete every session that expired at or before `now` and every failed sign-in recorded at
/// or before `failures_before` (Django's `clearsessions`); how many of each.
pub fn purge(c: &Connection, now: i64, failures_before: i64) -> Result<(usize, usize), DbError> {
    let sql = format!("DELETE FROM {SESSION_TABLE} WHERE expires <= ?1");
    let sessions = run(&sql, |sql| c.execute(sql, [now]))?;
    let sql = format!("DELETE FROM {FAILURE_TABLE} WHERE at <= ?1");
    let failures = run(&sql, |sql| c.execute(sql, [failures_before]))?;
    Ok((sessions, failures))
}

/// A session's messages (JSON text), if the session exists.
fn session_messages(c: &Connection, key: &str) -> Result<Option<String>, DbError> {
    let sql = format!("SELECT messages FROM {SESSION_TABLE} WHERE session_key = ?1");
    run(&sql, |sql| c.query_row(sql, [key], |r| r.get(0)).optional())
}

/// Replace a session's messages (JSON text).
pub fn set_messages(c: &Connection, key: &str, messages: &str) -> Result<(), DbError> {
    let sql = format!("UPDATE {SESSION_TABLE} SET messages = ?2 WHERE session_key = ?1");
    run(&sql, |sql| c.execute(sql, params![key, messages])).map(drop)
}

/// Replace a session's messages (JSON text) by what `keep` makes of them, in one write
/// transaction (BEGIN IMMEDIATE): two requests adding or taking messages at once each see
/// the other's change, and none is lost or shown twice. Nothing when there is no such session.
pub fn update_messages(
    c: &mut Connection,
    key: &str,
    keep: impl FnOnce(&str) -> String,
) -> Result<(), DbError> {
    let tx = run("BEGIN IMMEDIATE", |_| {
        c.transaction_with_behavior(TransactionBehavior::Immediate)
    })?;
    if let Some(now) = session_messages(&tx, key)? {
        set_messages(&tx, key, &keep(&now))?;
    }
    run("COMMIT", |_| tx.commit())
}

/// How many failed sign-ins of `kind` (`user` or `address`) for `key` since `since`, and
/// when the oldest of them was.
pub fn failures(c: &Connection, kind: &str, key: &str, since: i64) -> Result<(u32, i64), DbError> {
    let sql = format!(
        "SELECT count(*), coalesce(min(at), 0) FROM {FAILURE_TABLE} WHERE kind = ?1 AND key = ?2 AND at > ?3"
    );
    run(&sql, |sql| {
        c.query_row(sql, params![kind, key, since], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    })
}

/// Record a failed sign-in; its row's id.
fn add_failure(c: &Connection, kind: &str, key: &str, now: i64) -> Result<i64, DbError> {
    let sql = format!("INSERT INTO {FAILURE_TABLE} (kind, key, at) VALUES (?1, ?2, ?3)");
    run(&sql, |sql| c.execute(sql, params![kind, key, now]))?;
    Ok(c.last_insert_rowid())
}

/// What [`begin_attempt`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Too many failures of `kind` (`user` or `address`) already: how many, and when the
    /// oldest of them was.
    Refused {
        kind: String,
        count: u32,
        oldest: i64,
    },
    /// The attempt is counted as a failure in advance (these rows); a right password takes
    /// them back with [`forget_attempt`].
    Counted(Vec<i64>),
}

/// Check a sign-in attempt against the failures of each of its `keys` (kind, key) since
/// `since`, and count it as a failure, in one write transaction (BEGIN IMMEDIATE), before its
/// password is checked: attempts sent together are counted one after the other, so that no
/// more than `max` passwords are ever tried within the window (checking then recording after
/// the hash let every concurrent attempt see the same count).
pub fn begin_attempt(
    c: &mut Connection,
    keys: &[(&str, &str)],
    now: i64,
    since: i64,
    max: u32,
) -> Result<Attempt, DbError> {
    let begin = "BEGIN IMMEDIATE";
    let tx = run(begin, |_| {
        c.transaction_with_behavior(TransactionBehavior::Immediate)
    })?;
    for (kind, key) in keys {
        let (count, oldest) = failures(&tx, kind, key, since)?;
        if count >= max {
            return Ok(Attempt::Refused {
                kind: kind.to_string(),
                count,
                oldest,
            });
        }
    }
    let ids = keys
        .iter()
        .map(|(kind, key)| add_failure(&tx, kind, key, now))
        .collect::<Result<Vec<_>, _>>()?;
    // Failures older than the window count no more: forget them (once per attempt).
    let sql = format!("DELETE FROM {FAILURE_TABLE} WHERE at <= ?1");
    run(&sql, |sql| tx.execute(sql, [since]))?;
    run("COMMIT", |_| tx.commit())?;
    Ok(Attempt::Counted(ids))
}

/// Its password was right: take back the failures the attempt was counted as (`ids`), and
/// forget every failure of `kind` `key` (the username's), in one statement.
pub fn forget_attempt(
    c: &Connection,
    ids: &[i64],
    (kind, key): (&str, &str),
) -> Result<(), DbError> {
    let marks: Vec<String> = (3..ids.len() + 3).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "DELETE FROM {FAILURE_TABLE} WHERE (kind = ?1 AND key = ?2) OR id IN ({})",
        marks.join(", ")
    );
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&kind, &key];
    values.extend(ids.iter().map(|id| id as &dyn rusqlite::ToSql));
    run(&sql, |sql| c.execute(sql, values.as_slice())).map(drop)
}
