//! URL routing: a pure function from a decoded path to the route that answers it, and its
//! inverse, `reverse`. Routing knows nothing of HTTP, views, templates or SQL.
//!
//! Precedence, as in Django's URL dispatcher:
//! 1. Routes are tried in the order written (includes expanded in place); the first whose
//!    pattern matches the whole path *and* whose converters accept every captured value wins.
//! 2. A converter that rejects a value (an `int` too large for i64, a value outside a `values`
//!    list) means the next route is tried, not an error.
//! 3. The method plays no part in matching: the first matching route answers, and answers 405
//!    itself if it does not accept the method (Django's `View.http_method_not_allowed`).
//!
//! Matching cost does not grow with the number of routes in a way that matters. Routes whose
//! first path segment is literal (`blog/…`, `about/`) are indexed by that segment in a hash
//! map; the others (`<str:name>/`, regexes) are compiled into one `RegexSet`, which finds the
//! matching ones in a single pass over the path. The two candidate lists are merged in route
//! order, and only candidates run their own regex to capture values.

pub mod converters;
pub mod pattern;

use std::collections::HashMap;

use indexmap::IndexMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use regex::{Regex, RegexSet};
use serde_json::Value;

pub use converters::Converter;
pub use pattern::{Part, Pattern, PatternError};

/// Captured values by parameter name, typed by their converters.
pub type Params = IndexMap<String, Value>;

struct Entry {
    pattern: Pattern,
    regex: Regex,
    /// The whole path, when the pattern is only literal text: matched by comparing strings.
    literal: Option<String>,
    /// The capture group of each converter parameter, in order (`__p0`, `__p1`, …).
    groups: Vec<usize>,
    /// The literal text every matching path starts with: a path without it is not tried
    /// against the regex at all.
    prefix: String,
}

/// The compiled route table.
pub struct Router {
    entries: Vec<Entry>,
    /// First path segment (with its `/`, or the whole path) → routes starting with it literally.
    by_segment: HashMap<String, Vec<usize>>,
    /// Routes whose first segment is not literal, and the set that matches them all at once.
    others: Vec<usize>,
    set: RegexSet,
    names: HashMap<String, usize>,
}

/// The first segment of a path: up to and including the first `/`, or the whole path.
fn first_segment(path: &str) -> &str {
    match path.find('/') {
        Some(i) => &path[..=i],
        None => path,
    }
}

/// The literal first segment every path matching `pattern` starts with, if there is one.
fn literal_segment(pattern: &Pattern) -> Option<String> {
    match pattern.parts.first() {
        None => Some(String::new()),
        Some(Part::Literal(l)) => match l.find('/') {
            Some(i) => Some(l[..=i].to_string()),
            None if pattern.parts.len() == 1 => Some(l.clone()),
            None => None,
        },
        Some(_) => None,
    }
}

/// The route that answers a path, with its captured values.
#[derive(Debug, PartialEq)]
pub struct Match {
    pub index: usize,
    pub params: Params,
}

