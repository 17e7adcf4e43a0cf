//! Fixtures: rows loaded from YAML, JSON or CSV files in one transaction, and dumped back.
//!
//! YAML and JSON files use Django's fixture format, a list of
//! `{model: Post, pk: 1, fields: {title: …, author: 3}}`; a CSV file is named after its model
//! (`Post.csv`, `posts.csv`) and its header row names the fields (`id` or `pk` for the primary
//! key). Every value goes through `model::validate`, as a form's would. Loading is all or
//! nothing: every problem of every file is reported (with its file and row) and, if there is
//! one, nothing is written. A row whose primary key exists is updated, as Django's `loaddata`
//! does, so loading the same fixture twice is harmless. Foreign keys are checked at the end
//! (deferred), so rows may come in any order.
//!
//! `dump` writes a model's rows back in the YAML format; dump then load round-trips. The YAML is
//! written here by hand (only `config/yaml.rs` knows `serde_yaml`) and read back through
//! `config::yaml::parse_yaml_value`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, ErrorCode, TransactionBehavior};
use serde_json::Value;

use super::ident;
use super::model::{validate, Field, Model, Models};
use super::query::to_sql;
use crate::config::diagnostic::{did_you_mean, short_path, suggestion};
use crate::config::raw::FieldType;

/// What a successful load wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// Rows inserted or updated, over all files.
    pub rows: usize,
    /// Rows per model, in the order the models are declared; models with no rows left out.
    pub per_model: Vec<(String, usize)>,
}

/// One problem, naming the file, the row (1-based position in the file; for CSV the line
/// number) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureError {
    pub file: PathBuf,
    pub row: Option<usize>,
    /// What is wrong. For a row it starts with the row's model and key in parentheses:
    /// `(Post pk=12): field `slug`: …`.
    pub message: String,
}

