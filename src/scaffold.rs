//! `trellis new NAME`: a small working site — a layout, a home page, a 404 page, a model with a
//! list and a detail page, a fixture — that `trellis serve NAME` runs at once, and that shows
//! the shape of everything a site can hold.

use std::path::Path;

const SITE_YAML: &str = r#"# yaml-language-server: $schema=site.schema.json
#
# This file declares the whole site: settings, models (tables in SQLite) and routes.
# Save it while `trellis serve` runs and the site reloads; `trellis check` explains mistakes.
site:
  name: {{NAME}}
  database: site.sqlite3          # created on first run, next to this file
  fixtures: [data/notes.yaml]     # loaded while the tables are empty

models:
  Note:
    fields:
      title: { type: string, max_length: 200 }
      slug: { type: slug, unique: true }
      body: { type: text, format: markdown }
      created_at: { type: datetime, auto_now_add: true }
    ordering: [-created_at]

routes:
  - { path: "", name: home, view: template, template: home.hbs }
  - path: "notes/"
    name: note-list
    view: list
    model: Note
    paginate_by: 10
    search: { param: q, fields: [title, body] }
    template: notes/list.hbs
  - { path: "notes/<slug:slug>/", name: note-detail, view: detail, model: Note, lookup: slug, template: notes/detail.hbs }
  - { path: "api/notes/", name: note-api, view: list, model: Note, paginate_by: 20, format: json }

errors:
  404: 404.hbs

# Sign-in: put these two routes at the end of `routes:` (without the `#`), add a user with
# `trellis user add USERNAME`, and give the routes only signed-in users may open
# `login_required: true`.
#   - { path: "login/", name: login, view: login }
#   - { path: "logout/", name: logout, view: logout }

# An admin of every model, at /admin/ (see `admin:` in the book):
# admin: admin/
"#;

const BASE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{#if page_title}}{{page_title}} · {{/if}}{{site.name}}</title>
  <link rel="stylesheet" href="{{static "site.css"}}">
</head>
<body>
  <nav><a href="{{url "home"}}">{{site.name}}</a> <a href="{{url "note-list"}}">Notes</a></nav>
  <main>
    {{> @partial-block}}
  </main>
</body>
</html>
"#;

const HOME: &str = r#"{{#> layouts/base page_title="Home"}}
<h1>Welcome to {{site.name}}</h1>
<p>This page is <code>templates/home.hbs</code>. Edit it, save, and reload the page.</p>
<p>See the <a href="{{url "note-list"}}">notes</a>, which live in the database
   (<code>models:</code> in <code>site.yaml</code>, rows from <code>data/notes.yaml</code>),
   or the same as <a href="{{url "note-api"}}">JSON</a>.</p>
{{/layouts/base}}
"#;

const LIST: &str = r#"{{#> layouts/base page_title="Notes"}}
<h1>Notes</h1>
<form action="{{url "note-list"}}"><input name="q" value="{{query.q}}" placeholder="Search"> <button>Search</button></form>
{{#each objects}}
<article>
  <h2><a href="{{url "note-detail" slug=slug}}">{{this.title}}</a></h2>
  <p><small>{{date created_at "%B %-d, %Y"}}</small></p>
</article>
{{else}}
<p>No notes{{#if query.q}} match “{{query.q}}”{{/if}}.</p>
{{/each}}
{{#if page.has_other_pages}}
<nav>
  {{#if page.has_previous}}<a href="{{page.previous_url}}">Previous</a>{{/if}}
  Page {{page.number}} of {{page.num_pages}}
  {{#if page.has_next}}<a href="{{page.next_url}}">Next</a>{{/if}}
</nav>
{{/if}}
{{/layouts/base}}
"#;

const DETAIL: &str = r#"{{#> layouts/base page_title=object.title}}
<article>
  <h1>{{object.title}}</h1>
  <p><small>{{date object.created_at "%B %-d, %Y"}}</small></p>
  {{{object.body_html}}}
</article>
<p><a href="{{url "note-list"}}">All notes</a></p>
{{/layouts/base}}
"#;

const NOT_FOUND: &str = r#"{{#> layouts/base page_title="Not found"}}
<h1>Page not found</h1>
<p>Nothing lives at <code>{{request.path}}</code>. Try the <a href="{{url "home"}}">home page</a>.</p>
{{/layouts/base}}
"#;

const CSS: &str = "body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }\nnav a { margin-right: 1rem; }\n";

const NOTES: &str = r#"# Fixture rows: loaded into the empty database on first run; `trellis load SITE FILE` loads more.
- model: Note
  pk: 1
  fields:
    title: Hello
    slug: hello
    body: |
      This note comes from `data/notes.yaml`. Its body is **Markdown**.
    created_at: "2026-01-01T09:00:00"
- model: Note
  pk: 2
  fields:
    title: Edit and see
    slug: edit-and-see
    body: |
      Change a template or `site.yaml` while `trellis serve` runs: the site reloads on save.
      A mistake is printed with its file, line and column, and the last good version keeps serving.
    created_at: "2026-01-02T09:00:00"
"#;

const GITIGNORE: &str = "*.sqlite3\n*.sqlite3-*\n.trellis-secret-key\n";

/// Write a new site into `dir`, which must not exist or be empty.
pub fn create(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(format!(
                "{} exists and is not empty; choose a new name",
                dir.display()
            ));
        }
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .ok_or_else(|| format!("{} is not a folder name", dir.display()))?;
    let title = name.replace(['"', '\\', '\n'], " ");
    let files: &[(&str, String)] = &[
        (
            "site.yaml",
            SITE_YAML.replace("{{NAME}}", &format!("\"{title}\"")),
        ),
        ("site.schema.json", crate::config::raw::site_schema()),
        ("templates/layouts/base.hbs", BASE.into()),
        ("templates/home.hbs", HOME.into()),
        ("templates/notes/list.hbs", LIST.into()),
        ("templates/notes/detail.hbs", DETAIL.into()),
        ("templates/404.hbs", NOT_FOUND.into()),
        ("static/site.css", CSS.into()),
        ("data/notes.yaml", NOTES.into()),
        (".gitignore", GITIGNORE.into()),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
