//! Django's answers, recorded from Python and Django 5.2 and asked of Trellis in process: the
//! page numbers ListView takes (Python's `int()`), an integer key read from a `str` capture
//! (`int()` too), and `request.quoted_path` (Django's 404 `request_path`). APPEND_SLASH for every method is in `routing`.

use std::sync::OnceLock;

use crate::common::{write_files, Local, SiteDir};

/// A thousand items, one per page (so page 1000 exists and 1001 does not), and a 404 page that
/// shows the quoted path.
fn site() -> &'static Local {
    static SITE: OnceLock<(SiteDir, Local)> = OnceLock::new();
    &SITE
        .get_or_init(|| {
            let mut csv = String::from("id,name\n");
            for i in 1..=1000 {
                csv.push_str(&format!("{i},item {i}\n"));
            }
            let yaml = r#"
site: { database: items.sqlite3, fixtures: [items.csv] }
models:
  Item:
    ordering: [id]
    fields:
      name: { type: string }
routes:
  - { path: "items/", view: list, model: Item, format: json, paginate_by: 1 }
  - { path: "pages/", view: list, model: Item, template: items.hbs, paginate_by: 1, count: false }
  - { path: "item/<str:pk>/", view: detail, model: Item, format: json, fields: [name] }
  - { path: "by/<str:n>/", view: list, model: Item, where: { id: "{n}" }, format: json, fields: [id] }
"#;
            let dir = write_files(&[
                ("site.yaml", yaml),
                ("items.csv", &csv),
                ("templates/items.hbs", "page {{page.number}}"),
                ("templates/404.hbs", "[{{request.quoted_path}}]"),
            ]);
            let local = Local::load(&dir.path);
            (dir, local)
        })
        .1
}

/// What Python's `int(s)` answers: a number, `ValueError`, or a number beyond 64 bits.
#[derive(Debug, Clone, Copy)]
enum Int {
    Ok(i64),
    Invalid,
    TooLarge,
}
use Int::{Invalid, TooLarge};

/// Python 3.11's answers (Unicode 14), printed by this program (Django's ListView reads
/// `?page=` with `int()`, then takes exactly `last`):
///
/// ```python
/// def rust(s):
///     return '"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\u{%x}" % ord(c)
///                          for c in s) + '"'
/// for s in CASES:
///     try:
///         v = int(s)
///         a = "Ok(%d)" % v if -2**63 <= v < 2**63 else "TooLarge"
///     except ValueError:
///         a = "Invalid"
///     print("        (%s, %s)," % (rust(s), a))
/// ```
///
/// (`Ok(n)` printed as `Int::Ok(n)` here.) Digits Unicode added after 14 (Kawi's, U+11F50…)
/// are digits to Trellis, whose tables are newer, and to Python 3.13, not to 3.11.
const PYTHON_INT: &[(&str, Int)] = &[
    ("1", Int::Ok(1)),
    ("007", Int::Ok(7)),
    (" 3 ", Int::Ok(3)),
    ("\u{9}3\u{a}", Int::Ok(3)),
    ("\u{b}3\u{c}\u{d}", Int::Ok(3)),
    ("+5", Int::Ok(5)),
    ("-1", Int::Ok(-1)),
    ("-0", Int::Ok(0)),
    ("0", Int::Ok(0)),
    ("\u{663}", Int::Ok(3)),
    ("0_2", Int::Ok(2)),
    ("1_000", Int::Ok(1000)),
    ("1__0", Invalid),
    ("_1", Invalid),
    ("1_", Invalid),
    ("+_1", Invalid),
    ("- 1", Invalid),
    ("1 2", Invalid),
    ("\u{a0}4\u{3000}", Int::Ok(4)),
    ("\u{2028}4\u{85}", Int::Ok(4)),
    ("\u{1c}4", Invalid),
    ("\u{ff14}\u{ff12}", Int::Ok(42)),
    ("1\u{663}", Int::Ok(13)),
    ("\u{1d7d7}", Int::Ok(9)),
    ("\u{1d7d8}", Int::Ok(0)),
    ("\u{b2}", Invalid),
    ("\u{bd}", Invalid),
    ("\u{2167}", Invalid),
    ("1.0", Invalid),
    ("1e3", Invalid),
    ("0x10", Invalid),
    ("last", Invalid),
    (" last", Invalid),
    ("LAST", Invalid),
    ("  ", Invalid),
    ("9223372036854775807", Int::Ok(9223372036854775807)),
    ("9223372036854775808", TooLarge),
    ("-9223372036854775809", TooLarge),
    ("\u{661}\u{660}", Int::Ok(10)),
    ("\u{200b}1", Invalid),
    ("1\u{0}", Invalid),
    ("\u{9ea}_\u{9e8}", Int::Ok(42)),
    ("++1", Invalid),
    ("+-1", Invalid),
];

