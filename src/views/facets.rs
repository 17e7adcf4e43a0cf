//! `facets:` of a list route — Datasette's facets: for each declared field, how many of the
//! list's rows (as the request filters and searches them, every page together) hold each
//! value, most first, with a link that filters the list by that value (or, for the value
//! already chosen, removes the filter).
//!
//! A facet is also a filter: the route's filter on that field (exact) when it has one, or
//! else a filter named after the field, added here. A foreign key's values are shown with
//! their target's label (its `name`, else `title`, else its first string field); a
//! many_to_many field counts each row once per target. Each facet is one GROUP BY
//! (`db::query::Query::facet_sql`) over the list's conditions, all bound.
//!
//! The template sees `facets`, and JSON has `facets`: a list of `{field, param, values: [{value,
//! label, count, selected, toggle_url}], more, chosen, all_url}` (`toggle_url` adds the filter, or removes it from a selected value; `all_url` is the list without this filter, `chosen` whether the request filters by it); `more` says values beyond the first
//! [`FACET_VALUES`] were left out; a row with no value (NULL) is counted, with no link.

use serde_json::{Map, Value};

use super::error::ViewError;
use super::fields::{resolve_path, FieldPath};
use super::list::FilterSpec;
use super::request::Request;
use super::Call;
use crate::config::raw::{FieldType, Lookup, RawRoute};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::{to_json, to_sql, Facet, FacetLabel, Query};
use crate::db::{Database, Model, Models, Order, SqlValue};

/// The values a facet shows at most.
pub const FACET_VALUES: i64 = 30;

/// A compiled facet.
#[derive(Debug)]
pub struct FacetSpec {
    field: String,
    /// The query parameter of its filter.
    param: String,
    /// Its filter's path, which parses the request's value.
    path: FieldPath,
    facet: Facet,
    /// The type of its values (a foreign key's: the target's key).
    ty: FieldType,
    /// What the admin's filter lists uncounted (none: it counts, as `facets:` does).
    choices: Option<Choices>,
}