impl fmt::Display for FixtureError {
    /// `posts.yaml: row 12 (Post pk=12): field `slug`: a slug holds only …`; a CSV file counts
    /// lines (`posts.csv: line 4 (Post pk=3): …`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", short_path(&self.file).display())?;
        if let Some(row) = self.row {
            let unit = if is_csv(&self.file) { "line" } else { "row" };
            write!(f, ": {unit} {row}")?;
            if self.message.starts_with('(') {
                return write!(f, " {}", self.message);
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FixtureError {}

fn is_csv(path: &Path) -> bool {
    extension(path) == "csv"
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Load fixture files into the database in ONE transaction: all rows of all files, or none.
pub fn load(
    conn: &mut Connection,
    models: &Models,
    files: &[PathBuf],
) -> Result<LoadReport, Vec<FixtureError>> {
    let db_file = PathBuf::from(conn.path().filter(|p| !p.is_empty()).unwrap_or("database"));
    let mut reader = Reader {
        models,
        files,
        now: Now::new(),
        rows: Vec::new(),
        errors: Vec::new(),
        failed: HashSet::new(),
    };
    for at in 0..files.len() {
        reader.read(at);
    }
    let Reader {
        rows,
        mut errors,
        failed,
        ..
    } = reader;

    let db_error = |e: rusqlite::Error| {
        vec![FixtureError {
            file: db_file.clone(),
            row: None,
            message: format!("database error: {e}"),
        }]
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    // Rows may point at rows further down, or in a later file: check foreign keys at the end.
    tx.execute_batch("PRAGMA defer_foreign_keys = ON")
        .map_err(db_error)?;

    // (model, primary key) → (file, row) of every row written, to place later errors.
    let mut origin: HashMap<(String, String), (usize, usize)> = HashMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut touched: Vec<Arc<Model>> = Vec::new();
    let mut written = 0;
    for row in &rows {
        let m = &row.model;
        match insert(&tx, row) {
            Ok(pk) => {
                written += 1;
                *counts.entry(m.name.clone()).or_default() += 1;
                if !touched.iter().any(|t| t.name == m.name) {
                    touched.push(m.clone());
                }
                origin.insert((m.name.clone(), pk), (row.at, row.row));
            }
            Err(e) => {
                let message = refusal(&tx, files, &origin, row, e);
                errors.push(row_error(files, row.at, row.row, message));
            }
        }
    }
    for m in &touched {
        match dangling(&tx, models, m) {
            Ok(found) => {
                for d in found {
                    if failed.contains(&(d.target.clone(), d.value.clone())) {
                        // The target row is in a fixture but was refused: already reported.
                        continue;
                    }
                    let what = format!("field `{}`: no {} with pk {}", d.field, d.target, d.value);
                    match origin.get(&(m.name.clone(), d.pk.clone())) {
                        Some(&(at, row)) => errors.push(row_error(
                            files,
                            at,
                            row,
                            format!("({} pk={}): {what}", m.name, d.pk),
                        )),
                        None => errors.push(FixtureError {
                            file: db_file.clone(),
                            row: None,
                            message: format!(
                                "{} pk={} (already in the database): {what}",
                                m.name, d.pk
                            ),
                        }),
                    }
                }
            }
            Err(e) => errors.extend(db_error(e)),
        }
    }
    if !errors.is_empty() {
        // Dropping the transaction rolls it back: nothing is written.
        drop(tx);
        let place = |e: &FixtureError| {
            let at = files
                .iter()
                .position(|f| *f == e.file)
                .unwrap_or(usize::MAX);
            (at, e.row.unwrap_or(0))
        };
        errors.sort_by_key(place);
        return Err(errors);
    }
    tx.commit().map_err(db_error)?;
    let per_model = models
        .keys()
        .filter_map(|name| counts.get(name).map(|n| (name.clone(), *n)))
        .collect();
    Ok(LoadReport {
        rows: written,
        per_model,
    })
}

fn row_error(files: &[PathBuf], at: usize, row: usize, message: String) -> FixtureError {
    FixtureError {
        file: files[at].clone(),
        row: Some(row),
        message,
    }
}

/// A row checked and ready to write.
struct Row {
    /// Index of its file.
    at: usize,
    /// 1-based position in the file (the line for CSV).
    row: usize,
    model: Arc<Model>,
    /// The primary key, if given (else the database assigns one).
    pk: Option<Value>,
    /// Every other field's value as stored, by index in `model.fields`.
    values: Vec<(usize, Value)>,
    /// Fields not overwritten when the row already exists (a missing `auto_now_add`).
    keep: Vec<usize>,
}

/// The current time, taken once per load, for `auto_now` and `auto_now_add`.
struct Now {
    datetime: String,
    date: String,
}

impl Now {
    fn new() -> Now {
        let now = chrono::Utc::now();
        Now {
            datetime: now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            date: now.format("%Y-%m-%d").to_string(),
        }
    }
}

/// What a field name in a fixture refers to.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Pk,
    Field(usize),
}

/// Reads every file into checked rows and errors.
struct Reader<'a> {
    models: &'a Models,
    files: &'a [PathBuf],
    now: Now,
    rows: Vec<Row>,
    errors: Vec<FixtureError>,
    /// (model, primary key) of rows refused before reaching the database.
    failed: HashSet<(String, String)>,
}

impl Reader<'_> {
    fn error(&mut self, at: usize, row: Option<usize>, message: impl Into<String>) {
        self.errors.push(FixtureError {
            file: self.files[at].clone(),
            row,
            message: message.into(),
        });
    }

    fn read(&mut self, at: usize) {
        let file = &self.files[at];
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => return self.error(at, None, format!("cannot read file: {e}")),
        };
        match extension(file).as_str() {
            "yaml" | "yml" => match crate::config::yaml::parse_yaml_value(&text) {
                Ok(v) => self.read_rows(at, v),
                Err((message, pos)) => {
                    let place = pos
                        .map(|(l, c)| format!(" at line {l}, column {c}"))
                        .unwrap_or_default();
                    self.error(at, None, format!("invalid YAML{place}: {message}"))
                }
            },
            "json" => match serde_json::from_str(&text) {
                Ok(v) => self.read_rows(at, v),
                Err(e) => self.error(
                    at,
                    None,
                    format!(
                        "invalid JSON at line {}, column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                ),
            },
            "csv" => self.read_csv(at, &text),
            other => self.error(
                at,
                None,
                format!("unknown fixture format `.{other}`: expected .yaml, .yml, .json or .csv"),
            ),
        }
    }

    /// Django's format: a list of `{model, pk, fields}`.
    fn read_rows(&mut self, at: usize, value: Value) {
        let items = match value {
            Value::Null => Vec::new(),
            Value::Array(items) => items,
            _ => {
                return self.error(
                    at,
                    None,
                    "expected a list of rows, each `{model: Post, pk: 1, fields: {…}}`",
                );
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let row = i + 1;
            let Value::Object(item) = item else {
                self.error(
                    at,
                    Some(row),
                    "expected a mapping with keys model, pk and fields",
                );
                continue;
            };
            let mut problems = Vec::new();
            for key in item.keys() {
                if !["model", "pk", "fields"].contains(&key.as_str()) {
                    let hint = did_you_mean(key, ["model", "pk", "fields"])
                        .map(|m| format!(" (did you mean `{m}`?)"))
                        .unwrap_or_default();
                    problems.push(format!(
                        "unknown key `{key}`{hint}; a row has model, pk and fields"
                    ));
                }
            }
            let model = match item.get("model") {
                Some(Value::String(name)) => match find_model(self.models, name) {
                    Some(m) => m.clone(),
                    None => {
                        self.error(at, Some(row), unknown_model(self.models, name));
                        continue;
                    }
                },
                Some(other) => {
                    self.error(
                        at,
                        Some(row),
                        format!("`model` is a model's name, got {other}"),
                    );
                    continue;
                }
                None => {
                    self.error(at, Some(row), "missing `model` (the name of a model)");
                    continue;
                }
            };
            let mut pk = item.get("pk").filter(|v| !v.is_null()).cloned();
            let mut given: Vec<(usize, Result<Value, String>)> = Vec::new();
            match item.get("fields") {
                None | Some(Value::Null) => {}
                Some(Value::Object(fields)) => {
                    for (key, v) in fields {
                        match resolve(&model, key) {
                            Ok(Target::Pk) => match &pk {
                                Some(p) if p != v => problems
                                    .push(format!("field `{key}` ({v}) disagrees with pk {p}")),
                                _ => pk = Some(v.clone()).filter(|v| !v.is_null()),
                            },
                            Ok(Target::Field(i)) => {
                                if given.iter().any(|(j, _)| *j == i) {
                                    problems.push(format!(
                                        "field `{}` is given twice",
                                        model.fields[i].name
                                    ));
                                } else {
                                    given.push((i, Ok(v.clone())));
                                }
                            }
                            Err(why) => problems.push(why),
                        }
                    }
                }
                Some(other) => problems.push(format!(
                    "`fields` is a mapping of field names to values, got {other}"
                )),
            }
            self.finish(at, row, &model, pk.map(Ok), given, problems);
        }
    }

    /// A CSV file: the stem names the model, the header the fields.
    fn read_csv(&mut self, at: usize, text: &str) {
        let file = &self.files[at];
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let Some(model) = csv_model(self.models, stem).cloned() else {
            let known: Vec<&str> = self.models.keys().map(String::as_str).collect();
            return self.error(
                at,
                None,
                format!(
                    "no model is named like `{stem}`: name a CSV file after its model (Post.csv or posts.csv); known: {}",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            );
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return self.error(at, Some(1), format!("unreadable CSV header: {e}")),
        };
        let mut targets: Vec<Option<Target>> = Vec::new();
        for name in header.iter() {
            let name = name.trim();
            let target = match resolve(&model, name) {
                Ok(t) if targets.contains(&Some(t)) => {
                    self.error(
                        at,
                        Some(1),
                        format!("column `{name}` names a field given by an earlier column"),
                    );
                    None
                }
                Ok(t) => Some(t),
                Err(_) if name.is_empty() => {
                    self.error(at, Some(1), "a column has no name in the header row");
                    None
                }
                Err(why) => {
                    self.error(at, Some(1), format!("header: {why}"));
                    None
                }
            };
            targets.push(target);
        }
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize);
                    self.error(at, line, format!("unreadable CSV row: {e}"));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| line_of(text, p));
            let mut pk = None;
            let mut given = Vec::new();
            for (cell, target) in record.iter().zip(&targets) {
                match target {
                    None => {}
                    // An empty key: the database assigns one.
                    Some(Target::Pk) if cell.trim().is_empty() => {}
                    Some(Target::Pk) => pk = Some(from_cell(self.models, model.pk_field(), cell)),
                    Some(Target::Field(i)) => {
                        let f = &model.fields[*i];
                        if cell.is_empty() {
                            if f.null {
                                given.push((*i, Ok(Value::Null)));
                            } else if f.default.is_some() || f.auto_now || f.auto_now_add {
                                // Left out: it gets its default, or the current time.
                            } else if f.is_text() || f.ty == FieldType::Text {
                                given.push((*i, Ok(Value::String(String::new()))));
                            } else {
                                given.push((
                                    *i,
                                    Err("empty, but it cannot be null and has no default".into()),
                                ));
                            }
                        } else {
                            given.push((*i, from_cell(self.models, f, cell)));
                        }
                    }
                }
            }
            self.finish(at, line, &model, pk, given, Vec::new());
        }
    }

    /// Validate a row's values, fill in what is missing, and keep it or report it. A value
    /// given as an error could not be read (a CSV cell) and is reported as the field's.
    fn finish(
        &mut self,
        at: usize,
        row: usize,
        model: &Arc<Model>,
        pk: Option<Result<Value, String>>,
        given: Vec<(usize, Result<Value, String>)>,
        mut problems: Vec<String>,
    ) {
        let context = match &pk {
            Some(Ok(v)) => format!("({} pk={})", model.name, key_text(v)),
            _ => format!("({})", model.name),
        };
        let pk_field = model.pk_field();
        let mut stored_pk = None;
        if let Some(v) = &pk {
            match v
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|v| validate(pk_field, v))
            {
                Ok(Value::Null) => {}
                Ok(v) => stored_pk = Some(v),
                Err(why) => problems.push(format!("primary key `{}`: {why}", pk_field.name)),
            }
        } else if pk_field.ty != FieldType::Integer {
            problems.push(format!(
                "no pk: the primary key `{}` is not an integer, so the database cannot assign one",
                pk_field.name
            ));
        }
        let mut values = Vec::new();
        let mut keep = Vec::new();
        for (i, f) in model.fields.iter().enumerate() {
            if i == model.pk {
                continue;
            }
            match given.iter().find(|(j, _)| *j == i) {
                Some((_, v)) => match v
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|v| validate(f, v))
                {
                    Ok(v) => values.push((i, v)),
                    Err(why) => problems.push(format!("field `{}`: {why}", f.name)),
                },
                None => match self.missing(f) {
                    Some(v) => {
                        if f.auto_now_add && !f.auto_now {
                            keep.push(i);
                        }
                        values.push((i, v));
                    }
                    None => problems.push(format!(
                        "field `{}` is missing, and it has no default and cannot be null",
                        f.name
                    )),
                },
            }
        }
        if problems.is_empty() {
            self.rows.push(Row {
                at,
                row,
                model: model.clone(),
                pk: stored_pk,
                values,
                keep,
            });
        } else {
            if let Some(Ok(v)) = &pk {
                self.failed.insert((model.name.clone(), key_text(v)));
            }
            for p in problems {
                self.error(at, Some(row), format!("{context}: {p}"));
            }
        }
    }

