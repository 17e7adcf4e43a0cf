//! What a template sees, asked in process: a page gets the parts of the context it names
//! (`site`, `request`, `params`, `query`), all of them when it reaches the context without
//! naming them, and a page that reads nothing of the request is the same for every request
//! (it is rendered once per loaded site) while one that reads the request is not.

use crate::common::{write_site, Local};

const SITE: &str = r#"site: { name: Ctx }
routes:
  - { path: "", name: home, view: template, template: home.hbs, context: { greeting: Hi } }
  - { path: "where/", view: template, template: where.hbs }
  - { path: "hello/<str:name>/", view: template, template: hello.hbs }
  - { path: "keys/<str:x>/", view: template, template: keys.hbs, query: { q: { default: "" } } }
  - { path: "nested/<str:name>/", view: template, template: nested.hbs }
"#;

fn site() -> (crate::common::SiteDir, Local) {
    let dir = write_site(
        SITE,
        &[
            (
                "layouts/base.hbs",
                "<title>{{site.name}}</title>{{> @partial-block}}",
            ),
            (
                "home.hbs",
                "{{#> layouts/base}}{{greeting}}{{/layouts/base}}",
            ),
            (
                "where.hbs",
                "{{#> layouts/base}}at {{request.path}}{{/layouts/base}}",
            ),
            (
                "hello.hbs",
                "{{#> layouts/base}}hello {{params.name}}{{/layouts/base}}",
            ),
            (
                "keys.hbs",
                "{{#each this}}{{@key}};{{/each}}|{{#with params}}{{this.x}}{{/with}}",
            ),
            ("nested.hbs", "{{> shows-params}}"),
            ("shows-params.hbs", "[{{params.name}}|{{request.method}}]"),
        ],
    );
    let local = Local::load(&dir.path);
    (dir, local)
}

#[test]
fn a_page_that_reads_nothing_of_the_request_is_the_same_every_time() {
    let (_dir, s) = site();
    let first = s.get("/");
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body, "<title>Ctx</title>Hi");
    // Another query string, another method: the page does not read them.
    assert_eq!(s.get("/?x=1").body, first.body);
    assert_eq!(s.request("HEAD", "/").status, 200);
}

#[test]
fn a_page_that_reads_the_request_follows_it() {
    let (_dir, s) = site();
    assert_eq!(s.get("/where/").body, "<title>Ctx</title>at /where/");
    assert_eq!(s.get("/hello/ann/").body, "<title>Ctx</title>hello ann");
    assert_eq!(s.get("/hello/bob/").body, "<title>Ctx</title>hello bob");
}

#[test]
fn a_partial_that_names_a_part_gets_it() {
    let (_dir, s) = site();
    assert_eq!(s.get("/nested/cy/").body, "[cy|GET]");
}

#[test]
fn walking_the_root_context_sees_every_part() {
    let (_dir, s) = site();
    let r = s.get("/keys/7/?q=z");
    assert_eq!(r.status, 200, "{r:?}");
    let (keys, x) = r.body.split_once('|').expect("two halves");
    for key in ["site", "request", "params", "query"] {
        assert!(
            keys.split(';').any(|k| k == key),
            "{key} missing from {keys}"
        );
    }
    assert_eq!(x, "7");
}
