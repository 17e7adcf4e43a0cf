//! The query builder: conditions, ordering and paging over one model, turned into one SQL
//! statement whose values are all bound parameters. Column and table names come from the
//! compiled models only. Rows come back as JSON objects; foreign keys are filled with the
//! related rows in one extra query per foreign key, and many_to_many fields with lists of rows
//! in one query per field (`many::attach`), not one per row.
//!
//! Dates and datetimes are ISO-8601 text (`2024-03-01`, `2024-03-01T09:30:00`), so a year, a
//! month or a day is a range of text: `__year`, and a year with a month (and a day) of the same
//! column, become `col >= ? AND col < ?`, which an index on the column answers; only a month or
//! a day alone reads the part out of the text.

use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

use super::ident;
use super::{Conn, Database, DbError, Model, Order};
use crate::config::raw::{FieldType, Lookup};

/// A condition on a model's rows.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `column <lookup> value`.
    Cmp {
        column: String,
        lookup: Lookup,
        value: SqlValue,
    },
    /// `column IN (values)`.
    In {
        column: String,
        values: Vec<SqlValue>,
    },
    /// A condition on the row a foreign key points at: `author__slug = 'x'`. With `many`, the
    /// rows of a join table that point at this row (`column` is this row's key, `pk` the join
    /// table's column holding it): written as a correlated `EXISTS`, which SQLite answers by
    /// probing the join table's unique index for each row it walks in order, where `IN` would
    /// first gather every pair of the target (all 2,000 posts of a tag, for a page of ten).
    Related {
        column: String,
        table: String,
        pk: String,
        many: bool,
        inner: Box<Cond>,
    },
    /// The term as a substring of any of the columns, case-insensitively (LIKE, wildcards
    /// escaped).
    Search { columns: Vec<String>, term: String },
    /// Every word of the term in the model's FTS5 index.
    Fts {
        table: String,
        pk: String,
        term: String,
    },
    /// Rows after a row whose ordering keys hold these values, the primary key last (see
    /// [`Query::beyond`], and [`Database::beyond_first`] for keyset pages after a row named
    /// by its key): each key in its own direction, NULLs where SQLite sorts them (first when
    /// ascending, last when descending).
    Beyond { keys: Vec<KeyValue> },
    /// A part of a date or datetime column compared with a number: `created_at__year__gte`.
    /// `Exact` and the four comparisons only.
    DatePart {
        column: String,
        part: DatePart,
        lookup: Lookup,
        value: i64,
    },
    /// `from <= column < to`, as text: a period of a date or datetime column.
    Period {
        column: String,
        from: String,
        to: String,
    },
}

/// One key of an ordering with the value a row holds in it, for [`Cond::Beyond`].
#[derive(Debug, Clone)]
pub struct KeyValue {
    pub column: String,
    pub desc: bool,
    /// The column may hold NULL.
    pub null: bool,
    pub value: SqlValue,
}

/// `Cond::Beyond` as SQL: one row-value comparison, which an index answers, when every key
/// goes one way and the row's values are not NULL — ascending, even over columns that may be
/// NULL: their NULLs sort first, so none comes after a value, and SQLite's row value is NULL,
/// not true, where a NULL decides (`(1, NULL) > (1, 5)`), and true where an earlier key does
/// (`(2, NULL) > (1, 5)`); descending only over columns that cannot be NULL, since their NULLs
/// would come after. Else, key by key, `k1 after v1 OR (k1 = v1 AND k2 after v2) …`.
fn beyond_sql(keys: &[KeyValue], out: &mut String, params: &mut Vec<SqlValue>) {
    let desc = keys.first().is_some_and(|k| k.desc);
    if keys
        .iter()
        .all(|k| k.desc == desc && (!desc || !k.null) && k.value != SqlValue::Null)
    {
        let cols: Vec<String> = keys.iter().map(|k| ident(&k.column)).collect();
        let marks = vec!["?"; keys.len()].join(", ");
        let op = if desc { "<" } else { ">" };
        out.push_str(&format!("({}) {op} ({marks})", cols.join(", ")));
        params.extend(keys.iter().map(|k| k.value.clone()));
        return;
    }
    let mut alternatives = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let mut terms = Vec::new();
        for e in &keys[..i] {
            let c = ident(&e.column);
            if e.value == SqlValue::Null {
                terms.push(format!("{c} IS NULL"));
            } else {
                terms.push(format!("{c} = ?"));
                params.push(e.value.clone());
            }
        }
        let c = ident(&k.column);
        let after = match (k.desc, &k.value) {
            (false, SqlValue::Null) => format!("{c} IS NOT NULL"),
            // Descending, NULLs come last: nothing comes after one but other NULLs.
            (true, SqlValue::Null) => "0".to_string(),
            (false, v) => {
                params.push(v.clone());
                format!("{c} > ?")
            }
            (true, v) if k.null => {
                params.push(v.clone());
                format!("({c} < ? OR {c} IS NULL)")
            }
            (true, v) => {
                params.push(v.clone());
                format!("{c} < ?")
            }
        };
        terms.push(after);
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    out.push_str(&format!("({})", alternatives.join(" OR ")));
}

/// What a facet counts: a column of the query's model, or the targets of a many_to_many
/// field (through its join table); and where a value's label is, for a foreign key's.
#[derive(Debug, Clone)]
pub struct Facet {
    /// The column grouped (unused through a join table).
    pub column: String,
    pub join: Option<super::model::JoinTable>,
    pub label: Option<FacetLabel>,
}

/// The target table of a facet's values, its key, and the column that names a row.
#[derive(Debug, Clone)]
pub struct FacetLabel {
    pub table: String,
    pub pk: String,
    pub column: String,
}

/// A part of a date or datetime: Django's `__year`, `__month` and `__day` lookups, and the
/// kinds of `dates()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    Day,
}

impl DatePart {
    pub const ALL: [DatePart; 3] = [DatePart::Year, DatePart::Month, DatePart::Day];

