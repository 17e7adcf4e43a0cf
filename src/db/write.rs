//! Rows written through the web (issue 11, step 4: the `create` view, not yet wired to a
//! route). Posted text is read by each field's type into the value a fixture would give, then
//! checked by [`model::validate`] — the one set of rules fixtures pass — and a row is inserted
//! in one `BEGIN IMMEDIATE … COMMIT` transaction. A refusal the form can show (a missing
//! foreign-key target, a taken unique value) is a message for its field, not a database error.

use super::history::{self, Action, Actor};
use super::model::{self, Field, Model, Models, Now};
use super::query::{to_json, to_sql};
use super::{ident, DbError, SqlValue};
use crate::config::raw::{FieldType, OnDelete};
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Map, Value};

/// Why a row was not written.
#[derive(Debug)]
pub enum WriteError {
    /// A field's value was refused: the field's name and a message for the form.
    Field(String, String),
    /// No row has the key the request named.
    NotFound,
    /// The database failed (busy past the timeout, interrupted, …).
    Db(DbError),
}

impl From<DbError> for WriteError {
    fn from(e: DbError) -> WriteError {
        WriteError::Db(e)
    }
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> WriteError {
        WriteError::Db(e.into())
    }
}

/// A field's posted values (every value of a repeated key, in order; none when the key was not
/// sent) as the value stored, or a message for the form. A checkbox not sent is `false`; an
/// empty value is null when the field may be null and "required" otherwise; a many_to_many
/// field gives an array of the target keys.
pub fn read_field(field: &Field, posted: &[&str]) -> Result<Value, String> {
    // Checked on the text as sent, before it is read: a JSON field's or a key's too
    // (`model::validate` checks the text values it stores).
    if posted.iter().any(|s| s.contains('\0')) {
        return Err(model::NUL_REFUSED.into());
    }
    if field.ty == FieldType::ManyToMany {
        let keys = posted.iter().filter(|s| !s.is_empty()).map(|s| key(s));
        return Ok(Value::Array(keys.collect()));
    }
    let raw = posted.last().copied().unwrap_or("");
    if field.ty == FieldType::Boolean {
        return match raw {
            "" | "off" | "false" | "0" => Ok(Value::Bool(false)),
            "on" | "true" | "1" => Ok(Value::Bool(true)),
            _ => Err(format!("expected a checkbox, got {raw:?}")),
        };
    }
    if raw.trim().is_empty() {
        return if field.null {
            Ok(Value::Null)
        } else {
            Err("this field is required".into())
        };
    }
    let value = match field.ty {
        FieldType::Integer => crate::query::parse_int(raw)
            .ok_or_else(|| format!("expected a whole number, got {raw:?}"))?,
        FieldType::Float => crate::query::parse_float(raw)
            .ok_or_else(|| format!("expected a number, got {raw:?}"))?,
        FieldType::ForeignKey => key(raw),
        FieldType::Json => serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?,
        _ => Value::String(raw.to_string()),
    };
    model::validate(field, &value)
}

