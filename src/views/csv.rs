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
//! format, so an export loads back with `trellis load`. Values as the fixtures write them:
//! `true`/`false`, numbers as JSON writes them, a JSON field as JSON text, NULL as an empty
//! cell.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::list::ListView;
use super::request::{Request, Response};
use super::{Call, Endpoint, View};
use crate::config::raw::{FieldType, RawRoute};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::Query;
use crate::db::{Database, Model, Models};

/// Rows read (and written) at once: a chunk's memory, and one short read transaction.
pub const CHUNK_ROWS: i64 = 1000;

/// A compiled `format: csv`.
#[derive(Debug)]
pub struct CsvSpec {
    filename: String,
    columns: Vec<Column>,
}

#[derive(Debug)]
enum Column {
    /// A column of the row: its key in the row, and its type.
    Field { key: String, ty: FieldType },
    /// A many_to_many field: its name in the row, and its target's primary key column.
    Many { key: String, pk: String },
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
        let mut columns: Vec<Column> = model
            .fields
            .iter()
            .map(|f| Column::Field {
                key: f.column.clone(),
                ty: f.ty,
            })
            .collect();
        for f in &model.many {
            let pk =
                f.to.as_ref()
                    .and_then(|t| models.get(t))
                    .map(|t| t.pk_field().column.clone())
                    .unwrap_or_default();
            columns.push(Column::Many {
                key: f.name.clone(),
                pk,
            });
        }
        CsvSpec { filename, columns }
    }

    /// The answer to a request: the header row and the first chunk, and the rest as a stream.
    pub fn first(
        &self,
        view: &ListView,
        db: &Database,
        call: &Call,
        q: Query,
    ) -> Result<Response, ViewError> {
        let model = view.out.model.as_ref();
        let mut header: Vec<&str> = model.fields.iter().map(|f| f.name.as_str()).collect();
        header.extend(model.many.iter().map(|f| f.name.as_str()));
        let mut w = writer();
        w.write_record(&header).map_err(|e| call.internal(e))?;
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
        q.many = !q.model.many.is_empty();
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
            Column::Field { key, ty } => match row.get(key) {
                None | Some(Value::Null) => String::new(),
                Some(v) if *ty == FieldType::Json => v.to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            },
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
