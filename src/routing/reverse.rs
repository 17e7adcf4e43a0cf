//! The forms a pattern reverses to, as Django's `regex_helper.normalize` finds them, read from
//! the parsed regex (`regex-syntax`'s AST, which keeps a class's items in the order written)
//! rather than from its text. A form is literal text and arguments: a named group or a
//! converter parameter is an argument by name, an unnamed group one by position (counted from
//! the left, as Django counts them); a group nested in another is not an argument, the outer
//! group takes the whole value. Quantifiers take their minimum (`places?` → `place`), and an
//! optional piece holding an argument gives two forms, without it and with it, shortest first.
//! A class gives a representative character (`\d` → `0`, `[abc]` → `a`), look-around-free
//! assertions nothing. An alternation outside a group that captures cannot be reversed, as in
//! Django. `Router::reverse` chooses among the forms and checks the result against the route.

use std::sync::Arc;

use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSet, ClassSetItem, GroupKind};
use serde_json::Value;

use super::converters::Converter;
use super::pattern::{Part, Pattern};

/// What an argument is called: by name, or by position among the unnamed groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Name(String),
    Pos(usize),
}

/// A piece of a form: literal text, or the argument at this index of the form's keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Arg(usize),
}

/// One way to write a URL of a route: its pieces, and the arguments it takes in order (a
/// converter parameter with its converter).
#[derive(Debug, Clone)]
pub struct Form {
    pub pieces: Vec<Piece>,
    pub keys: Vec<(Key, Option<Arc<Converter>>)>,
}

impl Form {
    /// The arguments it takes by name, in order (an unnamed group's is left out).
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys.iter().filter_map(|(k, _)| match k {
            Key::Name(n) => Some(n.as_str()),
            Key::Pos(_) => None,
        })
    }

    /// The arguments, as a person reads them: `year, slug`, or `2 arguments by position` when
    /// some can only be given by position.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.names().collect();
        match self.keys.len() {
            0 => "no arguments".into(),
            n if n == names.len() => names.join(", "),
            1 => "1 argument by position".into(),
            n => format!("{n} arguments by position"),
        }
    }
}

/// More forms than this (from many optional groups) and the route is not reversible.
const MAX_FORMS: usize = 256;

/// A pattern before its optional pieces are expanded into forms.
#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Arg(Key, Option<Arc<Converter>>),
    Seq(Vec<Node>),
    Opt(Box<Node>),
}

impl Node {
    fn has_arg(&self) -> bool {
        match self {
            Node::Text(_) => false,
            Node::Arg(..) => true,
            Node::Seq(v) => v.iter().any(Node::has_arg),
            Node::Opt(n) => n.has_arg(),
        }
    }
}

/// Every form of `pattern`, shortest first; the error says why it cannot be reversed.
pub fn forms(pattern: &Pattern) -> Result<Vec<Form>, String> {
    let mut positional = 0;
    let mut nodes = Vec::new();
    for part in &pattern.parts {
        nodes.push(match part {
            Part::Literal(l) => Node::Text(l.clone()),
            Part::Param { name, converter } => {
                Node::Arg(Key::Name(name.clone()), Some(converter.clone()))
            }
            Part::Regex { src, .. } => {
                let ast = ast::parse::Parser::new()
                    .parse(src)
                    .map_err(|e| format!("its regex does not parse: {}", e.kind()))?;
                from_ast(&ast, src, &mut positional)?
            }
        });
    }
    let expanded = expand(&Node::Seq(nodes))?;
    Ok(expanded.into_iter().map(form).collect())
}

/// A flat list of pieces (arguments as keys) made into a `Form`, adjacent texts joined.
fn form(flat: Vec<Flat>) -> Form {
    let mut f = Form {
        pieces: Vec::new(),
        keys: Vec::new(),
    };
    for piece in flat {
        match piece {
            Flat::Text(t) => match f.pieces.last_mut() {
                Some(Piece::Text(prev)) => prev.push_str(&t),
                _ if t.is_empty() => {}
                _ => f.pieces.push(Piece::Text(t)),
            },
            Flat::Arg(key, conv) => {
                let i = match f.keys.iter().position(|(k, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        f.keys.push((key, conv));
                        f.keys.len() - 1
                    }
                };
                f.pieces.push(Piece::Arg(i));
            }
        }
    }
    f
}

