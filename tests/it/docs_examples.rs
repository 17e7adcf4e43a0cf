//! The book's examples are true: every ```yaml and ```handlebars block in `docs/src/**/*.md` is
//! put into a site folder and run through the real binary, `trellis check` (and `trellis load`
//! for fixtures), so a page cannot show a site that does not load or an error message that
//! Trellis does not print. Each block says what it is in its info string (```yaml,site …); the
//! kinds are described in CONTRIBUTING.md ("Examples in the book"). A block of a checked
//! language with no kind, or one this test does not know, is a failure: no example escapes.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use tempfile::TempDir;

/// Languages whose every block must say what it is.
const CHECKED: &[&str] = &["yaml", "handlebars", "markdown"];
/// The top-level keys a fragment may be added under.
const FRAGMENT_KEYS: &[&str] = &["routes", "models", "converters"];
/// The page comment that makes a page start from the last example of another page.
const CONTINUE: &str = "<!-- examples continue from ";

/// One fenced code block: where it is, its info string split at commas, its text.
struct Block {
    line: usize,
    lang: String,
    words: Vec<String>,
    text: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let mut parts = info.split(',').map(|w| w.trim().to_string());
                let lang = parts.next().unwrap_or_default();
                open = Some(Block {
                    line: markdown[..range.start].lines().count() + 1,
                    lang,
                    words: parts.filter(|w| !w.is_empty()).collect(),
                    text: String::new(),
                });
            }
            Event::Text(text) => {
                if let Some(b) = open.as_mut() {
                    b.text.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => out.extend(open.take()),
            _ => {}
        }
    }
    out
}

/// What a fixture load must do: succeed, or fail printing the text of the block after it.
struct Fixture {
    path: String,
    wrong: Option<Expect>,
}

/// A failure that must print `text`; `None` until the ```text block after it is read.
struct Expect {
    at: String,
    text: Option<String>,
}

/// A site folder built from a page's blocks, checked when the next example starts or the page
/// ends.
struct Example {
    at: String,
    tmp: TempDir,
    fixtures: Vec<Fixture>,
    /// Set for an example whose site must not load.
    wrong: Option<Expect>,
}

impl Example {
    fn dir(&self) -> PathBuf {
        self.tmp.path().join("mysite")
    }

    fn empty(at: String) -> Example {
        let tmp = TempDir::new().unwrap();
        fs::create_dir(tmp.path().join("mysite")).unwrap();
        Example {
            at,
            tmp,
            fixtures: Vec::new(),
            wrong: None,
        }
    }

    /// The site `trellis new mysite` makes.
    fn new_site(at: String) -> Example {
        let tmp = TempDir::new().unwrap();
        let out = trellis(tmp.path(), &["new", "mysite"]);
        assert!(out.status.success(), "trellis new failed: {}", stderr(&out));
        Example {
            at,
            tmp,
            fixtures: Vec::new(),
            wrong: None,
        }
    }

    /// A copy of `other`'s files (not its database), to continue from on another page.
    fn copy_of(other: &Example, at: String) -> Example {
        let copy = Example::empty(at);
        copy_dir(&other.dir(), &copy.dir());
        Example {
            fixtures: other
                .fixtures
                .iter()
                .filter(|f| f.wrong.is_none())
                .map(|f| Fixture {
                    path: f.path.clone(),
                    wrong: None,
                })
                .collect(),
            ..copy
        }
    }

    fn write(&self, rel: &str, text: &str) -> Result<(), String> {
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|p| p == "..") {
            return Err(format!("`{rel}` is not a path inside the site folder"));
        }
        let path = self.dir().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        Ok(())
    }

    /// Add `fragment` under the top-level `key:` of site.yaml (made when missing).
    fn add_under(&self, key: &str, fragment: &str) -> Result<(), String> {
        let path = self.dir().join("site.yaml");
        let yaml = fs::read_to_string(&path)
            .map_err(|_| "a fragment needs a site.yaml to go into".to_string())?;
        fs::write(path, insert_under(&yaml, key, fragment)).unwrap();
        Ok(())
    }

    /// Every problem with this example, each naming the block it comes from.
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let out = trellis(self.tmp.path(), &["check", "mysite"]);
        match &self.wrong {
            None if !out.status.success() => {
                problems.push(format!(
                    "{}: `trellis check` fails:\n{}",
                    self.at,
                    stderr(&out)
                ));
                return problems;
            }
            None => {}
            Some(expect) => {
                problems.extend(expect.problem(&out, "trellis check"));
                return problems;
            }
        }
        for fixture in &self.fixtures {
            let file = format!("mysite/{}", fixture.path);
            let out = trellis(self.tmp.path(), &["load", "mysite", &file]);
            match &fixture.wrong {
                None if !out.status.success() => problems.push(format!(
                    "{}: `trellis load mysite {file}` fails:\n{}",
                    self.at,
                    stderr(&out)
                )),
                None => {}
                Some(expect) => problems.extend(expect.problem(&out, "trellis load")),
            }
        }
        problems
    }
}

