//! Reading YAML: the only file that knows `serde_yaml` (archived upstream, so kept replaceable)
//! and `yaml-rust2` (used to find where each node sits in the text, and to write YAML:
//! `to_yaml_string`).
//!
//! `serde_yaml` 0.9 reads YAML 1.2: `yes`, `no`, `on`, `off` stay strings. A document is decoded
//! piece by piece — each top-level section, each converter, each route — so one mistake does not
//! hide the next, and each serde error is placed at the line and column of the node it is about.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_yaml::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;
use yaml_rust2::{Yaml, YamlEmitter};

use super::diagnostic::{did_you_mean, Diagnostic};
use super::raw::{RawField, RawInclude, RawModel, RawRoute, RawRouteEntry, RawSite, SITE_KEYS};

/// A YAML file's text and where each node is, for placing diagnostics.
#[derive(Debug)]
pub struct Source {
    pub file: PathBuf,
    pub text: String,
    /// Path (`routes[2].template`) → 1-based (line, column) of the value.
    values: HashMap<String, (usize, usize)>,
    /// Path → position of the mapping key that introduces it.
    keys: HashMap<String, (usize, usize)>,
}

impl Source {
    pub fn new(file: PathBuf, text: String) -> Source {
        let mut index = SpanIndex::default();
        let mut parser = Parser::new_from_str(&text);
        // A scan error here is reported by serde_yaml with its own position.
        let _ = parser.load(&mut index, false);
        Source {
            file,
            text,
            values: index.values,
            keys: index.keys,
        }
    }

    /// A diagnostic placed at the value found at `at` (or its nearest known ancestor).
    pub fn diag(&self, at: &str, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::new(&self.file, message);
        d.at = at.to_string();
        if let Some((line, col)) = self.position(at, false) {
            d = d.at_pos(&self.text, line, col);
        }
        d
    }

    /// A diagnostic placed at the key that introduces `at` (for unknown or misplaced keys).
    pub fn diag_key(&self, at: &str, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::new(&self.file, message);
        d.at = at.to_string();
        if let Some((line, col)) = self.position(at, true) {
            d = d.at_pos(&self.text, line, col);
        }
        d
    }

    fn position(&self, at: &str, key: bool) -> Option<(usize, usize)> {
        let mut path = at.to_string();
        loop {
            let found = if key {
                self.keys.get(&path).or_else(|| self.values.get(&path))
            } else {
                self.values.get(&path)
            };
            if let Some(pos) = found {
                return Some(*pos);
            }
            if path.is_empty() {
                return None;
            }
            path = parent_path(&path);
        }
    }
}