#[derive(Debug, Clone)]
enum Flat {
    Text(String),
    Arg(Key, Option<Arc<Converter>>),
}

/// The forms of a node: a sequence is the product of its items', an optional piece is nothing
/// or its own forms.
fn expand(node: &Node) -> Result<Vec<Vec<Flat>>, String> {
    Ok(match node {
        Node::Text(t) => vec![vec![Flat::Text(t.clone())]],
        Node::Arg(k, c) => vec![vec![Flat::Arg(k.clone(), c.clone())]],
        Node::Opt(n) => std::iter::once(Vec::new()).chain(expand(n)?).collect(),
        Node::Seq(items) => {
            let mut acc: Vec<Vec<Flat>> = vec![Vec::new()];
            for item in items {
                let options = expand(item)?;
                if acc.len() * options.len() > MAX_FORMS {
                    return Err(format!(
                        "its optional groups give more than {MAX_FORMS} forms"
                    ));
                }
                acc = acc
                    .iter()
                    .flat_map(|a| {
                        options
                            .iter()
                            .map(move |o| a.iter().chain(o).cloned().collect())
                    })
                    .collect();
            }
            acc
        }
    })
}

/// The node of a regex's AST; `positional` counts the unnamed groups seen so far.
fn from_ast(ast: &Ast, src: &str, positional: &mut usize) -> Result<Node, String> {
    Ok(match ast {
        Ast::Empty(_) | Ast::Flags(_) | Ast::Assertion(_) => Node::Text(String::new()),
        Ast::Literal(l) => Node::Text(l.c.to_string()),
        Ast::Dot(_) => Node::Text(".".into()),
        Ast::ClassPerl(p) => Node::Text(perl(p.kind.clone(), p.negated).to_string()),
        Ast::ClassUnicode(u) => Node::Text(any_of(&src[span(&u.span)]).to_string()),
        Ast::ClassBracketed(b) => {
            let first = (!b.negated).then(|| first_of_set(&b.kind)).flatten();
            Node::Text(
                first
                    .unwrap_or_else(|| any_of(&src[span(&b.span)]))
                    .to_string(),
            )
        }
        Ast::Repetition(r) => {
            let min = match &r.op.kind {
                ast::RepetitionKind::ZeroOrOne | ast::RepetitionKind::ZeroOrMore => 0,
                ast::RepetitionKind::OneOrMore => 1,
                ast::RepetitionKind::Range(range) => match *range {
                    ast::RepetitionRange::Exactly(n)
                    | ast::RepetitionRange::AtLeast(n)
                    | ast::RepetitionRange::Bounded(n, _) => n,
                },
            };
            let sub = from_ast(&r.ast, src, positional)?;
            match min {
                0 if sub.has_arg() => Node::Opt(Box::new(sub)),
                0 => Node::Text(String::new()),
                n => Node::Seq(vec![sub; n as usize]),
            }
        }
        Ast::Group(g) => match &g.kind {
            GroupKind::CaptureIndex(_) => {
                *positional += 1;
                Node::Arg(Key::Pos(*positional - 1), None)
            }
            GroupKind::CaptureName { name, .. } => Node::Arg(Key::Name(name.name.clone()), None),
            GroupKind::NonCapturing(_) => from_ast(&g.ast, src, positional)?,
        },
        Ast::Alternation(_) => {
            return Err(
                "its regex has an alternation (`|`) outside a group that captures, \
                 which cannot be reversed (nor can Django reverse it)"
                    .into(),
            )
        }
        Ast::Concat(c) => Node::Seq(
            c.asts
                .iter()
                .map(|a| from_ast(a, src, positional))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn span(s: &ast::Span) -> std::ops::Range<usize> {
    s.start.offset..s.end.offset
}

/// Django's representatives of `\d`, `\s`, `\w` and their negations.
fn perl(kind: ClassPerlKind, negated: bool) -> char {
    match (kind, negated) {
        (ClassPerlKind::Digit, false) => '0',
        (ClassPerlKind::Space, false) => ' ',
        (ClassPerlKind::Word, true) => '!',
        _ => 'x',
    }
}

/// The first character a bracketed class names, as written (`[abc]` → `a`, as in Django).
fn first_of_set(set: &ClassSet) -> Option<char> {
    let ClassSet::Item(item) = set else {
        return None;
    };
    first_of_item(item)
}

fn first_of_item(item: &ClassSetItem) -> Option<char> {
    match item {
        ClassSetItem::Literal(l) => Some(l.c),
        ClassSetItem::Range(r) => Some(r.start.c),
        ClassSetItem::Perl(p) => Some(perl(p.kind.clone(), p.negated)),
        ClassSetItem::Bracketed(b) if !b.negated => first_of_set(&b.kind),
        ClassSetItem::Union(u) => u.items.first().and_then(first_of_item),
        _ => None,
    }
}

/// A character the class `class` (its regex text) matches, preferring a visible ASCII one
/// that is not `/`; `x` when the class cannot be read alone (the check against the route's
/// regex then says whether it fits).
fn any_of(class: &str) -> char {
    let Ok(regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(c))) =
        regex_syntax::Parser::new()
            .parse(class)
            .map(|h| h.kind().clone())
    else {
        return 'x';
    };
    let chars = || c.iter().flat_map(|r| r.start()..=r.end());
    chars()
        .find(|ch| ch.is_ascii_graphic() && *ch != '/')
        .or_else(|| chars().next())
        .unwrap_or('x')
}

/// The text of an argument: a converter's `to_url`, else a string as it is or a number as
/// written.
pub fn arg_text(value: &Value, converter: Option<&Converter>) -> Option<String> {
    match (converter, value) {
        (Some(c), v) => c.to_url(v),
        (None, Value::String(s)) => Some(s.clone()),
        (None, Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each form of a regex as Django's `normalize` writes it: `%(name)s` for a named argument,
    /// `%(_0)s` for the first unnamed one.
    fn normalize(src: &str) -> Result<Vec<String>, String> {
        let p = Pattern::parse_regex(src).map_err(|e| e.message)?;
        Ok(forms(&p)?
            .iter()
            .map(|f| {
                f.pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.clone(),
                        Piece::Arg(i) => match &f.keys[*i].0 {
                            Key::Name(n) => format!("%({n})s"),
                            Key::Pos(i) => format!("%(_{i})s"),
                        },
                    })
                    .collect()
            })
            .collect())
    }

    /// What Django's `normalize` gives for these patterns (their `^` and `$` dropped, as for
    /// every `regex:` route), and the patterns it cannot reverse.
    #[test]
    fn normalize_as_django() {
        let cases: &[(&str, &[&str])] = &[
            ("places?/", &["place/"]),
            ("places+/", &["places/"]),
            ("places*/", &["place/"]),
            ("(?:places/)?", &[""]),
            ("(?:places/)+", &["places/"]),
            ("places/([0-9]+|[a-z_]+)/", &["places/%(_0)s/"]),
            (
                "people/(?:name/(\\w+)/)?",
                &["people/", "people/name/%(_0)s/"],
            ),
            (
                "optional/(?P<arg1>\\d+)/(?:(?P<arg2>\\d+)/)?",
                &["optional/%(arg1)s/", "optional/%(arg1)s/%(arg2)s/"],
            ),
            (
                "people/((?P<state>\\w\\w)/test)?/(\\w+)/",
                &["people//%(_1)s/", "people/%(_0)s/%(_1)s/"],
            ),
            ("character_set/[abcdef0-9]/", &["character_set/a/"]),
            ("character_set/[\\w]/", &["character_set/x/"]),
            ("price/[\\$]([0-9]+)/", &["price/$%(_0)s/"]),
            ("repeats/a{2,4}/", &["repeats/aa/"]),
            ("(?i)x\\d\\s\\W\\D.", &["x0 !x."]),
            ("(?x) a b # comment", &["ab"]),
            ("\\bword\\b", &["word"]),
            ("[^/]+", &["!"]),
            ("\\pL", &["A"]),
            ("(?P<outer>(?P<inner>\\w+)/)?", &["", "%(outer)s"]),
        ];
        for (src, expected) in cases {
            assert_eq!(
                normalize(src),
                Ok(expected.iter().map(|e| e.to_string()).collect()),
                "{src}"
            );
        }
        let err = normalize("(?:foo|bar)(\\w+)/").unwrap_err();
        assert!(err.contains("alternation"), "{err}");
        let err = normalize("(?:(?P<a>x)?(?P<b>x)?(?P<c>x)?(?P<d>x)?){3}").unwrap_err();
        assert!(err.contains("more than 256 forms"), "{err}");
    }
}