    pub fn name(self) -> &'static str {
        match self {
            DatePart::Year => "year",
            DatePart::Month => "month",
            DatePart::Day => "day",
        }
    }

    pub fn from_name(name: &str) -> Option<DatePart> {
        DatePart::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Where the part is in the stored text (1-based, as SQLite's `substr`), and its length.
    fn place(self) -> (usize, usize) {
        match self {
            DatePart::Year => (1, 4),
            DatePart::Month => (6, 2),
            DatePart::Day => (9, 2),
        }
    }
}

/// The first text of year `y` as stored: below every stored value for a year before 0, above
/// every one for a year after 9999 (stored years have four digits).
fn year_start(y: i64) -> String {
    match y {
        ..0 => String::new(),
        0..=9999 => format!("{y:04}-01-01"),
        _ => "99999".to_string(),
    }
}

/// The text range of a year, a month of a year, or a day of a month: `[from, to)`. `None` for a
/// month or day that does not exist (month 13, February 30): no row is in it.
pub fn period(year: i64, month: Option<i64>, day: Option<i64>) -> Option<(String, String)> {
    use chrono::{Datelike, Months, NaiveDate};
    let Some(month) = month else {
        return Some((year_start(year), year_start(year.saturating_add(1))));
    };
    let y = i32::try_from(year)
        .ok()
        .filter(|y| (0..=9999).contains(y))?;
    let m = u32::try_from(month).ok()?;
    let d = match day {
        Some(d) => u32::try_from(d).ok()?,
        None => 1,
    };
    let from = NaiveDate::from_ymd_opt(y, m, d)?;
    let to = match day {
        Some(_) => from.succ_opt(),
        None => from.checked_add_months(Months::new(1)),
    };
    let show = |d: NaiveDate| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    let to = to
        .filter(|t| t.year() <= 9999)
        .map_or_else(|| "99999".to_string(), show);
    Some((show(from), to))
}

/// A year and a month (and a day) of one column, each compared exactly, as one period: one
/// range an index answers, rather than a year's range filtered by month.
fn narrow_periods(conds: &[Cond]) -> Vec<Cond> {
    let exact = |c: &Cond, want: DatePart, col: &str| match c {
        Cond::DatePart {
            column,
            part,
            lookup: Lookup::Exact,
            value,
        } if *part == want && column == col => Some(*value),
        _ => None,
    };
    let mut out: Vec<Cond> = conds.to_vec();
    for c in conds {
        let Cond::DatePart {
            column,
            part: DatePart::Year,
            lookup: Lookup::Exact,
            value: year,
        } = c
        else {
            continue;
        };
        let find = |part| conds.iter().find_map(|c| exact(c, part, column));
        let Some(month) = find(DatePart::Month) else {
            continue;
        };
        let day = find(DatePart::Day);
        out.retain(|c| {
            ![DatePart::Year, DatePart::Month, DatePart::Day]
                .into_iter()
                .any(|p| exact(c, p, column).is_some())
        });
        out.push(match period(*year, Some(month), day) {
            Some((from, to)) => Cond::Period {
                column: column.clone(),
                from,
                to,
            },
            None => Cond::In {
                column: column.clone(),
                values: Vec::new(),
            },
        });
    }
    out
}

/// Escape LIKE's wildcards so that `%` and `_` in a search term match themselves.
pub fn like_escape(term: &str) -> String {
    let mut s = String::with_capacity(term.len() + 2);
    s.push('%');
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// An FTS5 query matching every word of `term`, each quoted so that no FTS syntax leaks in.
pub fn fts_query(term: &str) -> String {
    term.split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Cond {
    /// The condition as SQL on the rows of `outer` (a quoted table name).
    fn sql(&self, outer: &str, out: &mut String, params: &mut Vec<SqlValue>) {
        match self {
            Cond::Cmp {
                column,
                lookup,
                value,
            } => {
                let c = ident(column);
                let (op, v) = match lookup {
                    Lookup::Exact | Lookup::In => ("=", value.clone()),
                    Lookup::Iexact => ("LIKE", escaped(value, false)),
                    Lookup::Contains => ("GLOB", glob_contains(value)),
                    Lookup::Icontains => ("LIKE", escaped(value, true)),
                    Lookup::Gt => (">", value.clone()),
                    Lookup::Gte => (">=", value.clone()),
                    Lookup::Lt => ("<", value.clone()),
                    Lookup::Lte => ("<=", value.clone()),
                };
                if matches!(value, SqlValue::Null) && *lookup == Lookup::Exact {
                    out.push_str(&format!("{c} IS NULL"));
                    return;
                }
                out.push_str(&format!("{c} {op} ?"));
                if op == "LIKE" {
                    out.push_str(" ESCAPE '\\'");
                }
                params.push(v);
            }
            Cond::In { column, values } => {
                if values.is_empty() {
                    out.push('0');
                    return;
                }
                let marks = vec!["?"; values.len()].join(", ");
                out.push_str(&format!("{} IN ({marks})", ident(column)));
                params.extend(values.iter().cloned());
            }
            Cond::Related {
                column,
                table,
                pk,
                many,
                inner,
            } => {
                let t = ident(table);
                if *many {
                    out.push_str(&format!(
                        "EXISTS (SELECT 1 FROM {t} WHERE {t}.{} = {outer}.{} AND ",
                        ident(pk),
                        ident(column),
                    ));
                } else {
                    out.push_str(&format!(
                        "{} IN (SELECT {} FROM {t} WHERE ",
                        ident(column),
                        ident(pk),
                    ));
                }
                inner.sql(&t, out, params);
                out.push(')');
            }
            Cond::Search { columns, term } => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{} LIKE ? ESCAPE '\\'", ident(c)))
                    .collect();
                out.push_str(&format!("({})", parts.join(" OR ")));
                for _ in columns {
                    params.push(SqlValue::Text(like_escape(term)));
                }
            }
            Cond::Fts { table, pk, term } => {
                let fts = ident(&format!("{table}_fts"));
                out.push_str(&format!(
                    "{} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)",
                    ident(pk)
                ));
                params.push(SqlValue::Text(fts_query(term)));
            }
            Cond::Beyond { keys } => beyond_sql(keys, out, params),
            Cond::DatePart {
                column,
                part: DatePart::Year,
                lookup,
                value,
            } => {
                // A year is a range of the text, so an index on the column answers it.
                let c = ident(column);
                let next = year_start(value.saturating_add(1));
                let (sql, bounds) = match lookup {
                    Lookup::Gte => (format!("{c} >= ?"), vec![year_start(*value)]),
                    Lookup::Gt => (format!("{c} >= ?"), vec![next]),
                    Lookup::Lt => (format!("{c} < ?"), vec![year_start(*value)]),
                    Lookup::Lte => (format!("{c} < ?"), vec![next]),
                    _ => (
                        format!("{c} >= ? AND {c} < ?"),
                        vec![year_start(*value), next],
                    ),
                };
                out.push_str(&sql);
                params.extend(bounds.into_iter().map(SqlValue::Text));
            }
            Cond::DatePart {
                column,
                part,
                lookup,
                value,
            } => {
                let (start, len) = part.place();
                let op = match lookup {
                    Lookup::Gt => ">",
                    Lookup::Gte => ">=",
                    Lookup::Lt => "<",
                    Lookup::Lte => "<=",
                    _ => "=",
                };
                out.push_str(&format!(
                    "CAST(substr({}, {start}, {len}) AS INTEGER) {op} ?",
                    ident(column)
                ));
                params.push(SqlValue::Integer(*value));
            }
            Cond::Period { column, from, to } => {
                let c = ident(column);
                out.push_str(&format!("{c} >= ? AND {c} < ?"));
                params.push(SqlValue::Text(from.clone()));
                params.push(SqlValue::Text(to.clone()));
            }
        }
    }
}

fn escaped(v: &SqlValue, contains: bool) -> SqlValue {
    let text = match v {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        _ => String::new(),
    };
    let escaped = like_escape(&text);
    if contains {
        SqlValue::Text(escaped)
    } else {
        // Without the `%` that like_escape puts around it (an escaped `%` inside stays).
        SqlValue::Text(escaped[1..escaped.len() - 1].to_string())
    }
}

/// Case-sensitive substring with GLOB, its wildcards escaped by bracketing.
fn glob_contains(v: &SqlValue) -> SqlValue {
    let text = match v {
        SqlValue::Text(s) => s.clone(),
        SqlValue::Integer(i) => i.to_string(),
        _ => String::new(),
    };
    let mut s = String::from("*");
    for c in text.chars() {
        match c {
            '*' | '?' | '[' | ']' => {
                s.push('[');
                s.push(c);
                s.push(']');
            }
            c => s.push(c),
        }
    }
    s.push('*');
    SqlValue::Text(s)
}

/// A query over one model.
#[derive(Debug, Clone)]
pub struct Query<'m> {
    pub model: &'m Model,
    pub conds: Vec<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<i64>,
    pub offset: i64,
    /// Whether `fetch` gives each row its many_to_many fields (one more query per field): a
    /// view whose output never reads them leaves it off.
    pub many: bool,
}

impl<'m> Query<'m> {
    pub fn new(model: &'m Model) -> Query<'m> {
        Query {
            model,
            conds: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: 0,
            many: true,
        }
    }

    fn where_sql(&self, params: &mut Vec<SqlValue>) -> String {
        if self.conds.is_empty() {
            return String::new();
        }
        let mut parts = Vec::new();
        for c in &narrow_periods(&self.conds) {
            let mut s = String::new();
            c.sql(&ident(&self.model.table), &mut s, params);
            parts.push(s);
        }
        format!(" WHERE {}", parts.join(" AND "))
    }

    /// The keys rows are ordered by (as `order_sql` writes them: the primary key last, in the
    /// direction of the key before it), with the values `row` holds in them: the condition for
    /// the rows after it.
    pub fn beyond(&self, row: &Map<String, Value>) -> Cond {
        let keys = self
            .keys()
            .into_iter()
            .map(|(column, desc)| {
                let field = self.model.fields.iter().find(|f| f.column == column);
                let ty = field.map_or(FieldType::Text, |f| f.ty);
                KeyValue {
                    column: column.to_string(),
                    desc,
                    null: field.is_none_or(|f| f.null),
                    value: to_sql(ty, row.get(column).unwrap_or(&Value::Null)),
                }
            })
            .collect();
        Cond::Beyond { keys }
    }

    /// The ORDER BY clause, with the primary key last so that pages never overlap.
    fn order_sql(&self) -> String {
        let keys: Vec<String> = self
            .keys()
            .into_iter()
            .map(|(column, desc)| format!("{}{}", ident(column), if desc { " DESC" } else { "" }))
            .collect();
        format!(" ORDER BY {}", keys.join(", "))
    }

    /// The ordering's keys, each column with whether it descends, the primary key last (in
    /// the last key's direction) unless the ordering names it: what pages are ordered by.
    fn keys(&self) -> Vec<(&str, bool)> {
        let pk = &self.model.pk_field().column;
        let mut keys: Vec<(&str, bool)> = self
            .order
            .iter()
            .map(|o| (o.column.as_str(), o.desc))
            .collect();
        if !self.order.iter().any(|o| &o.column == pk) {
            keys.push((pk, self.order.last().is_some_and(|o| o.desc)));
        }
        keys
    }

    pub fn select_sql(&self) -> (String, Vec<SqlValue>) {
        self.select_sql_of(&self.model.columns_sql)
    }

    /// `select_sql`, reading only these columns (quoted, comma-separated).
    fn select_sql_of(&self, columns: &str) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let table = ident(&self.model.table);
        let filter = self.where_sql(&mut params);
        let order = self.order_sql();
        // The limit is written into the SQL (a number of ours, fixed per view): SQLite would
        // re-plan a statement whose LIMIT is bound on every run. The offset stays bound.
        let sql = match self.limit {
            // A deep page: the keys of the page are found first, from the index alone, and only
            // those rows are read, rather than reading (and skipping) every row before them.
            Some(limit) if self.offset > 0 => {
                params.push(SqlValue::Integer(self.offset));
                let pk = ident(&self.model.pk_field().column);
                format!("SELECT {columns} FROM {table} WHERE {pk} IN (SELECT {pk} FROM {table}{filter}{order} LIMIT {limit} OFFSET ?){order}")
            }
            Some(limit) => format!("SELECT {columns} FROM {table}{filter}{order} LIMIT {limit}"),
            None => format!("SELECT {columns} FROM {table}{filter}{order}"),
        };
        (sql, params)
    }

    /// The distinct years, months or days of a date or datetime column among the query's rows,
    /// each with its number of rows (Django's `dates()`, with counts): `(2024-03, 12)`.
    pub fn dates_sql(&self, column: &str, part: DatePart, desc: bool) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let c = ident(column);
        let filter = self.where_sql(&mut params);
        let filter = if filter.is_empty() {
            format!(" WHERE {c} IS NOT NULL")
        } else {
            format!("{filter} AND {c} IS NOT NULL")
        };
        // `2024`, `2024-03`, `2024-03-01`: the text up to the end of the part.
        let (start, len) = part.place();
        let len = start + len - 1;
        let sql = format!(
            "SELECT substr({c}, 1, {len}) AS period, count(*) FROM {}{filter} GROUP BY period ORDER BY period{}",
            ident(&self.model.table),
            if desc { " DESC" } else { "" }
        );
        (sql, params)
    }

    /// How many of the query's rows hold each value of a facet, most first (then by value),
    /// at most `limit` values, with the target row's label when the facet has one: one GROUP
    /// BY, the query's conditions bound as everywhere.
    pub fn facet_sql(&self, facet: &Facet, limit: i64) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let table = ident(&self.model.table);
        let filter = self.where_sql(&mut params);
        let counted = match &facet.join {
            None => {
                let c = ident(&facet.column);
                format!("SELECT {c} AS v, count(*) AS n FROM {table}{filter} GROUP BY {c}")
            }
            Some(j) => format!(
                "SELECT {to} AS v, count(*) AS n FROM {jt} WHERE {from} IN (SELECT {pk} FROM {table}{filter}) GROUP BY {to}",
                to = ident(&j.to),
                jt = ident(&j.table),
                from = ident(&j.from),
                pk = ident(&self.model.pk_field().column),
            ),
        };
        let sql = match &facet.label {
            None => format!("SELECT f.v, f.n, NULL FROM ({counted}) AS f ORDER BY f.n DESC, f.v LIMIT {limit}"),
            Some(l) => format!(
                "SELECT f.v, f.n, t.{label} FROM ({counted}) AS f LEFT JOIN {t} AS t ON t.{pk} = f.v ORDER BY f.n DESC, f.v LIMIT {limit}",
                label = ident(&l.column),
                t = ident(&l.table),
                pk = ident(&l.pk),
            ),
        };
        (sql, params)
    }

    pub fn count_sql(&self) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let mut sql = format!("SELECT count(*) FROM {}", ident(&self.model.table));
        sql.push_str(&self.where_sql(&mut params));
        (sql, params)
    }
}

