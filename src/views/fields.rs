//! What the model views (`list`, `detail`) share: field paths with Django's lookups
//! (`author__slug__icontains`) resolved against the models at load, static `where:`
//! conditions, orderings, the schema a route asks for (`SchemaNeeds`), and `ModelOutput` —
//! the model, template or JSON, and context of a page of rows — with the rows' extra keys
//! (`pk`, `FIELD_html`).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::request::Response;
use super::Call;
use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, Format, Lookup, RawRoute, RawScalar};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::{to_sql, Cond};
use crate::db::{Field, Model, Models, Order, SqlValue};
use crate::render::Uses;

/// Hops from the view's model to the model holding the field: `column IN (SELECT pk FROM
/// table WHERE …)`. A foreign key is one hop; a many_to_many field is two, through its join
/// table (`id IN (SELECT post_id FROM post_tags WHERE tag_id IN (SELECT id FROM tag …))`), so a
/// row matching through several of its targets is still one row.
#[derive(Debug, Clone)]
pub struct Hop {
    pub column: String,
    table: String,
    pk: String,
}

/// `author__slug__icontains` resolved against the models.
#[derive(Debug, Clone)]
pub struct FieldPath {
    pub hops: Vec<Hop>,
    pub field: Field,
    pub lookup: Lookup,
    /// For a foreign key, the type of the target's primary key (what a request's value is).
    target_pk: Option<FieldType>,
}

const LOOKUPS: &[(&str, Lookup)] = &[
    ("exact", Lookup::Exact),
    ("iexact", Lookup::Iexact),
    ("contains", Lookup::Contains),
    ("icontains", Lookup::Icontains),
    ("gt", Lookup::Gt),
    ("gte", Lookup::Gte),
    ("lt", Lookup::Lt),
    ("lte", Lookup::Lte),
    ("in", Lookup::In),
];

/// Resolve `field[__field…][__lookup]` from `model`.
pub fn resolve_path(
    models: &Models,
    model: &Model,
    key: &str,
    lookup: Option<Lookup>,
) -> Result<FieldPath, String> {
    let mut parts: Vec<&str> = key.split("__").collect();
    let mut lookup = lookup;
    if parts.len() > 1 {
        if let Some((_, l)) = LOOKUPS.iter().find(|(n, _)| Some(n) == parts.last()) {
            if lookup.is_some() {
                return Err(format!("`{key}` names a lookup and so does `lookup:`"));
            }
            lookup = Some(*l);
            parts.pop();
        }
    }
    let mut current = model;
    let mut hops = Vec::new();
    for (i, name) in parts.iter().enumerate() {
        let name = if *name == "pk" {
            current.pk_field().name.as_str()
        } else {
            name
        };
        if let Some(many) = current.many_field(name) {
            let (Some(join), Some(target)) =
                (&many.join, many.to.as_ref().and_then(|t| models.get(t)))
            else {
                return Err(format!("`{name}` of {} has no target model", current.name));
            };
            hops.push(Hop {
                column: current.pk_field().column.clone(),
                table: join.table.clone(),
                pk: join.from.clone(),
            });
            hops.push(Hop {
                column: join.to.clone(),
                table: target.table.clone(),
                pk: target.pk_field().column.clone(),
            });
            current = target;
            if i + 1 == parts.len() {
                // `tags=3` is `tags__pk=3`, as in Django.
                return Ok(FieldPath {
                    hops,
                    field: target.pk_field().clone(),
                    lookup: lookup.unwrap_or(Lookup::Exact),
                    target_pk: None,
                });
            }
            continue;
        }
        let field = current.field(name).ok_or_else(|| {
            let hint = suggestion(name, current.field_names())
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            format!("model {} has no field `{name}`{hint}", current.name)
        })?;
        let last = i + 1 == parts.len();
        if last {
            let target_pk = field
                .to
                .as_ref()
                .and_then(|t| models.get(t))
                .map(|t| t.pk_field().ty);
            return Ok(FieldPath {
                hops,
                field: field.clone(),
                lookup: lookup.unwrap_or(Lookup::Exact),
                target_pk,
            });
        }
        let target = field
            .to
            .as_ref()
            .and_then(|t| models.get(t))
            .ok_or_else(|| {
                format!(
                    "`{name}` of {} is not a foreign key or many_to_many field, so `{key}` cannot follow it",
                    current.name
                )
            })?;
        hops.push(Hop {
            column: field.column.clone(),
            table: target.table.clone(),
            pk: target.pk_field().column.clone(),
        });
        current = target;
    }
    Err(format!("`{key}` names no field"))
}

