//! The links of a built page, and whether each resolves to a file of the build: every `href`
//! and `src` of every HTML page, resolved against the page's URL as a browser does (`url`);
//! links to other hosts are not ours to check. A link with a query string is refused: a
//! static host answers it with the file of its path, whatever the query asks.

use std::cell::RefCell;
use std::collections::HashSet;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// The host a page's URL is resolved against when the site has no `base_url`.
const LOCAL: &str = "http://trellis.build.invalid";

/// The value of every `href` and `src` attribute of `html`, as a browser reads them: by
/// html5ever's tokenizer, so character references are decoded, comments and the text of
/// `<script>` and `<style>` are not tags, and a `>` inside a quoted value does not end its tag.
pub fn links(html: &str) -> Vec<String> {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(Links::default(), TokenizerOpts::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.found.take()
}

/// The tokenizer's sink: the `href` and `src` values of start tags, in order.
#[derive(Default)]
struct Links {
    found: RefCell<Vec<String>>,
}

impl TokenSink for Links {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let Token::TagToken(tag) = token else {
            return TokenSinkResult::Continue;
        };
        if tag.kind != TagKind::StartTag {
            return TokenSinkResult::Continue;
        }
        let mut found = self.found.borrow_mut();
        for attr in &tag.attrs {
            if matches!(&*attr.name.local, "href" | "src") {
                found.push(attr.value.to_string());
            }
        }
        // What the tree builder would tell the tokenizer: these elements hold text, not tags.
        match &*tag.name {
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "textarea" | "title" => TokenSinkResult::RawData(RawKind::Rcdata),
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Where a link leads, seen from the page at `page` (a path).
#[derive(Debug, PartialEq)]
pub enum Target {
    /// Another host, another scheme (`mailto:`), or a fragment of the same page.
    Elsewhere,
    /// A path of this site (percent-decoded), and the query it asks, if any.
    Here { path: String, query: Option<String> },
}

/// Resolve `link` on the page `page`; `base_url` (the site's, without its trailing slash) makes
/// absolute links to the site its own.
pub fn target(page: &str, link: &str, base_url: Option<&str>) -> Target {
    let link = link.trim();
    if link.is_empty() || link.starts_with('#') {
        return Target::Elsewhere;
    }
    let Ok(base) = url::Url::parse(&format!("{LOCAL}{page}")) else {
        return Target::Elsewhere;
    };
    let Ok(resolved) = base.join(link) else {
        return Target::Elsewhere;
    };
    let ours = |prefix: &str| {
        let s = resolved.as_str();
        s.strip_prefix(prefix)
            .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
            .is_some()
    };
    let path = if ours(LOCAL) {
        resolved.path().to_string()
    } else if let Some(b) = base_url.filter(|b| ours(b)) {
        // `https://example.com/blog` + `/blog/x/`: the path below the base URL's own.
        let prefix = url::Url::parse(b).map(|u| u.path().trim_end_matches('/').to_string());
        let prefix = prefix.unwrap_or_default();
        let p = resolved.path();
        format!(
            "/{}",
            p[prefix.len().min(p.len())..].trim_start_matches('/')
        )
    } else {
        return Target::Elsewhere;
    };
    let path = percent_encoding::percent_decode_str(&path)
        .decode_utf8_lossy()
        .into_owned();
    Target::Here {
        path,
        query: resolved
            .query()
            .filter(|q| !q.is_empty())
            .map(str::to_string),
    }
}

/// Whether a static host finds a file of `files` (paths relative to the build) at `path`: a
/// folder's index (`index.html`, or the `index.json` … that `files::file_for` writes for
/// another type, which the build warns about), the file itself, or — for a path without its
/// slash — the folder's index that the host redirects to.
pub fn resolves(files: &HashSet<String>, path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    let index = |dir: &str| {
        ["html", "json", "xml", "txt", "css", "js"]
            .iter()
            .any(|ext| files.contains(&format!("{dir}index.{ext}")))
    };
    if rel.is_empty() || rel.ends_with('/') {
        return index(rel);
    }
    files.contains(rel) || index(&format!("{rel}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_href_and_src_of_a_page_with_entities_decoded() {
        let html = r#"<!doctype html><link rel="stylesheet" href="/static/a.css">
<!-- <a href="/commented/"> -->
<a class=x href=/bare/>b</a> <img alt="" src='/i.png'> <A HREF="/p/?a&#x3D;1&amp;b=2">
<p>&lt;a href="/text/"&gt;</p><form action="/search/">"#;
        assert_eq!(
            links(html),
            ["/static/a.css", "/bare/", "/i.png", "/p/?a=1&b=2"]
        );
    }

    /// What a pattern-matching reader gets wrong: a `>` inside a quoted value, markup inside
    /// a script's text, a named reference beyond the five XML ones.
    #[test]
    fn links_are_read_as_a_browser_reads_the_markup() {
        let html = r#"<a title="a > b" href="/after-gt/">x</a>
<script>if (a<b) { s = '<a href="/in-script/">'; }</script>
<a href="/caf&eacute;/">c</a>"#;
        assert_eq!(links(html), ["/after-gt/", "/café/"]);
    }

    #[test]
    fn a_link_resolves_against_its_page_as_a_browser_resolves_it() {
        let here = |path: &str, query: Option<&str>| Target::Here {
            path: path.into(),
            query: query.map(str::to_string),
        };
        let base = Some("https://example.com");
        for (page, link, want) in [
            ("/blog/", "/tags/", here("/tags/", None)),
            ("/blog/post/x/", "../../tags/", here("/blog/tags/", None)),
            ("/blog/", "2/", here("/blog/2/", None)),
            ("/blog/", "/a%20b/#top", here("/a b/", None)),
            ("/blog/", "?page=2", here("/blog/", Some("page=2"))),
            ("/blog/", "https://example.com/x/", here("/x/", None)),
            ("/blog/", "https://example.com", here("/", None)),
            ("/blog/", "https://example.company/x/", Target::Elsewhere),
            ("/blog/", "https://other.org/", Target::Elsewhere),
            ("/blog/", "//other.org/x", Target::Elsewhere),
            ("/blog/", "mailto:a@b.c", Target::Elsewhere),
            ("/blog/", "#top", Target::Elsewhere),
        ] {
            assert_eq!(target(page, link, base), want, "{link} on {page}");
        }
    }

    #[test]
    fn a_path_resolves_to_a_file_as_a_static_host_finds_it() {
        let files: HashSet<String> = [
            "index.html",
            "blog/index.html",
            "robots.txt",
            "api/index.json",
        ]
        .map(String::from)
        .into();
        for (path, found) in [
            ("/", true),
            ("/blog/", true),
            ("/blog", true),
            ("/robots.txt", true),
            ("/robots.txt/", false),
            ("/tags/", false),
            ("/api/", true),
        ] {
            assert_eq!(resolves(&files, path), found, "{path}");
        }
    }
}
