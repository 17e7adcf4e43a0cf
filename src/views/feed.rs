//! `view: feed` — an Atom 1.0 (or RSS 2.0) feed of a model's newest rows, after Django's
//! syndication framework: the route names the model, its `where:` and `ordering` (compiled as
//! a list view's are), the feed's title and page (`feed:`), and which fields make each entry
//! (`item:`). Every URL in it is absolute, made from `site.base_url`; each entry's id is its
//! page's URL and the feed's `updated` is its newest entry's. Markdown fields are rendered and
//! sanitised as the `markdown` helper does; the XML is written by quick-xml, which escapes
//! every text and attribute.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use quick_xml::events::BytesText;
use serde_json::Value;

use super::context::Ctx;
use super::error::ViewError;
use super::fields::{compile_order, compile_where, model_for, resolve_path};
use super::links::{
    finish, instant, text, xml_response, xml_text, xml_writer, RowLink, XmlWriter as W,
    BASE_URL_HINT,
};
use super::request::{escape_uri_path, Response};
use super::{Call, CompileEnv, RouteDef};
use crate::config::raw::{FeedFormat, FieldType, Lookup, RawFeedItem};
use crate::config::Diagnostic;
use crate::db::query::{Cond, Pick, Query};
use crate::db::{Model, Models, Order};
use crate::routing::{Args, Params, Router};

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";
pub const ATOM: &str = "application/atom+xml; charset=utf-8";
pub const RSS: &str = "application/rss+xml; charset=utf-8";

/// A field of the row, or of a row a foreign key points at (`author__name`): which of the
/// fetched values (`Pick`s) it is.
#[derive(Debug)]
struct RowField {
    pick: Pick,
    /// Its place among the feed's picks.
    at: usize,
    ty: FieldType,
    markdown: bool,
}

impl RowField {
    fn compile(models: &Models, model: &Model, path: &str) -> Result<RowField, String> {
        let resolved = resolve_path(models, model, path, None)?;
        if resolved.lookup != Lookup::Exact || path.ends_with("__exact") {
            return Err(format!("`{path}` names a lookup; name a field"));
        }
        let index = |m: &Model, column: &str| m.fields.iter().position(|f| f.column == column);
        let pick = match resolved.hops.len() {
            0 => index(model, &resolved.field.column).map(|field| Pick { via: None, field }),
            1 => {
                let name = path.split("__").next().unwrap_or_default();
                let via = model.fields.iter().position(|f| f.name == name);
                let target = via.and_then(|v| model.fields[v].to.as_ref());
                let target = target.and_then(|t| models.get(t));
                let field = target.and_then(|t| index(t, &resolved.field.column));
                via.zip(field).map(|(via, field)| Pick {
                    via: Some(via),
                    field,
                })
            }
            _ => {
                return Err(format!(
                    "`{path}` follows more than one foreign key; a feed reads one at most"
                ))
            }
        };
        let pick = pick.ok_or_else(|| {
            format!("`{path}` is not a column of the row or of a row its foreign key points at")
        })?;
        Ok(RowField {
            pick,
            at: 0,
            ty: resolved.field.ty,
            markdown: resolved.field.markdown,
        })
    }

    fn value<'r>(&self, row: &'r [Value]) -> Option<&'r Value> {
        row.get(self.at).filter(|v| !v.is_null())
    }

    fn text(&self, row: &[Value]) -> Option<String> {
        self.value(row).map(crate::render::helpers::text)
    }

    /// The field's text, or its HTML for a Markdown field (rendered and sanitised).
    fn body(&self, row: &[Value]) -> Option<Body> {
        let value = self.value(row)?;
        if !self.markdown {
            return Some(Body::Text(crate::render::helpers::text(value)));
        }
        let html = match value {
            Value::String(s) => crate::render::markdown::markdown_to_html_cached(s),
            other => crate::render::markdown::markdown_to_html_cached(
                &crate::render::helpers::text(other),
            ),
        };
        Some(Body::Html(html))
    }
}

