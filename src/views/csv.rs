//! `format: csv` on a list route: every row the list's `where:`, filters, search and ordering
//! give, as a CSV file (`text/csv; charset=utf-8`, `Content-Disposition: attachment`), written
//! by the `csv` crate (quoting) and streamed.
//!
//! **How the stream is read.** Rows are read in chunks of [`CHUNK_ROWS`], each chunk its own
//! short read transaction on a database thread, and the next chunk is only asked for when the
//! server has sent the last one (actix polls a body when the socket can take more). Between
//! chunks no database thread is held and no transaction is open: a slow client costs a few
//! kilobytes of memory and its connection, never a thread or a snapshot that keeps SQLite's
//! WAL from being checkpointed, and a large export's memory is one chunk, whatever the size
//! of the table. A chunk is found by value, not by offset: the rows after the last row sent
//! in the list's ordering (the primary key last, [`Query::beyond`]), so each chunk costs the
//! same however deep into the export it is. The price of not holding one snapshot: an export
//! that runs while rows are written sees each chunk as of when it is read — a row is never
//! written twice, a row that exists throughout is written once (unless its ordering key
//! changes), and a row added behind the export's place is not in it.
//!
//! The first chunk is read while the request is answered, so a bad filter is a 400 and a busy
//! database a 503 with a status to say so; a failure later ends the stream early (the
//! response then lacks its final chunk, which clients report as a truncated transfer) and is
//! logged.
//!
//! Columns: each field of the model in order (a foreign key as its target's primary key), then
//! each many_to_many field as its targets' primary keys separated by `;` — the CSV fixture
//! format, so an export loads back with `trellis load`. `fields:` chooses the columns and
//! their order instead (a field, `pk`, or a related row's field `author__name`, as JSON's
//! `fields:` does), `exclude:` leaves some out. Values as the fixtures write them:
//! `true`/`false`, numbers as JSON writes them, a JSON field as JSON text, NULL as an empty
//! cell.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::request::{Request, Response};
use super::shape::Refusal;
use super::{Call, Endpoint, View};
use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, RawRoute};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::Query;
use crate::db::{Database, Field, Model, Models};

/// Rows read (and written) at once: a chunk's memory, and one short read transaction.
pub const CHUNK_ROWS: i64 = 1000;

/// A compiled `format: csv`.
#[derive(Debug)]
pub struct CsvSpec {
    filename: String,
    /// The header row: each column's name.
    header: Vec<String>,
    columns: Vec<Column>,
}

#[derive(Debug, Clone)]
enum Column {
    /// A column of the row: its key in the row, and its type.
    Field { key: String, ty: FieldType },
    /// A many_to_many field: its name in the row, and its target's primary key column.
    Many { key: String, pk: String },
    /// A column of the related row under `via` (`author__name`), and its type.
    Through {
        via: String,
        key: String,
        ty: FieldType,
    },
}

/// Where an export is: the request it answers (its route is found again for each chunk, in
/// the site it started with) and the last row written.
#[derive(Debug)]
pub struct Stream {
    req: Request,
    /// `None` once the last chunk is read.
    last: Option<Map<String, Value>>,
}

impl CsvSpec {
    /// The columns of `model` and the file name; `route` is the route's name.
    pub fn compile(
        raw: &RawRoute,
        models: &Models,
        model: &Model,
        source: &Source,
        at: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> CsvSpec {
        for (key, set) in [
            ("paginate_by", raw.paginate_by.is_some()),
            ("keyset", raw.keyset.is_some()),
            ("dates", raw.dates.is_some()),
            ("template", raw.template.is_some()),
        ] {
            if set {
                errors.push(
                    source
                        .diag_key(
                            &format!("{at}.{key}"),
                            format!("`{key}` does not apply to `format: csv`"),
                        )
                        .with_hint(Some(
                            "a CSV export streams every row of the list; leave the key out, or make another route for the page".into(),
                        )),
                );
            }
        }
        let filename = match &raw.filename {
            Some(name) => {
                let ok = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                    && !name.starts_with('.');
                if !ok {
                    errors.push(
                        source
                            .diag(
                                &format!("{at}.filename"),
                                format!("{name:?} is not a file name a download can take"),
                            )
                            .with_hint(Some(
                                "use letters, digits, `.`, `-` and `_`: `posts-2024.csv`".into(),
                            )),
                    );
                }
                name.clone()
            }
            None => format!("{}.csv", raw.name.as_deref().unwrap_or(&model.table)),
        };
        let (header, columns) = chosen(raw, models, model, source, at, errors);
        CsvSpec {
            filename,
            header,
            columns,
        }
    }

    /// The answer to a request: the header row and the first chunk, and the rest as a stream.
    pub fn first(&self, db: &Database, call: &Call, q: Query) -> Result<Response, ViewError> {
        let mut w = writer();
        w.write_record(&self.header).map_err(|e| call.internal(e))?;
        let (body, last) = self.chunk(db, q, None, w).map_err(|e| call.db(e))?;
        Ok(Response {
            status: 200,
            content_type: "text/csv; charset=utf-8".into(),
            headers: vec![(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.filename),
            )],
            body,
            stream: last.map(|last| Stream {
                req: call.req.clone(),
                last: Some(last),
            }),
        })
    }

