//! `format: csv` over real HTTP, read back with the `csv` crate's parser: every row of a
//! 12,000-row list (more than a dozen chunks) exactly once and in order, cells with commas,
//! quotes, newlines and non-ASCII text intact, the list's filters, search and ordering
//! honoured across chunks (a nullable key, descending), `fields:` and `exclude:` choosing the
//! columns, the download's headers, and a bad filter answered 400 before anything is streamed.

use std::sync::OnceLock;

use crate::common::{check_prints, write_files, Server, SiteDir};

const SITE: &str = r#"
site:
  database: db.sqlite3
  fixtures: [data/Maker.csv, data/Item.csv]
models:
  Maker:
    fields:
      name: { type: string }
  Item:
    fields:
      name: { type: string }
      note: { type: text }
      category: { type: string, choices: [a, b, c] }
      active: { type: boolean }
      rating: { type: float, "null": true }
      maker: { type: foreign_key, to: Maker, on_delete: cascade }
routes:
  - path: "items.csv"
    name: items-csv
    view: list
    model: Item
    format: csv
    filters: { category: {}, active: {} }
    ordering_fields: [rating, name]
    search: { fields: [name] }
  - { path: "b.csv", view: list, model: Item, format: csv, filename: only-b.csv, where: { category: b } }
  - { path: "picked.csv", view: list, model: Item, format: csv, where: { category: a }, fields: [name, maker__name, pk, maker, rating] }
  - { path: "lean.csv", view: list, model: Item, format: csv, where: { category: c }, exclude: [note, maker, pk] }
"#;

const ROWS: usize = 12_000;

/// A cell with everything CSV must quote, and text beyond ASCII.
const TRICKY: &str = "a, \"quoted\" word\nand a second line; café, 日本語, 😀";

struct Item {
    id: usize,
    name: String,
    note: String,
    category: &'static str,
    active: bool,
    rating: Option<f64>,
    maker: usize,
}

fn items() -> Vec<Item> {
    (1..=ROWS)
        .map(|id| Item {
            id,
            name: format!("item {id:05}"),
            note: if id % 1000 == 7 {
                TRICKY.to_string()
            } else {
                format!("note {id}")
            },
            category: ["a", "b", "c"][id % 3],
            active: id % 2 == 0,
            rating: (id % 7 != 0).then(|| (id % 50) as f64 / 10.0 + 0.5),
            maker: id % 4 + 1,
        })
        .collect()
}

fn site() -> &'static SiteDir {
    static DIR: OnceLock<SiteDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "id", "name", "note", "category", "active", "rating", "maker",
        ])
        .unwrap();
        for i in items() {
            let rating = i.rating.map(|r| r.to_string()).unwrap_or_default();
            w.write_record([
                i.id.to_string(),
                i.name,
                i.note,
                i.category.to_string(),
                i.active.to_string(),
                rating,
                i.maker.to_string(),
            ])
            .unwrap();
        }
        let items = String::from_utf8(w.into_inner().unwrap()).unwrap();
        write_files(&[
            ("site.yaml", SITE),
            (
                "data/Maker.csv",
                "id,name\n1,Acme\n2,\"Bolt, Inc.\"\n3,Çelik\n4,Dyn\n",
            ),
            ("data/Item.csv", &items),
        ])
    })
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(&site().path))
}

/// The export's records, parsed by the `csv` crate, the header first.
fn export(target: &str) -> Vec<Vec<String>> {
    let r = server().get(target);
    assert_eq!(r.status, 200, "{target}: {:?}", r.headers);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(r.body.as_bytes());
    reader
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn ids(records: &[Vec<String>]) -> Vec<usize> {
    records[1..].iter().map(|r| r[0].parse().unwrap()).collect()
}

#[test]
fn a_large_export_has_every_row_once_in_order_with_its_cells_intact() {
    let r = server().get("/items.csv");
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"items-csv.csv\"")
    );
    // Streamed: no length known in advance.
    assert_eq!(r.header("transfer-encoding"), Some("chunked"), "{r:?}");
    assert_eq!(r.header("content-length"), None);
    let records = export("/items.csv");
    assert_eq!(
        records[0],
        ["id", "name", "note", "category", "active", "rating", "maker"]
    );
    assert_eq!(records.len(), ROWS + 1);
    let want = items();
    for (rec, item) in records[1..].iter().zip(&want) {
        let rating = item.rating.map(|r| r.to_string()).unwrap_or_default();
        let expected = [
            item.id.to_string(),
            item.name.clone(),
            item.note.clone(),
            item.category.to_string(),
            item.active.to_string(),
            rating,
            item.maker.to_string(),
        ];
        // A float is written as JSON writes it (`1.0`), which reads back as the same number.
        assert_eq!(rec[..5], expected[..5], "row {}", item.id);
        assert_eq!(
            rec[5].parse::<f64>().ok(),
            item.rating,
            "row {}: {:?}",
            item.id,
            rec[5]
        );
        assert_eq!(rec[6], expected[6], "row {}", item.id);
    }
    let tricky = records.iter().filter(|r| r[2] == TRICKY).count();
    assert_eq!(tricky, ROWS / 1000);
}