/// A posted key: an integer when it reads as one, else the text (a slug primary key).
fn key(raw: &str) -> Value {
    raw.trim()
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Insert a row of `model` from `values` (field name → value read by [`read_field`]) in one
/// transaction, with its many_to_many sets; returns the new row (column → value) once
/// committed.
/// Fields left out take their default, or the time for `auto_now`/`auto_now_add`. With `log`,
/// the history log gets its "Added." row in the same transaction.
pub fn insert_row(
    conn: &mut Connection,
    models: &Models,
    model: &Model,
    values: &[(&str, Value)],
    log: Option<&Actor>,
) -> Result<Map<String, Value>, WriteError> {
    let now = Now::new();
    let given = |name: &str| values.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let mut cols = Vec::new();
    let mut params = Vec::new();
    for (i, f) in model.fields.iter().enumerate() {
        let value = match given(&f.name) {
            Some(v) => v.clone(),
            None if f.auto_now || f.auto_now_add => now.of(f),
            None if i == model.pk => continue,
            None => match &f.default {
                Some(d) => d.clone(),
                None => continue,
            },
        };
        cols.push(ident(&f.column));
        params.push(to_sql(f.ty, &value));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    check_targets(&tx, models, model, values)?;
    let table = ident(&model.table);
    let sql = if cols.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES")
    } else {
        let marks = vec!["?"; cols.len()].join(", ");
        format!("INSERT INTO {table} ({}) VALUES ({marks})", cols.join(", "))
    };
    if let Err(e) = tx.execute(&sql, rusqlite::params_from_iter(params.iter())) {
        return Err(unique_field(model, &e).unwrap_or_else(|| DbError::at(&sql, e).into()));
    }
    let pk = match given(&model.pk_field().name) {
        Some(v) => to_sql(model.pk_field().ty, v),
        None => SqlValue::Integer(tx.last_insert_rowid()),
    };
    write_many(&tx, models, model, values, &pk)?;
    let row = read_row(&tx, model, &pk)?;
    if let Some(actor) = log {
        history::log(&tx, actor, model, &row, Action::Added, &[])?;
    }
    tx.commit()?;
    Ok(row)
}

/// Change the row of `model` whose column `by.0` holds `by.1` to `values` (as
/// [`insert_row`] takes them) in one transaction, its many_to_many sets included; `auto_now`
/// fields take the time. Returns the row as committed, or [`WriteError::NotFound`]. A unique
/// value is refused only when another row holds it. With `log`, the history log gets a row
/// naming the fields of `values` whose stored value changed (read before and after, in the
/// same transaction).
pub fn update_row(
    conn: &mut Connection,
    models: &Models,
    model: &Model,
    by: (&Field, &SqlValue),
    values: &[(&str, Value)],
    log: Option<&Actor>,
) -> Result<Map<String, Value>, WriteError> {
    let now = Now::new();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let pk = find_pk(&tx, model, by)?.ok_or(WriteError::NotFound)?;
    let before = match log {
        Some(_) => Some(with_many(&tx, model, &pk, read_row(&tx, model, &pk)?)?),
        None => None,
    };
    let mut sets = Vec::new();
    let mut params = Vec::new();
    for f in &model.fields {
        let value = match values.iter().find(|(n, _)| *n == f.name) {
            Some((_, v)) => v.clone(),
            None if f.auto_now => now.of(f),
            None => continue,
        };
        sets.push(format!("{} = ?", ident(&f.column)));
        params.push(to_sql(f.ty, &value));
    }
    check_targets(&tx, models, model, values)?;
    let pk_field = model.pk_field();
    if !sets.is_empty() {
        let sql = format!(
            "UPDATE {} SET {} WHERE {} = ?",
            ident(&model.table),
            sets.join(", "),
            ident(&pk_field.column)
        );
        params.push(pk.clone());
        if let Err(e) = tx.execute(&sql, rusqlite::params_from_iter(params.iter())) {
            return Err(unique_field(model, &e).unwrap_or_else(|| DbError::at(&sql, e).into()));
        }
    }
    let pk = match values.iter().find(|(n, _)| *n == pk_field.name) {
        Some((_, v)) => to_sql(pk_field.ty, v),
        None => pk,
    };
    write_many(&tx, models, model, values, &pk)?;
    let row = read_row(&tx, model, &pk)?;
    if let (Some(actor), Some(before)) = (log, before) {
        let after = with_many(&tx, model, &pk, row.clone())?;
        let changed = changed_fields(model, values, &before, &after);
        history::log(&tx, actor, model, &row, Action::Changed, &changed)?;
    }
    tx.commit()?;
    Ok(row)
}

/// The names of the fields in `values` whose stored value differs between `before` and
/// `after` (a many_to_many field: its set of keys), in the order of `values`.
fn changed_fields<'v>(
    model: &Model,
    values: &'v [(&str, Value)],
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<&'v str> {
    values
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            let key = model.field(name).map_or(*name, |f| f.column.as_str());
            before.get(key) != after.get(key)
        })
        .collect()
}

/// The primary key of the row of `model` whose column `by.0` holds `by.1`, if there is one.
fn find_pk(
    conn: &Connection,
    model: &Model,
    (field, value): (&Field, &SqlValue),
) -> Result<Option<SqlValue>, DbError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        ident(&model.pk_field().column),
        ident(&model.table),
        ident(&field.column)
    );
    conn.query_row(&sql, [value], |r| r.get::<_, SqlValue>(0))
        .optional()
        .map_err(|e| DbError::at(&sql, e))
}

/// The row of `model` whose column `by.0` holds `by.1` (column → value), with each
/// many_to_many field's target keys under the field's name; `None` when there is none.
pub fn find_row(
    conn: &Connection,
    model: &Model,
    by: (&Field, &SqlValue),
) -> Result<Option<Map<String, Value>>, DbError> {
    let Some(pk) = find_pk(conn, model, by)? else {
        return Ok(None);
    };
    with_many(conn, model, &pk, read_row(conn, model, &pk)?).map(Some)
}