fn parent_path(path: &str) -> String {
    match path.rfind(['.', '[']) {
        Some(i) => path[..i].to_string(),
        None => String::new(),
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

#[derive(Default)]
struct SpanIndex {
    values: HashMap<String, (usize, usize)>,
    keys: HashMap<String, (usize, usize)>,
    stack: Vec<Frame>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

impl SpanIndex {
    /// The path of the node that starts now; `None` when it is a mapping key.
    fn enter(&mut self, event: &Event, mark: Marker) -> Option<String> {
        let pos = (mark.line(), mark.col() + 1);
        match self.stack.last_mut() {
            None => {
                self.values.insert(String::new(), pos);
                Some(String::new())
            }
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                self.values.insert(p.clone(), pos);
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => {
                    let p = join(path, &k);
                    self.values.insert(p.clone(), pos);
                    Some(p)
                }
                None => {
                    let k = match event {
                        Event::Scalar(s, ..) => s.clone(),
                        _ => "?".to_string(),
                    };
                    let p = join(path, &k);
                    self.keys.insert(p, pos);
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for SpanIndex {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match &event {
            Event::Scalar(..) | Event::Alias(..) => {
                self.enter(&event, mark);
            }
            Event::MappingStart(..) => {
                let path = self.enter(&event, mark).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.enter(&event, mark).unwrap_or_default();
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// Read a file and parse it as YAML, reporting a syntax error with its position.
fn parse(file: &Path) -> Result<(Arc<Source>, Value), Diagnostic> {
    if file.is_dir() {
        return Err(Diagnostic::new(
            file,
            "this is a folder, not a file: it must be a YAML file",
        ));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| Diagnostic::new(file, format!("cannot read file: {e}")))?;
    parse_text(file, text)
}

/// A YAML document that is part of a file (a Markdown file's front matter), as JSON, with the
/// `Source` that places diagnostics in it. `text` keeps the file's line numbers: the lines
/// before the document are blank or `---`.
pub fn parse_part(
    file: &Path,
    text: String,
) -> Result<(Arc<Source>, serde_json::Value), Diagnostic> {
    let (source, value) = parse_text(file, text)?;
    Ok((source, yaml_to_json(value)))
}

fn parse_text(file: &Path, text: String) -> Result<(Arc<Source>, Value), Diagnostic> {
    let value: Value = match serde_yaml::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let mut message = e.to_string();
            // serde_yaml appends the position to its message; we show it in the headline.
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            let mut d = Diagnostic::new(file, format!("invalid YAML: {message}"));
            if let Some(loc) = e.location() {
                d = d.at_pos(&text, loc.line(), loc.column());
            }
            return Err(d);
        }
    };
    Ok((Arc::new(Source::new(file.to_path_buf(), text)), value))
}

/// Decode one node into `T`, turning a serde error into a placed, friendly diagnostic.
fn decode<T: DeserializeOwned>(source: &Source, value: &Value, at: &str) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(null_keys_as_text(value)).map_err(|e| {
        let inner = e.path().to_string();
        let mut path = if inner == "." || inner.is_empty() {
            at.to_string()
        } else if inner.starts_with('[') {
            format!("{at}{inner}")
        } else {
            join(at, &inner)
        };
        let raw = e.into_inner().to_string();
        let (message, hint, key) = friendly(&raw);
        if let Some(key) = &key {
            let candidate = join(&path, key);
            if source.keys.contains_key(&candidate) {
                path = candidate;
            }
            source.diag_key(&path, message).with_hint(hint)
        } else {
            source.diag(&path, message).with_hint(hint)
        }
    })
}

/// YAML reads the key in `{ null: true }` as a null, not the word; Trellis's keys are words
/// (`null` is a field option, as in Django), so a null key is taken as the text `null`.
fn null_keys_as_text(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| {
                    let k = if k.is_null() {
                        Value::String("null".into())
                    } else {
                        k.clone()
                    };
                    (k, null_keys_as_text(v))
                })
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.iter().map(null_keys_as_text).collect()),
        other => other.clone(),
    }
}

/// Rewrite serde's messages in the words of a site's author; returns the message, a hint and,
/// for unknown keys, the key itself (so the caret can point at it).
fn friendly(raw: &str) -> (String, Option<String>, Option<String>) {
    let quoted = |s: &str| -> Vec<String> {
        s.split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, p)| p.to_string())
            .collect()
    };
    for (prefix, noun) in [("unknown field", "key"), ("unknown variant", "value")] {
        if raw.starts_with(prefix) {
            let names = quoted(raw);
            let Some((word, expected)) = names.split_first() else {
                break;
            };
            // A likely typo gets its correction alone; otherwise the accepted words.
            let hint = match did_you_mean(word, expected.iter().map(String::as_str)) {
                Some(m) => format!("did you mean `{m}`?"),
                None if expected.is_empty() => "no keys are accepted here".to_string(),
                None => format!("expected one of: {}", expected.join(", ")),
            };
            let key = (noun == "key").then(|| word.clone());
            return (format!("unknown {noun} `{word}`"), Some(hint), key);
        }
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        return (format!("missing key {rest}"), None, None);
    }
    if raw.starts_with("invalid type: string") && raw.contains("expected a boolean") {
        return (
            raw.to_string(),
            Some("YAML 1.2 reads yes/no/on/off as text; write true or false".into()),
            None,
        );
    }
    if raw.starts_with("data did not match any variant") {
        return (
            "expected a string, a number or a boolean here".into(),
            None,
            None,
        );
    }
    (raw.to_string(), None, None)
}

/// A file of YAML decoded into raw types, with every error found along the way.
pub struct Loaded<T> {
    pub value: T,
    pub source: Arc<Source>,
    pub errors: Vec<Diagnostic>,
    /// For each decoded route, its index in the file's list (entries that failed are left out,
    /// or kept as stubs that only carry their name).
    pub route_indices: Vec<usize>,
}

/// Load `site.yaml`. Entries that fail to decode are left out of the value and reported.
pub fn load_site(file: &Path) -> Result<Loaded<RawSite>, Diagnostic> {
    let (source, value) = parse(file)?;
    let mut site = RawSite::default();
    let mut errors = Vec::new();
    let mut route_indices = Vec::new();
    let map = match value {
        Value::Null => serde_yaml::Mapping::new(),
        Value::Mapping(m) => m,
        _ => {
            errors.push(source.diag(
                "",
                "expected a mapping with keys site, converters, routes, errors",
            ));
            return Ok(Loaded {
                value: site,
                source,
                errors,
                route_indices,
            });
        }
    };
    for (key, node) in &map {
        let Some(key) = key.as_str() else {
            errors.push(source.diag("", "top-level keys must be strings"));
            continue;
        };
        match key {
            "site" if !node.is_null() => match decode(&source, node, "site") {
                Ok(v) => site.site = v,
                Err(d) => errors.push(d),
            },
            "converters" if !node.is_null() => match node {
                Value::Mapping(m) => {
                    for (name, conv) in m {
                        let name = scalar_key(name);
                        let at = join("converters", &name);
                        match decode(&source, conv, &at) {
                            Ok(v) => {
                                site.converters.insert(name, v);
                            }
                            Err(d) => errors.push(d),
                        }
                    }
                }
                _ => {
                    errors.push(source.diag("converters", "expected a mapping of converter names"))
                }
            },
            "routes" if !node.is_null() => match routes(&source, node, "routes") {
                Ok((v, mut e)) => {
                    (route_indices, site.routes) = v.into_iter().unzip();
                    errors.append(&mut e);
                }
                Err(d) => errors.push(d),
            },
            "models" if !node.is_null() => match node {
                Value::Mapping(m) => {
                    for (name, model) in m {
                        let name = scalar_key(name);
                        let at = join("models", &name);
                        match decode(&source, model, &at) {
                            Ok(v) => {
                                site.models.insert(name, v);
                            }
                            Err(d) => match model_without_bad_fields(&source, model, &at) {
                                // Every bad field reported, and the model kept without them, so
                                // that routes naming it are not also told it does not exist.
                                Some((stub, field_errors)) if !field_errors.is_empty() => {
                                    errors.extend(field_errors);
                                    site.models.insert(name, stub);
                                }
                                _ => errors.push(d),
                            },
                        }
                    }
                }
                _ => errors.push(source.diag("models", "expected a mapping of model names")),
            },
            "errors" if !node.is_null() => match decode(&source, node, "errors") {
                Ok(v) => site.errors = v,
                Err(d) => errors.push(d),
            },
            "site" | "converters" | "models" | "routes" | "errors" => {}
            other => {
                let hint = did_you_mean(other, SITE_KEYS.iter().copied())
                    .map(|m| format!("did you mean `{m}`? "))
                    .unwrap_or_default()
                    + &format!("expected one of: {}", SITE_KEYS.join(", "));
                errors.push(
                    source
                        .diag_key(other, format!("unknown key `{other}`"))
                        .with_hint(Some(hint)),
                );
            }
        }
    }
    Ok(Loaded {
        value: site,
        source,
        errors,
        route_indices,
    })
}

/// Load an included routes file: a YAML list of routes.
pub fn load_routes(file: &Path) -> Result<Loaded<Vec<RawRouteEntry>>, Diagnostic> {
    let (source, value) = parse(file)?;
    if value.is_null() {
        return Ok(Loaded {
            value: Vec::new(),
            source,
            errors: Vec::new(),
            route_indices: Vec::new(),
        });
    }
    let (decoded, errors) = routes(&source, &value, "")?;
    let (route_indices, value) = decoded.into_iter().unzip();
    Ok(Loaded {
        value,
        source,
        errors,
        route_indices,
    })
}

fn scalar_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "?".into(),
    }
}

