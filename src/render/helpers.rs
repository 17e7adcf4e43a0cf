//! Template helpers: `url` (reverse a route name), `static` (a static file's URL),
//! `capitalize` (Python's `str.capitalize`), `capfirst` (Django's filter), `lower`, `upper`,
//! `default`, `markdown` (sanitised HTML, for triple braces), `date` (an ISO-8601 string with a
//! strftime format, `"iso"` or `"rfc2822"`), `truncate` and `pluralize` (Django's
//! `truncatechars` and `pluralize`). Handlebars' own `eq`, `ne`, `lt`, `gt`, `and`, `or`, `not`,
//! `len` are there too.
//!
//! Handlebars calls a helper before it looks up a field, so a bare `{{date}}` would call the
//! helper rather than print a field named `date`; the helpers made with `Pure` render the field
//! of their own name when called with no argument, as such a template did before they existed.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::format::StrftimeItems;
use chrono::NaiveTime;
use handlebars::{
    handlebars_helper, Context, Handlebars, Helper, HelperDef, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value;

pub use super::markdown::markdown_to_html;
use crate::datetime::{self, When};
use crate::routing::{Args, Params, ReverseError, Router};
use crate::statics::StaticUrls;

/// Every helper a template can call: ours, then the ones Handlebars registers itself.
pub const NAMES: &[&str] = &[
    "url",
    "static",
    "capitalize",
    "capfirst",
    "lower",
    "upper",
    "default",
    "markdown",
    "date",
    "truncate",
    "pluralize",
    "csrf_input",
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "raw",
    "log",
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "len",
];

pub fn register(h: &mut Handlebars<'static>, router: Arc<Router>, statics: &StaticUrls) {
    h.register_helper("url", Box::new(UrlHelper { router }));
    h.register_helper(
        "static",
        Box::new(StaticHelper {
            urls: statics.clone(),
        }),
    );
    h.register_helper("capitalize", Box::new(capitalize));
    h.register_helper("capfirst", Box::new(capfirst));
    h.register_helper("lower", Box::new(lower));
    h.register_helper("upper", Box::new(upper));
    h.register_helper("default", Box::new(default));
    h.register_helper("markdown", Box::new(Pure(markdown)));
    h.register_helper("date", Box::new(Pure(date)));
    h.register_helper("truncate", Box::new(Pure(truncate)));
    h.register_helper("pluralize", Box::new(Pure(pluralize)));
    h.register_helper("csrf_input", Box::new(csrf_input));
}

/// `{{csrf_input}}`: the hidden field that carries the page's CSRF token (Django's
/// `{% csrf_token %}`), from `csrf_token` in the page's context. The token is letters and
/// digits only, so the field is written as it is; outside a page with a token it is empty.
fn csrf_input(
    _: &Helper,
    _: &Handlebars,
    ctx: &Context,
    _: &mut RenderContext,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    if let Some(token) = ctx.data().get("csrf_token").and_then(Value::as_str) {
        if token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            out.write(&format!(
                "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{token}\">"
            ))?;
        }
    }
    Ok(())
}

/// A value as template text: strings as they are, null as nothing, the rest as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Django's notion of a false value, for `default`.
fn falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

handlebars_helper!(capitalize: |v: Json| capitalize_str(&text(v)));

/// Python's `str.capitalize`: the first character in title case, the rest in lower case
/// (with Greek final sigma, which `str::to_lowercase` applies in context).
pub fn capitalize_str(s: &str) -> String {
    let Some(first) = s.chars().next() else {
        return String::new();
    };
    let lowered = s.to_lowercase();
    let skip: usize = first.to_lowercase().map(char::len_utf8).sum();
    let mut out = titlecase(first);
    out.push_str(lowered.get(skip..).unwrap_or(""));
    out
}

/// The title case of a character where it differs from upper case (digraphs, ß, ligatures).
fn titlecase(c: char) -> String {
    let special = match c {
        'Ǆ' | 'ǅ' | 'ǆ' => "ǅ",
        'Ǉ' | 'ǈ' | 'ǉ' => "ǈ",
        'Ǌ' | 'ǋ' | 'ǌ' => "ǋ",
        'Ǳ' | 'ǲ' | 'ǳ' => "ǲ",
        'ß' => "Ss",
        'ﬀ' => "Ff",
        'ﬁ' => "Fi",
        'ﬂ' => "Fl",
        'ﬃ' => "Ffi",
        'ﬄ' => "Ffl",
        'ﬅ' | 'ﬆ' => "St",
        'և' => "Եւ",
        _ => return c.to_uppercase().collect(),
    };
    special.to_string()
}

