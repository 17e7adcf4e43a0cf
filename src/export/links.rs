//! The links of a built page, and whether each resolves to a file of the build: every `href`
//! and `src` of every HTML page, resolved against the page's URL as a browser does (`url`);
//! links to other hosts are not ours to check. A link with a query string is refused: a
//! static host answers it with the file of its path, whatever the query asks.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

/// The host a page's URL is resolved against when the site has no `base_url`.
const LOCAL: &str = "http://trellis.build.invalid";

/// The value of every `href` and `src` attribute of `html`, entities decoded, comments left
/// out.
pub fn links(html: &str) -> Vec<String> {
    static TAG: OnceLock<Regex> = OnceLock::new();
    static ATTR: OnceLock<Regex> = OnceLock::new();
    static COMMENT: OnceLock<Regex> = OnceLock::new();
    let tag = TAG.get_or_init(|| Regex::new(r"<[A-Za-z][^>]*>").expect("a valid regex"));
    let attr = ATTR.get_or_init(|| {
        Regex::new(r#"(?i)\s(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
            .expect("a valid regex")
    });
    let comment = COMMENT.get_or_init(|| Regex::new(r"(?s)<!--.*?-->").expect("a valid regex"));
    let html = comment.replace_all(html, "");
    let mut out = Vec::new();
    for t in tag.find_iter(&html) {
        for c in attr.captures_iter(t.as_str()) {
            let value = c
                .get(1)
                .or(c.get(2))
                .or(c.get(3))
                .map_or("", |m| m.as_str());
            out.push(unescape(value));
        }
    }
    out
}

/// HTML character references: the named ones Handlebars and ammonia write, and numeric ones.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
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
