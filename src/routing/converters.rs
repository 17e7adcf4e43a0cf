//! Path converters: the built-ins with Django's exact regexes and values, and custom ones
//! declared in `converters:` (a regex with a value type, or a fixed list of values).

use regex::Regex;
use serde_json::Value;

use crate::config::raw::ConverterType;

/// Turns a matched path segment into a typed value, and a value back into a segment.
#[derive(Debug)]
pub struct Converter {
    pub name: String,
    /// The regex a segment must match, unanchored, as written.
    pub regex: String,
    pub kind: ConverterType,
    /// With a list of values, only these are accepted.
    pub values: Option<Vec<String>>,
    anchored: Regex,
}

/// Django's UUIDConverter regex: lowercase canonical form only.
pub const UUID_REGEX: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/// The converters every site has, with Django's regexes.
pub const BUILTINS: &[(&str, &str, ConverterType)] = &[
    ("str", "[^/]+", ConverterType::Str),
    ("int", "[0-9]+", ConverterType::Int),
    ("slug", "[-a-zA-Z0-9_]+", ConverterType::Str),
    ("uuid", UUID_REGEX, ConverterType::Str),
    ("path", ".+", ConverterType::Str),
];

impl Converter {
    /// A converter from a regex; the error says why the regex cannot be used.
    pub fn from_regex(name: &str, regex: &str, kind: ConverterType) -> Result<Converter, String> {
        let anchored = Regex::new(&format!("^(?:{regex})$"))
            .map_err(|e| format!("invalid regex: {}", crate::routing::regex_reason(&e)))?;
        if anchored.capture_names().flatten().next().is_some() {
            return Err("a converter's regex cannot have named groups; use (?:...)".into());
        }
        if regex.starts_with('^') || (regex.ends_with('$') && !regex.ends_with("\\$")) {
            return Err("a converter's regex is matched within the path: drop ^ and $".into());
        }
        Ok(Converter {
            name: name.to_string(),
            regex: regex.to_string(),
            kind,
            values: None,
            anchored,
        })
    }

    /// A converter that accepts exactly the listed values.
    pub fn from_values(name: &str, values: &[String]) -> Result<Converter, String> {
        if values.is_empty() {
            return Err("`values` needs at least one value".into());
        }
        if let Some(v) = values.iter().find(|v| v.is_empty() || v.contains('/')) {
            return Err(format!(
                "value {v:?} cannot be a path segment (empty or containing `/`)"
            ));
        }
        let regex = values
            .iter()
            .map(|v| regex::escape(v))
            .collect::<Vec<_>>()
            .join("|");
        let mut c = Converter::from_regex(name, &regex, ConverterType::Str)?;
        c.values = Some(values.to_vec());
        Ok(c)
    }

    pub fn builtin(name: &str) -> Option<Converter> {
        BUILTINS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(n, r, k)| Converter::from_regex(n, r, *k).expect("built-in regexes compile"))
    }

    /// The typed value of a matched segment; `None` rejects it (the next route is tried).
    pub fn to_value(&self, segment: &str) -> Option<Value> {
        if let Some(values) = &self.values {
            return values.iter().any(|v| v == segment).then(|| segment.into());
        }
        match self.kind {
            ConverterType::Str => Some(segment.into()),
            // Django's int(): "007" is 7. A number too large for i64 is no match.
            ConverterType::Int => segment.parse::<i64>().ok().map(Value::from),
            ConverterType::Float => segment
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
        }
    }

    /// The segment for a value when reversing, if the value fits this converter.
    pub fn to_url(&self, value: &Value) -> Option<String> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            _ => return None,
        };
        if !self.anchored.is_match(&text) {
            return None;
        }
        if let Some(values) = &self.values {
            if !values.contains(&text) {
                return None;
            }
        }
        // A segment the converter would itself reject (an int too large) is no URL either.
        self.to_value(&text).map(|_| text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_drops_leading_zeros_and_refuses_overflow() {
        let int = Converter::builtin("int").unwrap();
        assert_eq!(int.to_value("007"), Some(Value::from(7)));
        assert_eq!(int.to_value("99999999999999999999"), None);
    }

    #[test]
    fn values_converter_accepts_only_its_values() {
        let c = Converter::from_values("user", &["alice".into(), "bob".into()]).unwrap();
        assert!(c.to_value("alice").is_some());
        assert!(c.to_value("dave").is_none());
        assert_eq!(c.to_url(&"bob".into()), Some("bob".into()));
        assert_eq!(c.to_url(&"carol".into()), None);
    }

    #[test]
    fn named_groups_in_converter_regex_are_refused() {
        assert!(Converter::from_regex("y", "(?P<y>[0-9]+)", ConverterType::Int).is_err());
    }
}