/// A target row's label as text (none for NULL).
fn label_text(v: SqlValue) -> Option<String> {
    match v {
        SqlValue::Null | SqlValue::Blob(_) => None,
        SqlValue::Text(s) => Some(s),
        SqlValue::Integer(i) => Some(i.to_string()),
        SqlValue::Real(f) => Some(f.to_string()),
    }
}

/// A column's value as JSON, by the field's type.
pub fn to_json(ty: FieldType, v: SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) if ty == FieldType::Boolean => Value::Bool(i != 0),
        SqlValue::Integer(i) => Value::from(i),
        SqlValue::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        SqlValue::Text(s) if ty == FieldType::Json => {
            serde_json::from_str(&s).unwrap_or(Value::String(s))
        }
        SqlValue::Text(s) => Value::String(s),
        SqlValue::Blob(_) => Value::Null,
    }
}

/// A JSON value (from YAML, a fixture or a parsed request value) as an SQL value.
pub fn to_sql(ty: FieldType, v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) if ty == FieldType::Json => {
            SqlValue::Text(Value::String(s.clone()).to_string())
        }
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

fn run(
    conn: &Conn,
    model: &Model,
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<Map<String, Value>>, DbError> {
    let mut stmt = conn
        .conn
        .prepare_cached(sql)
        .map_err(|e| DbError::at(sql, e))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |row| {
        let mut obj = Map::new();
        for (i, f) in model.fields.iter().enumerate() {
            let v: SqlValue = row.get(i)?;
            obj.insert(f.column.clone(), to_json(f.ty, v));
        }
        Ok(obj)
    })?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

/// A field a narrow fetch (`Database::fetch_picked`) reads: the field at `field` of the
/// query's model, or, through the foreign key at `via`, the field at `field` of its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub via: Option<usize>,
    pub field: usize,
}

