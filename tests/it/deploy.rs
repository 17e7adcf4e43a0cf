//! `trellis check --deploy` through the CLI: each warning a production site should not have,
//! with its id and hint; none for a site that has what it needs; exit 0 with warnings unless
//! `--deny-warnings`.

use std::process::Output;

use crate::common::{trellis, write_files};

fn check(files: &[(&str, &str)], flags: &[&str]) -> (Output, String) {
    let dir = write_files(files);
    let mut args = vec!["check".to_string(), dir.path.display().to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    let out = trellis(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, err)
}

/// The ids of the warnings printed, in order.
fn ids(err: &str) -> Vec<&str> {
    err.lines()
        .filter_map(|l| l.strip_prefix("warning[")?.split(']').next())
        .collect()
}

const ROUTE: &str = "routes:\n  - { path: \"\", view: response, body: hi }\n";

#[test]
fn a_bare_site_is_warned_about_hosts_https_and_its_policy_and_still_exits_0() {
    let (out, err) = check(&[("site.yaml", ROUTE)], &["--deploy"]);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        ids(&err),
        ["security.W001", "security.W003", "security.W005"],
        "{err}"
    );
    assert!(err.contains("`site.allowed_hosts` is not set"), "{err}");
    assert!(
        err.contains("  = help: list the names the site is served under"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 deployment warnings"), "{stdout}");

    // Without --deploy, the same site is simply ok.
    let (out, err) = check(&[("site.yaml", ROUTE)], &[]);
    assert!(out.status.success(), "{err}");
    assert!(ids(&err).is_empty(), "{err}");

    // --deny-warnings turns them into a failure, for CI.
    let (out, err) = check(&[("site.yaml", ROUTE)], &["--deploy", "--deny-warnings"]);
    assert!(!out.status.success(), "{err}");
    assert_eq!(ids(&err).len(), 3, "{err}");
}

#[test]
fn a_site_with_what_production_needs_has_no_warning() {
    let site = format!(
        "site:\n  allowed_hosts: [example.org]\n  base_url: https://example.org\n  database: site.sqlite3\n  security:\n    hsts: {{ max_age: 31536000 }}\n    content_security_policy: \"default-src 'self'\"\n  proxy:\n    scheme_header: {{ name: X-Forwarded-Proto }}\n{ROUTE}"
    );
    let (out, err) = check(
        &[
            ("site.yaml", &site),
            ("static/site.css", "a {}"),
            ("static/.hidden.key", "never served"),
        ],
        &["--deploy", "--deny-warnings"],
    );
    assert!(out.status.success(), "{err}");
    assert!(ids(&err).is_empty(), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no deployment warnings"), "{stdout}");
}

#[test]
fn each_finding_has_its_warning() {
    let secure = "  security:\n    hsts: { max_age: 31536000 }\n    content_security_policy: \"default-src 'self'\"\n  proxy: { scheme_header: { name: X-Forwarded-Proto } }\n";
    for (site, files, id, says) in [
        (
            "site:\n  allowed_hosts: [\"*\"]\n",
            vec![],
            "security.W002",
            "`site.allowed_hosts` contains `*`",
        ),
        (
            "site:\n  allowed_hosts: [example.org]\n  base_url: http://example.org\n",
            vec![],
            "security.W004",
            "`site.base_url` is \"http://example.org\"",
        ),
        (
            "site:\n  allowed_hosts: [example.org]\n  security:\n    hsts: { max_age: 600 }\n    content_security_policy: \"img-src *\"\n    frame_options: \"off\"\n  proxy: { scheme_header: { name: X-Forwarded-Proto } }\n",
            vec![],
            "security.W006",
            "any site can show these pages in a frame",
        ),
        (
            "site:\n  allowed_hosts: [example.org]\n  security:\n    hsts: { max_age: 600 }\n    content_security_policy: \"default-src 'self'\"\n",
            vec![],
            "security.W010",
            "no request is secure and HSTS is never sent",
        ),
        (
            "site:\n  allowed_hosts: [example.org]\n  security:\n    hsts: { max_age: 600 }\n    content_security_policy: \"default-src 'self'\"\n  proxy: { trusted: [\"0.0.0.0/0\"], scheme_header: { name: X-Forwarded-Proto } }\n",
            vec![],
            "security.W011",
            "any client can claim HTTPS",
        ),
        (
            "site:\n  allowed_hosts: [example.org]\n  security:\n    hsts: { max_age: 600 }\n    content_security_policy: \"default-src 'self'\"\n    csrf_trusted_origins: [\"https://admin.example.org\", \"http://*.example.com\"]\n  proxy: { scheme_header: { name: X-Forwarded-Proto } }\n",
            vec![],
            "security.W012",
            "`site.security.csrf_trusted_origins` trusts http://*.example.com: a page served over plain HTTP",
        ),
        (
            "site:\n  allowed_hosts: [example.org]\n",
            vec![
                ("static/backup/blog.sqlite3", "x"),
                ("static/tls/server.key", "x"),
                ("static/site.yaml", "x"),
                ("static/app.css", "x"),
            ],
            "security.W009",
            "3 files that look like a secret, a database or a site source, and anyone can \
             download them: /static/backup/blog.sqlite3, /static/site.yaml, /static/tls/server.key",
        ),
    ] {
        // Every row but the one about headers has HSTS and a policy, to warn of one thing.
        let security = if site.contains("security:") { "" } else { secure };
        let yaml = format!("{site}{security}{ROUTE}");
        let mut all = vec![("site.yaml", yaml.as_str())];
        all.extend(files);
        let (out, err) = check(&all, &["--deploy"]);
        assert!(out.status.success(), "{id}: {err}");
        assert_eq!(ids(&err), [id], "{yaml}\n{err}");
        assert!(err.contains(says), "{id}: {err}");
    }
}
