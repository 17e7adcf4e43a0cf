//! The showcase, `sites/blog`, served as a user runs it: its posts, authors and tags are
//! Markdown files, and every page is checked against those files, read here on their own
//! (front matter split by hand, YAML by serde_yaml): the tag pages hold exactly the published
//! posts whose files name the tag, the archive's counts are the files' months, the author
//! pages page through that author's files; the feed is read by a real feed parser and the
//! sitemap by a real XML parser; and a post saved while it runs is on the site after the reload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::Server;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One post as its file says.
#[derive(Debug, Clone)]
struct Post {
    slug: String,
    title: String,
    author: String,
    tags: Vec<String>,
    created: String,
    published: bool,
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

/// Every post of the showcase, from its files.
fn posts() -> &'static Vec<Post> {
    static POSTS: OnceLock<Vec<Post>> = OnceLock::new();
    POSTS.get_or_init(|| {
        let mut paths = Vec::new();
        files(&root().join("sites/blog/content/posts"), &mut paths);
        paths
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap();
                let front = text
                    .split("\n---\n")
                    .next()
                    .unwrap()
                    .trim_start_matches("---\n");
                let v: serde_yaml::Value = serde_yaml::from_str(front).unwrap();
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                Post {
                    slug: p.file_stem().unwrap().to_string_lossy().into_owned(),
                    title: s("title"),
                    author: s("author"),
                    tags: v["tags"]
                        .as_sequence()
                        .map(|t| t.iter().map(|x| x.as_str().unwrap().to_string()).collect())
                        .unwrap_or_default(),
                    created: s("created_at"),
                    published: v["published"].as_bool().unwrap_or(true),
                }
            })
            .collect()
    })
}

fn published() -> impl Iterator<Item = &'static Post> {
    posts().iter().filter(|p| p.published)
}

fn blog() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::shared(&root().join("sites/blog")))
}

/// The body of a 200 page.
fn page(target: &str) -> String {
    let r = blog().get(target);
    assert_eq!(r.status, 200, "GET {target}: {}", r.body);
    r.body
}

/// The slugs of the posts a paginated list shows, following its pages.
fn listed(first: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut target = first.to_string();
    loop {
        let body = page(&target);
        for part in body.split("<h2><a href=\"/blog/post/").skip(1) {
            out.push(part.split('/').next().unwrap().to_string());
        }
        match body.split("<a rel=\"next\" href=\"").nth(1) {
            Some(rest) => {
                let next = rest.split('"').next().unwrap();
                target = next.replace("&#x3D;", "=").replace("&amp;", "&");
            }
            None => return out,
        }
    }
}

/// Newest first, as the site orders them.
fn newest_first<'a>(posts: impl Iterator<Item = &'a Post>) -> Vec<String> {
    let mut v: Vec<&Post> = posts.collect();
    v.sort_by(|a, b| b.created.cmp(&a.created));
    v.into_iter().map(|p| p.slug.clone()).collect()
}

#[test]
fn every_tag_page_lists_exactly_the_published_posts_whose_files_name_it() {
    let mut tags: Vec<&str> = posts()
        .iter()
        .flat_map(|p| p.tags.iter().map(String::as_str))
        .collect();
    tags.sort();
    tags.dedup();
    assert!(tags.len() > 5, "{tags:?}");
    for tag in tags {
        let expected = newest_first(published().filter(|p| p.tags.iter().any(|t| t == tag)));
        assert_eq!(listed(&format!("/blog/tag/{tag}/")), expected, "tag {tag}");
    }
    assert_eq!(blog().get("/blog/tag/no-such-tag/").status, 404);
}

#[test]
fn author_pages_page_through_their_posts() {
    for author in ["ada-lovelace", "tomas-ferreira", "mei-chen", "olu-adeyemi"] {
        let expected = newest_first(published().filter(|p| p.author == author));
        assert_eq!(listed(&format!("/blog/author/{author}/posts/")), expected);
        let about = page(&format!("/blog/author/{author}/"));
        for slug in expected.iter().take(5) {
            assert!(
                about.contains(&format!("/blog/post/{slug}/")),
                "{author}: {slug}"
            );
        }
    }
}

