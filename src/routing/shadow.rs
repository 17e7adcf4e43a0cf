//! Routes that can never answer: a later route whose every URL an earlier one matches first
//! (routes are tried in order, and the method plays no part in matching). Exact for a route
//! of literal text (its one URL is resolved by the table itself); for a route with captures,
//! conservative: it is reported only when, segment by segment, the earlier route's pattern is
//! the same or a `str` capture that takes any segment the later one can match. Regex routes
//! are compared only for being the same regex. No warning is ever false.

use super::{Part, Pattern, Router};

/// A route that never answers, and the earlier route that answers its URLs.
#[derive(Debug, Clone, PartialEq)]
pub struct Shadowed {
    pub route: usize,
    pub by: usize,
    /// The two patterns are the same (a duplicate path), not merely one wider than the other.
    pub same: bool,
}

/// Every route that never answers, in route order.
pub fn shadowed(router: &Router) -> Vec<Shadowed> {
    let mut out = Vec::new();
    for (i, entry) in router.entries.iter().enumerate() {
        let by = match &entry.literal {
            Some(path) => router.resolve(path).map(|m| m.index).filter(|&j| j < i),
            None => (0..i).find(|&j| covers(&router.entries[j].pattern, &entry.pattern)),
        };
        if let Some(by) = by {
            let same = same(&router.entries[by].pattern, &entry.pattern);
            out.push(Shadowed { route: i, by, same });
        }
    }
    out
}

/// One piece of a path segment.
#[derive(PartialEq)]
enum Token<'a> {
    Text(&'a str),
    /// A capture, by its converter's name.
    Capture(&'a str),
}

/// The pattern as path segments (split at `/`) of tokens; `None` for a regex pattern.
fn segments(pattern: &Pattern) -> Option<Vec<Vec<Token<'_>>>> {
    let mut out = vec![Vec::new()];
    for part in &pattern.parts {
        match part {
            Part::Literal(text) => {
                let mut pieces = text.split('/');
                if let Some(first) = pieces.next().filter(|p| !p.is_empty()) {
                    out.last_mut()?.push(Token::Text(first));
                }
                for piece in pieces {
                    out.push(Vec::new());
                    if !piece.is_empty() {
                        out.last_mut()?.push(Token::Text(piece));
                    }
                }
            }
            Part::Param { converter, .. } => {
                out.last_mut()?.push(Token::Capture(&converter.name));
            }
            Part::Regex { .. } => return None,
        }
    }
    Some(out)
}

/// Converters that match a non-empty text without `/`, which `str` then takes.
fn within_a_segment(pattern: &Pattern, name: &str) -> bool {
    if matches!(name, "str" | "int" | "slug" | "uuid") {
        return true;
    }
    // A `values` converter: its values were checked to be non-empty and without `/`.
    pattern.parts.iter().any(|p| {
        matches!(p, Part::Param { converter, .. } if converter.name == name && converter.values.is_some())
    })
}

/// Whether every URL `later` matches, `earlier` matches too.
fn covers(earlier: &Pattern, later: &Pattern) -> bool {
    if same(earlier, later) {
        return true;
    }
    let (Some(e), Some(l)) = (segments(earlier), segments(later)) else {
        return false;
    };
    e.len() == l.len()
        && e.iter().zip(&l).all(|(es, ls)| {
            es == ls
                || (es.as_slice() == [Token::Capture("str")]
                    && !ls.is_empty()
                    && ls.iter().all(|t| match t {
                        Token::Text(_) => true,
                        Token::Capture(c) => within_a_segment(later, c),
                    }))
        })
}

/// The same pattern: the same regex with the same converters in the same places.
fn same(a: &Pattern, b: &Pattern) -> bool {
    if a.regex_source() != b.regex_source() || a.parts.len() != b.parts.len() {
        return false;
    }
    a.parts.iter().zip(&b.parts).all(|(x, y)| match (x, y) {
        (Part::Param { converter: c, .. }, Part::Param { converter: d, .. }) => c.name == d.name,
        (Part::Literal(x), Part::Literal(y)) => x == y,
        (Part::Regex { src: x, .. }, Part::Regex { src: y, .. }) => x == y,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::config::raw::ConverterType;
    use crate::routing::{converters, Converter};

    fn router(paths: &[&str]) -> Router {
        let mut convs: HashMap<String, Arc<Converter>> = converters::BUILTINS
            .iter()
            .map(|(n, _, _)| (n.to_string(), Arc::new(Converter::builtin(n).unwrap())))
            .collect();
        let user = Converter::from_values("user", &["alice".into(), "bob".into()]).unwrap();
        convs.insert("user".into(), Arc::new(user));
        let year = Converter::from_regex("year", "[0-9]{4}|a/b", ConverterType::Int).unwrap();
        convs.insert("year".into(), Arc::new(year));
        let routes = paths
            .iter()
            .map(|p| match p.strip_prefix("re:") {
                Some(r) => (Pattern::parse_regex(r).unwrap(), None),
                None => (Pattern::parse_path(p, &convs).unwrap(), None),
            })
            .collect();
        Router::new(routes).unwrap()
    }

    fn found(paths: &[&str]) -> Vec<(usize, usize, bool)> {
        shadowed(&router(paths))
            .into_iter()
            .map(|s| (s.route, s.by, s.same))
            .collect()
    }

    #[test]
    fn literal_routes_are_checked_exactly() {
        assert_eq!(found(&["<str:name>/", "about/"]), [(1, 0, false)]);
        assert_eq!(found(&["about/", "<str:name>/"]), []);
        assert_eq!(found(&["about/", "about/"]), [(1, 0, true)]);
        // An int does not match `about`, and `<int:n>/` is not about `12/` with a slash less.
        assert_eq!(found(&["<int:n>/", "about/", "12"]), []);
        assert_eq!(found(&["<int:n>/", "12/"]), [(1, 0, false)]);
        assert_eq!(found(&["re:^a+/$", "aaa/"]), [(1, 0, false)]);
        assert_eq!(found(&["<user:u>/", "carol/", "bob/"]), [(2, 0, false)]);
    }

    #[test]
    fn routes_with_captures_are_reported_only_when_sure() {
        assert_eq!(found(&["<int:a>/", "<int:b>/"]), [(1, 0, true)]);
        assert_eq!(found(&["<str:a>/", "<slug:b>/"]), [(1, 0, false)]);
        assert_eq!(
            found(&["blog/<str:a>/", "blog/<int:y>/<slug:s>/", "blog/p-<int:n>/"]),
            [(2, 0, false)]
        );
        assert_eq!(found(&["<str:a>/", "<user:u>/"]), [(1, 0, false)]);
        // Narrower first, or a converter that might match `/`, or a path: no warning.
        assert_eq!(found(&["<slug:a>/", "<str:b>/"]), []);
        assert_eq!(found(&["<int:a>/", "<slug:b>/"]), []);
        assert_eq!(found(&["<str:a>/", "<year:y>/"]), []);
        assert_eq!(found(&["<str:a>/", "<path:p>/"]), []);
        assert_eq!(found(&["<str:a>", "<str:a>/"]), []);
        assert_eq!(
            found(&["re:^(?P<a>[0-9]+)/$", "re:^(?P<a>[0-9]+)/$"]),
            [(1, 0, true)]
        );
        assert_eq!(found(&["re:^.*$", "<int:a>/"]), []);
    }
}
