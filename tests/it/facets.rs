//! `facets:` of a list route: each declared field's values counted over the list as the
//! request filters and searches it — checked against the rows of the same list, counted here
//! — with the target's label for a foreign key or many_to_many field, and links that add the
//! filter (and remove it), which lead to lists holding exactly that many rows.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::{check_prints, write_files, Local, SiteDir};

const SITE: &str = r#"
site:
  database: db.sqlite3
  fixtures: [data/rows.yaml]
models:
  Maker:
    fields:
      name: { type: string }
  Tag:
    fields:
      title: { type: string }
  Item:
    fields:
      name: { type: string }
      category: { type: string, choices: [a, b, c] }
      active: { type: boolean }
      maker: { type: foreign_key, to: Maker, on_delete: cascade, "null": true }
      tags: { type: many_to_many, to: Tag }
routes:
  - path: "api/items/"
    view: list
    model: Item
    format: json
    search: { fields: [name] }
    filters: { kind: { field: category } }
    facets: [category, active, maker, tags]
  - path: "items/"
    view: list
    model: Item
    template: items.hbs
    paginate_by: 5
    facets: [maker]
"#;

const TEMPLATE: &str = "{{#each facets}}<h2>{{field}}</h2>{{#each values}}<a href=\"{{toggle_url}}\">{{label}}</a> {{count}}{{#if selected}} (chosen){{/if}}\n{{/each}}{{/each}}";

const ROWS: usize = 60;

fn site() -> &'static Local {
    static DIR: OnceLock<SiteDir> = OnceLock::new();
    static LOCAL: OnceLock<Local> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let mut rows = String::new();
        let makers = ["Acme", "Bolt & <Sons>", "Çelik"];
        for (i, name) in makers.iter().enumerate() {
            rows.push_str(&format!(
                "- {{model: Maker, pk: {}, fields: {{name: {name:?}}}}}\n",
                i + 1
            ));
        }
        for (i, title) in ["red", "green", "blue"].iter().enumerate() {
            rows.push_str(&format!(
                "- {{model: Tag, pk: {}, fields: {{title: {title}}}}}\n",
                i + 1
            ));
        }
        for id in 1..=ROWS {
            let maker = match id % 4 {
                0 => "null".to_string(),
                m => m.to_string(),
            };
            let tags: Vec<String> = (1..=3)
                .filter(|t| id % (t + 1) == 0)
                .map(|t| t.to_string())
                .collect();
            rows.push_str(&format!(
                "- {{model: Item, pk: {id}, fields: {{name: item {id}, category: {}, active: {}, maker: {maker}, tags: [{}]}}}}\n",
                ["a", "b", "c"][id % 3],
                id % 5 != 0,
                tags.join(", ")
            ));
        }
        let dir = DIR.get_or_init(|| {
            write_files(&[
                ("site.yaml", SITE),
                ("data/rows.yaml", &rows),
                ("templates/items.hbs", TEMPLATE),
            ])
        });
        Local::load(&dir.path)
    })
}

fn json(target: &str) -> Value {
    let r = site().get(target);
    assert_eq!(r.status, 200, "{target}: {r:?}");
    serde_json::from_str(&r.body).unwrap()
}

/// A facet's values: label → (value, count).
fn facet(body: &Value, field: &str) -> BTreeMap<String, (Value, i64)> {
    let f = body["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field)
        .unwrap_or_else(|| panic!("no facet {field}: {body}"));
    f["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let label = v["label"].as_str().unwrap_or("(none)").to_string();
            (label, (v["value"].clone(), v["count"].as_i64().unwrap()))
        })
        .collect()
}

/// The same counts, taken from the list's own rows.
fn counted(rows: &[Value], field: &str) -> BTreeMap<String, (Value, i64)> {
    let mut out: BTreeMap<String, (Value, i64)> = BTreeMap::new();
    let mut add = |label: String, value: Value| out.entry(label).or_insert((value, 0)).1 += 1;
    for row in rows {
        match field {
            "maker" => match &row["maker"] {
                Value::Null => add("(none)".into(), Value::Null),
                m => add(m["name"].as_str().unwrap().into(), m["id"].clone()),
            },
            "tags" => {
                for t in row["tags"].as_array().unwrap() {
                    add(t["title"].as_str().unwrap().into(), t["id"].clone());
                }
            }
            _ => {
                let v = row[field].clone();
                let label = match &v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                add(label, v);
            }
        }
    }
    out
}

