//! The query builder: conditions, ordering and paging over one model, turned into one SQL
//! statement whose values are all bound parameters. Column and table names come from the
//! compiled models only. Rows come back as JSON objects; foreign keys are filled with the
//! related rows in one extra query per foreign key, and many_to_many fields with lists of rows
//! in one query per field (`many::attach`), not one per row.

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
    /// A condition on the row a foreign key points at: `author__slug = 'x'`.
    Related {
        column: String,
        table: String,
        pk: String,
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
    /// Rows after the row with this primary key, in this ordering (keyset pagination).
    After {
        order: Vec<Order>,
        pk: String,
        value: SqlValue,
    },
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
    fn sql(&self, out: &mut String, params: &mut Vec<SqlValue>) {
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
                inner,
            } => {
                out.push_str(&format!(
                    "{} IN (SELECT {} FROM {} WHERE ",
                    ident(column),
                    ident(pk),
                    ident(table)
                ));
                inner.sql(out, params);
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
            Cond::After { order, pk, value } => {
                // (k1, k2, pk) < (SELECT k1, k2, pk FROM … WHERE pk = ?) for descending keys;
                // every key in an ordering shares the direction of the first (checked at load).
                let desc = order.first().is_some_and(|o| o.desc);
                let mut cols: Vec<String> = order.iter().map(|o| ident(&o.column)).collect();
                if !order.iter().any(|o| &o.column == pk) {
                    cols.push(ident(pk));
                }
                let list = cols.join(", ");
                out.push_str(&format!(
                    "({list}) {} (SELECT {list} FROM {{table}} WHERE {} = ?)",
                    if desc { "<" } else { ">" },
                    ident(pk)
                ));
                params.push(value.clone());
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
}

impl<'m> Query<'m> {
    pub fn new(model: &'m Model) -> Query<'m> {
        Query {
            model,
            conds: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: 0,
        }
    }

    fn where_sql(&self, params: &mut Vec<SqlValue>) -> String {
        if self.conds.is_empty() {
            return String::new();
        }
        let mut parts = Vec::new();
        for c in &self.conds {
            let mut s = String::new();
            c.sql(&mut s, params);
            parts.push(s.replace("{table}", &ident(&self.model.table)));
        }
        format!(" WHERE {}", parts.join(" AND "))
    }

    /// The ORDER BY clause, with the primary key last so that pages never overlap.
    fn order_sql(&self) -> String {
        let pk = &self.model.pk_field().column;
        let mut keys: Vec<String> = self
            .order
            .iter()
            .map(|o| format!("{}{}", ident(&o.column), if o.desc { " DESC" } else { "" }))
            .collect();
        if !self.order.iter().any(|o| &o.column == pk) {
            let desc = self.order.last().is_some_and(|o| o.desc);
            keys.push(format!("{}{}", ident(pk), if desc { " DESC" } else { "" }));
        }
        format!(" ORDER BY {}", keys.join(", "))
    }

    pub fn select_sql(&self) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let table = ident(&self.model.table);
        let filter = self.where_sql(&mut params);
        let order = self.order_sql();
        let columns = &self.model.columns_sql;
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

    pub fn count_sql(&self) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let mut sql = format!("SELECT count(*) FROM {}", ident(&self.model.table));
        sql.push_str(&self.where_sql(&mut params));
        (sql, params)
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

impl Database {
    /// The rows of a query, foreign keys filled with their related rows and many_to_many
    /// fields with lists of them.
    pub fn fetch(&self, q: &Query) -> Result<Vec<Map<String, Value>>, DbError> {
        let (sql, params) = q.select_sql();
        self.with(|conn| {
            let mut rows = run(conn, q.model, &sql, &params)?;
            self.attach_related(conn, q.model, &mut rows)?;
            super::many::attach(&conn.conn, &self.models, q.model, &mut rows)?;
            Ok(rows)
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
                inner: Box::new(cmp("slug", Lookup::Exact, text("ada"))),
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"author_id\" IN (SELECT \"id\" FROM \"author\" WHERE \"slug\" = ?) ORDER BY \"id\"".to_string(),
            vec![text("ada")],
        ),
        (
            "through a many_to_many field: its join table, then its target",
            vec![Cond::Related {
                column: "id".into(),
                table: "post_tags".into(),
                pk: "post_id".into(),
                inner: Box::new(Cond::Related {
                    column: "tag_id".into(),
                    table: "tag".into(),
                    pk: "code".into(),
                    inner: Box::new(cmp("label", Lookup::Exact, text(INJECTION))),
                }),
            }],
            vec![],
            None,
            0,
            "SELECT {cols} FROM \"post\" WHERE \"id\" IN (SELECT \"post_id\" FROM \"post_tags\" WHERE \"tag_id\" IN (SELECT \"code\" FROM \"tag\" WHERE \"label\" = ?)) ORDER BY \"id\"".to_string(),
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
            "keyset: after a row, in the ordering's direction",
            vec![Cond::After {
                order: vec![order("created_at", true)],
                pk: "id".into(),
                value: SqlValue::Integer(7),
            }],
            vec![order("created_at", true)],
            Some(6),
            0,
            "SELECT {cols} FROM \"post\" WHERE (\"created_at\", \"id\") < (SELECT \"created_at\", \"id\" FROM \"post\" WHERE \"id\" = ?) ORDER BY \"created_at\" DESC, \"id\" DESC LIMIT 6".to_string(),
            vec![SqlValue::Integer(7)],
        ),
        ]);
    }
}
