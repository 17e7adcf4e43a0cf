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
pub mod reverse;
pub mod shadow;

use std::collections::HashMap;

use indexmap::IndexMap;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use regex::{Regex, RegexSet};
use serde_json::Value;

pub use converters::Converter;
pub use pattern::{Part, Pattern, PatternError};
pub use reverse::{Form, Key};

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
    /// The forms `reverse` writes URLs from, or why the route cannot be reversed.
    forms: Result<Vec<Form>, String>,
}

/// The compiled route table.
pub struct Router {
    entries: Vec<Entry>,
    /// First path segment (with its `/`, or the whole path) → routes starting with it literally.
    by_segment: HashMap<String, Vec<usize>>,
    /// Routes whose first segment is not literal, and the set that matches them all at once.
    others: Vec<usize>,
    set: RegexSet,
    /// Each name's routes, in the order `reverse` tries them: the last in the table first, as
    /// Django tries them.
    names: HashMap<String, Vec<usize>>,
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
    /// Compile the table. Several routes may share a name.
    pub fn new(routes: Vec<(Pattern, Option<String>)>) -> Result<Router, String> {
        let mut entries = Vec::with_capacity(routes.len());
        let mut names = HashMap::new();
        for (i, (pattern, name)) in routes.into_iter().enumerate() {
            let regex = Regex::new(&pattern.regex_source())
                .map_err(|e| format!("route {}: {e}", pattern.display()))?;
            if let Some(name) = name {
                names.entry(name).or_insert_with(Vec::new).insert(0, i);
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
            let forms = reverse::forms(&pattern);
            entries.push(Entry {
                pattern,
                regex,
                literal,
                groups,
                prefix,
                forms,
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

    /// The routes called `name`, in the order `reverse` tries them (the last in the table
    /// first, as in Django).
    pub fn routes_named(&self, name: &str) -> &[usize] {
        self.names.get(name).map_or(&[], Vec::as_slice)
    }

    /// The names several routes share, sorted, each with its routes in table order.
    pub fn shared_names(&self) -> Vec<(&str, Vec<usize>)> {
        let mut shared: Vec<(&str, Vec<usize>)> = self
            .names
            .iter()
            .filter(|(_, routes)| routes.len() > 1)
            .map(|(n, routes)| (n.as_str(), routes.iter().rev().copied().collect()))
            .collect();
        shared.sort();
        shared
    }

    /// Every argument some route called `name` takes by name, in the order first met.
    pub fn takes(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in self.forms_named(name).flat_map(Form::names) {
            if !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
        }
        out
    }

    /// The arguments every form of every route called `name` takes by name: those a call
    /// cannot leave out.
    pub fn required(&self, name: &str) -> Vec<String> {
        let mut forms = self.forms_named(name).peekable();
        if forms.peek().is_none() {
            return Vec::new();
        }
        let mut required = self.takes(name);
        for form in forms {
            required.retain(|n| form.names().any(|f| f == n));
        }
        required
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

    /// The forms of the routes called `name` that can be reversed, in the order tried.
    fn forms_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Form> + 'a {
        self.routes_named(name)
            .iter()
            .flat_map(|&i| self.entries[i].forms.iter().flatten())
    }

    /// Whether a call with arguments of this shape fits some form of a route called `name`:
    /// what can be known of a call before its values are.
    pub fn check(&self, name: &str, shape: &Shape) -> Result<(), ReverseError> {
        if self.routes_named(name).is_empty() {
            return Err(ReverseError::UnknownName(name.to_string()));
        }
        if self.forms_named(name).any(|f| shape.fits(f)) {
            return Ok(());
        }
        Err(self.shape_error(name, shape))
    }

    /// The URL of a route called `name` with these arguments, as Django's `reverse` writes it:
    /// the routes of that name are tried last first, and each route's forms shortest first;
    /// the first form whose arguments are exactly those given, and whose URL the route's
    /// pattern matches, gives the URL, quoted as Django quotes it.
    pub fn reverse(&self, name: &str, args: Args) -> Result<String, ReverseError> {
        let routes = self.routes_named(name);
        if routes.is_empty() {
            return Err(ReverseError::UnknownName(name.to_string()));
        }
        let mut misfit = None;
        for &index in routes {
            match self.reverse_index(index, args) {
                Some(Ok(url)) => return Ok(url),
                Some(Err(why)) => {
                    misfit.get_or_insert(why);
                }
                None => {}
            }
        }
        Err(match misfit {
            Some(why) => ReverseError::Value(name.to_string(), why),
            None => self.shape_error(name, &args.shape()),
        })
    }

    /// `reverse` for the route at `index` alone, named or not (a sitemap lists unnamed routes
    /// too): `None` when none of its forms takes arguments of this shape, else its first URL
    /// or why the values fit none.
    pub fn reverse_index(&self, index: usize, args: Args) -> Option<Result<String, String>> {
        let entry = &self.entries[index];
        let shape = args.shape();
        let mut misfit = None;
        for form in entry.forms.iter().flatten().filter(|f| shape.fits(f)) {
            match write(entry, form, &args) {
                Ok(url) => return Some(Ok(url)),
                Err(why) => {
                    misfit.get_or_insert(why);
                }
            }
        }
        misfit.map(Err)
    }

    /// Why no form of a route called `name` takes arguments of this shape.
    fn shape_error(&self, name: &str, shape: &Shape) -> ReverseError {
        let forms: Vec<&Form> = self.forms_named(name).collect();
        let name = name.to_string();
        if forms.is_empty() {
            let &index = self
                .routes_named(&name)
                .first()
                .expect("a route of that name");
            let entry = &self.entries[index];
            let why = entry.forms.as_ref().err().cloned().unwrap_or_default();
            let why = format!(
                "the route {} cannot be reversed: {why}",
                entry.pattern.display()
            );
            return ReverseError::Value(name, why);
        }
        let mut described: Vec<String> = Vec::new();
        for f in &forms {
            let d = f.describe();
            if !described.contains(&d) {
                described.push(d);
            }
        }
        let takes = match described.as_slice() {
            [one] => format!("it takes {one}"),
            many => format!("it takes ({})", many.join(") or (")),
        };
        let problems = match (forms.as_slice(), shape) {
            ([form], Shape::Named(given)) => {
                let wanted: Vec<&str> = form.names().collect();
                let mut problems: Vec<String> = wanted
                    .iter()
                    .filter(|w| !given.contains(w))
                    .map(|w| format!("missing argument `{w}`"))
                    .collect();
                if wanted.len() < form.keys.len() {
                    problems.push("its unnamed groups take arguments by position".into());
                }
                let mut extra: Vec<&&str> = given.iter().filter(|g| !wanted.contains(g)).collect();
                extra.sort();
                problems.extend(extra.iter().map(|k| format!("unexpected argument `{k}`")));
                problems
            }
            ([form], Shape::Positional(n)) => {
                vec![format!("takes {} argument(s), given {n}", form.keys.len())]
            }
            (_, Shape::Named(given)) if given.is_empty() => {
                vec!["every URL form takes arguments".into()]
            }
            (_, Shape::Named(given)) => {
                let mut given = given.clone();
                given.sort();
                vec![format!("no URL form takes exactly {}", given.join(", "))]
            }
            (_, Shape::Positional(n)) => {
                vec![format!("no URL form takes {n} argument(s) by position")]
            }
        };
        ReverseError::Shape {
            name,
            problems,
            takes,
        }
    }
}

/// The arguments of a `reverse`: by name or by position, never both (as in Django).
#[derive(Debug, Clone, Copy)]
pub enum Args<'a> {
    Named(&'a Params),
    Positional(&'a [Value]),
}

impl<'a> Args<'a> {
    fn shape(&self) -> Shape<'a> {
        match *self {
            Args::Named(p) => Shape::Named(p.keys().map(String::as_str).collect()),
            Args::Positional(v) => Shape::Positional(v.len()),
        }
    }

    /// The value of `form`'s argument `i`.
    fn get(&self, form: &Form, i: usize) -> Option<&'a Value> {
        match (*self, &form.keys[i].0) {
            (Args::Named(p), Key::Name(n)) => p.get(n),
            (Args::Positional(v), _) => v.get(i),
            (Args::Named(_), Key::Pos(_)) => None,
        }
    }
}

/// What is known of a call's arguments before their values: their names, or their number.
#[derive(Debug, Clone)]
pub enum Shape<'a> {
    Named(Vec<&'a str>),
    Positional(usize),
}

impl Shape<'_> {
    /// Django's rule: by position, as many as the form takes; by name, exactly its names.
    fn fits(&self, form: &Form) -> bool {
        match self {
            Shape::Positional(n) => *n == form.keys.len(),
            Shape::Named(given) => {
                given.len() == form.keys.len()
                    && form
                        .keys
                        .iter()
                        .all(|(k, _)| matches!(k, Key::Name(n) if given.contains(&n.as_str())))
            }
        }
    }
}

/// The URL of one form with these arguments, if their values fit and the route's pattern
/// matches it.
fn write(entry: &Entry, form: &Form, args: &Args) -> Result<String, String> {
    let mut path = String::new();
    for piece in &form.pieces {
        match piece {
            reverse::Piece::Text(t) => path.push_str(t),
            reverse::Piece::Arg(i) => {
                let (key, converter) = &form.keys[*i];
                let value = args.get(form, *i).unwrap_or(&Value::Null);
                let text = reverse::arg_text(value, converter.as_deref()).ok_or_else(|| {
                    let shown = match key {
                        Key::Name(n) => format!("`{n}`"),
                        Key::Pos(_) => format!("#{}", i + 1),
                    };
                    match converter {
                        Some(c) => format!(
                            "argument {shown} = {} does not fit converter `{}`",
                            show(value),
                            c.name
                        ),
                        None => format!(
                            "argument {shown} = {} is not a string or a number",
                            show(value)
                        ),
                    }
                })?;
                path.push_str(&text);
            }
        }
    }
    // Django checks the candidate against the pattern; here the route's pattern matches
    // whole paths, so the URL must be one the route answers.
    if !entry.regex.is_match(&path) {
        return Err(format!(
            "\"/{path}\" would not match the route {}",
            entry.pattern.display()
        ));
    }
    let quoted = utf8_percent_encode(&path, REVERSE_QUOTE);
    // Django: a URL starting with // would be read as a scheme-relative URL.
    let mut url = String::with_capacity(path.len() + 4);
    url.push('/');
    for (n, piece) in quoted.enumerate() {
        match piece.strip_prefix('/') {
            Some(rest) if n == 0 => {
                url.push_str("%2F");
                url.push_str(rest);
            }
            _ => url.push_str(piece),
        }
    }
    Ok(url)
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
    /// Arguments given both by position and by name.
    Mixed(String),
    /// The arguments' names or number fit no form of the routes of that name.
    Shape {
        name: String,
        problems: Vec<String>,
        /// What the routes take: `it takes year, slug`.
        takes: String,
    },
    /// Forms fit the arguments, but not their values (the first reason met), or the route
    /// cannot be reversed at all.
    Value(String, String),
}

impl std::fmt::Display for ReverseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReverseError::UnknownName(n) => write!(f, "no route is named `{n}`"),
            ReverseError::Mixed(n) => write!(
                f,
                "cannot reverse `{n}`: give the arguments by position or by name, not both"
            ),
            ReverseError::Shape {
                name,
                problems,
                takes,
            } => write!(
                f,
                "cannot reverse `{name}`: {} ({takes})",
                problems.join("; ")
            ),
            ReverseError::Value(n, why) => write!(f, "cannot reverse `{n}`: {why}"),
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

    /// `reverse` by name, the way most tests call it.
    fn named(r: &Router, name: &str, pairs: &[(&str, Value)]) -> Result<String, ReverseError> {
        r.reverse(name, Args::Named(&params(pairs)))
    }

    #[test]
    fn reverse_quotes_like_django() {
        let r = router(&[("greet/<str:name>/", "greet"), ("p/<path:rest>", "path")]);
        // `/` cannot be in a str segment, so this cannot reverse.
        assert_eq!(
            named(&r, "greet", &[("name", "a b&c/é".into())]),
            Err(ReverseError::Value(
                "greet".into(),
                "argument `name` = \"a b&c/é\" does not fit converter `str`".into()
            ))
        );
        assert_eq!(
            named(&r, "greet", &[("name", "a b&c@é".into())]).unwrap(),
            "/greet/a%20b&c@%C3%A9/"
        );
        assert_eq!(
            named(&r, "path", &[("rest", "x/y z".into())]).unwrap(),
            "/p/x/y%20z"
        );
    }

    #[test]
    fn reverse_refuses_wrong_arguments() {
        let r = router(&[("n/<int:n>/", "int")]);
        let shape = |problems: &[&str]| ReverseError::Shape {
            name: "int".into(),
            problems: problems.iter().map(|p| p.to_string()).collect(),
            takes: "it takes n".into(),
        };
        assert_eq!(named(&r, "int", &[]), Err(shape(&["missing argument `n`"])));
        assert_eq!(
            named(&r, "int", &[("n", "abc".into())])
                .unwrap_err()
                .to_string(),
            "cannot reverse `int`: argument `n` = \"abc\" does not fit converter `int`"
        );
        assert_eq!(
            named(&r, "int", &[("n", 1.into()), ("x", 2.into())]),
            Err(shape(&["unexpected argument `x`"]))
        );
        assert_eq!(
            r.reverse("int", Args::Positional(&[1.into(), 2.into()])),
            Err(shape(&["takes 1 argument(s), given 2"]))
        );
        assert_eq!(named(&r, "int", &[("n", 5.into())]).unwrap(), "/n/5/");
        assert_eq!(
            r.reverse("int", Args::Positional(&[5.into()])).unwrap(),
            "/n/5/"
        );
        assert_eq!(
            named(&r, "nope", &[]),
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
            named(&r, "y", &[("year", "1999".into())]).unwrap(),
            "/articles/1999/"
        );
        assert!(named(&r, "y", &[("year", "99".into())]).is_err());
    }

    /// Routes sharing a name are tried from the last up, as Django tries them; the first whose
    /// arguments fit, by name or by number, gives the URL.
    #[test]
    fn shared_names_take_the_last_route_that_fits() {
        let r = router(&[
            ("a/<int:x>/", "s"),
            ("b/<int:x>/", "s"),
            ("c/<slug:x>/<int:y>/", "s"),
            ("d/", "s"),
            ("e/<slug:x>/", "s"),
        ]);
        assert_eq!(named(&r, "s", &[]).unwrap(), "/d/");
        assert_eq!(named(&r, "s", &[("x", "z".into())]).unwrap(), "/e/z/");
        // 7 fits `e/<slug:x>/`, the last route that takes `x`.
        assert_eq!(named(&r, "s", &[("x", 7.into())]).unwrap(), "/e/7/");
        assert_eq!(
            named(&r, "s", &[("x", "z".into()), ("y", 1.into())]).unwrap(),
            "/c/z/1/"
        );
        assert_eq!(
            r.reverse("s", Args::Positional(&["a b".into()]))
                .unwrap_err()
                .to_string(),
            "cannot reverse `s`: argument `x` = \"a b\" does not fit converter `slug`"
        );
        assert_eq!(
            named(&r, "s", &[("y", 1.into())]).unwrap_err().to_string(),
            "cannot reverse `s`: no URL form takes exactly y (it takes (x) or (no arguments) or (x, y))"
        );
        assert_eq!(r.shared_names(), vec![("s", vec![0, 1, 2, 3, 4])]);
        assert_eq!(r.takes("s"), ["x", "y"]);
    }
}
