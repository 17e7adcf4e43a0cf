//! What the feed and sitemap views share: `site.base_url` checked at load, a route reversed
//! with a row's fields (`RowLink`), a date or datetime field read as a UTC instant, text made
//! safe for XML, and the XML response with its strong ETag (the server answers a matching
//! `If-None-Match` with 304).

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::request::Response;
use crate::config::diagnostic::suggestion;
use crate::config::raw::FieldType;
use crate::datetime::When;
use crate::db::{Field, Model};
use crate::routing::{Args, Params, Router};

/// Check `site.base_url`: an absolute http or https URL without a query, fragment or
/// credentials. Returned without its trailing slash, so that `{{site.base_url}}{{url …}}` is
/// an absolute URL.
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("base_url {text:?} is not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "base_url {text:?} must start with http:// or https://"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("base_url {text:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "base_url {text:?} cannot have a query (`?`) or a fragment (`#`)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "base_url {text:?} cannot hold a user name or password"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// The hint shown wherever `site.base_url` is missing or wrong.
pub const BASE_URL_HINT: &str =
    "set the site's public address: `site: { base_url: \"https://example.org\" }`";

/// Which route a `RowLink` reverses.
#[derive(Debug)]
enum Target {
    /// The routes called this, as `reverse` tries them (a feed's entries).
    Name(String),
    /// This route alone, named or not (a sitemap's detail routes).
    Index(usize),
}

/// A route whose arguments are a row's fields: an argument `slug` takes the row's `slug`, an
/// argument `pk` its primary key.
#[derive(Debug)]
pub struct RowLink {
    target: Target,
    /// Each argument, and the column holding its value.
    args: Vec<(String, String)>,
}

impl RowLink {
    /// The link to the route at `index`, whose captures must be fields of `model`.
    pub fn to_route(router: &Router, index: usize, model: &Model) -> Result<RowLink, String> {
        let captures = router.pattern(index).param_names();
        RowLink::compile(Target::Index(index), &captures, model)
    }

    /// The link to the routes called `name`, whose arguments must be fields of `model`.
    pub fn to_name(router: &Router, name: &str, model: &Model) -> Result<RowLink, String> {
        RowLink::compile(Target::Name(name.to_string()), &router.takes(name), model)
    }

    /// The error names an argument that is not a field of the model.
    fn compile(target: Target, names: &[String], model: &Model) -> Result<RowLink, String> {
        let mut args = Vec::new();
        for capture in names {
            let field = if capture == "pk" {
                Some(model.pk_field())
            } else {
                model.field(capture)
            };
            let Some(field) = field else {
                let hint = suggestion(capture, model.field_names())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                return Err(format!(
                    "the route captures `{capture}`, which is not a field of {}{hint}",
                    model.name
                ));
            };
            args.push((capture.clone(), field.column.clone()));
        }
        Ok(RowLink { target, args })
    }

    /// The columns its arguments take, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|(_, column)| column.as_str())
    }

    /// The row's path, or why it cannot be made (a value its converter refuses).
    pub fn path(&self, router: &Router, row: &Map<String, Value>) -> Result<String, String> {
        self.path_with(router, |_, column| row.get(column))
    }

    /// The path of a row whose argument `i`, of column `column`, has the value `value(i,
    /// column)`.
    pub fn path_with<'r>(
        &self,
        router: &Router,
        value: impl Fn(usize, &str) -> Option<&'r Value>,
    ) -> Result<String, String> {
        let args: Params = self
            .args
            .iter()
            .enumerate()
            .map(|(i, (capture, column))| {
                let v = value(i, column).cloned().unwrap_or(Value::Null);
                (capture.clone(), v)
            })
            .collect();
        match &self.target {
            Target::Name(name) => router
                .reverse(name, Args::Named(&args))
                .map_err(|e| e.to_string()),
            Target::Index(index) => router
                .reverse_index(*index, Args::Named(&args))
                .unwrap_or_else(|| Err("no URL form of the route takes the row's fields".into())),
        }
    }
}

/// A date or datetime field of `model` called `name`, or why not.
pub fn date_field<'m>(model: &'m Model, name: &str) -> Result<&'m Field, String> {
    match model.field(name) {
        Some(f) if matches!(f.ty, FieldType::Date | FieldType::Datetime) => Ok(f),
        Some(_) => Err(format!(
            "`{name}` of {} is not a date or datetime field",
            model.name
        )),
        None => {
            let hint = suggestion(name, model.field_names())
                .map(|h| format!(" ({h})"))
                .unwrap_or_default();
            Err(format!("model {} has no field `{name}`{hint}", model.name))
        }
    }
}

