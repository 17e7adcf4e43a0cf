//! Properties, checked on generated inputs (proptest, a few hundred cases each so that the
//! suite stays fast; a failure prints the smallest input found):
//!
//! - routing: for routes made of literal segments and the built-in converters, `reverse` then
//!   `resolve` (after the request's decoding) gives back the route and the very values;
//! - the query parser: any query string is split and typed without a panic, and a declared
//!   parameter reads back what was written for it;
//! - the YAML loader: any text as `site.yaml`, or YAML-shaped noise, loads into a site or into
//!   diagnostics, never a panic.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use proptest::prelude::*;
use serde_json::{json, Value};
use trellis::config::raw::RawQueryParam;
use trellis::query::QuerySpec;
use trellis::routing::{converters, Args, Converter, Params, Pattern, Router};
use trellis::views::Request;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are shrunk and printed; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One segment of a generated route: a literal, or a capture with a value that fits it.
#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Capture(&'static str, Value),
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        "[a-z][a-z0-9._~-]{0,6}".prop_map(Segment::Literal),
        // Anything but a slash, spaces, `%`, `?`, `#`, line breaks and other scripts included.
        "[^/]{1,10}".prop_map(|s| Segment::Capture("str", Value::String(s))),
        (0u64..=u64::from(u32::MAX)).prop_map(|n| Segment::Capture("int", json!(n))),
        "[-a-zA-Z0-9_]{1,10}".prop_map(|s| Segment::Capture("slug", Value::String(s))),
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
            .prop_map(|s| Segment::Capture("uuid", Value::String(s))),
    ]
}

/// A route: a unique first segment (so that no other route takes its URLs), then segments,
/// then perhaps a `path` capture at the end (it would swallow what followed it).
#[derive(Debug, Clone)]
struct Route {
    segments: Vec<Segment>,
    rest: Option<String>,
}

fn route() -> impl Strategy<Value = Route> {
    (
        prop::collection::vec(segment(), 0..4),
        // Segments of anything but a line break (`path` is Django's `.+`).
        prop::option::of("[^\n\r/]{1,6}(/[^\n\r/]{0,6}){0,3}"),
    )
        .prop_map(|(segments, rest)| Route { segments, rest })
}

impl Route {
    /// The path syntax of route `i`, and the values its captures take.
    fn pattern_and_values(&self, i: usize) -> (String, Params) {
        let mut path = format!("r{i}/");
        let mut values = Params::new();
        for (n, s) in self.segments.iter().enumerate() {
            match s {
                Segment::Literal(l) => path.push_str(&format!("{l}/")),
                Segment::Capture(conv, v) => {
                    path.push_str(&format!("<{conv}:p{n}>/"));
                    values.insert(format!("p{n}"), v.clone());
                }
            }
        }
        if let Some(rest) = &self.rest {
            path.push_str("<path:rest>");
            values.insert("rest".into(), Value::String(rest.clone()));
        }
        (path, values)
    }
}

fn builtins() -> HashMap<String, Arc<Converter>> {
    converters::BUILTINS
        .iter()
        .map(|(n, _, _)| (n.to_string(), Arc::new(Converter::builtin(n).unwrap())))
        .collect()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn reverse_then_resolve_gives_back_the_route_and_its_values(
        routes in prop::collection::vec(route(), 1..5),
        shared_name in any::<bool>(),
    ) {
        let conv = builtins();
        let compiled: Vec<(String, Params)> = routes
            .iter()
            .enumerate()
            .map(|(i, r)| r.pattern_and_values(i))
            .collect();
        // Routes may share a name; `reverse` then tries them, last first, by their arguments.
        let name = |i: usize| if shared_name { "same".to_string() } else { format!("route{i}") };
        let table = compiled
            .iter()
            .enumerate()
            .map(|(i, (path, _))| (Pattern::parse_path(path, &conv).unwrap(), Some(name(i))))
            .collect();
        let router = Router::new(table).unwrap();
        for (i, (path, values)) in compiled.iter().enumerate() {
            // With a shared name, a later route taking the same arguments may answer first:
            // its URL is then checked below as its own.
            let url = router
                .reverse(&name(i), Args::Named(values))
                .unwrap_or_else(|e| panic!("reverse {path} with {values:?}: {e:?}"));
            let (request, undecodable) = Request::from_parts("GET", &url, "");
            prop_assert!(undecodable.is_none(), "{url}: {undecodable:?}");
            let found = router.resolve(request.path.strip_prefix('/').unwrap_or(&request.path));
            let found = found.unwrap_or_else(|| panic!("{url} (from {path}) resolves to nothing"));
            // Only the route whose URL this is can match it: its first segment is its own.
            let owner = url.trim_start_matches("/r").split('/').next().unwrap();
            let owner: usize = owner.parse().unwrap();
            prop_assert_eq!(found.index, owner, "{} from {}", url, path);
            if owner == i {
                prop_assert_eq!(&found.params, values, "{} from {}", url, path);
            }
        }
    }
}

