//! `url` and redirects reverse route names as Django's `reverse()` does, regex routes and
//! shared names included.
//!
//! The table is Django's own: the `test_data` of `tests/urlpatterns_reverse/tests.py` (django/django
//! at commit 2e7e97d24d8fd055241915b8af461886ede56a0a; its patterns from `urls.py` at
//! 79935056adb312ca96e7231ec0026b60091c9095 and the files it includes) and the cases of
//! `SameNameTests` in `tests/urlpatterns/tests.py` (at 333c65603032c377e682cdbd7388657a5463a05a,
//! patterns from `path_same_name_urls.py`), with the routes written as a Trellis site in
//! `tests/sites/reverse`. Each case is a name, positional arguments, named arguments, and the
//! URL Django gives or `None` for its NoReverseMatch. Left out, as the site says: the 2 cases
//! of a back-reference and the 4 of view defaults (86 of Django's 92 `test_data` cases are
//! here), and the 2 of a converter registered at run time.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use trellis::routing::{Args, Params};
use trellis::Site;

use crate::common::{trellis, write_site, Local};

fn reverse_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sites/reverse")
}

/// The site, loaded in process once per run.
fn site() -> &'static Local {
    static SITE: OnceLock<Local> = OnceLock::new();
    SITE.get_or_init(|| Local::shared(&reverse_dir()))
}

/// What reversing `name` with these arguments gives, as Django's `reverse(name, args=…,
/// kwargs=…)` would be called.
fn reverse(site: &Site, name: &str, args: &Value, kwargs: &Value) -> Result<String, String> {
    let positional = args.as_array().expect("args is a list");
    let named: Params = kwargs
        .as_object()
        .expect("kwargs is an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let args = if positional.is_empty() {
        Args::Named(&named)
    } else {
        assert!(named.is_empty(), "Django's table never mixes them");
        Args::Positional(positional)
    };
    site.router.reverse(name, args).map_err(|e| e.to_string())
}

