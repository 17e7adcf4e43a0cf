//! `view: list` — Django's ListView: a page of a model's rows, filtered (`where:`, with the
//! path's captures, and query parameters), searched, ordered and paginated (page numbers as
//! Django's `Paginator`, or keyset pages for very large tables), as HTML or JSON, with the
//! archive's periods and their counts (`dates:`, Django's `dates()`). Compiled at load from the
//! route's keys; every value from a request reaches SQL through `db::query` as a bound
//! parameter.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::csv::CsvSpec;
use super::error::ViewError;
use super::facets::{self, FacetSpec, Mode};
use super::fields::{
    capture_name, compile_order, resolve_path, FieldPath, ModelOutput, SchemaNeeds,
};
use super::paginate::{python_int, uncounted_page, Counted, Page};
use super::request::{Request, Response};
use super::Call;
use crate::config::diagnostic::suggestion;
use crate::config::raw::{
    DateKind, FieldType, Format, Lookup, PageStyle, RawRoute, RawSearch, SortOrder,
};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::{Cond, DatePart, Query};
use crate::db::{Database, Model, Models, Order, SqlValue};
use crate::routing::Params;

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

/// `dates:`: the periods of a date or datetime column that the list's rows fall in.
#[derive(Debug)]
pub struct DatesSpec {
    pub column: String,
    pub part: DatePart,
    pub desc: bool,
}

/// A compiled `view: list`.
#[derive(Debug)]
pub struct ListView {
    pub out: ModelOutput,
    pub paginate_by: Option<u32>,
    pub allow_empty: bool,
    pub count: bool,
    pub keyset: bool,
    pub ordering: Vec<Order>,
    pub ordering_fields: Vec<String>,
    pub search: Option<SearchSpec>,
    pub filters: Vec<FilterSpec>,
    pub dates: Option<DatesSpec>,
    /// `format: csv`: every row, streamed (see `csv`).
    pub csv: Option<CsvSpec>,
    /// `facets:`: each field's values counted over the filtered list (see `facets`).
    pub facets: Vec<FacetSpec>,
    /// One of the admin's lists: its facets list every choice, counted only when asked
    /// (`_facets`); its query goes with the links to the rows' pages, and a page past the last
    /// shows the last.
    admin_list: bool,
    /// The admin's list: its table's cells, prepared as `rows` (see `admin::Cells`).
    pub admin_cells: Option<crate::admin::Cells>,
    /// `pages: path`: pages 2 on at `…/page/N/` (the `page` capture of the route `pages: path`
    /// adds), `?page=` ignored.
    pub path_pages: bool,
}

/// `pages: path`: what the route it adds appends to the list's path (which ends in `/`) for
/// pages 2 on.
pub const PAGE_SUFFIX: &str = "page/<int:page>/";

/// The path of page `number` of the list at `base` (its own path, ending in `/`):
/// [`PAGE_SUFFIX`] with the number, `/blog/` → `/blog/page/2/`.
pub fn page_path(base: &str, number: i64) -> String {
    let page = PAGE_SUFFIX.replace("<int:page>", &number.to_string());
    format!("{base}{page}")
}

/// The list's own path from the path of one of its pages 2 on (which the route of
/// [`PAGE_SUFFIX`] matched): `/blog/page/3/` → `/blog/`.
fn list_path(page_path: &str) -> String {
    let segments = PAGE_SUFFIX.matches('/').count();
    let trimmed = page_path.trim_end_matches('/');
    let base = trimmed.rsplitn(segments + 1, '/').nth(segments);
    format!("{}/", base.unwrap_or_default())
}

