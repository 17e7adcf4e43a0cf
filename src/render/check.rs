//! Load-time checks of a parsed template: partials that must exist, `url` calls whose route
//! name is literal (their arguments must fit a form of a route of that name, and reverse when
//! they are literals too) and `date` calls whose format is literal (it must be one chrono
//! knows), so that a mistake is a `check` error, not a 500 later.

use std::collections::HashMap;
use std::path::Path;

use handlebars::template::{Parameter, TemplateElement};
use handlebars::{JsonValue, Template};

use crate::config::diagnostic::{suggestion, Diagnostic};
use crate::routing::{Args, Params, Part, ReverseError, Router, Shape};

/// What a bad literal `date` format is told.
const DATE_HINT: &str = "a chrono strftime format such as \"%B %-d, %Y\" (see https://docs.rs/chrono/latest/chrono/format/strftime/), or \"iso\" or \"rfc2822\"";

pub fn check(
    t: &Template,
    file: &Path,
    text: &str,
    names: &[String],
    router: &Router,
    is_helper: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut inline = Vec::new();
    collect_inline(t, &mut inline);
    let mut out = Vec::new();
    walk(t, &mut |el, pos| {
        let at = |msg: String, hint: Option<String>| {
            let d = Diagnostic::new(file, msg).with_hint(hint);
            match pos {
                Some((line, col)) => d.at_pos(text, line, col),
                None => d,
            }
        };
        match el {
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let Some(name) = param_name(&d.name) else {
                    return;
                };
                if name.starts_with('@') || inline.contains(&name) {
                    return;
                }
                let canonical = super::canonical(&name).to_string();
                if !names.contains(&canonical) {
                    out.push(at(
                        format!("no template `{name}` for this partial"),
                        suggestion(&canonical, names.iter().map(String::as_str)),
                    ));
                }
            }
            TemplateElement::Expression(h)
            | TemplateElement::HtmlExpression(h)
            | TemplateElement::HelperBlock(h) => {
                let called = param_name(&h.name).unwrap_or_default();
                let needs_arg = ["if", "unless", "each", "with", "lookup"];
                if h.params.is_empty()
                    && needs_arg.contains(&called.as_str())
                    && matches!(el, TemplateElement::HelperBlock(_))
                {
                    out.push(at(
                        format!("`{{{{#{called}}}}}` needs a value: `{{{{#{called} something}}}}`"),
                        None,
                    ));
                    return;
                }
                let has_args = !h.params.is_empty() || !h.hash.is_empty();
                if has_args && matches!(h.name, Parameter::Name(_)) && !is_helper(&called) {
                    out.push(at(
                        format!("no helper `{called}`"),
                        suggestion(&called, super::helpers::NAMES.iter().copied()),
                    ));
                    return;
                }
                if called == "date" {
                    if let Some((why, hint)) = check_date(&h.params) {
                        out.push(at(why, hint));
                    }
                    return;
                }
                if called != "url" {
                    return;
                }
                let Some(Parameter::Literal(JsonValue::String(route))) = h.params.first() else {
                    return;
                };
                let (message, hint) = match check_url(route, &h.params[1..], &h.hash, router) {
                    Ok(()) => return,
                    Err(ReverseError::UnknownName(_)) => (
                        format!("url: no route is named `{route}`"),
                        router.suggest(route),
                    ),
                    Err(ReverseError::Shape {
                        problems, takes, ..
                    }) => (
                        format!("url `{route}`: {}", problems.join("; ")),
                        Some(takes),
                    ),
                    Err(ReverseError::Mixed(_)) => (
                        format!(
                            "url `{route}`: give the arguments by position or by name, not both"
                        ),
                        None,
                    ),
                    Err(ReverseError::Value(_, why)) => (
                        format!("url `{route}`: {why}"),
                        converters_taken(router, route),
                    ),
                };
                out.push(at(message, hint));
            }
            _ => {}
        }
    });
    out
}

