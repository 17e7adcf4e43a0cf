//! Template helpers: `url` (reverse a route name), `static` (a static file's URL),
//! `capitalize` (Python's `str.capitalize`), `capfirst` (Django's filter), `lower`, `upper`,
//! `default`. Handlebars' own `eq`, `ne`, `lt`, `gt`, `and`, `or`, `not`, `len` are there too.

use std::sync::Arc;

use handlebars::{
    handlebars_helper, Context, Handlebars, Helper, HelperDef, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value;

use crate::routing::{quote, Params, Router};

/// Every helper a template can call: ours, then the ones Handlebars registers itself.
pub const NAMES: &[&str] = &[
    "url",
    "static",
    "capitalize",
    "capfirst",
    "lower",
    "upper",
    "default",
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

pub fn register(h: &mut Handlebars<'static>, router: Arc<Router>, static_url: &str) {
    h.register_helper("url", Box::new(UrlHelper { router }));
    h.register_helper(
        "static",
        Box::new(StaticHelper {
            prefix: static_url.to_string(),
        }),
    );
    h.register_helper("capitalize", Box::new(capitalize));
    h.register_helper("capfirst", Box::new(capfirst));
    h.register_helper("lower", Box::new(lower));
    h.register_helper("upper", Box::new(upper));
    h.register_helper("default", Box::new(default));
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

/// `{{url "name" key=value}}` or `{{url "name" value1 value2}}` (positional, in the route's
/// parameter order).
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
        let index = self
            .router
            .lookup(&name)
            .ok_or_else(|| fail(format!("url: no route is named `{name}`")))?;
        let mut args = Params::new();
        let wanted = self.router.pattern(index).param_names();
        for (i, p) in h.params().iter().skip(1).enumerate() {
            let key = wanted
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("#{}", i + 1));
            args.insert(key, p.value().clone());
        }
        for (k, v) in h.hash() {
            args.insert(k.to_string(), v.value().clone());
        }
        let url = self
            .router
            .reverse(&name, &args)
            .map_err(|e| fail(format!("url: {e}")))?;
        Ok(ScopedJson::Derived(Value::String(url)))
    }
}

/// `{{static "css/site.css"}}` → `/static/css/site.css`.
struct StaticHelper {
    prefix: String,
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
        let url = format!("{}{}", self.prefix, quote(path.trim_start_matches('/')));
        Ok(ScopedJson::Derived(Value::String(url)))
    }
}

#[cfg(test)]
mod tests {
    use super::capitalize_str;

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
