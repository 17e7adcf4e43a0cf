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
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::{Yaml, YamlEmitter};

use super::diagnostic::{did_you_mean, norway, Diagnostic, NORWAY_HINT};
use super::raw::{RawInclude, RawRoute, RawRouteEntry, RawSite, SITE_KEYS};
use super::syntax::explain;

/// A YAML file's text and where each node is, for placing diagnostics.
#[derive(Debug)]
pub struct Source {
    pub file: PathBuf,
    pub text: String,
    /// Path (`routes[2].template`) → 1-based (line, column) of the value.
    values: HashMap<String, (usize, usize)>,
    /// Path → position of the mapping key that introduces it.
    keys: HashMap<String, (usize, usize)>,
    /// Paths of the unquoted values `yes`, `no`, `on`, `off` (YAML 1.1's booleans, text here).
    plain_norway: Vec<String>,
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
            plain_norway: index.plain_norway,
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

    /// The 1-based (line, column) of the value at `at`, or of its nearest known ancestor.
    pub fn locate(&self, at: &str) -> Option<(usize, usize)> {
        self.position(at, false)
    }

    /// The 1-based (line, column) of the value at `at` itself, if it is there.
    pub fn locate_value(&self, at: &str) -> Option<(usize, usize)> {
        self.values.get(at).copied()
    }

    /// The 1-based (line, column) of the key that introduces `at`, if it has one.
    pub fn locate_key(&self, at: &str) -> Option<(usize, usize)> {
        self.keys.get(at).copied()
    }

    /// The plain word at the value at `at` (a scalar on one line).
    fn text_at(&self, at: &str) -> Option<&str> {
        let (line, col) = *self.values.get(at)?;
        let l = self.text.lines().nth(line.checked_sub(1)?)?;
        let rest = l.get(l.char_indices().nth(col.checked_sub(1)?)?.0..)?;
        let end = rest.find([',', '}', ']', ' ', '#']).unwrap_or(rest.len());
        Some(&rest[..end])
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
    plain_norway: Vec<String>,
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
            Event::Scalar(text, style, ..) => {
                let path = self.enter(&event, mark);
                if let Some(path) = path {
                    if *style == TScalarStyle::Plain && norway(text).is_some() {
                        self.plain_norway.push(path);
                    }
                }
            }
            Event::Alias(..) => {
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
            let (message, pos, hint) = syntax_error(&text, &e);
            let mut d = Diagnostic::new(file, format!("invalid YAML: {message}"));
            if let Some((line, col)) = pos {
                d = d.at_pos(&text, line, col);
            }
            return Err(d.with_hint(hint));
        }
    };
    Ok((Arc::new(Source::new(file.to_path_buf(), text)), value))
}

/// A syntax error explained (`syntax::explain`): its message, 1-based position and hint.
fn syntax_error(
    text: &str,
    e: &serde_yaml::Error,
) -> (String, Option<(usize, usize)>, Option<String>) {
    let mut message = e.to_string();
    // serde_yaml appends the position to its message; it is returned apart.
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    match e.location() {
        Some(loc) => {
            let x = explain(text, &message, loc.line(), loc.column());
            (x.message, Some((x.line, x.col)), x.hint)
        }
        None => (message, None, None),
    }
}

/// Decode one node into `T`, turning a serde error into a placed, friendly diagnostic.
fn decode<T: DeserializeOwned>(source: &Source, value: &Value, at: &str) -> Result<T, Diagnostic> {
    let value = null_keys_as_text(value);
    serde_path_to_error::deserialize(&value).map_err(|e| diagnose::<T>(source, &value, at, &e).0)
}