    /// The value of a field a row leaves out, if it may be left out.
    fn missing(&self, f: &Field) -> Option<Value> {
        if let Some(d) = &f.default {
            return Some(d.clone());
        }
        if f.auto_now || f.auto_now_add {
            let now = if f.ty == FieldType::Date {
                &self.now.date
            } else {
                &self.now.datetime
            };
            return Some(Value::String(now.clone()));
        }
        f.null.then_some(Value::Null)
    }
}

/// A model by its name as written in a fixture: `Post`, or case-insensitively `post` or
/// Django's `blog.post`.
fn find_model<'m>(models: &'m Models, name: &str) -> Option<&'m Arc<Model>> {
    models.get(name).or_else(|| {
        let short = name.rsplit('.').next().unwrap_or(name);
        models.values().find(|m| m.name.eq_ignore_ascii_case(short))
    })
}

fn unknown_model(models: &Models, name: &str) -> String {
    let hint = suggestion(name, models.keys().map(String::as_str)).unwrap_or_default();
    format!("unknown model `{name}`; {hint}")
}

/// The model a CSV file's stem names: `Post`, `post`, `posts`, `blog_post` (its table),
/// `categories` for `Category`.
fn csv_model<'m>(models: &'m Models, stem: &str) -> Option<&'m Arc<Model>> {
    let stem = stem.to_lowercase();
    let mut candidates = vec![stem.clone()];
    if let Some(s) = stem.strip_suffix("ies") {
        candidates.push(format!("{s}y"));
    }
    if let Some(s) = stem.strip_suffix("es") {
        candidates.push(s.to_string());
    }
    if let Some(s) = stem.strip_suffix('s') {
        candidates.push(s.to_string());
    }
    candidates.iter().find_map(|c| {
        models
            .values()
            .find(|m| m.name.to_lowercase() == *c || m.table.to_lowercase() == *c)
    })
}

/// What a field name in a fixture refers to: `pk`, the primary key's name (or `id`, when no
/// field is called that), a field's name, or a foreign key's column (`author_id`).
fn resolve(model: &Model, key: &str) -> Result<Target, String> {
    if key == "pk" || key == model.pk_field().name || (key == "id" && model.field("id").is_none()) {
        return Ok(Target::Pk);
    }
    if let Some(i) = model
        .fields
        .iter()
        .position(|f| f.name == key || f.column == key)
    {
        return Ok(if i == model.pk {
            Target::Pk
        } else {
            Target::Field(i)
        });
    }
    let hint = suggestion(key, model.field_names()).unwrap_or_default();
    Err(format!("unknown field `{key}` of {}; {hint}", model.name))
}

