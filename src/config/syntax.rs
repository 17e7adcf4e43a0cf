//! YAML syntax errors in the words of a site's author. The parser says what it expected where it
//! gave up (`could not find expected ':'`), often a line after the mistake; `explain` reads the
//! text around that place, names the real line, says what is wrong there and how to fix it.
//! Pure text work, so the YAML crates stay in `yaml.rs`.

/// A syntax error, explained: the message (without the `invalid YAML: ` prefix), its 1-based
/// line and column, and a hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub message: String,
    pub line: usize,
    pub col: usize,
    pub hint: Option<String>,
}

/// The parser's `message` at 1-based `line`:`col` of `text`, explained when it is one of the
/// mistakes people make; else as it is.
pub fn explain(text: &str, message: &str, line: usize, col: usize) -> Explained {
    let lines: Vec<&str> = text.lines().collect();
    let doc = Doc { lines: &lines };
    let found = if message.contains("cannot start any token") || message.contains("tab character") {
        doc.bad_start(line, col)
    } else if message.contains("could not find expected ':'") {
        doc.missing_colon(line)
    } else if message.contains("did not find expected '-' indicator") {
        doc.not_an_item(line)
    } else if message.contains("did not find expected key") {
        doc.not_a_key(line)
    } else if message.contains("mapping values are not allowed") {
        doc.colon_in_value(line)
    } else if message.contains("did not find expected ',' or '}'")
        || message.contains("did not find expected ',' or ']'")
    {
        doc.unclosed_flow(line, col)
    } else if message.contains("found unexpected end of stream") {
        doc.unclosed_quote()
    } else {
        None
    };
    found.unwrap_or_else(|| Explained {
        message: message.to_string(),
        line,
        col,
        hint: None,
    })
}

struct Doc<'a> {
    lines: &'a [&'a str],
}

/// The number of leading spaces.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The 1-based column where a line's content starts, after any `- ` of a list item.
fn content_col(line: &str) -> usize {
    let mut rest = line.trim_start_matches(' ');
    while let Some(r) = rest.strip_prefix("- ") {
        rest = r.trim_start_matches(' ');
    }
    line.len() - rest.len() + 1
}

