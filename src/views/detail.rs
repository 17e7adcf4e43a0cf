//! `view: detail` — Django's DetailView: one row, found by a path capture (the primary key,
//! or the field `lookup:` names), with rows of other models that point at it (`related:`,
//! through a foreign key or a many_to_many field), as HTML or JSON. A capture that finds no
//! row is a 404.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::fields::{compile_order, compile_where, ModelOutput, SchemaNeeds};
use super::paginate::python_int;
use super::request::Response;
use super::shape::Shape;
use super::Call;
use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, Lookup, RawRoute};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::{to_sql, Cond, Query};
use crate::db::{Field, JoinTable, Model, Models, Order, SqlValue};
use std::sync::Arc;

/// Rows of another model pointing at a detail page's object.
#[derive(Debug)]
pub struct RelatedSpec {
    pub name: String,
    pub model: Arc<Model>,
    /// The foreign key's column, or the many_to_many field's join table.
    pub column: String,
    pub join: Option<JoinTable>,
    pub wheres: Vec<Cond>,
    pub ordering: Vec<Order>,
    pub limit: u32,
    /// Whether its rows get their many_to_many fields (see `ModelOutput::many`).
    pub many: bool,
    /// How its rows are written in JSON: every key, datetimes as Django writes them.
    pub shape: Shape,
}

/// A compiled `view: detail`.
#[derive(Debug)]
pub struct DetailView {
    pub out: ModelOutput,
    /// The field the row is found by, and the capture holding its value.
    pub field: Field,
    pub capture: String,
    pub related: Vec<RelatedSpec>,
}

impl DetailView {
    /// What the template reads, once templates are loaded (`ModelOutput::looked_at`), for the
    /// object and for each `related:` list.
    pub fn looked_at(&mut self, renderer: Option<&crate::render::Renderer>) {
        self.out.looked_at(renderer);
        for r in &mut self.related {
            r.many = self.out.reads_many(&r.model, renderer);
        }
    }

    pub fn compile(
        raw: &RawRoute,
        models: &Models,
        source: &Source,
        at: &str,
        captures: &[String],
        needs: &mut SchemaNeeds,
    ) -> Result<DetailView, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let Some(out) =
            ModelOutput::compile(raw, models, source, at, "detail", captures, &mut errors)
        else {
            return Err(errors);
        };
        let model = out.model.clone();
        let found = lookup_field(raw, &model, source, at, captures, "detail", &mut errors);
        if let Some((f, _)) = &found {
            if !f.unique && !f.index {
                needs
                    .indexes
                    .push((model.name.clone(), vec![Order::asc(f)]));
            }
        }
        let related = compile_related(raw, models, &model, source, at, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let (field, capture) = found.expect("no errors means the lookup field exists");
        Ok(DetailView {
            out,
            field,
            capture,
            related,
        })
    }

    /// Answer a request: the row its capture names, or a 404.
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let db = ctx
            .db
            .ok_or_else(|| ViewError::Internal("a detail view without a database".into()))?;
        let model = self.out.model.as_ref();
        let raw = call.params.get(&self.capture).ok_or(ViewError::NotFound)?;
        let value = lookup_value(&self.field, raw).ok_or(ViewError::NotFound)?;
        let mut q = Query::new(model);
        q.conds = self.out.conds(call.params);
        q.conds.push(Cond::Cmp {
            column: self.field.column.clone(),
            lookup: Lookup::Exact,
            value,
        });
        q.limit = Some(1);
        q.many = self.out.many;
        let mut object = db
            .fetch(&q)
            .map_err(|e| call.db(e))?
            .pop()
            .ok_or(ViewError::NotFound)?;
        self.out.enrich(model, std::slice::from_mut(&mut object));
        let pk = object
            .get(&model.pk_field().column)
            .cloned()
            .unwrap_or(Value::Null);
        let mut extra = Map::new();
        for r in &self.related {
            let mut rq = Query::new(&r.model);
            rq.conds = r.wheres.clone();
            let key = to_sql(FieldType::Integer, &pk);
            rq.conds.push(related_cond(r, key));
            rq.order = r.ordering.clone();
            rq.limit = Some(i64::from(r.limit));
            rq.many = r.many;
            let mut rows = db.fetch(&rq).map_err(|e| call.db(e))?;
            if self.out.json {
                object.insert(r.name.clone(), r.shape.rows(rows));
            } else {
                self.out.enrich(&r.model, &mut rows);
                let list = Value::Array(rows.into_iter().map(Value::Object).collect());
                extra.insert(r.name.clone(), list);
            }
        }
        if self.out.json {
            let object = Value::Object(self.out.shape.row(object));
            return Ok(Response::json(self.out.status, &object));
        }
        extra.insert("object".into(), Value::Object(object));
        self.out.render(ctx, call, extra)
    }
}

