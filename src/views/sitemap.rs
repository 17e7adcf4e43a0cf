//! `view: sitemap` — the sitemap protocol (sitemaps.org 0.9): one `<url>` per HTML page of the
//! site without captures (template and list routes), then one per row of each HTML detail
//! route (its URL reversed with the row's fields, `<lastmod>` from the field its
//! `sitemap: { lastmod: … }` names). Absolute URLs come from `site.base_url`.
//!
//! A sitemap holds at most 50,000 URLs: past that the route answers a sitemap index naming
//! `?p=1`, `?p=2`, …, each a sitemap the same route answers. What the sitemap lists is worked
//! out once every route is compiled ([`link`]), since it reads the other routes.

use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::events::BytesText;
use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::links::{
    date_field, finish, instant, text, xml_response, xml_text, xml_writer, RowLink, XmlWriter,
    BASE_URL_HINT,
};
use super::request::{escape_uri_path, Response};
use super::{Call, CompileEnv, Endpoint, RouteDef, View};
use crate::config::raw::{FieldType, RawSitemap};
use crate::config::Diagnostic;
use crate::db::query::{Cond, Query};
use crate::db::{Database, DbError, Model};
use crate::routing::{Args, Params, Router};

/// The most URLs one sitemap file may hold (the protocol's limit).
pub const MAX_URLS: usize = 50_000;
pub const XML: &str = "application/xml; charset=utf-8";
const NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// The rows of one detail route.
#[derive(Debug)]
struct Rows {
    model: Arc<Model>,
    wheres: Vec<Cond>,
    link: RowLink,
    /// The column of `lastmod`, and whether it holds a date alone.
    lastmod: Option<(String, bool)>,
}

impl Rows {
    fn query(&self) -> Query<'_> {
        let mut q = Query::new(&self.model);
        q.conds = self.wheres.clone();
        // A URL and a date are made of fields, never of a many_to_many field.
        q.many = false;
        q
    }
}

/// What a sitemap lists, shared by every sitemap route of the site.
#[derive(Debug, Default)]
struct Listing {
    /// Paths of the pages without captures.
    pages: Vec<String>,
    rows: Vec<Rows>,
}

/// A compiled `view: sitemap`.
#[derive(Debug)]
pub struct SitemapView {
    base_url: String,
    listing: Arc<Listing>,
}

impl SitemapView {
    pub fn compile(r: &RouteDef, env: &CompileEnv, errors: &mut Vec<Diagnostic>) -> SitemapView {
        if env.base_url.is_none() {
            errors.push(
                r.source
                    .diag(
                        &r.at,
                        "view `sitemap` needs `site.base_url` for its absolute links",
                    )
                    .with_hint(Some(BASE_URL_HINT.into())),
            );
        }
        SitemapView {
            base_url: env.base_url.unwrap_or_default().to_string(),
            listing: Arc::default(),
        }
    }

    /// Answer a request: the sitemap, the index past 50,000 URLs, or page `?p=N` of it.
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let counts = match ctx.db {
            Some(db) => self
                .listing
                .rows
                .iter()
                .map(|r| db.count(&r.query()).map(|n| n as usize))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| call.db(e))?,
            None => Vec::new(),
        };
        let total = self.listing.pages.len() + counts.iter().sum::<usize>();
        let files = total.div_ceil(MAX_URLS).max(1);
        let page = match call.req.last("p") {
            None => None,
            Some(p) => Some(
                p.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=files).contains(n))
                    .ok_or(ViewError::NotFound)?,
            ),
        };
        let here = format!("{}{}", self.base_url, escape_uri_path(&call.req.path));
        let body = match page {
            None if files > 1 => index(&here, files),
            _ => {
                let first = (page.unwrap_or(1) - 1) * MAX_URLS;
                let urls = self.urls(ctx, first, &counts).map_err(|e| call.db(e))?;
                urlset(&urls)
            }
        };
        Ok(xml_response(XML, body.map_err(|e| call.internal(e))?))
    }

    /// Up to `MAX_URLS` URLs (and their lastmod) from the `first`-th on: the pages, then each
    /// detail route's rows in primary-key order.
    fn urls(
        &self,
        ctx: &Ctx,
        first: usize,
        counts: &[usize],
    ) -> Result<Vec<(String, Option<String>)>, DbError> {
        let mut out = Vec::new();
        let pages = &self.listing.pages;
        for path in pages.iter().skip(first).take(MAX_URLS) {
            out.push((format!("{}{path}", self.base_url), None));
        }
        let mut start = pages.len();
        for (rows, &count) in self.listing.rows.iter().zip(counts) {
            let end = start + count;
            let want = MAX_URLS - out.len();
            let from = first.max(start);
            if want > 0 && from < end {
                let mut q = rows.query();
                q.offset = (from - start) as i64;
                q.limit = Some(want.min(end - from) as i64);
                if let Some(db) = ctx.db {
                    self.add_rows(db, ctx.router, rows, &q, &mut out)?;
                }
            }
            start = end;
        }
        Ok(out)
    }

    fn add_rows(
        &self,
        db: &Database,
        router: &Router,
        rows: &Rows,
        q: &Query,
        out: &mut Vec<(String, Option<String>)>,
    ) -> Result<(), DbError> {
        for row in db.fetch(q)? {
            match rows.link.path(router, &row) {
                Ok(path) => out.push((format!("{}{path}", self.base_url), lastmod(rows, &row))),
                Err(why) => tracing::warn!("a sitemap leaves a row out: {why}"),
            }
        }
        Ok(())
    }
}