#[test]
fn django_reverse_table() {
    let site = Site::load(&reverse_dir()).unwrap_or_else(|e| panic!("{e:?}"));
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>, Value, Value)] = &[
        ("places", Some(r"/places/3/"), json!([3]), json!({})),
        ("places", Some(r"/places/3/"), json!(["3"]), json!({})),
        ("places", None, json!(["a"]), json!({})),
        ("places", None, json!([]), json!({})),
        ("places?", Some(r"/place/"), json!([]), json!({})),
        ("places+", Some(r"/places/"), json!([]), json!({})),
        ("places*", Some(r"/place/"), json!([]), json!({})),
        ("places2?", Some(r"/"), json!([]), json!({})),
        ("places2+", Some(r"/places/"), json!([]), json!({})),
        ("places2*", Some(r"/"), json!([]), json!({})),
        ("places3", Some(r"/places/4/"), json!([4]), json!({})),
        ("places3", Some(r"/places/harlem/"), json!(["harlem"]), json!({})),
        ("places3", None, json!(["harlem64"]), json!({})),
        ("places4", Some(r"/places/3/"), json!([]), json!({"id": 3})),
        ("people", None, json!([]), json!({})),
        ("people", Some(r"/people/adrian/"), json!(["adrian"]), json!({})),
        ("people", Some(r"/people/adrian/"), json!([]), json!({"name": "adrian"})),
        ("people", None, json!(["name with spaces"]), json!({})),
        ("people", None, json!([]), json!({"name": "name with spaces"})),
        ("people2", Some(r"/people/name/"), json!([]), json!({})),
        ("people2a", Some(r"/people/name/fred/"), json!(["fred"]), json!({})),
        ("optional", Some(r"/optional/fred/"), json!([]), json!({"name": "fred"})),
        ("optional", Some(r"/optional/fred/"), json!(["fred"]), json!({})),
        ("named_optional", Some(r"/optional/1/"), json!([1]), json!({})),
        ("named_optional", Some(r"/optional/1/"), json!([]), json!({"arg1": 1})),
        ("named_optional", Some(r"/optional/1/2/"), json!([1, 2]), json!({})),
        ("named_optional", Some(r"/optional/1/2/"), json!([]), json!({"arg1": 1, "arg2": 2})),
        ("named_optional_terminated", Some(r"/optional/1/"), json!([1]), json!({})),
        ("named_optional_terminated", Some(r"/optional/1/"), json!([]), json!({"arg1": 1})),
        ("named_optional_terminated", Some(r"/optional/1/2/"), json!([1, 2]), json!({})),
        ("named_optional_terminated", Some(r"/optional/1/2/"), json!([]), json!({"arg1": 1, "arg2": 2})),
        ("hardcoded", Some(r"/hardcoded/"), json!([]), json!({})),
        ("hardcoded2", Some(r"/hardcoded/doc.pdf"), json!([]), json!({})),
        ("people3", Some(r"/people/il/adrian/"), json!([]), json!({"state": "il", "name": "adrian"})),
        ("people3", None, json!([]), json!({"state": "il"})),
        ("people3", None, json!([]), json!({"name": "adrian"})),
        ("people4", None, json!([]), json!({"state": "il", "name": "adrian"})),
        ("people6", Some(r"/people/il/test/adrian/"), json!(["il/test", "adrian"]), json!({})),
        ("people6", Some(r"/people//adrian/"), json!(["adrian"]), json!({})),
        ("range", Some(r"/character_set/a/"), json!([]), json!({})),
        ("range2", Some(r"/character_set/x/"), json!([]), json!({})),
        ("price", Some(r"/price/$10/"), json!(["10"]), json!({})),
        ("price2", Some(r"/price/$10/"), json!(["10"]), json!({})),
        ("price3", Some(r"/price/$10/"), json!(["10"]), json!({})),
        ("product", Some(r"/product/chocolate+($2.00)/"), json!([]), json!({"price": "2.00", "product": "chocolate"})),
        ("headlines", Some(r"/headlines/2007.5.21/"), json!([]), json!({"year": 2007, "month": 5, "day": 21})),
        ("windows", Some(r"/windows_path/C:%5CDocuments%20and%20Settings%5Cspam/"), json!([]), json!({"drive_name": "C", "path": "Documents and Settings\\spam"})),
        ("special", Some(r"/special_chars/~@+%5C$*%7C/"), json!(["~@+\\$*|"]), json!({})),
        ("special", Some(r"/special_chars/some%20resource/"), json!(["some resource"]), json!({})),
        ("special", Some(r"/special_chars/10%25%20complete/"), json!(["10% complete"]), json!({})),
        ("special", Some(r"/special_chars/some%20resource/"), json!([]), json!({"chars": "some resource"})),
        ("special", Some(r"/special_chars/10%25%20complete/"), json!([]), json!({"chars": "10% complete"})),
        ("special", None, json!([""]), json!({})),
        ("mixed", Some(r"/john/0/"), json!([]), json!({"name": "john"})),
        ("repeats", Some(r"/repeats/a/"), json!([]), json!({})),
        ("repeats2", Some(r"/repeats/aa/"), json!([]), json!({})),
        ("repeats3", Some(r"/repeats/aa/"), json!([]), json!({})),
        ("test", Some(r"/test/1"), json!([]), json!({})),
        ("inner-nothing", Some(r"/outer/42/"), json!([]), json!({"outer": "42"})),
        ("inner-nothing", Some(r"/outer/42/"), json!(["42"]), json!({})),
        ("inner-nothing", None, json!(["foo"]), json!({})),
        ("inner-extra", Some(r"/outer/42/extra/inner/"), json!([]), json!({"extra": "inner", "outer": "42"})),
        ("inner-extra", Some(r"/outer/42/extra/inner/"), json!(["42", "inner"]), json!({})),
        ("inner-extra", None, json!(["fred", "inner"]), json!({})),
        ("inner-no-kwargs", Some(r"/outer-no-kwargs/42/inner-no-kwargs/1/"), json!(["42", "1"]), json!({})),
        ("disjunction", None, json!(["foo"]), json!({})),
        ("inner-disjunction", None, json!(["10", "11"]), json!({})),
        ("extra-places", Some(r"/e-places/10/"), json!(["10"]), json!({})),
        ("extra-people", Some(r"/e-people/fred/"), json!(["fred"]), json!({})),
        ("extra-people", Some(r"/e-people/fred/"), json!([]), json!({"name": "fred"})),
        ("part", Some(r"/part/one/"), json!([]), json!({"value": "one"})),
        ("part", Some(r"/prefix/xx/part/one/"), json!([]), json!({"value": "one", "prefix": "xx"})),
        ("part2", Some(r"/part2/one/"), json!([]), json!({"value": "one"})),
        ("part2", Some(r"/part2/"), json!([]), json!({})),
        ("part2", Some(r"/prefix/xx/part2/one/"), json!([]), json!({"value": "one", "prefix": "xx"})),
        ("part2", Some(r"/prefix/xx/part2/"), json!([]), json!({"prefix": "xx"})),
        ("nested-noncapture", Some(r"/nested/noncapture/opt"), json!([]), json!({"p": "opt"})),
        ("nested-capture", Some(r"/nested/capture/opt/"), json!(["opt/"]), json!({})),
        ("nested-capture", None, json!([]), json!({"p": "opt"})),
        ("nested-mixedcapture", Some(r"/nested/capture/mixed/opt"), json!(["opt"]), json!({})),
        ("nested-mixedcapture", None, json!([]), json!({"p": "opt"})),
        ("nested-namedcapture", Some(r"/nested/capture/named/opt/"), json!([]), json!({"outer": "opt/"})),
        ("nested-namedcapture", None, json!([]), json!({"outer": "opt/", "inner": "opt"})),
        ("nested-namedcapture", None, json!([]), json!({"inner": "opt"})),
        ("non_path_include", Some(r"/includes/non_path_include/"), json!([]), json!({})),
        ("security", Some(r"/%2Fexample.com/security/"), json!(["/example.com"]), json!({})),
        // SameNameTests.test_matching_urls_same_name.
        ("number_of_args", Some("/number_of_args/0/"), json!([]), json!({})),
        ("number_of_args", Some("/number_of_args/1/1/"), json!([1]), json!({})),
        ("kwargs_names", Some("/kwargs_names/a/1/"), json!([]), json!({"a": 1})),
        ("kwargs_names", Some("/kwargs_names/b/1/"), json!([]), json!({"b": 1})),
        ("converter", Some("/converter/path/a/b/"), json!(["a/b"]), json!({})),
        ("converter", Some("/converter/str/a%20b/"), json!(["a b"]), json!({})),
        ("converter", Some("/converter/slug/a-b/"), json!(["a-b"]), json!({})),
        ("converter", Some("/converter/int/2/"), json!(["2"]), json!({})),
        ("converter", Some("/converter/uuid/39da9369-838e-4750-91a5-f7805cd82839/"), json!(["39da9369-838e-4750-91a5-f7805cd82839"]), json!({})),
        ("regex", Some("/regex/uppercase/ABC/"), json!(["ABC"]), json!({})),
        ("regex", Some("/regex/lowercase/abc/"), json!(["abc"]), json!({})),
    ];
    let mut wrong = Vec::new();
    for (name, expected, args, kwargs) in cases {
        let got = reverse(&site, name, args, kwargs);
        let fits = match expected {
            Some(url) => got.as_deref() == Ok(*url),
            None => got.is_err(),
        };
        if !fits {
            wrong.push(format!(
                "{name} {args} {kwargs}: Django {expected:?}, Trellis {got:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// An `href` of `<a id="ID" href="…">` in the body.
fn href<'a>(body: &'a str, id: &str) -> &'a str {
    let start = format!("<a id=\"{id}\" href=\"");
    let at = body
        .find(&start)
        .unwrap_or_else(|| panic!("no link {id}: {body}"))
        + start.len();
    let len = body[at..].find('"').expect("a closing quote");
    &body[at..at + len]
}

/// A page's `url` calls, by position and by name, to regex routes with unnamed and optional
/// groups and to a name two routes share.
#[test]
fn url_helper_reverses_regex_routes_and_shared_names() {
    let r = site().get("/page/");
    assert_eq!(r.status, 200, "{r:?}");
    let links = [
        ("places", "/places/3/"),
        ("optional-1", "/optional/1/"),
        ("optional-2", "/optional/1/2/"),
        ("part", "/part/one/"),
        ("part-prefix", "/prefix/xx/part/one/"),
        ("price", "/product/choc+($2.00)/"),
    ];
    for (id, url) in links {
        assert_eq!(href(&r.body, id), url, "{id}");
    }
}

/// A redirect by a shared name goes to the route whose arguments the captures fit.
#[test]
fn redirect_by_shared_name_takes_the_route_that_fits() {
    for (from, to) in [
        ("/go/one/", "/part/one/"),
        ("/go/xx/one/", "/prefix/xx/part/one/"),
    ] {
        let r = site().get(from);
        assert_eq!(r.status, 302, "{from}: {r:?}");
        assert_eq!(r.header("location"), Some(to), "{from}");
    }
}

/// `check` accepts names several routes share, and `routes` lists them under the table.
#[test]
fn routes_lists_shared_names() {
    let dir = reverse_dir();
    let check = trellis([std::ffi::OsStr::new("check"), dir.as_os_str()]);
    assert!(check.status.success(), "{check:?}");
    let out = trellis([std::ffi::OsStr::new("routes"), dir.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let shared = text
        .split("\nShared names (`url` tries their routes from the last up, and takes the first whose arguments fit):\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no shared names: {text}"));
    let names: Vec<&str> = shared
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "converter",
            "kwargs_names",
            "number_of_args",
            "part",
            "part2",
            "regex"
        ]
    );
    assert!(
        shared
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "part",
                    "/(regex",
                    "part/(?P<value>\\w+)/)",
                    "/prefix/<word:prefix>/(regex",
                    "part/(?P<value>\\w+)/)"
                ]),
        "{shared}"
    );
}

