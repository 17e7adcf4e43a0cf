//! Migrations: the schema the YAML asks for, compared with the one recorded in the database's
//! own `_trellis_schema` table, applied in one transaction when every change is additive (a new
//! model, a new nullable or defaulted column, a new index). A destructive or ambiguous change
//! (a dropped model or field, a type change, a new NOT NULL column without a default) is
//! refused with a message that says what would be lost and how to proceed; nothing is ever
//! dropped silently. `--allow-destructive` applies drops, never type changes.
//!
//! A migration reads what the database holds into a plain value (`apply::read`), decides in a
//! pure function (`plan`), then applies the plan's steps (`apply::apply`), all in one
//! transaction. This file holds the table definitions a site compiles its models into.

mod apply;
pub mod plan;

use std::fmt;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

pub use plan::{plan, Plan, Refusal, Step, Stored};

use super::model::{Field, Model, Models, Order};
use super::{ident, DbError};
use crate::config::raw::{FieldType, OnDelete};

/// A column as the database should have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub sql_type: String,
    pub null: bool,
    pub primary_key: bool,
    /// `table(column) ON DELETE …`
    pub references: Option<String>,
    pub default_sql: Option<String>,
}

/// An index as the database should have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    pub name: String,
    /// Columns with their direction: `"created_at" DESC`.
    pub columns: Vec<String>,
    pub unique: bool,
}

/// A model's table as the database should have it; stored as JSON once applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub model: String,
    pub table: String,
    pub columns: Vec<ColumnDef>,
    pub indexes: Vec<IndexDef>,
    /// Columns of an FTS5 index over the table, when a route searches it with `fts: true`.
    #[serde(default)]
    pub fts: Vec<String>,
}

impl TableDef {
    /// For the join table of a many_to_many field, recorded as `Post.tags`: the model's name
    /// and the field's.
    pub fn many_to_many(&self) -> Option<(&str, &str)> {
        self.model.split_once('.')
    }
}

/// A JSON value as an SQL literal, for DEFAULT clauses.
fn sql_literal(field: &Field, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) if field.ty != FieldType::Json => {
            format!("'{}'", s.replace('\'', "''"))
        }
        other => format!("'{}'", other.to_string().replace('\'', "''")),
    }
}

/// What a model's table should look like. `extra` are indexes asked for by routes.
pub fn table_def(model: &Model, models: &Models, extra: &[Vec<Order>], fts: &[String]) -> TableDef {
    let mut columns = Vec::new();
    let mut indexes: Vec<IndexDef> = Vec::new();
    let add_index = |cols: Vec<String>, unique: bool, indexes: &mut Vec<IndexDef>| {
        if indexes
            .iter()
            .any(|i| i.columns == cols && (i.unique || !unique))
        {
            return;
        }
        let stem: Vec<String> = cols
            .iter()
            .map(|c| {
                c.trim_matches('"')
                    .replace("\" DESC", "_desc")
                    .replace('"', "")
            })
            .collect();
        let name = format!(
            "{}_{}_{}",
            model.table,
            stem.join("_"),
            if unique { "uniq" } else { "idx" }
        );
        indexes.push(IndexDef {
            name,
            columns: cols,
            unique,
        });
    };
    for f in &model.fields {
        let references = f.to.as_ref().and_then(|to| models.get(to)).map(|target| {
            let action = match f.on_delete {
                OnDelete::Cascade => "CASCADE",
                OnDelete::Restrict => "RESTRICT",
                OnDelete::SetNull => "SET NULL",
            };
            format!(
                "{}({}) ON DELETE {action}",
                ident(&target.table),
                ident(&target.pk_field().column)
            )
        });
        columns.push(ColumnDef {
            name: f.column.clone(),
            sql_type: f.sql_type().into(),
            null: f.null,
            primary_key: f.primary_key,
            references,
            default_sql: f.default.as_ref().map(|d| sql_literal(f, d)),
        });
        if f.primary_key {
            continue;
        }
        if f.unique {
            add_index(vec![ident(&f.column)], true, &mut indexes);
        } else if f.index || f.ty == FieldType::ForeignKey {
            add_index(vec![ident(&f.column)], false, &mut indexes);
        }
    }
    let mut orderings = vec![model.ordering.clone()];
    orderings.extend(extra.iter().cloned());
    let pk = &model.pk_field().column;
    for ordering in orderings {
        if ordering.is_empty() || (ordering.len() == 1 && &ordering[0].column == pk) {
            continue;
        }
        let mut cols: Vec<String> = ordering
            .iter()
            .map(|o| format!("{}{}", ident(&o.column), if o.desc { " DESC" } else { "" }))
            .collect();
        // Queries order by the primary key last, in the direction of the last key (see
        // `query::Query::order_sql`); the index must end the same way to serve the ORDER BY.
        if !ordering.iter().any(|o| &o.column == pk) {
            let desc = ordering.last().is_some_and(|o| o.desc);
            cols.push(format!("{}{}", ident(pk), if desc { " DESC" } else { "" }));
        }
        add_index(cols, false, &mut indexes);
    }
    TableDef {
        model: model.name.clone(),
        table: model.table.clone(),
        columns,
        indexes,
        fts: fts.to_vec(),
    }
}

