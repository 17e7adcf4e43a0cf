//! Feeds, sitemaps and template routes with a content type, over real HTTP: the feeds read by a
//! real feed parser (`feed-rs`), the sitemaps by a real XML parser (`roxmltree`) and checked
//! against the sitemap protocol's rules; ETags and 304s; the load errors a mistake gets.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use crate::common::{trellis, write_files, Resp, Server, SiteDir};

const BASE: &str = "https://notes.example.org/sub";
const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

fn site_yaml(extra_routes: &str) -> String {
    format!(
        r#"site:
  name: Notes & Co
  database: notes.sqlite3
  base_url: "{BASE}/"
  fixtures: [data.yaml]
models:
  Author:
    fields:
      name: {{ type: string }}
  Note:
    fields:
      title: {{ type: string }}
      slug: {{ type: slug, unique: true }}
      body: {{ type: text, format: markdown }}
      summary: {{ type: text, null: true }}
      published: {{ type: boolean, default: true }}
      created_at: {{ type: datetime }}
      updated_on: {{ type: date }}
      author: {{ type: foreign_key, to: Author, null: true }}
    ordering: [title]
routes:
  - {{ path: "", name: home, view: template, template: home.hbs }}
  - {{ path: "about/", view: template, template: home.hbs }}
  - {{ path: "secret/", view: template, template: home.hbs, sitemap: false }}
  - {{ path: "search/", view: template, template: home.hbs, query: {{ q: {{ type: str }} }} }}
  - {{ path: "gone/", view: template, template: home.hbs, status: 410 }}
  - {{ path: "robots.txt", view: template, template: robots.hbs, content_type: text/plain }}
  - {{ path: "old/", view: redirect, to: home }}
  - {{ path: "notes/", name: note-list, view: list, model: Note, template: home.hbs }}
  - {{ path: "api/notes/", view: list, model: Note, format: json }}
  - path: "notes/<slug:slug>/"
    name: note-detail
    view: detail
    model: Note
    lookup: slug
    template: home.hbs
    where: {{ published: true }}
    sitemap: {{ lastmod: updated_on }}
  - path: "feed.xml"
    view: feed
    model: Note
    where: {{ published: true }}
    feed: {{ title: "Notes <&> news", subtitle: "What we wrote", link: note-list, limit: 3 }}
    item: {{ title: title, link: note-detail, updated: created_at, summary: summary, content: body, author: author__name }}
  - path: "rss.xml"
    view: feed
    model: Note
    where: {{ published: true }}
    ordering: [-created_at]
    feed: {{ title: Notes, link: note-list, format: rss }}
    item: {{ title: title, link: note-detail, published: created_at, content: body, author: author__name }}
  - {{ path: "sitemap.xml", view: sitemap }}
{extra_routes}"#
    )
}

const DATA: &str = r#"
- { model: Author, pk: 1, fields: { name: "Ann <Author>" } }
- model: Note
  pk: 1
  fields:
    title: "First & <oldest>"
    slug: first
    body: "Hello *world* <script>alert(1)</script>"
    summary: "A <b>plain</b> summary"
    created_at: "2026-01-01T09:00:00Z"
    updated_on: "2026-01-05"
    author: 1
- { model: Note, pk: 2, fields: { title: Second, slug: second, body: "**two**", created_at: "2026-02-01T10:30:00+02:00", updated_on: "2026-02-02" } }
- { model: Note, pk: 3, fields: { title: Third, slug: third, body: "three", created_at: "2026-03-01 12:00", updated_on: "2026-03-02", author: 1 } }
- { model: Note, pk: 4, fields: { title: Fourth, slug: fourth, body: "four", created_at: "2026-04-01T08:00:00Z", updated_on: "2026-04-02" } }
- { model: Note, pk: 5, fields: { title: Draft, slug: draft, body: "secret", published: false, created_at: "2026-05-01T08:00:00Z", updated_on: "2026-05-02" } }
"#;

fn notes_site(extra_routes: &str) -> SiteDir {
    write_files(&[
        ("site.yaml", &site_yaml(extra_routes)),
        ("data.yaml", DATA),
        ("templates/home.hbs", "<p>{{site.name}} at {{site.base_url}}</p>"),
        (
            "templates/robots.hbs",
            "User-agent: *\nDisallow: {{ disallow }}\nSitemap: {{site.base_url}}{{url \"home\"}}sitemap.xml\n",
        ),
    ])
}

fn server() -> &'static Server {
    static SERVER: OnceLock<(SiteDir, Server)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            let site = notes_site("");
            let server = Server::start(&site.path);
            (site, server)
        })
        .1
}