/// What the arguments of the routes called `name` take: the route is `/archive/<year:year>/`:
/// `year` must match `[0-9]{4}`.
fn converters_taken(router: &Router, name: &str) -> Option<String> {
    let mut out = Vec::new();
    for &i in router.routes_named(name) {
        let pattern = router.pattern(i);
        let takes: Vec<String> = pattern
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Param { name, converter } => Some(match &converter.values {
                    Some(values) => format!("`{name}` must be one of {}", values.join(", ")),
                    None => format!("`{name}` must match `{}`", converter.regex),
                }),
                _ => None,
            })
            .collect();
        if !takes.is_empty() {
            out.push(format!(
                "the route is `{}`: {}",
                pattern.display(),
                takes.join(", ")
            ));
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// A `date` call's mistakes that literals show: a format chrono does not know, and a literal
/// value it cannot read or format.
fn check_date(params: &[Parameter]) -> Option<(String, Option<String>)> {
    let literal = |i: usize| match params.get(i) {
        Some(Parameter::Literal(JsonValue::String(s))) => Some(Some(s.as_str())),
        None => Some(None),
        Some(_) => None,
    };
    if let Some(Some(format)) = literal(1) {
        if let Err(why) = super::helpers::check_date_format(format) {
            return Some((why, Some(DATE_HINT.into())));
        }
    }
    let (Some(Some(value)), Some(format)) = (literal(0), literal(1)) else {
        return None;
    };
    super::helpers::format_date(value, format)
        .err()
        .map(|why| (why, None))
}

/// A `url` call to the route `route`: its arguments must fit a form of a route of that name,
/// and, when they are all literals, reverse to a URL.
fn check_url(
    route: &str,
    positional: &[Parameter],
    hash: &HashMap<String, Parameter>,
    router: &Router,
) -> Result<(), ReverseError> {
    let literal = |p: &Parameter| match p {
        Parameter::Literal(v) => Some(v.clone()),
        _ => None,
    };
    if positional.is_empty() {
        router.check(
            route,
            &Shape::Named(hash.keys().map(String::as_str).collect()),
        )?;
        let values: Option<Params> = hash
            .iter()
            .map(|(k, p)| literal(p).map(|v| (k.clone(), v)))
            .collect();
        if let Some(values) = values {
            router.reverse(route, Args::Named(&values))?;
        }
    } else {
        if !hash.is_empty() {
            return Err(ReverseError::Mixed(route.to_string()));
        }
        router.check(route, &Shape::Positional(positional.len()))?;
        let values: Option<Vec<JsonValue>> = positional.iter().map(literal).collect();
        if let Some(values) = values {
            router.reverse(route, Args::Positional(&values))?;
        }
    }
    Ok(())
}

fn param_name(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(path) => Some(match path {
            handlebars::Path::Relative((_, raw)) => raw.clone(),
            handlebars::Path::Local((_, _, raw)) => raw.clone(),
        }),
        Parameter::Literal(JsonValue::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn collect_inline(t: &Template, out: &mut Vec<String>) {
    walk(t, &mut |el, _| {
        if let TemplateElement::DecoratorBlock(d) = el {
            if param_name(&d.name).as_deref() == Some("inline") {
                if let Some(n) = d.params.first().and_then(param_name) {
                    out.push(n);
                }
            }
        }
    });
}

/// Called with each element and its (line, column).
type Visit<'a> = dyn FnMut(&TemplateElement, Option<(usize, usize)>) + 'a;

fn walk(t: &Template, f: &mut Visit) {
    for (i, el) in t.elements.iter().enumerate() {
        let pos = t.mapping.get(i).map(|m| (m.0, m.1));
        f(el, pos);
        match el {
            TemplateElement::HelperBlock(h) => {
                for sub in [&h.template, &h.inverse].into_iter().flatten() {
                    walk(sub, f);
                }
            }
            TemplateElement::DecoratorBlock(d) | TemplateElement::PartialBlock(d) => {
                if let Some(sub) = &d.template {
                    walk(sub, f);
                }
            }
            _ => {}
        }
    }
}

/// The partials a template calls, by canonical name (`None` for a name computed at render
/// time); the `@partial-block` and inline partials are left out.
pub fn partials(t: &Template) -> Vec<Option<String>> {
    let mut inline = Vec::new();
    collect_inline(t, &mut inline);
    let mut out = Vec::new();
    walk(t, &mut |el, _| {
        if let TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) = el {
            match param_name(&d.name) {
                Some(n) if n.starts_with('@') || inline.contains(&n) => {}
                Some(n) => out.push(Some(super::canonical(&n).to_string())),
                None => out.push(None),
            }
        }
    });
    out
}