impl ListView {
    /// Compile a list route; `captures` are the names its path captures, each of which its
    /// `where:` must use.
    pub fn compile(
        raw: &RawRoute,
        models: &Models,
        source: &Source,
        at: &str,
        captures: &[String],
        needs: &mut SchemaNeeds,
    ) -> Result<ListView, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let out = ModelOutput::compile(raw, models, source, at, "list", captures, &mut errors);
        let Some(out) = out else {
            return Err(errors);
        };
        check_captures_used(raw, captures, source, at, &mut errors);
        let model = out.model.clone();
        let ordering = match &raw.ordering {
            Some(keys) => {
                compile_order(&model, keys, source, &format!("{at}.ordering"), &mut errors)
            }
            None => model.ordering.clone(),
        };
        // Index the static filters' columns followed by the ordering, so that the page is read in
        // order from the index and the count is taken from it, whatever the table's size.
        index_filters_then_ordering(raw, models, &model, &ordering, needs);
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
        let ordering_fields = compile_ordering_fields(raw, &model, source, at, needs, &mut errors);
        let search = raw
            .search
            .as_ref()
            .map(|s| compile_search(s, &model, source, at, needs, &mut errors));
        let mut filters = compile_filters(raw, models, &model, source, at, needs, &mut errors);
        let (facets, added) =
            facets::compile(raw, models, &model, &filters, source, at, &mut errors);
        filters.extend(added);
        for index in facets.iter().filter_map(|f| f.index(&model)) {
            needs.indexes.push((model.name.clone(), vec![index]));
        }
        let dates = compile_dates(raw, &model, source, at, needs, &mut errors);
        let csv = (raw.format == Some(Format::Csv))
            .then(|| CsvSpec::compile(raw, models, &model, source, at, &mut errors));
        let path_pages = raw.pages == Some(PageStyle::Path);
        if path_pages && (keyset || raw.paginate_by.is_none()) {
            errors.push(source.diag(
                &format!("{at}.pages"),
                "`pages: path` needs `paginate_by`, and numbered pages (not `keyset`)",
            ));
        }
        if raw.paginate_by == Some(0) {
            errors.push(source.diag(
                &format!("{at}.paginate_by"),
                "paginate_by must be at least 1",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ListView {
            out,
            paginate_by: raw.paginate_by,
            allow_empty: raw.allow_empty.unwrap_or(true),
            count: raw.count.unwrap_or(true),
            keyset,
            ordering,
            ordering_fields,
            search,
            filters,
            dates,
            csv,
            facets,
            admin_list: raw.admin_list,
            admin_cells: raw
                .admin_list
                .then(|| crate::admin::Cells::of(raw))
                .flatten(),
            path_pages,
        })
    }

    /// Answer a request: the page of rows it asks for, or why not.
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let db = ctx
            .db
            .ok_or_else(|| ViewError::Internal("a list view without a database".into()))?;
        let req = call.req;
        let term = self.search_term(req);
        let limits = &ctx.settings.limits;
        if term.chars().count() > limits.search_chars as usize {
            return Err(ViewError::BadRequest(format!(
                "the search term is longer than {} (site.limits.search_chars)",
                crate::config::diagnostic::count(limits.search_chars, "character", "characters")
            )));
        }
        let mut q = self.query(req, call.params, &term)?;
        if let Some(csv) = &self.csv {
            return csv.first(db, &call, q);
        }
        let facets = if self.facets.is_empty() {
            None
        } else {
            let mode = match self.admin_list {
                false => Mode::Counted,
                true => Mode::Listed {
                    counts: req.last(facets::COUNTS_PARAM).is_some(),
                },
            };
            // A listed facet counts over the list filtered by everything but itself.
            let without = |param: &str| {
                let mut r = req.clone();
                r.pairs.retain(|(k, _)| k != param);
                self.query(&r, call.params, &term)
            };
            Some(facets::show(
                &self.facets,
                db,
                &q,
                without,
                req,
                &call,
                mode,
            )?)
        };
        let dates = match &self.dates {
            Some(d) => Some(dates_list(
                &db.dates(&q, &d.column, d.part, d.desc)
                    .map_err(|e| call.db(e))?,
            )),
            None => None,
        };
        let (mut rows, page) = match self.paginate_by {
            None => {
                // An unpaginated list shows its first `list_rows` rows, never a whole table.
                q.limit = Some(limits.list_rows.into());
                (db.fetch(&q).map_err(|e| call.db(e))?, None)
            }
            Some(per) => {
                let (rows, page) = self.page(db, req, &mut q, i64::from(per), &call)?;
                (rows, Some(page))
            }
        };
        if rows.is_empty() && !self.allow_empty {
            return Err(ViewError::NotFound);
        }
        let model = self.out.model.as_ref();
        let page = page.map(|p| p.to_map()).unwrap_or_default();
        if self.out.json {
            let mut body = self.json_body(self.out.shape.rows(rows), &page);
            if let Some(dates) = dates {
                body.insert("dates".into(), dates);
            }
            if let Some(facets) = facets {
                body.insert("facets".into(), facets);
            }
            return Ok(Response::json(self.out.status, &Value::Object(body)));
        }
        self.out.enrich(model, &mut rows);
        let mut extra = Map::new();
        if let Some(dates) = dates {
            extra.insert("dates".into(), dates);
        }
        if let Some(facets) = facets {
            extra.insert("facets".into(), facets);
            if self.admin_list {
                extra.insert("facet_counts".into(), facets::counts_link(req));
            }
        }
        if let Some(cells) = &self.admin_cells {
            extra.insert("rows".into(), cells.rows(&rows));
        }
        let objects = Value::Array(rows.into_iter().map(Value::Object).collect());
        extra.insert("objects".into(), objects);
        extra.insert(
            "is_paginated".into(),
            page.get("has_other_pages")
                .cloned()
                .unwrap_or(Value::Bool(false)),
        );
        extra.insert("page".into(), Value::Object(page));
        extra.insert("search".into(), term.into());
        if !self.ordering_fields.is_empty() {
            extra.insert("ordering".into(), self.ordering_links(req));
        }
        if self.admin_list {
            crate::admin::filters::context(req, true, &mut extra);
        }
        self.out.render(ctx, call, extra)
    }