/// `row` (the row of `model` whose primary key is `pk`, as [`read_row`] reads it) with each
/// many_to_many field's target keys under the field's name.
fn with_many(
    conn: &Connection,
    model: &Model,
    pk: &SqlValue,
    mut row: Map<String, Value>,
) -> Result<Map<String, Value>, DbError> {
    for f in &model.many {
        let join = super::many::join_table(model, f)?;
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = ?1 ORDER BY 1",
            ident(&join.to),
            ident(&join.table),
            ident(&join.from)
        );
        let mut stmt = conn
            .prepare_cached(&sql)
            .map_err(|e| DbError::at(&sql, e))?;
        let keys = stmt
            .query_map([pk], |r| r.get::<_, SqlValue>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| DbError::at(&sql, e))?;
        let keys = keys.into_iter().map(|k| to_json(FieldType::String, k));
        row.insert(f.name.clone(), Value::Array(keys.collect()));
    }
    Ok(row)
}

/// Every foreign key and many_to_many value in `values` must name an existing row.
fn check_targets(
    conn: &Connection,
    models: &Models,
    model: &Model,
    values: &[(&str, Value)],
) -> Result<(), WriteError> {
    for (name, v) in values {
        if let Some(f) = model.field(name).filter(|f| f.ty == FieldType::ForeignKey) {
            check_target(conn, models, f, v)?;
        } else if let (Some(f), Value::Array(keys)) = (model.many_field(name), v) {
            for k in keys {
                check_target(conn, models, f, k)?;
            }
        }
    }
    Ok(())
}

/// Make each many_to_many set given in `values` the whole set of the row `pk`.
fn write_many(
    conn: &Connection,
    models: &Models,
    model: &Model,
    values: &[(&str, Value)],
    pk: &SqlValue,
) -> Result<(), WriteError> {
    for f in &model.many {
        let Some((_, Value::Array(keys))) = values.iter().find(|(n, _)| *n == f.name) else {
            continue;
        };
        let target = f.to.as_ref().and_then(|t| models.get(t));
        let ty = target.map_or(FieldType::Integer, |t| t.pk_field().ty);
        let keys: Vec<SqlValue> = keys.iter().map(|k| to_sql(ty, k)).collect();
        super::set_many(conn, model, f, pk, &keys)?;
    }
    Ok(())
}

/// The row of `model` whose primary key is `pk`, column → value.
fn read_row(
    conn: &Connection,
    model: &Model,
    pk: &SqlValue,
) -> Result<Map<String, Value>, DbError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        model.columns_sql,
        ident(&model.table),
        ident(&model.pk_field().column)
    );
    conn.query_row(&sql, [pk], |r| {
        let mut row = Map::new();
        for (i, f) in model.fields.iter().enumerate() {
            row.insert(f.column.clone(), to_json(f.ty, r.get(i)?));
        }
        Ok(row)
    })
    .map_err(|e| DbError::at(&sql, e))
}

/// What deleting a row does to other rows, as SQLite's foreign keys will do it (the schema
/// declares `ON DELETE CASCADE`, `RESTRICT` or `SET NULL` for each foreign key, the join tables
/// cascade, and every connection turns `PRAGMA foreign_keys` on): what goes with it, what is
/// kept with a key emptied, and what forbids it. Each entry is one model (or join table).
#[derive(Debug, Default, PartialEq)]
pub struct CascadePlan {
    /// The rows deleted, the row itself first, then per model in the order they were found.
    pub deleted: Vec<PlanEntry>,
    /// Rows whose foreign key is set to null (`on_delete: set_null`).
    pub set_null: Vec<PlanEntry>,
    /// Rows that point at a deleted row through an `on_delete: restrict` key: while there
    /// are any, the delete is refused.
    pub blocked: Vec<PlanEntry>,
}

/// Rows of one model: its name (a join table: `Post.tags`), how many, and the first few
/// labels (the first string field, else the key).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanEntry {
    pub model: String,
    pub count: usize,
    pub labels: Vec<String>,
}

/// How many labels a plan names per model.
const PLAN_LABELS: usize = 5;