impl Expect {
    fn problem(&self, out: &Output, command: &str) -> Option<String> {
        let Some(text) = &self.text else {
            return Some(format!(
                "{}: a `wrong` block needs a ```text block after it holding the message",
                self.at
            ));
        };
        let printed = normalise(&stderr(out));
        if out.status.success() {
            Some(format!(
                "{}: `{command}` succeeds, but should fail",
                self.at
            ))
        } else if !printed.contains(&normalise(text)) {
            Some(format!(
                "{}: `{command}` does not print the text shown; it prints:\n{printed}",
                self.at
            ))
        } else {
            None
        }
    }
}

/// Lines without trailing spaces, and no blank lines at either end.
fn normalise(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_matches('\n').to_string()
}

/// `fragment` inserted after the last line of the section `key:` of `yaml`, or appended with a
/// new `key:` line when the file has no such section.
fn insert_under(yaml: &str, key: &str, fragment: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let header = format!("{key}:");
    let Some(start) = lines
        .iter()
        .position(|l| l.split('#').next().unwrap().trim_end() == header)
    else {
        return format!("{}\n\n{header}\n{fragment}", yaml.trim_end());
    };
    // The section ends before the next line that starts at column 0 (a key, or a comment).
    let mut end = lines[start + 1..]
        .iter()
        .position(|l| !l.is_empty() && !l.starts_with(' '))
        .map_or(lines.len(), |i| start + 1 + i);
    while end > start + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut out: Vec<&str> = lines[..end].to_vec();
    out.extend(fragment.lines());
    out.extend(&lines[end..]);
    out.join("\n") + "\n"
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if !name.contains(".sqlite3") {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn trellis(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What a block's info string says it is.
enum Kind {
    Site {
        wrong: bool,
    },
    Fragment {
        key: String,
        wrong: bool,
    },
    File {
        path: String,
        wrong: bool,
    },
    Fixture {
        path: String,
        wrong: bool,
    },
    /// A ```text block: the message of the `wrong` block before it, if any.
    Text,
    /// A language this test does not check (console, sh, json, csv without a kind …).
    Unchecked,
}

fn kind(block: &Block) -> Result<Kind, String> {
    let words: Vec<&str> = block.words.iter().map(String::as_str).collect();
    if block.lang == "text" {
        return Ok(Kind::Text);
    }
    let checked = CHECKED.contains(&block.lang.as_str());
    let (wrong, rest): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| **w == "wrong");
    let wrong = !wrong.is_empty();
    let kind = match (block.lang.as_str(), rest.as_slice()) {
        ("yaml", ["site"]) => Kind::Site { wrong },
        ("yaml", []) if wrong => Kind::Site { wrong },
        ("yaml", [key]) if FRAGMENT_KEYS.contains(key) => Kind::Fragment {
            key: key.to_string(),
            wrong,
        },
        ("yaml" | "handlebars" | "markdown", [file]) if file.starts_with("file=") => Kind::File {
            path: file["file=".len()..].to_string(),
            wrong,
        },
        ("yaml" | "csv", [fixture]) if fixture.starts_with("fixture=") => Kind::Fixture {
            path: fixture["fixture=".len()..].to_string(),
            wrong,
        },
        _ if !checked => Kind::Unchecked,
        _ => {
            return Err(format!(
            "```{}{}: not a kind this test knows (see CONTRIBUTING.md, \"Examples in the book\")",
            block.lang,
            block
                .words
                .iter()
                .map(|w| format!(",{w}"))
                .collect::<String>()
        ))
        }
    };
    Ok(kind)
}

/// Runs every page, remembering each page's last example for pages that continue from it.
struct Book {
    src: PathBuf,
    last: HashMap<String, Option<Example>>,
    problems: Vec<String>,
}

impl Book {
    /// Check the page `rel` (a path under `src`), once; its last example is kept.
    fn page(&mut self, rel: &str) {
        if self.last.contains_key(rel) {
            return;
        }
        self.last.insert(rel.to_string(), None);
        let markdown = fs::read_to_string(self.src.join(rel)).unwrap();
        let start = match markdown.find(CONTINUE) {
            Some(i) => {
                let other = markdown[i + CONTINUE.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string();
                if !self.src.join(&other).is_file() {
                    self.problems.push(format!(
                        "docs/src/{rel}: continues from a missing page `{other}`"
                    ));
                    return;
                }
                self.page(&other);
                match self.last.get(&other).and_then(Option::as_ref) {
                    Some(example) => Some(Example::copy_of(example, format!("docs/src/{rel}:1"))),
                    None => {
                        self.problems.push(format!(
                            "docs/src/{rel}: continues from `{other}`, which has no example (or continues from this page)"
                        ));
                        return;
                    }
                }
            }
            None => None,
        };
        let (last, problems) = run_page(&format!("docs/src/{rel}"), &markdown, start);
        self.problems.extend(problems);
        self.last.insert(rel.to_string(), last);
    }
}

/// Check one page's blocks in order; return its last example (already checked) and the
/// problems found.
fn run_page(name: &str, markdown: &str, start: Option<Example>) -> (Option<Example>, Vec<String>) {
    let mut problems = Vec::new();
    let mut current: Option<Example> = start;
    // A `wrong` fragment or file, applied to a copy of `current`, waiting for its ```text block.
    let mut side: Option<Example> = None;
    for block in blocks(markdown) {
        let at = format!("{name}:{}", block.line);
        let kind = match kind(&block) {
            Ok(kind) => kind,
            Err(e) => {
                problems.push(format!("{at}: {e}"));
                continue;
            }
        };
        let result = match kind {
            Kind::Unchecked => Ok(()),
            Kind::Text => {
                if let Some(mut e) = side.take() {
                    if let Some(expect) = e.wrong.as_mut() {
                        expect.text = Some(block.text.clone());
                    }
                    problems.extend(e.check());
                    continue;
                }
                let awaiting = current.as_mut().and_then(|e| {
                    let fixture = e.fixtures.last_mut().and_then(|f| f.wrong.as_mut());
                    fixture
                        .into_iter()
                        .chain(e.wrong.as_mut())
                        .find(|x| x.text.is_none())
                });
                if let Some(expect) = awaiting {
                    expect.text = Some(block.text.clone());
                }
                Ok(())
            }
            Kind::Site { wrong } => {
                if let Some(e) = current.take() {
                    problems.extend(e.check());
                }
                let mut e = Example::empty(at.clone());
                if wrong {
                    e.wrong = Some(Expect {
                        at: at.clone(),
                        text: None,
                    });
                }
                let r = e.write("site.yaml", &block.text);
                current = Some(e);
                r
            }
            Kind::Fragment { key, wrong } => {
                let e = target(&mut current, &mut side, wrong, &at, &mut problems);
                e.add_under(&key, &block.text)
            }
            Kind::File { path, wrong } => {
                let e = target(&mut current, &mut side, wrong, &at, &mut problems);
                e.write(&path, &block.text)
            }
            Kind::Fixture { path, wrong } => {
                let e = current.get_or_insert_with(|| Example::new_site(at.clone()));
                let r = e.write(&path, &block.text);
                e.fixtures.push(Fixture {
                    path,
                    wrong: wrong.then(|| Expect {
                        at: at.clone(),
                        text: None,
                    }),
                });
                r
            }
        };
        if let Err(e) = result {
            problems.push(format!("{at}: {e}"));
        }
    }
    if let Some(e) = side {
        problems.extend(e.check());
    }
    if let Some(e) = &current {
        problems.extend(e.check());
    }
    (current, problems)
}

/// The example a fragment or file block goes into: the current one (the site `trellis new`
/// makes when there is none), or, for a `wrong` block, a copy of it on the side that must fail
/// and is checked when its ```text block comes.
fn target<'a>(
    current: &'a mut Option<Example>,
    side: &'a mut Option<Example>,
    wrong: bool,
    at: &str,
    problems: &mut Vec<String>,
) -> &'a mut Example {
    if !wrong {
        return current.get_or_insert_with(|| Example::new_site(at.to_string()));
    }
    if let Some(e) = side.take() {
        problems.extend(e.check());
    }
    let mut e = match current.as_ref() {
        Some(c) => Example::copy_of(c, at.to_string()),
        None => Example::new_site(at.to_string()),
    };
    // A side example only has to fail to load; the fixtures of the example it copies are not
    // loaded again.
    e.fixtures.clear();
    e.wrong = Some(Expect {
        at: at.to_string(),
        text: None,
    });
    side.insert(e)
}

fn markdown_files(dir: &Path, under: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, under, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            let rel = path.strip_prefix(under).unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The site folder (`mysite` in the returned folder) that the page `rel` (under `docs/src`)
/// ends with, built and checked as `every_example_in_the_book_is_true` does, with the pages it
/// continues from: for a test that then serves it.
pub(crate) fn site_of_page(rel: &str) -> TempDir {
    let mut book = Book {
        src: Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src"),
        last: HashMap::new(),
        problems: Vec::new(),
    };
    book.page(rel);
    assert!(book.problems.is_empty(), "{}", book.problems.join("\n\n"));
    let example = book.last.remove(rel).flatten();
    example
        .unwrap_or_else(|| panic!("{rel} has no example"))
        .tmp
}

#[test]
fn every_example_in_the_book_is_true() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src");
    let mut pages = Vec::new();
    markdown_files(&src, &src, &mut pages);
    pages.sort();
    let mut book = Book {
        src,
        last: HashMap::new(),
        problems: Vec::new(),
    };
    for page in &pages {
        book.page(page);
    }
    assert!(
        book.problems.is_empty(),
        "{} problem(s) with the book's examples:\n\n{}",
        book.problems.len(),
        book.problems.join("\n\n")
    );
    assert!(pages.len() > 10, "the book has too few pages: {pages:?}");
    // Count what was checked, so that a parser that finds nothing cannot pass.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for page in &pages {
        let markdown = fs::read_to_string(book.src.join(page)).unwrap();
        for block in blocks(&markdown) {
            if CHECKED.contains(&block.lang.as_str()) {
                *counts
                    .entry(if block.lang == "yaml" {
                        "yaml"
                    } else {
                        "handlebars"
                    })
                    .or_default() += 1;
            }
        }
    }
    assert!(
        counts.get("yaml").copied().unwrap_or(0) > 20
            && counts.get("handlebars").copied().unwrap_or(0) > 5,
        "too few examples found: {counts:?}"
    );
}

