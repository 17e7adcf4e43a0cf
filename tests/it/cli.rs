//! The command line as a site's author uses it: `check`, `routes`, `schema`, `load`, `dump`,
//! `migrate`, and `serve`'s start (which site, which address, what it says when it cannot),
//! run inside a site's folder as well as given one.

use crate::common;

use std::path::Path;
use std::process::Output;

use crate::common::{command, edge_dir, greetings_dir, write_site, SiteDir};

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Run `trellis ARGS` with the working directory `cwd` (so that paths print relative to it).
fn trellis_in(cwd: &Path, args: &[&str]) -> Output {
    let tmp = tempfile::TempDir::new().expect("a temporary folder");
    command(tmp.path())
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("the trellis binary runs")
}

/// A site with three different mistakes, one per line 5, 6 and 7 of its site.yaml.
const BROKEN: &str = r#"site:
  name: Broken
routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - { path: "about/", name: about, view: template, tempalte: about.hbs }
  - { path: "old/", view: redirect, to: hoem }
  - { path: "team/", name: team, view: template, template: team.hbs }
"#;

fn broken_site() -> SiteDir {
    write_site(BROKEN, &[("home.hbs", "<h1>Home</h1>\n")])
}

/// `site.yaml:LINE:COL` of the first `needle` on 1-based line `line` of `BROKEN`.
fn position(line: usize, needle: &str) -> String {
    let text = BROKEN.lines().nth(line - 1).expect("the line exists");
    let col = text.find(needle).expect("the needle is on the line") + 1;
    format!("site.yaml:{line}:{col}")
}

/// The one line of `err` that starts with `error: AT`.
fn error_line<'a>(err: &'a str, at: &str) -> &'a str {
    let start = format!("error: {at}: ");
    err.lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no error at {at}:\n{err}"))
}

