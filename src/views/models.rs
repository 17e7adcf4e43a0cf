//! The model views: `list` (Django's ListView: filters, search, ordering, pagination) and
//! `detail` (DetailView: one row by a path capture, with related rows), as HTML or JSON.
//! Their specs are compiled at load from the route's YAML; every value from a request reaches
//! SQL through `db::query` as a bound parameter.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{context_for, not_found, server_error, Request, Response};
use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, Format, Lookup, RawRoute};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::{to_sql, Cond, Query};
use crate::db::{Database, Field, Model, Models, Order, SqlValue};
use crate::routing::Params;
use crate::site::Site;

/// Foreign-key hops from the view's model to the model holding the field.
#[derive(Debug, Clone)]
struct Hop {
    column: String,
    table: String,
    pk: String,
}

/// `author__slug__icontains` resolved against the models.
#[derive(Debug, Clone)]
pub struct FieldPath {
    hops: Vec<Hop>,
    field: Field,
    lookup: Lookup,
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
                    "`{name}` of {} is not a foreign key, so `{key}` cannot follow it",
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
    fn cond(&self, values: Vec<SqlValue>) -> Cond {
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
    fn parse(&self, text: &str) -> Result<SqlValue, String> {
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
fn compile_where(
    models: &Models,
    model: &Model,
    raw: Option<&indexmap::IndexMap<String, crate::config::raw::RawScalar>>,
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

fn compile_order(
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

#[derive(Debug)]
pub struct SearchSpec {
    pub param: String,
    pub columns: Vec<String>,
    pub fts: bool,
}

#[derive(Debug)]
pub struct FilterSpec {
    pub param: String,
    pub path: FieldPath,
}

/// A compiled `view: list`.
#[derive(Debug)]
pub struct ListView {
    pub model: Arc<Model>,
    pub template: Option<String>,
    pub json: bool,
    /// Whether rows get `FIELD_html` (markdown rendered): not for JSON, and not when the
    /// template and its partials never mention `_html` (set by the site once templates load).
    pub html: bool,
    pub context: Map<String, Value>,
    pub status: u16,
    pub wheres: Vec<Cond>,
    pub paginate_by: Option<u32>,
    pub allow_empty: bool,
    pub count: bool,
    pub keyset: bool,
    pub ordering: Vec<Order>,
    pub ordering_fields: Vec<String>,
    pub search: Option<SearchSpec>,
    pub filters: Vec<FilterSpec>,
}

/// Rows of another model pointing at a detail page's object.
#[derive(Debug)]
pub struct RelatedSpec {
    pub name: String,
    pub model: Arc<Model>,
    pub column: String,
    pub wheres: Vec<Cond>,
    pub ordering: Vec<Order>,
    pub limit: u32,
}

/// A compiled `view: detail`.
#[derive(Debug)]
pub struct DetailView {
    pub model: Arc<Model>,
    pub template: Option<String>,
    pub json: bool,
    /// Whether rows get `FIELD_html` (markdown rendered): not for JSON, and not when the
    /// template and its partials never mention `_html` (set by the site once templates load).
    pub html: bool,
    pub context: Map<String, Value>,
    pub status: u16,
    pub wheres: Vec<Cond>,
    pub field: Field,
    pub capture: String,
    pub related: Vec<RelatedSpec>,
}

/// What a model view asks of the database schema: indexes (per model, an ordering) and FTS
/// columns, so that what routes look up and order by is indexed.
#[derive(Debug, Default)]
pub struct SchemaNeeds {
    pub indexes: Vec<(String, Vec<Order>)>,
    pub fts: Vec<(String, Vec<String>)>,
}

fn model_for<'a>(
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

pub fn compile_list(
    raw: &RawRoute,
    models: &Models,
    source: &Source,
    at: &str,
    context: Map<String, Value>,
    status: u16,
    needs: &mut SchemaNeeds,
) -> Result<ListView, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let model = model_for(models, raw, source, at)
        .map_err(|d| vec![d])?
        .clone();
    let wheres = compile_where(
        models,
        &model,
        raw.where_.as_ref(),
        source,
        &format!("{at}.where"),
        &mut errors,
    );
    let ordering = match &raw.ordering {
        Some(keys) => compile_order(&model, keys, source, &format!("{at}.ordering"), &mut errors),
        None => model.ordering.clone(),
    };
    // Index the static filters' columns followed by the ordering, so that the page is read in
    // order from the index and the count is taken from it, whatever the table's size.
    let mut keys: Vec<Order> = raw
        .where_
        .iter()
        .flatten()
        .filter_map(|(key, _)| resolve_path(models, &model, key, None).ok())
        .filter(|p| p.hops.is_empty() && p.lookup == Lookup::Exact)
        .map(|p| Order {
            field: p.field.name.clone(),
            column: p.field.column.clone(),
            desc: false,
        })
        .collect();
    if raw.ordering.is_some() || !keys.is_empty() {
        keys.extend(ordering.iter().cloned());
        if !keys.is_empty() {
            needs.indexes.push((model.name.clone(), keys));
        }
    }
    let keyset = raw.keyset == Some(true);
    if keyset {
        if raw.paginate_by.is_none() {
            errors.push(source.diag(
                &format!("{at}.keyset"),
                "keyset pagination needs `paginate_by`",
            ));
        }
        if ordering.windows(2).any(|w| w[0].desc != w[1].desc) {
            errors.push(source.diag(
                &format!("{at}.keyset"),
                "keyset pagination needs every ordering key in the same direction",
            ));
        }
    }
    let mut ordering_fields = Vec::new();
    for f in raw.ordering_fields.iter().flatten() {
        match model.field(f) {
            Some(field) => {
                ordering_fields.push(field.name.clone());
                needs.indexes.push((
                    model.name.clone(),
                    vec![Order {
                        field: field.name.clone(),
                        column: field.column.clone(),
                        desc: false,
                    }],
                ));
            }
            None => errors.push(
                source
                    .diag(
                        &format!("{at}.ordering_fields"),
                        format!("model {} has no field `{f}`", model.name),
                    )
                    .with_hint(suggestion(f, model.field_names())),
            ),
        }
    }
    let search = raw.search.as_ref().map(|s| {
        let mut columns = Vec::new();
        for f in &s.fields {
            match model.field(f) {
                Some(field) if field.is_text() => columns.push(field.column.clone()),
                Some(_) => errors.push(source.diag(
                    &format!("{at}.search.fields"),
                    format!("`{f}` of {} is not a text field", model.name),
                )),
                None => errors.push(
                    source
                        .diag(
                            &format!("{at}.search.fields"),
                            format!("model {} has no field `{f}`", model.name),
                        )
                        .with_hint(suggestion(f, model.field_names())),
                ),
            }
        }
        let fts = s.fts == Some(true);
        if fts {
            if model.pk_field().ty != FieldType::Integer {
                errors.push(source.diag(
                    &format!("{at}.search.fts"),
                    "full-text search needs an integer primary key",
                ));
            }
            needs.fts.push((model.name.clone(), columns.clone()));
        }
        SearchSpec {
            param: s.param.clone().unwrap_or_else(|| "q".into()),
            columns,
            fts,
        }
    });
    let mut filters = Vec::new();
    for (param, f) in raw.filters.iter().flatten() {
        let key = f.field.clone().unwrap_or_else(|| param.clone());
        match resolve_path(models, &model, &key, f.lookup) {
            Ok(path) => {
                if path.hops.is_empty() && !path.field.primary_key {
                    needs.indexes.push((
                        model.name.clone(),
                        vec![Order {
                            field: path.field.name.clone(),
                            column: path.field.column.clone(),
                            desc: false,
                        }],
                    ));
                }
                filters.push(FilterSpec {
                    param: param.clone(),
                    path,
                });
            }
            Err(why) => errors.push(source.diag(&format!("{at}.filters.{param}"), why)),
        }
    }
    if raw.paginate_by == Some(0) {
        errors.push(source.diag(
            &format!("{at}.paginate_by"),
            "paginate_by must be at least 1",
        ));
    }
    let (json, template) = output(raw, source, at, "list", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ListView {
        model,
        template,
        html: !json,
        json,
        context,
        status,
        wheres,
        paginate_by: raw.paginate_by,
        allow_empty: raw.allow_empty.unwrap_or(true),
        count: raw.count.unwrap_or(true),
        keyset,
        ordering,
        ordering_fields,
        search,
        filters,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn compile_detail(
    raw: &RawRoute,
    models: &Models,
    source: &Source,
    at: &str,
    captures: &[String],
    context: Map<String, Value>,
    status: u16,
    needs: &mut SchemaNeeds,
) -> Result<DetailView, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let model = model_for(models, raw, source, at)
        .map_err(|d| vec![d])?
        .clone();
    let wheres = compile_where(
        models,
        &model,
        raw.where_.as_ref(),
        source,
        &format!("{at}.where"),
        &mut errors,
    );
    let (field, capture) = match raw.lookup.as_deref() {
        None | Some("pk") => {
            let pk = model.pk_field().clone();
            let capture = if captures.iter().any(|c| c == "pk") {
                "pk".to_string()
            } else {
                pk.name.clone()
            };
            (Some(pk), capture)
        }
        Some(name) => match model.field(name) {
            Some(f) => (Some(f.clone()), f.name.clone()),
            None => {
                errors.push(
                    source
                        .diag(
                            &format!("{at}.lookup"),
                            format!("model {} has no field `{name}`", model.name),
                        )
                        .with_hint(suggestion(name, model.field_names())),
                );
                (None, String::new())
            }
        },
    };
    if let Some(f) = &field {
        if !captures.contains(&capture) {
            let got = if captures.is_empty() {
                "it captures nothing".to_string()
            } else {
                format!("it captures {}", captures.join(", "))
            };
            errors.push(source.diag(
                &format!("{at}.path"),
                format!(
                    "a detail view by `{}` needs the path to capture `<…:{capture}>`; {got}",
                    f.name
                ),
            ));
        }
        if !f.unique && !f.index {
            needs.indexes.push((
                model.name.clone(),
                vec![Order {
                    field: f.name.clone(),
                    column: f.column.clone(),
                    desc: false,
                }],
            ));
        }
    }
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
        let fk = match rmodel.field(&r.field) {
            Some(f) if f.to.as_deref() == Some(model.name.as_str()) => f.clone(),
            Some(_) => {
                errors.push(source.diag(
                    &format!("{rat}.field"),
                    format!(
                        "`{}` of {} is not a foreign key to {}",
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
            &mut errors,
        );
        let ordering = match &r.ordering {
            Some(keys) => compile_order(
                rmodel,
                keys,
                source,
                &format!("{rat}.ordering"),
                &mut errors,
            ),
            None => rmodel.ordering.clone(),
        };
        related.push(RelatedSpec {
            name: name.clone(),
            model: rmodel.clone(),
            column: fk.column.clone(),
            wheres,
            ordering,
            limit: r.limit.unwrap_or(100),
        });
    }
    let (json, template) = output(raw, source, at, "detail", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DetailView {
        model,
        template,
        html: !json,
        json,
        context,
        status,
        wheres,
        field: field.expect("no errors means the lookup field exists"),
        capture,
        related,
    })
}

/// `format: json`, or the template that renders the page (one of them is needed).
fn output(
    raw: &RawRoute,
    source: &Source,
    at: &str,
    view: &str,
    errors: &mut Vec<Diagnostic>,
) -> (bool, Option<String>) {
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
    (json, template)
}

/// Add what templates expect beside the columns: `pk`, and `FIELD_html` for markdown text.
fn enrich(model: &Model, rows: &mut [Map<String, Value>], html: bool) {
    for row in rows.iter_mut() {
        let pk = row
            .get(&model.pk_field().column)
            .cloned()
            .unwrap_or(Value::Null);
        if model.field("pk").is_none() {
            row.insert("pk".into(), pk);
        }
        if html {
            for f in model.fields.iter().filter(|f| f.markdown) {
                let text = row.get(&f.column).and_then(Value::as_str).unwrap_or("");
                let html = crate::render::markdown::markdown_to_html_cached(text).to_string();
                row.insert(format!("{}_html", f.name), Value::String(html));
            }
        }
    }
}

fn last_values<'a>(req: &'a Request, name: &str) -> Vec<&'a str> {
    req.pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The request's URL with `drop` removed and `set` (a key and its value) put last, other
/// parameters kept.
fn url_with(req: &Request, set: Option<(&str, &str)>, drop: &[&str]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &req.pairs {
        if set.is_none_or(|(key, _)| k != key) && !drop.contains(&k.as_str()) {
            s.append_pair(k, v);
        }
    }
    if let Some((key, value)) = set {
        s.append_pair(key, value);
    }
    let path = super::escape_uri_path(&req.path);
    match s.finish() {
        qs if qs.is_empty() => path,
        qs => format!("{path}?{qs}"),
    }
}

fn json_response(status: u16, v: &Value) -> Response {
    Response {
        status,
        content_type: "application/json".into(),
        headers: Vec::new(),
        body: serde_json::to_string_pretty(v).unwrap_or_default(),
    }
}

fn db_of(site: &Site) -> Option<&Database> {
    site.db.as_deref()
}

pub fn list(
    site: &Site,
    req: &Request,
    view: &ListView,
    params: &Params,
    query: Map<String, Value>,
    origin: &str,
) -> Response {
    let Some(db) = db_of(site) else {
        return server_error(site, req, "a list view without a database");
    };
    let model = view.model.as_ref();
    let mut q = Query::new(model);
    q.conds = view.wheres.clone();
    q.order = view.ordering.clone();
    // ?ordering=-title,name, limited to the declared fields; anything else is ignored.
    if !view.ordering_fields.is_empty() {
        if let Some(wanted) = last_values(req, "ordering").last() {
            let keys: Vec<String> = wanted
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect();
            let allowed = keys.iter().all(|k| {
                view.ordering_fields
                    .iter()
                    .any(|f| f == k.trim_start_matches('-'))
            });
            let uniform = keys
                .iter()
                .all(|k| k.starts_with('-') == keys[0].starts_with('-'));
            if !keys.is_empty() && allowed && (uniform || !view.keyset) {
                if let Ok(o) = model.parse_ordering(&keys) {
                    q.order = o;
                }
            }
        }
    }
    let mut term = String::new();
    if let Some(s) = &view.search {
        term = last_values(req, &s.param)
            .last()
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        if term.contains('\0') {
            // No stored text holds a NUL, and SQLite would cut the pattern at it.
            q.conds.push(Cond::In {
                column: model.pk_field().column.clone(),
                values: Vec::new(),
            });
        } else if !term.is_empty() {
            q.conds.push(if s.fts {
                Cond::Fts {
                    table: model.table.clone(),
                    pk: model.pk_field().column.clone(),
                    term: term.clone(),
                }
            } else {
                Cond::Search {
                    columns: s.columns.clone(),
                    term: term.clone(),
                }
            });
        }
    }
    for f in &view.filters {
        let mut raw: Vec<&str> = last_values(req, &f.param);
        if f.path.lookup != Lookup::In {
            raw = raw.last().copied().into_iter().collect();
        }
        let texts: Vec<&str> = raw
            .iter()
            .flat_map(|r| {
                if f.path.lookup == Lookup::In {
                    r.split(',').collect::<Vec<_>>()
                } else {
                    vec![*r]
                }
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if texts.is_empty() {
            continue;
        }
        let mut values = Vec::new();
        if texts.iter().any(|t| t.contains('\0')) {
            q.conds.push(Cond::In {
                column: model.pk_field().column.clone(),
                values: Vec::new(),
            });
            continue;
        }
        for t in texts {
            match f.path.parse(t) {
                Ok(v) => values.push(v),
                Err(why) => {
                    return super::bad_request(
                        site,
                        req,
                        &format!("query parameter `{}`: {why}", f.param),
                    )
                }
            }
        }
        q.conds.push(f.path.cond(values));
    }

    let mut page = Map::new();
    let rows = match view.paginate_by {
        None => match db.fetch(&q) {
            Ok(r) => r,
            Err(e) => return server_error(site, req, &format!("{origin}: {e}")),
        },
        Some(per) => {
            let per = per as i64;
            let mut number: i64 = 1;
            let mut count = None;
            let mut after_pk = None;
            if view.keyset {
                if let Some(after) = last_values(req, "after").last() {
                    let pk = model.pk_field();
                    let value = match pk.ty {
                        FieldType::Integer => match after.trim().parse::<i64>() {
                            Ok(i) => SqlValue::Integer(i),
                            Err(_) => return not_found(site, req),
                        },
                        _ => SqlValue::Text(after.to_string()),
                    };
                    // The cursor must be a row this route shows; a hidden row is as absent.
                    let mut exists = Query::new(model);
                    exists.conds = view.wheres.clone();
                    exists.conds.push(Cond::Cmp {
                        column: pk.column.clone(),
                        lookup: Lookup::Exact,
                        value: value.clone(),
                    });
                    match db.count(&exists) {
                        Ok(0) => return not_found(site, req),
                        Ok(_) => {}
                        Err(e) => return server_error(site, req, &format!("{origin}: {e}")),
                    }
                    q.conds.push(Cond::After {
                        order: q.order.clone(),
                        pk: pk.column.clone(),
                        value,
                    });
                    after_pk = Some(after.to_string());
                }
            } else {
                let raw_page = last_values(req, "page")
                    .last()
                    .map(|p| p.trim().to_string());
                if view.count {
                    let n = match db.count(&q) {
                        Ok(n) => n,
                        Err(e) => return server_error(site, req, &format!("{origin}: {e}")),
                    };
                    // Django's Paginator: an empty first page exists when allow_empty.
                    let num_pages = if n == 0 {
                        if view.allow_empty {
                            1
                        } else {
                            0
                        }
                    } else {
                        (n + per - 1) / per
                    };
                    number = match raw_page.as_deref() {
                        None | Some("") => 1,
                        Some("last") => num_pages.max(1),
                        Some(p) => match p.strip_prefix('+').unwrap_or(p).parse::<i64>() {
                            Ok(i) => i,
                            Err(_) => return not_found(site, req),
                        },
                    };
                    if number < 1 || (number > num_pages && !(number == 1 && view.allow_empty)) {
                        return not_found(site, req);
                    }
                    count = Some((n, num_pages));
                } else {
                    number = match raw_page.as_deref() {
                        None | Some("") => 1,
                        Some(p) => match p.strip_prefix('+').unwrap_or(p).parse::<i64>() {
                            Ok(i) if i >= 1 => i,
                            _ => return not_found(site, req),
                        },
                    };
                }
            }
            q.limit = Some(per + 1);
            q.offset = (number - 1).saturating_mul(per);
            let mut rows = match db.fetch(&q) {
                Ok(r) => r,
                Err(e) => return server_error(site, req, &format!("{origin}: {e}")),
            };
            let has_next = rows.len() as i64 > per;
            rows.truncate(per as usize);
            if rows.is_empty() && (number > 1 || after_pk.is_some()) {
                return not_found(site, req);
            }
            let has_previous = if view.keyset {
                after_pk.is_some()
            } else {
                number > 1
            };
            page.insert(
                "number".into(),
                if view.keyset {
                    Value::Null
                } else {
                    number.into()
                },
            );
            page.insert("paginate_by".into(), per.into());
            page.insert("has_next".into(), has_next.into());
            page.insert("has_previous".into(), has_previous.into());
            page.insert("has_other_pages".into(), (has_next || has_previous).into());
            if let Some((n, num_pages)) = count {
                page.insert("count".into(), n.into());
                page.insert("num_pages".into(), num_pages.into());
                let start = if n == 0 { 0 } else { (number - 1) * per + 1 };
                let end = if number == num_pages { n } else { number * per };
                page.insert("start_index".into(), start.into());
                page.insert("end_index".into(), end.into());
            } else {
                page.insert("count".into(), Value::Null);
                page.insert("num_pages".into(), Value::Null);
            }
            let next = if !has_next {
                Value::Null
            } else if view.keyset {
                let last = rows
                    .last()
                    .and_then(|r| r.get(&model.pk_field().column))
                    .map(super::super::render::helpers::text)
                    .unwrap_or_default();
                url_with(req, Some(("after", &last)), &["page"]).into()
            } else {
                page.insert("next_page_number".into(), (number + 1).into());
                url_with(req, Some(("page", &(number + 1).to_string())), &["after"]).into()
            };
            // Keyset pages only go forward; the way back is to the first page.
            if view.keyset && has_previous {
                page.insert(
                    "first_url".into(),
                    url_with(req, None, &["after", "page"]).into(),
                );
            }
            let previous = if !has_previous || view.keyset {
                Value::Null
            } else {
                page.insert("previous_page_number".into(), (number - 1).into());
                url_with(req, Some(("page", &(number - 1).to_string())), &["after"]).into()
            };
            page.insert("next_url".into(), next);
            page.insert("previous_url".into(), previous);
            rows
        }
    };
    let mut rows = rows;
    if rows.is_empty() && !view.allow_empty {
        return not_found(site, req);
    }
    enrich(model, &mut rows, view.html);
    let objects = Value::Array(rows.into_iter().map(Value::Object).collect());
    if view.json {
        let mut body = json!({ "results": objects });
        if view.paginate_by.is_some() {
            let obj = body.as_object_mut().expect("an object");
            for key in ["count", "num_pages", "number"] {
                obj.insert(
                    if key == "number" {
                        "page".into()
                    } else {
                        key.into()
                    },
                    page.get(key).cloned().unwrap_or(Value::Null),
                );
            }
            obj.insert(
                "next".into(),
                page.get("next_url").cloned().unwrap_or(Value::Null),
            );
            obj.insert(
                "previous".into(),
                page.get("previous_url").cloned().unwrap_or(Value::Null),
            );
        }
        return json_response(view.status, &body);
    }
    let mut extra = view.context.clone();
    extra.insert("objects".into(), objects);
    extra.insert(
        "is_paginated".into(),
        page.get("has_other_pages")
            .cloned()
            .unwrap_or(Value::Bool(false)),
    );
    extra.insert("page".into(), Value::Object(page));
    extra.insert("search".into(), term.into());
    let ctx = context_for(site, req, params, query, extra);
    let template = view.template.as_deref().unwrap_or("");
    match site.renderer.render(template, ctx) {
        Ok(body) => Response {
            status: view.status,
            content_type: "text/html; charset=utf-8".into(),
            headers: Vec::new(),
            body,
        },
        Err(e) => server_error(site, req, &format!("rendering {template}: {e}")),
    }
}

pub fn detail(
    site: &Site,
    req: &Request,
    view: &DetailView,
    params: &Params,
    query: Map<String, Value>,
    origin: &str,
) -> Response {
    let Some(db) = db_of(site) else {
        return server_error(site, req, "a detail view without a database");
    };
    let model = view.model.as_ref();
    let Some(raw) = params.get(&view.capture) else {
        return not_found(site, req);
    };
    let value = match (view.field.ty, raw) {
        (FieldType::Integer, Value::String(s)) => match s.parse::<i64>() {
            Ok(i) => SqlValue::Integer(i),
            Err(_) => return not_found(site, req),
        },
        (ty, v) => to_sql(ty, v),
    };
    let mut q = Query::new(model);
    q.conds = view.wheres.clone();
    q.conds.push(Cond::Cmp {
        column: view.field.column.clone(),
        lookup: Lookup::Exact,
        value,
    });
    q.limit = Some(1);
    let mut rows = match db.fetch(&q) {
        Ok(r) => r,
        Err(e) => return server_error(site, req, &format!("{origin}: {e}")),
    };
    let Some(mut object) = rows.pop() else {
        return not_found(site, req);
    };
    enrich(model, std::slice::from_mut(&mut object), view.html);
    let pk = object
        .get(&model.pk_field().column)
        .cloned()
        .unwrap_or(Value::Null);
    let mut extra = view.context.clone();
    for r in &view.related {
        let mut rq = Query::new(&r.model);
        rq.conds = r.wheres.clone();
        rq.conds.push(Cond::Cmp {
            column: r.column.clone(),
            lookup: Lookup::Exact,
            value: to_sql(FieldType::Integer, &pk),
        });
        rq.order = r.ordering.clone();
        rq.limit = Some(r.limit as i64);
        match db.fetch(&rq) {
            Ok(mut rows) => {
                enrich(&r.model, &mut rows, view.html);
                let list = Value::Array(rows.into_iter().map(Value::Object).collect());
                if view.json {
                    object.insert(r.name.clone(), list);
                } else {
                    extra.insert(r.name.clone(), list);
                }
            }
            Err(e) => return server_error(site, req, &format!("{origin}: {e}")),
        }
    }
    if view.json {
        return json_response(view.status, &Value::Object(object));
    }
    extra.insert("object".into(), Value::Object(object));
    let ctx = context_for(site, req, params, query, extra);
    let template = view.template.as_deref().unwrap_or("");
    match site.renderer.render(template, ctx) {
        Ok(body) => Response {
            status: view.status,
            content_type: "text/html; charset=utf-8".into(),
            headers: Vec::new(),
            body,
        },
        Err(e) => server_error(site, req, &format!("rendering {template}: {e}")),
    }
}