handlebars_helper!(capfirst: |v: Json| {
    let s = text(v);
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    }
});
handlebars_helper!(lower: |v: Json| text(v).to_lowercase());
handlebars_helper!(upper: |v: Json| text(v).to_uppercase());
handlebars_helper!(default: |v: Json, fallback: Json| {
    if falsy(v) { fallback.clone() } else { v.clone() }
});

fn fail(msg: String) -> RenderError {
    RenderErrorReason::Other(msg).into()
}

/// A helper's first argument, which must be a string.
fn first_string(h: &Helper, helper: &str, what: &str) -> Result<String, RenderError> {
    match h.param(0).map(|p| p.value()) {
        Some(Value::String(s)) => Ok(s.clone()),
        other => Err(fail(format!(
            "{helper}: the first argument must be {what}, got {}",
            other.map_or("nothing".into(), |v| v.to_string())
        ))),
    }
}

/// `{{url "name" key=value}}` or `{{url "name" value1 value2}}` (by position: a route's
/// parameters in order, or a regex route's groups).
struct UrlHelper {
    router: Arc<Router>,
}

impl HelperDef for UrlHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let name = first_string(h, "url", "a route name")?;
        let positional: Vec<&Value> = h.params().iter().skip(1).map(|p| p.value()).collect();
        let hash = h.hash().iter().map(|(k, v)| (*k, v.value()));
        let url = url_for(&self.router, &name, &positional, hash).map_err(fail)?;
        Ok(ScopedJson::Derived(Value::String(url)))
    }
}

/// What `{{url name positional… key=value…}}` gives: the arguments by position or by name,
/// never both (Django refuses a mix too).
pub fn url_for<'a>(
    router: &Router,
    name: &str,
    positional: &[&Value],
    hash: impl Iterator<Item = (&'a str, &'a Value)>,
) -> Result<String, String> {
    let named: Params = hash.map(|(k, v)| (k.to_string(), v.clone())).collect();
    let result = match (positional.is_empty(), named.is_empty()) {
        (false, false) => Err(ReverseError::Mixed(name.to_string())),
        (true, _) => router.reverse(name, Args::Named(&named)),
        (false, true) => {
            let values: Vec<Value> = positional.iter().map(|v| (*v).clone()).collect();
            router.reverse(name, Args::Positional(&values))
        }
    };
    result.map_err(|e| format!("url: {e}"))
}

/// `{{static "css/site.css"}}` → `/static/css/site.css` (or `/static/css/site.3f2a1b9c.css`
/// with `static_fingerprint`).
struct StaticHelper {
    urls: StaticUrls,
}

impl HelperDef for StaticHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let path = first_string(h, "static", "a file path")?;
        let url = self.urls.url(&path);
        Ok(ScopedJson::Derived(Value::String(url)))
    }
}

/// A helper that is a pure function of its positional arguments, returning text or an error
/// message (which names the helper). Called with no argument at all (`{{date}}`), it renders the
/// context field of its own name instead, the way Handlebars would without the helper.
struct Pure(fn(&[&Value]) -> Result<String, String>);

impl HelperDef for Pure {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        if h.params().is_empty() && h.hash().is_empty() {
            return rc.evaluate(ctx, h.name());
        }
        if let Some(key) = h.hash().keys().next() {
            return Err(fail(format!(
                "{}: takes no key=value arguments, got `{key}=`",
                h.name()
            )));
        }
        let args: Vec<&Value> = h.params().iter().map(|p| p.value()).collect();
        (self.0)(&args)
            .map(|s| ScopedJson::Derived(Value::String(s)))
            .map_err(fail)
    }
}

/// A string, number or boolean as text, null as nothing; a list or map is a mistake.
fn scalar_text(helper: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::Array(_) | Value::Object(_) => Err(format!(
            "{helper}: expected text, got {}",
            shorten(&v.to_string())
        )),
        other => Ok(text(other)),
    }
}