    /// One chunk of rows after `after` (from the start without it), written on `w`; the text,
    /// and the last row when the chunk was full (more may follow).
    fn chunk(
        &self,
        db: &Database,
        mut q: Query,
        after: Option<&Map<String, Value>>,
        mut w: csv::Writer<Vec<u8>>,
    ) -> Result<(String, Option<Map<String, Value>>), crate::db::DbError> {
        q.limit = Some(CHUNK_ROWS);
        q.offset = 0;
        // Many_to_many targets are read only for a column that writes them.
        q.many = self
            .columns
            .iter()
            .any(|c| matches!(c, Column::Many { .. }));
        if let Some(row) = after {
            q.conds.push(q.beyond(row));
        }
        let rows = db.fetch(&q)?;
        let mut cells: Vec<String> = Vec::with_capacity(self.columns.len());
        for row in &rows {
            cells.clear();
            cells.extend(self.columns.iter().map(|c| c.cell(row)));
            // Writing into a Vec cannot fail.
            let _ = w.write_record(&cells);
        }
        let bytes = w.into_inner().unwrap_or_default();
        let text = String::from_utf8(bytes).unwrap_or_default();
        let full = rows.len() as i64 == CHUNK_ROWS;
        Ok((text, rows.into_iter().last().filter(|_| full)))
    }
}

impl Column {
    fn cell(&self, row: &Map<String, Value>) -> String {
        match self {
            Column::Field { key, ty } => text(row.get(key), *ty),
            Column::Through { via, key, ty } => text(row.get(via).and_then(|r| r.get(key)), *ty),
            Column::Many { key, pk } => {
                let keys: Vec<String> = row
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.get(pk))
                    .map(|k| match k {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                keys.join(";")
            }
        }
    }
}

/// The columns `fields:` or `exclude:` choose (every one without them), each with its header;
/// a wrong name is reported and left out.
fn chosen(
    raw: &RawRoute,
    models: &Models,
    model: &Model,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<String>, Vec<Column>) {
    let all = every_column(models, model);
    match (&raw.fields, &raw.exclude) {
        (None, None) => all.into_iter().unzip(),
        (Some(_), Some(_)) => {
            errors.push(super::shape::fields_and_exclude(
                source, at, "columns", "written",
            ));
            (Vec::new(), Vec::new())
        }
        (Some(names), None) => {
            let mut chosen = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let here = format!("{at}.fields[{i}]");
                match pick(models, model, &all, name) {
                    Err((why, hint)) => errors.push(source.diag(&here, why).with_hint(hint)),
                    Ok(_) if names[..i].contains(name) => {
                        errors.push(source.diag(&here, format!("`{name}` is listed twice")))
                    }
                    // `pk` and the key's own name head the same column: a header row
                    // naming a column twice is read back wrong.
                    Ok((header, _)) if chosen.iter().any(|(h, _)| *h == header) => {
                        errors.push(source.diag(
                            &here,
                            format!("`{name}` writes the column `{header}` a second time"),
                        ))
                    }
                    Ok(column) => chosen.push(column),
                }
            }
            chosen.into_iter().unzip()
        }
        (None, Some(names)) => {
            for (i, name) in names.iter().enumerate() {
                if !all.iter().any(|(n, _)| excludes(model, name, n)) {
                    let (why, hint) = unknown(model, &all, name);
                    errors.push(
                        source
                            .diag(&format!("{at}.exclude[{i}]"), why)
                            .with_hint(hint),
                    );
                }
            }
            all.into_iter()
                .filter(|(n, _)| !names.iter().any(|name| excludes(model, name, n)))
                .unzip()
        }
    }
}