type Decoded = (Vec<(usize, RawRouteEntry)>, Vec<Diagnostic>);

fn routes(source: &Source, node: &Value, at: &str) -> Result<Decoded, Diagnostic> {
    let Value::Sequence(items) = node else {
        return Err(source.diag(
            at,
            "expected a list of routes (each item starting with `- `)",
        ));
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let is_include = item
            .as_mapping()
            .is_some_and(|m| m.contains_key(Value::String("include".into())));
        let result = if is_include {
            decode::<RawInclude>(source, item, &here).map(RawRouteEntry::Include)
        } else if item.is_mapping() {
            decode::<RawRoute>(source, item, &here).map(|r| RawRouteEntry::Route(Box::new(r)))
        } else {
            Err(source.diag(&here, "expected a route: a mapping with `path` and `view`"))
        };
        match result {
            Ok(entry) => out.push((i, entry)),
            Err(d) => {
                errors.push(d);
                if let Some(stub) = stub_route(item) {
                    out.push((i, stub));
                }
            }
        }
    }
    Ok((out, errors))
}

/// A model whose fields do not all decode: each field's error, and the model with the fields
/// that do. `None` when the model fails for another reason.
fn model_without_bad_fields(
    source: &Source,
    node: &Value,
    at: &str,
) -> Option<(RawModel, Vec<Diagnostic>)> {
    let mut map = node.as_mapping()?.clone();
    let fields = map
        .get(Value::String("fields".into()))?
        .as_mapping()?
        .clone();
    let mut good = serde_yaml::Mapping::new();
    let mut errors = Vec::new();
    for (key, field) in fields {
        match decode::<RawField>(source, &field, &format!("{at}.fields.{}", scalar_key(&key))) {
            Ok(_) => {
                good.insert(key, field);
            }
            Err(d) => errors.push(d),
        }
    }
    map.insert(Value::String("fields".into()), Value::Mapping(good));
    let model = decode::<RawModel>(source, &Value::Mapping(map), at).ok()?;
    Some((model, errors))
}

