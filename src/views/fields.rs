//! What the model views (`list`, `detail`) share: field paths with Django's lookups
//! (`author__slug__icontains`, `created_at__year__gte`) resolved against the models at load,
//! `where:` conditions (literal, or a path capture's value: `"{author}"`), orderings, the
//! schema a route asks for (`SchemaNeeds`), and `ModelOutput` — the model, template or JSON,
//! and context of a page of rows — with the rows' extra keys for templates (`pk`,
//! `FIELD_html`) and the `Shape` of JSON rows.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::paginate::python_int;
use super::request::Response;
use super::shape::Shape;
use super::Call;
use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, Format, Lookup, RawRoute, RawScalar};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::{to_sql, Cond, DatePart};
use crate::db::{Field, Model, Models, Order, SqlValue};
use crate::render::Uses;
use crate::routing::Params;

/// Hops from the view's model to the model holding the field: `column IN (SELECT pk FROM
/// table WHERE …)`. A foreign key is one hop; a many_to_many field is two, through its join
/// table (`id IN (SELECT post_id FROM post_tags WHERE tag_id IN (SELECT id FROM tag …))`), so a
/// row matching through several of its targets is still one row.
#[derive(Debug, Clone)]
pub struct Hop {
    pub column: String,
    table: String,
    pk: String,
    /// Into a join table: many of its rows point at one row (see `Cond::Related`).
    many: bool,
}

/// `author__slug__icontains` resolved against the models.
#[derive(Debug, Clone)]
pub struct FieldPath {
    pub hops: Vec<Hop>,
    pub field: Field,
    pub lookup: Lookup,
    /// `__year`, `__month` or `__day` of a date or datetime field, before the lookup.
    pub transform: Option<DatePart>,
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
    let transform = date_transform(models, model, &parts);
    if transform.is_some() {
        parts.pop();
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
                many: true,
            });
            hops.push(Hop {
                column: join.to.clone(),
                table: target.table.clone(),
                pk: target.pk_field().column.clone(),
                many: false,
            });
            current = target;
            if i + 1 == parts.len() {
                // `tags=3` is `tags__pk=3`, as in Django.
                return FieldPath {
                    hops,
                    field: target.pk_field().clone(),
                    lookup: lookup.unwrap_or(Lookup::Exact),
                    transform,
                    target_pk: None,
                }
                .checked();
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
            return FieldPath {
                hops,
                field: field.clone(),
                lookup: lookup.unwrap_or(Lookup::Exact),
                transform,
                target_pk,
            }
            .checked();
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
            many: false,
        });
        current = target;
    }
    Err(format!("`{key}` names no field"))
}

/// `year`, `month` or `day` ending a path of two or more names, unless the path names a field
/// with it (`event__year` where Event has a field `year`): a field wins, as in Django.
fn date_transform(models: &Models, model: &Model, parts: &[&str]) -> Option<DatePart> {
    let (last, path) = parts.split_last()?;
    let part = DatePart::from_name(last)?;
    if path.is_empty() {
        return None;
    }
    let mut current = model;
    for name in path {
        let to = current
            .field(name)
            .or_else(|| current.many_field(name))
            .and_then(|f| f.to.as_ref());
        match to.and_then(|t| models.get(t)) {
            Some(target) => current = target,
            None => return Some(part),
        }
    }
    current.field(last).is_none().then_some(part)
}

impl FieldPath {
    /// A date part needs a date or datetime field, and is compared as a number.
    fn checked(self) -> Result<FieldPath, String> {
        let Some(part) = self.transform else {
            return Ok(self);
        };
        if !matches!(self.field.ty, FieldType::Date | FieldType::Datetime) {
            return Err(format!(
                "`__{}` needs a date or datetime field, and `{}` is neither",
                part.name(),
                self.field.name,
            ));
        }
        if matches!(
            self.lookup,
            Lookup::In | Lookup::Iexact | Lookup::Contains | Lookup::Icontains
        ) {
            return Err(format!(
                "after `__{}` only exact, gt, gte, lt and lte apply",
                part.name()
            ));
        }
        Ok(self)
    }

    /// The table of the model holding the field, when it is not the view's own (the last
    /// hop's).
    pub fn target_table(&self) -> Option<&str> {
        self.hops.last().map(|h| h.table.as_str())
    }

