//! The committed JSON Schemas are what `trellis schema` prints, and every example site (and
//! every test site) validates against them. Regenerate with `UPDATE_SCHEMAS=1 cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn trellis_schema(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("schema")
        .args(args)
        .output()
        .expect("trellis runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_schemas_match_what_trellis_prints() {
    for (file, args) in [
        ("schemas/site.schema.json", &[][..]),
        ("schemas/routes.schema.json", &["--routes"][..]),
    ] {
        let path = root().join(file);
        let printed = trellis_schema(args);
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &printed).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == printed,
            "{file} is stale: run `UPDATE_SCHEMAS=1 cargo test --test it schema` and commit it"
        );
    }
}

/// YAML to JSON, with mapping keys as strings (YAML's `404:` is a number).
fn to_json(v: serde_yaml::Value) -> serde_json::Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => b.into(),
        Y::Number(n) => serde_json::to_value(n).unwrap(),
        Y::String(s) => s.into(),
        Y::Sequence(items) => items.into_iter().map(to_json).collect(),
        Y::Mapping(m) => m
            .into_iter()
            .map(|(k, v)| {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other).unwrap().trim().to_string(),
                };
                (key, to_json(v))
            })
            .collect(),
        Y::Tagged(t) => to_json(t.value),
    }
}

fn validator(file: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is valid JSON Schema")
}

fn site_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for parent in ["sites", "tests/sites"] {
        let Ok(entries) = std::fs::read_dir(root().join(parent)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().join("site.yaml").is_file() {
                dirs.push(e.path());
            }
        }
    }
    dirs.sort();
    dirs
}

fn check_file(v: &jsonschema::Validator, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{} should start with the yaml-language-server schema comment",
        path.display()
    );
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let json = to_json(yaml);
    let errors: Vec<String> = v
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
}

#[test]
fn every_site_validates_against_the_schema() {
    let site = validator("schemas/site.schema.json");
    let routes = validator("schemas/routes.schema.json");
    let dirs = site_dirs();
    assert!(dirs.iter().any(|d| d.ends_with("sites/greetings")));
    for dir in dirs {
        check_file(&site, &dir.join("site.yaml"));
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let is_yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
            if is_yaml && !p.ends_with("site.yaml") {
                check_file(&routes, &p);
            }
        }
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let site = validator("schemas/site.schema.json");
    let bad = [
        // an unknown key
        "routes: [{ path: a/, view: template, tempalte: a.hbs }]",
        // a key that does not apply to the view
        "routes: [{ path: a/, view: template, template: a.hbs, to: home }]",
        // a redirect with no target
        "routes: [{ path: a/, view: redirect }]",
        // a converter with neither regex nor values
        "converters: { year: { type: int } }",
        // yes is a string in YAML 1.2, not a boolean
        "site: { append_slash: yes }",
        // an error page for a status Trellis does not render
        "errors: { 401: x.hbs }",
    ];
    for text in bad {
        let json = to_json(serde_yaml::from_str(text).unwrap());
        assert!(!site.is_valid(&json), "the schema accepted: {text}");
    }
    let good = "routes: [{ path: a/, view: redirect, to: home, permanent: true }]";
    assert!(site.is_valid(&to_json(serde_yaml::from_str(good).unwrap())));
}
