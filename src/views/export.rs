//! What `trellis build` asks the site for: every URL a GET reaches without user input, found
//! route by route from the compiled views — a route without captures once; a detail route
//! once per row (its captures are the row's fields, as the sitemap reverses them); a list
//! filtered by captures once per value its rows (or the related rows it filters through)
//! hold; every page of a list with `pages: path`; a capture whose converter lists its values
//! once per value; `export: { values: … }` as declared. What cannot be written (another
//! method, `?page=`, a search) is said, route by route.
//!
//! Only URLs come out of here: each page is then answered by `Site::handle`, as `serve`
//! answers it, so there is no second renderer. Rows are read through `db`'s `Query`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::context::Ctx;
use super::fields::Captured;
use super::list::ListView;
use super::{Endpoint, Export, View};
use crate::db::query::Query;
use crate::db::{DbError, Model};
use crate::routing::{Args, Params, Part, Router};

/// What the build does with one route.
#[derive(Debug, Default)]
pub struct RoutePlan {
    /// The route's pattern, as `trellis routes` shows it.
    pub pattern: String,
    /// The URLs to ask for (quoted, as links hold them), in order.
    pub urls: Vec<String>,
    /// Why the route is not written at all.
    pub skipped: Option<String>,
    /// What of it is not written, and why (a search, `?page=` pages).
    pub notes: Vec<String>,
}

/// Why a route has no URLs: it cannot have any, or reading its rows failed (the build fails).
enum Why {
    Skip(String),
    Failed(String),
}

impl From<String> for Why {
    fn from(why: String) -> Why {
        Why::Skip(why)
    }
}

impl From<DbError> for Why {
    fn from(e: DbError) -> Why {
        Why::Failed(e.to_string())
    }
}

/// The plan of every route, in the router's order (the routes `pages: path` adds are planned
/// with their list); the error says which route's rows could not be read.
pub fn plan(ctx: &Ctx, endpoints: &[Endpoint]) -> Result<Vec<RoutePlan>, String> {
    let mut plans = Vec::new();
    for (index, e) in endpoints.iter().enumerate() {
        if e.page_route {
            continue;
        }
        let mut p = RoutePlan {
            pattern: ctx.router.pattern(index).display(),
            ..RoutePlan::default()
        };
        match plan_route(ctx, e, index, &mut p) {
            Ok(()) => {}
            Err(Why::Skip(why)) => {
                p.urls.clear();
                p.skipped = Some(why);
            }
            Err(Why::Failed(why)) => return Err(format!("{}: {why}", p.pattern)),
        }
        notes(e, &mut p);
        plans.push(p);
    }
    Ok(plans)
}

/// The URLs of one route, or why it has none.
fn plan_route(ctx: &Ctx, e: &Endpoint, index: usize, p: &mut RoutePlan) -> Result<(), Why> {
    let router = ctx.router;
    if matches!(e.export, Export::Off) {
        return Err(Why::Skip("`export: false`".into()));
    }
    if !e.allows("GET") {
        let methods: Vec<&str> = e
            .allow
            .iter()
            .copied()
            .filter(|m| *m != "OPTIONS")
            .collect();
        return Err(Why::Skip(format!(
            "answers {} only; a static host answers GET",
            methods.join(", ")
        )));
    }
    if e.auth.login || matches!(e.view, View::Login(_)) {
        return Err(Why::Skip(
            "needs sign-in, which a static host cannot do".into(),
        ));
    }
    if matches!(e.view, View::NotFound) {
        return Err(Why::Skip(
            "a not_found route (the 404 page is written as 404.html)".into(),
        ));
    }
    let captures = router.pattern(index).param_names();
    let args: Vec<Params> = match (&e.export, &e.view) {
        (Export::Values(values), _) => values.clone(),
        _ if captures.is_empty() => vec![Params::new()],
        (_, View::Detail(v)) => {
            let link =
                super::links::RowLink::to_route(router, index, &v.out.model).map_err(|why| {
                    format!("{why}; declare its values with `export: {{ values: […] }}`")
                })?;
            let columns: Vec<&str> = link.columns().collect();
            let rows = fetch_all(ctx, &v.out.model, v.out.wheres.clone(), &columns)?;
            for row in &rows {
                match link.path(router, row) {
                    Ok(url) => p.urls.push(url),
                    Err(why) => p.notes.push(format!("a row is left out: {why}")),
                }
            }
            return Ok(());
        }
        (_, View::List(v)) => list_values(ctx, v)?,
        _ => converter_values(router, index).ok_or_else(|| {
            format!(
                "its captures ({}) take values no row or converter lists; declare them with \
                 `export: {{ values: […] }}`, or leave it out with `export: false`",
                captures.join(", ")
            )
        })?,
    };
    for a in &args {
        match router.reverse_index(index, Args::Named(a)) {
            Some(Ok(url)) => p.urls.push(url),
            Some(Err(why)) => p.notes.push(format!("a value is left out: {why}")),
            None => return Err(Why::Skip("its URL cannot be made from its captures".into())),
        }
    }
    if let View::List(v) = &e.view {
        let bases = std::mem::take(&mut p.urls);
        for url in bases {
            list_pages(ctx, v, url, p)?;
        }
    }
    Ok(())
}