/// A stored date or datetime as an instant: a date is its midnight, and a datetime without an
/// offset is taken as UTC.
pub fn instant(value: &Value) -> Option<DateTime<FixedOffset>> {
    let utc = FixedOffset::east_opt(0)?;
    match crate::datetime::parse(value.as_str()?)? {
        When::Date(d) => Some(Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)).into()),
        When::Local(dt) => Some(utc.from_utc_datetime(&dt)),
        When::Offset(dt) => Some(dt),
    }
}

/// Text without the characters XML 1.0 cannot hold, even escaped: control characters other
/// than tab and line breaks, U+FFFE and U+FFFF. The writer escapes the rest.
pub fn xml_text(s: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    };
    // Checked by bytes, not by decoding every character (a feed's bodies are tens of KB): a
    // control character is one byte below 0x20, and the two non-characters are found by
    // `contains` (memchr on their last byte).
    let control = s
        .bytes()
        .any(|b| b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r'));
    if !control && !s.contains('\u{FFFE}') && !s.contains('\u{FFFF}') {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| allowed(c)).collect())
    }
}

pub type XmlWriter = quick_xml::Writer<Vec<u8>>;

/// A writer of an indented XML document, its declaration written, with room for about
/// `capacity` bytes (a feed's size is known ahead: its buffer is not copied as it grows).
pub fn xml_writer(capacity: usize) -> std::io::Result<XmlWriter> {
    use quick_xml::events::{BytesDecl, Event};
    let mut w = quick_xml::Writer::new_with_indent(Vec::with_capacity(capacity), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    Ok(w)
}

/// `<name>value</name>`, the value escaped.
pub fn text(w: &mut XmlWriter, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(quick_xml::events::BytesText::new(&xml_text(value)))?;
    Ok(())
}

/// The document a writer holds (UTF-8, as everything written into it was a `&str`: taken as
/// it is, not copied).
pub fn finish(w: XmlWriter) -> String {
    String::from_utf8(w.into_inner())
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A 200 with this XML body and a strong ETag: a 128-bit SipHash of the body, so that the
/// same body always has the same tag, across restarts too.
pub fn xml_response(content_type: &str, body: String) -> Response {
    use std::hash::Hasher;
    let mut hasher = siphasher::sip128::SipHasher13::new();
    hasher.write(body.as_bytes());
    let hash = siphasher::sip128::Hasher128::finish128(&hasher).as_u128();
    Response {
        status: 200,
        content_type: content_type.to_string(),
        headers: vec![("ETag", format!("\"{hash:032x}\""))],
        body,
        stream: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_base_url_is_an_absolute_http_url_kept_without_its_trailing_slash() {
        for (given, kept) in [
            ("https://blog.example.org", "https://blog.example.org"),
            ("https://blog.example.org/", "https://blog.example.org"),
            (
                "http://Example.ORG:8080/blog/",
                "http://example.org:8080/blog",
            ),
        ] {
            assert_eq!(parse_base_url(given).as_deref(), Ok(kept), "{given}");
        }
        for (given, why) in [
            ("blog.example.org", "not an absolute URL"),
            ("/blog", "not an absolute URL"),
            ("ftp://example.org", "http:// or https://"),
            ("https://example.org/?a=1", "query"),
            ("https://example.org/#top", "fragment"),
            ("https://me:pw@example.org/", "user name"),
        ] {
            let err = parse_base_url(given).unwrap_err();
            assert!(err.contains(why), "{given}: {err}");
        }
    }

    #[test]
    fn dates_are_read_as_utc_instants() {
        let show = |v: Value| instant(&v).map(|d| d.to_rfc3339());
        assert_eq!(
            show(json!("2026-03-01")).as_deref(),
            Some("2026-03-01T00:00:00+00:00")
        );
        assert_eq!(
            show(json!("2026-03-01 10:30")).as_deref(),
            Some("2026-03-01T10:30:00+00:00")
        );
        assert_eq!(
            show(json!("2026-03-01T10:30:00+02:00")).as_deref(),
            Some("2026-03-01T10:30:00+02:00")
        );
        assert_eq!(show(json!("soon")), None);
        assert_eq!(show(Value::Null), None);
    }

    #[test]
    fn characters_xml_cannot_hold_are_dropped() {
        assert_eq!(xml_text("a\u{1}b\tc\u{FFFF}"), "ab\tc");
        assert_eq!(xml_text("é\u{FFFE}\u{1f}\r\n"), "é\r\n");
        assert!(matches!(xml_text("ÿ\u{FFFD}\u{EFBF}\n"), Cow::Borrowed(_)));
        assert!(matches!(xml_text("plain <b>"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_etag_changes_with_the_body_only() {
        let tag = |b: &str| {
            xml_response("application/xml", b.into()).headers[0]
                .1
                .clone()
        };
        assert_eq!(tag("<a/>"), tag("<a/>"));
        assert_ne!(tag("<a/>"), tag("<b/>"));
        assert_eq!(tag("<a/>").len(), 34);
    }
}