fn ok(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.body);
}

fn parse_feed(r: &Resp) -> feed_rs::model::Feed {
    feed_rs::parser::parse(r.body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[test]
fn the_atom_feed_has_absolute_links_newest_entries_first_and_sanitised_content() {
    let r = server().get("/feed.xml");
    ok(&r);
    assert_eq!(
        r.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let feed = parse_feed(&r);
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.title.unwrap().content, "Notes <&> news");
    assert_eq!(feed.description.unwrap().content, "What we wrote");
    let links: Vec<_> = feed.links.iter().map(|l| l.href.as_str()).collect();
    assert!(
        links.contains(&"https://notes.example.org/sub/notes/"),
        "{links:?}"
    );
    assert!(
        links.contains(&"https://notes.example.org/sub/feed.xml"),
        "{links:?}"
    );
    // Newest first by `created_at` (the draft is left out by `where:`), three of them.
    let titles: Vec<_> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles, ["Fourth", "Third", "Second"]);
    let ids: Vec<_> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "https://notes.example.org/sub/notes/fourth/",
            "https://notes.example.org/sub/notes/third/",
            "https://notes.example.org/sub/notes/second/",
        ]
    );
    assert_eq!(feed.entries[0].links[0].href, ids[0]);
    // The feed's `updated` is its newest entry's; an offset is kept as written.
    assert_eq!(
        feed.updated.unwrap().to_rfc3339(),
        "2026-04-01T08:00:00+00:00"
    );
    assert_eq!(
        feed.entries[2].updated.unwrap().to_rfc3339(),
        "2026-02-01T08:30:00+00:00"
    );
    // A datetime without an offset is taken as UTC.
    assert_eq!(
        feed.entries[1].updated.unwrap().to_rfc3339(),
        "2026-03-01T12:00:00+00:00"
    );
    // The author comes through the foreign key; an entry without one has none of its own.
    assert_eq!(
        feed.entries[1].authors[0].name.as_deref(),
        Some("Ann <Author>")
    );
    assert!(feed.entries[0].authors.is_empty());
    let content = feed.entries[2].content.as_ref().unwrap();
    assert_eq!(content.content_type.essence().to_string(), "text/html");
    assert_eq!(content.body.as_deref(), Some("<p><strong>two</strong></p>"));
}

#[test]
fn a_feed_reads_each_field_it_names_in_any_order_through_a_foreign_key_too() {
    // The author's name first and twice, the dates from two fields, the link by primary key.
    let dir = notes_site(
        r#"  - path: "notes/<int:pk>/"
    name: note-by-pk
    view: detail
    model: Note
    template: home.hbs
  - path: "by-author.xml"
    view: feed
    model: Note
    ordering: [title]
    feed: { title: By author, link: note-list }
    item: { title: author__name, link: note-by-pk, updated: updated_on, published: created_at, author: author__name, summary: slug }
"#,
    );
    let server = Server::start(&dir.path);
    let r = server.get("/by-author.xml");
    ok(&r);
    let feed = parse_feed(&r);
    let shown: Vec<_> = feed
        .entries
        .iter()
        .map(|e| {
            (
                e.id.as_str(),
                e.title.as_ref().map(|t| t.content.clone()),
                e.authors.first().and_then(|a| a.name.clone()),
                e.summary.as_ref().map(|t| t.content.clone()),
                e.updated.map(|d| d.to_rfc3339()),
                e.published.map(|d| d.to_rfc3339()),
            )
        })
        .collect();
    let entry = |pk: u8, author: Option<&str>, slug: &str, updated: &str, published: &str| {
        (
            format!("https://notes.example.org/sub/notes/{pk}/"),
            // An entry whose note has no author has an empty title and no author of its own.
            Some(author.unwrap_or_default().to_string()),
            author.map(str::to_string),
            Some(slug.to_string()),
            Some(format!("{updated}T00:00:00+00:00")),
            Some(published.to_string()),
        )
    };
    let want = [
        entry(5, None, "draft", "2026-05-02", "2026-05-01T08:00:00+00:00"),
        entry(
            1,
            Some("Ann <Author>"),
            "first",
            "2026-01-05",
            "2026-01-01T09:00:00+00:00",
        ),
        entry(4, None, "fourth", "2026-04-02", "2026-04-01T08:00:00+00:00"),
        entry(2, None, "second", "2026-02-02", "2026-02-01T08:30:00+00:00"),
        entry(
            3,
            Some("Ann <Author>"),
            "third",
            "2026-03-02",
            "2026-03-01T12:00:00+00:00",
        ),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(id, t, a, s, u, p)| {
            (
                id.as_str(),
                t.clone(),
                a.clone(),
                s.clone(),
                u.clone(),
                p.clone(),
            )
        })
        .collect();
    assert_eq!(shown, want);
}