/// The join table of each many_to_many field (after every model's table), shaped as Django
/// makes it: `id`, a column for each side pointing at its row (`ON DELETE CASCADE`), a unique
/// index over the pair and an index over the second column. Recorded as `Model.field`.
pub fn join_table_defs(models: &Models) -> Vec<TableDef> {
    let mut out = Vec::new();
    for m in models.values() {
        for f in &m.many {
            let (Some(join), Some(target)) = (&f.join, f.to.as_ref().and_then(|t| models.get(t)))
            else {
                continue;
            };
            let side = |name: &str, model: &Model| ColumnDef {
                name: name.to_string(),
                sql_type: model.pk_field().sql_type().into(),
                null: false,
                primary_key: false,
                references: Some(format!(
                    "{}({}) ON DELETE CASCADE",
                    ident(&model.table),
                    ident(&model.pk_field().column)
                )),
                default_sql: None,
            };
            let id = ColumnDef {
                name: "id".into(),
                sql_type: "INTEGER".into(),
                null: false,
                primary_key: true,
                references: None,
                default_sql: None,
            };
            let index = |cols: &[&str], unique: bool| IndexDef {
                name: format!(
                    "{}_{}_{}",
                    join.table,
                    cols.join("_"),
                    if unique { "uniq" } else { "idx" }
                ),
                columns: cols.iter().map(|c| ident(c)).collect(),
                unique,
            };
            out.push(TableDef {
                model: format!("{}.{}", m.name, f.name),
                table: join.table.clone(),
                columns: vec![id, side(&join.from, m), side(&join.to, target)],
                indexes: vec![
                    index(&[&join.from, &join.to], true),
                    index(&[&join.to], false),
                ],
                fts: Vec::new(),
            });
        }
    }
    out
}

/// The outcome of a migration: what was done.
#[derive(Debug, Default)]
pub struct Outcome {
    /// One line per change applied (`create table post`, `add column post.subtitle`).
    pub applied: Vec<String>,
}

/// What the rows stand in the way of, found while applying a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Conflict {
    /// A field becomes unique, but rows share a value.
    NotUnique { column: String },
    /// A row's foreign key would point at no row.
    Dangling {
        table: String,
        rowid: i64,
        target: String,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::NotUnique { column } => write!(
                f,
                "`{column}` cannot become unique: some rows share a value (find them with SELECT {column}, count(*) FROM … GROUP BY {column} HAVING count(*) > 1); the database was not changed"
            ),
            Conflict::Dangling {
                table,
                rowid,
                target,
            } => write!(
                f,
                "row {rowid} of `{table}` would point at a missing row of `{target}`: drop or change the foreign key too; the database was not changed"
            ),
        }
    }
}

/// Why a migration changed nothing.
#[derive(Debug)]
pub enum MigrationError {
    /// Changes Trellis will not make (see `plan`).
    Refused(Vec<Refusal>),
    /// Changes the rows do not allow.
    Conflicts(Vec<Conflict>),
    /// `_trellis_schema` holds a definition this version cannot read.
    Unreadable { model: String, error: String },
    /// The database failed (busy, locked, unreadable, or a statement it refused).
    Db(DbError),
}

impl MigrationError {
    /// Whether the database was locked by another connection, rather than the change refused.
    pub fn is_busy(&self) -> bool {
        matches!(self, MigrationError::Db(e) if e.is_busy())
    }

    /// One message per problem.
    pub fn messages(&self) -> Vec<String> {
        match self {
            MigrationError::Refused(refused) => refused.iter().map(|r| r.to_string()).collect(),
            MigrationError::Conflicts(found) => found.iter().map(|c| c.to_string()).collect(),
            MigrationError::Unreadable { model, error } => vec![format!(
                "_trellis_schema holds an unreadable definition of {model}: {error}"
            )],
            // A failed statement says which; any other failure says it is the database's.
            MigrationError::Db(
                e @ (DbError::Sqlite { sql: Some(_), .. } | DbError::Busy { sql: Some(_), .. }),
            ) => {
                vec![e.to_string()]
            }
            MigrationError::Db(e) => vec![format!("database error: {e}")],
        }
    }
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages().join("\n"))
    }
}

impl std::error::Error for MigrationError {}

/// Bring the database to `desired`, in one transaction; on refusal nothing changes and every
/// refused change is listed.
pub fn migrate(
    conn: &mut Connection,
    desired: &[TableDef],
    allow_destructive: bool,
) -> Result<Outcome, MigrationError> {
    let db = |e| MigrationError::Db(DbError::from(e));
    // Dropping a table deletes its rows first, which would fire ON DELETE CASCADE in the tables
    // pointing at it: foreign keys are off while migrating, and checked before the commit.
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(db)?;
    let result = migrate_in(conn, desired, allow_destructive);
    conn.execute_batch("PRAGMA foreign_keys = ON").map_err(db)?;
    result
}