#[test]
fn an_export_honours_the_lists_filters_search_and_ordering_across_chunks() {
    // Descending by a column with NULLs: SQLite puts them last, then the key descending.
    let records = export("/items.csv?category=b&active=true&ordering=-rating");
    let mut want: Vec<&Item> = Vec::new();
    let all = items();
    want.extend(all.iter().filter(|i| i.category == "b" && i.active));
    want.sort_by(|x, y| {
        let key = |i: &Item| (i.rating.is_some(), i.rating.unwrap_or(0.0), i.id);
        let (kx, ky) = (key(x), key(y));
        ky.partial_cmp(&kx).unwrap()
    });
    assert!(want.len() > 1000, "more than one chunk: {}", want.len());
    assert_eq!(ids(&records), want.iter().map(|i| i.id).collect::<Vec<_>>());

    // `item 011` is in the names `item 01100` to `item 01199`.
    let searched = export("/items.csv?q=item%20011&ordering=-name");
    let want: Vec<usize> = (1100..1200).rev().collect();
    assert_eq!(ids(&searched), want);

    let only_b = server().get("/b.csv");
    assert_eq!(
        only_b.header("content-disposition"),
        Some("attachment; filename=\"only-b.csv\"")
    );
    let records = export("/b.csv");
    assert_eq!(records.len(), ROWS / 3 + 1);
    assert!(records[1..].iter().all(|r| r[3] == "b"));
}

/// `fields:` limits a CSV export's columns as it limits JSON's keys, in its order; a related
/// row's field (`maker__name`) is its value, `pk` is headed by the key's name. (It was
/// refused at load: the export could only write every column.)
#[test]
fn csv_honours_fields_and_exclude_in_their_order() {
    let makers = ["Acme", "Bolt, Inc.", "Çelik", "Dyn"];
    let records = export("/picked.csv");
    assert_eq!(records[0], ["name", "maker__name", "id", "maker", "rating"]);
    let all = items();
    let want: Vec<&Item> = all.iter().filter(|i| i.category == "a").collect();
    assert!(want.len() > 1000, "more than one chunk: {}", want.len());
    assert_eq!(records.len(), want.len() + 1);
    for (rec, item) in records[1..].iter().zip(&want) {
        assert_eq!(rec.len(), 5, "{rec:?}");
        assert_eq!(rec[0], item.name);
        assert_eq!(rec[1], makers[item.maker - 1]);
        assert_eq!(rec[2], item.id.to_string());
        assert_eq!(rec[3], item.maker.to_string());
        assert_eq!(rec[4].parse::<f64>().ok(), item.rating, "{rec:?}");
    }

    let records = export("/lean.csv");
    assert_eq!(records[0], ["name", "category", "active", "rating"]);
    let want: Vec<&Item> = all.iter().filter(|i| i.category == "c").collect();
    assert_eq!(records.len(), want.len() + 1);
    for (rec, item) in records[1..].iter().zip(&want) {
        assert_eq!(
            rec[..3],
            [item.name.clone(), "c".into(), item.active.to_string()]
        );
    }
}

#[test]
fn csv_fields_name_columns_the_model_has() {
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Maker:\n    fields:\n      name: { type: string }\n  Note:\n    fields:\n      title: { type: string }\n      maker: { type: foreign_key, to: Maker, on_delete: cascade }\nroutes:\n  - { path: \"a.csv\", view: list, model: Note, format: csv, fields: [titel, maker__nom, title__x, title, title, pk, id] }\n  - { path: \"b.csv\", view: list, model: Note, format: csv, exclude: [body] }\n  - { path: \"c.csv\", view: list, model: Note, format: csv, fields: [title], exclude: [maker] }\n",
        &[
            "routes[0].fields[0]: model Note has no field `titel` to write",
            "help: did you mean `title`?",
            "routes[0].fields[1]: model Maker has no field `nom` to write (in `maker__nom`)",
            "routes[0].fields[2]: `title` of Note is not a foreign key, so `title__x` cannot follow it",
            "routes[0].fields[4]: `title` is listed twice",
            "routes[0].fields[6]: `id` writes the column `id` a second time",
            "routes[1].exclude[0]: model Note has no field `body` to write",
            "routes[2].exclude: a route takes `fields` or `exclude`, not both",
        ],
    );
}