    pub fn cond(&self, values: Vec<SqlValue>) -> Cond {
        let mut cond = if let Some(part) = self.transform {
            match values.into_iter().next() {
                Some(SqlValue::Integer(value)) => Cond::DatePart {
                    column: self.field.column.clone(),
                    part,
                    lookup: self.lookup,
                    value,
                },
                // Not a number: no row has it.
                _ => Cond::In {
                    column: self.field.column.clone(),
                    values: Vec::new(),
                },
            }
        } else if self.lookup == Lookup::In {
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
                many: hop.many,
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
        if let Some(part) = self.transform {
            return python_int(text)
                .map(SqlValue::Integer)
                .map_err(|_| format!("expected a {} (a whole number), got {text:?}", part.name()));
        }
        match ty {
            _ if textual => Ok(SqlValue::Text(text.to_string())),
            // As Django's IntegerField reads a value: Python's `int()`.
            FieldType::Integer | FieldType::ForeignKey => python_int(text)
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
                .ok_or_else(|| {
                    let message = format!("expected true or false, got {text:?}");
                    crate::config::diagnostic::with_norway_hint(message, text)
                }),
            _ => Ok(SqlValue::Text(text.to_string())),
        }
    }
}

/// A `where:` condition whose value is a path capture's: `author__slug: "{author}"`.
#[derive(Debug, Clone)]
pub struct Captured {
    pub path: FieldPath,
    pub capture: String,
}

impl Captured {
    /// The condition for this request's capture. A value that cannot be the field's (`abc`
    /// for an integer, month `13`) matches no row, as a filter in Django finds nothing.
    pub fn cond(&self, value: Option<&Value>) -> Cond {
        let nothing = Cond::In {
            column: self.path.field.column.clone(),
            values: Vec::new(),
        };
        let text = match value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return nothing,
        };
        let Ok(mut v) = self.path.parse(&text) else {
            return nothing;
        };
        let field = &self.path.field;
        let dated = matches!(field.ty, FieldType::Date | FieldType::Datetime);
        if dated && self.path.transform.is_none() && self.path.lookup == Lookup::Exact {
            // Compared in the form it is stored in (a datetime's offset applied, `T`).
            match crate::db::model::validate(field, &Value::String(text.trim().to_string())) {
                Ok(stored) => v = to_sql(field.ty, &stored),
                Err(_) => return nothing,
            }
        }
        self.path.cond(vec![v])
    }
}

/// A route's `where:`: the literal conditions, and those taking a capture's value.
#[derive(Debug, Default)]
pub struct Where {
    pub fixed: Vec<Cond>,
    pub captured: Vec<Captured>,
}

/// A `where:` value: `"{name}"` is the value captured as `name`; `"{{x}}"` is the literal
/// text `{x}` (one brace of each pair dropped); anything else is itself.
pub(super) fn capture_name(value: &RawScalar) -> Result<&str, RawScalar> {
    let RawScalar::Str(s) = value else {
        return Err(value.clone());
    };
    if s.starts_with("{{") && s.ends_with("}}") && s.len() >= 4 {
        return Err(RawScalar::Str(s[1..s.len() - 1].to_string()));
    }
    match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(name) => Ok(name),
        None => Err(value.clone()),
    }
}

