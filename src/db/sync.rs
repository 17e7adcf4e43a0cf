//! Keeping tables in step with rows written elsewhere (a collection's Markdown files): each row
//! names itself by a unique key (its slug); a row whose key is new is inserted, one whose values
//! differ is updated in place (its primary key kept, so its URLs stay), and a row of the table
//! that no longer has a source is deleted. Everything happens in one transaction: a reader sees
//! the tables before the sync or after it, never half of it. Rows that did not change are not
//! written at all.
//!
//! The rows come in checked (`model::validate`); what only the database can tell — that a
//! foreign key's target exists — is found here and returned as a [`Problem`] naming the row and
//! field, so that the caller can place it in its file.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params_from_iter, Connection, Transaction};
use serde_json::Value;

use super::query::to_sql;
use super::{ident, DbError, Model, SqlValue};

/// A table to bring in step: every row it should hold, and nothing else.
pub struct Table<'a> {
    pub model: &'a Model,
    /// The field (index in `model.fields`) whose value names a row: unique, text.
    pub key: usize,
    pub rows: Vec<&'a Row>,
}

/// One row as its source gives it.
pub struct Row {
    /// The key field's value.
    pub key: String,
    /// The value of each field the source sets (the key field among them), by field index.
    pub values: Vec<(usize, Val)>,
    /// Written when the row is inserted, left alone when it exists (`auto_now_add`).
    pub on_insert: Vec<(usize, Value)>,
    /// Written when the row is inserted or changes (`auto_now`).
    pub on_change: Vec<(usize, Value)>,
    /// The whole set of each many-to-many field (index in `model.many`): `Val::Ref`s.
    pub many: Vec<(usize, Vec<Val>)>,
}

/// A field's value.
pub enum Val {
    /// A checked value, as stored.
    Value(Value),
    /// A foreign key given by a unique field of the target: the target row whose
    /// `model.fields[field]` is `key`.
    Ref {
        model: Arc<Model>,
        field: usize,
        key: Value,
    },
}

/// What a sync did to one table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

impl Report {
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.deleted > 0
    }
}

/// A row the database refused: `tables[table].rows[row]`, at the field named `field`.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub table: usize,
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub enum SyncError {
    /// Rows that cannot be written; nothing was.
    Rows(Vec<Problem>),
    Db(DbError),
}

impl From<DbError> for SyncError {
    fn from(e: DbError) -> Self {
        SyncError::Db(e)
    }
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        SyncError::Db(e.into())
    }
}