impl FieldPath {
    pub fn cond(&self, values: Vec<SqlValue>) -> Cond {
        let mut cond = if self.lookup == Lookup::In {
            Cond::In {
                column: self.field.column.clone(),
                values,
            }
        } else {
            Cond::Cmp {
                column: self.field.column.clone(),
                lookup: self.lookup,
                value: values.into_iter().next().unwrap_or(SqlValue::Null),
            }
        };
        for hop in self.hops.iter().rev() {
            cond = Cond::Related {
                column: hop.column.clone(),
                table: hop.table.clone(),
                pk: hop.pk.clone(),
                inner: Box::new(cond),
            };
        }
        cond
    }

    /// Parse a request's text for this field; the error is a 400 message.
    pub fn parse(&self, text: &str) -> Result<SqlValue, String> {
        let text = text.trim();
        let textual = matches!(
            self.lookup,
            Lookup::Contains | Lookup::Icontains | Lookup::Iexact
        );
        let ty = match (self.field.ty, self.target_pk) {
            (FieldType::ForeignKey, Some(pk)) => pk,
            (ty, _) => ty,
        };
        match ty {
            _ if textual => Ok(SqlValue::Text(text.to_string())),
            FieldType::Integer | FieldType::ForeignKey => text
                .parse::<i64>()
                .map(SqlValue::Integer)
                .map_err(|_| format!("expected an integer, got {text:?}")),
            FieldType::Float => text
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(SqlValue::Real)
                .ok_or_else(|| format!("expected a number, got {text:?}")),
            FieldType::Boolean => crate::query::parse_bool(text)
                .map(|b| SqlValue::Integer(b as i64))
                .ok_or_else(|| format!("expected true or false, got {text:?}")),
            _ => Ok(SqlValue::Text(text.to_string())),
        }
    }
}

/// Static `where:` conditions.
pub fn compile_where(
    models: &Models,
    model: &Model,
    raw: Option<&indexmap::IndexMap<String, RawScalar>>,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Cond> {
    let mut out = Vec::new();
    for (key, value) in raw.into_iter().flatten() {
        match resolve_path(models, model, key, None) {
            Ok(path) => {
                let json = value.to_json();
                let v = if path.lookup == Lookup::Exact {
                    match crate::db::model::validate(&path.field, &json) {
                        Ok(v) => to_sql(path.field.ty, &v),
                        Err(why) => {
                            errors.push(source.diag(&format!("{at}.{key}"), why));
                            continue;
                        }
                    }
                } else {
                    to_sql(path.field.ty, &json)
                };
                out.push(path.cond(vec![v]));
            }
            Err(why) => errors.push(source.diag_key(&format!("{at}.{key}"), why)),
        }
    }
    out
}

pub fn compile_order(
    model: &Model,
    keys: &[String],
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Order> {
    match model.parse_ordering(keys) {
        Ok(o) => o,
        Err(why) => {
            errors.push(source.diag(at, why));
            Vec::new()
        }
    }
}

/// What a model view asks of the database schema: indexes (per model, an ordering) and FTS
/// columns, so that what routes look up and order by is indexed.
#[derive(Debug, Default)]
pub struct SchemaNeeds {
    pub indexes: Vec<(String, Vec<Order>)>,
    pub fts: Vec<(String, Vec<String>)>,
}

pub fn model_for<'a>(
    models: &'a Models,
    raw: &RawRoute,
    source: &Source,
    at: &str,
) -> Result<&'a Arc<Model>, Diagnostic> {
    let name = raw.model.clone().unwrap_or_default();
    models.get(&name).ok_or_else(|| {
        let hint = suggestion(&name, models.keys().map(String::as_str));
        source
            .diag(&format!("{at}.model"), format!("no model `{name}`"))
            .with_hint(hint)
    })
}

