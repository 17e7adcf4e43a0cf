//! Diagnostics a person can act on: file, line, column, the YAML path, what was expected, and a
//! hint (usually a did-you-mean). Every loader and validator reports through this type, and
//! `trellis check` prints all of them, not only the first.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a site's files.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub col: Option<usize>,
    /// Where in the YAML document: `routes[2].template`; empty for a whole file.
    pub at: String,
    pub message: String,
    pub hint: Option<String>,
    /// The offending source line, quoted under the message.
    pub snippet: Option<String>,
    /// A warning: worth a look, but the site loads.
    pub warning: bool,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: None,
            col: None,
            at: String::new(),
            message: message.into(),
            hint: None,
            snippet: None,
            warning: false,
        }
    }

    /// The same, as a warning.
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// Place the diagnostic at a 1-based line and column of `text`, quoting that line.
    pub fn at_pos(mut self, text: &str, line: usize, col: usize) -> Self {
        self.line = Some(line);
        self.col = Some(col);
        self.snippet = text.lines().nth(line.saturating_sub(1)).map(str::to_owned);
        self
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// The one-line form: `file:line:col: at: message`.
    pub fn headline(&self) -> String {
        let mut s = self.file.display().to_string();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
            if let Some(col) = self.col {
                s.push_str(&format!(":{col}"));
            }
        }
        s.push_str(": ");
        if !self.at.is_empty() {
            s.push_str(&self.at);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }
}

impl fmt::Display for Diagnostic {
    /// The block form: the headline, the quoted line with a caret under the column, the hint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = if self.warning { "warning" } else { "error" };
        self.block(f, label)
    }
}

impl Diagnostic {
    /// The block form under `label` (`error`, `warning`).
    fn block(&self, f: &mut fmt::Formatter<'_>, label: &str) -> fmt::Result {
        writeln!(f, "{label}: {}", self.headline())?;
        if let (Some(line), Some(snippet)) = (self.line, &self.snippet) {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {snippet}")?;
            let col = self.col.unwrap_or(1).max(1);
            // Keep tabs so the caret lines up under the same column in a terminal.
            let lead: String = snippet
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{pad} | {lead}^")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = help: {hint}")?;
        }
        Ok(())
    }
}

/// Diagnostics sorted by file and position, for stable output.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (&a.file, a.line.unwrap_or(0), a.col.unwrap_or(0)).cmp(&(
            &b.file,
            b.line.unwrap_or(0),
            b.col.unwrap_or(0),
        ))
    });
}

/// The words YAML 1.1 read as booleans, which YAML 1.2 (and so Trellis) reads as text.
pub const NORWAY: [&str; 4] = ["yes", "no", "on", "off"];

/// The hint for a YAML 1.1 boolean where a boolean is expected.
pub const NORWAY_HINT: &str = "YAML 1.2 reads yes/no/on/off as text; write true or false";

/// `word` if it is one of `NORWAY`, in any case.
pub fn norway(word: &str) -> Option<&str> {
    NORWAY
        .contains(&word.to_ascii_lowercase().as_str())
        .then_some(word)
}

/// `message`, followed by `NORWAY_HINT` when `value` is one of `NORWAY`: for the messages that
/// have no hint of their own (a `where:` value, a fixture's).
pub fn with_norway_hint(message: String, value: &str) -> String {
    match norway(value) {
        Some(_) => format!("{message} ({NORWAY_HINT})"),
        None => message,
    }
}

/// The closest candidate to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(&word.to_lowercase(), &candidate.to_lowercase());
        let edits = strsim::levenshtein(word, candidate);
        let close = score >= 0.85 || edits <= (word.len().max(candidate.len()) / 3).max(1);
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// A hint naming the likely intended value and listing the known ones.
pub fn suggestion<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    let known: Vec<&str> = candidates.clone().into_iter().collect();
    let list = if known.is_empty() {
        "none are defined".to_string()
    } else {
        format!("known: {}", known.join(", "))
    };
    match did_you_mean(word, candidates) {
        Some(m) => Some(format!("did you mean `{m}`? ({list})")),
        None => Some(list),
    }
}

/// Each diagnostic in block form, as an error or a warning by its own kind, paths relative to
/// the current directory (for a loaded site's warnings).
pub fn format_each(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let mut d = d.clone();
        d.file = short_path(&d.file);
        out.push_str(&d.to_string());
        out.push('\n');
    }
    out
}

/// Every diagnostic in block form, paths relative to the current directory, then a count.
pub fn format_all(diags: &[Diagnostic]) -> String {
    let mut out = format_each(diags);
    let warnings = diags.iter().filter(|d| d.warning).count();
    let errors = count(diags.len() - warnings, "error", "errors");
    out.push_str(&format!("{errors} found"));
    if warnings > 0 {
        out.push_str(&format!(", and {}", count(warnings, "warning", "warnings")));
    }
    out.push('\n');
    out
}

/// Diagnostics that do not stop the command at hand, in block form as `warning:`, then what
/// they are: `about` (`3 warnings: {about}`).
pub fn format_warnings(diags: &[Diagnostic], about: &str) -> String {
    let mut out = blocks(diags, "warning");
    let n = count(diags.len(), "warning", "warnings");
    out.push_str(&format!("{n}: {about}\n"));
    out
}

/// Each diagnostic in block form under `label`, paths relative to the current directory.
fn blocks(diags: &[Diagnostic], label: &str) -> String {
    struct Block<'a>(&'a Diagnostic, &'a str);
    impl fmt::Display for Block<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.block(f, self.1)
        }
    }
    let mut out = String::new();
    for d in diags {
        let mut d = d.clone();
        d.file = short_path(&d.file);
        out.push_str(&Block(&d, label).to_string());
        out.push('\n');
    }
    out
}

/// `n` and the word for that many: `1 route`, `2 routes`, `0 routes`.
pub fn count<N>(n: N, one: &str, many: &str) -> String
where
    N: fmt::Display + PartialEq + From<u8>,
{
    let word = if n == N::from(1) { one } else { many };
    format!("{n} {word}")
}

/// Display a path relative to the current directory when it is inside it; the current
/// directory itself in full (an empty path would print as nothing).
pub fn short_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .filter(|short| !short.as_os_str().is_empty())
        .unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("tempalte", ["template", "view", "path"]),
            Some("template".into())
        );
        assert_eq!(did_you_mean("zzz", ["template", "view"]), None);
    }

    #[test]
    fn block_form_puts_the_caret_under_the_column() {
        let d = Diagnostic::new("site.yaml", "boom").at_pos("a: 1\n  bad: 2\n", 2, 3);
        let text = d.to_string();
        assert!(text.contains("site.yaml:2:3: boom"), "{text}");
        assert!(text.contains("2 |   bad: 2\n  |   ^"), "{text}");
    }
}