/// Decode one node into `T`, reporting every mistake in it: each key that fails is reported,
/// taken out, and the rest decoded again, so the value is kept (and names in it still resolve)
/// when what is left decodes. Also returns the paths of the keys taken out.
fn decode_each<T: DeserializeOwned>(
    source: &Source,
    value: &Value,
    at: &str,
) -> (Option<T>, Vec<Diagnostic>, Vec<String>) {
    let mut value = null_keys_as_text(value);
    let mut errors = Vec::new();
    let mut removed: Vec<Vec<String>> = Vec::new();
    let paths = |removed: &[Vec<String>]| -> Vec<String> {
        removed
            .iter()
            .map(|keys| keys.iter().fold(at.to_string(), |p, k| join(&p, k)))
            .collect()
    };
    for _ in 0..64 {
        let e = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => return (Some(v), errors, paths(&removed)),
            Err(e) => e,
        };
        let keys: Vec<String> = e
            .path()
            .iter()
            .map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                _ => None,
            })
            .collect::<Option<_>>()
            .unwrap_or_default();
        let raw = e.inner().to_string();
        if let Some(missing) = raw.strip_prefix("missing field ") {
            // A key taken out for its own error is not also missing: the mapping that needs
            // it goes too (a field without its `type`).
            let name = missing.trim_matches('`');
            let mut gone = keys.clone();
            gone.push(name.to_string());
            // Nor is the key a misspelling taken out stands for (`fileds` for `fields`).
            let misspelt = removed.iter().any(|r| {
                r.len() == gone.len()
                    && r[..r.len() - 1] == gone[..gone.len() - 1]
                    && did_you_mean(&r[r.len() - 1], [name]).is_some()
            });
            if misspelt || removed.contains(&gone) {
                if keys.is_empty() || !remove_key(&mut value, &keys) {
                    return (None, errors, paths(&removed));
                }
                removed.push(keys);
                continue;
            }
        }
        let (d, key) = diagnose::<T>(source, &value, at, &e);
        errors.push(d);
        let mut keys = keys;
        // An unknown key's path may or may not already end with the key.
        if let Some(k) = key.filter(|k| keys.last() != Some(k)) {
            keys.push(k);
        }
        if keys.is_empty() || !remove_key(&mut value, &keys) {
            return (None, errors, paths(&removed));
        }
        removed.push(keys);
    }
    (None, errors, paths(&removed))
}

/// Take the key at `keys` (a path of mapping keys) out of `value`; false if it is not there.
fn remove_key(value: &mut Value, keys: &[String]) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut node = value;
    for k in parents {
        match node
            .as_mapping_mut()
            .and_then(|m| m.get_mut(Value::String(k.clone())))
        {
            Some(n) => node = n,
            None => return false,
        }
    }
    node.as_mapping_mut()
        .and_then(|m| m.remove(Value::String(last.clone())))
        .is_some()
}

/// A serde error as a placed diagnostic; for an unknown key, also the key.
fn diagnose<T: DeserializeOwned>(
    source: &Source,
    value: &Value,
    at: &str,
    e: &serde_path_to_error::Error<serde_yaml::Error>,
) -> (Diagnostic, Option<String>) {
    let inner = e.path().to_string();
    let mut path = if inner == "." || inner.is_empty() {
        at.to_string()
    } else if inner.starts_with('[') {
        format!("{at}{inner}")
    } else {
        join(at, &inner)
    };
    let mut raw = e.inner().to_string();
    if raw.contains("expected a Value::Tagged enum") || raw.contains("expected enum ") {
        // A word was expected and something else given: ask again with a word, so that
        // serde lists the words it takes.
        if let Some(words) = accepted_words::<T>(value, e.path()) {
            let got = raw.split(", expected").next().unwrap_or_default();
            raw = format!("{got}, expected one of: {words}");
        }
    }
    let (message, mut hint, key) = friendly(&raw);
    if hint.is_none() {
        hint = indented_too_little(&raw, &path);
    }
    let d = if let Some(key) = &key {
        let candidate = join(&path, key);
        if source.keys.contains_key(&candidate) {
            path = candidate;
        }
        source.diag_key(&path, message).with_hint(hint)
    } else {
        source.diag(&path, message).with_hint(hint)
    };
    (d, key)
}

/// A model's or a field's own key (`ordering:`, `max_length:`) read as a model or a field of
/// its own: the line is indented too little. The hint says so.
fn indented_too_little(raw: &str, path: &str) -> Option<String> {
    let (what, keys, fix) = if raw.ends_with("expected struct RawModel") {
        let fix = "indent it to line up with `fields:` of the model above it";
        ("model", keys_of::<super::raw::RawModel>(), fix)
    } else if raw.ends_with("expected struct RawField") {
        let fix = "move it into the field above it (inside its `{ … }`, or indented under it)";
        ("field", keys_of::<super::raw::RawField>(), fix)
    } else {
        return None;
    };
    let key = path.rsplit('.').next()?;
    keys.iter()
        .any(|k| k == key)
        .then(|| format!("`{key}` is a key of a {what}, read here as a {what} of its own: {fix}"))
}