impl Router {
    /// Compile the table. Names must be unique (the caller reports duplicates with positions).
    pub fn new(routes: Vec<(Pattern, Option<String>)>) -> Result<Router, String> {
        let mut entries = Vec::with_capacity(routes.len());
        let mut names = HashMap::new();
        for (i, (pattern, name)) in routes.into_iter().enumerate() {
            let regex = Regex::new(&pattern.regex_source())
                .map_err(|e| format!("route {}: {e}", pattern.display()))?;
            if let Some(name) = name {
                names.entry(name).or_insert(i);
            }
            let literal = pattern
                .parts
                .iter()
                .map(|p| match p {
                    Part::Literal(l) => Some(l.as_str()),
                    _ => None,
                })
                .collect::<Option<String>>();
            let groups = (0..)
                .map_while(|i| {
                    regex
                        .capture_names()
                        .position(|n| n == Some(format!("__p{i}").as_str()))
                })
                .collect();
            let prefix = match pattern.parts.first() {
                Some(Part::Literal(l)) => l.clone(),
                _ => String::new(),
            };
            entries.push(Entry {
                pattern,
                regex,
                literal,
                groups,
                prefix,
            });
        }
        let mut by_segment: HashMap<String, Vec<usize>> = HashMap::new();
        let mut others = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            match literal_segment(&e.pattern) {
                Some(seg) => by_segment.entry(seg).or_default().push(i),
                None => others.push(i),
            }
        }
        let set = RegexSet::new(others.iter().map(|&i| entries[i].regex.as_str()))
            .map_err(|e| format!("route table: {e}"))?;
        Ok(Router {
            entries,
            by_segment,
            others,
            set,
            names,
        })
    }

    /// Candidate routes for `path`, in route order.
    fn candidates(&self, path: &str) -> Vec<usize> {
        let literal = self
            .by_segment
            .get(first_segment(path))
            .map_or(&[][..], Vec::as_slice);
        let mut out = Vec::with_capacity(literal.len() + 2);
        let mut lit = literal.iter().copied().peekable();
        if self.others.is_empty() {
            out.extend(lit);
            return out;
        }
        for j in self.set.matches(path).iter() {
            let other = self.others[j];
            while let Some(&l) = lit.peek() {
                if l < other {
                    out.push(l);
                    lit.next();
                } else {
                    break;
                }
            }
            out.push(other);
        }
        out.extend(lit);
        out
    }

    /// The first route that matches `path` (the request path without its leading slash).
    pub fn resolve(&self, path: &str) -> Option<Match> {
        'candidates: for index in self.candidates(path) {
            let entry = &self.entries[index];
            if let Some(literal) = &entry.literal {
                if literal == path {
                    return Some(Match {
                        index,
                        params: Params::new(),
                    });
                }
                continue;
            }
            if !path.starts_with(&entry.prefix) {
                continue;
            }
            let Some(caps) = entry.regex.captures(path) else {
                continue;
            };
            let mut params = Params::new();
            let mut i = 0;
            for part in &entry.pattern.parts {
                match part {
                    Part::Param { name, converter } => {
                        let text = entry
                            .groups
                            .get(i)
                            .and_then(|&g| caps.get(g))
                            .map_or("", |m| m.as_str());
                        i += 1;
                        match converter.to_value(text) {
                            Some(v) => params.insert(name.clone(), v),
                            None => continue 'candidates,
                        };
                    }
                    Part::Regex { names, .. } => {
                        for name in names {
                            // Django leaves an unmatched optional group out of the kwargs.
                            if let Some(m) = caps.name(name) {
                                params.insert(name.clone(), m.as_str().into());
                            }
                        }
                    }
                    Part::Literal(_) => {}
                }
            }
            return Some(Match { index, params });
        }
        None
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn pattern(&self, index: usize) -> &Pattern {
        &self.entries[index].pattern
    }

    /// The index of the route called `name`.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    /// A did-you-mean for a route name, which also knows that a name inside an include is
    /// reversed with its namespace (`blog:index`, as in Django).
    pub fn suggest(&self, name: &str) -> Option<String> {
        let names = self.names();
        let suffix = format!(":{name}");
        if let Some(full) = names.iter().find(|n| n.ends_with(&suffix)) {
            return Some(format!(
                "did you mean `{full}`? Names inside an include are reversed with their namespace"
            ));
        }
        crate::config::diagnostic::suggestion(name, names)
    }

    /// Every route name, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.names.keys().map(String::as_str).collect();
        v.sort();
        v
    }

    /// The URL of the route called `name` with these arguments, quoted as Django's `reverse`
    /// quotes it. Arguments must name exactly the route's parameters.
    pub fn reverse(&self, name: &str, args: &Params) -> Result<String, ReverseError> {
        let index = self
            .lookup(name)
            .ok_or_else(|| ReverseError::UnknownName(name.to_string()))?;
        self.reverse_index(index, args)
            .map_err(|e| ReverseError::Args(name.to_string(), e))
    }

    fn reverse_index(&self, index: usize, args: &Params) -> Result<String, String> {
        let entry = &self.entries[index];
        if let Some(missing) = entry.pattern.names().find(|w| !args.contains_key(*w)) {
            return Err(format!("missing argument `{missing}`"));
        }
        if let Some(extra) = args
            .keys()
            .find(|k| !entry.pattern.names().any(|w| w == *k))
        {
            let wanted = entry.pattern.param_names();
            let list = if wanted.is_empty() {
                "it takes none".to_string()
            } else {
                format!("it takes {}", wanted.join(", "))
            };
            return Err(format!("unexpected argument `{extra}` ({list})"));
        }
        let mut url = String::from("/");
        for part in &entry.pattern.parts {
            match part {
                Part::Literal(s) => url.push_str(&quote(s)),
                Part::Param { name, converter } => {
                    let value = &args[name];
                    let segment = converter.to_url(value).ok_or_else(|| {
                        format!(
                            "argument `{name}` = {} does not fit converter `{}`",
                            show(value),
                            converter.name
                        )
                    })?;
                    url.push_str(&quote(&segment));
                }
                Part::Regex { src, .. } => {
                    url.push_str(&reverse_regex(src, args).ok_or_else(|| {
                        format!(
                            "the regex {src:?} cannot be reversed with {}",
                            show(&serde_json::to_value(args).unwrap_or_default())
                        )
                    })?)
                }
            }
        }
        // The candidate must resolve to the same route, as Django checks.
        let decoded = percent_encoding::percent_decode_str(&url[1..]).decode_utf8_lossy();
        if !entry.regex.is_match(&decoded) {
            return Err(format!("the URL {url:?} would not match the route"));
        }
        // Django: a URL starting with // would be read as a scheme-relative URL.
        if let Some(rest) = url.strip_prefix("//") {
            url = format!("/%2F{rest}");
        }
        Ok(url)
    }
}