/// Bring every table in step with its rows, in one transaction; all or nothing (what was done
/// to each table, in their order). Tables are written in the order given (a table's
/// foreign-key targets first), and rows are deleted last, so that a row moved from one target
/// to another is updated, never cascaded away.
pub fn sync(conn: &mut Connection, tables: &[Table<'_>]) -> Result<Vec<Report>, SyncError> {
    let tx = conn.transaction()?;
    // Foreign keys are checked at commit: the order of writes inside does not matter.
    tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
    let mut reports = vec![Report::default(); tables.len()];
    let mut problems = Vec::new();
    let mut deletes = Vec::new();
    let mut refs = Refs::default();
    for (t, table) in tables.iter().enumerate() {
        let report = &mut reports[t];
        let (mut existing, keyless) = read_existing(&tx, table)?;
        let sets = read_sets(&tx, table.model)?;
        for (r, row) in table.rows.iter().enumerate() {
            let mut at = |field: &str, message: String| {
                problems.push(Problem {
                    table: t,
                    row: r,
                    field: field.to_string(),
                    message,
                })
            };
            let Some((mut desired, many)) = resolve(&tx, &mut refs, table.model, row, &mut at)?
            else {
                continue;
            };
            let (pk, changed) = match existing.remove(&row.key) {
                Some((pk, old)) => {
                    let mut changed: Vec<(usize, SqlValue)> = desired
                        .into_iter()
                        .filter(|(i, v)| old.get(*i) != Some(v))
                        .collect();
                    let set_changed = many.iter().any(|(i, targets)| {
                        sets[*i].get(&key_of(&pk)).map_or(&[][..], Vec::as_slice)
                            != targets.as_slice()
                    });
                    if !changed.is_empty() || set_changed {
                        changed.extend(sql_values(table.model, &row.on_change));
                        if !changed.is_empty() {
                            update(&tx, table.model, &pk, &changed)?;
                        }
                        report.updated += 1;
                    }
                    (pk, set_changed)
                }
                None => {
                    desired.extend(sql_values(table.model, &row.on_insert));
                    desired.extend(sql_values(table.model, &row.on_change));
                    let pk = insert(&tx, table.model, &desired)?;
                    report.inserted += 1;
                    (pk, true)
                }
            };
            if changed {
                for (i, targets) in &many {
                    super::set_many(&tx, table.model, &table.model.many[*i], &pk, targets)?;
                }
            }
        }
        deletes.extend(existing.into_values().map(|(pk, _)| (t, pk)));
        deletes.extend(keyless.into_iter().map(|pk| (t, pk)));
    }
    if !problems.is_empty() {
        return Err(SyncError::Rows(problems));
    }
    for (t, pk) in deletes.iter().rev() {
        delete(&tx, tables[*t].model, pk)?;
        reports[*t].deleted += 1;
    }
    tx.commit().map_err(|e| DbError::at("COMMIT", e))?;
    Ok(reports)
}

/// A row's columns and many-to-many sets, as stored: each target found by its key. `None`
/// when one is missing (said through `at`).
#[allow(clippy::type_complexity)]
fn resolve(
    tx: &Transaction,
    refs: &mut Refs,
    model: &Model,
    row: &Row,
    at: &mut impl FnMut(&str, String),
) -> Result<Option<(Vec<(usize, SqlValue)>, Vec<(usize, Vec<SqlValue>)>)>, DbError> {
    let mut ok = true;
    let mut desired = Vec::with_capacity(row.values.len());
    for (field, val) in &row.values {
        let f = &model.fields[*field];
        match refs.value(tx, f.ty, val)? {
            Ok(v) => desired.push((*field, v)),
            Err(message) => {
                at(&f.name, message);
                ok = false;
            }
        }
    }
    let mut many = Vec::with_capacity(row.many.len());
    for (field, vals) in &row.many {
        let f = &model.many[*field];
        let mut targets = Vec::with_capacity(vals.len());
        for val in vals {
            match refs.value(tx, f.ty, val)? {
                Ok(v) => targets.push(v),
                Err(message) => {
                    at(&f.name, message);
                    ok = false;
                }
            }
        }
        targets.sort_by_key(key_of);
        targets.dedup();
        many.push((*field, targets));
    }
    Ok(ok.then_some((desired, many)))
}

/// A primary key as text, to find a row's set by.
fn key_of(pk: &SqlValue) -> String {
    match pk {
        SqlValue::Integer(i) => format!("{i:020}"),
        other => format!("{other:?}"),
    }
}

/// Each row's many-to-many targets, sorted, by field (index in `model.many`) and row key.
fn read_sets(
    tx: &Transaction,
    model: &Model,
) -> Result<Vec<HashMap<String, Vec<SqlValue>>>, DbError> {
    let mut out = Vec::new();
    for field in &model.many {
        let join = super::many::join_table(model, field)?;
        let sql = format!(
            "SELECT {}, {} FROM {}",
            ident(&join.from),
            ident(&join.to),
            ident(&join.table)
        );
        let mut stmt = tx.prepare(&sql).map_err(|e| DbError::at(&sql, e))?;
        let pairs = stmt
            .query_map([], |r| {
                Ok((r.get::<_, SqlValue>(0)?, r.get::<_, SqlValue>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| DbError::at(&sql, e))?;
        let mut sets: HashMap<String, Vec<SqlValue>> = HashMap::new();
        for (from, to) in pairs {
            sets.entry(key_of(&from)).or_default().push(to);
        }
        for set in sets.values_mut() {
            set.sort_by_key(key_of);
        }
        out.push(sets);
    }
    Ok(out)
}

fn delete(tx: &Transaction, model: &Model, pk: &SqlValue) -> Result<(), DbError> {
    let sql = format!(
        "DELETE FROM {} WHERE {} = ?",
        ident(&model.table),
        ident(&model.pk_field().column)
    );
    tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute([pk]))
        .map_err(|e| DbError::at(&sql, e))?;
    Ok(())
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

fn sql_values<'a>(
    model: &'a Model,
    values: &'a [(usize, Value)],
) -> impl Iterator<Item = (usize, SqlValue)> + 'a {
    values
        .iter()
        .map(|(i, v)| (*i, to_sql(model.fields[*i].ty, v)))
}

/// Each row of the table by its key: its primary key and every column's value, by field index.
type Existing = HashMap<String, (SqlValue, Vec<SqlValue>)>;

/// Every row of the table by its key, and the primary keys of rows whose key is not text (NULL,
/// or a number written by something else): those have no source, so they go. One scan.
fn read_existing(
    tx: &Transaction,
    table: &Table<'_>,
) -> Result<(Existing, Vec<SqlValue>), DbError> {
    let model = &table.model;
    let sql = format!("SELECT {} FROM {}", model.columns_sql, ident(&model.table));
    let mut stmt = tx.prepare(&sql).map_err(|e| DbError::at(&sql, e))?;
    let n = model.fields.len();
    let mut rows = stmt.query([]).map_err(|e| DbError::at(&sql, e))?;
    let mut out = HashMap::new();
    let mut keyless = Vec::new();
    while let Some(row) = rows.next().map_err(|e| DbError::at(&sql, e))? {
        let values: Vec<SqlValue> = (0..n)
            .map(|i| row.get(i))
            .collect::<Result<_, _>>()
            .map_err(|e| DbError::at(&sql, e))?;
        match &values[table.key] {
            SqlValue::Text(key) => {
                out.insert(key.clone(), (values[model.pk].clone(), values));
            }
            _ => keyless.push(values[model.pk].clone()),
        }
    }
    Ok((out, keyless))
}

/// Insert a row; its primary key (given, or the one SQLite assigned).
fn insert(
    tx: &Transaction,
    model: &Model,
    values: &[(usize, SqlValue)],
) -> Result<SqlValue, DbError> {
    let columns: Vec<String> = values
        .iter()
        .map(|(i, _)| ident(&model.fields[*i].column))
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        ident(&model.table),
        columns.join(", "),
        vec!["?"; values.len()].join(", ")
    );
    tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params_from_iter(values.iter().map(|(_, v)| v))))
        .map_err(|e| DbError::at(&sql, e))?;
    Ok(values
        .iter()
        .find(|(i, _)| *i == model.pk)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| SqlValue::Integer(tx.last_insert_rowid())))
}