/// The checker itself: a page whose example does not load is reported at its block, with the
/// message `trellis check` prints.
#[test]
fn a_site_example_that_does_not_load_is_reported() {
    let page = "# A page\n\n```yaml,site\nsite: { name: Demo }\nroutes:\n  - { path: \"\", view: template, template: home.hbs }\n```\n";
    let (_, problems) = run_page("page.md", page, None);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("page.md:3: `trellis check` fails"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("no template `home.hbs`"),
        "{problems:?}"
    );
}

/// A `wrong` example passes only when Trellis prints the message the page shows.
#[test]
fn a_wrong_example_must_print_the_text_shown() {
    let site = "```yaml,wrong\nsite:\n  append_slash: no\n```\n";
    let real = "```text\nsite.append_slash: expected true or false, got the text \"no\"\n```\n";
    let (_, problems) = run_page("page.md", &format!("{site}\n{real}"), None);
    assert!(problems.is_empty(), "{problems:?}");

    let made_up = "```text\nsite.append_slash: must be true or false\n```\n";
    let (_, problems) = run_page("page.md", &format!("{site}\n{made_up}"), None);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("does not print the text shown"),
        "{problems:?}"
    );
}

/// A yaml or handlebars block with no kind, or an unknown one, is a failure, not skipped.
#[test]
fn a_block_of_unknown_kind_is_reported() {
    for info in ["yaml", "yaml,sight", "handlebars", "handlebars,template"] {
        let (_, problems) = run_page("page.md", &format!("```{info}\nx: 1\n```\n"), None);
        assert_eq!(problems.len(), 1, "{info}: {problems:?}");
        assert!(
            problems[0].contains("not a kind this test knows"),
            "{problems:?}"
        );
    }
}

