//! One Markdown file of a collection: its YAML front matter (between a first line `---` and the
//! next line `---`) and the Markdown after it. The front matter is parsed with the positions of
//! its nodes, so a mistake in it is placed at its own line and column of the `.md` file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::config::yaml::{self, Source};
use crate::config::Diagnostic;

/// What tells a changed file from an unchanged one without reading it: its modification time
/// and its length. (An edit that keeps both, within the file system's time resolution, is not
/// seen until the next change; editors and `cp` do not do that.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        }
    }
}

/// A file read and split.
#[derive(Debug)]
pub struct File {
    pub path: PathBuf,
    pub stamp: Stamp,
    /// The front matter's text (the lines after it blanked), for placing diagnostics.
    pub source: Arc<Source>,
    /// The front matter's fields (empty when there is none).
    pub front: Map<String, Value>,
    /// The Markdown after the front matter.
    pub body: String,
}

impl File {
    /// Read and split the file at `path`.
    pub fn read(path: &Path, stamp: Stamp) -> Result<File, Diagnostic> {
        let bytes = std::fs::read(path)
            .map_err(|e| Diagnostic::new(path, format!("cannot read file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Diagnostic::new(
                path,
                format!(
                    "not UTF-8 text (an invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
            .with_hint(Some("save the file as UTF-8".into()))
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let (front, body) = split(path, text)?;
        let Some(front) = front else {
            return Ok(File {
                path: path.to_path_buf(),
                stamp,
                source: Arc::new(Source::new(path.to_path_buf(), String::new())),
                front: Map::new(),
                body: body.to_string(),
            });
        };
        let (source, value) = yaml::parse_part(path, front)?;
        let front = match value {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(source
                    .diag(
                        "",
                        format!(
                            "the front matter is {}, not a mapping of fields",
                            kind(&other)
                        ),
                    )
                    .with_hint(Some(
                        "write one `field: value` a line, e.g. `title: Hello`".into(),
                    )))
            }
        };
        Ok(File {
            path: path.to_path_buf(),
            stamp,
            source,
            front,
            body: body.to_string(),
        })
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        _ => "a value",
    }
}

/// Is this line a front matter fence?
fn fence(line: &str) -> bool {
    line.trim_end() == "---"
}

/// The front matter as YAML text that keeps the file's line numbers (the opening fence kept as
/// YAML's own document start), and the body after the closing fence.
fn split<'t>(path: &Path, text: &'t str) -> Result<(Option<String>, &'t str), Diagnostic> {
    let first_end = text.find('\n').map_or(text.len(), |i| i + 1);
    if !fence(&text[..first_end]) {
        return Ok((None, text));
    }
    let mut at = first_end;
    while at < text.len() {
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        if fence(&text[at..end]) {
            let front = format!("---\n{}", &text[first_end..at]);
            return Ok((Some(front), &text[end..]));
        }
        at = end;
    }
    Err(
        Diagnostic::new(path, "the front matter opened on line 1 is never closed")
            .at_pos(text, 1, 1)
            .with_hint(Some(
                "end it with a line holding only `---`, before the Markdown".into(),
            )),
    )
}

#[cfg(test)]
mod tests {
    use super::split;
    use std::path::Path;

    #[test]
    fn front_matter_and_body() {
        let p = Path::new("x.md");
        for (text, front, body) in [
            (
                "---\ntitle: A\n---\nHello\n",
                Some("---\ntitle: A\n"),
                "Hello\n",
            ),
            ("---\n---\nBody", Some("---\n"), "Body"),
            (
                "---  \r\nt: 1\r\n---\r\n\r\nB",
                Some("---\nt: 1\r\n"),
                "\r\nB",
            ),
            ("No front matter\n---\n", None, "No front matter\n---\n"),
            ("", None, ""),
            ("---\nt: 1\n---", Some("---\nt: 1\n"), ""),
            // A `---` inside the body is Markdown's rule, not a fence.
            (
                "---\na: 1\n---\nx\n---\ny\n",
                Some("---\na: 1\n"),
                "x\n---\ny\n",
            ),
        ] {
            let (f, b) = split(p, text).unwrap();
            assert_eq!(f.as_deref(), front, "{text:?}");
            assert_eq!(b, body, "{text:?}");
        }
        let e = split(p, "---\ntitle: A\nno end\n").unwrap_err();
        assert!(e.message.contains("never closed"), "{}", e.message);
        assert_eq!(e.line, Some(1));
    }
}
