//! The blog's Atom feed, written as Trellis writes it (quick-xml, indented by two spaces, every
//! text and attribute escaped by the writer), with the same strong ETag: a 128-bit SipHash-1-3
//! of the body, and a 304 when `If-None-Match` names it.

use std::hash::Hasher as _;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

const BASE_URL: &str = "http://127.0.0.1:8000";
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
pub const ATOM: &str = "application/atom+xml; charset=utf-8";

/// One post of the feed, as read from the database.
pub struct Entry {
    pub title: String,
    pub slug: String,
    pub created_at: String,
    /// The body, rendered and sanitised.
    pub html: Arc<str>,
    pub author: String,
}

type W = Writer<Vec<u8>>;

/// A stored `YYYY-MM-DDTHH:MM:SS` (or a date) as RFC 3339 in UTC, seconds kept, fractions
/// dropped: the blog stores naive UTC times.
fn rfc3339(stored: &str) -> String {
    let date = stored.get(..10).unwrap_or("1970-01-01");
    let time = stored.get(11..19).unwrap_or("00:00:00");
    format!("{date}T{time}Z")
}

/// Text without the characters XML 1.0 cannot hold, even escaped (as Trellis drops them).
fn xml_text(s: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    if s.chars().all(allowed) {
        s.into()
    } else {
        s.chars().filter(|&c| allowed(c)).collect::<String>().into()
    }
}

fn text(w: &mut W, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_text(value)))?;
    Ok(())
}

fn link(w: &mut W, href: &str, rel: &str) -> std::io::Result<()> {
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

fn entry(w: &mut W, e: &Entry) -> std::io::Result<()> {
    let url = format!("{BASE_URL}/blog/post/{}/", e.slug);
    let when = rfc3339(&e.created_at);
    text(w, "title", &e.title)?;
    link(w, &url, "alternate")?;
    text(w, "id", &url)?;
    text(w, "updated", &when)?;
    text(w, "published", &when)?;
    author(w, &e.author)?;
    w.create_element("content")
        .with_attribute(("type", "html"))
        .write_text_content(BytesText::new(&xml_text(&e.html)))?;
    Ok(())
}

fn atom(self_url: &str, entries: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let updated = entries
        .iter()
        .map(|e| rfc3339(&e.created_at))
        .max()
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    w.create_element("feed")
        .with_attribute(("xmlns", ATOM_NS))
        .write_inner_content(|w| {
            text(w, "title", "Blog")?;
            text(w, "subtitle", "Small, sturdy web software")?;
            link(w, &format!("{BASE_URL}/blog/"), "alternate")?;
            link(w, self_url, "self")?;
            text(w, "id", self_url)?;
            text(w, "updated", &updated)?;
            author(w, "Blog")?;
            for e in entries {
                w.create_element("entry")
                    .write_inner_content(|w| entry(w, e))?;
            }
            Ok(())
        })?;
    Ok(w.into_inner())
}

/// The feed at `path` (decoded), or a 304 when the client has it.
pub fn respond(req: &HttpRequest, path: &str, entries: &[Entry]) -> HttpResponse {
    let self_url = format!("{BASE_URL}{}", crate::escape_uri_path(path));
    let body = match atom(&self_url, entries) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Internal Server Error: writing the feed: {e}");
            return crate::respond(StatusCode::INTERNAL_SERVER_ERROR, crate::HTML, "");
        }
    };
    let mut hasher = siphasher::sip128::SipHasher13::new();
    hasher.write(&body);
    let hash = siphasher::sip128::Hasher128::finish128(&hasher).as_u128();
    let etag = format!("\"{hash:032x}\"");
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        let mut res = crate::respond(StatusCode::NOT_MODIFIED, ATOM, "");
        res.headers_mut().remove(header::CONTENT_TYPE);
        res
    } else {
        crate::respond(StatusCode::OK, ATOM, body)
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}