/// A value as a cell: as the fixtures write it, NULL (or a missing related row) empty.
fn text(value: Option<&Value>, ty: FieldType) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(v) if ty == FieldType::Json => v.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// Every column of an export without `fields:`, with its header: the model's fields in order,
/// then its many_to_many fields.
fn every_column(models: &Models, model: &Model) -> Vec<(String, Column)> {
    let mut columns: Vec<(String, Column)> = model
        .fields
        .iter()
        .map(|f| {
            let column = Column::Field {
                key: f.column.clone(),
                ty: f.ty,
            };
            (f.name.clone(), column)
        })
        .collect();
    for f in &model.many {
        let pk = target(models, f)
            .map(|t| t.pk_field().column.clone())
            .unwrap_or_default();
        let column = Column::Many {
            key: f.name.clone(),
            pk,
        };
        columns.push((f.name.clone(), column));
    }
    columns
}

fn target<'m>(models: &'m Models, f: &Field) -> Option<&'m Model> {
    models.get(f.to.as_ref()?).map(|m| &**m)
}

fn unknown(model: &Model, all: &[(String, Column)], name: &str) -> Refusal {
    let mut known: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    known.push("pk");
    (
        format!("model {} has no field `{name}` to write", model.name),
        suggestion(name, known),
    )
}

/// Whether `exclude: [name]` leaves out the column headed `header`: its own name, or `pk`
/// for the primary key.
fn excludes(model: &Model, name: &str, header: &str) -> bool {
    name == header || (name == "pk" && header == model.pk_field().name)
}

/// A `fields:` entry as a column, headed by the name as listed (`pk` by the primary key's
/// name): a field (a foreign key as its target's key, also under its column's name
/// `author_id`), `pk`, or a field of a foreign key's related row (`author__name`).
fn pick(
    models: &Models,
    model: &Model,
    all: &[(String, Column)],
    name: &str,
) -> Result<(String, Column), Refusal> {
    let found = if name == "pk" {
        Some(&model.pk_field().name)
    } else {
        model
            .fields
            .iter()
            .find(|f| f.column == name)
            .map(|f| &f.name)
    };
    let wanted = found.map_or(name, String::as_str);
    if let Some((_, column)) = all.iter().find(|(n, _)| n == wanted) {
        let header = if name == "pk" { wanted } else { name };
        return Ok((header.to_string(), column.clone()));
    }
    let Some((via, rest)) = name.split_once("__") else {
        return Err(unknown(model, all, name));
    };
    let (to, field) = super::shape::through(models, model, name, via, rest)?;
    match field {
        Some(f) => Ok((
            name.to_string(),
            Column::Through {
                via: via.to_string(),
                key: f.column.clone(),
                ty: f.ty,
            },
        )),
        None => Err((
            format!(
                "model {} has no field `{rest}` to write (in `{name}`)",
                to.name
            ),
            suggestion(rest, to.field_names()),
        )),
    }
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

/// The next chunk of an export, read in its own transaction: `None` when it is done. The
/// route is found again from the request, in the site the export started with.
pub fn next_chunk(
    ctx: &Ctx,
    endpoints: &[Endpoint],
    stream: &mut Stream,
) -> Result<Option<String>, ViewError> {
    let (Some(db), Some(after)) = (ctx.db, stream.last.take()) else {
        return Ok(None);
    };
    let Some(m) = super::resolve(ctx.router, &stream.req) else {
        return Ok(None);
    };
    let endpoint = &endpoints[m.index];
    let View::List(view) = &endpoint.view else {
        return Ok(None);
    };
    let Some(spec) = &view.csv else {
        return Ok(None);
    };
    let call = Call {
        req: &stream.req,
        params: &m.params,
        query: Map::new(),
        origin: &endpoint.origin,
    };
    let term = view.search_term(&stream.req);
    let q = view.query(&stream.req, &m.params, &term)?;
    let (text, last) = super::in_snapshot(ctx, || {
        spec.chunk(db, q, Some(&after), writer())
            .map_err(|e| call.db(e))
    })?;
    // Without a last row the chunk was not full: the stream ends after it.
    stream.last = last;
    Ok((!text.is_empty()).then_some(text))
}
