//! Many-to-many fields: the rows of their join tables (`post_tags`, as Django names it). Rows
//! read by a query get each many_to_many field as a list of the target's rows, with one query
//! per field for a whole page (`… WHERE post_id IN (…)`), never one per row; `set_many`
//! replaces the set of one row, inside the caller's transaction (fixtures and content
//! collections write through it). Filtering through a many_to_many field is a chain of
//! `Cond::Related` (see `views::fields::resolve_path`): the join table, then the target.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::{Map, Value};

use super::model::{Field, JoinTable, Model, Models};
use super::query::{to_json, to_sql};
use super::{ident, DbError};

/// The join table of a many_to_many field, or an error naming the field when it is not one.
pub fn join_table<'f>(model: &Model, field: &'f Field) -> Result<&'f JoinTable, DbError> {
    field.join.as_ref().ok_or_else(|| {
        DbError::Invalid(format!(
            "`{}` of {} is not a many_to_many field",
            field.name, model.name
        ))
    })
}

/// Make `targets` (primary keys of the field's target model) the whole set of the row `pk` of
/// `model` for the many_to_many `field`: pairs not in `targets` are deleted, new ones inserted,
/// duplicates in `targets` ignored. Run it inside a transaction (`&Transaction` derefs to
/// `&Connection`); a target that does not exist breaks the join table's foreign key, which
/// SQLite reports at the statement, or at the commit when foreign keys are deferred.
pub fn set_many(
    conn: &Connection,
    model: &Model,
    field: &Field,
    pk: &SqlValue,
    targets: &[SqlValue],
) -> Result<(), DbError> {
    let join = join_table(model, field)?;
    let (table, from, to) = (ident(&join.table), ident(&join.from), ident(&join.to));
    let delete = format!("DELETE FROM {table} WHERE {from} = ?1");
    conn.prepare_cached(&delete)
        .and_then(|mut s| s.execute([pk]))
        .map_err(|e| DbError::at(&delete, e))?;
    let insert = format!("INSERT OR IGNORE INTO {table} ({from}, {to}) VALUES (?1, ?2)");
    let mut stmt = conn
        .prepare_cached(&insert)
        .map_err(|e| DbError::at(&insert, e))?;
    for target in targets {
        stmt.execute([pk, target])
            .map_err(|e| DbError::at(&insert, e))?;
    }
    Ok(())
}

/// The statement reading the target rows of `n` rows of `model` through `field`: the row's key
/// first, then the target's columns, in the target's ordering (else by primary key).
pub fn select_sql(join: &JoinTable, target: &Model, n: usize) -> String {
    let cols: Vec<String> = target
        .fields
        .iter()
        .map(|f| format!("t.{}", ident(&f.column)))
        .collect();
    let pk = &target.pk_field().column;
    let mut order: Vec<String> = target
        .ordering
        .iter()
        .map(|o| {
            format!(
                "t.{}{}",
                ident(&o.column),
                if o.desc { " DESC" } else { "" }
            )
        })
        .collect();
    if !target.ordering.iter().any(|o| &o.column == pk) {
        let desc = target.ordering.last().is_some_and(|o| o.desc);
        order.push(format!(
            "t.{}{}",
            ident(pk),
            if desc { " DESC" } else { "" }
        ));
    }
    format!(
        "SELECT j.{from}, {cols} FROM {table} AS j JOIN {target} AS t ON t.{pk} = j.{to} WHERE j.{from} IN ({marks}) ORDER BY {order}",
        from = ident(&join.from),
        to = ident(&join.to),
        cols = cols.join(", "),
        table = ident(&join.table),
        target = ident(&target.table),
        pk = ident(pk),
        marks = vec!["?"; n].join(", "),
        order = order.join(", "),
    )
}