#[test]
fn check_accepts_the_example_site() {
    let out = common::trellis(["check".as_ref(), greetings_dir().as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("ok: "), "{text}");
    assert!(text.contains("(6 routes, 7 templates)"), "{text}");
    assert_eq!(stderr(&out), "");
}

#[test]
fn check_accepts_the_edge_test_site() {
    let out = common::trellis(["check".as_ref(), edge_dir().as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
}

/// A small site with a model, written at the top of a temporary folder so that commands can
/// run inside it; `templates` adds or replaces templates (`home.hbs` is there).
fn notes_site(templates: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::TempDir::new().expect("a temporary folder");
    let mut files = vec![
        (
            "site.yaml",
            "site: { name: Notes, database: notes.sqlite3 }\n\
             models:\n  Note:\n    fields:\n      title: { type: string }\n\
             routes:\n  - { path: \"\", name: home, view: template, template: home.hbs }\n",
        ),
        (
            "notes.yaml",
            "- { model: Note, pk: 1, fields: { title: First } }\n",
        ),
        ("templates/home.hbs", "<h1>Notes</h1>\n"),
    ];
    files.extend(templates.iter().map(|&(name, text)| (name, text)));
    for (rel, text) in files {
        let path = tmp.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    tmp
}

/// The folder as the system names it from inside (`current_dir`), for exact outputs.
fn real(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .expect("the folder exists")
        .display()
        .to_string()
}

/// What the first migration of any site with a database also makes: the users', sessions' and
/// failed sign-ins' tables.
const BUILT_IN_TABLES: &str = "migrate: create table trellis_user\nmigrate: create table trellis_session\nmigrate: create table trellis_login_failure\nmigrate: create table trellis_log\n";

#[test]
fn commands_run_inside_a_site_folder_act_on_it() {
    let site = notes_site(&[]);
    let here = real(site.path());

    let out = trellis_in(site.path(), &["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("ok: {here} (1 route, 1 template)\n"));
    assert_eq!(
        stderr(&out),
        format!("migrate: create table note\n{BUILT_IN_TABLES}")
    );
    assert!(
        site.path().join("notes.sqlite3").is_file(),
        "check made the database here"
    );

    let out = trellis_in(site.path(), &["routes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let rows: Vec<Vec<&str>> = table.lines().map(cells).collect();
    assert_eq!(rows[1], ["/", "home", "template", "home"], "{table}");

    let out = trellis_in(site.path(), &["load", "notes.yaml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "loaded 1 row (1 Note)\n");

    let out = trellis_in(site.path(), &["dump", "Note"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("title: First"), "{}", stdout(&out));

    let out = trellis_in(site.path(), &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("ok: the database of {here} is up to date\n")
    );
}

#[test]
fn serve_inside_a_site_folder_serves_it() {
    let site = notes_site(&[]);
    let here = real(site.path());
    let s = common::Server::start_in(site, &["serve"]);
    assert!(
        s.banner
            .contains(&format!("serving {here} (1 route) at http://")),
        "{}",
        s.banner
    );
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "<h1>Notes</h1>\n");
}

#[test]
fn commands_with_no_site_say_what_they_need() {
    let empty = tempfile::TempDir::new().unwrap();
    let here = real(empty.path());
    for (args, bare, usage) in [
        (&["check"][..], "check", "check SITE"),
        (&["routes"][..], "routes", "routes SITE"),
        (&["migrate"][..], "migrate", "migrate SITE"),
        (&["dump", "Note"][..], "dump MODEL", "dump SITE MODEL"),
        (
            &["load", "notes.yaml"][..],
            "load FILES...",
            "load SITE FILES...",
        ),
        (
            &["schema", "--write"][..],
            "schema --write",
            "schema --write SITE",
        ),
    ] {
        let out = trellis_in(empty.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
        assert_eq!(
            stderr(&out),
            format!(
                "error: no site here: {here} has no site.yaml\n  \
                 = help: run `trellis {bare}` in a site's folder, or name the folder: \
                 `trellis {usage}` (`trellis new NAME` makes a new site)\n"
            ),
            "{args:?}"
        );
    }
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "nothing was written"
    );
}

#[test]
fn check_reports_every_error_with_file_line_and_column() {
    let site = broken_site();
    let out = trellis_in(&site.path, &["check", site.path.to_str().unwrap()]);
    assert!(!out.status.success(), "check must fail on a broken site");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "", "nothing is printed as ok");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");

    // The typo is placed at the key itself, with a did-you-mean.
    let line = error_line(&err, &position(5, "tempalte"));
    assert!(line.contains("unknown key `tempalte`"), "{line}");
    assert!(err.contains("did you mean `template`?"), "{err}");

    // The redirect to a name no route has, placed at the name.
    let line = error_line(&err, &position(6, "hoem"));
    assert!(line.contains("no route is named `hoem`"), "{line}");
    assert!(err.contains("did you mean `home`?"), "{err}");

    // The route naming a template that does not exist, placed at the template.
    let line = error_line(&err, &position(7, "team.hbs"));
    assert!(line.contains("no template `team.hbs`"), "{line}");

    // Each comes with its source line and a caret, and the count closes the report.
    assert!(
        err.contains(
            "5 |   - { path: \"about/\", name: about, view: template, tempalte: about.hbs }"
        ),
        "{err}"
    );
    assert_eq!(err.matches("error: ").count(), 3, "{err}");
    assert!(err.trim_end().ends_with("3 errors found"), "{err}");
}

#[test]
fn serve_refuses_a_broken_site_and_says_why() {
    let site = broken_site();
    let out = trellis_in(
        &site.path,
        &[
            "serve",
            site.path.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ],
    );
    assert!(!out.status.success());
    assert_eq!(stdout(&out), "", "no banner: nothing is served");
    let err = stderr(&out);
    assert!(err.contains("unknown key `tempalte`"), "{err}");
    assert!(err.contains("3 errors found"), "{err}");
}

#[test]
fn check_on_a_folder_without_a_site_fails() {
    let empty = tempfile::TempDir::new().unwrap();
    let out = common::trellis(["check".as_ref(), empty.path().as_os_str()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no site.yaml here"), "{err}");
    assert!(err.contains("1 error found"), "{err}");
}

/// Table cells: columns are separated by two or more spaces.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn routes_prints_the_table_with_namespaced_names() {
    let out = common::trellis(["routes".as_ref(), greetings_dir().as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| cells(l)).collect();
    let expected: &[&[&str]] = &[
        &["PATTERN", "NAME", "VIEW", "TARGET"],
        &["/", "home", "template", "home"],
        &["/greetings/", "greetings:index", "template", "home"],
        &[
            "/greetings/search/",
            "greetings:search",
            "template",
            "search",
        ],
        &[
            "/greetings/go-home/",
            "greetings:go-home",
            "redirect",
            "302 -> home",
        ],
        &[
            "/greetings/profile/<user:username>/",
            "greetings:profile",
            "template",
            "profile",
        ],
        &[
            "/greetings/<str:name>/",
            "greetings:greet",
            "template",
            "greet",
        ],
    ];
    assert_eq!(rows, expected, "{text}");
    // The columns line up.
    let name_col = lines[0].find("NAME").unwrap();
    let view_col = lines[0].find("VIEW").unwrap();
    for (line, row) in lines.iter().zip(&rows).skip(1) {
        assert_eq!(line.find(row[1]), Some(name_col), "{text}");
        assert_eq!(&line[view_col..view_col + row[2].len()], row[2], "{text}");
    }
}

#[test]
fn routes_shows_include_prefixes_captures_and_unnamed_routes() {
    let out = common::trellis(["routes".as_ref(), edge_dir().as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text.lines().map(cells).collect();
    for expected in [
        &[
            "/teams/<slug:team>/members/<str:member>/",
            "teams:member",
            "template",
            "team",
        ][..],
        &[
            "/teams/<slug:team>/old-members/<str:member>/",
            "-",
            "redirect",
            "302 -> teams:member",
        ][..],
        &["/moved/", "-", "redirect", "301 -> about"][..],
        &[
            "/robots.txt",
            "-",
            "response",
            "200 text/plain; charset=utf-8",
        ][..],
        &["/gone/", "-", "not_found", "404"][..],
    ] {
        assert!(
            rows.iter().any(|r| r == expected),
            "no row {expected:?} in\n{text}"
        );
    }
}

#[test]
fn schema_prints_the_json_schema_of_site_yaml() {
    let out = common::trellis(["schema"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("trellis schema prints JSON");
    assert_eq!(schema["title"], "Trellis site.yaml");
    assert_eq!(schema["type"], "object");
    for key in ["site", "converters", "routes", "errors"] {
        assert!(
            schema["properties"].get(key).is_some(),
            "no property {key}: {schema}"
        );
    }

    let out = common::trellis(["schema", "--routes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("trellis schema --routes prints JSON");
    assert_eq!(schema["type"], "array", "{schema}");
}

/// A template that does not parse, and one that names a route no site has.
const BROKEN_TEMPLATES: &[(&str, &str)] = &[
    ("templates/about.hbs", "<h1>About</h1>\n{{#if x}}\n"),
    (
        "templates/links.hbs",
        "<a href=\"{{url 'nowhere'}}\">x</a>\n",
    ),
];

/// What a command that renders no page prints about `BROKEN_TEMPLATES`, before its own work.
fn template_warnings(command: &str) -> String {
    format!(
        "warning: templates/about.hbs:3:1: template syntax: invalid handlebars syntax (an unclosed or malformed {{{{...}}}} expression)\n\
         \n\
         warning: templates/links.hbs:1:10: url: no route is named `nowhere`\n\
         \x20 |\n\
         1 | <a href=\"{{{{url 'nowhere'}}}}\">x</a>\n\
         \x20 |          ^\n\
         \x20 = help: known: home\n\
         \n\
         2 warnings: errors in templates, which `{command}` does not render; `trellis check` and `trellis serve` fail on them\n"
    )
}

#[test]
fn commands_that_render_nothing_work_with_broken_templates() {
    let site = notes_site(BROKEN_TEMPLATES);

    let out = trellis_in(site.path(), &["routes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), template_warnings("routes"));
    assert!(
        stdout(&out).contains("/        home  template  home"),
        "{}",
        stdout(&out)
    );

    let out = trellis_in(site.path(), &["migrate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        template_warnings("migrate") + "migrate: create table note\n" + BUILT_IN_TABLES
    );
    assert!(
        stdout(&out).ends_with("is up to date\n"),
        "{}",
        stdout(&out)
    );

    let out = trellis_in(site.path(), &["load", "notes.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), template_warnings("load"));
    assert_eq!(stdout(&out), "loaded 1 row (1 Note)\n");

    let out = trellis_in(site.path(), &["dump", "Note"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), template_warnings("dump"));
    assert!(stdout(&out).contains("title: First"), "{}", stdout(&out));

    // Those that render still fail on them, as errors.
    let out = trellis_in(site.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: templates/about.hbs:3:1: "), "{err}");
    assert!(err.contains("error: templates/links.hbs:1:10: "), "{err}");
    assert!(err.ends_with("2 errors found\n"), "{err}");
    let out = trellis_in(site.path(), &["serve", "--port", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "", "nothing is served");
    assert!(
        stderr(&out).ends_with("2 errors found\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_site_yaml_still_stops_the_commands_that_render_nothing() {
    let site = broken_site();
    let out = trellis_in(&site.path, &["routes"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).ends_with("3 errors found\n"),
        "{}",
        stderr(&out)
    );
}

/// The name of this test process as `/proc` gives it, when it does.
fn own_name() -> Option<String> {
    std::fs::read_to_string("/proc/self/comm")
        .ok()
        .map(|n| n.trim().to_string())
}

#[test]
fn a_port_in_use_is_explained_with_the_process_that_holds_it() {
    let site = notes_site(&[]);
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = held.local_addr().unwrap().port();
    let holder = match own_name() {
        Some(name) => format!(" (by `{name}`, process {})", std::process::id()),
        None => {
            eprintln!("NOTE: no /proc here: the process holding the port is not named");
            String::new()
        }
    };
    let expected = format!(
        "error: cannot serve on 127.0.0.1:{port}: port {port} is already in use{holder}\n  \
         = help: stop what holds it, or serve on another port: `--port {}` \
         (`--port 0` picks a free one)\n",
        port + 1
    );
    // `--port N`, and a bare port given to --addr, both mean 127.0.0.1:N.
    for args in [
        ["serve", "--port", &port.to_string()],
        ["serve", "--addr", &port.to_string()],
    ] {
        let out = trellis_in(site.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
        let err = stderr(&out);
        // The start-up migration is logged first; the error is the last thing said.
        assert!(
            err.ends_with(&expected),
            "{args:?}:\n{err}\nexpected:\n{expected}"
        );
    }
    drop(held);
}

#[test]
fn a_bad_address_is_explained_in_the_users_words() {
    let site = notes_site(&[]);
    for (addr, expected) in [
        (
            "127.0.0.1:80a",
            "error: `127.0.0.1:80a` is not an address to listen on\n  \
             = help: give a port (`--addr 8080` or `--port 8080`), or a host and port \
             (`--addr 127.0.0.1:8080`, `--addr [::1]:8080`, `--addr 0.0.0.0:8080`)\n",
        ),
        (
            "99999",
            "error: 99999 is not a port: ports go from 1 to 65535 (0 picks a free one)\n",
        ),
    ] {
        let out = trellis_in(site.path(), &["serve", "--addr", addr]);
        assert_eq!(out.status.code(), Some(1), "{addr}");
        assert_eq!(stderr(&out), expected, "{addr}");
        assert!(!stderr(&out).contains("invalid socket address"));
    }
}

#[test]
fn new_quotes_the_folder_for_the_shell_in_its_message() {
    let tmp = tempfile::TempDir::new().unwrap();
    let out = trellis_in(tmp.path(), &["new", "bad name!"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "created bad name!; serve it with:\n  trellis serve 'bad name!'\n"
    );
    // And the command it prints works, as a shell reads it.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("cd \"$1\" && trellis check 'bad name!' >/dev/null && echo checked")
        .arg("sh")
        .arg(tmp.path())
        .env("PATH", {
            let bin = Path::new(env!("CARGO_BIN_EXE_trellis")).parent().unwrap();
            let rest = std::env::var_os("PATH").unwrap_or_default();
            std::env::join_paths(
                std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&rest)),
            )
            .unwrap()
        })
        .output()
        .expect("sh runs");
    assert_eq!(stdout(&out), "checked\n", "{}", stderr(&out));
}

#[test]
fn usage_shows_site_as_optional_in_errors_too() {
    let out = common::trellis(["serve", "mysite", "--live", "--no-reload"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("Usage: trellis serve [SITE] [OPTIONS]"),
        "{err}"
    );
    assert!(!err.contains("<SITE>"), "{err}");
    for command in ["check", "migrate", "routes", "load", "dump"] {
        let out = common::trellis([command, "--help"]);
        let help = stdout(&out);
        assert!(
            help.contains(&format!("Usage: trellis {command} [SITE]")),
            "{help}"
        );
    }
}

#[test]
fn schema_write_puts_the_schemas_in_a_copied_site_and_says_how_to_use_them() {
    let tmp = tempfile::TempDir::new().unwrap();
    let copy = tmp.path().join("greetings");
    common::copy_dir(&greetings_dir(), &copy);
    let out = trellis_in(&copy, &["schema", "--write"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("wrote site.schema.json\nwrote routes.schema.json\n"),
        "{text}"
    );
    assert!(
        text.contains("site.yaml:            # yaml-language-server: $schema=site.schema.json"),
        "{text}"
    );
    // The example's comment points into the repository, which is not there from the copy.
    assert!(
        text.contains(
            "note: site.yaml's first line points at ../../schemas/site.schema.json, which is not there from this folder"
        ),
        "{text}"
    );
    let written = std::fs::read_to_string(copy.join("site.schema.json")).unwrap();
    assert_eq!(written, stdout(&common::trellis(["schema"])));
    let written = std::fs::read_to_string(copy.join("routes.schema.json")).unwrap();
    assert_eq!(written, stdout(&common::trellis(["schema", "--routes"])));
}

/// A child process killed when dropped, however the test ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_outside_a_site_says_plainly_that_it_serves_the_example() {
    use std::io::BufRead;
    let empty = tempfile::TempDir::new().unwrap();
    let here = real(empty.path());
    let mut child = Killed(
        common::command(empty.path())
            .args(["serve", "--port", "0", "--no-reload"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("trellis starts"),
    );
    let out = child.0.stdout.take().unwrap();
    let lines: Vec<String> = std::io::BufReader::new(out)
        .lines()
        .take(5)
        .map(|l| l.expect("a line of stdout"))
        .collect();
    let banner = lines[0].split(" at http://").next().unwrap();
    assert_eq!(
        banner,
        format!(
            "Trellis {}: serving the example site built into trellis (6 routes)",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        lines[1..],
        [
            format!("This is the example site built into trellis: {here} has no site.yaml."),
            "Serve your own site with `trellis serve SITE`, or make one with `trellis new NAME`."
                .to_string(),
            "A page that fails shows its error in the browser (--no-debug to turn off)."
                .to_string(),
            "Quit with Ctrl-C.".to_string(),
        ]
    );
    drop(child);
}

#[test]
fn a_site_yaml_that_is_a_folder_is_named_as_one() {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::create_dir(dir.path().join("site.yaml")).unwrap();
    // Inside the folder: not "no site.yaml", and serve does not fall back to the example.
    for args in [&["check"][..], &["serve", "--addr", "127.0.0.1:0"][..]] {
        let out = trellis_in(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("site.yaml: this is a folder, not a file"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("os error"), "{args:?}: {err}");
        assert!(!stdout(&out).contains("example site"), "{args:?}");
    }
    // Named from outside.
    let out = common::trellis(["check".as_ref(), dir.path().as_os_str()]);
    let err = stderr(&out);
    assert!(err.contains("this is a folder, not a file"), "{err}");
}

/// `trellis routes` showed neither who may see a route nor a form's or sign-in page's own
/// template, and called a CSV export "(json)".
#[test]
fn routes_shows_login_and_staff_required_and_a_form_routes_own_template() {
    let dir = common::write_files(&[
        (
            "site.yaml",
            "site: { database: db.sqlite3 }
admin: manage/
models:
  Note: { fields: { title: { type: string } } }
routes:
  - { path: '', name: home, view: template, template: home.hbs }
  - { path: login/, name: login, view: login, template: signin.hbs, success: home }
  - { path: logout/, name: logout, view: logout, success: home }
  - { path: write/, name: write, view: create, model: Note, template: note_form.hbs, success: home, login_required: true }
  - { path: 'edit/<int:pk>/', name: edit, view: update, model: Note, success: home, staff_required: true }
  - { path: notes.csv, name: notes-csv, view: list, model: Note, format: csv, staff_required: true }
  - { path: notes.json, name: notes-json, view: list, model: Note, format: json }
",
        ),
        ("templates/home.hbs", "home"),
        ("templates/signin.hbs", "<form method=post>{{csrf_input}}</form>"),
        ("templates/note_form.hbs", "<form method=post>{{csrf_input}}</form>"),
    ]);
    let out = common::trellis(["routes".as_ref(), dir.path.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text.lines().map(cells).collect();
    for expected in [
        &["/", "home", "template", "home"][..],
        &["/login/", "login", "login", "sign-in form -> signin"][..],
        &["/logout/", "logout", "logout", "sign-out"][..],
        &[
            "/write/",
            "write",
            "create",
            "create Note (form) -> note_form [login_required]",
        ][..],
        &[
            "/edit/<int:pk>/",
            "edit",
            "update",
            "update Note (form) [staff_required]",
        ][..],
        &[
            "/notes.csv",
            "notes-csv",
            "list",
            "Note (csv) [staff_required]",
        ][..],
        &["/notes.json", "notes-json", "list", "Note (json)"][..],
        &[
            "/manage/note/add/",
            "admin:note-add",
            "create",
            "create Note (form) -> admin/form [staff_required]",
        ][..],
        &[
            "/manage/login/",
            "admin:login",
            "login",
            "sign-in form -> admin/login",
        ][..],
    ] {
        assert!(
            rows.iter().any(|r| r == expected),
            "no row {expected:?} in\n{text}"
        );
    }
}