/// The keys a mapping of type `T` accepts, as serde lists them for an unknown one.
fn keys_of<T: DeserializeOwned>() -> Vec<String> {
    let mut probe = serde_yaml::Mapping::new();
    probe.insert(Value::String("\u{1}".into()), Value::Null);
    let Err(e) = serde_yaml::from_value::<T>(Value::Mapping(probe)) else {
        return Vec::new();
    };
    let e = e.to_string();
    let Some((_, words)) = e.split_once("expected one of ") else {
        return Vec::new();
    };
    words
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, w)| w.to_string())
        .collect()
}

/// The words an enum at `path` of `value` takes: the list serde gives for an unknown word.
fn accepted_words<T: DeserializeOwned>(
    value: &Value,
    path: &serde_path_to_error::Path,
) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut probe = value.clone();
    let mut node = &mut probe;
    for segment in path.iter() {
        node = match segment {
            Segment::Seq { index } => node.as_sequence_mut()?.get_mut(*index)?,
            Segment::Map { key } => node.as_mapping_mut()?.get_mut(Value::String(key.clone()))?,
            _ => return None,
        };
    }
    *node = Value::String("\u{1}".into());
    let e = serde_yaml::from_value::<T>(probe).err()?.to_string();
    let (_, words) = e.split_once("expected one of ")?;
    Some(words.replace('`', ""))
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
            let names_a_route =
                NAME_KEYS.contains(&word.as_str()) && expected.iter().any(|e| e == "name");
            let hint = match did_you_mean(word, expected.iter().map(String::as_str)) {
                _ if names_a_route => "a route's name is given with `name:`".to_string(),
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
    if let Some(name) = raw.strip_prefix("data did not match any variant of untagged enum ") {
        let expected = match name.trim() {
            "RawSitemap" => "true, false or a mapping with `lastmod:`",
            "RawSource" => "a folder, or a mapping with `folder:`",
            _ => "a string, a number or a boolean (one value, not a list or a mapping)",
        };
        return (format!("expected {expected} here"), None, None);
    }
    let typed = raw
        .strip_prefix("invalid type: ")
        .or_else(|| raw.strip_prefix("invalid value: "));
    if let Some((got, expected)) = typed.and_then(|t| t.split_once(", expected ")) {
        let got = got_in_words(got);
        let (expected, hint) = expected_in_words(expected, &got);
        let message = match expected.strip_prefix("one of: ") {
            Some(words) => format!("expected one of {words}; got {got}"),
            None => format!("expected {expected}, got {got}"),
        };
        return (message, hint, None);
    }
    (raw.to_string(), None, None)
}

/// What serde found, as an author would say it: `the text "x"`, `5`, `a list`.
fn got_in_words(got: &str) -> String {
    let literal = |s: &str| s.trim_matches('`').to_string();
    if let Some(s) = got.strip_prefix("string ") {
        format!("the text {s}")
    } else if let Some(n) = got
        .strip_prefix("integer ")
        .or_else(|| got.strip_prefix("floating point "))
        .or_else(|| got.strip_prefix("boolean "))
    {
        literal(n)
    } else {
        match got {
            "map" => "a mapping".into(),
            "sequence" => "a list".into(),
            "unit value" | "unit" | "Option value" => "nothing (null)".into(),
            other => other.to_string(),
        }
    }
}

