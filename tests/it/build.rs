//! `trellis build`: the showcase (`sites/blog`) built into static files, served by a plain
//! static file server (Python's `http.server`) and crawled from `/` (and from `robots.txt`
//! and the sitemap, as a search engine starts): every link answers 200, and the crawled set is
//! exactly the set of files the build says it wrote. Each page is byte for byte what a real
//! `trellis serve` of the same site answers. A second build rewrites nothing; a broken link
//! fails the build, naming the page and the link, and leaves the previous build in place.
//!
//! Python is on most machines; where it is missing and `CI` is unset, the crawl says it was
//! skipped (on stderr, uncaptured) and returns; in CI it fails (`.ci/run` installs python3).

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use crate::common::{self, shared_copy, write_site, Server};

fn blog_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sites/blog")
}

fn trellis_build(site: &Path, out: &Path) -> Output {
    let tmp = tempfile::TempDir::new().expect("a temporary folder");
    common::command(tmp.path())
        .arg("build")
        .arg(site)
        .arg(out)
        .output()
        .expect("the trellis binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The showcase built once for the run: its site folder (a copy) and the output folder.
struct Built {
    site: PathBuf,
    out: PathBuf,
    /// What `build` printed on stderr (skipped routes, notes).
    report: String,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let site = shared_copy(&blog_dir());
        let out = site.parent().unwrap().join("public");
        let o = trellis_build(&site, &out);
        assert!(
            o.status.success(),
            "build failed: {}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        assert!(text(&o.stdout).contains("built "), "{}", text(&o.stdout));
        Built {
            site,
            out,
            report: text(&o.stderr),
        }
    })
}

/// The files the build says it wrote: its manifest, one path a line after the comment.
fn manifest(out: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(out.join(".trellis-build")).expect("the build's manifest");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The URL path a static host answers with the file `rel`.
fn url_of(rel: &str) -> String {
    match rel.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{rel}"),
    }
}

/// `python3 -m http.server` serving `dir` on a free loopback port, killed on drop.
struct StaticServer {
    child: Child,
    port: u16,
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StaticServer {
    /// `None` (with a SKIPPED line) when there is no python3 outside CI.
    fn start(dir: &Path, test: &str) -> Option<StaticServer> {
        let spawned = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: build::{test}: python3 does not run here ({e}); CI installs it"
                );
                return None;
            }
            Err(e) => panic!("python3 is missing: .ci/run installs it: {e}"),
        };
        // "Serving HTTP on 127.0.0.1 port 41235 (http://127.0.0.1:41235/) ..."
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("python's first line");
        let port = line
            .split(" port ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in python's line {line:?}"));
        Some(StaticServer { child, port })
    }

    /// GET `path`: the status, the Content-Type and the body's bytes (HTTP/1.0, no chunks).
    fn get(&self, path: &str) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to python");
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read python's answer");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head");
        let head = text(&raw[..split]);
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let ty = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-type: "))
            .unwrap_or_default()
            .to_string();
        (status, ty, raw[split + 4..].to_vec())
    }
}

/// The site's own links in a page: `href` and `src` values that are paths, entities decoded
/// (written here without the build's own link reader, so the two cannot share a mistake).
fn page_links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let value = part.split('"').next().unwrap();
            let value = value.replace("&#x3D;", "=").replace("&amp;", "&");
            if value.starts_with('/') && !value.starts_with("//") {
                out.push(value.split('#').next().unwrap().to_string());
            }
        }
    }
    out
}

