//! The admin's history (Django's `history_view` and the index's "Recent actions"): what the
//! history log (`db::history`, written by routes with `history: true`) holds about a row, on
//! `admin:<model>-history` (`PATH/<model>/<pk>/history/`, staff only), and the last actions
//! on the index, each linked to its row while the row exists.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{slug, templates, NAMESPACE};
use crate::config::Diagnostic;
use crate::db::history::{self, Entry};
use crate::db::write::find_row;
use crate::db::{Database, DbError, Model, Models, SqlValue};
use crate::routing::{Args, Params, Router};
use crate::views::{lookup_value, Call, Ctx, Response, RouteDef, ViewError};

/// How many actions the index lists (Django's admin shows 10).
const RECENT: u32 = 10;

/// The route of a model's history pages: `(path, name, raw route)`, staff only.
pub fn route(
    path: &str,
    model: &Model,
    conv: &str,
    admin: Map<String, Value>,
) -> (String, String, Value) {
    let s = slug(&model.name);
    // `view` is replaced by the hidden kind (as the index's).
    let raw = json!({
        "view": "template",
        "context": {"admin": admin},
        "staff_required": true,
        "export": false,
    });
    (
        format!("{path}{s}/<{conv}:pk>/history/"),
        format!("{s}-history"),
        raw,
    )
}

/// `admin:<model>-history`: the log of one row, newest first.
#[derive(Debug)]
pub struct HistoryView {
    model: Arc<Model>,
    context: Map<String, Value>,
}

impl HistoryView {
    pub fn compile(
        r: &RouteDef,
        models: &Models,
        renderer: Option<&mut crate::render::Renderer>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<HistoryView> {
        let context = r.context();
        let name = context
            .get("admin")
            .and_then(|a| a.get("model"))
            .and_then(Value::as_str);
        let Some(model) = name.and_then(|n| models.get(n)) else {
            errors.push(
                r.source
                    .diag(&r.at, "the admin's history route names no model"),
            );
            return None;
        };
        if renderer.is_some_and(|r| !r.has(templates::HISTORY)) {
            errors.push(
                r.source
                    .diag(&r.at, "the admin's history template is missing"),
            );
        }
        Some(HistoryView {
            model: model.clone(),
            context,
        })
    }

    /// The row's log, newest first; a 404 when the key names no row and no entry.
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let db = ctx
            .db
            .ok_or_else(|| call.internal("the admin without a database"))?;
        let pk_field = self.model.pk_field();
        let raw = call.params.get("pk").ok_or(ViewError::NotFound)?;
        let pk = lookup_value(pk_field, raw).ok_or(ViewError::NotFound)?;
        let key = key_text(&pk);
        let (row, entries) = db
            .with(|c| {
                let row = find_row(&c.conn, &self.model, (pk_field, &pk))?;
                Ok((row, history::for_object(&c.conn, &self.model.name, &key)?))
            })
            .map_err(|e| call.db(e))?;
        if row.is_none() && entries.is_empty() {
            return Err(ViewError::NotFound);
        }
        let repr = match (&row, entries.first()) {
            (Some(row), _) => history::object_repr(&self.model, row),
            (None, Some(e)) => e.object_repr.clone(),
            (None, None) => String::new(),
        };
        let mut admin = Map::new();
        admin.insert("object_id".into(), key.into());
        admin.insert("object_repr".into(), repr.into());
        admin.insert("exists".into(), row.is_some().into());
        let mut extra = self.context.clone();
        extra.insert("entries".into(), json!(entries));
        super::render_page(ctx, &call, templates::HISTORY, extra, admin)
    }
}

/// A key as the log keeps it.
fn key_text(pk: &SqlValue) -> String {
    match pk {
        SqlValue::Integer(i) => i.to_string(),
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Text(s) => s.clone(),
        SqlValue::Blob(_) | SqlValue::Null => String::new(),
    }
}

/// The index's "Recent actions": the last entries about the managed models, each with `href`
/// (its row's admin page) while the row exists.
pub fn recent(db: &Database, router: &Router, managed: &[Arc<Model>]) -> Result<Value, DbError> {
    let names: Vec<String> = managed.iter().map(|m| m.name.clone()).collect();
    db.with(|c| {
        let entries = history::recent(&c.conn, &names, RECENT)?;
        let mut list = Vec::new();
        for e in entries {
            let mut url = None;
            let model = managed.iter().find(|m| m.name == e.model);
            if let Some((model, pk)) = model.and_then(|m| Some((m, key_value(m, &e)?))) {
                if find_row(&c.conn, model, (model.pk_field(), &pk))?.is_some() {
                    url = row_url(router, model, &e);
                }
            }
            let mut v = json!(e);
            v["href"] = url.into();
            list.push(v);
        }
        Ok(Value::Array(list))
    })
}

/// An entry's key as its model's primary key stores it.
fn key_value(model: &Model, e: &Entry) -> Option<SqlValue> {
    lookup_value(model.pk_field(), &Value::String(e.object_id.clone()))
}

/// The admin page of the row an entry names.
fn row_url(router: &Router, model: &Model, e: &Entry) -> Option<String> {
    let name = format!("{NAMESPACE}:{}-change", slug(&model.name));
    let mut params = Params::new();
    params.insert("pk".into(), Value::String(e.object_id.clone()));
    router.reverse(&name, Args::Named(&params)).ok()
}