/// A literal `url` call that fits no URL form of the route is a `check` error, with what the
/// route takes.
#[test]
fn literal_url_calls_that_fit_no_form_fail_check() {
    let site = write_site(
        r#"site: { name: T }
routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - { regex: "^opt/(?P<a>\\d+)/(?:(?P<b>\\d+)/)?$", name: opt, view: not_found }
  - { regex: "^(?:foo|bar)/$", name: alt, view: not_found }
  - { regex: "^p/(\\d+)/$", name: pos, view: not_found }
"#,
        &[(
            "home.hbs",
            "{{url \"opt\" 1 2 3}}\n{{url \"opt\" 1 b=2}}\n{{url \"opt\" a=\"x\"}}\n{{url \"alt\"}}\n{{url \"pos\" n=1}}\n{{url \"opt\" 1}}{{url \"opt\" a=1 b=2}}{{url \"pos\" 7}}\n",
        )],
    );
    let out = trellis([std::ffi::OsStr::new("check"), site.path.as_os_str()]);
    assert!(!out.status.success(), "{out:?}");
    let text =
        String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", site.path.display()), "");
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("error") || l.contains("= help"))
        .collect();
    assert_eq!(
        errors,
        [
            "error: templates/home.hbs:1:1: url `opt`: no URL form takes 3 argument(s) by position",
            "  = help: it takes (a) or (a, b)",
            "error: templates/home.hbs:2:1: url `opt`: give the arguments by position or by name, not both",
            "error: templates/home.hbs:3:1: url `opt`: \"/opt/x/\" would not match the route /(regex opt/(?P<a>\\d+)/(?:(?P<b>\\d+)/)?)",
            "error: templates/home.hbs:4:1: url `alt`: the route /(regex (?:foo|bar)/) cannot be reversed: its regex has an alternation (`|`) outside a group that captures, which cannot be reversed (nor can Django reverse it)",
            "error: templates/home.hbs:5:1: url `pos`: its unnamed groups take arguments by position; unexpected argument `n`",
            "  = help: it takes 1 argument by position",
        ]
    );
}
