//! The admin keeps the list's filters (Django's `preserve_filters`): a row's link from a
//! filtered, searched, ordered, paged list carries `?_changelist_filters=`; the add, change,
//! delete and history pages keep it in their links; Save, delete and the breadcrumb go back
//! to the list with its query, "Save and continue editing" and "Save and add another" to
//! their form with it. A forged `_changelist_filters` never makes a redirect leave the list's
//! path nor a header of its own. Over real HTTP, as a browser sends it.

use std::path::Path;

use crate::admin::{blog_dir, session_for};
use crate::common::{Resp, Server, SiteDir, CSRF_SECRET};

/// The list's query: filtered by a choice, searched, ordered and paged.
const LIST_Q: &str = "status=live&q=e&ordering=-title&page=1";

/// The same query as a link from that list carries it.
const KEPT: &str = "_changelist_filters=status%3Dlive%26q%3De%26ordering%3D-title%26page%3D1";

/// A served site and a staff user's session: GETs and form POSTs as the admin's pages send
/// them (the session and CSRF cookies, the CSRF field, the site's own `Origin`).
pub(crate) struct Wire {
    pub server: Server,
    cookie: String,
    origin: String,
    _dir: SiteDir,
}

impl Wire {
    pub fn new(dir: SiteDir) -> Wire {
        let server = Server::start(&dir.path);
        let session = session_for(server.site_path(), "root", true);
        let cookie = format!("csrftoken={CSRF_SECRET}; {session}");
        let origin = format!("http://127.0.0.1:{}", server.addr.port());
        Wire {
            server,
            cookie,
            origin,
            _dir: dir,
        }
    }

    pub fn site(&self) -> &Path {
        self.server.site_path()
    }

    pub fn get(&self, target: &str) -> Resp {
        self.server
            .request("GET", target, &[("Cookie", &self.cookie)])
    }

    pub fn post(&self, target: &str, body: &str) -> Resp {
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", self.origin.as_str()),
        ];
        let body = format!("csrfmiddlewaretoken={CSRF_SECRET}&{body}");
        self.server
            .request_with_body("POST", target, &headers, &body)
    }
}