/// The byte offset of the last `{` or `[` of `text` not closed in it (outside quotes).
fn last_unclosed(text: &str) -> Option<usize> {
    let mut stack = Vec::new();
    let mut quote = None;
    for (j, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if text[..j].ends_with(' ') => break,
            (None, '{' | '[') => stack.push(j),
            (None, '}' | ']') => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

/// The key a `key: value` line starts with, if it is one.
fn key_of(line: &str) -> Option<&str> {
    let content = &line[content_col(line) - 1..];
    let (key, _) = content.split_once(':')?;
    let key = key.trim();
    (!key.is_empty() && !key.contains(' ') && !key.starts_with(['{', '[', '"', '\'', '#']))
        .then_some(key)
}

fn spaces(n: usize) -> String {
    format!("{n} space{}", if n == 1 { "" } else { "s" })
}

impl<'a> Doc<'a> {
    /// The 1-based line `n`, or "".
    fn line(&self, n: usize) -> &'a str {
        n.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .copied()
            .unwrap_or("")
    }

    /// The nearest line before line `n` that holds something other than a comment.
    fn before(&self, n: usize) -> Option<usize> {
        (1..n).rev().find(|&i| {
            let t = self.line(i).trim();
            !t.is_empty() && !t.starts_with('#') && t != "---"
        })
    }

    /// The nearest line before `n` indented less than `n`: the key whose block `n` is in.
    fn parent(&self, n: usize) -> Option<usize> {
        let own = indent(self.line(n));
        (1..n).rev().find(|&i| {
            let l = self.line(i);
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && indent(l) < own
        })
    }

    fn at(&self, line: usize, col: usize, message: String, hint: String) -> Option<Explained> {
        Some(Explained {
            message,
            line,
            col,
            hint: Some(hint),
        })
    }

    /// A tab in the indentation, or a character that cannot start a plain value.
    fn bad_start(&self, line: usize, col: usize) -> Option<Explained> {
        let l = self.line(line);
        let lead: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        if let Some(i) = lead.find('\t') {
            return self.at(
                line,
                i + 1,
                "a tab in the indentation".into(),
                "YAML indents with spaces only: replace the tab with spaces".into(),
            );
        }
        let c = l.chars().nth(col.checked_sub(1)?)?;
        if c == '\t' {
            return self.at(
                line,
                col,
                "a tab where YAML expects a value or a key".into(),
                "YAML indents with spaces only: replace the tab with spaces".into(),
            );
        }
        self.at(
            line,
            col,
            format!("a value cannot start with `{c}` unless it is quoted"),
            format!("put the value in quotes: \"{c}…\""),
        )
    }

    /// A line with no `:` where a key was expected; the parser notices on the next line.
    fn missing_colon(&self, line: usize) -> Option<Explained> {
        let n = self.before(line)?;
        let l = self.line(n);
        let col = content_col(l);
        let content = without_comment(&l[col - 1..]);
        let (message, fix) = match content.split_once(' ') {
            Some((key, value)) => (
                format!("`{content}` has no `:` after its key"),
                format!("{key}: {}", value.trim_start()),
            ),
            None => (
                format!("`{content}` is not followed by `:`"),
                format!("{content}:"),
            ),
        };
        self.at(
            n,
            col,
            message,
            format!("write `{fix}`: a key, a colon, then a space before any value"),
        )
    }

    /// A line inside a list that neither starts an item nor lines up with the item's keys.
    fn not_an_item(&self, line: usize) -> Option<Explained> {
        let l = self.line(line);
        let col = indent(l) + 1;
        let what = key_of(l).map_or("this line".to_string(), |k| format!("`{k}`"));
        let prev = self.before(line)?;
        let p = self.line(prev);
        let want = content_col(p) - 1;
        let like = key_of(p).map_or(String::new(), |k| format!(", like `{k}` on line {prev}"));
        self.at(
            line,
            col,
            format!(
                "{what} is indented by {}, which lines up with no key of the list item above",
                spaces(col - 1)
            ),
            format!(
                "to add it to the item above, indent it by {}{like}; to start a new item, begin it with `- `",
                spaces(want)
            ),
        )
    }

    /// A line inside a mapping that is not a `key: value` at the mapping's indentation.
    fn not_a_key(&self, line: usize) -> Option<Explained> {
        let l = self.line(line);
        let col = indent(l) + 1;
        let parent = self.parent(line);
        let parent_key = parent.and_then(|p| key_of(self.line(p)));
        let content = l.trim_start();
        if content.starts_with("- ") || content == "-" {
            let inside = parent_key.map_or("a mapping".to_string(), |k| format!("`{k}:`"));
            let routes = (1..line).find(|&i| self.line(i).trim_end() == "routes:");
            let looks_like_route = ["path:", "view:", "include:"]
                .iter()
                .any(|k| content.contains(k));
            let hint = match routes {
                Some(r) if looks_like_route && parent_key != Some("routes") => format!(
                    "routes go in the `routes:` list (line {r}): move this line up into it"
                ),
                _ => "a block holds either `- ` items or `key: value` lines, not both: move the item under the key that holds its list".into(),
            };
            return self.at(
                line,
                col,
                format!("a list item inside {inside}, whose lines are `key: value`"),
                hint,
            );
        }
        let prev = self.before(line)?;
        let p = self.line(prev);
        let want = content_col(p) - 1;
        if want == col - 1 {
            return None;
        }
        let what = key_of(l).map_or("this line".to_string(), |k| format!("`{k}`"));
        let like = key_of(p).map_or(format!("line {prev}"), |k| format!("`{k}` on line {prev}"));
        self.at(
            line,
            col,
            format!(
                "{what} is indented by {}, and {like} by {}",
                spaces(col - 1),
                spaces(want)
            ),
            format!(
                "the keys of one mapping line up: indent {what} by {}",
                spaces(want)
            ),
        )
    }

    /// `key: value` where YAML cannot take one: a line indented under a key that already has a
    /// value, or a second `: ` in an unquoted value.
    fn colon_in_value(&self, line: usize) -> Option<Explained> {
        let l = self.line(line);
        let col = content_col(l);
        if let Some(prev) = self.before(line) {
            let p = self.line(prev);
            let has_value = key_of(p).is_some()
                && p.split_once(": ")
                    .is_some_and(|(_, v)| !v.trim().is_empty() && !v.trim().starts_with('#'));
            if has_value && indent(l) > indent(p) && !l.trim_start().starts_with("- ") {
                let key = key_of(p).unwrap_or("");
                let what = key_of(l).map_or("this line".to_string(), |k| format!("`{k}`"));
                return self.at(
                    line,
                    col,
                    format!(
                        "{what} is indented deeper than `{key}` on line {prev}, so YAML reads it as part of `{key}`'s value"
                    ),
                    format!(
                        "indent it by {}, like `{key}`; or, if `{key}` holds a mapping, put nothing after `{key}:`",
                        spaces(content_col(p) - 1)
                    ),
                );
            }
        }
        let key = key_of(l)?;
        let value_col = l.find(": ").map_or(col, |i| {
            i + l[i + 1..].len() - l[i + 1..].trim_start().len() + 2
        });
        self.at(
            line,
            value_col,
            format!("the value of `{key}` contains `: `, which YAML reads as a second key"),
            format!("put the value in quotes: `{key}: \"…\"`"),
        )
    }

    /// A `{` or `[` left open: the parser notices at its end, often on a later line.
    fn unclosed_flow(&self, line: usize, col: usize) -> Option<Explained> {
        let (open, at) = (1..=line).rev().find_map(|i| {
            let l = self.line(i);
            let upto = if i == line {
                l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map_or(l.len(), |(j, _)| j)
            } else {
                l.len()
            };
            last_unclosed(&l[..upto]).map(|j| (i, j))
        })?;
        let l = self.line(open);
        let (what, close) = if l[at..].starts_with('{') {
            ('{', '}')
        } else {
            ('[', ']')
        };
        self.at(
            open,
            l[..at].chars().count() + 1,
            format!("this `{what}` is not closed on its line"),
            format!("end it with `{close}` on the same line"),
        )
    }

    /// A double quote opened and never closed.
    fn unclosed_quote(&self) -> Option<Explained> {
        for (i, l) in self.lines.iter().enumerate() {
            if l.trim_start().starts_with('#') {
                continue;
            }
            let mut open = None;
            let mut escaped = false;
            for (j, c) in l.char_indices() {
                match c {
                    '\\' if open.is_some() => escaped = !escaped,
                    '"' if !escaped => open = if open.is_some() { None } else { Some(j) },
                    '#' if open.is_none() && l[..j].ends_with(' ') => break,
                    _ => escaped = false,
                }
                if c != '\\' {
                    escaped = false;
                }
            }
            if let Some(j) = open {
                return self.at(
                    i + 1,
                    j + 1,
                    "this `\"` is never closed".into(),
                    "end the quoted value with `\"` on the same line".into(),
                );
            }
        }
        None
    }
}

/// A line's text without its trailing `# comment` (a `#` after a space, outside quotes).
fn without_comment(l: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in l.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return l[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    l.trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(text: &str, message: &str, line: usize, col: usize) -> (usize, usize, String) {
        let e = explain(text, message, line, col);
        (e.line, e.col, e.message)
    }

    #[test]
    fn a_missing_colon_is_placed_on_its_own_line() {
        let text = "routes:\n  - path: \"\"\n    view template\n    template: home.hbs\n";
        let e = explain(text, "could not find expected ':'", 4, 5);
        assert_eq!((e.line, e.col), (3, 5));
        assert_eq!(e.message, "`view template` has no `:` after its key");
        assert!(e.hint.unwrap().contains("`view: template`"));
    }

    #[test]
    fn indentation_mistakes_name_the_indentation_expected() {
        let text = "routes:\n  - path: \"\"\n    view: x\n   template: h\n";
        let e = explain(text, "did not find expected '-' indicator", 4, 4);
        assert_eq!((e.line, e.col), (4, 4));
        assert!(e
            .hint
            .unwrap()
            .contains("indent it by 4 spaces, like `view` on line 3"));
        let text = "site:\n  name: x\n debug: true\n";
        let e = explain(text, "did not find expected key", 3, 2);
        assert_eq!(
            e.message,
            "`debug` is indented by 1 space, and `name` on line 2 by 2 spaces"
        );
    }

    #[test]
    fn a_route_after_errors_is_sent_back_to_routes() {
        let text = "routes:\n  - { path: a/, view: not_found }\nerrors:\n  404: h.hbs\n  - { path: b/, view: not_found }\n";
        let e = explain(text, "did not find expected key", 5, 3);
        assert_eq!(
            e.message,
            "a list item inside `errors:`, whose lines are `key: value`"
        );
        assert!(e.hint.unwrap().contains("(line 1)"));
    }

    #[test]
    fn tabs_quotes_and_brackets() {
        assert_eq!(
            place(
                "site:\n\tname: x\n",
                "found character that cannot start any token",
                2,
                1
            ),
            (2, 1, "a tab in the indentation".into())
        );
        assert_eq!(
            place("a: [1, 2\nb: 3\n", "did not find expected ',' or ']'", 2, 1),
            (1, 4, "this `[` is not closed on its line".into())
        );
        assert_eq!(
            place("a: \"x\nb: 3\n", "found unexpected end of stream", 3, 1),
            (1, 4, "this `\"` is never closed".into())
        );
        assert_eq!(
            place("a: b\n", "something else", 1, 1),
            (1, 1, "something else".into())
        );
    }
}