/// What a model view shows and how: the model, the template (or JSON), the route's context
/// and status, and its static conditions.
#[derive(Debug)]
pub struct ModelOutput {
    pub model: Arc<Model>,
    pub template: Option<String>,
    pub json: bool,
    /// Whether rows get `FIELD_html` (markdown rendered): not for JSON, and not when the
    /// template and its partials never mention `_html` (set once templates are loaded).
    pub html: bool,
    pub context: Map<String, Value>,
    pub status: u16,
    pub wheres: Vec<Cond>,
    /// The parts of the context the template reads (set once templates are loaded).
    pub uses: Uses,
}

impl ModelOutput {
    /// The parts of a list or detail route every model view has; `view` names it in messages.
    pub fn compile(
        raw: &RawRoute,
        models: &Models,
        source: &Source,
        at: &str,
        view: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<ModelOutput> {
        let model = match model_for(models, raw, source, at) {
            Ok(m) => m.clone(),
            Err(d) => {
                errors.push(d);
                return None;
            }
        };
        let wheres = compile_where(
            models,
            &model,
            raw.where_.as_ref(),
            source,
            &format!("{at}.where"),
            errors,
        );
        let json = raw.format == Some(Format::Json);
        if !json && raw.template.is_none() {
            errors.push(source.diag(
                at,
                format!("view `{view}` needs `template` (or `format: json`)"),
            ));
        }
        let template = raw
            .template
            .as_deref()
            .map(|t| crate::render::canonical(t).to_string());
        Some(ModelOutput {
            model,
            template,
            html: !json,
            json,
            context: raw
                .context
                .clone()
                .map(|c| c.into_iter().collect())
                .unwrap_or_default(),
            status: raw.status.unwrap_or(200),
            wheres,
            uses: Uses::ALL,
        })
    }

    /// What the template reads, once templates are loaded: markdown is rendered into
    /// `FIELD_html` only for a template that shows it, and the context holds the parts it
    /// names. Without a renderer (templates failed to load) nothing is left out.
    pub fn looked_at(&mut self, renderer: Option<&crate::render::Renderer>) {
        let Some(template) = self.template.as_deref() else {
            self.html = false;
            return;
        };
        if let Some(r) = renderer {
            self.html = self.html && r.mentions(template, "_html");
            self.uses = r.uses(template);
        }
    }

    /// Add what templates expect beside the columns: `pk`, and `FIELD_html` for markdown
    /// text when the template shows it.
    pub fn enrich(&self, model: &Model, rows: &mut [Map<String, Value>]) {
        for row in rows.iter_mut() {
            let pk = row
                .get(&model.pk_field().column)
                .cloned()
                .unwrap_or(Value::Null);
            if model.field("pk").is_none() {
                row.insert("pk".into(), pk);
            }
            if self.html {
                for f in model.fields.iter().filter(|f| f.markdown) {
                    let text = row.get(&f.column).and_then(Value::as_str).unwrap_or("");
                    let html = crate::render::markdown::markdown_to_html_cached(text).to_string();
                    row.insert(format!("{}_html", f.name), Value::String(html));
                }
            }
        }
    }

    /// Render the page: the route's context, then `extra` (the view's data), in the template.
    pub fn render(
        &self,
        ctx: &Ctx,
        call: Call,
        extra: Map<String, Value>,
    ) -> Result<Response, ViewError> {
        let mut context = self.context.clone();
        context.extend(extra);
        let context = ctx.context(call.req, call.params, call.query, context, self.uses);
        let template = self.template.as_deref().unwrap_or("");
        ctx.renderer
            .render(template, context)
            .map(|body| Response::html(self.status, body))
            .map_err(|e| ViewError::Internal(format!("rendering {template}: {e}")))
    }
}
