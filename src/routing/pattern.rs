//! URL patterns: Django's path syntax (`posts/<int:pk>/`) and raw regexes (`re_path`), parsed
//! into parts that both matching (one regex per route) and reversing (part by part) use.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use super::converters::Converter;
use crate::config::names::{is_param_name, PARAM_NAME_RULE};

/// One piece of a pattern.
#[derive(Debug, Clone)]
pub enum Part {
    Literal(String),
    /// `<converter:name>`
    Param {
        name: String,
        converter: Arc<Converter>,
    },
    /// A raw regex (`re_path`), its `^`/`$` removed; its named groups are string parameters.
    Regex {
        src: String,
        names: Vec<String>,
    },
}

/// A parsed pattern: the parts, in order, of the path after its leading slash.
#[derive(Debug, Clone, Default)]
pub struct Pattern {
    pub parts: Vec<Part>,
}

impl Pattern {
    /// Parse Django path syntax. `converters` holds every known converter by name.
    pub fn parse_path(
        route: &str,
        converters: &HashMap<String, Arc<Converter>>,
    ) -> Result<Pattern, PatternError> {
        let mut parts = Vec::new();
        let mut rest = route;
        let mut literal = String::new();
        while let Some(open) = rest.find('<') {
            literal.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('>') else {
                return Err(PatternError::new(format!(
                    "unclosed `<` in {route:?}: write <converter:name>"
                )));
            };
            let inner = &rest[open + 1..open + close];
            let (conv, name) = match inner.split_once(':') {
                Some((c, n)) => (c, n),
                None => ("str", inner),
            };
            if inner.chars().any(char::is_whitespace) {
                return Err(PatternError::new(format!(
                    "{route:?} cannot contain whitespace in angle brackets <{inner}>"
                )));
            }
            if !is_param_name(name) {
                return Err(PatternError::new(format!(
                    "{route:?}: parameter name {name:?} may hold only {PARAM_NAME_RULE}"
                )));
            }
            let Some(converter) = converters.get(conv) else {
                let mut known: Vec<&str> = converters.keys().map(String::as_str).collect();
                known.sort();
                return Err(PatternError {
                    message: format!("unknown converter `{conv}` in <{inner}>"),
                    unknown_converter: Some((conv.to_string(), known.join(","))),
                });
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            if parts
                .iter()
                .any(|p| matches!(p, Part::Param { name: n, .. } if n == name))
            {
                return Err(PatternError::new(format!(
                    "{route:?}: parameter `{name}` appears twice"
                )));
            }
            parts.push(Part::Param {
                name: name.to_string(),
                converter: converter.clone(),
            });
            rest = &rest[open + close + 1..];
        }
        literal.push_str(rest);
        if literal.contains('>') {
            return Err(PatternError::new(format!("stray `>` in {route:?}")));
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Pattern { parts })
    }

    /// A raw regex route; it must match the whole remaining path.
    pub fn parse_regex(src: &str) -> Result<Pattern, PatternError> {
        let mut body = src.strip_prefix('^').unwrap_or(src);
        if body.ends_with('$') && !body.ends_with("\\$") {
            body = &body[..body.len() - 1];
        }
        let re = Regex::new(body).map_err(|e| {
            PatternError::new(format!("invalid regex: {}", super::regex_reason(&e)))
        })?;
        let names: Vec<String> = re.capture_names().flatten().map(str::to_string).collect();
        if let Some(n) = names.iter().find(|n| n.starts_with("__")) {
            return Err(PatternError::new(format!(
                "group names starting with `__` are reserved: {n}"
            )));
        }
        Ok(Pattern {
            parts: vec![Part::Regex {
                src: body.to_string(),
                names,
            }],
        })
    }

    /// This pattern followed by `other` (an include's prefix, then a route).
    pub fn join(&self, other: &Pattern) -> Result<Pattern, PatternError> {
        let mut parts = self.parts.clone();
        for p in &other.parts {
            if let (Some(Part::Literal(a)), Part::Literal(b)) = (parts.last_mut(), p) {
                a.push_str(b);
                continue;
            }
            parts.push(p.clone());
        }
        let pattern = Pattern { parts };
        let mut seen = std::collections::HashSet::new();
        for name in pattern.param_names() {
            if !seen.insert(name.clone()) {
                return Err(PatternError::new(format!(
                    "parameter `{name}` is captured by both the include prefix and the route"
                )));
            }
        }
        Ok(pattern)
    }

    /// Every parameter the pattern captures, in order.
    pub fn param_names(&self) -> Vec<String> {
        self.names().map(str::to_string).collect()
    }

    /// The same, without allocating.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.parts.iter().flat_map(|p| {
            let names: &[String] = match p {
                Part::Param { name, .. } => std::slice::from_ref(name),
                Part::Regex { names, .. } => names,
                Part::Literal(_) => &[],
            };
            names.iter().map(String::as_str)
        })
    }

    /// The anchored regex source matching the path after its leading slash, with parameter
    /// `i` captured as group `__p{i}`.
    pub fn regex_source(&self) -> String {
        let mut src = String::from("^");
        let mut i = 0;
        for p in &self.parts {
            match p {
                Part::Literal(s) => src.push_str(&regex::escape(s)),
                Part::Param { converter, .. } => {
                    src.push_str(&format!("(?P<__p{i}>{})", converter.regex));
                    i += 1;
                }
                Part::Regex { src: r, .. } => src.push_str(&format!("(?:{r})")),
            }
        }
        src.push('$');
        src
    }

    /// The pattern as a person reads it: `/blog/<int:pk>/`.
    pub fn display(&self) -> String {
        let mut s = String::from("/");
        for p in &self.parts {
            match p {
                Part::Literal(l) => s.push_str(l),
                Part::Param { name, converter } => {
                    s.push_str(&format!("<{}:{}>", converter.name, name))
                }
                Part::Regex { src, .. } => s.push_str(&format!("(regex {src})")),
            }
        }
        s
    }
}

/// Why a pattern cannot be used.
#[derive(Debug, Clone)]
pub struct PatternError {
    pub message: String,
    /// For an unknown converter: its name and the known names, comma-separated.
    pub unknown_converter: Option<(String, String)>,
}

impl PatternError {
    fn new(message: String) -> Self {
        PatternError {
            message,
            unknown_converter: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtins() -> HashMap<String, Arc<Converter>> {
        super::super::converters::BUILTINS
            .iter()
            .map(|(n, _, _)| (n.to_string(), Arc::new(Converter::builtin(n).unwrap())))
            .collect()
    }

    /// Parameter names follow Python's identifier rule, letters of any script included, and a
    /// refused one is reported with that rule.
    #[test]
    fn parameter_names_are_identifiers() {
        let conv = builtins();
        for name in ["pk", "_", "post_id2", "café", "名前"] {
            let route = format!("posts/<int:{name}>/");
            assert!(Pattern::parse_path(&route, &conv).is_ok(), "{route}");
        }
        for name in ["", "2nd", "post-id", "a.b"] {
            let route = format!("posts/<int:{name}>/");
            let err = Pattern::parse_path(&route, &conv).unwrap_err();
            assert_eq!(
                err.message,
                format!(
                    "{route:?}: parameter name {name:?} may hold only letters, digits and `_`, \
                     and not start with a digit"
                ),
            );
        }
    }
}
