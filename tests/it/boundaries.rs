//! The module boundaries of ARCHITECTURE.md, checked: each outside crate that we keep in one
//! place (to keep it replaceable, or to keep SQL, HTTP, templates, YAML and file watching each
//! in one module) is named in code only inside its module. Every `.rs` file under `src/` is
//! read; comments, doc comments and string literals are blanked first, so only code counts:
//! `use rusqlite::…;`, `extern crate rusqlite;`, and paths such as `rusqlite::params!`.
//!
//! A path whose first segment merely shares a crate's name (`crate::x::notify::f`,
//! `value.notify::<T>()`) is not a use of the crate.

use std::path::{Path, PathBuf};

/// Which crates may be named where. A crate name ending in `*` is a prefix (`actix_*` covers
/// actix_web, actix_files, actix_rt, …); an allowed place ending in `/` is a folder.
const RULES: &[(&[&str], &str)] = &[
    (&["rusqlite"], "src/db/"),
    (&["actix_*"], "src/server.rs"),
    (&["handlebars"], "src/render/"),
    (&["serde_yaml", "yaml_rust2"], "src/config/yaml.rs"),
    (&["notify"], "src/reload.rs"),
];

#[test]
fn outside_crates_stay_inside_their_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(
        files.len() > 20,
        "expected the crate's sources under src/, found {files:?}"
    );
    let mut crossings = Vec::new();
    let mut seen = vec![false; RULES.len()];
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in code_lines(&text).iter().enumerate() {
            for krate in crate_paths(line) {
                for (i, (crates, home)) in RULES.iter().enumerate() {
                    if !crates.iter().any(|c| names(c, krate)) {
                        continue;
                    }
                    let inside = match home.strip_suffix('/') {
                        Some(dir) => rel.starts_with(&format!("{dir}/")),
                        None => rel == *home,
                    };
                    if inside {
                        seen[i] = true;
                    } else {
                        crossings.push(format!(
                            "{rel}:{}: uses `{krate}`, which only {home} may use: {}",
                            n + 1,
                            text.lines().nth(n).unwrap_or("").trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        crossings.is_empty(),
        "outside crates used outside their module (see ARCHITECTURE.md, Invariants):\n{}",
        crossings.join("\n")
    );
    // Each rule matched its own module at least once, so a rule cannot pass by matching nothing.
    for ((crates, home), seen) in RULES.iter().zip(seen) {
        assert!(seen, "no use of {crates:?} found even in {home}");
    }
}

fn names(pattern: &str, krate: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => krate.starts_with(prefix),
        None => krate == pattern,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source's lines with comments and the contents of string and char literals replaced by
/// spaces; line breaks are kept, so line numbers stay the source's.
fn code_lines(src: &str) -> Vec<String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A char literal (`'x'`, `'\n'`, `'"'`) or a lifetime (`'a`), which is code.
            let end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&j| chars[j] == '\'' && j > i + 2)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push('\'');
                    for &ch in &chars[i + 1..end] {
                        blank(&mut out, ch);
                    }
                    out.push('\'');
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push_str(&word);
            // A raw string: r"…", r#"…"#, br"…", cr#"…"#; `r#name` is a raw identifier.
            if matches!(word.as_str(), "r" | "br" | "cr") {
                let hashes = chars[i..].iter().take_while(|&&h| h == '#').count();
                if chars.get(i + hashes) == Some(&'"') {
                    let close: Vec<char> = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    for _ in 0..hashes {
                        out.push('#');
                    }
                    out.push('"');
                    i += hashes + 1;
                    while i < chars.len() && !chars[i..].starts_with(&close) {
                        blank(&mut out, chars[i]);
                        i += 1;
                    }
                    out.push('"');
                    for _ in 0..hashes {
                        out.push('#');
                    }
                    i += close.len();
                }
            }
            // b"…", c"…" and b'…' go on as ordinary literals on the next turn.
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.lines().map(str::to_string).collect()
}

/// The crates a line of code names as the first segment of a path (`name::`, `::name::`), or
/// brings in by `use name;`, `use name as x;`, `extern crate name;`.
fn crate_paths(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = line;
    let mut offset = 0;
    while let Some(start) = rest.find(is_ident) {
        let len = rest[start..]
            .find(|c| !is_ident(c))
            .unwrap_or(rest.len() - start);
        let (at, end) = (offset + start, offset + start + len);
        let word = &line[at..end];
        let before = line[..at].trim_end();
        let after = line[end..].trim_start();
        offset = end;
        rest = &line[end..];
        if word.starts_with(|c: char| c.is_ascii_digit())
            || matches!(word, "crate" | "self" | "super" | "Self" | "use")
        {
            continue;
        }
        // `a::word::`, `T<U>::word`, `x.word::<T>()`, `r#word`: a name inside something else.
        let inner = match before.strip_suffix("::") {
            Some(b) => {
                let b = b.trim_end();
                b.ends_with('>') || (b.ends_with(is_ident) && !ends_with_word(b, "use"))
            }
            None => before.ends_with('.') || before.ends_with('#'),
        };
        if inner {
            continue;
        }
        let path = after.starts_with("::");
        let brought_in = (after.starts_with(';') || after.starts_with("as "))
            && (ends_with_word(before, "use")
                || before
                    .strip_suffix("::")
                    .is_some_and(|b| ends_with_word(b.trim_end(), "use"))
                || before
                    .strip_suffix("crate")
                    .is_some_and(|b| ends_with_word(b.trim_end(), "extern")));
        if path || brought_in {
            found.push(word);
        }
    }
    found
}

/// `text` ends with the whole word `word` (`use`, not `reuse`).
fn ends_with_word(text: &str, word: &str) -> bool {
    text.strip_suffix(word)
        .is_some_and(|b| !b.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

#[test]
fn the_scanner_finds_code_and_skips_comments_and_strings() {
    let src = r####"use rusqlite::Connection;
use handlebars::{
    Handlebars,
};
// rusqlite::Connection in a comment
/// Only `server.rs` knows actix_web::App.
//! serde_yaml::from_str in a module comment
let s = "rusqlite::Error in a string";
let t = r#"notify::Event in a raw "string""#;
/* block rusqlite::x /* nested actix_web::y */ still comment notify::z */ let u = 1;
let c = '"'; let v = serde_yaml::from_str(x);
fn f<'a>(x: &'a str) -> rusqlite::Result<()> { todo() }
extern crate notify;
use yaml_rust2;
use ::actix_files as files;
let w = crate::reload::notify::watch(); x.notify::<T>();
let filter = "info,actix_server=warn"; let b = b"handlebars::x"; let e = 'x';
let rusqlite_thing = 1; let handlebarsx::y = 2;
"####;
    let lines = code_lines(src);
    let found: Vec<(usize, Vec<&str>)> = lines
        .iter()
        .enumerate()
        .map(|(n, l)| (n + 1, crate_paths(l)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    assert_eq!(
        found,
        vec![
            (1, vec!["rusqlite"]),
            (2, vec!["handlebars"]),
            (11, vec!["serde_yaml"]),
            (12, vec!["rusqlite"]),
            (13, vec!["notify"]),
            (14, vec!["yaml_rust2"]),
            (15, vec!["actix_files"]),
            (18, vec!["handlebarsx"]),
        ]
    );
    assert_eq!(lines.len(), src.lines().count());
    assert!(names("actix_*", "actix_server"));
    assert!(!names("actix_*", "actixx"));
    assert!(names("handlebars", "handlebars"));
    assert!(!names("handlebars", "handlebarsx"));
}