/// Literal `where:` conditions, as `related:` has them: a capture is not theirs to use.
pub fn compile_where(
    models: &Models,
    model: &Model,
    raw: Option<&indexmap::IndexMap<String, RawScalar>>,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Cond> {
    compile_where_with(models, model, raw, None, source, at, errors).fixed
}

/// A route's `where:` conditions, given the names its path captures (`None`: none may be used).
pub fn compile_where_with(
    models: &Models,
    model: &Model,
    raw: Option<&indexmap::IndexMap<String, RawScalar>>,
    captures: Option<&[String]>,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Where {
    let mut out = Where::default();
    for (key, value) in raw.into_iter().flatten() {
        let here = format!("{at}.{key}");
        let path = match resolve_path(models, model, key, None) {
            Ok(path) => path,
            Err(why) => {
                errors.push(source.diag_key(&here, why));
                continue;
            }
        };
        match capture_name(value) {
            Ok(name) => match check_capture(&path, key, name, captures) {
                Ok(()) => out.captured.push(Captured {
                    path,
                    capture: name.to_string(),
                }),
                Err((why, hint)) => errors.push(source.diag(&here, why).with_hint(hint)),
            },
            Err(literal) => match literal_value(&path, key, &literal) {
                Ok(v) => out.fixed.push(path.cond(vec![v])),
                Err(why) => errors.push(source.diag(&here, why)),
            },
        }
    }
    out
}

/// A capture a `where:` value names must be one the route's path captures, and one value.
fn check_capture(
    path: &FieldPath,
    key: &str,
    name: &str,
    captures: Option<&[String]>,
) -> Result<(), (String, Option<String>)> {
    let literal = format!("for the literal text, double the braces: \"{{{{{name}}}}}\"");
    let Some(captures) = captures else {
        let why = format!(
            "`\"{{{name}}}\"` is a path capture's value, which only a route's own `where:` can use"
        );
        return Err((why, Some(literal)));
    };
    if !captures.iter().any(|c| c == name) {
        let known = suggestion(name, captures.iter().map(String::as_str)).unwrap_or_default();
        let why = format!("`\"{{{name}}}\"` names no capture of this route's path");
        return Err((why, Some(format!("{known}; {literal}"))));
    }
    if path.lookup == Lookup::In {
        return Err((
            format!("`{key}` takes a list, and a capture is one value"),
            None,
        ));
    }
    Ok(())
}

/// A literal `where:` value, checked against its field (or, after `__year`, a number).
fn literal_value(path: &FieldPath, key: &str, value: &RawScalar) -> Result<SqlValue, String> {
    if let Some(part) = path.transform {
        return match value {
            RawScalar::Int(i) => Ok(SqlValue::Integer(*i)),
            RawScalar::Str(s) => Err(format!(
                "`{key}` compares the {} as a whole number, got the text {s:?} (write it without quotes)",
                part.name()
            )),
            other => Err(format!(
                "`{key}` compares the {} as a whole number, got {other}",
                part.name()
            )),
        };
    }
    let json = value.to_json();
    if path.lookup == Lookup::Exact {
        let v = crate::db::model::validate(&path.field, &json)?;
        Ok(to_sql(path.field.ty, &v))
    } else {
        Ok(to_sql(path.field.ty, &json))
    }
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
    /// The `where:` conditions that take a path capture's value.
    pub captured: Vec<Captured>,
    /// The parts of the context the template reads (set once templates are loaded).
    pub uses: Uses,
    /// Whether rows get their many_to_many fields: always for JSON, and for a template only
    /// when it or its partials mention one by name (set once templates are loaded), and for
    /// JSON when its `fields:` show one.
    pub many: bool,
    /// How JSON rows are written: `fields:` or `exclude:`, datetimes as Django writes them.
    pub shape: Shape,
}

impl ModelOutput {
    /// The parts of a list or detail route every model view has; `view` names it in messages,
    /// `captures` are the names its path captures.
    pub fn compile(
        raw: &RawRoute,
        models: &Models,
        source: &Source,
        at: &str,
        view: &str,
        captures: &[String],
        errors: &mut Vec<Diagnostic>,
    ) -> Option<ModelOutput> {
        let model = match model_for(models, raw, source, at) {
            Ok(m) => m.clone(),
            Err(d) => {
                errors.push(d);
                return None;
            }
        };
        let wheres = compile_where_with(
            models,
            &model,
            raw.where_.as_ref(),
            Some(captures),
            source,
            &format!("{at}.where"),
            errors,
        );
        let json = raw.format == Some(Format::Json);
        let csv = raw.format == Some(Format::Csv);
        if csv && view != "list" {
            errors.push(source.diag(
                &format!("{at}.format"),
                format!("`format: csv` is for list routes, not view `{view}`"),
            ));
        }
        if !json && !csv && raw.template.is_none() {
            errors.push(source.diag(
                at,
                format!("view `{view}` needs `template` (or `format: json`)"),
            ));
        }
        let template = raw
            .template
            .as_deref()
            .map(|t| crate::render::canonical(t).to_string());
        // A CSV export reads `fields:` and `exclude:` as its columns (`csv::CsvSpec`).
        let shape = if csv {
            Shape::all(models, &model)
        } else {
            Shape::compile(raw, models, &model, json, source, at, errors)
        };
        Some(ModelOutput {
            model,
            template,
            html: !json,
            json,
            context: super::context_of(raw),
            status: raw.status.unwrap_or(200),
            wheres: wheres.fixed,
            captured: wheres.captured,
            uses: Uses::ALL,
            many: !json || shape.many,
            shape,
        })
    }

    /// The route's `where:` conditions for a request, the path's captures in place.
    pub fn conds(&self, params: &Params) -> Vec<Cond> {
        let mut conds = self.wheres.clone();
        conds.extend(self.captured.iter().map(|c| c.cond(params.get(&c.capture))));
        conds
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
        self.many = self.reads_many(&self.model, renderer);
    }

    /// Whether this output may read a many_to_many field of `model`'s rows: JSON shows them
    /// all; a template, only those it (or a partial it calls) names. Without a renderer,
    /// nothing is left out.
    pub fn reads_many(&self, model: &Model, renderer: Option<&crate::render::Renderer>) -> bool {
        match (self.template.as_deref(), renderer) {
            (Some(template), Some(r)) => model.many.iter().any(|f| r.mentions(template, &f.name)),
            _ => true,
        }
    }

    /// Add what templates expect beside the columns: `pk`, and `FIELD_html` for markdown
    /// text when the template shows it. JSON rows get neither (see `Shape`).
    pub fn enrich(&self, model: &Model, rows: &mut [Map<String, Value>]) {
        if self.json {
            return;
        }
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
            .map_err(|e| ViewError::render(format_args!("rendering {template}"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_where_value_in_braces_names_a_capture_and_doubled_braces_are_literal() {
        let s = |t: &str| RawScalar::Str(t.into());
        let cases: &[(RawScalar, Result<&str, RawScalar>)] = &[
            (s("{author}"), Ok("author")),
            (s("{{author}}"), Err(s("{author}"))),
            (s("{{{x}}}"), Err(s("{{x}}"))),
            (s("{x"), Err(s("{x"))),
            (s("x}"), Err(s("x}"))),
            (s("a {x}"), Err(s("a {x}"))),
            (s("{}"), Ok("")),
            (RawScalar::Int(7), Err(RawScalar::Int(7))),
        ];
        for (value, want) in cases {
            assert_eq!(&capture_name(value), want, "{value:?}");
        }
    }

    /// `__year`, `__month`, `__day`, then an optional comparison; only after a date field.
    #[test]
    fn date_parts_end_a_path_before_its_lookup() {
        let db = crate::db::fixtures::testing::Db::new();
        let post = db.models.get("Post").unwrap();
        let resolve = |key: &str| resolve_path(&db.models, post, key, None);
        let ok = |key: &str| {
            let p = resolve(key).unwrap_or_else(|e| panic!("{key}: {e}"));
            (p.field.name, p.transform, p.lookup, p.hops.len())
        };
        assert_eq!(
            ok("created_at__year"),
            ("created_at".into(), Some(DatePart::Year), Lookup::Exact, 0)
        );
        assert_eq!(
            ok("created_at__year__gte"),
            ("created_at".into(), Some(DatePart::Year), Lookup::Gte, 0)
        );
        assert_eq!(
            ok("created_at__day__lt"),
            ("created_at".into(), Some(DatePart::Day), Lookup::Lt, 0)
        );
        assert_eq!(
            ok("created_at"),
            ("created_at".into(), None, Lookup::Exact, 0)
        );
        let with_lookup = resolve_path(&db.models, post, "created_at__month", Some(Lookup::Lte));
        assert_eq!(with_lookup.unwrap().lookup, Lookup::Lte);
        assert_eq!(
            resolve("title__year").unwrap_err(),
            "`__year` needs a date or datetime field, and `title` is neither"
        );
        assert_eq!(
            resolve("created_at__year__in").unwrap_err(),
            "after `__year` only exact, gt, gte, lt and lte apply"
        );
        assert_eq!(
            resolve("author__year").unwrap_err(),
            "`__year` needs a date or datetime field, and `author` is neither"
        );
    }
}