/// The plan of deleting the row of `model` whose primary key is `pk`: every row the cascade
/// removes, transitively, counted per model. The admin's delete page reads it too.
pub fn cascade_plan(
    conn: &Connection,
    models: &Models,
    model: &Model,
    pk: &SqlValue,
) -> Result<CascadePlan, DbError> {
    let mut plan = CascadePlan::default();
    // The keys planned for deletion, per model: a row is listed once, and a cycle of foreign
    // keys ends.
    let mut seen: HashMap<String, Vec<SqlValue>> = HashMap::new();
    seen.insert(model.name.clone(), vec![pk.clone()]);
    let first = rows_where(
        conn,
        model,
        &model.pk_field().column,
        std::slice::from_ref(pk),
    )?;
    add(&mut plan.deleted, &model.name, &first);
    let mut queue = vec![(model.name.clone(), vec![pk.clone()])];
    while let Some((name, fresh)) = queue.pop() {
        let Some(parent) = models.get(&name) else {
            continue;
        };
        for child in models.values() {
            for f in child
                .fields
                .iter()
                .filter(|f| f.to.as_deref() == Some(&name))
            {
                let rows = rows_where(conn, child, &f.column, &fresh)?;
                if rows.is_empty() {
                    continue;
                }
                match f.on_delete {
                    OnDelete::Cascade => {
                        let done = seen.entry(child.name.clone()).or_default();
                        let rows: Vec<_> = rows
                            .into_iter()
                            .filter(|(k, _)| !done.contains(k))
                            .collect();
                        if rows.is_empty() {
                            continue;
                        }
                        done.extend(rows.iter().map(|(k, _)| k.clone()));
                        add(&mut plan.deleted, &child.name, &rows);
                        queue.push((child.name.clone(), rows.into_iter().map(|r| r.0).collect()));
                    }
                    OnDelete::SetNull => add(&mut plan.set_null, &child.name, &rows),
                    OnDelete::Restrict => add(&mut plan.blocked, &child.name, &rows),
                }
            }
            for f in &child.many {
                let join = super::many::join_table(child, f)?;
                let mut links = 0;
                if child.name == name {
                    links += count_in(conn, &join.table, &join.from, &fresh)?;
                }
                if f.to.as_deref() == Some(parent.name.as_str()) {
                    links += count_in(conn, &join.table, &join.to, &fresh)?;
                }
                if links > 0 {
                    let entry = format!("{}.{}", child.name, f.name);
                    add_count(&mut plan.deleted, &entry, links, &[]);
                }
            }
        }
    }
    Ok(plan)
}

/// Delete the row of `model` whose column `by.0` holds `by.1`, and what its foreign keys
/// cascade to, in one transaction; returns the row as it was (column → value, read in the
/// transaction). [`WriteError::NotFound`] when there is no such row, a
/// [`WriteError::Field`] (named after the model) when `on_delete: restrict` rows forbid it.
/// With `log`, the history log's "Deleted." row is written first, in the same transaction: a
/// refused delete rolls it back with the rest.
pub fn delete_row(
    conn: &mut Connection,
    model: &Model,
    by: (&Field, &SqlValue),
    log: Option<&Actor>,
) -> Result<Map<String, Value>, WriteError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let pk = find_pk(&tx, model, by)?.ok_or(WriteError::NotFound)?;
    let row = read_row(&tx, model, &pk)?;
    if let Some(actor) = log {
        history::log(&tx, actor, model, &row, Action::Deleted, &[])?;
    }
    let sql = format!(
        "DELETE FROM {} WHERE {} = ?1",
        ident(&model.table),
        ident(&model.pk_field().column)
    );
    match tx.execute(&sql, [&pk]) {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            return Err(WriteError::Field(
                model.name.clone(),
                "other rows point at this one and forbid deleting it (on_delete: restrict)".into(),
            ));
        }
        Err(e) => return Err(DbError::at(&sql, e).into()),
    }
    tx.commit()?;
    Ok(row)
}

/// How many keys one `IN (…)` binds: far below SQLite's limit on a statement's parameters.
const IN_CHUNK: usize = 500;

/// The rows of `model` whose `column` is one of `keys`: each one's key and label.
fn rows_where(
    conn: &Connection,
    model: &Model,
    column: &str,
    keys: &[SqlValue],
) -> Result<Vec<(SqlValue, String)>, DbError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT {}, {} FROM {} WHERE {} IN ({marks}) ORDER BY 1",
            ident(&model.pk_field().column),
            ident(&label_field(model).column),
            ident(&model.table),
            ident(column)
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| DbError::at(&sql, e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(chunk.iter()), |r| {
                Ok((r.get::<_, SqlValue>(0)?, text(r.get(1)?)))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| DbError::at(&sql, e))?;
        out.extend(rows);
    }
    Ok(out)
}