    /// The search term the request gives, trimmed (empty when none).
    pub(super) fn search_term(&self, req: &Request) -> String {
        self.search
            .as_ref()
            .and_then(|s| req.last(&s.param))
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    }

    /// The query for this request's rows: the route's conditions (the path's captures in
    /// place) and ordering, then the request's `?ordering=`, search `term` and filters. A
    /// filter value of the wrong type is a 400 naming the parameter.
    pub(super) fn query(
        &self,
        req: &Request,
        params: &Params,
        term: &str,
    ) -> Result<Query<'_>, ViewError> {
        let model = self.out.model.as_ref();
        let mut q = Query::new(model);
        q.conds = self.out.conds(params);
        q.order = self.ordering.clone();
        q.many = self.out.many;
        if let Some(order) = self.requested_ordering(req) {
            q.order = order;
        }
        // No stored text holds a NUL, and SQLite would cut a pattern at it: no rows.
        let nothing = || Cond::In {
            column: model.pk_field().column.clone(),
            values: Vec::new(),
        };
        if let Some(s) = &self.search {
            if term.contains('\0') {
                q.conds.push(nothing());
            } else if !term.is_empty() {
                q.conds.push(if s.fts {
                    Cond::Fts {
                        table: model.table.clone(),
                        pk: model.pk_field().column.clone(),
                        term: term.to_string(),
                    }
                } else {
                    Cond::Search {
                        columns: s.columns.clone(),
                        term: term.to_string(),
                    }
                });
            }
        }
        for f in &self.filters {
            let is_in = f.path.lookup == Lookup::In;
            let raw: Vec<&str> = if is_in {
                req.values(&f.param)
            } else {
                req.last(&f.param).into_iter().collect()
            };
            let texts: Vec<&str> = raw
                .iter()
                .flat_map(|r| {
                    if is_in {
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
            if texts.iter().any(|t| t.contains('\0')) {
                q.conds.push(nothing());
                continue;
            }
            let values = texts
                .into_iter()
                .map(|t| f.path.parse(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| {
                    ViewError::BadRequest(format!("query parameter `{}`: {why}", f.param))
                })?;
            q.conds.push(f.path.cond(values));
        }
        Ok(q)
    }

    /// `?ordering=-title,name`, limited to the declared fields; anything else is ignored.
    fn requested_ordering(&self, req: &Request) -> Option<Vec<Order>> {
        if self.ordering_fields.is_empty() {
            return None;
        }
        let keys: Vec<String> = req
            .last("ordering")?
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        let allowed = keys.iter().all(|k| {
            self.ordering_fields
                .iter()
                .any(|f| f == k.trim_start_matches('-'))
        });
        let uniform = keys
            .iter()
            .all(|k| k.starts_with('-') == keys[0].starts_with('-'));
        // Keyset pages need every key in one direction.
        if keys.is_empty() || !allowed || (self.keyset && !uniform) {
            return None;
        }
        self.out.model.parse_ordering(&keys).ok()
    }

    /// `ordering` in a template's context: for each of `ordering_fields`, the direction the
    /// page is sorted by it (`asc`, `desc` or `""`) and the URLs that sort by it each way and
    /// the other way from now (`toggle_url`), the other query parameters kept, back to page 1.
    fn ordering_links(&self, req: &Request) -> Value {
        let current = self
            .requested_ordering(req)
            .and_then(|_| req.last("ordering"))
            .unwrap_or_default()
            .to_string();
        let first = current.split(',').next().unwrap_or_default().trim();
        let mut fields = Map::new();
        for name in &self.ordering_fields {
            let dir = if first == name {
                "asc"
            } else if first.strip_prefix('-') == Some(name) {
                "desc"
            } else {
                ""
            };
            let url = |key: &str| req.url_with(Some(("ordering", key)), &["page", "after"]);
            let desc = format!("-{name}");
            let toggle = if dir == "asc" {
                desc.as_str()
            } else {
                name.as_str()
            };
            fields.insert(
                name.clone(),
                serde_json::json!({
                    "dir": dir,
                    "asc_url": url(name),
                    "desc_url": url(&desc),
                    "toggle_url": url(toggle),
                }),
            );
        }
        serde_json::json!({"current": current, "fields": fields})
    }

    /// One page of rows and its place: numbered as Django's `Paginator`, or keyset pages
    /// (`?after=PK`) that only go forward.
    fn page(
        &self,
        db: &Database,
        req: &Request,
        q: &mut Query,
        per: i64,
        call: &Call,
    ) -> Result<(Vec<Map<String, Value>>, Page), ViewError> {
        let model = self.out.model.as_ref();
        let mut number: i64 = 1;
        let mut counted = None;
        let mut after_pk = None;
        if self.keyset {
            if let Some(after) = req.last("after") {
                let pk = model.pk_field();
                let value = match pk.ty {
                    FieldType::Integer => SqlValue::Integer(
                        after
                            .trim()
                            .parse::<i64>()
                            .map_err(|_| ViewError::NotFound)?,
                    ),
                    _ => SqlValue::Text(after.to_string()),
                };
                // The cursor must be a row this route shows; a hidden row is as absent. The
                // rows after it are found by the values it holds in the ordering's keys.
                let mut cursor = Query::new(model);
                cursor.conds = self.out.conds(call.params);
                cursor.conds.push(Cond::Cmp {
                    column: pk.column.clone(),
                    lookup: Lookup::Exact,
                    value,
                });
                cursor.order = q.order.clone();
                let after_cursor = db.beyond_first(&cursor).map_err(|e| call.db(e))?;
                q.conds.push(after_cursor.ok_or(ViewError::NotFound)?);
                after_pk = Some(after.to_string());
            }
        } else {
            let from_path = call.params.get("page").map(|v| v.to_string());
            let asked = match (self.path_pages, &from_path) {
                // Page 1 has one URL: the list's own.
                (true, Some(n)) if n == "1" => return Err(ViewError::NotFound),
                (true, _) => from_path.as_deref(),
                (false, _) => req.last("page"),
            };
            if self.count {
                let c = Counted {
                    count: db.count(q).map_err(|e| call.db(e))?,
                    per_page: per,
                    allow_empty: self.allow_empty,
                };
                number = match c.page(asked) {
                    Some(n) => n,
                    // The admin's list, asked for a page past its last (its rows were deleted
                    // or edited out of the filter, and the kept query leads back here): the
                    // last page, not a 404 after a save.
                    None if self.admin_list
                        && asked.is_some_and(|p| python_int(p).is_ok_and(|n| n > 1)) =>
                    {
                        c.num_pages().max(1)
                    }
                    None => return Err(ViewError::NotFound),
                };
                counted = Some(c);
            } else {
                number = uncounted_page(asked).ok_or(ViewError::NotFound)?;
            }
        }
        q.limit = Some(per + 1);
        q.offset = (number - 1).saturating_mul(per);
        let mut rows = db.fetch(q).map_err(|e| call.db(e))?;
        let has_next = rows.len() as i64 > per;
        rows.truncate(per as usize);
        if rows.is_empty() && (number > 1 || after_pk.is_some()) {
            return Err(ViewError::NotFound);
        }
        let has_previous = if self.keyset {
            after_pk.is_some()
        } else {
            number > 1
        };
        let next_url = has_next.then(|| {
            if self.keyset {
                let last = rows
                    .last()
                    .and_then(|r| r.get(&model.pk_field().column))
                    .map(crate::render::helpers::text)
                    .unwrap_or_default();
                req.url_with(Some(("after", &last)), &["page"])
            } else {
                self.page_url(req, call.params, number + 1)
            }
        });
        let page = Page {
            number: (!self.keyset).then_some(number),
            per_page: per,
            has_next,
            has_previous,
            counted,
            next_url,
            previous_url: (has_previous && !self.keyset)
                .then(|| self.page_url(req, call.params, number - 1)),
            first_url: (self.keyset && has_previous)
                .then(|| req.url_with(None, &["after", "page"])),
        };
        Ok((rows, page))
    }

    /// The URL of page `number` of the list this request shows, its other query parameters
    /// kept: `?page=N`, or with `pages: path` `…/page/N/` (page 1 the list's own URL).
    fn page_url(&self, req: &Request, params: &Params, number: i64) -> String {
        if !self.path_pages {
            return req.url_with(Some(("page", &number.to_string())), &["after"]);
        }
        let mut path = req.path.clone();
        if params.contains_key("page") {
            path = list_path(&path);
        }
        if number > 1 {
            path = page_path(&path, number);
        }
        req.url_at(&path, None, &["page", "after"])
    }

    /// The JSON list: `results`, and with pagination `count`, `num_pages`, `page`, `next`,
    /// `previous`.
    fn json_body(&self, objects: Value, page: &Map<String, Value>) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("results".into(), objects);
        if self.paginate_by.is_some() {
            let get = |key: &str| page.get(key).cloned().unwrap_or(Value::Null);
            body.insert("count".into(), get("count"));
            body.insert("num_pages".into(), get("num_pages"));
            body.insert("page".into(), get("number"));
            body.insert("next".into(), get("next_url"));
            body.insert("previous".into(), get("previous_url"));
        }
        body
    }
}

/// Index the `where:` columns compared exactly (a literal or a capture alike) followed by the
/// ordering, so that the page is read in order from the index and the count is taken from it,
/// whatever the table's size. A date column compared by year (a range) gets an index after
/// those columns, unless the ordering's index already starts with it.
fn index_filters_then_ordering(
    raw: &RawRoute,
    models: &Models,
    model: &Model,
    ordering: &[Order],
    needs: &mut SchemaNeeds,
) {
    let paths: Vec<FieldPath> = raw
        .where_
        .iter()
        .flatten()
        .filter_map(|(key, _)| resolve_path(models, model, key, None).ok())
        .filter(|p| p.hops.is_empty())
        .collect();
    let mut keys: Vec<Order> = paths
        .iter()
        .filter(|p| p.lookup == Lookup::Exact && p.transform.is_none())
        .map(|p| Order::asc(&p.field))
        .collect();
    let equal = keys.clone();
    for p in paths.iter().filter(|p| p.transform.is_some()) {
        let ordered = ordering.first().is_some_and(|o| o.column == p.field.column);
        let mut range = equal.clone();
        range.push(Order::asc(&p.field));
        if !ordered && !needs.indexes.contains(&(model.name.clone(), range.clone())) {
            needs.indexes.push((model.name.clone(), range));
        }
    }
    if raw.ordering.is_some() || !keys.is_empty() {
        keys.extend(ordering.iter().cloned());
        if !keys.is_empty() {
            needs.indexes.push((model.name.clone(), keys));
        }
    }
}

/// Each capture of a list route's path must filter its rows: a capture the list ignored would
/// show every page the same rows. (A `where:` value naming it counts, even one in error: that
/// error is reported on its own.)
fn check_captures_used(
    raw: &RawRoute,
    captures: &[String],
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let key = if raw.path.is_some() { "path" } else { "regex" };
    let used: Vec<&str> = raw
        .where_
        .iter()
        .flatten()
        .filter_map(|(_, v)| capture_name(v).ok())
        .collect();
    // A name that is no capture (a typo) is reported with a did-you-mean already.
    if used.iter().any(|u| !captures.iter().any(|c| c == u)) {
        return;
    }
    for name in captures {
        if !used.contains(&name.as_str()) {
            errors.push(
                source
                    .diag(
                        &format!("{at}.{key}"),
                        format!("the path captures `{name}`, but the list does not use it"),
                    )
                    .with_hint(Some(format!(
                        "filter the rows with it: `where: {{ FIELD: \"{{{name}}}\" }}`"
                    ))),
            );
        }
    }
}

/// A field name the model does not have, with the closest it has.
fn no_field(source: &Source, at: &str, model: &Model, name: &str) -> Diagnostic {
    source
        .diag(at, format!("model {} has no field `{name}`", model.name))
        .with_hint(suggestion(name, model.field_names()))
}

/// `dates:` — a date or datetime field of the model, its column indexed.
fn compile_dates(
    raw: &RawRoute,
    model: &Model,
    source: &Source,
    at: &str,
    needs: &mut SchemaNeeds,
    errors: &mut Vec<Diagnostic>,
) -> Option<DatesSpec> {
    let d = raw.dates.as_ref()?;
    let here = format!("{at}.dates.field");
    let Some(field) = model.field(&d.field) else {
        errors.push(no_field(source, &here, model, &d.field));
        return None;
    };
    if !matches!(field.ty, FieldType::Date | FieldType::Datetime) {
        errors.push(source.diag(
            &here,
            format!(
                "`{}` of {} is not a date or datetime field",
                field.name, model.name
            ),
        ));
        return None;
    }
    if !field.index && !field.unique {
        needs
            .indexes
            .push((model.name.clone(), vec![Order::asc(field)]));
    }
    Some(DatesSpec {
        column: field.column.clone(),
        part: match d.kind {
            DateKind::Year => DatePart::Year,
            DateKind::Month => DatePart::Month,
            DateKind::Day => DatePart::Day,
        },
        desc: d.order == Some(SortOrder::Desc),
    })
}

/// The periods as a template (or JSON) sees them: `2024-03` is
/// `{date: "2024-03-01", year: 2024, month: 3, day: 1, count: 12}`.
fn dates_list(periods: &[(String, i64)]) -> Value {
    let list = periods.iter().map(|(period, count)| {
        let num = |range: std::ops::Range<usize>| {
            period.get(range).map_or(Some(1), |t| t.parse::<i64>().ok())
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        let date = match (year, month, day) {
            (Some(y), Some(m), Some(d)) => Value::from(format!("{y:04}-{m:02}-{d:02}")),
            _ => Value::Null,
        };
        serde_json::json!({"date": date, "year": year, "month": month, "day": day, "count": count})
    });
    Value::Array(list.collect())
}

/// The fields `?ordering=` may name, each indexed.
fn compile_ordering_fields(
    raw: &RawRoute,
    model: &Model,
    source: &Source,
    at: &str,
    needs: &mut SchemaNeeds,
    errors: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut out = Vec::new();
    for f in raw.ordering_fields.iter().flatten() {
        match model.field(f) {
            Some(field) => {
                out.push(field.name.clone());
                needs
                    .indexes
                    .push((model.name.clone(), vec![Order::asc(field)]));
            }
            None if model.many_field(f).is_some() => errors.push(source.diag(
                &format!("{at}.ordering_fields"),
                model.not_a_column(f, "order by").unwrap_or_default(),
            )),
            None => errors.push(no_field(source, &format!("{at}.ordering_fields"), model, f)),
        }
    }
    out
}

/// `search:` — the text columns searched, and a full-text index when `fts` asks for one.
fn compile_search(
    s: &RawSearch,
    model: &Model,
    source: &Source,
    at: &str,
    needs: &mut SchemaNeeds,
    errors: &mut Vec<Diagnostic>,
) -> SearchSpec {
    let mut columns = Vec::new();
    for f in &s.fields {
        match model.field(f) {
            Some(field) if field.is_text() => columns.push(field.column.clone()),
            Some(_) => errors.push(source.diag(
                &format!("{at}.search.fields"),
                format!("`{f}` of {} is not a text field", model.name),
            )),
            None if model.many_field(f).is_some() => errors.push(source.diag(
                &format!("{at}.search.fields"),
                model.not_a_column(f, "search").unwrap_or_default(),
            )),
            None => errors.push(no_field(source, &format!("{at}.search.fields"), model, f)),
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
}

/// `filters:` — query parameters resolved to field paths; a filtered column of this model is
/// indexed.
fn compile_filters(
    raw: &RawRoute,
    models: &Models,
    model: &Model,
    source: &Source,
    at: &str,
    needs: &mut SchemaNeeds,
    errors: &mut Vec<Diagnostic>,
) -> Vec<FilterSpec> {
    let mut filters = Vec::new();
    for (param, f) in raw.filters.iter().flatten() {
        let key = f.field.clone().unwrap_or_else(|| param.clone());
        match resolve_path(models, model, &key, f.lookup) {
            Ok(path) => {
                if path.hops.is_empty() && !path.field.primary_key {
                    needs
                        .indexes
                        .push((model.name.clone(), vec![Order::asc(&path.field)]));
                }
                filters.push(FilterSpec {
                    param: param.clone(),
                    path,
                });
            }
            Err(why) => errors.push(source.diag(&format!("{at}.filters.{param}"), why)),
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_path_and_its_list_path_are_each_others_inverse() {
        assert_eq!(page_path("/blog/", 2), "/blog/page/2/");
        assert_eq!(page_path("/", 10), "/page/10/");
        assert_eq!(list_path("/blog/page/2/"), "/blog/");
        assert_eq!(list_path("/a/b/page/03/"), "/a/b/");
        assert_eq!(list_path("/page/2/"), "/");
    }
}