/// A list URL and, with `pages: path`, its pages 2 on; a list its rows leave empty is not
/// written when the list answers 404 for it (`allow_empty: false`).
fn list_pages(ctx: &Ctx, v: &ListView, url: String, p: &mut RoutePlan) -> Result<(), Why> {
    let Some(per) = v.paginate_by else {
        p.urls.push(url);
        return Ok(());
    };
    let decoded = super::decode_path(&url).map_err(|why| Why::Skip(why.to_string()))?;
    let Some(m) = ctx
        .router
        .resolve(decoded.strip_prefix('/').unwrap_or(&decoded))
    else {
        return Ok(());
    };
    let mut q = Query::new(&v.out.model);
    q.conds = v.out.conds(&m.params);
    q.many = false;
    let count = ctx.db.map_or(Ok(0), |db| db.count(&q))?;
    if count == 0 && !v.allow_empty {
        return Ok(());
    }
    let pages = super::paginate::Counted {
        count,
        per_page: i64::from(per),
        allow_empty: v.allow_empty,
    }
    .num_pages();
    p.urls.push(url.clone());
    if pages > 1 && !v.path_pages {
        let what = if v.keyset { "`?after=`" } else { "`?page=`" };
        p.notes.push(format!(
            "{url}: only page 1 of {pages} is written (its other pages are {what}; \
             `pages: path` gives them paths)"
        ));
    } else if v.path_pages {
        for n in 2..=pages {
            p.urls.push(super::list::page_path(&url, n));
        }
    }
    Ok(())
}

/// What a route takes from a request that a static file cannot: said once per route.
fn notes(e: &Endpoint, p: &mut RoutePlan) {
    if p.skipped.is_some() {
        return;
    }
    let names: Vec<&str> = e.query.params.keys().map(String::as_str).collect();
    if !names.is_empty() {
        p.notes.push(format!(
            "written with its query parameters' defaults only ({})",
            names.join(", ")
        ));
    }
    if let View::List(v) = &e.view {
        if let Some(s) = &v.search {
            p.notes
                .push(format!("search results (`?{}=`) are not written", s.param));
        }
        if !v.filters.is_empty() {
            let params: Vec<&str> = v.filters.iter().map(|f| f.param.as_str()).collect();
            p.notes.push(format!(
                "filtered pages (`?{}=`) are not written",
                params.join("=`, `?")
            ));
        }
        if !v.ordering_fields.is_empty() {
            p.notes
                .push("other orderings (`?ordering=`) are not written".into());
        }
    }
}