fn page_param(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Each string as `?page=`: the page Python's `int()` names when it exists, exactly `last` for
/// the last page, anything else a 404 — on a counted list and on one that is not counted.
#[test]
fn page_numbers_are_read_as_pythons_int_reads_them() {
    let s = site();
    for (text, int) in PYTHON_INT {
        let want = match int {
            Int::Ok(n) if (1..=1000).contains(n) => Some(*n),
            _ if *text == "last" => Some(1000),
            _ => None,
        };
        let r = s.get(&format!("/items/?page={}", page_param(text)));
        match want {
            Some(n) => {
                assert_eq!(r.status, 200, "?page={text:?}: {r:?}");
                let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                assert_eq!(v["page"], n, "?page={text:?}");
                assert_eq!(v["results"][0]["id"], n, "?page={text:?}");
            }
            None => assert_eq!(r.status, 404, "?page={text:?}: {r:?}"),
        }
        // Not counted: any page from 1 that has rows; `last` is not a page there.
        let r = s.get(&format!("/pages/?page={}", page_param(text)));
        match int {
            Int::Ok(n) if (1..=1000).contains(n) => {
                assert_eq!(r.body, format!("page {n}"), "?page={text:?}")
            }
            _ => assert_eq!(r.status, 404, "?page={text:?}: {r:?}"),
        }
    }
    // Absent or empty is page 1, as Django's `GET.get("page") or 1`.
    for target in ["/items/", "/items/?page=", "/items/?page=2&page="] {
        let v: serde_json::Value = serde_json::from_str(&s.get(target).body).unwrap();
        assert_eq!(v["page"], 1, "{target}");
    }
    assert_eq!(s.get("/items/?page=1001").status, 404);
}

/// `request.quoted_path` is `urllib.parse.quote(request.path)`, what Django's 404 page shows
/// as `request_path`: no query, and every byte but letters, digits, `_.-~` and `/` escaped.
/// Django's answers, from `quote(RequestFactory().get(target).path)`.
#[test]
fn request_quoted_path_is_djangos_404_request_path() {
    let s = site();
    for (target, quoted) in [
        ("/nope/a%20b/?x=1", "/nope/a%20b/"),
        ("/nope/caf%C3%A9/", "/nope/caf%C3%A9/"),
        ("/nope/%3Ci%3E%22x%22/", "/nope/%3Ci%3E%22x%22/"),
        (
            "/nope/a~b_c.d-e/!$&'()*+,;=:@",
            "/nope/a~b_c.d-e/%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%40",
        ),
        ("/nope/%2F%3F%23/", "/nope//%3F%23/"),
    ] {
        let r = s.get(target);
        assert_eq!(r.status, 404, "{target}");
        assert_eq!(r.body, format!("[{quoted}]"), "{target}");
    }
}

/// Django's IntegerField reads a lookup value with `int()`: a `str` capture `0_2` or `٣` finds
/// rows 2 and 3, by `pk` (DetailView) and in `where:` (`filter(id=…)`). Text that is not a
/// number finds nothing: a 404 (Django's `get_object` fails with a 500 there instead).
#[test]
fn an_integer_key_from_a_str_capture_is_read_as_int_reads_it() {
    let s = site();
    for (text, id) in PYTHON_INT {
        let target = page_param(text).replace('+', "%20");
        let detail = s.get(&format!("/item/{target}/"));
        let list = s.get(&format!("/by/{target}/"));
        match id {
            Int::Ok(n) if (1..=1000).contains(n) => {
                let name = format!("{{\n  \"name\": \"item {n}\"\n}}");
                assert_eq!(
                    (detail.status, detail.body.as_str()),
                    (200, name.as_str()),
                    "{text:?}"
                );
                let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
                assert_eq!(v["results"], serde_json::json!([{"id": n}]), "{text:?}");
            }
            _ => {
                assert_eq!(detail.status, 404, "{text:?}: {detail:?}");
                let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
                assert_eq!(v["results"], serde_json::json!([]), "{text:?}");
            }
        }
    }
}