/// How many rows of `table` have `column` in `keys`.
fn count_in(
    conn: &Connection,
    table: &str,
    column: &str,
    keys: &[SqlValue],
) -> Result<usize, DbError> {
    let mut total = 0;
    for chunk in keys.chunks(IN_CHUNK) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {} IN ({marks})",
            ident(table),
            ident(column)
        );
        let n = conn
            .query_row(&sql, rusqlite::params_from_iter(chunk.iter()), |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| DbError::at(&sql, e))?;
        total += usize::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

fn add(list: &mut Vec<PlanEntry>, model: &str, rows: &[(SqlValue, String)]) {
    let labels: Vec<String> = rows.iter().map(|(_, l)| l.clone()).collect();
    add_count(list, model, rows.len(), &labels);
}

fn add_count(list: &mut Vec<PlanEntry>, model: &str, count: usize, labels: &[String]) {
    let entry = match list.iter_mut().position(|e| e.model == model) {
        Some(i) => &mut list[i],
        None => {
            list.push(PlanEntry {
                model: model.to_string(),
                count: 0,
                labels: Vec::new(),
            });
            list.last_mut().expect("just pushed")
        }
    };
    entry.count += count;
    let room = PLAN_LABELS.saturating_sub(entry.labels.len());
    entry.labels.extend(labels.iter().take(room).cloned());
}

/// The field that names a row of `model` in a select or a plan: its first string field,
/// else its primary key.
pub fn label_field(model: &Model) -> &Field {
    model
        .fields
        .iter()
        .find(|f| f.ty == FieldType::String)
        .unwrap_or(model.pk_field())
}

/// A stored value as text, for a label or a select's value.
fn text(v: SqlValue) -> String {
    match to_json(FieldType::String, v) {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// How many rows a form's select lists (besides the chosen ones).
const OPTIONS: u32 = 1000;

/// The rows a foreign key or many_to_many field may point at, for a form's select: each
/// row's key as text and its label (its first string field, else the key), the first
/// [`OPTIONS`] in key order, then each row of `chosen` (the keys the field holds) past them,
/// so that the select still shows the row's value chosen and saving the form keeps it.
pub fn options(
    conn: &Connection,
    target: &Model,
    chosen: &[String],
) -> Result<Vec<(String, String)>, DbError> {
    let sql = format!("{} ORDER BY 1 LIMIT {OPTIONS}", select_labels(target));
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(|e| DbError::at(&sql, e))?;
    let mut rows = stmt
        .query_map([], |r| Ok((text(r.get(0)?), text(r.get(1)?))))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| DbError::at(&sql, e))?;
    if rows.len() < OPTIONS as usize {
        return Ok(rows);
    }
    let mut past: Vec<String> = Vec::new();
    for key in chosen {
        if !rows.iter().any(|(k, _)| k == key) && !past.contains(key) {
            past.push(key.clone());
        }
    }
    rows.extend(labels(conn, target, &past)?);
    Ok(rows)
}

/// Whether `target` has more rows than a select lists ([`OPTIONS`]): the admin then asks for
/// the key in a text input instead (Django's `raw_id_fields`).
pub fn past_options(conn: &Connection, target: &Model) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} LIMIT 1 OFFSET {OPTIONS})",
        ident(&target.table)
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
        .map_err(|e| DbError::at(&sql, e))
}

/// The rows of `target` whose keys are in `keys` (as text), each with its label, in the
/// order of `keys`; a key that names no row (or is empty) is left out.
pub fn labels(
    conn: &Connection,
    target: &Model,
    keys: &[String],
) -> Result<Vec<(String, String)>, DbError> {
    let sql = format!(
        "{} WHERE {} = ?1",
        select_labels(target),
        ident(&target.pk_field().column)
    );
    // As `check_target` reads a key: `1.0` names no row of an integer key.
    let integer = target.pk_field().ty == FieldType::Integer;
    let mut rows = Vec::new();
    for key in keys
        .iter()
        .filter(|k| !k.is_empty() && (!integer || k.parse::<i64>().is_ok()))
    {
        let row = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_row([key], |r| Ok((text(r.get(0)?), text(r.get(1)?))))
                    .optional()
            })
            .map_err(|e| DbError::at(&sql, e))?;
        rows.extend(row);
    }
    Ok(rows)
}