/// What serde expected, in the words of a site's author, and a hint when one helps.
fn expected_in_words(expected: &str, got: &str) -> (String, Option<String>) {
    let words = match expected.trim() {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "a map" => "a mapping (`key: value` lines)",
        "struct RawField" => "a field: a mapping with `type:`",
        "struct RawModel" => "a model: a mapping with `fields:`",
        "struct RawConverter" => "a converter: a mapping with `regex:` or `values:`",
        "struct RawRoute" => "a route: a mapping with `path` and `view`",
        "struct RawInclude" => "an include: a mapping with `include:`",
        "struct RawHsts" => "a mapping with `max_age:`",
        "struct RawSearch" => "a mapping with `fields:`",
        "struct RawDates" => "a mapping with `field:`",
        "struct RawRelated" => "a mapping with `model:` and `field:`",
        other if other.starts_with("struct ") => "a mapping (`key: value` lines)",
        other => other,
    };
    let hint = match words {
        "true or false" if is_norway(got) => Some(NORWAY_HINT.to_string()),
        "a whole number, 0 or more" | "a whole number" | "a number"
            if got.starts_with("the text") =>
        {
            Some("write the number without quotes".to_string())
        }
        "a string" if !got.starts_with('a') && !got.starts_with("nothing") => {
            Some(format!("quote it to make it text: \"{got}\""))
        }
        "a list" if got.starts_with("the text") || !got.starts_with('a') => {
            let item = got.trim_start_matches("the text ").trim_matches('"');
            Some(format!(
                "a list is written `[{item}]`, or as lines starting with `- `"
            ))
        }
        _ => None,
    };
    (words.to_string(), hint)
}

/// `the text "yes"` (or no, on, off, in any case): a YAML 1.1 boolean read as text.
fn is_norway(got: &str) -> bool {
    let word = got.trim_start_matches("the text ").trim_matches('"');
    super::diagnostic::norway(word).is_some()
}

/// A file of YAML decoded into raw types, with every error found along the way.
pub struct Loaded<T> {
    pub value: T,
    pub source: Arc<Source>,
    pub errors: Vec<Diagnostic>,
    /// For each decoded route, its index in the file's list (entries that failed are left out,
    /// or kept as stubs that only carry their name).
    pub route_indices: Vec<usize>,
    /// The models, keys of models and settings left out after their error was reported
    /// (`models.Post`, `models.Post.fields.published`, `site.database`): a later mention of
    /// one is not another mistake.
    pub broken: Vec<String>,
}

/// Load `site.yaml`. Entries that fail to decode are left out of the value and reported.
pub fn load_site(file: &Path) -> Result<Loaded<RawSite>, Diagnostic> {
    let (source, value) = parse(file)?;
    decode_site(source, value)
}

/// `site.yaml`'s parsed text decoded, section by section.
fn decode_site(source: Arc<Source>, value: Value) -> Result<Loaded<RawSite>, Diagnostic> {
    let mut site = RawSite::default();
    let mut errors = Vec::new();
    let mut route_indices = Vec::new();
    let mut broken = Vec::new();
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
                broken: Vec::new(),
            });
        }
    };
    for (key, node) in &map {
        let Some(key) = key.as_str() else {
            errors.push(source.diag("", "top-level keys must be strings"));
            continue;
        };
        match key {
            "site" if !node.is_null() => {
                let (v, mut e, mut removed) = decode_each(&source, node, "site");
                site.site = v.unwrap_or_default();
                errors.append(&mut e);
                broken.append(&mut removed);
            }
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
                        // Every bad key reported, and the model kept without them, so that
                        // routes naming it are not also told it does not exist.
                        let (v, mut e, mut removed) = decode_each(&source, model, &at);
                        match v {
                            Some(v) => {
                                site.models.insert(name, v);
                            }
                            None => broken.push(at),
                        }
                        errors.append(&mut e);
                        broken.append(&mut removed);
                    }
                }
                _ => errors.push(source.diag("models", "expected a mapping of model names")),
            },
            "errors" if !node.is_null() => match decode(&source, node, "errors") {
                Ok(v) => site.errors = v,
                Err(d) => errors.push(d),
            },
            // A path, or the long form decoded key by key (each bad key placed and named).
            "admin" if !node.is_null() => match node {
                Value::String(path) => site.admin = Some(super::raw::RawAdmin::Path(path.clone())),
                Value::Mapping(_) => {
                    let (v, mut e, _) = decode_each(&source, node, "admin");
                    site.admin = v.map(super::raw::RawAdmin::Full);
                    errors.append(&mut e);
                }
                _ => errors.push(
                    source
                        .diag("admin", "expected the path the admin is mounted at, or a mapping with `path:` and `models:`")
                        .with_hint(Some("admin: admin/".into())),
                ),
            },
            "site" | "converters" | "models" | "routes" | "errors" | "admin" => {}
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
        broken,
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
            broken: Vec::new(),
        });
    }
    let (decoded, errors) = routes(&source, &value, "")?;
    let (route_indices, value) = decoded.into_iter().unzip();
    Ok(Loaded {
        value,
        source,
        errors,
        route_indices,
        broken: Vec::new(),
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
        // Every mistake in a route is reported; a route with any is kept only as a stub.
        let result: Result<RawRouteEntry, Vec<Diagnostic>> = if is_include {
            match decode_each::<RawInclude>(source, item, &here) {
                (Some(v), e, _) if e.is_empty() => Ok(RawRouteEntry::Include(v)),
                (_, e, _) => Err(e),
            }
        } else if item.is_mapping() {
            match decode_each::<RawRoute>(source, item, &here) {
                (Some(v), e, _) if e.is_empty() => Ok(RawRouteEntry::Route(Box::new(v))),
                (_, e, _) => Err(e),
            }
        } else {
            Err(vec![source.diag(
                &here,
                "expected a route: a mapping with `path` and `view`",
            )])
        };
        match result {
            Ok(entry) => {
                errors.extend(norway_in_context(source, &here));
                out.push((i, entry));
            }
            Err(mut d) => {
                errors.append(&mut d);
                if let Some(stub) = stub_route(item) {
                    out.push((i, stub));
                }
            }
        }
    }
    Ok((out, errors))
}