#[test]
fn facet_counts_are_those_of_the_filtered_list() {
    for target in [
        "/api/items/",
        "/api/items/?kind=b",
        "/api/items/?q=item%201",
        "/api/items/?active=false",
        "/api/items/?maker=2&tags=1",
        "/api/items/?kind=c&q=5",
    ] {
        let body = json(target);
        let rows = body["results"].as_array().unwrap();
        assert!(!rows.is_empty(), "{target}");
        for field in ["category", "active", "maker", "tags"] {
            assert_eq!(
                facet(&body, field),
                counted(rows, field),
                "{target}: {field}"
            );
        }
    }
    // A request's value is only ever a bound value: text that would be SQL matches nothing.
    let sly = json("/api/items/?kind=b%27%20OR%201%3D1--");
    assert_eq!(sly["results"], serde_json::json!([]));
    assert!(facet(&sly, "category").is_empty(), "{sly}");
    assert_eq!(site().get("/api/items/?maker=1%20OR%201=1").status, 400);
    // Types as JSON has them: a boolean is `true`, a key a number.
    let all = facet(&json("/api/items/"), "active");
    assert_eq!(all["true"], (Value::Bool(true), 48));
    assert_eq!(all["false"], (Value::Bool(false), 12));
    let makers = facet(&json("/api/items/"), "maker");
    assert_eq!(makers["Acme"], (Value::from(1), 15));
    assert_eq!(makers["(none)"], (Value::Null, 15));
}

#[test]
fn a_facets_links_add_its_filter_and_the_chosen_value_removes_it() {
    let body = json("/api/items/?q=item");
    for f in body["facets"].as_array().unwrap() {
        let param = f["param"].as_str().unwrap();
        for v in f["values"].as_array().unwrap() {
            let Some(url) = v["toggle_url"].as_str() else {
                assert!(v["value"].is_null(), "{v}");
                continue;
            };
            assert!(url.starts_with("/api/items/?q=item&"), "{url}");
            let filtered = json(url);
            assert_eq!(
                filtered["results"].as_array().unwrap().len() as i64,
                v["count"].as_i64().unwrap(),
                "{url}"
            );
            // There, the value is chosen, and its link goes back.
            let chosen = filtered["facets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["param"] == param)
                .unwrap()["values"]
                .as_array()
                .unwrap()
                .iter()
                .find(|w| w["value"] == v["value"])
                .unwrap()
                .clone();
            assert_eq!(chosen["selected"], true, "{url}: {chosen}");
            assert_eq!(chosen["toggle_url"], "/api/items/?q=item", "{url}");
        }
    }
    assert_eq!(
        facet(&json("/api/items/?kind=a"), "category")
            .keys()
            .collect::<Vec<_>>(),
        ["a"]
    );
}

#[test]
fn a_template_shows_facets_escaped_and_their_links_drop_the_page() {
    let r = site().get("/items/?page=2");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body
            .contains("<a href=\"/items/?maker&#x3D;2\">Bolt &amp; &lt;Sons&gt;</a> 15\n"),
        "{}",
        r.body
    );
    let chosen = site().get("/items/?maker=3");
    assert!(
        chosen
            .body
            .contains("<a href=\"/items/\">Çelik</a> 15 (chosen)"),
        "{}",
        chosen.body
    );
    // A value that is not the field's is a 400, as for any filter.
    assert_eq!(site().get("/items/?maker=x").status, 400);
}

#[test]
fn a_facet_names_a_field_that_can_have_one() {
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Note:\n    fields:\n      title: { type: string }\n      body: { type: text }\nroutes:\n  - { path: \"n/\", view: list, model: Note, format: json, facets: [titel, body], filters: { title: { lookup: icontains } } }\n  - { path: \"m/\", view: list, model: Note, format: json, facets: [title], filters: { title: { field: body } } }\n",
        &[
        "routes[0].facets[0]: model Note has no field `titel` (did you mean `title`?",
        "routes[0].facets[1]: `body` of Note cannot be a facet: each row has its own value",
        "routes[1].facets[0]: the filter `title` filters by something else than the field `title`",
        ],
    );
}