/// The route's facets, and the filters to add for those the route does not filter by.
pub fn compile(
    raw: &RawRoute,
    models: &Models,
    model: &Model,
    filters: &[FilterSpec],
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> (Vec<FacetSpec>, Vec<FilterSpec>) {
    let mut facets = Vec::new();
    let mut added = Vec::new();
    for (i, name) in raw.facets.iter().flatten().enumerate() {
        let here = format!("{at}.facets[{i}]");
        let (facet, ty, choices) = match facet_of(models, model, name) {
            Ok(f) => f,
            Err(why) => {
                errors.push(source.diag(&here, why));
                continue;
            }
        };
        // The route's filter on this field, or one named after it.
        let declared = raw.filters.iter().flatten().find(|(param, f)| {
            f.field.as_deref().unwrap_or(param) == name
                && f.lookup.unwrap_or(Lookup::Exact) == Lookup::Exact
        });
        let param = match declared {
            Some((param, _)) => param.clone(),
            None if raw.filters.iter().flatten().any(|(p, _)| p == name) => {
                errors.push(
                    source
                        .diag(&here, format!("the filter `{name}` filters by something else than the field `{name}`"))
                        .with_hint(Some(format!("a facet filters by its field: make the filter `{name}` exact on `{name}`, or rename it"))),
                );
                continue;
            }
            None => name.clone(),
        };
        let path = match filters.iter().find(|f| f.param == param) {
            Some(f) => f.path.clone(),
            None => match resolve_path(models, model, name, None) {
                Ok(path) => {
                    added.push(FilterSpec {
                        param: param.clone(),
                        path: path.clone(),
                    });
                    path
                }
                Err(why) => {
                    errors.push(source.diag(&here, why));
                    continue;
                }
            },
        };
        facets.push(FacetSpec {
            field: name.clone(),
            param,
            path,
            facet,
            ty,
            choices,
        });
    }
    (facets, added)
}

impl FacetSpec {
    /// The index a facet on a column of `model` asks for (its GROUP BY reads it).
    pub fn index(&self, model: &Model) -> Option<Order> {
        if self.facet.join.is_some() {
            return None;
        }
        model
            .fields
            .iter()
            .find(|f| f.column == self.facet.column)
            .map(Order::asc)
    }
}

/// What a field's facet counts, the type of its values, and what it lists uncounted.
fn facet_of(
    models: &Models,
    model: &Model,
    name: &str,
) -> Result<(Facet, FieldType, Option<Choices>), String> {
    if let Some(many) = model.many_field(name) {
        let (Some(join), Some(target)) = (&many.join, many.to.as_ref().and_then(|t| models.get(t)))
        else {
            return Err(format!("`{name}` of {} has no target model", model.name));
        };
        let facet = Facet {
            column: String::new(),
            join: Some(join.clone()),
            label: Some(label_of(target)),
        };
        let choices = Some(Choices::Targets(label_of(target)));
        return Ok((facet, target.pk_field().ty, choices));
    }
    let Some(field) = model.field(name) else {
        let hint = crate::config::diagnostic::suggestion(name, model.field_names())
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        return Err(format!("model {} has no field `{name}`{hint}", model.name));
    };
    if field.primary_key || matches!(field.ty, FieldType::Text | FieldType::Json) {
        return Err(format!(
            "`{name}` of {} cannot be a facet: each row has its own value",
            model.name
        ));
    }
    let target = field.to.as_ref().and_then(|t| models.get(t));
    let facet = Facet {
        column: field.column.clone(),
        join: None,
        label: target.map(|t| label_of(t)),
    };
    let choices = match (&facet.label, &field.choices) {
        (Some(label), _) => Some(Choices::Targets(label.clone())),
        (None, Some(values)) => Some(Choices::Fixed(
            values.iter().map(|v| to_sql(field.ty, v)).collect(),
        )),
        (None, None) if field.ty == FieldType::Boolean => Some(Choices::Fixed(vec![
            SqlValue::Integer(1),
            SqlValue::Integer(0),
        ])),
        (None, None) => None,
    };
    Ok((facet, target.map_or(field.ty, |t| t.pk_field().ty), choices))
}

/// The field that names a row of `target`: `name`, else `title`, else its first string
/// field, else its key (the admin shows a foreign key by it too).
pub fn label_field(target: &Model) -> &crate::db::Field {
    ["name", "title"]
        .iter()
        .find_map(|n| target.field(n))
        .or_else(|| {
            target
                .fields
                .iter()
                .find(|f| matches!(f.ty, FieldType::String | FieldType::Slug))
        })
        .unwrap_or(target.pk_field())
}

/// The column that names a row of `target`, as a facet reads it.
fn label_of(target: &Model) -> FacetLabel {
    let column = label_field(target);
    FacetLabel {
        table: target.table.clone(),
        pk: target.pk_field().column.clone(),
        column: column.column.clone(),
    }
}

/// What the admin's filter lists for a facet without counting: every value a field may
/// hold (a boolean's, its declared choices), or the target's rows (a foreign key's).
#[derive(Debug)]
enum Choices {
    Fixed(Vec<SqlValue>),
    Targets(FacetLabel),
}

/// How a list shows its facets: counted (`facets:`), or, on the admin's list, every choice
/// listed and counted only when the URL asks with `_facets` (Django's `ShowFacets.ALLOW`).
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Counted,
    Listed { counts: bool },
}

/// The query parameter that asks the admin's list for its filters' counts (Django's).
pub const COUNTS_PARAM: &str = "_facets";

/// The target rows a listed foreign key's filter shows at most.
pub const FACET_CHOICES: i64 = 100;

/// One value of a facet: the value, its count (when counted) and its label.
type Row = (SqlValue, Option<i64>, Option<String>);