#[derive(Debug)]
struct ItemSpec {
    title: RowField,
    link: RowLink,
    updated: Option<RowField>,
    published: Option<RowField>,
    summary: Option<RowField>,
    content: Option<RowField>,
    author: Option<RowField>,
    /// What the fetch reads: each field's value, then the link's arguments.
    picks: Vec<Pick>,
    /// The place among `picks` of each of the link's arguments.
    link_at: Vec<usize>,
}

/// A compiled `view: feed`.
#[derive(Debug)]
pub struct FeedView {
    pub model: Arc<Model>,
    wheres: Vec<Cond>,
    ordering: Vec<Order>,
    limit: u32,
    pub format: FeedFormat,
    title: String,
    subtitle: Option<String>,
    /// The absolute URL of the feed's page.
    link: String,
    base_url: String,
    item: ItemSpec,
}

/// An entry's summary or content: HTML (the rendering of a Markdown field, as the cache
/// holds it) or plain text.
enum Body {
    Html(Arc<str>),
    Text(String),
}

impl Body {
    fn as_str(&self) -> &str {
        match self {
            Body::Html(h) => h,
            Body::Text(t) => t,
        }
    }
}

/// One entry, read from a row.
struct Entry {
    title: String,
    link: String,
    updated: Option<DateTime<FixedOffset>>,
    published: Option<DateTime<FixedOffset>>,
    summary: Option<Body>,
    content: Option<Body>,
    author: Option<String>,
}

impl Entry {
    fn updated(&self) -> Option<DateTime<FixedOffset>> {
        self.updated.or(self.published)
    }
}