/// The line a CSV record starts on. The reader places a record where the previous one ended,
/// before the blank lines it skips; count those.
fn line_of(text: &str, pos: &csv::Position) -> usize {
    let mut line = pos.line() as usize;
    let rest = text
        .as_bytes()
        .get(pos.byte() as usize..)
        .unwrap_or_default();
    for b in rest {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
    }
    line
}

/// A CSV cell as the JSON value its field takes.
fn from_cell(models: &Models, field: &Field, cell: &str) -> Result<Value, String> {
    let t = cell.trim();
    let integer = |t: &str| {
        t.parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, got {cell:?}"))
    };
    match field.ty {
        FieldType::Integer => integer(t),
        FieldType::ForeignKey => {
            let target_pk = field
                .to
                .as_ref()
                .and_then(|to| models.get(to))
                .map(|m| m.pk_field().ty);
            if target_pk == Some(FieldType::Integer) {
                integer(t)
            } else {
                Ok(Value::String(cell.to_string()))
            }
        }
        FieldType::Float => t
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, got {cell:?}")),
        FieldType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!(
                "expected true, false, 1, 0, yes or no, got {cell:?}"
            )),
        },
        FieldType::Json => {
            serde_json::from_str(cell).map_err(|e| format!("invalid JSON ({e}): {cell:?}"))
        }
        _ => Ok(Value::String(cell.to_string())),
    }
}

/// A primary key as text, to compare keys from fixtures with keys from the database.
fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn sql_key_text(v: &SqlValue) -> String {
    match v {
        SqlValue::Null => "null".into(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Text(s) => s.clone(),
        SqlValue::Blob(_) => "(blob)".into(),
    }
}

/// Insert a row, or update it when its primary key exists; returns its primary key as text.
fn insert(conn: &Connection, row: &Row) -> Result<String, rusqlite::Error> {
    let m = &row.model;
    let pk = m.pk_field();
    let mut cols = Vec::new();
    let mut params = Vec::new();
    if let Some(v) = &row.pk {
        cols.push(ident(&pk.column));
        params.push(to_sql(pk.ty, v));
    }
    for (i, v) in &row.values {
        let f = &m.fields[*i];
        cols.push(ident(&f.column));
        params.push(to_sql(f.ty, v));
    }
    let table = ident(&m.table);
    let sql = if cols.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES")
    } else {
        let marks = vec!["?"; cols.len()].join(", ");
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ({marks})", cols.join(", "));
        if row.pk.is_some() {
            let updates: Vec<String> = row
                .values
                .iter()
                .filter(|(i, _)| !row.keep.contains(i))
                .map(|(i, _)| {
                    let c = ident(&m.fields[*i].column);
                    format!("{c} = excluded.{c}")
                })
                .collect();
            sql.push_str(&format!(" ON CONFLICT({}) DO ", ident(&pk.column)));
            if updates.is_empty() {
                sql.push_str("NOTHING");
            } else {
                sql.push_str(&format!("UPDATE SET {}", updates.join(", ")));
            }
        }
        sql
    };
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(params.iter()))?;
    Ok(match &row.pk {
        Some(v) => sql_key_text(&to_sql(pk.ty, v)),
        None => conn.last_insert_rowid().to_string(),
    })
}