pub(crate) fn count(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("db.sqlite3")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every link of a page, as the browser reads it (the template's escapes undone).
fn hrefs(body: &str) -> Vec<String> {
    body.split(" href=\"")
        .skip(1)
        .map(|s| {
            s[..s.find('"').unwrap()]
                .replace("&#x3D;", "=")
                .replace("&amp;", "&")
        })
        .collect()
}

fn has_link(r: &Resp, want: &str) {
    let links = hrefs(&r.body);
    assert!(
        links.iter().any(|h| h == want),
        "no link {want}: {links:#?}\n{}",
        r.body
    );
}

fn location(r: &Resp) -> &str {
    assert_eq!(r.status, 303, "{}", r.body);
    r.header("location").unwrap()
}

#[test]
fn a_row_opened_from_a_filtered_list_saves_back_to_that_list() {
    let w = Wire::new(blog_dir());
    let list = format!("/manage/post/?{LIST_Q}");
    let r = w.get(&list);
    assert_eq!(r.status, 200, "{}", r.body);
    has_link(&r, &format!("/manage/post/3/change/?{KEPT}"));
    has_link(&r, &format!("/manage/post/add/?{KEPT}"));

    let change = format!("/manage/post/3/change/?{KEPT}");
    let r = w.get(&change);
    assert_eq!(r.status, 200, "{}", r.body);
    has_link(&r, &list);
    has_link(&r, &format!("/manage/post/3/delete/?{KEPT}"));
    has_link(&r, &format!("/manage/post/3/history/?{KEPT}"));
    // The form posts to its own address, which holds the list's query.
    assert!(
        r.body
            .contains("<form method=\"post\" class=\"edit\" novalidate>"),
        "{}",
        r.body
    );

    // A refused value: the page shown again keeps the way back.
    let r = w.post(
        &change,
        &format!("title={}&status=live&author=2", "x".repeat(81)),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    has_link(&r, &list);

    let r = w.post(&change, "title=Cherry+pie&status=live&author=2&_save=");
    assert_eq!(location(&r), list);
    let r = w.get(&list);
    assert!(r.body.contains("“Cherry pie” was changed successfully."));
    assert!(r.body.contains(">Cherry pie</a>"), "{}", r.body);
    assert!(
        !r.body.contains(">Bananas</a>"),
        "still filtered: {}",
        r.body
    );

    let r = w.post(&change, "title=Cherries&status=live&author=2&_continue=");
    assert_eq!(location(&r), change);
    let r = w.post(&change, "title=Cherries&status=live&author=2&_addanother=");
    assert_eq!(location(&r), format!("/manage/post/add/?{KEPT}"));
    assert_eq!(
        count(
            w.site(),
            "SELECT COUNT(*) FROM post WHERE id = 3 AND title = 'Cherries'"
        ),
        1
    );
}

#[test]
fn add_delete_and_history_keep_the_lists_query_too() {
    let w = Wire::new(blog_dir());
    let list = format!("/manage/post/?{LIST_Q}");
    let add = format!("/manage/post/add/?{KEPT}");
    let r = w.get(&add);
    assert_eq!(r.status, 200, "{}", r.body);
    has_link(&r, &list);
    let r = w.post(&add, "title=Dates&status=live&author=1&_save=");
    assert_eq!(location(&r), list);
    let r = w.post(&add, "title=Elderberries&status=live&author=1&_continue=");
    assert_eq!(location(&r), format!("/manage/post/6/change/?{KEPT}"));
    let r = w.post(&add, "title=Figs&status=live&author=1&_addanother=");
    assert_eq!(location(&r), add);
    assert_eq!(count(w.site(), "SELECT COUNT(*) FROM post"), 7);

    let delete = format!("/manage/post/1/delete/?{KEPT}");
    let r = w.get(&delete);
    assert_eq!(r.status, 200, "{}", r.body);
    has_link(&r, &list);
    has_link(&r, &format!("/manage/post/1/change/?{KEPT}"));
    let r = w.post(&delete, "");
    assert_eq!(location(&r), list);
    assert_eq!(count(w.site(), "SELECT COUNT(*) FROM post WHERE id = 1"), 0);

    // The list's last page loses its last row (live: Cherries, Dates | Elderberries, Figs;
    // then Dates, Elderberries | Figs): back to the list's last page, not a 404.
    let page2 = "_changelist_filters=status%3Dlive%26page%3D2";
    assert_eq!(
        w.post(&format!("/manage/post/3/delete/?{page2}"), "")
            .status,
        303
    );
    let r = w.post(&format!("/manage/post/7/delete/?{page2}"), "");
    assert_eq!(location(&r), "/manage/post/?status=live&page=2");
    let r = w.get("/manage/post/?status=live&page=2");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("was deleted successfully"), "{}", r.body);
    for title in [">Dates</a>", ">Elderberries</a>"] {
        assert!(r.body.contains(title), "{title}: {}", r.body);
    }

    let r = w.get(&format!("/manage/post/5/history/?{KEPT}"));
    assert_eq!(r.status, 200, "{}", r.body);
    has_link(&r, &list);
    has_link(&r, &format!("/manage/post/5/change/?{KEPT}"));
}

/// A `_changelist_filters` written by an attacker (a link sent to a staff user): whatever it
/// holds, each button's redirect stays on the admin's own path with a query re-encoded after
/// it, adds no header, and the pages echo it escaped.
#[test]
fn a_forged_changelist_filters_never_redirects_away_nor_adds_a_header() {
    let w = Wire::new(blog_dir());
    let forged = [
        "//evil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example%2F",
        "%5C%5Cevil.example",
        "%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
        "x%3D1%0D%0ASet-Cookie%3A%20pwned%3D1",
        "%3F%2F%2Fevil.example%23",
        "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "a%26_changelist_filters%3D%252F%252Fevil.example",
    ];
    for value in forged {
        let change = format!("/manage/post/3/change/?_changelist_filters={value}");
        let page = w.get(&change);
        assert_eq!(page.status, 200, "{value}: {}", page.body);
        assert!(!page.body.contains("<script>alert"), "{value}");
        for link in hrefs(&page.body) {
            let local = link.starts_with('#') || link.starts_with('/') && !link.starts_with("//");
            assert!(local, "{value}: {link}");
        }
        for (button, path) in [
            ("_save", "/manage/post/"),
            ("_continue", "/manage/post/3/change/"),
            ("_addanother", "/manage/post/add/"),
        ] {
            let r = w.post(
                &change,
                &format!("title=Cherries&status=live&author=2&{button}="),
            );
            let to = location(&r);
            let query = match to.strip_prefix(path) {
                Some(rest) => rest.strip_prefix('?').unwrap_or(rest),
                None => panic!("{value} {button}: {to}"),
            };
            assert!(
                query
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"%+=&*-._".contains(&b)),
                "{value} {button}: {to}"
            );
            let locations = r.headers.iter().filter(|(n, _)| n == "location").count();
            assert_eq!(locations, 1, "{value} {button}: {:?}", r.headers);
            assert!(
                !r.headers
                    .iter()
                    .any(|(n, v)| n == "set-cookie" && v.contains("pwned")),
                "{value} {button}: {:?}",
                r.headers
            );
            // Where it leads is the admin answering, never a failure.
            let next = w.get(to);
            assert!(
                next.status == 200 || next.status == 400,
                "{value} {button}: {to} {}",
                next.status
            );
        }
    }
}