impl FeedView {
    /// `atom` or `rss`, for the routes table.
    pub fn format_name(&self) -> &'static str {
        match self.format {
            FeedFormat::Atom => "atom",
            FeedFormat::Rss => "rss",
        }
    }

    pub fn compile(
        r: &RouteDef,
        env: &mut CompileEnv,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<FeedView> {
        let (raw, src, at) = (&r.raw, &r.source, &r.at);
        let base_url = env.base_url.map(str::to_string);
        if base_url.is_none() {
            errors.push(
                src.diag(
                    at,
                    "view `feed` needs `site.base_url` for its absolute links",
                )
                .with_hint(Some(BASE_URL_HINT.into())),
            );
        }
        let model = match model_for(env.models, raw, src, at) {
            Ok(m) => m.clone(),
            Err(d) => {
                errors.push(d);
                return None;
            }
        };
        let (feed, item) = (raw.feed.as_ref()?, raw.item.as_ref()?);
        let wheres = compile_where(
            env.models,
            &model,
            raw.where_.as_ref(),
            src,
            &r.key("where"),
            errors,
        );
        let link = match env.router.reverse(&feed.link, Args::Named(&Params::new())) {
            Ok(path) => format!("{}{path}", base_url.as_deref().unwrap_or_default()),
            Err(e) => {
                let hint = env.router.suggest(&feed.link);
                errors.push(src.diag(&r.key("feed.link"), e.to_string()).with_hint(hint));
                String::new()
            }
        };
        let format = feed.format.unwrap_or(FeedFormat::Atom);
        let item = compile_item(r, env, &model, item, format, errors)?;
        let ordering = match &raw.ordering {
            Some(keys) => compile_order(&model, keys, src, &r.key("ordering"), errors),
            None => default_ordering(&model, &item),
        };
        if !ordering.is_empty() {
            env.needs
                .indexes
                .push((model.name.clone(), ordering.clone()));
        }
        let limit = feed.limit.unwrap_or(20);
        if limit == 0 {
            errors.push(src.diag(&r.key("feed.limit"), "a feed's limit must be at least 1"));
        }
        Some(FeedView {
            model,
            wheres,
            ordering,
            limit,
            format,
            title: feed.title.clone(),
            subtitle: feed.subtitle.clone(),
            link,
            base_url: base_url.unwrap_or_default(),
            item,
        })
    }

    /// Answer a request: the newest rows as the feed.
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let db = ctx
            .db
            .ok_or_else(|| ViewError::Internal("a feed without a database".into()))?;
        let mut q = Query::new(&self.model);
        q.conds = self.wheres.clone();
        q.order = self.ordering.clone();
        q.limit = Some(i64::from(self.limit));
        // An entry reads the fields it names (and one foreign key's), never a many_to_many one.
        q.many = false;
        let rows = db
            .fetch_picked(&q, &self.item.picks)
            .map_err(|e| call.db(e))?;
        let entries: Vec<Entry> = rows
            .iter()
            .filter_map(|row| self.entry(ctx.router, row, call.origin))
            .collect();
        let self_url = format!("{}{}", self.base_url, escape_uri_path(&call.req.path));
        let site_name = ctx.settings.name();
        let (content_type, body) = match self.format {
            FeedFormat::Atom => (ATOM, self.atom(site_name, &self_url, &entries)),
            FeedFormat::Rss => (RSS, self.rss(&self_url, &entries)),
        };
        let body = body.map_err(|e| call.internal(e))?;
        Ok(xml_response(content_type, body))
    }

    /// A row as an entry; a row whose link cannot be made (a value its route's converter
    /// refuses) is left out, and the log says why.
    fn entry(&self, router: &Router, row: &[Value], origin: &str) -> Option<Entry> {
        let item = &self.item;
        let path = match item.link.path_with(router, |i, _| row.get(item.link_at[i])) {
            Ok(p) => p,
            Err(why) => {
                tracing::warn!("{origin}: a feed entry is left out: {why}");
                return None;
            }
        };
        let date = |f: &Option<RowField>| f.as_ref().and_then(|f| f.value(row)).and_then(instant);
        let updated = date(&item.updated);
        // `updated` and `published` often name one field: its value is parsed once.
        let published = match (&item.updated, &item.published) {
            (Some(u), Some(p)) if u.at == p.at => updated,
            _ => date(&item.published),
        };
        Some(Entry {
            title: item.title.text(row).unwrap_or_default(),
            link: format!("{}{path}", self.base_url),
            updated,
            published,
            summary: item.summary.as_ref().and_then(|f| f.body(row)),
            content: item.content.as_ref().and_then(|f| f.body(row)),
            author: item.author.as_ref().and_then(|f| f.text(row)),
        })
    }

    fn atom(&self, site_name: &str, self_url: &str, entries: &[Entry]) -> std::io::Result<String> {
        let mut w = xml_writer(capacity(entries))?;
        // With no entries there is no date to give: the Unix epoch, the same on every request.
        let updated = entries
            .iter()
            .filter_map(Entry::updated)
            .max()
            .unwrap_or_default();
        w.create_element("feed")
            .with_attribute(("xmlns", ATOM_NS))
            .write_inner_content(|w| {
                text(w, "title", &self.title)?;
                if let Some(s) = &self.subtitle {
                    text(w, "subtitle", s)?;
                }
                atom_link(w, &self.link, "alternate")?;
                atom_link(w, self_url, "self")?;
                text(w, "id", self_url)?;
                text(w, "updated", &rfc3339(updated))?;
                // Atom wants an author for the feed unless every entry has one.
                author(w, site_name)?;
                for e in entries {
                    w.create_element("entry")
                        .write_inner_content(|w| atom_entry(w, e))?;
                }
                Ok(())
            })?;
        Ok(finish(w))
    }

    fn rss(&self, self_url: &str, entries: &[Entry]) -> std::io::Result<String> {
        let mut w = xml_writer(capacity(entries))?;
        let mut rss = w
            .create_element("rss")
            .with_attribute(("version", "2.0"))
            .with_attribute(("xmlns:atom", ATOM_NS));
        if self.item.author.is_some() {
            rss = rss.with_attribute(("xmlns:dc", DC_NS));
        }
        rss.write_inner_content(|w| {
            w.create_element("channel").write_inner_content(|w| {
                text(w, "title", &self.title)?;
                text(w, "link", &self.link)?;
                text(
                    w,
                    "description",
                    self.subtitle.as_ref().unwrap_or(&self.title),
                )?;
                w.create_element("atom:link")
                    .with_attribute(("href", self_url))
                    .with_attribute(("rel", "self"))
                    .with_attribute(("type", "application/rss+xml"))
                    .write_empty()?;
                if let Some(newest) = entries.iter().filter_map(Entry::updated).max() {
                    text(w, "lastBuildDate", &newest.to_rfc2822())?;
                }
                for e in entries {
                    w.create_element("item")
                        .write_inner_content(|w| rss_item(w, e))?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(finish(w))
    }
}

/// About how many bytes a feed of these entries takes: its bodies (escaping makes HTML longer)
/// and some for each entry's other elements.
fn capacity(entries: &[Entry]) -> usize {
    let body = |b: &Option<Body>| b.as_ref().map_or(0, |b| b.as_str().len());
    let bodies: usize = entries
        .iter()
        .map(|e| body(&e.summary) + body(&e.content))
        .sum();
    1024 + bodies + bodies / 2 + 512 * entries.len()
}

/// Without an `ordering`, newest first: by `item.published` (or `updated`) descending, else
/// the model's ordering.
fn default_ordering(model: &Model, item: &ItemSpec) -> Vec<Order> {
    let date = item.published.as_ref().or(item.updated.as_ref());
    match date.filter(|f| f.pick.via.is_none()) {
        Some(f) => vec![Order {
            desc: true,
            ..Order::asc(&model.fields[f.pick.field])
        }],
        None => model.ordering.clone(),
    }
}

/// `item:` — each field resolved, each date a date, the link's captures fields of the model.
fn compile_item(
    r: &RouteDef,
    env: &CompileEnv,
    model: &Model,
    raw: &RawFeedItem,
    format: FeedFormat,
    errors: &mut Vec<Diagnostic>,
) -> Option<ItemSpec> {
    let before = errors.len();
    let mut field = |key: &str, path: &str, date: bool| {
        let compiled = RowField::compile(env.models, model, path).and_then(|f| {
            if date && !matches!(f.ty, FieldType::Date | FieldType::Datetime) {
                return Err(format!("`{path}` is not a date or datetime field"));
            }
            Ok(f)
        });
        compiled
            .map_err(|why| errors.push(r.source.diag(&r.key(&format!("item.{key}")), why)))
            .ok()
    };
    let title = field("title", &raw.title, false);
    let updated = raw.updated.as_ref().and_then(|p| field("updated", p, true));
    let published = raw
        .published
        .as_ref()
        .and_then(|p| field("published", p, true));
    let summary = raw
        .summary
        .as_ref()
        .and_then(|p| field("summary", p, false));
    let content = raw
        .content
        .as_ref()
        .and_then(|p| field("content", p, false));
    let author = raw.author.as_ref().and_then(|p| field("author", p, false));
    let link = match env.router.routes_named(&raw.link) {
        [_, ..] => RowLink::to_name(env.router, &raw.link, model)
            .map_err(|why| format!("cannot link to `{}`: {why}", raw.link))
            .map_err(|why| r.source.diag(&r.key("item.link"), why)),
        [] => Err(r
            .source
            .diag(
                &r.key("item.link"),
                format!("no route is named `{}`", raw.link),
            )
            .with_hint(env.router.suggest(&raw.link))),
    };
    let link = link.map_err(|d| errors.push(d)).ok();
    if format == FeedFormat::Atom && raw.updated.is_none() && raw.published.is_none() {
        errors.push(
            r.source
                .diag(
                    &r.key("item"),
                    "an Atom feed needs `updated` (or `published`)",
                )
                .with_hint(Some(
                    "name a date or datetime field: `item: { updated: updated_at }`".into(),
                )),
        );
    }
    if errors.len() > before {
        return None;
    }
    let (mut title, link) = (title?, link?);
    let (mut updated, mut published) = (updated, published);
    let (mut summary, mut content, mut author) = (summary, content, author);
    // Each field's place among the picks, one place for a field named twice.
    let mut picks: Vec<Pick> = Vec::new();
    let mut place = |pick: Pick| match picks.iter().position(|p| *p == pick) {
        Some(at) => at,
        None => {
            picks.push(pick);
            picks.len() - 1
        }
    };
    title.at = place(title.pick.clone());
    for f in [
        &mut updated,
        &mut published,
        &mut summary,
        &mut content,
        &mut author,
    ]
    .into_iter()
    .flatten()
    {
        f.at = place(f.pick.clone());
    }
    let link_at = link
        .columns()
        .map(|column| {
            let field = model.fields.iter().position(|f| f.column == column);
            place(Pick {
                via: None,
                field: field.unwrap_or(model.pk),
            })
        })
        .collect();
    Some(ItemSpec {
        title,
        link,
        updated,
        published,
        summary,
        content,
        author,
        picks,
        link_at,
    })
}

fn atom_link(w: &mut W, href: &str, rel: &str) -> std::io::Result<()> {
    w.create_element("link")
        .with_attribute(("href", href))
        .with_attribute(("rel", rel))
        .write_empty()?;
    Ok(())
}

fn author(w: &mut W, name: &str) -> std::io::Result<()> {
    w.create_element("author")
        .write_inner_content(|w| text(w, "name", name))?;
    Ok(())
}

/// An Atom text construct: HTML (escaped into the XML) or plain text.
fn atom_text(w: &mut W, name: &str, body: &Body) -> std::io::Result<()> {
    let kind = match body {
        Body::Html(_) => "html",
        Body::Text(_) => "text",
    };
    w.create_element(name)
        .with_attribute(("type", kind))
        .write_text_content(BytesText::new(&xml_text(body.as_str())))?;
    Ok(())
}

fn rfc3339(d: DateTime<FixedOffset>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn atom_entry(w: &mut W, e: &Entry) -> std::io::Result<()> {
    text(w, "title", &e.title)?;
    atom_link(w, &e.link, "alternate")?;
    text(w, "id", &e.link)?;
    text(w, "updated", &rfc3339(e.updated().unwrap_or_default()))?;
    if let Some(p) = e.published {
        text(w, "published", &rfc3339(p))?;
    }
    if let Some(a) = &e.author {
        author(w, a)?;
    }
    if let Some(s) = &e.summary {
        atom_text(w, "summary", s)?;
    }
    if let Some(c) = &e.content {
        atom_text(w, "content", c)?;
    }
    Ok(())
}

/// An RSS item, as Django writes one: the author's name as `dc:creator` (RSS's own `author`
/// must be an e-mail address), the full text (else the summary) as `description`.
fn rss_item(w: &mut W, e: &Entry) -> std::io::Result<()> {
    text(w, "title", &e.title)?;
    text(w, "link", &e.link)?;
    w.create_element("guid")
        .with_attribute(("isPermaLink", "true"))
        .write_text_content(BytesText::new(&xml_text(&e.link)))?;
    if let Some(body) = e.content.as_ref().or(e.summary.as_ref()) {
        text(w, "description", body.as_str())?;
    }
    if let Some(d) = e.published.or(e.updated) {
        text(w, "pubDate", &d.to_rfc2822())?;
    }
    if let Some(a) = &e.author {
        text(w, "dc:creator", a)?;
    }
    Ok(())
}