/// Why the database refused a row, in a fixture author's words: a unique field names the row
/// that already holds the value.
fn refusal(
    conn: &Connection,
    files: &[PathBuf],
    origin: &HashMap<(String, String), (usize, usize)>,
    row: &Row,
    e: rusqlite::Error,
) -> String {
    let m = &row.model;
    let context = match &row.pk {
        Some(v) => format!("({} pk={})", m.name, key_text(v)),
        None => format!("({})", m.name),
    };
    if let rusqlite::Error::SqliteFailure(err, Some(msg)) = &e {
        if err.code == ErrorCode::ConstraintViolation {
            if let Some(list) = msg.strip_prefix("UNIQUE constraint failed: ") {
                let fields: Vec<&Field> = list
                    .split(", ")
                    .filter_map(|tc| tc.rsplit_once('.').map(|(_, c)| c))
                    .filter_map(|c| m.fields.iter().find(|f| f.column == c))
                    .collect();
                let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
                let value_of = |f: &Field| {
                    row.values
                        .iter()
                        .find(|(i, _)| m.fields[*i].name == f.name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or(Value::Null)
                };
                let shown: Vec<String> = fields.iter().map(|f| value_of(f).to_string()).collect();
                // Which row holds it already, and where that row came from.
                let mut holder = String::new();
                if !fields.is_empty() {
                    let conds: Vec<String> = fields
                        .iter()
                        .map(|f| format!("{} = ?", ident(&f.column)))
                        .collect();
                    let sql = format!(
                        "SELECT {} FROM {} WHERE {} LIMIT 1",
                        ident(&m.pk_field().column),
                        ident(&m.table),
                        conds.join(" AND ")
                    );
                    let params: Vec<SqlValue> =
                        fields.iter().map(|f| to_sql(f.ty, &value_of(f))).collect();
                    if let Ok(pk) = conn.query_row(&sql, params_from_iter(params.iter()), |r| {
                        r.get::<_, SqlValue>(0)
                    }) {
                        let pk = sql_key_text(&pk);
                        holder = format!(" by {} pk={pk}", m.name);
                        if let Some(&(at, line)) = origin.get(&(m.name.clone(), pk)) {
                            let unit = if is_csv(&files[at]) { "line" } else { "row" };
                            holder.push_str(&format!(
                                " ({} {unit} {line})",
                                short_path(&files[at]).display()
                            ));
                        }
                    }
                }
                return format!(
                    "{context}: field {}: {} is already used{holder}, and the field is unique",
                    names.join(", "),
                    shown.join(", ")
                );
            }
        }
    }
    format!("{context}: the database refused the row: {e}")
}

/// A row whose foreign key points at no row.
struct Dangling {
    /// The row's primary key, as text.
    pk: String,
    field: String,
    /// The target model's name.
    target: String,
    /// The missing key, as text.
    value: String,
}

/// Rows of `model`'s table whose foreign keys point nowhere (`PRAGMA foreign_key_check`).
fn dangling(
    conn: &Connection,
    models: &Models,
    model: &Model,
) -> Result<Vec<Dangling>, rusqlite::Error> {
    // fkid → the column holding the key.
    let mut columns: HashMap<i64, String> = HashMap::new();
    {
        let mut stmt = conn.prepare(r#"SELECT id, "from" FROM pragma_foreign_key_list(?1)"#)?;
        let rows = stmt.query_map([&model.table], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        for r in rows {
            let (id, from) = r?;
            columns.insert(id, from);
        }
    }
    let mut violations = Vec::new();
    {
        let mut stmt =
            conn.prepare("SELECT rowid, parent, fkid FROM pragma_foreign_key_check(?1)")?;
        let rows = stmt.query_map([&model.table], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for r in rows {
            violations.push(r?);
        }
    }
    let mut out = Vec::new();
    for (rowid, parent, fkid) in violations {
        let Some(column) = columns.get(&fkid) else {
            continue;
        };
        let field = model.fields.iter().find(|f| &f.column == column);
        let target = models
            .values()
            .find(|m| m.table == parent)
            .map_or(parent.clone(), |m| m.name.clone());
        let (pk, value) = match rowid {
            Some(rowid) => conn.query_row(
                &format!(
                    "SELECT {}, {} FROM {} WHERE rowid = ?1",
                    ident(&model.pk_field().column),
                    ident(column),
                    ident(&model.table)
                ),
                [rowid],
                |r| Ok((sql_key_text(&r.get(0)?), sql_key_text(&r.get(1)?))),
            )?,
            None => ("?".into(), "?".into()),
        };
        out.push(Dangling {
            pk,
            field: field.map_or(column.clone(), |f| f.name.clone()),
            target,
            value,
        });
    }
    Ok(out)
}

/// Every row of a model, ordered by primary key, in the YAML fixture format.
pub fn dump(conn: &Connection, models: &Models, model: &str) -> Result<String, String> {
    let m = find_model(models, model).ok_or_else(|| unknown_model(models, model))?;
    let cols: Vec<String> = m.fields.iter().map(|f| ident(&f.column)).collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.join(", "),
        ident(&m.table),
        ident(&m.pk_field().column)
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| format!("{sql}: {e}"))?;
    let mut rows = stmt.query([]).map_err(|e| format!("{sql}: {e}"))?;
    let mut out = String::new();
    while let Some(r) = rows.next().map_err(|e| format!("{sql}: {e}"))? {
        out.push_str("- model: ");
        out.push_str(&scalar(&Value::String(m.name.clone())));
        out.push('\n');
        let mut fields = Vec::new();
        for (i, f) in m.fields.iter().enumerate() {
            let v: SqlValue = r.get(i).map_err(|e| format!("{sql}: {e}"))?;
            let v = crate::db::query::to_json(f.ty, v);
            if i == m.pk {
                out.push_str("  pk: ");
                out.push_str(&scalar(&v));
                out.push('\n');
            } else {
                fields.push((f.name.as_str(), v));
            }
        }
        if fields.is_empty() {
            out.push_str("  fields: {}\n");
        } else {
            out.push_str("  fields:\n");
            for (name, v) in &fields {
                entry(&mut out, 4, true, name, v);
            }
        }
    }
    if out.is_empty() {
        out.push_str("[]\n");
    }
    Ok(out)
}

// A small YAML emitter: block mappings and sequences, strings plain when nothing could misread
// them, as literal blocks when they span lines, double-quoted otherwise.

/// `key: value` with the key at column `indent` (written there when `pad`), nested values on
/// the lines below.
fn entry(out: &mut String, indent: usize, pad: bool, key: &str, v: &Value) {
    if pad {
        out.push_str(&" ".repeat(indent));
    }
    out.push_str(&scalar(&Value::String(key.to_string())));
    out.push(':');
    value(out, indent, v);
}

/// A value after `key:` or `-` at column `indent`.
fn value(out: &mut String, indent: usize, v: &Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            for (k, v) in map {
                entry(out, indent + 2, true, k, v);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        out.push(' ');
                        for (n, (k, v)) in map.iter().enumerate() {
                            entry(out, indent + 4, n > 0, k, v);
                        }
                    }
                    _ => value(out, indent + 2, item),
                }
            }
        }
        Value::String(s) if literal_ok(s) => {
            out.push_str(if s.ends_with('\n') { " |\n" } else { " |-\n" });
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        _ => {
            out.push(' ');
            out.push_str(&scalar(v));
            out.push('\n');
        }
    }
}

/// A scalar on one line.
fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s) => s.clone(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Characters YAML (libyaml) accepts as they are.
fn printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && !matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
}

/// Can the string stand unquoted and be read back as the same string, by YAML 1.1 and 1.2?
fn plain_ok(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "infinity",
    ];
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_alphabetic()
        && printable(first)
        && chars.all(|c| {
            printable(c)
                && (c.is_alphanumeric()
                    || matches!(
                        c,
                        ' ' | '_'
                            | '-'
                            | '.'
                            | '/'
                            | '@'
                            | '+'
                            | ','
                            | '('
                            | ')'
                            | '\''
                            | '!'
                            | '?'
                            | '&'
                            | '%'
                            | '='
                    ))
        })
        && !s.ends_with(' ')
        && !SPECIAL.contains(&s.to_ascii_lowercase().as_str())
}

/// Can the string be written as a literal block (`|`) and be read back the same?
fn literal_ok(s: &str) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    body.contains('\n')
        && !body.ends_with('\n')
        && !s.starts_with('\n')
        && !s.starts_with([' ', '\t'])
        && s.chars().all(|c| c == '\n' || printable(c))
        && body
            .split('\n')
            .all(|line| line.is_empty() || !line.trim().is_empty())
}