/// A route that failed to decode, kept as a `not_found` stub with its `path`, `regex` and `name`
/// so that its name still resolves: one mistake in a route does not also make every redirect
/// and `url` to it "unknown". The site has errors, so the stub is never served.
fn stub_route(item: &Value) -> Option<RawRouteEntry> {
    let map = item.as_mapping()?;
    if map.contains_key(Value::String("include".into())) {
        return None;
    }
    let mut stub = serde_yaml::Mapping::new();
    for key in ["path", "regex", "name"] {
        if let Some(v @ Value::String(_)) = map.get(Value::String(key.into())) {
            stub.insert(Value::String(key.into()), v.clone());
        }
    }
    stub.get(Value::String("name".into()))?;
    stub.insert(
        Value::String("view".into()),
        Value::String("not_found".into()),
    );
    let route: RawRoute = serde_yaml::from_value(Value::Mapping(stub)).ok()?;
    Some(RawRouteEntry::Route(Box::new(route)))
}

/// Parse YAML text (a fixture) into JSON values: mapping keys that are not strings become their
/// text, tags are dropped. A syntax error comes with its 1-based line and column.
pub fn parse_yaml_value(text: &str) -> Result<serde_json::Value, (String, Option<(usize, usize)>)> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| {
        let mut message = e.to_string();
        // serde_yaml appends the position to its message; it is returned apart.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        (message, e.location().map(|l| (l.line(), l.column())))
    })?;
    Ok(yaml_to_json(value))
}

fn yaml_to_json(v: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                // .inf and .nan have no JSON form: kept as text, so validation names them.
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| J::String(n.to_string()), J::Number)
            }
        }
        Value::String(s) => J::String(s),
        Value::Sequence(items) => J::Array(items.into_iter().map(yaml_to_json).collect()),
        Value::Mapping(m) => J::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s,
                        Value::Null => "null".into(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        other => serde_json::to_string(&yaml_to_json(other)).unwrap_or_default(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Value::Tagged(t) => yaml_to_json(t.value),
    }
}

/// `value` as YAML that `parse_yaml_value` reads back as the same value, written by yaml-rust2's
/// emitter: block mappings and sequences, strings plain where nothing could misread them,
/// multi-line strings as literal blocks. Where the emitter would write a string that YAML
/// reads otherwise (a line break it does not escape, a block starting with a space, `0o17`),
/// the string is written double-quoted here instead.
pub fn to_yaml_string(value: &serde_json::Value) -> String {
    emit(&json_to_yaml(value))
}

