//! The history log (issue 11, Django's admin `LogEntry`): a built-in table, `trellis_log`, made
//! by the same migration machinery as the sessions' tables, holding one row per write made by
//! a `create`, `update` or `delete` route with `history: true`. `db::write` inserts it inside
//! the write's own transaction, so a refused or rolled-back write leaves none; the admin's
//! history page and its index's "Recent actions" read it here.
//!
//! `action_time` is ISO 8601 UTC text; `user_id` and `username` are null for an anonymous
//! write (the username is kept as it was, so a renamed or removed user's actions still read
//! right); `object_id` is the row's key as text, `object_repr` its label then.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{Map, Value};

use super::migrate::{ColumnDef, IndexDef, TableDef};
use super::model::Model;
use super::{ident, DbError};

pub const TABLE: &str = "trellis_log";

/// What a logged write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Added,
    Changed,
    Deleted,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Changed => "changed",
            Action::Deleted => "deleted",
        }
    }
}

/// Who writes: the signed-in user's id and username, or nobody (an anonymous form).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actor {
    pub user: Option<(i64, String)>,
}

/// One row of the log, as pages show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub action_time: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub model: String,
    pub object_id: String,
    pub object_repr: String,
    pub action: String,
    pub change_message: String,
}

/// The table, recorded in `_trellis_schema` under its name.
pub fn table_defs() -> Vec<TableDef> {
    let column = |name: &str, sql_type: &str, null: bool| ColumnDef {
        name: name.into(),
        sql_type: sql_type.into(),
        null,
        primary_key: false,
        references: None,
        default_sql: None,
    };
    vec![TableDef {
        model: TABLE.into(),
        table: TABLE.into(),
        columns: vec![
            ColumnDef {
                primary_key: true,
                ..column("id", "INTEGER", false)
            },
            column("action_time", "TEXT", false),
            // No foreign key: removing a user keeps what they did (with their name).
            column("user_id", "INTEGER", true),
            column("username", "TEXT", true),
            column("model", "TEXT", false),
            column("object_id", "TEXT", false),
            column("object_repr", "TEXT", false),
            column("action", "TEXT", false),
            column("change_message", "TEXT", false),
        ],
        indexes: vec![IndexDef {
            name: format!("{TABLE}_model_object_idx"),
            columns: vec!["\"model\"".into(), "\"object_id\"".into()],
            unique: false,
        }],
        fts: Vec::new(),
    }]
}

/// A row's label, as its pages name it (Django's `object_repr`): its first string field,
/// else its key.
pub fn object_repr(model: &Model, row: &Map<String, Value>) -> String {
    column_text(row, &super::write::label_field(model).column)
}

/// A row's key as the log keeps it: text.
pub fn object_id(model: &Model, row: &Map<String, Value>) -> String {
    column_text(row, &model.pk_field().column)
}

/// A column of `row` as text: a string as it is, null (or missing) as nothing.
fn column_text(row: &Map<String, Value>, column: &str) -> String {
    match row.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    }
}

/// Django's change message: "Added.", "Deleted.", "Changed title and body." (the fields in
/// the form's order), "No fields changed." for a change that changed nothing.
pub fn message(action: Action, changed: &[&str]) -> String {
    match action {
        Action::Added => "Added.".into(),
        Action::Deleted => "Deleted.".into(),
        Action::Changed => match changed {
            [] => "No fields changed.".into(),
            [one] => format!("Changed {one}."),
            [first @ .., last] => format!("Changed {} and {last}.", first.join(", ")),
        },
    }
}

/// Log a write of `row` of `model` (`changed`: the fields a change changed, for its
/// [`message`]); called inside the write's transaction.
pub fn log(
    conn: &Connection,
    actor: &Actor,
    model: &Model,
    row: &Map<String, Value>,
    action: Action,
    changed: &[&str],
) -> Result<(), DbError> {
    let sql = format!(
        "INSERT INTO {} (action_time, user_id, username, model, object_id, object_repr, \
         action, change_message) VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        ident(TABLE)
    );
    let (id, name) = match &actor.user {
        Some((id, name)) => (Some(*id), Some(name.as_str())),
        None => (None, None),
    };
    conn.execute(
        &sql,
        params![
            id,
            name,
            model.name,
            object_id(model, row),
            object_repr(model, row),
            action.as_str(),
            message(action, changed)
        ],
    )
    .map(drop)
    .map_err(|e| DbError::at(&sql, e))
}

const COLUMNS: &str =
    "id, action_time, user_id, username, model, object_id, object_repr, action, change_message";

fn entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        action_time: r.get(1)?,
        user_id: r.get(2)?,
        username: r.get(3)?,
        model: r.get(4)?,
        object_id: r.get(5)?,
        object_repr: r.get(6)?,
        action: r.get(7)?,
        change_message: r.get(8)?,
    })
}

fn select(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Entry>, DbError> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| DbError::at(sql, e))?;
    stmt.query_map(params, entry)
        .and_then(|rows| rows.collect())
        .map_err(|e| DbError::at(sql, e))
}

/// The log of one row (`model`'s name, the key as text), newest first.
pub fn for_object(conn: &Connection, model: &str, object_id: &str) -> Result<Vec<Entry>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE model = ?1 AND object_id = ?2 ORDER BY id DESC",
        ident(TABLE)
    );
    select(conn, &sql, params![model, object_id])
}

/// The last `limit` entries of the log for the models named, newest first.
pub fn recent(conn: &Connection, models: &[String], limit: u32) -> Result<Vec<Entry>, DbError> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; models.len()].join(", ");
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE model IN ({marks}) ORDER BY id DESC LIMIT {limit}",
        ident(TABLE)
    );
    select(conn, &sql, rusqlite::params_from_iter(models.iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_messages_read_as_django_writes_them() {
        assert_eq!(message(Action::Added, &[]), "Added.");
        assert_eq!(message(Action::Deleted, &["x"]), "Deleted.");
        assert_eq!(message(Action::Changed, &[]), "No fields changed.");
        assert_eq!(message(Action::Changed, &["title"]), "Changed title.");
        assert_eq!(
            message(Action::Changed, &["title", "body"]),
            "Changed title and body."
        );
        assert_eq!(
            message(Action::Changed, &["title", "body", "tags"]),
            "Changed title, body and tags."
        );
    }
}