/// A route's `context:` values that are an unquoted yes/no/on/off: text to YAML 1.2, so true
/// to `{{#if}}`, which is never what `show: no` means.
fn norway_in_context(source: &Source, route: &str) -> Vec<Diagnostic> {
    let context = format!("{route}.context.");
    source
        .plain_norway
        .iter()
        .filter(|p| p.starts_with(&context))
        .map(|p| {
            let word = source.text_at(p).unwrap_or("no");
            source
                .diag(
                    p,
                    format!(
                        "`{word}` is the text \"{word}\" here, which `{{{{#if}}}}` takes as true"
                    ),
                )
                .with_hint(Some(format!(
                    "write true or false for a yes/no value; to mean the text, quote it: \"{word}\""
                )))
        })
        .collect()
}

/// Keys people write for a route's `name`.
const NAME_KEYS: [&str; 4] = ["route", "route_name", "url_name", "id"];

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
    if !stub.contains_key(Value::String("name".into())) {
        // The name under a misspelt key (`route: home`, `nmae: home`): the key is reported as
        // unknown, and links to the name are not also reported.
        let misspelt = map.iter().find_map(|(k, v)| {
            let k = k.as_str()?;
            let meant = NAME_KEYS.contains(&k) || did_you_mean(k, ["name"]).is_some();
            (meant && v.is_string()).then(|| v.clone())
        })?;
        stub.insert(Value::String("name".into()), misspelt);
    }
    stub.insert(
        Value::String("view".into()),
        Value::String("not_found".into()),
    );
    let route: RawRoute = serde_yaml::from_value(Value::Mapping(stub)).ok()?;
    Some(RawRouteEntry::Route(Box::new(route)))
}

/// Parse YAML text (a fixture) into JSON values: mapping keys that are not strings become their
/// text, tags are dropped. A syntax error comes with its 1-based line and column.
pub fn parse_yaml_value(text: &str) -> Result<serde_json::Value, SyntaxError> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| {
        let (message, pos, hint) = syntax_error(text, &e);
        SyntaxError { message, pos, hint }
    })?;
    Ok(yaml_to_json(value))
}

/// A YAML syntax error in the author's words, with its 1-based (line, column) when known.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub pos: Option<(usize, usize)>,
    pub hint: Option<String>,
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

#[cfg(test)]
mod wrong_types {
    //! Every key of `site.yaml`, found by walking the JSON Schema made from `config/raw.rs`,
    //! given values of the wrong kind: no message may speak Rust or serde.
    use super::*;
    use serde_json::{json, Value as J};