/// A double-quoted YAML string; every character YAML would not take as it is is escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrate::{migrate, table_def};

    const SITE: &str = r#"
models:
  Author:
    fields:
      name: { type: string, max_length: 30 }
      slug: { type: slug, unique: true }
  Post:
    fields:
      title: { type: string, max_length: 40 }
      slug: { type: slug, unique: true }
      body: { type: text, "null": true }
      status: { type: string, choices: [draft, published], default: draft }
      published: { type: boolean, default: true }
      rating: { type: float, "null": true }
      meta: { type: json, "null": true }
      created_at: { type: datetime, auto_now_add: true }
      author: { type: foreign_key, to: Author }
  Tag:
    fields:
      code: { type: slug, primary_key: true }
      label: { type: string }
"#;

    struct Db {
        dir: tempfile::TempDir,
        conn: Connection,
        models: Models,
    }

    impl Db {
        fn new() -> Db {
            let dir = tempfile::tempdir().unwrap();
            let site = dir.path().join("site.yaml");
            std::fs::write(&site, SITE).unwrap();
            let loaded = crate::config::yaml::load_site(&site).unwrap();
            assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
            let (models, errors) = crate::db::model::compile(&loaded.value.models, &loaded.source);
            assert!(errors.is_empty(), "{errors:?}");
            let defs: Vec<_> = models
                .values()
                .map(|m| table_def(m, &models, &[], &[]))
                .collect();
            let mut conn = crate::db::connect(&dir.path().join("db.sqlite3")).unwrap();
            migrate(&mut conn, &defs, false).unwrap();
            Db { dir, conn, models }
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        }

        fn load(&mut self, files: &[PathBuf]) -> Result<LoadReport, Vec<FixtureError>> {
            load(&mut self.conn, &self.models, files)
        }

        fn count(&self, table: &str) -> i64 {
            self.conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        }

        fn text(&self, sql: &str) -> String {
            self.conn.query_row(sql, [], |r| r.get(0)).unwrap()
        }
    }

    const AUTHORS: &str = "
- model: Author
  pk: 1
  fields: { name: Ada, slug: ada }
- model: Author
  pk: 2
  fields: { name: Brian, slug: brian }
";

    // Posts point at authors that come later (another file): foreign keys are deferred.
    const POSTS: &str = "
- model: Post
  pk: 1
  fields:
    title: Hello
    slug: hello
    author: 1
- model: Post
  pk: 2
  fields:
    title: Second
    slug: second
    status: published
    published: false
    rating: 4.5
    meta: { tags: [a, b] }
    created_at: 2026-01-05T09:30:00
    author: 2