#[test]
fn markdown_in_a_feed_is_sanitised_and_plain_text_stays_text() {
    let dir = notes_site("");
    let server = Server::start(&dir.path);
    // Only the oldest note is left: the feed shows it, with its script gone.
    let db = rusqlite::Connection::open(server.site_path().join("notes.sqlite3")).unwrap();
    db.execute("DELETE FROM note WHERE id > 1", []).unwrap();
    let feed = parse_feed(&server.get("/feed.xml"));
    assert_eq!(feed.entries.len(), 1);
    let entry = &feed.entries[0];
    assert_eq!(entry.title.as_ref().unwrap().content, "First & <oldest>");
    let body = entry.content.as_ref().unwrap().body.clone().unwrap();
    // (feed-rs trims the text it reads.)
    assert_eq!(body, "<p>Hello <em>world</em> </p>");
    assert!(
        !body.contains("script") && !body.contains("alert"),
        "{body}"
    );
    let summary = entry.summary.as_ref().unwrap();
    assert_eq!(summary.content_type.essence().to_string(), "text/plain");
    assert_eq!(summary.content, "A <b>plain</b> summary");
}

#[test]
fn the_rss_feed_is_rss_2_with_absolute_links_and_dates() {
    let r = server().get("/rss.xml");
    ok(&r);
    assert_eq!(
        r.header("content-type"),
        Some("application/rss+xml; charset=utf-8")
    );
    let feed = parse_feed(&r);
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(feed.title.unwrap().content, "Notes");
    assert_eq!(feed.links[0].href, "https://notes.example.org/sub/notes/");
    let items: Vec<_> = feed
        .entries
        .iter()
        .map(|e| (e.links[0].href.as_str(), e.published.unwrap().to_rfc3339()))
        .collect();
    assert_eq!(
        items,
        [
            (
                "https://notes.example.org/sub/notes/fourth/",
                "2026-04-01T08:00:00+00:00".to_string()
            ),
            (
                "https://notes.example.org/sub/notes/third/",
                "2026-03-01T12:00:00+00:00".to_string()
            ),
            (
                "https://notes.example.org/sub/notes/second/",
                "2026-02-01T08:30:00+00:00".to_string()
            ),
            (
                "https://notes.example.org/sub/notes/first/",
                "2026-01-01T09:00:00+00:00".to_string()
            ),
        ]
    );
    let first = feed.entries.last().unwrap();
    assert_eq!(first.authors[0].name.as_deref(), Some("Ann <Author>"));
    let description = first.summary.as_ref().unwrap().content.clone();
    assert!(description.contains("<em>world</em>"), "{description}");
    assert!(!description.contains("script"), "{description}");
}