/// The last line of a regex error, which says what is wrong, without the "error: " label.
pub fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

fn show(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Why a reverse failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ReverseError {
    UnknownName(String),
    Args(String, String),
}

impl std::fmt::Display for ReverseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReverseError::UnknownName(n) => write!(f, "no route is named `{n}`"),
            ReverseError::Args(n, why) => write!(f, "cannot reverse `{n}`: {why}"),
        }
    }
}

/// Python's `quote(s, safe=RFC3986_SUBDELIMS + "/~:@")`, as Django's `reverse` uses it.
const REVERSE_QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'/')
    .remove(b':')
    .remove(b'@');

pub fn quote(s: &str) -> String {
    utf8_percent_encode(s, REVERSE_QUOTE).to_string()
}

/// Reverse a simple regex: named groups are replaced by their arguments; everything else
/// must be a literal character (or an escaped one). Anything fancier cannot be reversed.
fn reverse_regex(src: &str, args: &Params) -> Option<String> {
    let mut out = String::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let next = *chars.get(i + 1)?;
                if next.is_alphanumeric() {
                    return None;
                }
                out.push_str(&quote(&next.to_string()));
                i += 2;
            }
            '(' => {
                let rest: String = chars[i..].iter().collect();
                let name_start = if rest.starts_with("(?P<") {
                    4
                } else if rest.starts_with("(?<") {
                    3
                } else {
                    return None;
                };
                let name_end = rest.find('>')?;
                let name = &rest[name_start..name_end];
                // Skip to the matching close paren.
                let mut depth = 0;
                let mut j = i;
                while j < chars.len() {
                    match chars[j] {
                        '\\' => j += 1,
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let value = match args.get(name)? {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                out.push_str(&quote(&value));
                i = j + 1;
            }
            '[' | ']' | ')' | '{' | '}' | '*' | '+' | '?' | '|' | '.' | '^' | '$' => return None,
            _ => {
                out.push_str(&quote(&c.to_string()));
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn converters() -> HashMap<String, Arc<Converter>> {
        converters::BUILTINS
            .iter()
            .map(|(n, _, _)| (n.to_string(), Arc::new(Converter::builtin(n).unwrap())))
            .collect()
    }

    fn router(paths: &[(&str, &str)]) -> Router {
        let conv = converters();
        Router::new(
            paths
                .iter()
                .map(|(p, n)| (Pattern::parse_path(p, &conv).unwrap(), Some(n.to_string())))
                .collect(),
        )
        .unwrap()
    }

    fn params(pairs: &[(&str, Value)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn resolution_table() {
        let r = router(&[
            ("", "home"),
            ("search/", "search"),
            ("n/<int:n>/", "int"),
            ("n/<str:s>/", "str"),
            ("u/<uuid:id>/", "uuid"),
            ("p/<path:rest>", "path"),
            ("<slug:s>/", "slug"),
        ]);
        let cases: &[(&str, Option<(usize, Params)>)] = &[
            ("", Some((0, params(&[])))),
            ("search/", Some((1, params(&[])))),
            ("n/007/", Some((2, params(&[("n", 7.into())])))),
            // Too large for i64: the int route rejects it and the str route takes it.
            (
                "n/99999999999999999999/",
                Some((3, params(&[("s", "99999999999999999999".into())]))),
            ),
            (
                "u/12345678-1234-1234-1234-123456789abc/",
                Some((
                    4,
                    params(&[("id", "12345678-1234-1234-1234-123456789abc".into())]),
                )),
            ),
            // Uppercase is not Django's canonical uuid form: the slug route takes it instead.
            ("u/12345678-1234-1234-1234-123456789ABC/", None),
            ("p/a/b/c", Some((5, params(&[("rest", "a/b/c".into())])))),
            ("héllo/", None),
            (
                "hello-world_1/",
                Some((6, params(&[("s", "hello-world_1".into())]))),
            ),
            ("search", None),
        ];
        for (path, expected) in cases {
            let got = r.resolve(path).map(|m| (m.index, m.params));
            assert_eq!(&got, expected, "path {path:?}");
        }
    }

    #[test]
    fn literal_and_pattern_routes_keep_their_order() {
        let r = router(&[
            ("<str:s>/", "any"),
            ("about/", "about"),
            ("about/<int:n>/", "n"),
            ("about", "bare"),
        ]);
        // `<str:s>/` comes first, so it wins over the literal `about/`, as in Django.
        assert_eq!(r.resolve("about/").unwrap().index, 0);
        assert_eq!(r.resolve("about/7/").unwrap().index, 2);
        assert_eq!(r.resolve("about").unwrap().index, 3);
        assert_eq!(
            r.resolve("x/"),
            Some(Match {
                index: 0,
                params: params(&[("s", "x".into())])
            })
        );
        assert_eq!(r.resolve("nope"), None);
    }

    #[test]
    fn reverse_quotes_like_django() {
        let r = router(&[("greet/<str:name>/", "greet"), ("p/<path:rest>", "path")]);
        let url = r.reverse("greet", &params(&[("name", "a b&c/é".into())]));
        // `/` cannot be in a str segment, so this cannot reverse.
        assert!(url.is_err());
        assert_eq!(
            r.reverse("greet", &params(&[("name", "a b&c@é".into())]))
                .unwrap(),
            "/greet/a%20b&c@%C3%A9/"
        );
        assert_eq!(
            r.reverse("path", &params(&[("rest", "x/y z".into())]))
                .unwrap(),
            "/p/x/y%20z"
        );
    }

    #[test]
    fn reverse_refuses_wrong_arguments() {
        let r = router(&[("n/<int:n>/", "int")]);
        assert!(r.reverse("int", &params(&[])).is_err());
        assert!(r.reverse("int", &params(&[("n", "abc".into())])).is_err());
        assert!(r
            .reverse("int", &params(&[("n", 1.into()), ("x", 2.into())]))
            .is_err());
        assert_eq!(
            r.reverse("int", &params(&[("n", 5.into())])).unwrap(),
            "/n/5/"
        );
        assert_eq!(
            r.reverse("nope", &params(&[])),
            Err(ReverseError::UnknownName("nope".into()))
        );
    }

    #[test]
    fn regex_routes_capture_and_reverse() {
        let p = Pattern::parse_regex("^articles/(?P<year>[0-9]{4})/$").unwrap();
        let r = Router::new(vec![(p, Some("y".into()))]).unwrap();
        let m = r.resolve("articles/2024/").unwrap();
        assert_eq!(m.params["year"], Value::from("2024"));
        assert_eq!(
            r.reverse("y", &params(&[("year", "1999".into())])).unwrap(),
            "/articles/1999/"
        );
        assert!(r.reverse("y", &params(&[("year", "99".into())])).is_err());
    }
}
