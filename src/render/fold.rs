//! Constant folding of compiled templates: a `{{url "name" …}}` or `{{static "path"}}` whose
//! arguments are all literals gives the same text on every request, so it is worked out once,
//! when the site loads, and put in the template as plain text (escaped as the helper's output
//! would have been). A layout's navigation links then cost nothing per request.
//!
//! Only whole expressions are folded (`{{url …}}` and `{{{url …}}}`), never subexpressions, and
//! a call that fails (an unknown route, a missing argument) is left alone, so rendering reports
//! it exactly as before.

use handlebars::template::{Parameter, Template, TemplateElement};
use serde_json::Value;

use super::helpers::url_for;
use crate::routing::Router;
use crate::statics::StaticUrls;

/// Fold every literal `url` and `static` call in `t`, its blocks and partial blocks.
pub fn fold(
    t: &mut Template,
    router: &Router,
    statics: &StaticUrls,
    escape: &dyn Fn(&str) -> String,
) {
    for el in &mut t.elements {
        let folded = match el {
            TemplateElement::Expression(ht) => {
                literal_call(&ht.name, &ht.params, &ht.hash, router, statics)
                    .map(|text| escape(&text))
            }
            TemplateElement::HtmlExpression(ht) => {
                literal_call(&ht.name, &ht.params, &ht.hash, router, statics)
            }
            TemplateElement::HelperBlock(ht) => {
                for inner in ht.template.iter_mut().chain(ht.inverse.iter_mut()) {
                    fold(inner, router, statics, escape);
                }
                None
            }
            TemplateElement::PartialBlock(dt) | TemplateElement::DecoratorBlock(dt) => {
                if let Some(inner) = dt.template.as_mut() {
                    fold(inner, router, statics, escape);
                }
                None
            }
            _ => None,
        };
        if let Some(text) = folded {
            *el = TemplateElement::RawString(text);
        }
    }
}

fn literal(p: &Parameter) -> Option<&Value> {
    match p {
        Parameter::Literal(v) => Some(v),
        _ => None,
    }
}

/// The output of a `url` or `static` call whose arguments are all literals, if it succeeds.
fn literal_call(
    name: &Parameter,
    params: &[Parameter],
    hash: &std::collections::HashMap<String, Parameter>,
    router: &Router,
    statics: &StaticUrls,
) -> Option<String> {
    let helper = match name {
        Parameter::Name(n) => n.as_str(),
        _ => return None,
    };
    let args: Vec<&Value> = params.iter().map(literal).collect::<Option<_>>()?;
    let named: Vec<(&str, &Value)> = hash
        .iter()
        .map(|(k, p)| literal(p).map(|v| (k.as_str(), v)))
        .collect::<Option<_>>()?;
    match (helper, args.split_first()) {
        ("url", Some((Value::String(route), rest))) => {
            url_for(router, route, rest, named.into_iter()).ok()
        }
        ("static", Some((Value::String(path), []))) if named.is_empty() => Some(statics.url(path)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use handlebars::template::{Template, TemplateElement};
    use handlebars::Handlebars;
    use serde_json::json;

    use super::fold;
    use crate::routing::pattern::Pattern;
    use crate::routing::Router;

    fn router() -> Router {
        let p = Pattern::parse_regex("^a b/(?P<slug>[^/]+)/$").unwrap();
        let q = Pattern::parse_regex("^$").unwrap();
        Router::new(vec![(p, Some("page".into())), (q, Some("home".into()))]).unwrap()
    }

    /// The text a template gives, before and after folding, and how many raw strings it has.
    fn both(src: &str) -> (String, String, usize) {
        let router = Arc::new(router());
        let mut h = Handlebars::new();
        crate::render::helpers::register(&mut h, router.clone(), &"/static/".into());
        let ctx = json!({ "slug": "x&y", "items": [1] });
        let t = Template::compile(src).unwrap();
        h.register_template("plain", t.clone());
        let mut folded = t;
        fold(&mut folded, &router, &"/static/".into(), h.get_escape_fn());
        let raw = folded
            .elements
            .iter()
            .filter(|e| matches!(e, TemplateElement::RawString(_)))
            .count();
        h.register_template("folded", folded);
        (
            h.render("plain", &ctx).unwrap_or_else(|e| e.to_string()),
            h.render("folded", &ctx).unwrap_or_else(|e| e.to_string()),
            raw,
        )
    }

    #[test]
    fn literal_calls_become_text_with_the_same_output() {
        let (plain, folded, raw) =
            both(r#"{{url "page" slug="it's <b>"}}|{{{url "home"}}}|{{static "a b.css"}}"#);
        assert_eq!(plain, folded);
        assert_eq!(folded, "/a%20b/it&#x27;s%20%3Cb%3E/|/|/static/a%20b.css");
        // Three calls and the two separators, all plain text now.
        assert_eq!(raw, 5);
    }

    #[test]
    fn calls_with_values_from_the_context_stay_calls() {
        let (plain, folded, raw) = both(r#"{{url "page" slug=slug}}"#);
        assert_eq!(plain, folded);
        assert_eq!(folded, "/a%20b/x&amp;y/");
        assert_eq!(raw, 0);
    }

    #[test]
    fn calls_inside_blocks_are_folded_and_failures_left_to_render() {
        let (plain, folded, _) = both(r#"{{#each items}}{{url "home"}}{{/each}}"#);
        assert_eq!((plain.as_str(), folded.as_str()), ("/", "/"));
        let (plain, folded, raw) = both(r#"{{url "nowhere"}}"#);
        assert_eq!(plain, folded);
        assert!(folded.contains("no route is named `nowhere`"), "{folded}");
        assert_eq!(raw, 0);
    }
}