#[test]
fn a_feed_answers_its_etag_with_304_and_no_body() {
    let r = server().get("/feed.xml");
    let etag = r.header("etag").expect("a feed has an ETag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    // The same body, the same tag; another feed, another tag.
    assert_eq!(
        server().get("/feed.xml").header("etag"),
        Some(etag.as_str())
    );
    assert_ne!(server().get("/rss.xml").header("etag"), Some(etag.as_str()));
    let again = server().request("GET", "/feed.xml", &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert_eq!(again.body, "");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let stale = server().request("GET", "/feed.xml", &[("If-None-Match", "\"other\"")]);
    ok(&stale);
    assert_eq!(stale.body, r.body);
    let sitemap = server().get("/sitemap.xml");
    let tag = sitemap.header("etag").expect("a sitemap has an ETag");
    let cached = server().request("GET", "/sitemap.xml", &[("If-None-Match", tag)]);
    assert_eq!(cached.status, 304);
}

/// The `<loc>` and `<lastmod>` of each `<url>` of a sitemap, checked against the protocol.
fn urlset(r: &Resp) -> Vec<(String, Option<String>)> {
    ok(r);
    assert_eq!(
        r.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    let doc = roxmltree::Document::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "urlset");
    assert_eq!(root.tag_name().namespace(), Some(SITEMAP_NS));
    let urls: Vec<_> = root
        .children()
        .filter(|n| n.is_element())
        .map(|url| {
            assert_eq!(url.tag_name().name(), "url");
            let child = |name: &str| {
                url.children()
                    .find(|c| c.tag_name().name() == name)
                    .and_then(|c| c.text())
                    .map(str::to_string)
            };
            let loc = child("loc").expect("every url has a loc");
            assert!(loc.starts_with(&format!("{BASE}/")), "{loc}");
            if let Some(m) = child("lastmod") {
                let w3c = chrono::NaiveDate::parse_from_str(&m, "%Y-%m-%d").is_ok()
                    || chrono::DateTime::parse_from_rfc3339(&m).is_ok();
                assert!(w3c, "lastmod {m} is not a W3C datetime");
            }
            (loc, child("lastmod"))
        })
        .collect();
    assert!(urls.len() <= 50_000);
    urls
}

#[test]
fn the_sitemap_lists_html_pages_and_published_rows_with_their_lastmod() {
    let urls = urlset(&server().get("/sitemap.xml"));
    let at = |p: &str| format!("{BASE}{p}");
    let expected = vec![
        (at("/"), None),
        (at("/about/"), None),
        (at("/notes/"), None),
        (at("/notes/first/"), Some("2026-01-05".to_string())),
        (at("/notes/second/"), Some("2026-02-02".to_string())),
        (at("/notes/third/"), Some("2026-03-02".to_string())),
        (at("/notes/fourth/"), Some("2026-04-02".to_string())),
    ];
    // Not listed: `sitemap: false`, a route with `query:`, a 410, robots.txt (not HTML), a
    // redirect, JSON, the feeds, the sitemap itself, and the unpublished row.
    assert_eq!(urls, expected);
    // One file holds them all: `?p=1` is the same sitemap, and there is no `?p=2`.
    assert_eq!(urlset(&server().get("/sitemap.xml?p=1")), expected);
    assert_eq!(server().get("/sitemap.xml?p=2").status, 404);
    assert_eq!(server().get("/sitemap.xml?p=x").status, 404);
}

#[test]
fn a_template_route_with_a_text_content_type_serves_text_unescaped_and_without_the_live_script() {
    let xml_route = "  - { path: \"hand.xml\", view: template, template: hand.hbs, content_type: application/xml }\n";
    let dir = notes_site(xml_route);
    std::fs::write(
        dir.path.join("site.yaml"),
        site_yaml(xml_route).replace(
            "content_type: text/plain }",
            "content_type: text/plain, context: { disallow: \"/a&b<c>\" } }",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path.join("templates/hand.hbs"),
        "<?xml version=\"1.0\"?>\n<site name=\"{{site.name}}\"><q>{{request.query.q}}</q></site>\n",
    )
    .unwrap();
    let server = Server::start_with(&dir.path, &["--live"]);
    let r = server.get("/robots.txt");
    ok(&r);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.body,
        "User-agent: *\nDisallow: /a&b<c>\nSitemap: https://notes.example.org/sub/sitemap.xml\n"
    );
    // An XML template is escaped as HTML is, which is right for XML: a parser reads back
    // exactly what was given.
    let r = server.get("/hand.xml?q=%3C%2Fq%3E%26%22");
    assert_eq!(r.header("content-type"), Some("application/xml"));
    let doc = roxmltree::Document::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    let root = doc.root_element();
    assert_eq!(root.attribute("name"), Some("Notes & Co"));
    assert_eq!(root.first_element_child().unwrap().text(), Some("</q>&\""));
    // The live-reload script goes into HTML pages only.
    assert!(server.get("/about/").body.contains("<script>"));
    assert!(!server.get("/feed.xml").body.contains("<script>"));
    assert!(!server.get("/hand.xml").body.contains("<script>"));
}

#[test]
fn past_50000_urls_the_sitemap_is_an_index_of_sitemaps_the_same_route_answers() {
    let dir = notes_site("");
    // A sitemap page reads 50,000 rows: a debug build on a busy machine may take longer than
    // the second a statement gets by default.
    let yaml = std::fs::read_to_string(dir.path.join("site.yaml")).unwrap();
    let yaml = yaml.replace(
        "  fixtures: [data.yaml]\n",
        "  fixtures: [data.yaml]\n  limits: { query_ms: 60000 }\n",
    );
    assert!(yaml.contains("query_ms"), "{yaml}");
    std::fs::write(dir.path.join("site.yaml"), yaml).unwrap();
    let out = trellis(["migrate".as_ref(), dir.path.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insert_notes(&dir.path.join("notes.sqlite3"), 50_001);
    let server = Server::start(&dir.path);
    let r = server.get("/sitemap.xml");
    ok(&r);
    let doc = roxmltree::Document::parse(&r.body).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "sitemapindex");
    assert_eq!(root.tag_name().namespace(), Some(SITEMAP_NS));
    let children: Vec<String> = root
        .descendants()
        .filter(|n| n.tag_name().name() == "loc")
        .map(|n| n.text().unwrap().to_string())
        .collect();
    assert_eq!(
        children,
        [
            format!("{BASE}/sitemap.xml?p=1"),
            format!("{BASE}/sitemap.xml?p=2")
        ]
    );
    let mut seen = Vec::new();
    for child in &children {
        let target = child.strip_prefix(BASE).unwrap();
        seen.extend(urlset(&server.get(target)).into_iter().map(|(loc, _)| loc));
    }
    // 3 pages, the 4 published rows of the fixture and 50,001 more, each exactly once.
    assert_eq!(seen.len(), 3 + 4 + 50_001);
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(unique.contains(&format!("{BASE}/notes/bulk-50001/")));
    assert!(!unique.contains(&format!("{BASE}/notes/draft/")));
}

/// `n` published notes, in one transaction, straight into the site's SQLite file.
fn insert_notes(db: &Path, n: usize) {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut insert = tx
            .prepare("INSERT INTO note (title, slug, body, published, created_at, updated_on) VALUES (?1, ?2, '', 1, '2026-06-01T00:00:00Z', '2026-06-01')")
            .unwrap();
        for i in 1..=n {
            insert
                .execute((format!("Bulk {i}"), format!("bulk-{i}")))
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// `trellis check` on the notes site with `replace` applied to its site.yaml: what it prints.
fn check_with(from: &str, to: &str) -> String {
    let dir = notes_site("");
    let yaml = site_yaml("");
    assert!(yaml.contains(from), "{from}");
    std::fs::write(dir.path.join("site.yaml"), yaml.replacen(from, to, 1)).unwrap();
    let out = trellis(["check".as_ref(), dir.path.as_os_str()]);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

#[test]
fn a_feed_or_sitemap_without_base_url_is_a_load_error_with_a_hint() {
    let out = check_with(&format!("  base_url: \"{BASE}/\"\n"), "");
    assert!(
        out.contains("site.yaml:38:9: routes[10]: view `feed` needs `site.base_url`"),
        "{out}"
    );
    assert!(
        out.contains("routes[12]: view `sitemap` needs `site.base_url`"),
        "{out}"
    );
    assert!(out.contains("base_url: \"https://example.org\""), "{out}");
}

#[test]
fn a_base_url_that_is_not_an_absolute_http_url_is_a_load_error() {
    let out = check_with(&format!("\"{BASE}/\""), "\"notes.example.org\"");
    assert!(
        out.contains(
            "site.yaml:4:13: site.base_url: base_url \"notes.example.org\" is not an absolute URL"
        ),
        "{out}"
    );
    let out = check_with(
        &format!("\"{BASE}/\""),
        "\"https://notes.example.org/?x=1\"",
    );
    assert!(out.contains("cannot have a query"), "{out}");
}

#[test]
fn a_feed_naming_an_unknown_field_or_route_is_a_load_error_at_its_key() {
    let out = check_with("item: { title: title,", "item: { title: titel,");
    assert!(
        out.contains("site.yaml:44:20: routes[10].item.title: model Note has no field `titel`"),
        "{out}"
    );
    assert!(out.contains("did you mean `title`?"), "{out}");
    let out = check_with("link: note-detail, updated", "link: note-detial, updated");
    assert!(
        out.contains("site.yaml:44:33: routes[10].item.link: no route is named `note-detial`"),
        "{out}"
    );
    let out = check_with("link: note-list, limit", "link: nope, limit");
    assert!(
        out.contains("site.yaml:43:71: routes[10].feed.link: no route is named `nope`"),
        "{out}"
    );
    let out = check_with("updated: created_at, summary", "updated: title, summary");
    assert!(
        out.contains("routes[10].item.updated: `title` is not a date or datetime field"),
        "{out}"
    );
    let out = check_with(
        "sitemap: { lastmod: updated_on }",
        "sitemap: { lastmod: body }",
    );
    assert!(
        out.contains("routes[9].sitemap.lastmod: `body` of Note is not a date or datetime field"),
        "{out}"
    );
}

#[test]
fn a_detail_route_whose_captures_are_not_fields_cannot_be_in_the_sitemap() {
    let out = check_with(
        "path: \"notes/<slug:slug>/\"",
        "path: \"notes/<int:year>/<slug:slug>/\"",
    );
    assert!(
        out.contains("the sitemap cannot list this route's rows: the route captures `year`, which is not a field of Note"),
        "{out}"
    );
    assert!(out.contains("`sitemap: false`"), "{out}");
}