/// A route's declared parameters, as a site would write them.
fn spec() -> QuerySpec {
    let raw: IndexMap<String, RawQueryParam> = serde_json::from_value(json!({
        "s": { "type": "str", "default": "" },
        "n": { "type": "int", "default": 1, "min": -5, "max": 1000000 },
        "f": { "type": "float" },
        "b": { "type": "bool", "default": false },
        "l": { "type": "list", "items": "int" },
        "e": { "type": "int", "on_invalid": "error" },
        "c": { "type": "str", "choices": ["a", "b"], "default": "a" },
    }))
    .unwrap();
    QuerySpec::compile(&raw).unwrap()
}

fn form(pairs: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_query_string_is_parsed_without_a_panic(query in "[a-z=&%0-9A-F+;.,\\[\\]é\u{0}-\u{7f}]{0,60}") {
        let spec = spec();
        let (request, _) = Request::from_parts("GET", "/", &query);
        // An invalid value is a 400 (for `e`) or the default, never a panic.
        if let Ok(values) = spec.extract(&request.pairs) {
            prop_assert!(values["n"].is_i64(), "{query}: {values:?}");
            prop_assert!(values["b"].is_boolean(), "{query}: {values:?}");
            prop_assert!(values["l"].is_array(), "{query}: {values:?}");
        }
    }

    #[test]
    fn declared_parameters_read_back_what_was_written(
        s in "\\PC{0,20}",
        n in -5i64..=1_000_000,
        f in -1.0e12f64..1.0e12,
        b in any::<bool>(),
        l in prop::collection::vec(any::<i32>(), 0..4),
        c in prop::sample::select(vec!["a", "b"]),
    ) {
        let mut pairs = vec![
            ("s", s.clone()),
            ("n", n.to_string()),
            ("f", f.to_string()),
            ("b", b.to_string()),
            ("c", c.to_string()),
        ];
        pairs.extend(l.iter().map(|i| ("l", i.to_string())));
        let query = form(&pairs);
        let (request, undecodable) = Request::from_parts("GET", "/", &query);
        prop_assert!(undecodable.is_none());
        let values = spec().extract(&request.pairs).unwrap();
        prop_assert_eq!(&values["s"], &json!(s));
        prop_assert_eq!(&values["n"], &json!(n));
        prop_assert_eq!(values["f"].as_f64(), Some(f));
        prop_assert_eq!(&values["b"], &json!(b));
        prop_assert_eq!(&values["c"], &json!(c));
        let expected = if l.is_empty() { json!([]) } else { json!(l) };
        prop_assert_eq!(&values["l"], &expected);
    }
}

/// Pieces of YAML (and of site.yaml's keys) that noise is made of.
const YAML_TOKENS: &[&str] = &[
    "site:",
    "routes:",
    "models:",
    "converters:",
    "errors:",
    "security:",
    "hsts:",
    "max_age:",
    "path:",
    "view:",
    "template:",
    "include:",
    "fields:",
    "type:",
    "query:",
    "regex:",
    "- ",
    "? ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\n",
    "\n  ",
    "\n    ",
    "\t",
    "\"",
    "'",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!tag ",
    "|",
    ">",
    "#",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "~",
    "null",
    "yes",
    "-1",
    "1e999",
    "0x1F",
    "<int:x>/",
    "<path:p>",
    "(?P<y>",
    "\u{0}",
    "é",
    "\u{feff}",
];

fn yaml_noise() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(YAML_TOKENS).prop_map(str::to_string),
            1 => "[a-z0-9 ]{1,6}",
        ],
        0..40,
    )
    .prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn any_site_yaml_loads_or_reports_never_panics(
        text in prop_oneof![yaml_noise(), "\\PC{0,200}", any::<String>()],
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("site.yaml"), &text).unwrap();
        if let Err(errors) = trellis::Site::load(dir.path()) {
            prop_assert!(!errors.is_empty(), "an error with no diagnostic for {text:?}");
        }
    }
}