/// The columns at `fields` of each row, as JSON by their types.
fn run_fields(
    conn: &Conn,
    model: &Model,
    fields: &[usize],
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<Vec<Value>>, DbError> {
    let mut stmt = conn
        .conn
        .prepare_cached(sql)
        .map_err(|e| DbError::at(sql, e))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |row| {
        let mut values = Vec::with_capacity(fields.len());
        for (i, &f) in fields.iter().enumerate() {
            values.push(to_json(model.fields[f].ty, row.get(i)?));
        }
        Ok(values)
    })?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

/// The quoted columns of these fields, for a SELECT.
fn columns_of(model: &Model, fields: &[usize]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|&f| ident(&model.fields[f].column))
        .collect();
    quoted.join(", ")
}

impl Database {
    /// Only the picked fields of a query's rows, each row's values in the order of `picks`
    /// (null where a foreign key points at no row): the columns asked for, and one query per
    /// foreign key followed for its targets' picked columns. For a view that reads a few
    /// fields of each row (a feed), not the whole row as a JSON object.
    pub fn fetch_picked(&self, q: &Query, picks: &[Pick]) -> Result<Vec<Vec<Value>>, DbError> {
        let model = q.model;
        // The model's fields read: each picked one, and each foreign key followed.
        let mut own: Vec<usize> = Vec::new();
        for p in picks {
            let f = p.via.unwrap_or(p.field);
            if !own.contains(&f) {
                own.push(f);
            }
        }
        let place = |f: usize| own.iter().position(|&o| o == f).unwrap_or_default();
        let (sql, params) = q.select_sql_of(&columns_of(model, &own));
        self.with(|conn| {
            let mut rows = run_fields(conn, model, &own, &sql, &params)?;
            let mut out: Vec<Vec<Value>> = rows
                .iter()
                .map(|_| vec![Value::Null; picks.len()])
                .collect();
            for (n, p) in picks.iter().enumerate() {
                let Some(via) = p.via else {
                    let at = place(p.field);
                    // Moved, not copied (a body is kilobytes), unless a later pick reads it.
                    let later = picks[n + 1..]
                        .iter()
                        .any(|e| e.via.unwrap_or(e.field) == p.field);
                    for (o, r) in out.iter_mut().zip(rows.iter_mut()) {
                        o[n] = if later {
                            r[at].clone()
                        } else {
                            std::mem::take(&mut r[at])
                        };
                    }
                    continue;
                };
                // The targets of this foreign key, once for all of its picks.
                if picks[..n].iter().any(|e| e.via == Some(via)) {
                    continue;
                }
                let fk = &model.fields[via];
                let Some(target) = fk.to.as_ref().and_then(|t| self.models.get(t)) else {
                    continue;
                };
                let theirs: Vec<usize> = std::iter::once(target.pk)
                    .chain(picks.iter().filter(|e| e.via == Some(via)).map(|e| e.field))
                    .collect();
                let at = place(via);
                let mut ids: Vec<SqlValue> = Vec::new();
                for r in &rows {
                    if !r[at].is_null() {
                        let s = to_sql(FieldType::Integer, &r[at]);
                        if !ids.contains(&s) {
                            ids.push(s);
                        }
                    }
                }
                let mut related = Vec::new();
                for chunk in ids.chunks(500) {
                    let tq = Query {
                        conds: vec![Cond::In {
                            column: target.pk_field().column.clone(),
                            values: chunk.to_vec(),
                        }],
                        many: false,
                        ..Query::new(target)
                    };
                    let (sql, params) = tq.select_sql_of(&columns_of(target, &theirs));
                    related.extend(run_fields(conn, target, &theirs, &sql, &params)?);
                }
                let places: Vec<usize> = (n..picks.len())
                    .filter(|&m| picks[m].via == Some(via))
                    .collect();
                for (o, r) in out.iter_mut().zip(&rows) {
                    if let Some(t) = related.iter().find(|t| t[0] == r[at]) {
                        // `theirs` lists the primary key, then these picks in order.
                        for (k, &m) in places.iter().enumerate() {
                            o[m] = t[k + 1].clone();
                        }
                    }
                }
            }
            Ok(out)
        })
    }

    /// The rows of a query, foreign keys filled with their related rows and many_to_many
    /// fields with lists of them (when the query asks for them: `Query::many`).
    pub fn fetch(&self, q: &Query) -> Result<Vec<Map<String, Value>>, DbError> {
        let (sql, params) = q.select_sql();
        self.with(|conn| {
            let mut rows = run(conn, q.model, &sql, &params)?;
            self.attach_related(conn, q.model, &mut rows)?;
            if q.many {
                super::many::attach(&conn.conn, &self.models, q.model, &mut rows)?;
            }
            Ok(rows)
        })
    }