/// A row's `<lastmod>` in W3C datetime form: a date as it is, a datetime in UTC or with its
/// offset.
fn lastmod(rows: &Rows, row: &Map<String, Value>) -> Option<String> {
    let (column, date_only) = rows.lastmod.as_ref()?;
    let when = instant(row.get(column)?)?;
    Some(if *date_only {
        when.date_naive().to_string()
    } else {
        when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

fn urlset(urls: &[(String, Option<String>)]) -> std::io::Result<String> {
    let mut w = xml_writer(0)?;
    w.create_element("urlset")
        .with_attribute(("xmlns", NS))
        .write_inner_content(|w| {
            for (loc, lastmod) in urls {
                w.create_element("url").write_inner_content(|w| {
                    loc_element(w, loc)?;
                    if let Some(m) = lastmod {
                        text(w, "lastmod", m)?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(finish(w))
}

/// The sitemap index: `here?p=1` … `here?p=files`.
fn index(here: &str, files: usize) -> std::io::Result<String> {
    let mut w = xml_writer(0)?;
    w.create_element("sitemapindex")
        .with_attribute(("xmlns", NS))
        .write_inner_content(|w| {
            for p in 1..=files {
                w.create_element("sitemap")
                    .write_inner_content(|w| loc_element(w, &format!("{here}?p={p}")))?;
            }
            Ok(())
        })?;
    Ok(finish(w))
}

fn loc_element(w: &mut XmlWriter, loc: &str) -> std::io::Result<()> {
    w.create_element("loc")
        .write_text_content(BytesText::new(&xml_text(loc)))?;
    Ok(())
}

/// Once every route is compiled: check each route's `sitemap:` key, and give the site's
/// sitemap routes what they list — each GET route answering HTML with status 200, without
/// captures or declared query parameters (template and list routes), and the rows of each
/// HTML detail route — unless its `sitemap: false`. `defs` and `endpoints` are in the router's
/// order, less any that failed to compile.
pub fn link(
    defs: &[RouteDef],
    endpoints: &mut [Endpoint],
    router: &Router,
    errors: &mut Vec<Diagnostic>,
) {
    let has_sitemap = endpoints.iter().any(|e| matches!(e.view, View::Sitemap(_)));
    // A route that failed to compile has no endpoint: the others are found by their origin.
    let by_origin: HashMap<&str, &Endpoint> =
        endpoints.iter().map(|e| (e.origin.as_str(), e)).collect();
    let mut listing = Listing::default();
    for (index, def) in defs.iter().enumerate() {
        let Some(e) = by_origin.get(def.origin.as_str()) else {
            continue;
        };
        // A list's pages 2 on (`pages: path`) are not in the sitemap, as `?page=` ones are not.
        if def.page_route {
            continue;
        }
        let lastmod_at = def.key("sitemap.lastmod");
        let lastmod = match &def.raw.sitemap {
            Some(RawSitemap::Listed(false)) => continue,
            Some(RawSitemap::Options(o)) => o.lastmod.as_deref(),
            _ => None,
        };
        // A page behind sign-in is no page for a search engine.
        let listed = e.allows("GET") && def.raw.query.is_none() && !e.auth.login;
        match &e.view {
            View::Detail(v) => {
                let model = &v.out.model;
                let lastmod = match lastmod.map(|name| date_field(model, name)) {
                    Some(Err(why)) => {
                        errors.push(def.source.diag(&lastmod_at, why));
                        continue;
                    }
                    Some(Ok(f)) => Some((f.column.clone(), f.ty == FieldType::Date)),
                    None => None,
                };
                if !(has_sitemap && listed && html(&v.out)) {
                    continue;
                }
                match RowLink::to_route(router, index, model) {
                    Ok(link) => listing.rows.push(Rows {
                        model: model.clone(),
                        wheres: v.out.wheres.clone(),
                        link,
                        lastmod,
                    }),
                    Err(why) => errors.push(
                        def.source
                            .diag(
                                &def.key("path"),
                                format!("the sitemap cannot list this route's rows: {why}"),
                            )
                            .with_hint(Some(
                                "capture fields of the model, or leave the route out of the sitemap with `sitemap: false`".into(),
                            )),
                    ),
                }
            }
            _ if lastmod.is_some() => errors.push(
                def.source
                    .diag(&lastmod_at, "`lastmod` is for detail routes (one per row)"),
            ),
            View::Template(v) if listed && v.status == 200 && v.is_html() => {
                page(router, index, &mut listing.pages)
            }
            View::List(v) if listed && html(&v.out) => page(router, index, &mut listing.pages),
            _ => {}
        }
    }
    let listing = Arc::new(listing);
    for e in endpoints.iter_mut() {
        if let View::Sitemap(s) = &mut e.view {
            s.listing = listing.clone();
        }
    }
}

fn html(out: &super::fields::ModelOutput) -> bool {
    !out.json && out.status == 200
}

/// A route without captures: its path (a regex route that cannot be reversed is left out).
fn page(router: &Router, index: usize, pages: &mut Vec<String>) {
    if router.pattern(index).names().next().is_none() {
        if let Some(Ok(path)) = router.reverse_index(index, Args::Named(&Params::new())) {
            pages.push(path);
        }
    }
}