/// The values of a list's captures: for a capture of the list's own field, each value its
/// rows hold (a date's year or month as the `where:` takes it); for one through a foreign key
/// or many-to-many field, each value of the related model's rows.
fn list_values(ctx: &Ctx, v: &ListView) -> Result<Vec<Params>, Why> {
    let mut captured: Vec<&Captured> = Vec::new();
    for c in &v.out.captured {
        if !captured.iter().any(|d| d.capture == c.capture) {
            captured.push(c);
        }
    }
    let (own, related): (Vec<&Captured>, Vec<&Captured>) = captured
        .into_iter()
        .partition(|c| c.path.target_table().is_none());
    let mut tuples: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut combos: Vec<Params> = vec![Params::new()];
    if !own.is_empty() {
        let columns: Vec<&str> = own.iter().map(|c| c.path.field.column.as_str()).collect();
        for row in fetch_all(ctx, &v.out.model, v.out.wheres.clone(), &columns)? {
            let values: Vec<Value> = own.iter().map(|c| captured_value(c, &row)).collect();
            if values.iter().any(Value::is_null) {
                continue;
            }
            tuples.insert(values.iter().map(Value::to_string).collect());
        }
        combos = tuples
            .iter()
            .map(|t| {
                own.iter()
                    .zip(t)
                    .map(|(c, v)| {
                        let value = serde_json::from_str(v).unwrap_or(Value::Null);
                        (c.capture.clone(), value)
                    })
                    .collect()
            })
            .collect();
    }
    for c in related {
        let table = c.path.target_table().unwrap_or_default();
        let Some(model) = models(ctx).find(|m| m.table == table) else {
            return Err(Why::Failed(format!("no model has the table `{table}`")));
        };
        let mut values: BTreeSet<String> = BTreeSet::new();
        let columns = [c.path.field.column.as_str()];
        for row in fetch_all(ctx, &model, Vec::new(), &columns)? {
            let v = captured_value(c, &row);
            if !v.is_null() {
                values.insert(v.to_string());
            }
        }
        let mut next = Vec::new();
        for combo in &combos {
            for v in &values {
                let mut with = combo.clone();
                let value = serde_json::from_str(v).unwrap_or(Value::Null);
                with.insert(c.capture.clone(), value);
                next.push(with);
            }
        }
        combos = next;
    }
    Ok(combos)
}

/// The value a row gives a capture: its field, or the year, month or day of a date.
fn captured_value(c: &Captured, row: &Map<String, Value>) -> Value {
    let v = row
        .get(&c.path.field.column)
        .cloned()
        .unwrap_or(Value::Null);
    let Some(part) = c.path.transform else {
        return v;
    };
    let text = v.as_str().unwrap_or_default();
    let range = match part {
        crate::db::query::DatePart::Year => 0..4,
        crate::db::query::DatePart::Month => 5..7,
        crate::db::query::DatePart::Day => 8..10,
    };
    text.get(range)
        .and_then(|t| t.parse::<i64>().ok())
        .map_or(Value::Null, Value::from)
}

/// Every combination of the values of a route's captures, when each capture's converter
/// lists its values (`converters: { lang: { values: [en, fr] } }`).
fn converter_values(router: &Router, index: usize) -> Option<Vec<Params>> {
    let mut combos = vec![Params::new()];
    for part in &router.pattern(index).parts {
        let Part::Param { name, converter } = part else {
            if matches!(part, Part::Regex { .. }) {
                return None;
            }
            continue;
        };
        let values = converter.values.as_ref()?;
        combos = combos
            .iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut with = c.clone();
                    with.insert(name.clone(), Value::from(v.clone()));
                    with
                })
            })
            .collect();
    }
    Some(combos)
}

fn models<'a>(ctx: &'a Ctx) -> impl Iterator<Item = std::sync::Arc<Model>> + 'a {
    ctx.db
        .into_iter()
        .flat_map(|db| db.models.values().cloned())
}

/// The `columns` of every row of `model` meeting `conds`, in its ordering, keyed by column
/// (only those columns are read: a detail route's rows are kilobytes of body each).
fn fetch_all(
    ctx: &Ctx,
    model: &Model,
    conds: Vec<crate::db::query::Cond>,
    columns: &[&str],
) -> Result<Vec<Map<String, Value>>, Why> {
    let Some(db) = ctx.db else {
        return Ok(Vec::new());
    };
    let mut picks = Vec::new();
    for c in columns {
        let Some(field) = model.fields.iter().position(|f| f.column == *c) else {
            return Err(Why::Failed(format!("{} has no column `{c}`", model.name)));
        };
        picks.push(crate::db::query::Pick { via: None, field });
    }
    let mut q = Query::new(model);
    q.conds = conds;
    q.many = false;
    let rows = db.fetch_picked(&q, &picks)?;
    Ok(rows
        .into_iter()
        .map(|values| columns.iter().map(|c| c.to_string()).zip(values).collect())
        .collect())
}