/// A value as quoted in an error message, at most 80 characters.
fn shorten(s: &str) -> String {
    truncate_chars(s, 80)
}

/// `{{{markdown object.body}}}`: Markdown to sanitised HTML (see [`markdown_to_html`]).
fn markdown(args: &[&Value]) -> Result<String, String> {
    let [v] = args else {
        return Err(format!(
            "markdown: takes one argument (the Markdown text), got {}",
            args.len()
        ));
    };
    Ok(super::markdown::markdown_to_html_cached(&scalar_text("markdown", v)?).to_string())
}

/// `{{date value}}` or `{{date value "%B %-d, %Y"}}`; see [`format_date`].
fn date(args: &[&Value]) -> Result<String, String> {
    let (value, format) = match args {
        [v] => (*v, &Value::Null),
        [v, f] => (*v, *f),
        _ => {
            return Err(format!(
                "date: takes a value and an optional format, got {} arguments",
                args.len()
            ))
        }
    };
    let format = match format {
        Value::Null => None,
        Value::String(f) => Some(f.as_str()),
        other => {
            return Err(format!(
                "date: the format must be a string, got {}",
                shorten(&other.to_string())
            ))
        }
    };
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => format_date(s, format),
        other => Err(format!(
            "date: expected an ISO-8601 date or datetime string, got {}",
            shorten(&other.to_string())
        )),
    }
}

/// Format an ISO-8601 date or datetime. `format` is a chrono strftime string, `"iso"` (RFC 3339
/// for a datetime with an offset, `YYYY-MM-DDTHH:MM:SS[.fff]` without one, `YYYY-MM-DD` for a
/// date) or `"rfc2822"` (a date is taken at midnight; no offset is written `-0000`, RFC 2822's
/// "local time unknown"). Without one: `%Y-%m-%d` for dates, `%Y-%m-%d %H:%M` for datetimes.
/// Datetimes are shown at their own offset, never converted.
pub fn format_date(value: &str, format: Option<&str>) -> Result<String, String> {
    let when = datetime::parse(value).ok_or_else(|| {
        format!(
            "date: cannot read `{}` as an ISO-8601 date or datetime (like 2026-11-21 or \
             2026-11-21T10:30:00+01:00)",
            shorten(value)
        )
    })?;
    let fmt = match (format, when) {
        (None | Some("iso"), When::Date(_)) => "%Y-%m-%d",
        (None, _) => "%Y-%m-%d %H:%M",
        (Some("iso"), When::Local(_)) => "%Y-%m-%dT%H:%M:%S%.f",
        (Some("iso"), When::Offset(dt)) if dt.offset().local_minus_utc() == 0 => {
            "%Y-%m-%dT%H:%M:%S%.fZ"
        }
        (Some("iso"), When::Offset(_)) => "%Y-%m-%dT%H:%M:%S%.f%:z",
        (Some("rfc2822"), When::Offset(_)) => "%a, %d %b %Y %H:%M:%S %z",
        (Some("rfc2822"), _) => "%a, %d %b %Y %H:%M:%S -0000",
        (Some(f), _) => f,
    };
    let when = match (format, when) {
        (Some("rfc2822"), When::Date(d)) => When::Local(d.and_time(NaiveTime::MIN)),
        _ => when,
    };
    let items = StrftimeItems::new(fmt).parse().map_err(|_| {
        format!(
            "date: `{}` is not a valid strftime format (formatting `{}`)",
            shorten(fmt),
            shorten(value)
        )
    })?;
    // chrono's Display fails (rather than panics) when the format asks for a field the value
    // lacks, such as `%H` for a date or `%z` without an offset.
    let mut out = String::new();
    let written = match when {
        When::Date(d) => write!(out, "{}", d.format_with_items(items.iter())),
        When::Local(dt) => write!(out, "{}", dt.format_with_items(items.iter())),
        When::Offset(dt) => write!(out, "{}", dt.format_with_items(items.iter())),
    };
    written.map_err(|_| {
        let lacks = match when {
            When::Date(_) => "a date has no time or offset",
            When::Local(_) => "this datetime has no offset",
            When::Offset(_) => "the value lacks a field it asks for",
        };
        format!(
            "date: cannot format `{}` with `{}`: {lacks}",
            shorten(value),
            shorten(fmt)
        )
    })?;
    Ok(out)
}