/// `SELECT key, label FROM target`: what a choice of `target`'s rows shows.
fn select_labels(target: &Model) -> String {
    format!(
        "SELECT {}, {} FROM {}",
        ident(&target.pk_field().column),
        ident(&label_field(target).column),
        ident(&target.table)
    )
}

/// A foreign key's (or many_to_many's) target row must exist: else a message for the field.
fn check_target(
    conn: &Connection,
    models: &Models,
    field: &Field,
    key: &Value,
) -> Result<(), WriteError> {
    if key.is_null() {
        return Ok(());
    }
    let Some(target) = field.to.as_ref().and_then(|t| models.get(t)) else {
        return Err(DbError::Invalid(format!("`{}` names no model", field.name)).into());
    };
    let pk = target.pk_field();
    let sql = format!(
        "SELECT 1 FROM {} WHERE {} = ?1",
        ident(&target.table),
        ident(&pk.column)
    );
    // A key that is not a whole number names no row of an integer key, as in Django's
    // ModelChoiceField (`int("1.0")` fails); SQLite alone would compare the text `1.0` as 1.
    let found = (pk.ty != FieldType::Integer || key.is_i64())
        && conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.exists([to_sql(pk.ty, key)]))
            .map_err(|e| DbError::at(&sql, e))?;
    if found {
        Ok(())
    } else {
        let shown = key.as_str().map_or_else(|| key.to_string(), str::to_string);
        Err(WriteError::Field(
            field.name.clone(),
            format!("no {} with key {shown:?}", target.name),
        ))
    }
}