/// A fragment goes at the end of its section, before the next top-level key.
#[test]
fn a_fragment_goes_under_its_key() {
    let yaml = "site:\n  name: A\n\nroutes:\n  - { path: a }\n\nerrors:\n  404: x.hbs\n";
    assert_eq!(
        insert_under(yaml, "routes", "  - { path: b }\n"),
        "site:\n  name: A\n\nroutes:\n  - { path: a }\n  - { path: b }\n\nerrors:\n  404: x.hbs\n"
    );
    assert_eq!(
        insert_under(
            "site:\n  name: A\n",
            "converters",
            "  y: { regex: \"[0-9]\" }\n"
        ),
        "site:\n  name: A\n\nconverters:\n  y: { regex: \"[0-9]\" }\n"
    );
}

/// A `wrong` fragment is tried on a copy: the page's example goes on without it, and a block
/// after it that needs the example as it was still passes.
#[test]
fn a_wrong_fragment_leaves_the_example_as_it_was() {
    let page = concat!(
        "```yaml,routes\n  - { path: \"a/\", name: a, view: template, template: a.hbs }\n```\n\n",
        "```handlebars,file=templates/a.hbs\n<a href=\"{{url \"a\"}}\">a</a>\n```\n\n",
        "```yaml,routes,wrong\n  - { path: \"b/\", name: b, view: redirect, to: nowhere }\n```\n\n",
        "```text\nno route is named `nowhere`\n```\n\n",
        "```yaml,routes\n  - { path: \"c/\", name: c, view: template, template: a.hbs }\n```\n",
    );
    let (last, problems) = run_page("page.md", page, None);
    assert!(problems.is_empty(), "{problems:?}");
    let yaml = fs::read_to_string(last.unwrap().dir().join("site.yaml")).unwrap();
    assert!(
        yaml.contains("path: \"c/\"") && !yaml.contains("path: \"b/\""),
        "{yaml}"
    );
}