/// Whether `format` is one `date` takes (`"iso"`, `"rfc2822"` or a chrono strftime string),
/// whatever the value: `check` asks it of a literal format. The error names the first
/// specifier chrono does not know (`%Q`), when it can tell which.
pub fn check_date_format(format: &str) -> Result<(), String> {
    let parses = |f: &str| StrftimeItems::new(f).parse().is_ok();
    if format == "iso" || format == "rfc2822" || parses(format) {
        return Ok(());
    }
    // Each specifier: `%`, then flags and widths, up to its letter (or a second `%`).
    let culprit = format.match_indices('%').find_map(|(i, _)| {
        let rest = &format[i + 1..];
        let end = rest.find(|c: char| c.is_ascii_alphabetic() || c == '%')?;
        let spec = &format[i..i + 1 + end + 1];
        (!parses(spec)).then_some(spec)
    });
    Err(match culprit {
        Some(spec) if spec == format => format!("date: `{spec}` is not a strftime specifier"),
        Some(spec) => format!(
            "date: `{spec}` is not a strftime specifier (in `{}`)",
            shorten(format)
        ),
        None => format!("date: `{}` is not a valid strftime format", shorten(format)),
    })
}

/// `{{truncate text 30}}`: Django's `truncatechars`.
fn truncate(args: &[&Value]) -> Result<String, String> {
    let [v, n] = args else {
        return Err(format!(
            "truncate: takes a text and a length, got {}",
            crate::config::diagnostic::count(args.len(), "argument", "arguments")
        ));
    };
    let n = match n {
        Value::Number(n) => n.as_i64().or_else(|| n.as_u64().map(|_| i64::MAX)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "truncate: the length must be a whole number, got {}",
            shorten(&n.to_string())
        )
    })?;
    let s = scalar_text("truncate", v)?;
    Ok(truncate_chars(&s, usize::try_from(n).unwrap_or(0)))
}

/// At most `n` characters (not bytes), the last one `…` when the text was cut; nothing for 0.
pub fn truncate_chars(s: &str, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    match s.char_indices().nth(n) {
        None => s.to_string(),
        Some(_) => {
            let keep = s.char_indices().nth(n - 1).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..keep])
        }
    }
}

/// `{{pluralize count}}` ("" for 1, "s" otherwise), `{{pluralize count "es"}}`,
/// `{{pluralize count "y" "ies"}}` or Django's `{{pluralize count "y,ies"}}`.
fn pluralize(args: &[&Value]) -> Result<String, String> {
    let suffix = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "pluralize: a suffix must be a string, got {}",
            shorten(&other.to_string())
        )),
    };
    let (count, singular, plural) = match args {
        [c] => (*c, String::new(), "s".to_string()),
        [c, p] => {
            let p = suffix(p)?;
            match p.split_once(',') {
                Some((_, rest)) if rest.contains(',') => {
                    return Err(format!(
                        "pluralize: `{}` has more than one comma",
                        shorten(&p)
                    ))
                }
                Some((s, p)) => (*c, s.to_string(), p.to_string()),
                None => (*c, String::new(), p),
            }
        }
        [c, s, p] => (*c, suffix(s)?, suffix(p)?),
        _ => {
            return Err(format!(
                "pluralize: takes a count and up to two suffixes, got {} arguments",
                args.len()
            ))
        }
    };
    Ok(match is_one(count) {
        Some(true) => singular,
        Some(false) => plural,
        None => String::new(),
    })
}