fn emit(yaml: &Yaml) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    // Only a failing writer fails the emitter, and a String never does.
    let _ = emitter.dump(yaml);
    // Without the document marker; the emitter indents the empty lines of a literal block,
    // which YAML reads the same without the trailing spaces.
    let body = out.strip_prefix("---\n").unwrap_or(&out);
    let mut text: String = body
        .split('\n')
        .map(|line| {
            if line.trim_start_matches(' ').is_empty() {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

fn json_to_yaml(v: &serde_json::Value) -> Yaml {
    use serde_json::Value as J;
    match v {
        J::Null => Yaml::Null,
        J::Bool(b) => Yaml::Boolean(*b),
        J::Number(n) => n
            .as_i64()
            .map_or_else(|| Yaml::Real(n.to_string()), Yaml::Integer),
        J::String(s) => yaml_string(s, false),
        J::Array(items) => Yaml::Array(items.iter().map(json_to_yaml).collect()),
        J::Object(map) => Yaml::Hash(
            map.iter()
                .map(|(k, v)| (yaml_string(k, true), json_to_yaml(v)))
                .collect(),
        ),
    }
}

/// A string as the emitter writes it, if that reads back as the same string in the same place
/// (a key, or a value); else double-quoted here (a `Real` is written as it is).
fn yaml_string(s: &str, key: bool) -> Yaml {
    let string = Yaml::String(s.to_string());
    let (k, v) = if key {
        (string.clone(), Yaml::Null)
    } else {
        (Yaml::String("k".into()), string.clone())
    };
    let probe = Yaml::Hash([(k, v)].into_iter().collect());
    let back = parse_yaml_value(&emit(&probe)).ok();
    let reads_back = match back.as_ref().and_then(|v| v.as_object()) {
        Some(map) if key => map.len() == 1 && map.contains_key(s),
        Some(map) => map.len() == 1 && map.get("k").and_then(|v| v.as_str()) == Some(s),
        None => false,
    };
    if reads_back {
        string
    } else {
        Yaml::Real(quoted(s))
    }
}

/// A double-quoted YAML string; every character YAML would not take as it is is escaped.
fn quoted(s: &str) -> String {
    // Characters libyaml accepts as they are, and not as a line break.
    let printable = |c: char| {
        matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
            && !matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_places_values_and_keys() {
        let text = "site:\n  name: x\nroutes:\n  - path: a\n    view: template\n";
        let s = Source::new("s.yaml".into(), text.into());
        assert_eq!(s.values.get("site.name"), Some(&(2, 9)));
        assert_eq!(s.keys.get("routes[0].view"), Some(&(5, 5)));
        assert_eq!(s.values.get("routes[0].path"), Some(&(4, 11)));
    }

    #[test]
    fn unknown_key_gets_a_suggestion() {
        let (m, hint, key) =
            friendly("unknown field `tempalte`, expected one of `template`, `view`");
        assert_eq!(m, "unknown key `tempalte`");
        assert_eq!(hint.as_deref(), Some("did you mean `template`?"));
        assert_eq!(key.as_deref(), Some("tempalte"));
    }

    #[test]
    fn written_yaml_reads_back_as_the_same_value() {
        let strings = [
            "hello world",
            "",
            " ",
            "yes",
            "No",
            "null",
            "~",
            "12",
            "1.5",
            "0o17",
            "0x1f",
            "+.inf",
            ".nan",
            "1e3",
            "007",
            "a: b",
            "a #b",
            "- x",
            "trailing ",
            "'quoted'",
            "\"double\"",
            "back\\slash",
            "2026-01-05",
            "tab\there",
            "bell\u{7}",
            "del\u{7f}",
            "c1\u{85}",
            "ls\u{2028}ps\u{2029}",
            "bom\u{feff}",
            "é ✓ 😀",
            "---",
            "...",
            "line one\nline two",
            "ends with a newline\n",
            "two at the end\n\n",
            "\nstarts with one",
            " starts with a space\nthen",
            "crlf\r\nline",
            "blank\n\nline",
            "spaces only\n  \nline",
            "---\n...\n",
            "# a comment\nline",
        ];
        for s in strings {
            let value = serde_json::json!([{ "k": s, s: [s], "n": { s: s } }]);
            let text = to_yaml_string(&value);
            assert_eq!(
                parse_yaml_value(&text).ok(),
                Some(value),
                "{s:?} as\n{text}"
            );
        }
        let other = serde_json::json!({
            "null": null, "true": true, "int": -7, "big": u64::MAX, "float": 2.0,
            "small": -0.001, "empty list": [], "empty map": {}, "nested": [[1], {"a": [{}]}]
        });
        assert_eq!(parse_yaml_value(&to_yaml_string(&other)).ok(), Some(other));
    }

    #[test]
    fn written_yaml_is_readable() {
        let value = serde_json::json!([{
            "model": "Post",
            "fields": { "title": "Hello", "body": "Line one\n  indented\n\nlast\n", "views": 2 }
        }]);
        assert_eq!(
            to_yaml_string(&value),
            "- model: Post\n  fields:\n    title: Hello\n    body: |\n      Line one\n        indented\n\n      last\n    views: 2\n"
        );
        assert_eq!(to_yaml_string(&serde_json::json!([])), "[]\n");
    }
}