/// The field a view finds its row by (`lookup:`, else the primary key) and the path capture
/// holding its value (`pk` or the field's name), or `None` with the mistakes reported. `view`
/// names the view in the message.
pub fn lookup_field(
    raw: &RawRoute,
    model: &Model,
    source: &Source,
    at: &str,
    captures: &[String],
    view: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<(Field, String)> {
    let (field, capture) = match raw.lookup.as_deref() {
        None | Some("pk") => {
            let pk = model.pk_field().clone();
            let capture = if captures.iter().any(|c| c == "pk") {
                "pk".to_string()
            } else {
                pk.name.clone()
            };
            (pk, capture)
        }
        Some(name) => match model.field(name) {
            Some(f) => (f.clone(), f.name.clone()),
            None if model.many_field(name).is_some() => {
                let why = model.not_a_column(name, "find a row by");
                errors.push(source.diag(&format!("{at}.lookup"), why.unwrap_or_default()));
                return None;
            }
            None => {
                errors.push(
                    source
                        .diag(
                            &format!("{at}.lookup"),
                            format!("model {} has no field `{name}`", model.name),
                        )
                        .with_hint(suggestion(name, model.field_names())),
                );
                return None;
            }
        },
    };
    if !captures.contains(&capture) {
        let got = if captures.is_empty() {
            "it captures nothing".to_string()
        } else {
            format!("it captures {}", captures.join(", "))
        };
        let article = if view.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let wanted = if raw.lookup.is_none() {
            format!("`<int:pk>` or `<…:{capture}>`")
        } else {
            format!("`<…:{capture}>`")
        };
        let diag = source.diag(
            &format!("{at}.path"),
            format!(
                "{article} {view} view by `{}` needs the path to capture {wanted}; {got}",
                field.name
            ),
        );
        errors.push(diag.with_hint(Some(lookup_hint(raw, model, captures))));
        return None;
    }
    Some((field, capture))
}

/// The hint under a path that does not capture what the row is found by: without `lookup:`,
/// a captured field of the model is most likely what was meant (`<slug:slug>` with no
/// `lookup: slug`, the newcomer's mistake); else say both ways out.
fn lookup_hint(raw: &RawRoute, model: &Model, captures: &[String]) -> String {
    let field = captures.iter().find(|c| model.field(c).is_some());
    match (raw.lookup.as_deref(), field) {
        (None, Some(f)) => format!("add `lookup: {f}` to find the row by its `{f}`"),
        (None, None) => {
            "capture the primary key (`<int:pk>`), or name the field the row is found by \
             with `lookup:` and capture it"
                .to_string()
        }
        (Some(l), _) => {
            format!("capture `<…:{l}>` in the path, or set `lookup:` to a field it captures")
        }
    }
}

/// The value of the capture a row is found by, as its column stores it; `None` when it can
/// name no row (an integer key that is not a number: Django's `get_object` fails with a 500).
pub fn lookup_value(field: &Field, raw: &Value) -> Option<SqlValue> {
    match (field.ty, raw) {
        (FieldType::Integer, Value::String(s)) => python_int(s).ok().map(SqlValue::Integer),
        (ty, v) => Some(to_sql(ty, v)),
    }
}

/// `related:` — the rows of other models pointing at the object, through a foreign key or a
/// many_to_many field.
fn compile_related(
    raw: &RawRoute,
    models: &Models,
    model: &Model,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<RelatedSpec> {
    let mut related = Vec::new();
    for (name, r) in raw.related.iter().flatten() {
        let rat = format!("{at}.related.{name}");
        let Some(rmodel) = models.get(&r.model) else {
            errors.push(
                source
                    .diag(&format!("{rat}.model"), format!("no model `{}`", r.model))
                    .with_hint(suggestion(&r.model, models.keys().map(String::as_str))),
            );
            continue;
        };
        let fk = match rmodel.field(&r.field).or(rmodel.many_field(&r.field)) {
            Some(f) if f.to.as_deref() == Some(model.name.as_str()) => f.clone(),
            Some(_) => {
                errors.push(source.diag(
                    &format!("{rat}.field"),
                    format!(
                        "`{}` of {} is not a foreign key or many_to_many field to {}",
                        r.field, rmodel.name, model.name
                    ),
                ));
                continue;
            }
            None => {
                errors.push(
                    source
                        .diag(
                            &format!("{rat}.field"),
                            format!("model {} has no field `{}`", rmodel.name, r.field),
                        )
                        .with_hint(suggestion(&r.field, rmodel.field_names())),
                );
                continue;
            }
        };
        let wheres = compile_where(
            models,
            rmodel,
            r.where_.as_ref(),
            source,
            &format!("{rat}.where"),
            errors,
        );
        let ordering = match &r.ordering {
            Some(keys) => compile_order(rmodel, keys, source, &format!("{rat}.ordering"), errors),
            None => rmodel.ordering.clone(),
        };
        related.push(RelatedSpec {
            name: name.clone(),
            model: rmodel.clone(),
            column: fk.column.clone(),
            join: fk.join.clone(),
            wheres,
            ordering,
            limit: r.limit.unwrap_or(100),
            many: true,
            shape: Shape::all(models, rmodel),
        });
    }
    related
}

/// The rows of `r` pointing at the object whose primary key is `key`: by the foreign key's
/// column, or through the join table (`EXISTS (SELECT 1 FROM post_tags WHERE post_tags.post_id =
/// post.id AND tag_id = ?)`).
fn related_cond(r: &RelatedSpec, key: SqlValue) -> Cond {
    match &r.join {
        None => Cond::Cmp {
            column: r.column.clone(),
            lookup: Lookup::Exact,
            value: key,
        },
        Some(join) => Cond::Related {
            column: r.model.pk_field().column.clone(),
            table: join.table.clone(),
            pk: join.from.clone(),
            many: true,
            inner: Box::new(Cond::Cmp {
                column: join.to.clone(),
                lookup: Lookup::Exact,
                value: key,
            }),
        },
    }
}