    /// Where keyset pages continue after the first row of `q` (a route's conditions and the
    /// cursor's primary key): the condition for the rows after it in `q`'s ordering, made of
    /// the values it holds in the ordering's keys ([`Query::beyond`], which places NULLs as
    /// SQLite sorts them); `None` when `q` has no row. Only the keys' columns are read.
    pub fn beyond_first(&self, q: &Query) -> Result<Option<Cond>, DbError> {
        let model = q.model;
        let keys: Vec<usize> = q
            .keys()
            .into_iter()
            .filter_map(|(column, _)| model.fields.iter().position(|f| f.column == column))
            .collect();
        let mut first = q.clone();
        first.limit = Some(1);
        first.offset = 0;
        let (sql, params) = first.select_sql_of(&columns_of(model, &keys));
        let rows = self.with(|conn| run_fields(conn, model, &keys, &sql, &params))?;
        Ok(rows.into_iter().next().map(|values| {
            let row: Map<String, Value> = keys
                .iter()
                .map(|&i| model.fields[i].column.clone())
                .zip(values)
                .collect();
            q.beyond(&row)
        }))
    }

    /// The periods of a date or datetime column among a query's rows, each with its number of
    /// rows: `("2024-03", 12)` for months (see [`Query::dates_sql`]).
    pub fn dates(
        &self,
        q: &Query,
        column: &str,
        part: DatePart,
        desc: bool,
    ) -> Result<Vec<(String, i64)>, DbError> {
        let (sql, params) = q.dates_sql(column, part, desc);
        self.rows(&sql, &params, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
    }

    /// Each row of a statement, as `f` reads it.
    fn rows<T>(
        &self,
        sql: &str,
        params: &[SqlValue],
        f: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, DbError> {
        self.with(|conn| {
            let mut stmt = conn
                .conn
                .prepare_cached(sql)
                .map_err(|e| DbError::at(sql, e))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), f)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// A facet's values among a query's rows (see [`Query::facet_sql`]): each value, its
    /// number of rows and its label (text), most rows first.
    pub fn facet(
        &self,
        q: &Query,
        facet: &Facet,
        limit: i64,
    ) -> Result<Vec<(SqlValue, i64, Option<String>)>, DbError> {
        let (sql, params) = q.facet_sql(facet, limit);
        self.rows(&sql, &params, |r| {
            let label = label_text(r.get(2)?);
            Ok((r.get::<_, SqlValue>(0)?, r.get::<_, i64>(1)?, label))
        })
    }

    /// The rows a foreign key's (or many_to_many's) facet may choose among: each row's key and
    /// label, by label then key, at most `limit` (the admin's filter lists them uncounted).
    pub fn facet_targets(
        &self,
        label: &FacetLabel,
        limit: i64,
    ) -> Result<Vec<(SqlValue, Option<String>)>, DbError> {
        let sql = format!(
            "SELECT {pk}, {col} FROM {t} ORDER BY {col}, {pk} LIMIT {limit}",
            pk = ident(&label.pk),
            col = ident(&label.column),
            t = ident(&label.table),
        );
        self.rows(&sql, &[], |r| {
            Ok((r.get::<_, SqlValue>(0)?, label_text(r.get(1)?)))
        })
    }

    /// How many rows a query matches; remembered until the database changes.
    pub fn count(&self, q: &Query) -> Result<i64, DbError> {
        let (sql, params) = q.count_sql();
        let key = format!("{sql}\u{0}{params:?}");
        self.with(|conn| {
            if let Some(n) = conn.cached_count(&key)? {
                return Ok(n);
            }
            let n: i64 = conn
                .conn
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?;
            conn.remember_count(key, n)?;
            Ok(n)
        })
    }

    /// Replace each foreign key's `NAME_id` by also setting `NAME` to the related row (or null),
    /// with one query per foreign key field.
    fn attach_related(
        &self,
        conn: &Conn,
        model: &Model,
        rows: &mut [Map<String, Value>],
    ) -> Result<(), DbError> {
        for f in model
            .fields
            .iter()
            .filter(|f| f.ty == FieldType::ForeignKey)
        {
            let Some(target) = f.to.as_ref().and_then(|t| self.models.get(t)) else {
                continue;
            };
            let mut ids: Vec<SqlValue> = Vec::new();
            for r in rows.iter() {
                let v = r.get(&f.column).cloned().unwrap_or(Value::Null);
                if !v.is_null() {
                    let s = to_sql(FieldType::Integer, &v);
                    if !ids.contains(&s) {
                        ids.push(s);
                    }
                }
            }
            let pk = &target.pk_field().column;
            let mut related = Vec::new();
            for chunk in ids.chunks(500) {
                let q = Query {
                    model: target,
                    conds: vec![Cond::In {
                        column: pk.clone(),
                        values: chunk.to_vec(),
                    }],
                    order: Vec::new(),
                    limit: None,
                    offset: 0,
                    many: false,
                };
                let (sql, params) = q.select_sql();
                related.extend(run(conn, target, &sql, &params)?);
            }
            for r in rows.iter_mut() {
                let id = r.get(&f.column).cloned().unwrap_or(Value::Null);
                let obj = related.iter().find(|o| o.get(pk) == Some(&id)).cloned();
                r.insert(f.name.clone(), obj.map_or(Value::Null, Value::Object));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iexact_keeps_an_escaped_percent_at_the_end() {
        assert_eq!(
            escaped(&SqlValue::Text("50%".into()), false),
            SqlValue::Text("50\\%".into())
        );
    }

    #[test]
    fn wildcards_in_terms_match_themselves() {
        assert_eq!(like_escape("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(
            fts_query("say \"hi\" now"),
            "\"say\" \"\"\"hi\"\"\" \"now\""
        );
    }

    const INJECTION: &str = "'; DROP TABLE post; --";

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.into())
    }

    fn cmp(column: &str, lookup: Lookup, value: SqlValue) -> Cond {
        Cond::Cmp {
            column: column.into(),
            lookup,
            value,
        }
    }

    fn order(column: &str, desc: bool) -> Order {
        Order {
            field: column.into(),
            column: column.into(),
            desc,
        }
    }

    /// What a query is made of, and the statement (`{cols}` standing for the model's column
    /// list) and parameters it must become.
    type Case = (
        &'static str,
        Vec<Cond>,
        Vec<Order>,
        Option<i64>,
        i64,
        String,
        Vec<SqlValue>,
    );

    /// The query builder as a table: conditions, ordering and paging in, one statement and its
    /// parameters out. Every value stays a parameter (none is written into the SQL), and each
    /// statement runs on a real database.
    fn check(cases: Vec<Case>) {
        let db = crate::db::fixtures::testing::Db::new();
        let post = db.models.get("Post").unwrap().as_ref();

        for (what, conds, ord, limit, offset, sql, params) in cases {
            let sql = sql.replace("{cols}", &post.columns_sql);
            let mut q = Query::new(post);
            q.conds = conds;
            q.order = ord;
            q.limit = limit;
            q.offset = offset;
            let (got, got_params) = q.select_sql();
            assert_eq!(got, sql, "{what}");
            assert_eq!(got_params, params, "{what}");
            assert!(!got.contains(INJECTION), "{what}: a value in the SQL");
            // It runs: the statement is valid SQL for the table as migrated.
            let mut stmt = db
                .conn
                .prepare(&got)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let n = stmt
                .query_map(rusqlite::params_from_iter(got_params.iter()), |_| Ok(()))
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .count();
            assert_eq!(n, 0, "{what}: the table is empty");
            let (count, count_params) = q.count_sql();
            let bound = count_params.len();
            assert_eq!(
                bound,
                count.matches('?').count(),
                "{what}: every mark of the count is bound"
            );
        }
        assert_eq!(db.count("post"), 0, "the table survived every value");
    }

    #[test]
    fn conditions_become_a_where_clause_with_bound_values() {
        check(vec![
        (
            "everything, by primary key",
            vec![],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" ORDER BY \"id\"".to_string(),
            vec![],
        ),
        (
            "exact",
            vec![cmp("title", Lookup::Exact, text(INJECTION))],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"title\" = ? ORDER BY \"id\"".to_string(),
            vec![text(INJECTION)],
        ),
        (
            "exact null",
            vec![cmp("body", Lookup::Exact, SqlValue::Null)],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"body\" IS NULL ORDER BY \"id\"".to_string(),
            vec![],
        ),
        (
            "icontains escapes LIKE's wildcards",
            vec![cmp("title", Lookup::Icontains, text("50%_"))],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"title\" LIKE ? ESCAPE '\\' ORDER BY \"id\"".to_string(),
            vec![text("%50\\%\\_%")],
        ),
        (
            "contains brackets GLOB's wildcards",
            vec![cmp("title", Lookup::Contains, text("a*b?"))],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"title\" GLOB ? ORDER BY \"id\"".to_string(),
            vec![text("*a[*]b[?]*")],
        ),
        (
            "ranges",
            vec![
                cmp("rating", Lookup::Gte, SqlValue::Real(2.5)),
                cmp("rating", Lookup::Lt, SqlValue::Integer(4)),
            ],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"rating\" >= ? AND \"rating\" < ? ORDER BY \"id\"".to_string(),
            vec![SqlValue::Real(2.5), SqlValue::Integer(4)],
        ),
        (
            "an empty IN matches nothing",
            vec![Cond::In {
                column: "id".into(),
                values: vec![],
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE 0 ORDER BY \"id\"".to_string(),
            vec![],
        ),
        (
            "IN",
            vec![Cond::In {
                column: "id".into(),
                values: vec![SqlValue::Integer(1), SqlValue::Integer(2)],
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"id\" IN (?, ?) ORDER BY \"id\"".to_string(),
            vec![SqlValue::Integer(1), SqlValue::Integer(2)],
        ),
        (
            "through a foreign key",
            vec![Cond::Related {
                column: "author_id".into(),
                table: "author".into(),
                pk: "id".into(),
                many: false,
                inner: Box::new(cmp("slug", Lookup::Exact, text("ada"))),
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"author_id\" IN (SELECT \"id\" FROM \"author\" WHERE \"slug\" = ?) ORDER BY \"id\"".to_string(),
            vec![text("ada")],
        ),
        (
            "through a many_to_many field: its join table (correlated), then its target",
            vec![Cond::Related {
                column: "id".into(),
                table: "post_tags".into(),
                pk: "post_id".into(),
                many: true,
                inner: Box::new(Cond::Related {
                    column: "tag_id".into(),
                    table: "tag".into(),
                    pk: "code".into(),
                    many: false,
                    inner: Box::new(cmp("label", Lookup::Exact, text(INJECTION))),
                }),
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE EXISTS (SELECT 1 FROM \"post_tags\" WHERE \"post_tags\".\"post_id\" = \"post\".\"id\" AND \"tag_id\" IN (SELECT \"code\" FROM \"tag\" WHERE \"label\" = ?)) ORDER BY \"id\"".to_string(),
            vec![text(INJECTION)],
        ),
        (
            "search: every column, the term escaped",
            vec![Cond::Search {
                columns: vec!["title".into(), "body".into()],
                term: "x_y".into(),
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE (\"title\" LIKE ? ESCAPE '\\' OR \"body\" LIKE ? ESCAPE '\\') ORDER BY \"id\"".to_string(),
            vec![text("%x\\_y%"), text("%x\\_y%")],
        ),
        ]);
    }

    #[test]
    fn ordering_and_pages_become_order_by_limit_and_a_bound_offset() {
        check(vec![
        (
            "first page: newest first, the key last in the same direction",
            vec![],
            vec![order("created_at", true)],
            Some(11),
            0,
            "SELECT {cols} FROM \"post\" ORDER BY \"created_at\" DESC, \"id\" DESC LIMIT 11".to_string(),
            vec![],
        ),
        (
            "a deep page finds its keys first; only the offset is bound",
            vec![cmp("published", Lookup::Exact, SqlValue::Integer(1))],
            vec![order("title", false)],
            Some(11),
            20,
            "SELECT {cols} FROM \"post\" WHERE \"id\" IN (SELECT \"id\" FROM \"post\" WHERE \"published\" = ? ORDER BY \"title\", \"id\" LIMIT 11 OFFSET ?) ORDER BY \"title\", \"id\"".to_string(),
            vec![SqlValue::Integer(1), SqlValue::Integer(20)],
        ),
        (
            "keyset: after a row's values, in the ordering's direction, as one row value",
            vec![Cond::Beyond {
                keys: vec![
                    key_value("created_at", true, SqlValue::Text("2024-01-02".into())),
                    key_value("id", true, SqlValue::Integer(7)),
                ],
            }],
            vec![order("created_at", true)],
            Some(6),
            0,
            "SELECT {cols} FROM \"post\" WHERE (\"created_at\", \"id\") < (?, ?) ORDER BY \"created_at\" DESC, \"id\" DESC LIMIT 6".to_string(),
            vec![SqlValue::Text("2024-01-02".into()), SqlValue::Integer(7)],
        ),
        (
            "keyset ascending over a nullable column, after a value: still one row value",
            vec![Cond::Beyond {
                keys: vec![
                    KeyValue { null: true, ..key_value("rating", false, SqlValue::Real(2.5)) },
                    key_value("id", false, SqlValue::Integer(7)),
                ],
            }],
            vec![order("rating", false)],
            Some(6),
            0,
            "SELECT {cols} FROM \"post\" WHERE (\"rating\", \"id\") > (?, ?) ORDER BY \"rating\", \"id\" LIMIT 6".to_string(),
            vec![SqlValue::Real(2.5), SqlValue::Integer(7)],
        ),
        (
            "keyset descending over a nullable column: its NULLs come after, key by key",
            vec![Cond::Beyond {
                keys: vec![
                    KeyValue { null: true, ..key_value("rating", true, SqlValue::Real(2.5)) },
                    key_value("id", true, SqlValue::Integer(7)),
                ],
            }],
            vec![order("rating", true)],
            Some(6),
            0,
            "SELECT {cols} FROM \"post\" WHERE (((\"rating\" < ? OR \"rating\" IS NULL)) OR (\"rating\" = ? AND \"id\" < ?)) ORDER BY \"rating\" DESC, \"id\" DESC LIMIT 6".to_string(),
            vec![SqlValue::Real(2.5), SqlValue::Real(2.5), SqlValue::Integer(7)],
        ),
        ]);
    }

    fn key_value(column: &str, desc: bool, value: SqlValue) -> KeyValue {
        KeyValue {
            column: column.into(),
            desc,
            null: false,
            value,
        }
    }

    /// The test database with one author (id 1), for posts to point at.
    fn db_with_an_author() -> crate::db::fixtures::testing::Db {
        let db = crate::db::fixtures::testing::Db::new();
        db.conn
            .execute(
                "INSERT INTO author (id, name, slug) VALUES (1, 'Ada', 'ada')",
                [],
            )
            .unwrap();
        db
    }

    /// Keyset pages by value (`beyond`, as a CSV export reads them) give every row once, in
    /// the ordering's order, whatever the directions and wherever the NULLs are.
    #[test]
    fn pages_beyond_a_rows_values_read_every_row_once_in_order() {
        let db = db_with_an_author();
        let post = db.models.get("Post").unwrap().as_ref();
        let ratings = [
            Some(2.5),
            None,
            Some(1.0),
            Some(2.5),
            None,
            Some(4.0),
            Some(1.0),
            None,
            Some(2.5),
        ];
        for (i, r) in ratings.iter().enumerate() {
            let title = ["b", "a", "c"][i % 3];
            db.conn
                .execute(
                    "INSERT INTO post (id, title, slug, rating, created_at, author_id) VALUES (?1, ?2, ?3, ?4, '2024-01-01T00:00:00', 1)",
                    rusqlite::params![i as i64 + 1, title, format!("p{i}"), r],
                )
                .unwrap();
        }
        let rows = |q: &Query| -> Vec<Map<String, Value>> {
            let (sql, params) = q.select_sql();
            let mut stmt = db.conn.prepare(&sql).unwrap();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    let mut m = Map::new();
                    for (i, f) in post.fields.iter().enumerate() {
                        m.insert(f.column.clone(), to_json(f.ty, r.get(i)?));
                    }
                    Ok(m)
                })
                .unwrap();
            rows.map(Result::unwrap).collect()
        };
        let ids = |rows: &[Map<String, Value>]| -> Vec<i64> {
            rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
        };
        for keys in [
            vec!["rating"],
            vec!["-rating"],
            vec!["-rating", "title"],
            vec!["rating", "-title"],
            vec!["title", "-rating"],
            vec!["-title"],
        ] {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            let mut q = Query::new(post);
            q.order = post.parse_ordering(&keys).unwrap();
            let all = ids(&rows(&q));
            assert_eq!(all.len(), ratings.len());
            let mut paged = Vec::new();
            let mut last: Option<Map<String, Value>> = None;
            loop {
                let mut page = q.clone();
                page.limit = Some(2);
                if let Some(row) = &last {
                    page.conds.push(q.beyond(row));
                }
                let got = rows(&page);
                if got.is_empty() {
                    break;
                }
                paged.extend(ids(&got));
                last = got.last().cloned();
                assert!(paged.len() <= all.len(), "{keys:?}: {paged:?}");
            }
            assert_eq!(paged, all, "{keys:?}");
        }
    }

    /// A post of the property below: rating (often NULL, often tied), title, body (NULL or
    /// short), published.
    type Generated = (Option<i8>, u8, Option<u8>, bool);

    /// Keyset pages (`?after=` a row's key, through `Database::beyond_first`) over any rows,
    /// in any ordering of nullable and tied keys, give every row the list shows exactly once,
    /// in the order SQLite's ORDER BY gives; a hidden row is no cursor. One database, emptied
    /// for each case.
    #[test]
    fn keyset_pages_after_a_key_give_every_row_once() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let db = db_with_an_author();
        let database = Database::new(db.dir.path().join("db.sqlite3"), db.models.clone());
        let post = db.models.get("Post").unwrap().as_ref();
        let posts = proptest::collection::vec(
            (
                proptest::option::weighted(0.6, 0i8..4),
                0u8..3,
                proptest::option::of(0u8..2),
                proptest::bool::weighted(0.8),
            ),
            0..24,
        );
        let keys = proptest::sample::subsequence(
            vec!["rating", "-rating", "title", "-title", "body", "-body"],
            1..3,
        );
        let mut runner = TestRunner::new(Config {
            cases: 128,
            failure_persistence: None,
            ..Config::default()
        });
        let case = |(posts, keys, per): (Vec<Generated>, Vec<&str>, i64)| {
            db.conn.execute("DELETE FROM post", []).unwrap();
            for (i, (rating, title, body, published)) in posts.iter().enumerate() {
                db.conn
                    .execute(
                        "INSERT INTO post (id, title, slug, body, rating, published, created_at, author_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, '2024-01-01T00:00:00', 1)",
                        rusqlite::params![
                            i as i64 + 1,
                            ["a", "b", "c"][*title as usize],
                            format!("p{i}"),
                            body.map(|b| ["x", "y"][b as usize]),
                            rating.map(f64::from),
                            published,
                        ],
                    )
                    .unwrap();
            }
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            let mut q = Query::new(post);
            q.order = post.parse_ordering(&keys).unwrap();
            q.conds = vec![Cond::Cmp {
                column: "published".into(),
                lookup: Lookup::Exact,
                value: SqlValue::Integer(1),
            }];
            q.many = false;
            let ids = |rows: Vec<Map<String, Value>>| -> Vec<i64> {
                rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
            };
            let all = ids(database.fetch(&q).unwrap());
            let cursor = |id: i64| {
                let mut c = q.clone();
                c.conds.push(Cond::Cmp {
                    column: "id".into(),
                    lookup: Lookup::Exact,
                    value: SqlValue::Integer(id),
                });
                database.beyond_first(&c).unwrap()
            };
            let mut paged: Vec<i64> = Vec::new();
            let mut page = q.clone();
            loop {
                page.limit = Some(per);
                let got = ids(database.fetch(&page).unwrap());
                paged.extend(&got);
                prop_assert!(paged.len() <= all.len(), "{keys:?}: {paged:?}");
                let Some(&last) = got.last() else { break };
                page = q.clone();
                page.conds
                    .push(cursor(last).expect("a shown row is a cursor"));
            }
            prop_assert_eq!(&paged, &all, "{:?}", keys);
            for (i, (.., published)) in posts.iter().enumerate() {
                prop_assert_eq!(cursor(i as i64 + 1).is_some(), *published);
            }
            Ok(())
        };
        if let Err(e) = runner.run(&(posts, keys, 1i64..5), case) {
            panic!("{e}");
        }
    }

    fn date_part(part: DatePart, lookup: Lookup, value: i64) -> Cond {
        Cond::DatePart {
            column: "created_at".into(),
            part,
            lookup,
            value,
        }
    }

    #[test]
    fn date_lookups_become_ranges_of_the_stored_text() {
        let where_ = |w: &str| format!("SELECT {{cols}} FROM \"post\" WHERE {w} ORDER BY \"id\"");
        let case = |what, conds, w: &str, params| -> Case {
            (what, conds, vec![], None, 0, where_(w), params)
        };
        let range = "\"created_at\" >= ? AND \"created_at\" < ?";
        check(vec![
            case(
                "a year: from its first day to the next year's",
                vec![date_part(DatePart::Year, Lookup::Exact, 2024)],
                range,
                vec![text("2024-01-01"), text("2025-01-01")],
            ),
            case(
                "year__gte: from its first day",
                vec![date_part(DatePart::Year, Lookup::Gte, 2024)],
                "\"created_at\" >= ?",
                vec![text("2024-01-01")],
            ),
            case(
                "year__gt: from the next year",
                vec![date_part(DatePart::Year, Lookup::Gt, 2024)],
                "\"created_at\" >= ?",
                vec![text("2025-01-01")],
            ),
            case(
                "year__lt: before its first day",
                vec![date_part(DatePart::Year, Lookup::Lt, 2024)],
                "\"created_at\" < ?",
                vec![text("2024-01-01")],
            ),
            case(
                "year__lte: before the next year",
                vec![date_part(DatePart::Year, Lookup::Lte, 2024)],
                "\"created_at\" < ?",
                vec![text("2025-01-01")],
            ),
            case(
                "the last year four digits hold ends above every stored value",
                vec![date_part(DatePart::Year, Lookup::Exact, 9999)],
                range,
                vec![text("9999-01-01"), text("99999")],
            ),
            case(
                "a month alone (of any year) is read out of the text",
                vec![date_part(DatePart::Month, Lookup::Exact, 3)],
                "CAST(substr(\"created_at\", 6, 2) AS INTEGER) = ?",
                vec![SqlValue::Integer(3)],
            ),
            case(
                "day__lte alone",
                vec![date_part(DatePart::Day, Lookup::Lte, 15)],
                "CAST(substr(\"created_at\", 9, 2) AS INTEGER) <= ?",
                vec![SqlValue::Integer(15)],
            ),
            case(
                "a year and a month: one range, the month's",
                vec![
                    date_part(DatePart::Month, Lookup::Exact, 12),
                    date_part(DatePart::Year, Lookup::Exact, 2024),
                ],
                range,
                vec![text("2024-12-01"), text("2025-01-01")],
            ),
            case(
                "a year, a month and a day: the day's range",
                vec![
                    date_part(DatePart::Year, Lookup::Exact, 2024),
                    date_part(DatePart::Month, Lookup::Exact, 2),
                    date_part(DatePart::Day, Lookup::Exact, 29),
                ],
                range,
                vec![text("2024-02-29"), text("2024-03-01")],
            ),
            case(
                "a month that does not exist matches nothing",
                vec![
                    date_part(DatePart::Year, Lookup::Exact, 2024),
                    date_part(DatePart::Month, Lookup::Exact, 13),
                ],
                "0",
                vec![],
            ),
            case(
                "a comparison of the month is not merged into the year",
                vec![
                    date_part(DatePart::Year, Lookup::Exact, 2024),
                    date_part(DatePart::Month, Lookup::Gte, 6),
                ],
                "\"created_at\" >= ? AND \"created_at\" < ? AND CAST(substr(\"created_at\", 6, 2) AS INTEGER) >= ?",
                vec![text("2024-01-01"), text("2025-01-01"), SqlValue::Integer(6)],
            ),
        ]);
    }

    #[test]
    fn periods_are_half_open_ranges_of_iso_text() {
        let p = |y, m, d| period(y, m, d);
        let range = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(p(2024, None, None), range("2024-01-01", "2025-01-01"));
        assert_eq!(p(2024, Some(12), None), range("2024-12-01", "2025-01-01"));
        assert_eq!(
            p(2023, Some(2), Some(28)),
            range("2023-02-28", "2023-03-01")
        );
        assert_eq!(p(9999, Some(12), Some(31)), range("9999-12-31", "99999"));
        assert_eq!(p(-1, None, None), range("", "0000-01-01"));
        assert_eq!(p(12024, None, None), range("99999", "99999"));
        assert_eq!(p(2024, Some(13), None), None);
        assert_eq!(p(2024, Some(0), None), None);
        assert_eq!(p(2023, Some(2), Some(29)), None);
        assert_eq!(p(2024, Some(4), Some(31)), None);
        assert_eq!(p(10000, Some(1), None), None);
    }

    /// Rows on the first and last instants of a year and of a month, in a real table: each
    /// period holds exactly its rows, and `dates()` counts them.
    #[test]
    fn periods_hold_their_first_and_last_instants_and_dates_counts_them() {
        let db = db_with_an_author();
        let post = db.models.get("Post").unwrap().as_ref();
        let times = [
            "2023-12-31T23:59:59.999999",
            "2024-01-01T00:00:00",
            "2024-02-29T23:59:59",
            "2024-03-01T00:00:00",
            "2024-12-31T23:59:59",
            "2025-01-01T00:00:00",
        ];
        for (i, t) in times.iter().enumerate() {
            db.conn
                .execute(
                    "INSERT INTO post (id, title, slug, created_at, author_id) VALUES (?1, 't', ?2, ?3, 1)",
                    rusqlite::params![i as i64 + 1, format!("p{i}"), t],
                )
                .unwrap();
        }
        let ids = |conds: Vec<Cond>| -> Vec<i64> {
            let mut q = Query::new(post);
            q.conds = conds;
            let (sql, params) = q.select_sql();
            let mut stmt = db.conn.prepare(&sql).unwrap();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get(0))
                .unwrap();
            rows.map(Result::unwrap).collect()
        };
        let year = |y| date_part(DatePart::Year, Lookup::Exact, y);
        let month = |m| date_part(DatePart::Month, Lookup::Exact, m);
        assert_eq!(ids(vec![year(2024)]), [2, 3, 4, 5]);
        assert_eq!(ids(vec![year(2024), month(2)]), [3]);
        assert_eq!(ids(vec![year(2024), month(3)]), [4]);
        assert_eq!(ids(vec![year(2023), month(12)]), [1]);
        assert_eq!(ids(vec![month(12)]), [1, 5]);
        assert_eq!(
            ids(vec![date_part(DatePart::Year, Lookup::Gt, 2023)]),
            [2, 3, 4, 5, 6]
        );
        assert_eq!(ids(vec![date_part(DatePart::Year, Lookup::Lte, 2023)]), [1]);

        let dates = |conds: Vec<Cond>, part, desc| -> Vec<(String, i64)> {
            let mut q = Query::new(post);
            q.conds = conds;
            let (sql, params) = q.dates_sql("created_at", part, desc);
            let mut stmt = db.conn.prepare(&sql).unwrap();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            rows.map(Result::unwrap).collect()
        };
        let got = dates(vec![], DatePart::Year, true);
        let want = [("2025", 1), ("2024", 4), ("2023", 1)];
        assert_eq!(got, want.map(|(p, n)| (p.to_string(), n)));
        let got = dates(vec![year(2024)], DatePart::Month, false);
        let want = [
            ("2024-01", 1),
            ("2024-02", 1),
            ("2024-03", 1),
            ("2024-12", 1),
        ];
        assert_eq!(got, want.map(|(p, n)| (p.to_string(), n)));
        let got = dates(vec![year(2024), month(2)], DatePart::Day, false);
        assert_eq!(got, [("2024-02-29".to_string(), 1)]);
    }
}