/// Wait at most `wait` for another connection's lock before a statement answers "database is
/// locked" (the reloader retries instead of waiting long).
pub fn wait_for_locks(conn: &Connection, wait: std::time::Duration) -> Result<(), DbError> {
    Ok(conn.busy_timeout(wait)?)
}

/// Read, plan, apply, commit.
fn migrate_in(
    conn: &mut Connection,
    desired: &[TableDef],
    allow_destructive: bool,
) -> Result<Outcome, MigrationError> {
    let db = |e| MigrationError::Db(DbError::from(e));
    // Most runs (every reload) change nothing: that is found in a read transaction, without
    // the write lock, so it goes through while another process writes.
    {
        let tx = conn.transaction().map_err(db)?;
        let stored = apply::read(&tx, desired)?;
        let plan = plan(&stored, desired, allow_destructive).map_err(MigrationError::Refused)?;
        if plan.steps.is_empty() {
            tx.commit().map_err(db)?;
            return Ok(Outcome {
                applied: Vec::new(),
            });
        }
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)?;
    let stored = apply::read(&tx, desired)?;
    let plan = plan(&stored, desired, allow_destructive).map_err(MigrationError::Refused)?;
    apply::apply(&tx, &plan, &stored, desired)?;
    tx.commit().map_err(db)?;
    Ok(Outcome {
        applied: plan.applied(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables of a site whose `models:` are `models`.
    fn tables(models: &str) -> Vec<TableDef> {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site.yaml");
        std::fs::write(&site, format!("models:\n{models}")).unwrap();
        let loaded = crate::config::yaml::load_site(&site).unwrap();
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let (models, errors) = crate::db::model::compile(&loaded.value.models, &loaded.source);
        assert!(errors.is_empty(), "{errors:?}");
        models
            .values()
            .map(|m| table_def(m, &models, &[], &[]))
            .collect()
    }

    /// Everything SQLite and `_trellis_schema` say about the schema.
    fn schema(conn: &Connection) -> String {
        conn.query_row(
            "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master ORDER BY name)",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn recorded(conn: &Connection) -> String {
        conn.query_row(
            "SELECT group_concat(definition, ';') FROM _trellis_schema",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn a_refused_or_conflicting_migration_leaves_the_database_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::db::connect(&dir.path().join("db.sqlite3")).unwrap();
        let v1 = tables("  Post:\n    fields:\n      title: { type: string }\n");
        let done = migrate(&mut conn, &v1, false).unwrap();
        assert_eq!(done.applied, ["create table post"]);
        conn.execute_batch("INSERT INTO post (title) VALUES ('Same'), ('Same')")
            .unwrap();
        let (before, before_recorded) = (schema(&conn), recorded(&conn));

        // A new model is fine, a NOT NULL field without a default is not: neither is applied.
        let v2 = tables(
            "  Post:\n    fields:\n      title: { type: string }\n      sku: { type: string }\n  Author:\n    fields:\n      name: { type: string }\n",
        );
        let err = migrate(&mut conn, &v2, false).unwrap_err();
        assert_eq!(err.messages(), ["new field `sku` of Post is NOT NULL without a default, and table `post` has rows: give it a `default:` or `null: true`"]);
        assert_eq!(
            (schema(&conn), recorded(&conn)),
            (before.clone(), before_recorded.clone())
        );

        // Planned, but the rows do not allow it: rolled back.
        let v3 = tables("  Post:\n    fields:\n      title: { type: string, unique: true }\n");
        let err = migrate(&mut conn, &v3, false).unwrap_err();
        assert!(matches!(err, MigrationError::Conflicts(_)), "{err:?}");
        assert_eq!(err.messages(), ["`title` cannot become unique: some rows share a value (find them with SELECT title, count(*) FROM … GROUP BY title HAVING count(*) > 1); the database was not changed"]);
        assert_eq!((schema(&conn), recorded(&conn)), (before, before_recorded));

        // What is allowed is applied once; the next run has nothing to do.
        let v4 = tables(
            "  Post:\n    fields:\n      title: { type: string }\n      subtitle: { type: string, \"null\": true }\n  Author:\n    fields:\n      name: { type: string }\n",
        );
        let done = migrate(&mut conn, &v4, false).unwrap();
        assert_eq!(
            done.applied,
            ["add column post.subtitle", "create table author"]
        );
        let titles: String = conn
            .query_row(
                "SELECT group_concat(title) FROM post WHERE subtitle IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(titles, "Same,Same");
        assert!(migrate(&mut conn, &v4, false).unwrap().applied.is_empty());
    }
}