    /// Where a key sits: its parents' keys (`*` for a name the author chooses, `[]` for a
    /// list's item).
    fn walk(root: &J, node: &J, path: Vec<String>, depth: usize, out: &mut Vec<Vec<String>>) {
        if depth > 6 {
            return;
        }
        if let Some(r) = node.get("$ref").and_then(J::as_str) {
            let name = r.trim_start_matches("#/$defs/");
            if path.iter().filter(|p| *p == name).count() > 0 {
                return;
            }
            let mut p = path.clone();
            p.push(format!("#{name}"));
            return walk(root, &root["$defs"][name], p, depth + 1, out);
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for branch in node.get(key).and_then(J::as_array).into_iter().flatten() {
                walk(root, branch, path.clone(), depth + 1, out);
            }
        }
        if let Some(props) = node.get("properties").and_then(J::as_object) {
            for (k, v) in props {
                let mut p = path.clone();
                p.push(k.clone());
                out.push(p.clone());
                walk(root, v, p, depth + 1, out);
            }
        }
        if let Some(items) = node.get("items").filter(|i| i.is_object()) {
            let mut p = path.clone();
            p.push("[]".into());
            walk(root, items, p, depth + 1, out);
        }
        if let Some(more) = node.get("additionalProperties").filter(|i| i.is_object()) {
            let mut p = path.clone();
            p.push("*".into());
            walk(root, more, p, depth + 1, out);
        }
    }

    /// The document that puts `wrong` at `path`; an include's keys come with `include:`.
    fn document(path: &[String], wrong: &J) -> J {
        let steps: Vec<&String> = path.iter().filter(|p| !p.starts_with('#')).collect();
        let mut value = wrong.clone();
        for (i, step) in steps.iter().enumerate().rev() {
            let in_include = path
                .iter()
                .position(|p| p == "#RawInclude")
                .is_some_and(|at| path[..at].iter().filter(|p| !p.starts_with('#')).count() == i);
            value = match step.as_str() {
                "[]" => json!([value]),
                "*" => json!({ "x": value }),
                key if in_include && key != "include" => json!({ "include": "x.yaml", key: value }),
                key => json!({ key: value }),
            };
        }
        value
    }

    #[test]
    fn no_message_names_a_rust_type() {
        let schema: J = serde_json::from_str(&super::super::raw::site_schema()).unwrap();
        let mut paths = Vec::new();
        walk(&schema, &schema, Vec::new(), 0, &mut paths);
        assert!(paths.len() > 80, "{}", paths.len());
        let wrongs = [
            json!("x"),
            json!(5),
            json!(-1),
            json!(1.5),
            json!(true),
            json!([1]),
            json!({"a": 1}),
        ];
        let file = Path::new("site.yaml");
        let forbidden = [
            "struct ",
            "enum ",
            "u8",
            "u16",
            "u32",
            "u64",
            "i32",
            "i64",
            "usize",
            "f64",
            "variant",
            "Raw",
            " map,", // serde's "invalid type: map,"; not a view named `sitemap`
            "sequence",
            "unit value",
            "identifier",
            "Option",
        ];
        let mut bad = std::collections::BTreeSet::new();
        let mut seen = std::collections::BTreeSet::new();
        for path in &paths {
            for wrong in &wrongs {
                let text = to_yaml_string(&document(path, wrong));
                let loaded = match parse_text(file, text).and_then(|(s, v)| decode_site(s, v)) {
                    Ok(l) => l.errors,
                    Err(d) => vec![d],
                };
                for d in loaded {
                    let text = format!("{} {}", d.message, d.hint.unwrap_or_default());
                    seen.insert(text.clone());
                    if forbidden.iter().any(|f| text.contains(f)) {
                        bad.insert(format!("{}: {text}", d.at));
                    }
                }
            }
        }
        if std::env::var_os("SHOW_MESSAGES").is_some() {
            for s in &seen {
                eprintln!("{s}");
            }
        }
        assert!(
            bad.is_empty(),
            "{} messages speak Rust:\n{}",
            bad.len(),
            bad.into_iter().collect::<Vec<_>>().join("\n")
        );
    }
}