/// Whether Django's `pluralize` takes a value as one: numbers (and numeric strings) equal to 1,
/// lists and maps of one item, `true`. `None` (no suffix at all) for null and other strings.
fn is_one(v: &Value) -> Option<bool> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f == 1.0),
        Value::String(s) => s.trim().parse::<f64>().ok().map(|f| f == 1.0),
        Value::Bool(b) => Some(*b),
        Value::Array(a) => Some(a.len() == 1),
        Value::Object(o) => Some(o.len() == 1),
        Value::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use handlebars::Handlebars;
    use serde_json::{json, Value};

    use super::{capitalize_str, check_date_format, format_date, register, truncate_chars};
    use crate::routing::Router;

    fn handlebars() -> Handlebars<'static> {
        let mut h = Handlebars::new();
        let router = Router::new(vec![]).expect("empty router");
        register(&mut h, Arc::new(router), &"/static/".into());
        h
    }

    fn render(template: &str, ctx: &Value) -> Result<String, String> {
        handlebars()
            .render_template(template, ctx)
            .map_err(|e| e.to_string())
    }

    fn ok(template: &str, ctx: &Value) -> String {
        render(template, ctx).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    #[test]
    fn new_helpers_are_listed_and_registered() {
        for (name, call) in [
            ("markdown", r#"{{markdown "x"}}"#),
            ("date", r#"{{date "2026-11-21"}}"#),
            ("truncate", r#"{{truncate "x" 1}}"#),
            ("pluralize", "{{pluralize 2}}"),
        ] {
            assert!(super::NAMES.contains(&name), "{name}");
            // An unregistered helper called with an argument is a render error.
            let rendered = render(call, &json!({}));
            assert!(rendered.is_ok(), "{name}: {rendered:?}");
        }
    }

    #[test]
    fn markdown_helper_renders_and_sanitises() {
        let ctx = json!({"object": {
            "body": "Hello *world* <script>alert(1)</script><img src=x onerror=\"alert(2)\">\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
        }});
        let html = ok("{{{markdown object.body}}}", &ctx);
        assert!(html.contains("<em>world</em>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<td>2</td>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(html.contains(r#"<img src="x">"#), "{html}");
    }

    #[test]
    fn markdown_helper_null_and_missing_are_empty() {
        let ctx = json!({"object": {"body": null}});
        assert_eq!(ok("[{{{markdown object.body}}}]", &ctx), "[]");
        assert_eq!(ok("[{{{markdown object.nothing}}}]", &ctx), "[]");
        assert_eq!(ok("[{{{markdown nothing.at.all}}}]", &ctx), "[]");
    }

    #[test]
    fn markdown_helper_double_braces_escape() {
        let ctx = json!({"b": "*x*"});
        assert_eq!(
            ok("{{markdown b}}", &ctx),
            "&lt;p&gt;&lt;em&gt;x&lt;/em&gt;&lt;/p&gt;\n"
        );
    }

    #[test]
    fn markdown_helper_rejects_lists() {
        let err = render("{{{markdown b}}}", &json!({"b": [1, 2]})).unwrap_err();
        assert!(err.contains("markdown: expected text, got [1,2]"), "{err}");
    }

    #[test]
    fn date_default_formats() {
        for (value, expected) in [
            ("2026-11-21", "2026-11-21"),
            ("2026-11-21T10:30:00", "2026-11-21 10:30"),
            ("2026-11-21 10:30:00", "2026-11-21 10:30"),
            ("2026-11-21T10:30", "2026-11-21 10:30"),
            ("2026-11-21T10:30:59.123456", "2026-11-21 10:30"),
            ("2026-11-21T10:30:00Z", "2026-11-21 10:30"),
            ("2026-11-21T23:30:00-05:00", "2026-11-21 23:30"),
        ] {
            assert_eq!(format_date(value, None).as_deref(), Ok(expected), "{value}");
        }
    }

    #[test]
    fn date_strftime_formats() {
        for (value, format, expected) in [
            ("2026-11-21", "%B %-d, %Y", "November 21, 2026"),
            ("2026-11-01", "%B %-d, %Y", "November 1, 2026"),
            ("2026-11-01", "%d/%m/%y", "01/11/26"),
            ("2026-11-21", "%A", "Saturday"),
            (
                "2026-11-21T10:30:00",
                "%B %-d, %Y at %H:%M",
                "November 21, 2026 at 10:30",
            ),
            (
                "2026-11-21 08:05:09.5",
                "%-I:%M:%S%.3f %p",
                "8:05:09.500 AM",
            ),
            ("2026-11-21T10:30:00+01:00", "%H:%M %z", "10:30 +0100"),
            ("2026-11-21T10:30:00+0530", "%H:%M %:z", "10:30 +05:30"),
            ("2026-11-21T10:30:00-08", "%H:%M %:z", "10:30 -08:00"),
            ("2026-11-21T10:30:00Z", "%H:%M %:z", "10:30 +00:00"),
            ("2026-11-21", "100%% sure", "100% sure"),
        ] {
            assert_eq!(
                format_date(value, Some(format)).as_deref(),
                Ok(expected),
                "{value} {format}"
            );
        }
    }

    #[test]
    fn date_named_formats() {
        for (value, format, expected) in [
            ("2026-11-21", "iso", "2026-11-21"),
            ("2026-11-21 10:30:00", "iso", "2026-11-21T10:30:00"),
            ("2026-11-21T10:30:00.250", "iso", "2026-11-21T10:30:00.250"),
            (
                "2026-11-21T10:30:00+01:00",
                "iso",
                "2026-11-21T10:30:00+01:00",
            ),
            (
                "2026-11-21T10:30:00.5+01:00",
                "iso",
                "2026-11-21T10:30:00.500+01:00",
            ),
            ("2026-11-21T10:30:00Z", "iso", "2026-11-21T10:30:00Z"),
            ("2026-11-21T10:30:00+00:00", "iso", "2026-11-21T10:30:00Z"),
            (
                "2026-11-21T10:30:00+01:00",
                "rfc2822",
                "Sat, 21 Nov 2026 10:30:00 +0100",
            ),
            (
                "2026-11-21T10:30:00Z",
                "rfc2822",
                "Sat, 21 Nov 2026 10:30:00 +0000",
            ),
            (
                "2026-11-21T10:30:00",
                "rfc2822",
                "Sat, 21 Nov 2026 10:30:00 -0000",
            ),
            ("2026-11-01", "rfc2822", "Sun, 01 Nov 2026 00:00:00 -0000"),
        ] {
            assert_eq!(
                format_date(value, Some(format)).as_deref(),
                Ok(expected),
                "{value} {format}"
            );
        }
        // Same as chrono's own RFC 2822 and RFC 3339 writers for a datetime with an offset.
        let dt = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:30:00+01:00").unwrap();
        assert_eq!(
            format_date("2026-11-21T10:30:00+01:00", Some("rfc2822")),
            Ok(dt.to_rfc2822())
        );
        assert_eq!(
            format_date("2026-11-21T10:30:00+01:00", Some("iso")),
            Ok(dt.to_rfc3339())
        );
    }

    #[test]
    fn date_rejects_values_that_do_not_parse() {
        for value in [
            "",
            "tomorrow",
            "21/11/2026",
            "2026-11-31",
            "2026-13-01",
            "26-11-21",
            "2026-11-21T25:00:00",
            "2026-11-21T10:30:00+25:00",
            "2026-11-21T10:30:00 +01:00",
            "2026-11-21T1:30",
            "2026-11-21X10:30",
            " 2026-11-21",
            "2026-11-21T10:30:00+01:00garbage",
        ] {
            let err = format_date(value, None).unwrap_err();
            assert!(err.starts_with("date: cannot read `"), "{value}: {err}");
            assert!(err.contains(value), "{value}: {err}");
        }
    }

    /// What `check` says of a literal format: every format `format_date` could never use, and
    /// none it can (a format that only a date's lack of time refuses is fine statically).
    #[test]
    fn a_date_format_is_checked_without_a_value() {
        for ok in [
            "iso",
            "rfc2822",
            "%Y",
            "%B %-d, %Y",
            "%H:%M %:z %.3f",
            "100%%",
            "plain",
        ] {
            assert_eq!(check_date_format(ok), Ok(()), "{ok}");
        }
        for (bad, said) in [
            ("%Q", "date: `%Q` is not a strftime specifier"),
            (
                "%Y-%Q",
                "date: `%Q` is not a strftime specifier (in `%Y-%Q`)",
            ),
            (
                "%B %-Q",
                "date: `%-Q` is not a strftime specifier (in `%B %-Q`)",
            ),
            ("%Y %", "date: `%Y %` is not a valid strftime format"),
        ] {
            assert_eq!(check_date_format(bad), Err(said.to_string()), "{bad}");
        }
    }

    #[test]
    fn date_rejects_invalid_formats_without_panicking() {
        for (value, format, wanted) in [
            ("2026-11-21", "%Q", "is not a valid strftime format"),
            ("2026-11-21", "%", "is not a valid strftime format"),
            ("2026-11-21", "%H:%M", "a date has no time or offset"),
            ("2026-11-21T10:30:00", "%z", "this datetime has no offset"),
            ("2026-11-21", "%z", "a date has no time or offset"),
        ] {
            let err = format_date(value, Some(format)).unwrap_err();
            assert!(err.starts_with("date: "), "{value} {format}: {err}");
            assert!(err.contains(value), "{value} {format}: {err}");
            assert!(err.contains(wanted), "{value} {format}: {err}");
        }
    }

    #[test]
    fn date_helper_through_handlebars() {
        let ctx = json!({
            "d": "2026-11-21",
            "dt": "2026-11-21T10:30:00+01:00",
            "n": null,
            "fmt": "%d.%m.%Y",
            "list": [{"date": "2026-01-02"}],
        });
        assert_eq!(ok(r#"{{date d "%B %-d, %Y"}}"#, &ctx), "November 21, 2026");
        assert_eq!(ok("{{date d}}", &ctx), "2026-11-21");
        assert_eq!(ok("{{date d fmt}}", &ctx), "21.11.2026");
        assert_eq!(ok("{{date d missing_format}}", &ctx), "2026-11-21");
        assert_eq!(ok("{{date dt}}", &ctx), "2026-11-21 10:30");
        assert_eq!(
            ok(r#"{{date dt "iso"}}"#, &ctx),
            "2026-11-21T10:30:00+01:00"
        );
        assert_eq!(ok("[{{date n}}][{{date missing}}]", &ctx), "[][]");
        // Output is escaped like any value.
        assert_eq!(ok(r#"{{date d "<%Y>"}}"#, &ctx), "&lt;2026&gt;");
        // A bare `{{date}}` is still the field called `date`.
        assert_eq!(ok("{{#each list}}{{date}}{{/each}}", &ctx), "2026-01-02");
        assert_eq!(ok("[{{date}}]", &ctx), "[]");
    }

    #[test]
    fn date_helper_errors_name_helper_and_value() {
        let ctx = json!({"d": "2026-11-21", "bad": "next tuesday", "n": 17});
        let err = render("{{date bad}}", &ctx).unwrap_err();
        assert!(err.contains("date: cannot read `next tuesday`"), "{err}");
        let err = render(r#"{{date d "%Q"}}"#, &ctx).unwrap_err();
        assert!(
            err.contains("date: `%Q` is not a valid strftime format"),
            "{err}"
        );
        assert!(err.contains("2026-11-21"), "{err}");
        let err = render(r#"{{date d "%H"}}"#, &ctx).unwrap_err();
        assert!(
            err.contains("date: cannot format `2026-11-21` with `%H`"),
            "{err}"
        );
        let err = render("{{date n}}", &ctx).unwrap_err();
        assert!(err.contains("date: expected an ISO-8601 date or datetime string, got 17"));
        let err = render("{{date d 5}}", &ctx).unwrap_err();
        assert!(
            err.contains("date: the format must be a string, got 5"),
            "{err}"
        );
        let err = render(r#"{{date d "%Y" "x"}}"#, &ctx).unwrap_err();
        assert!(
            err.contains("date: takes a value and an optional format"),
            "{err}"
        );
        let err = render(r#"{{date d format="%Y"}}"#, &ctx).unwrap_err();
        assert!(err.contains("date: takes no key=value arguments"), "{err}");
    }

    #[test]
    fn truncate_counts_chars_not_bytes() {
        assert_eq!(truncate_chars("hello world", 20), "hello world");
        assert_eq!(truncate_chars("hello world", 11), "hello world");
        assert_eq!(truncate_chars("hello world", 10), "hello wor…");
        assert_eq!(truncate_chars("hello world", 1), "…");
        assert_eq!(truncate_chars("hello world", 0), "");
        assert_eq!(truncate_chars("", 3), "");
        assert_eq!(truncate_chars("héllo wörld", 7), "héllo …");
        assert_eq!(truncate_chars("日本語のテキスト", 4), "日本語…");
        assert_eq!(truncate_chars("日本語", 3), "日本語");
        assert_eq!(truncate_chars("🦀🦀🦀🦀", 3), "🦀🦀…");
        let cut = truncate_chars("ünïcödé ünïcödé", 9);
        assert_eq!(cut.chars().count(), 9);
        assert_eq!(cut, "ünïcödé …");
    }

    #[test]
    fn truncate_helper_through_handlebars() {
        let ctx = json!({"t": "Grüße aus Köln", "n": null, "num": 1234567, "len": "6"});
        assert_eq!(ok("{{truncate t 30}}", &ctx), "Grüße aus Köln");
        assert_eq!(ok("{{truncate t 8}}", &ctx), "Grüße a…");
        assert_eq!(ok("{{truncate t len}}", &ctx), "Grüße…");
        assert_eq!(ok("{{truncate t -1}}", &ctx), "");
        assert_eq!(ok("{{truncate num 4}}", &ctx), "123…");
        assert_eq!(
            ok("[{{truncate n 4}}][{{truncate missing 4}}]", &ctx),
            "[][]"
        );
        assert_eq!(ok("{{truncate \"<b>bold</b>\" 4}}", &ctx), "&lt;b&gt;…");
        let err = render("{{truncate t}}", &ctx).unwrap_err();
        assert!(err.contains("truncate: takes a text and a length"), "{err}");
        let err = render("{{truncate t 2.5}}", &ctx).unwrap_err();
        assert!(err.contains("truncate: the length must be a whole number, got 2.5"));
        let err = render("{{truncate t \"ten\"}}", &ctx).unwrap_err();
        assert!(
            err.contains("truncate: the length must be a whole number"),
            "{err}"
        );
    }

    #[test]
    fn pluralize_like_django() {
        let ctx = json!({
            "zero": 0, "one": 1, "two": 2, "onef": 1.0, "half": 0.5,
            "s1": "1", "s2": "2", "word": "many", "none": null,
            "l1": [1], "l2": [1, 2], "l0": [],
        });
        for (template, expected) in [
            ("{{pluralize zero}}", "s"),
            ("{{pluralize one}}", ""),
            ("{{pluralize two}}", "s"),
            ("{{pluralize onef}}", ""),
            ("{{pluralize half}}", "s"),
            ("{{pluralize s1}}", ""),
            ("{{pluralize s2}}", "s"),
            ("{{pluralize l0}}", "s"),
            ("{{pluralize l1}}", ""),
            ("{{pluralize l2}}", "s"),
            ("[{{pluralize word}}]", "[]"),
            ("[{{pluralize none}}]", "[]"),
            ("[{{pluralize missing}}]", "[]"),
            (r#"{{pluralize zero "es"}}"#, "es"),
            (r#"[{{pluralize one "es"}}]"#, "[]"),
            (r#"{{pluralize zero "y" "ies"}}"#, "ies"),
            (r#"{{pluralize one "y" "ies"}}"#, "y"),
            (r#"{{pluralize two "y" "ies"}}"#, "ies"),
            (r#"{{pluralize one "y,ies"}}"#, "y"),
            (r#"{{pluralize two "y,ies"}}"#, "ies"),
            (r#"{{two}} cherr{{pluralize two "y" "ies"}}"#, "2 cherries"),
        ] {
            assert_eq!(ok(template, &ctx), expected, "{template}");
        }
        let err = render(r#"{{pluralize one "a,b,c"}}"#, &ctx).unwrap_err();
        assert!(
            err.contains("pluralize: `a,b,c` has more than one comma"),
            "{err}"
        );
        let err = render(r#"{{pluralize one "a" "b" "c"}}"#, &ctx).unwrap_err();
        assert!(
            err.contains("pluralize: takes a count and up to two suffixes"),
            "{err}"
        );
        let err = render("{{pluralize one 5}}", &ctx).unwrap_err();
        assert!(
            err.contains("pluralize: a suffix must be a string, got 5"),
            "{err}"
        );
    }

    #[test]
    fn capitalize_matches_python() {
        for (input, python) in [
            ("alice", "Alice"),
            ("ALICE", "Alice"),
            ("élan", "Élan"),
            ("ßx", "Ssx"),
            ("ǄX", "ǅx"),
            ("ﬁx", "Fix"),
            ("ΟΔΟΣ", "Οδος"),
            ("ΑΣ", "Ας"),
            ("", ""),
            ("1abc", "1abc"),
        ] {
            assert_eq!(capitalize_str(input), python, "{input}");
        }
    }
}