/// SQLite's "UNIQUE constraint failed: post.slug" as a message for the field `slug`.
fn unique_field(model: &Model, e: &rusqlite::Error) -> Option<WriteError> {
    let text = e.to_string();
    let cols = text.strip_prefix("UNIQUE constraint failed: ")?;
    let column = cols.split(", ").next()?.rsplit('.').next()?;
    let f = model.fields.iter().find(|f| f.column == column)?;
    Some(WriteError::Field(
        f.name.clone(),
        format!("a {} with this {} already exists", model.name, f.name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fixtures::testing::Db;

    fn read(db: &Db, name: &str, posted: &[&str]) -> Result<Value, String> {
        let post = db.models.get("Post").unwrap();
        let f = post.field(name).or_else(|| post.many_field(name)).unwrap();
        read_field(f, posted)
    }

    #[test]
    fn posted_text_is_read_by_type_and_checked_by_the_fixture_rules() {
        let db = Db::new();
        assert_eq!(read(&db, "title", &["Hello"]), Ok(Value::from("Hello")));
        assert_eq!(
            read(&db, "title", &[""]),
            Err("this field is required".into())
        );
        assert_eq!(
            read(&db, "title", &[]),
            Err("this field is required".into())
        );
        assert_eq!(read(&db, "body", &[""]), Ok(Value::Null));
        assert!(read(&db, "title", &[&"x".repeat(41)])
            .unwrap_err()
            .contains("at most 40 characters"));
        assert!(read(&db, "slug", &["a b"]).unwrap_err().contains("a slug"));
        assert!(read(&db, "status", &["gone"]).is_err());
        assert_eq!(read(&db, "published", &[]), Ok(Value::Bool(false)));
        assert_eq!(read(&db, "published", &["on"]), Ok(Value::Bool(true)));
        assert!(read(&db, "published", &["maybe"]).is_err());
        assert_eq!(read(&db, "rating", &["2.5"]), Ok(Value::from(2.5)));
        assert!(read(&db, "rating", &["NaN"]).is_err());
        assert_eq!(read(&db, "author", &["3"]), Ok(Value::from(3)));
        assert_eq!(
            read(&db, "tags", &["rust", "", "web"]),
            Ok(Value::from(vec!["rust", "web"]))
        );
        // What a browser's datetime-local input sends (no seconds) is a datetime.
        assert!(read(&db, "created_at", &["2026-01-02T03:04"]).is_ok());
        assert!(read(&db, "created_at", &["tomorrow"]).is_err());
        // The last of repeated values counts, as Django's QueryDict.get.
        assert_eq!(read(&db, "title", &["a", "b"]), Ok(Value::from("b")));
    }

    /// The test database with author 1 and the tags `rust` and `web`.
    fn with_author_and_tags() -> Db {
        let db = Db::new();
        db.conn
            .execute_batch(
                "INSERT INTO author (id, name, slug) VALUES (1, 'A', 'a');
                 INSERT INTO tag (code, label) VALUES ('rust', 'Rust'), ('web', 'Web');",
            )
            .unwrap();
        db
    }

    #[test]
    fn a_row_is_inserted_with_its_set_and_refusals_name_the_field() {
        let mut db = with_author_and_tags();
        let models = db.models.clone();
        let post = models.get("Post").unwrap();
        let row = |slug: &str, author: i64, tags: Vec<&str>| {
            vec![
                ("title", Value::from("T")),
                ("slug", Value::from(slug)),
                ("author", Value::from(author)),
                ("tags", Value::from(tags)),
            ]
        };
        let new = insert_row(
            &mut db.conn,
            &models,
            post,
            &row("t", 1, vec!["web", "rust"]),
            None,
        )
        .unwrap();
        assert_eq!(
            (&new["id"], &new["slug"]),
            (&Value::from(1), &Value::from("t"))
        );
        assert_eq!(
            db.text("SELECT title || ' ' || status || ' ' || published || ' ' || (created_at != '') FROM post"),
            "T draft 1 1"
        );
        assert_eq!(
            db.text("SELECT group_concat(tag_id, ' ') FROM (SELECT tag_id FROM post_tags ORDER BY tag_id)"),
            "rust web"
        );
        // A taken slug, an author or a tag that does not exist: a message for the field, and
        // nothing written.
        let field = |r: Result<Map<String, Value>, WriteError>| match r {
            Err(WriteError::Field(f, m)) => (f, m),
            other => panic!("{other:?}"),
        };
        let mut insert = |r: Vec<(&str, Value)>| insert_row(&mut db.conn, &models, post, &r, None);
        assert_eq!(
            field(insert(row("t", 1, vec![]))),
            ("slug".into(), "a Post with this slug already exists".into())
        );
        assert_eq!(
            field(insert(row("u", 9, vec![]))),
            ("author".into(), "no Author with key \"9\"".into())
        );
        assert_eq!(
            field(insert(row("u", 1, vec!["nope"]))),
            ("tags".into(), "no Tag with key \"nope\"".into())
        );
        assert_eq!(db.count("post"), 1);
        assert_eq!(db.count("post_tags"), 2);
    }

    /// A select lists the first rows in key order, and a row the field holds past them too,
    /// so that an edited row's choice is shown chosen and saving keeps it.
    #[test]
    fn options_add_the_chosen_rows_past_the_first_ones_once() {
        let db = Db::new();
        db.conn
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
                 INSERT INTO author (id, name, slug) SELECT i, 'a' || i, 's' || i FROM n;",
            )
            .unwrap();
        let author = db.models.get("Author").unwrap();
        let keys = |chosen: &[&str]| -> Vec<String> {
            let chosen: Vec<String> = chosen.iter().map(|s| s.to_string()).collect();
            options(&db.conn, author, &chosen)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        let first = keys(&[]);
        assert_eq!(first.len(), OPTIONS as usize);
        assert_eq!((first[0].as_str(), first[999].as_str()), ("1", "1000"));
        let with = keys(&["1100", "", "5", "1100", "9999"]);
        assert_eq!(with.len(), OPTIONS as usize + 1);
        assert_eq!(with.last().map(String::as_str), Some("1100"));
        let labels = options(&db.conn, author, &["1150".into()]).unwrap();
        assert_eq!(
            labels.last(),
            Some(&("1150".to_string(), "a1150".to_string()))
        );
    }

    /// More rows than one `IN (…)` binds: the plan counts them all, and the delete then
    /// removes exactly those (the foreign keys are on, as every connection sets them).
    #[test]
    fn a_large_cascade_is_planned_whole_and_is_what_sqlite_deletes() {
        let mut db = Db::new();
        db.conn
            .execute_batch(
                "INSERT INTO author (id, name, slug) VALUES (1, 'A', 'a'), (2, 'B', 'b');
                 INSERT INTO tag (code, label) VALUES ('rust', 'Rust');
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1201)
                 INSERT INTO post (id, title, slug, status, published, created_at, author_id)
                 SELECT i, 'p' || i, 's' || i, 'draft', 1, '', CASE WHEN i = 1201 THEN 2 ELSE 1 END
                 FROM n;
                 INSERT INTO post_tags (post_id, tag_id) SELECT id, 'rust' FROM post;",
            )
            .unwrap();
        let models = db.models.clone();
        let author = models.get("Author").unwrap();
        let plan = cascade_plan(&db.conn, &models, author, &SqlValue::Integer(1)).unwrap();
        let counts: Vec<(&str, usize)> = plan
            .deleted
            .iter()
            .map(|e| (e.model.as_str(), e.count))
            .collect();
        assert_eq!(counts, [("Author", 1), ("Post", 1200), ("Post.tags", 1200)]);
        assert_eq!(plan.deleted[1].labels, ["p1", "p2", "p3", "p4", "p5"]);
        assert!(plan.blocked.is_empty() && plan.set_null.is_empty());
        let id = author.pk_field();
        delete_row(&mut db.conn, author, (id, &SqlValue::Integer(1)), None).unwrap();
        assert_eq!(db.count("author"), 1);
        assert_eq!(db.count("post"), 1);
        assert_eq!(db.count("post_tags"), 1);
        assert!(matches!(
            delete_row(&mut db.conn, author, (id, &SqlValue::Integer(1)), None),
            Err(WriteError::NotFound)
        ));
    }

    /// Each write with a log adds exactly one row in its transaction; a refused or
    /// rolled-back write leaves none.
    #[test]
    fn logged_writes_add_one_row_each_and_refusals_none() {
        let mut db = with_author_and_tags();
        let models = db.models.clone();
        let post = models.get("Post").unwrap();
        let actor = Actor {
            user: Some((7, "ada".into())),
        };
        let log = Some(&actor);
        let values = |title: &str, slug: &str, tags: Vec<&str>| {
            vec![
                ("title", Value::from(title)),
                ("slug", Value::from(slug)),
                ("author", Value::from(1)),
                ("tags", Value::from(tags)),
            ]
        };
        insert_row(
            &mut db.conn,
            &models,
            post,
            &values("T", "t", vec!["rust"]),
            log,
        )
        .unwrap();
        insert_row(&mut db.conn, &models, post, &values("U", "u", vec![]), None).unwrap();
        let entries = |db: &Db| history::for_object(&db.conn, "Post", "1").unwrap();
        let added = &entries(&db)[0];
        assert_eq!(
            (
                added.user_id,
                added.username.as_deref(),
                added.action.as_str()
            ),
            (Some(7), Some("ada"), "added")
        );
        assert_eq!(
            (added.object_repr.as_str(), added.change_message.as_str()),
            ("T", "Added.")
        );
        assert!(added.action_time.ends_with('Z'), "{}", added.action_time);
        let id = post.pk_field();
        let one = SqlValue::Integer(1);
        let update = |db: &mut Db, v: &[(&str, Value)]| {
            update_row(&mut db.conn, &models, post, (id, &one), v, log)
        };
        update(&mut db, &values("T2", "t", vec!["rust"])).unwrap();
        update(&mut db, &values("T2", "t", vec!["rust", "web"])).unwrap();
        update(&mut db, &values("T3", "t2", vec![])).unwrap();
        update(&mut db, &values("T3", "t2", vec![])).unwrap();
        // A taken slug is refused before anything is logged.
        assert!(update(&mut db, &values("T4", "u", vec![])).is_err());
        let messages: Vec<String> = entries(&db).into_iter().map(|e| e.change_message).collect();
        assert_eq!(
            messages,
            [
                "No fields changed.",
                "Changed title, slug and tags.",
                "Changed tags.",
                "Changed title.",
                "Added."
            ]
        );
        assert_eq!(entries(&db)[1].object_repr, "T3");
        // A delete that fails after its log row was written rolls that row back too.
        db.conn
            .execute_batch(
                "CREATE TRIGGER keep BEFORE DELETE ON post BEGIN SELECT RAISE(ABORT, 'kept'); END;",
            )
            .unwrap();
        let refused = delete_row(&mut db.conn, post, (id, &one), log);
        assert!(matches!(refused, Err(WriteError::Field(..))), "{refused:?}");
        assert_eq!((db.count("post"), db.count(history::TABLE)), (2, 5));
        db.conn.execute_batch("DROP TRIGGER keep").unwrap();
        let gone = delete_row(&mut db.conn, post, (id, &one), log).unwrap();
        assert_eq!(gone["title"], "T3");
        let deleted = &entries(&db)[0];
        assert_eq!(
            (deleted.action.as_str(), deleted.change_message.as_str()),
            ("deleted", "Deleted.")
        );
        assert_eq!(deleted.object_repr, "T3");
        assert_eq!((db.count("post"), db.count(history::TABLE)), (1, 6));
    }
}