fn update(
    tx: &Transaction,
    model: &Model,
    pk: &SqlValue,
    values: &[(usize, SqlValue)],
) -> Result<(), DbError> {
    let sets: Vec<String> = values
        .iter()
        .map(|(i, _)| format!("{} = ?", ident(&model.fields[*i].column)))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = ?",
        ident(&model.table),
        sets.join(", "),
        ident(&model.pk_field().column)
    );
    let params = values.iter().map(|(_, v)| v).chain(std::iter::once(pk));
    tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params_from_iter(params)))
        .map_err(|e| DbError::at(&sql, e))?;
    Ok(())
}

/// Foreign-key targets found by a unique field, each looked up once per sync.
#[derive(Default)]
struct Refs {
    found: HashMap<(String, usize, String), Option<SqlValue>>,
}

impl Refs {
    /// A value as stored: a reference becomes its target's primary key, or the message saying
    /// there is none.
    fn value(
        &mut self,
        tx: &Transaction,
        ty: crate::config::raw::FieldType,
        val: &Val,
    ) -> Result<Result<SqlValue, String>, DbError> {
        match val {
            Val::Value(v) => Ok(Ok(to_sql(ty, v))),
            Val::Ref { model, field, key } => {
                Ok(self.find(tx, model, *field, key)?.ok_or_else(|| {
                    format!(
                        "no {} has {} {}",
                        model.name,
                        model.fields[*field].name,
                        show(key)
                    )
                }))
            }
        }
    }

    fn find(
        &mut self,
        tx: &Transaction,
        model: &Model,
        field: usize,
        key: &Value,
    ) -> Result<Option<SqlValue>, DbError> {
        let id = (model.name.clone(), field, key.to_string());
        if let Some(pk) = self.found.get(&id) {
            return Ok(pk.clone());
        }
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = ?",
            ident(&model.pk_field().column),
            ident(&model.table),
            ident(&model.fields[field].column)
        );
        let value = to_sql(model.fields[field].ty, key);
        let pk: Option<SqlValue> = tx
            .prepare_cached(&sql)
            .and_then(|mut s| {
                let mut rows = s.query([&value])?;
                rows.next()?.map(|r| r.get(0)).transpose()
            })
            .map_err(|e| DbError::at(&sql, e))?;
        self.found.insert(id, pk.clone());
        Ok(pk)
    }
}