/// Each facet's values, as the template and JSON show them: counted among the rows of `q`
/// (the list as this request filters it), or listed (see [`Mode`]); a listed facet's counts
/// are over the list filtered by everything but itself (`without` builds that query), as
/// Django's are.
pub fn show<'a>(
    facets: &[FacetSpec],
    db: &Database,
    q: &Query,
    without: impl Fn(&str) -> Result<Query<'a>, ViewError>,
    req: &Request,
    call: &Call,
    mode: Mode,
) -> Result<Value, ViewError> {
    let mut out = Vec::new();
    for f in facets {
        let (rows, more) = match (mode, &f.choices) {
            (Mode::Listed { counts }, Some(choices)) => {
                let counted = if counts {
                    Some(
                        db.facet(&without(&f.param)?, &f.facet, i64::MAX)
                            .map_err(|e| call.db(e))?,
                    )
                } else {
                    None
                };
                listed(choices, counted, db, call)?
            }
            _ => {
                let mut rows = db
                    .facet(q, &f.facet, FACET_VALUES + 1)
                    .map_err(|e| call.db(e))?;
                let more = rows.len() as i64 > FACET_VALUES;
                rows.truncate(FACET_VALUES as usize);
                let rows = rows.into_iter().map(|(v, n, l)| (v, Some(n), l)).collect();
                (rows, more)
            }
        };
        out.push(facet_json(f, rows, more, req));
    }
    Ok(Value::Array(out))
}

/// A listed facet's rows: every choice, with its count among `counted` (0 when absent),
/// and the rows with no value last when there are any.
fn listed(
    choices: &Choices,
    counted: Option<Vec<(SqlValue, i64, Option<String>)>>,
    db: &Database,
    call: &Call,
) -> Result<(Vec<Row>, bool), ViewError> {
    let (mut rows, more) = match choices {
        Choices::Fixed(values) => (values.iter().map(|v| (v.clone(), None)).collect(), false),
        Choices::Targets(label) => {
            let mut rows = db
                .facet_targets(label, FACET_CHOICES + 1)
                .map_err(|e| call.db(e))?;
            let more = rows.len() as i64 > FACET_CHOICES;
            rows.truncate(FACET_CHOICES as usize);
            (rows, more)
        }
    };
    let Some(counted) = counted else {
        return Ok((rows.into_iter().map(|(v, l)| (v, None, l)).collect(), more));
    };
    let count_of = |v: &SqlValue| counted.iter().find(|c| &c.0 == v).map_or(0, |c| c.1);
    let nulls = count_of(&SqlValue::Null);
    if nulls > 0 {
        rows.push((SqlValue::Null, None));
    }
    let rows = rows
        .into_iter()
        .map(|(v, l)| {
            let n = count_of(&v);
            (v, Some(n), l)
        })
        .collect();
    Ok((rows, more))
}

/// The admin's "Show counts" / "Hide counts" link: `{shown, toggle_url}`, the URL with
/// `_facets=1` added or removed, every other parameter kept.
pub fn counts_link(req: &Request) -> Value {
    let shown = req.last(COUNTS_PARAM).is_some();
    let url = if shown {
        req.url_with(None, &[COUNTS_PARAM])
    } else {
        req.url_with(Some((COUNTS_PARAM, "1")), &[])
    };
    serde_json::json!({"shown": shown, "toggle_url": url})
}

/// One facet as the template and JSON see it.
fn facet_json(f: &FacetSpec, rows: Vec<Row>, more: bool, req: &Request) -> Value {
    let chosen = req
        .last(&f.param)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .and_then(|t| f.path.parse(t).ok());
    let values: Vec<Value> = rows
        .into_iter()
        .map(|(value, count, label)| {
            let selected = chosen.as_ref() == Some(&value);
            let json = to_json(f.ty, value);
            let text = match &json {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
            let url = text.as_ref().map(|t| {
                if selected {
                    req.url_with(None, &[&f.param, "page", "after"])
                } else {
                    req.url_with(Some((&f.param, t)), &["page", "after"])
                }
            });
            let mut v = Map::new();
            v.insert("value".into(), json);
            v.insert(
                "label".into(),
                label.or(text).map_or(Value::Null, Value::String),
            );
            v.insert("count".into(), count.map_or(Value::Null, Value::from));
            v.insert("selected".into(), selected.into());
            v.insert("toggle_url".into(), url.map_or(Value::Null, Value::String));
            Value::Object(v)
        })
        .collect();
    serde_json::json!({
        "field": f.field,
        "param": f.param,
        "values": values,
        "more": more,
        "chosen": chosen.is_some(),
        "all_url": req.url_with(None, &[&f.param, "page", "after"]),
    })
}