#[test]
fn a_bad_filter_is_a_400_before_anything_is_streamed() {
    let r = server().get("/items.csv?active=maybe");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.mime().starts_with("text/html"), "{r:?}");
    // A HEAD has the export's headers and no body.
    let head = server().head("/items.csv");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(head.body, "");
}

#[test]
fn csv_is_for_list_routes_and_takes_no_page_keys() {
    check_prints(
        "site: { database: db.sqlite3 }\nmodels:\n  Note:\n    fields:\n      title: { type: string }\nroutes:\n  - { path: \"n/<int:pk>/\", view: detail, model: Note, format: csv }\n  - { path: \"n.csv\", view: list, model: Note, format: csv, paginate_by: 10, filename: \"my notes.csv\" }\n",
        &[
        "routes[0].format: `format: csv` is for list routes, not view `detail`",
        "routes[1].paginate_by: `paginate_by` does not apply to `format: csv`",
        "help: a CSV export streams every row of the list",
        "routes[1].filename: \"my notes.csv\" is not a file name a download can take",
        ],
    );
}

/// The export is the CSV fixture format: loaded into an empty copy of the site with
/// `trellis load`, it exports again byte for byte.
#[test]
fn an_export_loads_back_with_trellis_load() {
    let exported = server().get("/b.csv").body;
    let site_yaml = SITE.replace(
        "  fixtures: [data/Maker.csv, data/Item.csv]\n",
        "  fixtures: [data/Maker.csv]\n",
    );
    let dir = write_files(&[
        ("site.yaml", &site_yaml),
        (
            "data/Maker.csv",
            "id,name\n1,Acme\n2,\"Bolt, Inc.\"\n3,Çelik\n4,Dyn\n",
        ),
        ("Item.csv", &exported),
    ]);
    let out = crate::common::trellis([
        "load".as_ref(),
        dir.path.as_os_str(),
        dir.path.join("Item.csv").as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = Server::start(&dir.path).get("/b.csv");
    assert_eq!(again.status, 200);
    assert!(again.body == exported, "the second export differs");
}

/// A many_to_many field is a column of its targets' keys separated by `;` (the CSV fixture
/// format), after the model's fields; `fields:` may name it, or leave it out, and `exclude:`
/// may leave it out. In process: a few rows, one chunk.
#[test]
fn a_many_to_many_column_is_its_targets_keys_and_fields_choose_it() {
    let dir = write_files(&[
        (
            "site.yaml",
            r#"site: { database: db.sqlite3, fixtures: [rows.yaml] }
models:
  Tag: { fields: { name: { type: string } } }
  Note:
    fields:
      title: { type: string }
      tags: { type: many_to_many, to: Tag }
routes:
  - { path: "all.csv", view: list, model: Note, format: csv, ordering: [id] }
  - { path: "tags.csv", view: list, model: Note, format: csv, ordering: [id], fields: [tags, title] }
  - { path: "titles.csv", view: list, model: Note, format: csv, ordering: [id], fields: [title] }
  - { path: "no-tags.csv", view: list, model: Note, format: csv, ordering: [id], exclude: [tags] }
"#,
        ),
        (
            "rows.yaml",
            "- { model: Tag, pk: 1, fields: { name: a } }\n\
             - { model: Tag, pk: 2, fields: { name: b } }\n\
             - { model: Note, pk: 1, fields: { title: one, tags: [1, 2] } }\n\
             - { model: Note, pk: 2, fields: { title: two, tags: [] } }\n\
             - { model: Note, pk: 3, fields: { title: three, tags: [2] } }\n",
        ),
    ]);
    let local = crate::common::Local::load(&dir.path);
    for (url, want) in [
        (
            "/all.csv",
            "id,title,tags\r\n1,one,1;2\r\n2,two,\r\n3,three,2\r\n",
        ),
        ("/tags.csv", "tags,title\r\n1;2,one\r\n,two\r\n2,three\r\n"),
        ("/titles.csv", "title\r\none\r\ntwo\r\nthree\r\n"),
        ("/no-tags.csv", "id,title\r\n1,one\r\n2,two\r\n3,three\r\n"),
    ] {
        let r = local.get(url);
        assert_eq!((r.status, r.body.as_str()), (200, want), "{url}");
    }
}