#[test]
fn the_built_blog_served_by_a_static_server_is_exactly_what_build_wrote_crawled_from_the_root() {
    let b = built();
    let Some(server) = StaticServer::start(&b.out, "crawl") else {
        return;
    };
    // Where a crawler starts: the home page, robots.txt, the sitemap; and the 404 page a host
    // is told to answer misses with.
    let mut queue: VecDeque<String> = ["/", "/robots.txt", "/sitemap.xml", "/404.html"]
        .map(String::from)
        .into();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut crawled = BTreeSet::new();
    let base = "http://127.0.0.1:8000"; // the blog's site.base_url
    while let Some(path) = queue.pop_front() {
        let (status, ty, body) = server.get(&percent_encode(&path));
        assert_eq!(status, 200, "GET {path} from the static server");
        crawled.insert(path.clone());
        let body = text(&body);
        let found: Vec<String> = if ty.starts_with("text/html") {
            page_links(&body)
        } else if path == "/sitemap.xml" {
            body.split("<loc>")
                .skip(1)
                .map(|l| l.split("</loc>").next().unwrap().replace(base, ""))
                .collect()
        } else {
            Vec::new()
        };
        for link in found {
            assert!(!link.contains('?'), "{path} links to {link}, a query");
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    let written: BTreeSet<String> = manifest(&b.out).iter().map(|f| url_of(f)).collect();
    let only_written: Vec<&String> = written.difference(&crawled).collect();
    let only_crawled: Vec<&String> = crawled.difference(&written).collect();
    assert!(
        only_written.is_empty() && only_crawled.is_empty(),
        "written but reached by no link: {only_written:?}\ncrawled but not in the manifest: {only_crawled:?}"
    );
    // The showcase's pages are all there: a post by slug and by id, its JSON, a tag's second
    // page (path-style), an archive month, the feed.
    for page in [
        "/blog/post/hello-world-why-this-blog-exists/",
        "/blog/api/posts.json",
        "/blog/page/2/",
        "/blog/tag/rust/",
        "/blog/archive/2025/3/",
        "/blog/feed.xml",
        "/static/blog.css",
    ] {
        assert!(crawled.contains(page), "{page} not crawled: {crawled:?}");
    }
    assert!(crawled.iter().any(|p| p.starts_with("/blog/api/posts/")));
    // What could not be written is said.
    assert!(
        b.report
            .contains("note: /blog/: search results (`?q=`) are not written"),
        "{}",
        b.report
    );
}

/// `/a b/` as a request target.
fn percent_encode(path: &str) -> String {
    path.replace('%', "%25").replace(' ', "%20")
}

#[test]
fn every_built_page_is_byte_for_byte_what_serve_answers() {
    let b = built();
    let serve = Server::start_in_place(&b.site, &["--no-reload"]);
    let mut compared = 0;
    for rel in manifest(&b.out) {
        let file = std::fs::read(b.out.join(&rel)).unwrap();
        let url = url_of(&rel);
        let (resp, body) = serve.request_bytes("GET", &percent_encode(&url), &[]);
        match (rel.as_str(), resp.status) {
            // A static host cannot redirect: the page sends the browser where serve does.
            ("index.html", 302) => {
                let to = resp.header("location").unwrap();
                assert!(
                    text(&file).contains(&format!("content=\"0; url={to}\"")),
                    "{}",
                    text(&file)
                );
            }
            ("404.html", 404) => assert_eq!(text(&body), text(&file), "{rel}"),
            (_, 200) => assert!(body == file, "{rel} differs from GET {url}"),
            (_, status) => panic!("GET {url} answered {status}"),
        }
        compared += 1;
    }
    assert!(compared > 200, "only {compared} files");
}

#[test]
fn a_second_build_with_nothing_changed_rewrites_no_file() {
    let b = built();
    let out = b.site.parent().unwrap().join("again");
    let stamps = |out: &Path| -> Vec<(String, i64, i64, u64)> {
        manifest(out)
            .into_iter()
            .map(|rel| {
                let m = std::fs::metadata(out.join(&rel)).unwrap();
                (rel, m.mtime(), m.mtime_nsec(), m.ino())
            })
            .collect()
    };
    let first = trellis_build(&b.site, &out);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let before = stamps(&out);
    let second = trellis_build(&b.site, &out);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        text(&second.stdout).contains("(0 changed)"),
        "{}",
        text(&second.stdout)
    );
    assert_eq!(stamps(&out), before);
    // Nothing is left beside it.
    let beside: Vec<String> = std::fs::read_dir(b.site.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

const SMALL: &str = r#"site:
  name: Small
routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - { path: "about/", name: about, view: template, template: about.hbs }
"#;

#[test]
fn a_broken_link_fails_the_build_naming_the_page_and_the_link_and_keeps_the_last_build() {
    let site = write_site(
        SMALL,
        &[
            ("home.hbs", "<a href=\"{{url \"about\"}}\">About</a>\n"),
            ("about.hbs", "<a href=\"/\">Home</a>\n"),
        ],
    );
    let out = site.path.parent().unwrap().join("out");
    let good = trellis_build(&site.path, &out);
    assert!(good.status.success(), "{}", text(&good.stderr));
    let about = std::fs::read_to_string(out.join("about/index.html")).unwrap();

    std::fs::write(
        site.path.join("templates/about.hbs"),
        "<a href=\"/\">Home</a> <img src=\"/static/missing.png\"> <a href=\"/team/\">Team</a>\n",
    )
    .unwrap();
    let broken = trellis_build(&site.path, &out);
    assert!(!broken.status.success());
    let err = text(&broken.stderr);
    assert!(
        err.contains("error: /about/: broken link \"/static/missing.png\"")
            && err.contains("error: /about/: broken link \"/team/\""),
        "{err}"
    );
    assert!(err.contains("2 broken links; nothing was written"), "{err}");
    // The previous build is as it was.
    assert_eq!(
        std::fs::read_to_string(out.join("about/index.html")).unwrap(),
        about
    );
}

#[test]
fn a_folder_that_no_build_wrote_is_refused_not_replaced() {
    let site = write_site(SMALL, &[("home.hbs", "home\n"), ("about.hbs", "about\n")]);
    let out = site.path.parent().unwrap().join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = trellis_build(&site.path, &out);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("did not write"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
}

/// Routes the build cannot write are named with the reason; declared values and a
/// converter's values are written.
#[test]
fn what_cannot_be_written_is_reported_and_declared_values_are_written() {
    let site = write_site(
        r#"site:
  name: Report
converters:
  lang: { values: [en, fr] }
routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - { path: "contact/", view: template, template: home.hbs, methods: [POST] }
  - { path: "hello/<str:name>/", view: template, template: home.hbs }
  - path: "people/<slug:who>/"
    view: template
    template: home.hbs
    export: { values: [{ who: ada }, { who: mei }] }
  - { path: "<lang:lang>/", view: template, template: home.hbs }
  - { path: "draft/", view: template, template: home.hbs, export: false }
  - { path: "gone/", view: template, template: home.hbs, status: 410 }
"#,
        &[("home.hbs", "<p>{{request.path}}</p>\n")],
    );
    let out = site.path.parent().unwrap().join("out");
    let o = trellis_build(&site.path, &out);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("skipped: /contact/: answers POST only; a static host answers GET"),
        "{err}"
    );
    assert!(
        err.contains("skipped: /hello/<str:name>/: its captures (name) take values no row or converter lists"),
        "{err}"
    );
    assert!(err.contains("skipped: /draft/: `export: false`"), "{err}");
    assert!(
        err.contains("note: /gone/ answers 410, which a static host cannot: not written"),
        "{err}"
    );
    let files = manifest(&out);
    for f in [
        "index.html",
        "people/ada/index.html",
        "people/mei/index.html",
        "en/index.html",
        "fr/index.html",
        "404.html",
    ] {
        assert!(files.contains(f), "{f}: {files:?}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("people/mei/index.html")).unwrap(),
        "<p>/people/mei/</p>\n"
    );
    assert!(!files
        .iter()
        .any(|f| f.starts_with("draft") || f.starts_with("contact")));
}

/// `pages: path`: page 2 on at `…/page/N/`, its links in the same form, `?page=` ignored,
/// page 1 only at the list's own URL.
#[test]
fn a_list_with_path_pages_links_and_answers_its_pages_by_path() {
    let b = built();
    let serve = Server::start_in_place(&b.site, &["--no-reload"]);
    let first = serve.get("/blog/");
    assert!(
        first
            .body
            .contains("<a rel=\"next\" href=\"/blog/page/2/\">"),
        "{}",
        first.body
    );
    let second = serve.get("/blog/page/2/");
    assert_eq!(second.status, 200);
    assert!(
        second.body.contains("<a rel=\"prev\" href=\"/blog/\">"),
        "{}",
        second.body
    );
    assert!(
        second
            .body
            .contains("<a rel=\"next\" href=\"/blog/page/3/\">"),
        "{}",
        second.body
    );
    assert!(second.body.contains("<span>Page 2 of "), "{}", second.body);
    assert_eq!(serve.get("/blog/page/1/").status, 404);
    assert_eq!(serve.get("/blog/page/99/").status, 404);
    // `?page=` is not how this list pages: the first page.
    assert_eq!(serve.get("/blog/?page=2").body, first.body);
    // A search keeps its query on its pages.
    let search = serve.get("/blog/?q=the");
    assert!(
        search.body.contains("href=\"/blog/page/2/?q&#x3D;the\""),
        "{}",
        search.body
    );
}

/// `pages: path` on a list at the site's root (an empty path) and on one with a capture: each
/// page's links lead back to the list's own URL and on to `…/page/N/` under it, not under
/// the page the request was for.
#[test]
fn path_pages_link_under_a_root_list_and_a_list_with_a_capture() {
    let mut rows = String::from("id,title,tag\n");
    for id in 1..=5 {
        rows.push_str(&format!("{id},post {id},rust\n"));
    }
    let site = common::write_files(&[
        (
            "site.yaml",
            r#"site:
  database: db.sqlite3
  fixtures: [data/Post.csv]
models:
  Post:
    fields:
      title: { type: string }
      tag: { type: slug }
routes:
  - { path: "", name: home, view: list, model: Post, ordering: [id], paginate_by: 2, pages: path, template: list }
  - { path: "tags/<slug:tag>/", name: tag, view: list, model: Post, where: { tag: "{tag}" }, ordering: [id], paginate_by: 2, pages: path, template: list }
"#,
        ),
        ("data/Post.csv", &rows),
        (
            "templates/list.hbs",
            "{{#each objects}}{{title}};{{/each}}|prev={{page.previous_url}}|next={{page.next_url}}\n",
        ),
    ]);
    let local = common::Local::load(&site.path);
    let pages = [
        ("/", "post 1;post 2;|prev=|next=/page/2/\n"),
        ("/page/2/", "post 3;post 4;|prev=/|next=/page/3/\n"),
        ("/page/3/", "post 5;|prev=/page/2/|next=\n"),
        (
            "/tags/rust/",
            "post 1;post 2;|prev=|next=/tags/rust/page/2/\n",
        ),
        (
            "/tags/rust/page/2/",
            "post 3;post 4;|prev=/tags/rust/|next=/tags/rust/page/3/\n",
        ),
        (
            "/tags/rust/page/3/",
            "post 5;|prev=/tags/rust/page/2/|next=\n",
        ),
    ];
    for (url, body) in pages {
        let r = local.get(url);
        assert_eq!((r.status, r.body.as_str()), (200, body), "{url}");
    }
    assert_eq!(local.get("/page/1/").status, 404);
    assert_eq!(local.get("/tags/rust/page/4/").status, 404);
}

/// A `format: csv` list is streamed in chunks of 1,000 rows when served; `build` reads the
/// stream to its end, so the file it writes holds every row, as a download from `serve` does.
#[test]
fn a_csv_export_is_written_whole_not_only_its_first_chunk() {
    let mut rows = String::from("id,name\n");
    for id in 1..=2_500 {
        rows.push_str(&format!("{id},\"item {id}, with a comma\"\n"));
    }
    let site = common::write_files(&[
        (
            "site.yaml",
            r#"site:
  database: db.sqlite3
  fixtures: [data/Item.csv]
models:
  Item:
    fields:
      name: { type: string }
routes:
  - { path: "items.csv", name: items, view: list, model: Item, format: csv }
"#,
        ),
        ("data/Item.csv", &rows),
    ]);
    let out = site.path.parent().unwrap().join("out");
    let o = trellis_build(&site.path, &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(out.join("items.csv")).expect("items.csv written");
    let mut reader = csv::Reader::from_reader(written.as_bytes());
    let names: Vec<String> = reader
        .records()
        .map(|r| r.expect("a CSV record")[1].to_string())
        .collect();
    assert_eq!(names.len(), 2_500, "{}", &written[..200.min(written.len())]);
    assert_eq!(names[2_499], "item 2500, with a comma");
    // Byte for byte what a client downloads from `serve`.
    let s = Server::start_site(&site);
    assert_eq!(s.get("/items.csv").body, written);
}