";

    fn messages(errors: &[FixtureError]) -> Vec<String> {
        errors.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn good_rows_load_with_defaults_in_any_order() {
        let mut db = Db::new();
        let posts = db.file("posts.yaml", POSTS);
        let authors = db.file("authors.yaml", AUTHORS);
        let report = db.load(&[posts, authors]).unwrap();
        assert_eq!(report.rows, 4);
        assert_eq!(
            report.per_model,
            vec![("Author".to_string(), 2), ("Post".to_string(), 2)]
        );
        assert_eq!(db.text("SELECT status FROM post WHERE id = 1"), "draft");
        let (published, created): (i64, String) = db
            .conn
            .query_row(
                "SELECT published, created_at FROM post WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(published, 1);
        assert!(
            crate::db::model::parse_datetime(&created).is_some(),
            "{created}"
        );
        assert_eq!(
            db.text("SELECT meta FROM post WHERE id = 2"),
            r#"{"tags":["a","b"]}"#
        );
        assert_eq!(
            db.text("SELECT created_at FROM post WHERE id = 2"),
            "2026-01-05T09:30:00"
        );
        let author: i64 = db
            .conn
            .query_row("SELECT author_id FROM post WHERE id = 2", [], |r| r.get(0))
            .unwrap();
        assert_eq!(author, 2);
    }

    #[test]
    fn json_fixtures_and_assigned_keys() {
        let mut db = Db::new();
        let f = db.file(
            "data.json",
            r#"[{"model": "Author", "fields": {"name": "Ada", "slug": "ada"}},
                {"model": "author", "fields": {"name": "Bo", "slug": "bo"}},
                {"model": "Tag", "pk": "rust", "fields": {"label": "Rust"}}]"#,
        );
        let report = db.load(&[f]).unwrap();
        assert_eq!(report.rows, 3);
        assert_eq!(
            db.text("SELECT group_concat(id || slug) FROM author"),
            "1ada,2bo"
        );
        assert_eq!(db.text("SELECT label FROM tag WHERE code = 'rust'"), "Rust");
    }

    #[test]
    fn a_bad_row_loads_nothing_and_is_named() {
        let mut db = Db::new();
        let authors = db.file("authors.yaml", AUTHORS);
        let posts = db.file(
            "posts.yaml",
            "
- model: Post
  pk: 1
  fields: { title: Fine, slug: fine, author: 1 }
- model: Post
  pk: 12
  fields: { title: Spaced, slug: has space, author: 1 }
- model: Post
  pk: 13
  fields: { title: This title is far too long for forty characters, slug: long, author: 1 }
- model: Post
  pk: 14
  fields: { title: Typo, slgu: typo, slug: typo, author: 1 }
- model: Post
  pk: 15
  fields: { title: Choice, slug: choice, status: archived, author: 1 }
- model: Post
  pk: 16
  fields: { title: Orphan, slug: orphan, author: 99 }
- model: Pots
  pk: 17
  fields: { title: Unknown }
- model: Post
  pk: 18
  fields: { slug: untitled, author: 1 }
",
        );
        let errors = db.load(&[authors, posts.clone()]).unwrap_err();
        let text = messages(&errors);
        assert_eq!(errors.len(), 7, "{text:#?}");
        assert!(errors.iter().all(|e| e.file == posts), "{text:#?}");
        let rows: Vec<Option<usize>> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [2, 3, 4, 5, 6, 7, 8].map(Some).to_vec());
        assert!(text[0].ends_with("posts.yaml: row 2 (Post pk=12): field `slug`: a slug holds only letters, digits, `-` and `_`, got \"has space\""), "{}", text[0]);
        assert!(
            text[1].contains("row 3 (Post pk=13): field `title`: at most 40 characters"),
            "{}",
            text[1]
        );
        assert!(
            text[2]
                .contains("row 4 (Post pk=14): unknown field `slgu` of Post; did you mean `slug`?"),
            "{}",
            text[2]
        );
        assert!(
            text[3].contains("row 5 (Post pk=15): field `status`: \"archived\" is not one of"),
            "{}",
            text[3]
        );
        assert!(
            text[4].contains("row 6 (Post pk=16): field `author`: no Author with pk 99"),
            "{}",
            text[4]
        );
        assert!(
            text[5].contains(
                "row 7: unknown model `Pots`; did you mean `Post`? (known: Author, Post, Tag)"
            ),
            "{}",
            text[5]
        );
        assert!(
            text[6].contains("row 8 (Post pk=18): field `title` is missing"),
            "{}",
            text[6]
        );
        // Nothing was written, not even the good rows of the other file.
        assert_eq!(db.count("author"), 0);
        assert_eq!(db.count("post"), 0);
    }

    #[test]
    fn a_refused_target_is_reported_once() {
        let mut db = Db::new();
        let f = db.file(
            "mixed.yaml",
            "
- model: Author
  pk: 5
  fields: { name: Bad, slug: not a slug }
- model: Post
  pk: 1
  fields: { title: T, slug: t, author: 5 }
",
        );
        let errors = db.load(&[f]).unwrap_err();
        assert_eq!(errors.len(), 1, "{:#?}", messages(&errors));
        assert_eq!(errors[0].row, Some(1));
    }

    #[test]
    fn a_unique_violation_names_the_field_and_both_rows() {
        let mut db = Db::new();
        let f = db.file(
            "authors.yaml",
            "
- model: Author
  pk: 1
  fields: { name: Ada, slug: ada }
- model: Author
  pk: 2
  fields: { name: Ada again, slug: ada }
",
        );
        let errors = db.load(&[f]).unwrap_err();
        let text = messages(&errors);
        assert_eq!(errors.len(), 1, "{text:#?}");
        assert_eq!(errors[0].row, Some(2));
        assert!(
            text[0]
                .contains("(Author pk=2): field `slug`: \"ada\" is already used by Author pk=1 (")
                && text[0].contains("authors.yaml row 1)"),
            "{}",
            text[0]
        );
        assert_eq!(db.count("author"), 0);
    }

    #[test]
    fn csv_with_empty_cells_and_booleans() {
        let mut db = Db::new();
        let authors = db.file(
            "Author.csv",
            "\u{feff}id,name,slug\n1,Ada,ada\n2,\"Brian, Jr.\",brian\n",
        );
        let posts = db.file(
            "posts.csv",
            "id,title,slug,body,status,published,rating,meta,created_at,author\n\
             1,One,one,,,yes,,,,1\n\
             2,Two,two,\"multi\nline\",published,0,2.5,\"{\"\"k\"\": [1, 2]}\",2026-02-01T10:00:00,2\n\
             3,Three,three,text,draft,FALSE,3,null,,1\n",
        );
        let report = db.load(&[authors, posts]).unwrap();
        assert_eq!(report.rows, 5);
        assert_eq!(
            db.text("SELECT name FROM author WHERE id = 2"),
            "Brian, Jr."
        );
        let row = |id: i64| -> (Option<String>, String, i64, Option<f64>, Option<String>) {
            db.conn
                .query_row(
                    "SELECT body, status, published, rating, meta FROM post WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .unwrap()
        };
        // Empty cells: NULL where nullable, else the default.
        assert_eq!(row(1), (None, "draft".into(), 1, None, None));
        assert_eq!(
            row(2),
            (
                Some("multi\nline".into()),
                "published".into(),
                0,
                Some(2.5),
                Some(r#"{"k":[1,2]}"#.into())
            )
        );
        assert_eq!(row(3).2, 0);
        // JSON null in a json column is NULL.
        assert_eq!(row(3).4, None);
    }

    #[test]
    fn csv_errors_carry_line_numbers() {
        let mut db = Db::new();
        let posts = db.file(
            "post.csv",
            "pk,title,slug,published,author\n1,One,one,maybe,1\n\n2,,two,true,x\n",
        );
        let errors = db.load(&[posts]).unwrap_err();
        let text = messages(&errors);
        assert!(
            text[0]
                .contains("post.csv: line 2 (Post pk=1): field `published`: expected true, false"),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("line 4 (Post pk=2): field `author`: expected an integer")),
            "{text:#?}"
        );
        // An empty title is "" (text-like), which a string field accepts.
        assert_eq!(errors.len(), 2, "{text:#?}");
        let unknown = db.file("widgets.csv", "id\n1\n");
        let errors = db.load(&[unknown]).unwrap_err();
        assert!(
            errors[0].message.contains("known: Author, Post, Tag"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn loading_twice_updates() {
        let mut db = Db::new();
        let authors = db.file("authors.yaml", AUTHORS);
        let posts = db.file("posts.yaml", POSTS);
        db.load(&[authors.clone(), posts.clone()]).unwrap();
        let created = db.text("SELECT created_at FROM post WHERE id = 1");
        db.conn
            .execute(
                "UPDATE post SET created_at = '2020-01-01T00:00:00' WHERE id = 1",
                [],
            )
            .unwrap();
        std::fs::write(&authors, AUTHORS.replace("name: Ada", "name: Ada L.")).unwrap();
        let report = db.load(&[authors, posts]).unwrap();
        assert_eq!(report.rows, 4);
        assert_eq!(db.count("author"), 2);
        assert_eq!(db.count("post"), 2);
        assert_eq!(db.text("SELECT name FROM author WHERE id = 1"), "Ada L.");
        // A missing auto_now_add keeps the value the row was created with.
        assert_ne!(created, "2020-01-01T00:00:00");
        assert_eq!(
            db.text("SELECT created_at FROM post WHERE id = 1"),
            "2020-01-01T00:00:00"
        );
    }

    #[test]
    fn injection_looking_values_are_stored_verbatim() {
        let mut db = Db::new();
        let evil = "'); DROP TABLE post; --";
        let f = db.file(
            "authors.yaml",
            &format!("- model: Author\n  pk: 1\n  fields: {{ name: \"{evil}\", slug: x }}\n"),
        );
        db.load(&[f]).unwrap();
        assert_eq!(db.text("SELECT name FROM author WHERE id = 1"), evil);
        assert_eq!(db.count("post"), 0);
        let dumped = dump(&db.conn, &db.models, "Author").unwrap();
        assert!(
            dumped.contains(r#"name: "'); DROP TABLE post; --""#),
            "{dumped}"
        );
    }

    #[test]
    fn dump_then_load_round_trips() {
        let mut db = Db::new();
        let authors = db.file("authors.yaml", AUTHORS);
        let posts = db.file(
            "posts.json",
            &serde_json::json!([
                {"model": "Post", "pk": 1, "fields": {
                    "title": "yes", "slug": "a-1", "author": 1,
                    "body": "Line one\n  indented: yes # not a comment\n\nlast line\n",
                    "meta": {"nested": {"list": [1, 2.5, "three", true, null, {"k": "v"}, []], "empty": {}},
                             "key with: colon": "\u{2028}", "null": "null"},
                    "rating": 2.0}},
                {"model": "Post", "pk": 2, "fields": {
                    "title": "  leading, trailing  ", "slug": "b", "author": 2,
                    "body": "tab\there \"quoted\" \\ back\u{7f}\u{85}\u{feff} é ✓ 😀\r\n",
                    "meta": "just a string", "published": false, "status": "published"}},
                {"model": "Post", "pk": 3, "fields": {
                    "title": "123", "slug": "c", "author": 2, "body": "- not a list\n",
                    "meta": [["a"], {"b": [{"c": 1}]}], "rating": -0.001}},
                {"model": "Post", "pk": 4, "fields": {
                    "title": "Null", "slug": "d", "author": 1, "body": "", "meta": null}},
                {"model": "Post", "pk": 5, "fields": {
                    "title": "ends\n\n", "slug": "e", "author": 1, "body": " starts with a space\nand more"}}
            ])
            .to_string(),
        );
        db.load(&[authors, posts]).unwrap();
        let mut first = String::new();
        for m in ["Author", "Post", "Tag"] {
            first.push_str(&dump(&db.conn, &db.models, m).unwrap());
        }
        assert!(
            first.contains("- model: Post\n  pk: 1\n  fields:\n    title: \"yes\"\n"),
            "{first}"
        );
        assert!(first.contains("    body: |\n      Line one\n        indented: yes # not a comment\n\n      last line\n"), "{first}");
        assert!(first.contains("    published: false\n"), "{first}");
        assert!(first.contains("    author: 2\n"), "{first}");
        assert_eq!(dump(&db.conn, &db.models, "Tag").unwrap(), "[]\n");

        let mut fresh = Db::new();
        let files: Vec<PathBuf> = ["Author", "Post", "Tag"]
            .iter()
            .map(|m| {
                fresh.file(
                    &format!("{m}.yaml"),
                    &dump(&db.conn, &db.models, m).unwrap(),
                )
            })
            .collect();
        let report = fresh.load(&files).unwrap();
        assert_eq!(report.rows, 7);
        let mut second = String::new();
        for m in ["Author", "Post", "Tag"] {
            second.push_str(&dump(&fresh.conn, &fresh.models, m).unwrap());
        }
        assert_eq!(first, second);
        // Byte for byte in the database too.
        let all = |db: &Db| -> Vec<Vec<SqlValue>> {
            let mut stmt = db.conn.prepare("SELECT * FROM post ORDER BY id").unwrap();
            let n = stmt.column_count();
            stmt.query_map([], |r| (0..n).map(|i| r.get::<_, SqlValue>(i)).collect())
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(all(&db), all(&fresh));
    }

    #[test]
    fn unknown_model_in_dump() {
        let db = Db::new();
        let err = dump(&db.conn, &db.models, "Pots").unwrap_err();
        assert!(err.contains("did you mean `Post`?"), "{err}");
    }

    #[test]
    fn file_level_problems() {
        let mut db = Db::new();
        let bad = db.file("bad.yaml", "- model: Post\n  pk: [1\n");
        let other = db.file("notes.txt", "hello");
        let missing = db.dir.path().join("missing.yaml");
        let string_pk = db.file("tags.yaml", "- model: Tag\n  fields: { label: No key }\n");
        let errors = db.load(&[bad, other, missing, string_pk]).unwrap_err();
        let text = messages(&errors);
        assert_eq!(errors.len(), 4, "{text:#?}");
        assert!(
            text[0].contains("bad.yaml: invalid YAML at line"),
            "{text:#?}"
        );
        assert!(
            text[1].contains("unknown fixture format `.txt`"),
            "{text:#?}"
        );
        assert!(text[2].contains("cannot read file"), "{text:#?}");
        assert!(text[3].contains("row 1 (Tag): no pk"), "{text:#?}");
    }

    #[test]
    fn the_emitter_quotes_what_needs_it() {
        for (s, plain) in [
            ("hello world", true),
            ("hello-world", true),
            ("", false),
            ("yes", false),
            ("No", false),
            ("null", false),
            ("12", false),
            ("1.5", false),
            ("a: b", false),
            ("a #b", false),
            ("- x", false),
            ("trailing ", false),
            ("'quoted'", false),
            ("2026-01-05", false),
        ] {
            assert_eq!(plain_ok(s), plain, "{s:?}");
        }
        assert_eq!(quoted("a\"b\\c\u{7}"), r#""a\"b\\c\u0007""#);
    }
}