/// Set each many_to_many field of `rows` to the list of its target rows: one query per field
/// (per 500 rows).
pub fn attach(
    conn: &Connection,
    models: &Models,
    model: &Model,
    rows: &mut [Map<String, Value>],
) -> Result<(), DbError> {
    if model.many.is_empty() || rows.is_empty() {
        return Ok(());
    }
    let pk = model.pk_field();
    let keys: Vec<SqlValue> = rows
        .iter()
        .map(|r| to_sql(pk.ty, r.get(&pk.column).unwrap_or(&Value::Null)))
        .collect();
    for f in &model.many {
        let (Some(join), Some(target)) = (&f.join, f.to.as_ref().and_then(|t| models.get(t)))
        else {
            continue;
        };
        let mut found: HashMap<String, Vec<Value>> = HashMap::new();
        for chunk in keys.chunks(500) {
            let sql = select_sql(join, target, chunk.len());
            let at = |e| DbError::at(&sql, e);
            let mut stmt = conn.prepare_cached(&sql).map_err(at)?;
            let mut out = stmt
                .query(rusqlite::params_from_iter(chunk.iter()))
                .map_err(at)?;
            while let Some(r) = out.next().map_err(at)? {
                let key = key_text(&r.get::<_, SqlValue>(0).map_err(at)?);
                let mut obj = Map::new();
                for (i, tf) in target.fields.iter().enumerate() {
                    let v = r.get::<_, SqlValue>(i + 1).map_err(at)?;
                    obj.insert(tf.column.clone(), to_json(tf.ty, v));
                }
                found.entry(key).or_default().push(Value::Object(obj));
            }
        }
        for (row, key) in rows.iter_mut().zip(&keys) {
            let list = found.remove(&key_text(key)).unwrap_or_default();
            row.insert(f.name.clone(), Value::Array(list));
        }
    }
    Ok(())
}

/// A key as text, so that a key read back compares equal to the one asked for.
fn key_text(v: &SqlValue) -> String {
    match v {
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Text(s) => s.clone(),
        SqlValue::Null | SqlValue::Blob(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fixtures::testing::Db;

    #[test]
    fn the_tags_of_a_page_are_one_query_in_the_targets_order() {
        let db = Db::new();
        let post = db.models.get("Post").unwrap();
        let tag = db.models.get("Tag").unwrap();
        let join = post.many_field("tags").unwrap().join.clone().unwrap();
        assert_eq!(
            (join.table.as_str(), join.from.as_str(), join.to.as_str()),
            ("post_tags", "post_id", "tag_id")
        );
        assert_eq!(
            select_sql(&join, tag, 2),
            "SELECT j.\"post_id\", t.\"code\", t.\"label\" FROM \"post_tags\" AS j JOIN \"tag\" AS t ON t.\"code\" = j.\"tag_id\" WHERE j.\"post_id\" IN (?, ?) ORDER BY t.\"code\""
        );
    }

    #[test]
    fn set_many_replaces_a_rows_set() {
        let db = Db::new();
        db.conn
            .execute_batch(
                "INSERT INTO author (id, name, slug) VALUES (1, 'A', 'a');
                 INSERT INTO post (id, title, slug, status, published, created_at, author_id)
                   VALUES (1, 'T', 't', 'draft', 1, '2026-01-01T00:00:00', 1),
                          (2, 'U', 'u', 'draft', 1, '2026-01-01T00:00:00', 1);
                 INSERT INTO tag (code, label) VALUES ('rust', 'Rust'), ('web', 'Web'), ('db', 'DB');",
            )
            .unwrap();
        let post = db.models.get("Post").unwrap();
        let tags = post.many_field("tags").unwrap();
        let text = |s: &str| SqlValue::Text(s.into());
        let one = SqlValue::Integer(1);
        set_many(
            &db.conn,
            post,
            tags,
            &one,
            &[text("web"), text("rust"), text("web")],
        )
        .unwrap();
        set_many(&db.conn, post, tags, &SqlValue::Integer(2), &[text("db")]).unwrap();
        let pairs = || {
            db.text("SELECT group_concat(post_id || ':' || tag_id, ' ') FROM (SELECT * FROM post_tags ORDER BY post_id, tag_id)")
        };
        assert_eq!(pairs(), "1:rust 1:web 2:db");
        set_many(&db.conn, post, tags, &one, &[text("db")]).unwrap();
        assert_eq!(pairs(), "1:db 2:db");
        // A tag that does not exist is refused by the join table's foreign key.
        let err = set_many(&db.conn, post, tags, &one, &[text("nope")]).unwrap_err();
        assert!(
            err.to_string().contains("FOREIGN KEY constraint failed"),
            "{err}"
        );
        // And a field that is not many_to_many is an error, not a statement.
        let title = post.field("title").unwrap();
        let err = set_many(&db.conn, post, title, &one, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`title` of Post is not a many_to_many field"
        );
    }
}