#[test]
fn the_archive_counts_and_lists_the_files_by_year_and_month() {
    let mut months: BTreeMap<(i32, u32), Vec<&Post>> = BTreeMap::new();
    for p in published() {
        let year = p.created[..4].parse().unwrap();
        let month = p.created[5..7].parse().unwrap();
        months.entry((year, month)).or_default().push(p);
    }
    let index = page("/blog/archive/");
    let mut years: BTreeMap<i32, usize> = BTreeMap::new();
    for ((y, _), ps) in &months {
        *years.entry(*y).or_default() += ps.len();
    }
    for (y, n) in &years {
        let line = format!("<a href=\"/blog/archive/{y}/\">{y}</a> ({n} post");
        assert!(index.contains(&line), "{line} in {index}");
    }
    for ((y, m), ps) in &months {
        let expected = newest_first(ps.iter().copied());
        assert_eq!(
            listed(&format!("/blog/archive/{y}/{m}/")),
            expected,
            "{y}-{m}"
        );
        let year = page(&format!("/blog/archive/{y}/"));
        assert!(
            year.contains(&format!("/blog/archive/{y}/{m}/\">")),
            "{y}: month {m} listed"
        );
    }
    assert_eq!(blog().get("/blog/archive/2025/13/").status, 404);
}

#[test]
fn the_home_page_pages_through_every_published_post_and_hides_drafts() {
    assert_eq!(listed("/blog/"), newest_first(published()));
    let draft = posts()
        .iter()
        .find(|p| !p.published)
        .expect("the blog has drafts");
    assert_eq!(
        blog().get(&format!("/blog/post/{}/", draft.slug)).status,
        404
    );
}

#[test]
fn the_feed_and_the_sitemap_read_back_with_real_parsers() {
    let r = blog().get("/blog/feed.xml");
    assert_eq!(r.status, 200);
    assert_eq!(r.mime(), "application/atom+xml");
    let feed = feed_rs::parser::parse(r.body.as_bytes()).expect("a valid feed");
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    let newest: Vec<String> = newest_first(published())
        .into_iter()
        .take(20)
        .map(|slug| {
            posts()
                .iter()
                .find(|p| p.slug == slug)
                .unwrap()
                .title
                .clone()
        })
        .collect();
    assert_eq!(titles, newest);

    let r = blog().get("/sitemap.xml");
    assert_eq!(r.mime(), "application/xml");
    let doc = roxmltree::Document::parse(&r.body).expect("valid XML");
    let locs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    for p in published() {
        let url = format!("http://127.0.0.1:8000/blog/post/{}/", p.slug);
        assert!(locs.contains(&url.as_str()), "{url} in the sitemap");
    }
    assert!(locs.iter().all(|l| l.starts_with("http://127.0.0.1:8000/")));
    let robots = blog().get("/robots.txt");
    assert_eq!(robots.mime(), "text/plain");
    assert!(robots
        .body
        .contains("Sitemap: http://127.0.0.1:8000/sitemap.xml"));
}

#[test]
fn a_post_saved_while_serving_is_on_its_tag_page_after_the_reload() {
    let s = Server::start_with(&root().join("sites/blog"), &[]);
    let file = s.site_path().join("content/posts/2026/a-new-post.md");
    std::fs::write(
        &file,
        "---\ntitle: A new post\nauthor: mei-chen\ntags: [css]\ncreated_at: 2026-12-01T10:00:00\n---\nNew.\n",
    )
    .unwrap();
    s.wait_for_log("reloaded in");
    let body = s.get("/blog/tag/css/").body;
    assert!(body.contains("/blog/post/a-new-post/"), "{body}");
    assert!(s.get("/blog/archive/2026/12/").body.contains("A new post"));
}
