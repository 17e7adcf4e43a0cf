//! Migrations: the schema the YAML asks for, compared with the one recorded in the database's
//! own `_trellis_schema` table, applied in one transaction when every change is additive (a new
//! model, a new nullable or defaulted column, a new index). A destructive or ambiguous change
//! (a dropped model or field, a type change, a new NOT NULL column without a default) is
//! refused with a message that says what would be lost and how to proceed; nothing is ever
//! dropped silently. `--allow-destructive` applies drops, never type changes.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::ident;
use super::model::{Field, Model, Models, Order};
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

fn column_sql(c: &ColumnDef) -> String {
    let mut s = format!("{} {}", ident(&c.name), c.sql_type);
    if c.primary_key {
        s.push_str(" PRIMARY KEY");
    }
    if !c.null {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default_sql {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(r) = &c.references {
        s.push_str(&format!(" REFERENCES {r}"));
    }
    s
}

fn index_sql(table: &str, i: &IndexDef) -> String {
    format!(
        "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
        if i.unique { "UNIQUE " } else { "" },
        ident(&i.name),
        ident(table),
        i.columns.join(", ")
    )
}

fn fts_sql(t: &TableDef) -> Vec<String> {
    let fts = format!("{}_fts", t.table);
    let pk = t
        .columns
        .iter()
        .find(|c| c.primary_key)
        .map_or("id".to_string(), |c| c.name.clone());
    let cols: Vec<String> = t.fts.iter().map(|c| ident(c)).collect();
    let new_vals: Vec<String> = t.fts.iter().map(|c| format!("new.{}", ident(c))).collect();
    let old_vals: Vec<String> = t.fts.iter().map(|c| format!("old.{}", ident(c))).collect();
    let (f, tb, c, n, o) = (
        ident(&fts),
        ident(&t.table),
        cols.join(", "),
        new_vals.join(", "),
        old_vals.join(", "),
    );
    let pk = ident(&pk);
    vec![
        format!("CREATE VIRTUAL TABLE {f} USING fts5({c}, content={tb}, content_rowid={pk})"),
        format!("CREATE TRIGGER {} AFTER INSERT ON {tb} BEGIN INSERT INTO {f}(rowid, {c}) VALUES (new.{pk}, {n}); END", ident(&format!("{fts}_ai"))),
        format!("CREATE TRIGGER {} AFTER DELETE ON {tb} BEGIN INSERT INTO {f}({f}, rowid, {c}) VALUES ('delete', old.{pk}, {o}); END", ident(&format!("{fts}_ad"))),
        format!("CREATE TRIGGER {} AFTER UPDATE ON {tb} BEGIN INSERT INTO {f}({f}, rowid, {c}) VALUES ('delete', old.{pk}, {o}); INSERT INTO {f}(rowid, {c}) VALUES (new.{pk}, {n}); END", ident(&format!("{fts}_au"))),
        format!("INSERT INTO {f}({f}) VALUES ('rebuild')"),
    ]
}

fn drop_fts_sql(table: &str) -> Vec<String> {
    let fts = format!("{table}_fts");
    vec![
        format!("DROP TRIGGER IF EXISTS {}", ident(&format!("{fts}_ai"))),
        format!("DROP TRIGGER IF EXISTS {}", ident(&format!("{fts}_ad"))),
        format!("DROP TRIGGER IF EXISTS {}", ident(&format!("{fts}_au"))),
        format!("DROP TABLE IF EXISTS {}", ident(&fts)),
    ]
}

/// The outcome of a migration: what was done, or why nothing was.
#[derive(Debug, Default)]
pub struct Outcome {
    /// One line per change applied (`create table post`, `add column post.subtitle`).
    pub applied: Vec<String>,
}

/// Bring the database to `desired`, in one transaction; on refusal nothing changes and every
/// refused change is listed.
pub fn migrate(
    conn: &mut Connection,
    desired: &[TableDef],
    allow_destructive: bool,
) -> Result<Outcome, Vec<String>> {
    let db_err = |e: rusqlite::Error| vec![format!("database error: {e}")];
    // Dropping a table deletes its rows first, which would fire ON DELETE CASCADE in the tables
    // pointing at it: foreign keys are off while migrating, and checked before the commit.
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .map_err(db_err)?;
    let result = migrate_in(conn, desired, allow_destructive);
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(db_err)?;
    result
}

fn migrate_in(
    conn: &mut Connection,
    desired: &[TableDef],
    allow_destructive: bool,
) -> Result<Outcome, Vec<String>> {
    let db_err = |e: rusqlite::Error| vec![format!("database error: {e}")];
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db_err)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS _trellis_schema (model TEXT PRIMARY KEY, definition TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .map_err(db_err)?;
    let mut stored: Vec<TableDef> = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT model, definition FROM _trellis_schema ORDER BY rowid")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err)?;
        for row in rows {
            let (model, def) = row.map_err(db_err)?;
            let t: TableDef = serde_json::from_str(&def).map_err(|e| {
                vec![format!(
                    "_trellis_schema holds an unreadable definition of {model}: {e}"
                )]
            })?;
            stored.push(t);
        }
    }
    let mut outcome = Outcome::default();
    let mut sql: Vec<String> = Vec::new();
    let mut refused = Vec::new();
    let rows_in = |table: &str| -> i64 {
        tx.query_row(&format!("SELECT count(*) FROM {}", ident(table)), [], |r| {
            r.get(0)
        })
        .unwrap_or(0)
    };
    let hint = |what: &str| {
        format!("to proceed, put the {what} back, or run `trellis migrate SITE --allow-destructive` to drop it (after a backup)")
    };
    let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });

    for old in &stored {
        if !desired.iter().any(|d| d.model == old.model) {
            let n = rows_in(&old.table);
            if allow_destructive {
                sql.extend(drop_fts_sql(&old.table));
                sql.push(format!("DROP TABLE {}", ident(&old.table)));
                outcome
                    .applied
                    .push(format!("drop table {} ({n} rows)", old.table));
            } else {
                refused.push(format!(
                    "model {} is gone from site.yaml: dropping table `{}` would lose {}; {}",
                    old.model,
                    old.table,
                    plural(n, "row", "rows"),
                    hint("model")
                ));
            }
        }
    }
    for new in desired {
        let Some(old) = stored.iter().find(|o| o.model == new.model) else {
            let exists: Option<String> = tx
                .query_row(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    params![new.table],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if exists.is_some() {
                refused.push(format!("table `{}` for model {} already exists but was not made by Trellis; rename the table with `table:` or remove it", new.table, new.model));
                continue;
            }
            let cols: Vec<String> = new.columns.iter().map(column_sql).collect();
            sql.push(format!(
                "CREATE TABLE {} ({})",
                ident(&new.table),
                cols.join(", ")
            ));
            sql.extend(new.indexes.iter().map(|i| index_sql(&new.table, i)));
            if !new.fts.is_empty() {
                sql.extend(fts_sql(new));
            }
            outcome.applied.push(format!("create table {}", new.table));
            continue;
        };
        if old.table != new.table {
            refused.push(format!("model {} moves from table `{}` to `{}`: Trellis does not rename tables; rename it yourself (ALTER TABLE {} RENAME TO {}) and run again", new.model, old.table, new.table, old.table, new.table));
            continue;
        }
        let t = &new.table;
        // The full-text index's triggers name the columns: drop them before any column goes,
        // and make them anew after.
        let dropping = old
            .columns
            .iter()
            .any(|oc| !new.columns.iter().any(|c| c.name == oc.name));
        let fts_changes =
            old.fts != new.fts || (dropping && allow_destructive && !old.fts.is_empty());
        if fts_changes && !old.fts.is_empty() {
            sql.extend(drop_fts_sql(t));
        }
        for oc in &old.columns {
            if !new.columns.iter().any(|c| c.name == oc.name) {
                let n: i64 = tx
                    .query_row(
                        &format!(
                            "SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                            ident(t),
                            ident(&oc.name)
                        ),
                        [],
                        |r| r.get(0),
                    )
                    .unwrap_or(0);
                if allow_destructive {
                    for i in old
                        .indexes
                        .iter()
                        .filter(|i| i.columns.iter().any(|c| c.starts_with(&ident(&oc.name))))
                    {
                        sql.push(format!("DROP INDEX IF EXISTS {}", ident(&i.name)));
                    }
                    sql.push(format!(
                        "ALTER TABLE {} DROP COLUMN {}",
                        ident(t),
                        ident(&oc.name)
                    ));
                    outcome.applied.push(format!(
                        "drop column {t}.{} ({})",
                        oc.name,
                        plural(n, "value", "values")
                    ));
                } else {
                    refused.push(format!(
                        "field `{}` of {} is gone from site.yaml: dropping column {t}.{} would lose {} (a renamed field looks like one dropped and one added); {}",
                        oc.name, new.model, oc.name, plural(n, "value", "values"), hint("field")
                    ));
                }
            }
        }
        for nc in &new.columns {
            match old.columns.iter().find(|c| c.name == nc.name) {
                None => {
                    if !nc.null && nc.default_sql.is_none() && rows_in(t) > 0 {
                        refused.push(format!(
                            "new field `{}` of {} is NOT NULL without a default, and table `{t}` has rows: give it a `default:` or `null: true`",
                            nc.name, new.model
                        ));
                    } else if nc.primary_key {
                        refused.push(format!("{} gets a new primary key `{}`: Trellis cannot change a table's primary key", new.model, nc.name));
                    } else {
                        let mut col = nc.clone();
                        // SQLite adds a NOT NULL column only with a default; an empty table gets
                        // the type's zero, which no row ever sees.
                        if !col.null && col.default_sql.is_none() {
                            col.default_sql = Some(if col.sql_type == "TEXT" {
                                "''".into()
                            } else {
                                "0".into()
                            });
                        }
                        sql.push(format!(
                            "ALTER TABLE {} ADD COLUMN {}",
                            ident(t),
                            column_sql(&col)
                        ));
                        outcome.applied.push(format!("add column {t}.{}", nc.name));
                    }
                }
                Some(oc) => {
                    let mut changes = Vec::new();
                    if oc.sql_type != nc.sql_type {
                        changes.push(format!("type {} → {}", oc.sql_type, nc.sql_type));
                    }
                    if oc.null != nc.null {
                        changes.push(if nc.null {
                            "becomes nullable".to_string()
                        } else {
                            "becomes NOT NULL".to_string()
                        });
                    }
                    if oc.primary_key != nc.primary_key {
                        changes.push("primary key changes".into());
                    }
                    if oc.references != nc.references {
                        changes.push("foreign key changes".into());
                    }
                    if !changes.is_empty() {
                        refused.push(format!(
                            "field `{}` of {} changes ({}): SQLite cannot alter a column in place and Trellis will not guess how to convert its values; add a new field instead, copy the data, and drop the old one with --allow-destructive",
                            nc.name, new.model, changes.join(", ")
                        ));
                    }
                }
            }
        }
        for oi in &old.indexes {
            if !new.indexes.iter().any(|i| i == oi) {
                sql.push(format!("DROP INDEX IF EXISTS {}", ident(&oi.name)));
                outcome.applied.push(format!("drop index {}", oi.name));
            }
        }
        for ni in &new.indexes {
            if !old.indexes.iter().any(|i| i == ni) {
                sql.push(index_sql(t, ni));
                outcome.applied.push(format!("create index {}", ni.name));
            }
        }
        if fts_changes {
            if !new.fts.is_empty() {
                sql.extend(fts_sql(new));
            }
            outcome
                .applied
                .push(format!("rebuild full-text index of {t}"));
        }
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    for statement in &sql {
        tx.execute_batch(statement).map_err(|e| {
            let why = e.to_string();
            if statement.starts_with("CREATE UNIQUE INDEX") && why.contains("UNIQUE constraint failed") {
                let column = why.rsplit('.').next().unwrap_or("").to_string();
                vec![format!("`{column}` cannot become unique: some rows share a value (find them with SELECT {column}, count(*) FROM … GROUP BY {column} HAVING count(*) > 1); the database was not changed")]
            } else {
                vec![format!("{statement}: {why}")]
            }
        })?;
    }
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for new in desired {
        let def = serde_json::to_string(new).expect("a table definition serialises");
        let changed = stored.iter().find(|o| o.model == new.model) != Some(new);
        if changed {
            tx.execute(
                "INSERT INTO _trellis_schema (model, definition, applied_at) VALUES (?1, ?2, ?3) ON CONFLICT(model) DO UPDATE SET definition = excluded.definition, applied_at = excluded.applied_at",
                params![new.model, def, now],
            )
            .map_err(db_err)?;
        }
    }
    for old in &stored {
        if !desired.iter().any(|d| d.model == old.model) {
            tx.execute(
                "DELETE FROM _trellis_schema WHERE model = ?1",
                params![old.model],
            )
            .map_err(db_err)?;
        }
    }
    // Only a change to the schema can leave a foreign key dangling (foreign keys are off while
    // migrating); with nothing applied, the check, which reads every table, is skipped.
    let dangling: Vec<(String, i64, String)> = if sql.is_empty() {
        Vec::new()
    } else {
        let mut stmt = tx.prepare("PRAGMA foreign_key_check").map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db_err)?;
        rows.filter_map(Result::ok).take(5).collect()
    };
    if !dangling.is_empty() {
        return Err(dangling
            .into_iter()
            .map(|(table, rowid, target)| format!("row {rowid} of `{table}` would point at a missing row of `{target}`: drop or change the foreign key too; the database was not changed"))
            .collect());
    }
    tx.commit().map_err(db_err)?;
    Ok(outcome)
}
