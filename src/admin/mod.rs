//! `admin:` — the generated admin (Django's admin site), read side: one line in `site.yaml`
//! mounts, at a path of the site's choosing, an index of the managed models with their row
//! counts and, per model, a list of its rows (search, ordering by column, filters with counts,
//! pagination) and a page per row.
//!
//! The admin is routes, not a second web stack: [`routes`] expands `admin:` into
//! `views::RouteDef`s placed before the site's own routes — the index (`admin:index`, the one
//! view kind of its own, [`IndexView`]), then per model a `view: list` (`admin:<model>-list`)
//! and a `view: detail` (`admin:<model>-change`, where the edit form will be) — each rendering
//! a built-in template (`templates.rs`) that a site overrides with a file of the same name.
//! Search, ordering, filters and pages are the list view's own machinery.

pub mod filters;
pub mod history;
pub mod raw_id;
pub mod templates;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::config::diagnostic::suggestion;
use crate::config::raw::{AdminForm, FieldType, RawAdmin, RawAdminFull, RawRoute, ViewKind};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::query::Query;
use crate::db::{Field, Model, Models};
use crate::routing::{Converter, Part, Pattern};
use crate::views::form::label;
use crate::views::{label_field, Call, Ctx, Response, RouteDef, ViewError};

/// Rows per page of a model's list, unless `admin.paginate_by` says otherwise (Django's
/// `list_per_page` is 100; 50 keeps a phone's page short).
const PER_PAGE: u32 = 50;

/// The columns of a list when `list_display` does not name them.
const DEFAULT_COLUMNS: usize = 5;

/// The namespace of the admin's route names.
pub const NAMESPACE: &str = "admin";

/// Whether a route's name is in the admin's namespace (`admin:…`): one of the admin's routes.
pub fn owns(route_name: &str) -> bool {
    route_name
        .split_once(':')
        .is_some_and(|(ns, _)| ns == NAMESPACE)
}

/// The admin's sign-in route's name (`login` in [`NAMESPACE`]).
pub const LOGIN: &str = "admin:login";

/// `Post` → `post`: a model's part of the admin's paths and route names, as Django's
/// `model_name`.
pub fn slug(model: &str) -> String {
    model.to_lowercase()
}

/// The admin's routes, in the order they are tried: the index, then per model its list and
/// its row page. Mistakes in `admin:` are placed at its keys; none leaves no route.
pub fn routes(
    raw: &RawAdmin,
    models: &Models,
    source: &Arc<Source>,
    convs: &HashMap<String, Arc<Converter>>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<RouteDef> {
    let before = errors.len();
    let (full, path_at) = match raw {
        RawAdmin::Path(p) => (
            RawAdminFull {
                path: Some(p.clone()),
                ..RawAdminFull::default()
            },
            "admin",
        ),
        RawAdmin::Full(f) => (f.clone(), "admin.path"),
    };
    let path = full.path.clone().unwrap_or_else(|| "admin/".into());
    check_path(&path, source, path_at, convs, errors);
    let chosen = chosen_models(&full, models, source, errors);
    slug_clashes(&chosen, &path, source, errors);
    let columns = list_columns(&full, &chosen, models, source, errors);
    if full.paginate_by == Some(0) {
        errors.push(source.diag("admin.paginate_by", "paginate_by must be at least 1"));
    }
    if errors.len() > before {
        return Vec::new();
    }
    let per_page = full.paginate_by.unwrap_or(PER_PAGE);
    let mut specs = vec![
        (
            path.clone(),
            "index".to_string(),
            ViewKind::AdminIndex,
            index_raw(&chosen, models),
        ),
        (
            format!("{path}login/"),
            "login".to_string(),
            ViewKind::Login,
            login_raw(source),
        ),
        (
            format!("{path}logout/"),
            "logout".to_string(),
            ViewKind::Logout,
            json!({"view": "logout", "success": LOGIN}),
        ),
    ];
    for (model, cols) in chosen.iter().zip(columns) {
        let model = &models[model.as_str()];
        let s = slug(&model.name);
        specs.push((
            format!("{path}{s}/"),
            format!("{s}-list"),
            ViewKind::List,
            list_raw(model, &cols, models, per_page),
        ));
        let conv = if model.pk_field().ty == FieldType::Integer {
            "int"
        } else {
            "path"
        };
        let change = format!("{path}{s}/<{conv}:pk>/change/");
        let (h_path, h_name, h_raw) = history::route(&path, model, conv, common(model));
        specs.push((h_path, h_name, ViewKind::AdminHistory, h_raw));
        if model.from_files {
            // Rows that come from files are shown, never written.
            let raw = change_raw(model, models);
            specs.push((change, format!("{s}-change"), ViewKind::Detail, raw));
            continue;
        }
        let form = |view: &str, template: &str, success: String| {
            json!({
                "view": view,
                "model": model.name,
                "template": template,
                "success": success,
                "context": {"admin": common(model)},
                "history": true,
            })
        };
        // "Save" goes back to the list, as Django's admin does ("Save and continue editing"
        // and "Save and add another" are `FormView::saved`'s `admin_form` links).
        let list_route = format!("{NAMESPACE}:{s}-list");
        specs.extend([
            (
                format!("{path}{s}/add/"),
                format!("{s}-add"),
                ViewKind::Create,
                form("create", templates::FORM, list_route.clone()),
            ),
            (
                change,
                format!("{s}-change"),
                ViewKind::Update,
                form("update", templates::FORM, list_route.clone()),
            ),
            (
                format!("{path}{s}/<{conv}:pk>/delete/"),
                format!("{s}-delete"),
                ViewKind::Delete,
                form("delete", templates::DELETE, list_route),
            ),
        ]);
    }
    let origin = source.diag("admin", "").headline();
    let origin = origin.trim_end_matches(": ").to_string();
    specs
        .into_iter()
        .filter_map(|(path, name, view, mut raw)| {
            let pattern = Pattern::parse_path(&path, convs).ok()?;
            // Only signed-in staff reach the admin; its sign-in and sign-out are for anyone.
            if !matches!(view, ViewKind::Login | ViewKind::Logout) {
                raw["staff_required"] = true.into();
            }
            let mut raw: RawRoute = serde_json::from_value(raw)
                .map_err(|e| errors.push(source.diag("admin", format!("the admin's {name}: {e}"))))
                .ok()?;
            raw.view = view;
            raw.admin_list = view == ViewKind::List;
            if matches!(view, ViewKind::Create | ViewKind::Update | ViewKind::Delete) {
                let s = name.rsplit_once('-').map_or(name.as_str(), |(s, _)| s);
                raw.admin_form = Some(AdminForm {
                    add: format!("{NAMESPACE}:{s}-add"),
                    change: format!("{NAMESPACE}:{s}-change"),
                });
            }
            Some(RouteDef {
                raw,
                source: source.clone(),
                at: "admin".into(),
                pattern,
                name: Some(format!("{NAMESPACE}:{name}")),
                origin: format!("{origin} ({NAMESPACE}:{name})"),
                page_route: false,
            })
        })
        .collect()
}

/// The mount path: written without the leading slash, ending with `/`, with no captures.
fn check_path(
    path: &str,
    source: &Source,
    at: &str,
    convs: &HashMap<String, Arc<Converter>>,
    errors: &mut Vec<Diagnostic>,
) {
    let hint = Some("admin: admin/".to_string());
    let why = if path.is_empty() {
        Some("the admin needs a path of its own: it cannot be mounted at the site's root")
    } else if path.starts_with('/') {
        Some("the admin's path is written without the leading slash")
    } else if !path.ends_with('/') {
        Some("the admin's path ends with `/`")
    } else {
        match Pattern::parse_path(path, convs) {
            Err(e) => {
                errors.push(source.diag(at, e.message));
                return;
            }
            Ok(p) if !p.param_names().is_empty() => {
                Some("the admin's path cannot capture anything: write it as plain text")
            }
            Ok(_) => None,
        }
    };
    if let Some(why) = why {
        errors.push(source.diag(at, why).with_hint(hint));
    }
}

/// `models:`, each checked (default: every model, in the order declared).
fn chosen_models(
    full: &RawAdminFull,
    models: &Models,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(names) = &full.models else {
        if models.is_empty() {
            errors.push(
                source
                    .diag(
                        "admin",
                        "the admin has no model to manage: the site declares none",
                    )
                    .with_hint(Some("declare the site's tables under `models:`".into())),
            );
        }
        return models.keys().cloned().collect();
    };
    let mut chosen: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let at = format!("admin.models[{i}]");
        if !models.contains_key(name) {
            errors.push(
                source
                    .diag(&at, format!("no model `{name}`"))
                    .with_hint(suggestion(name, models.keys().map(String::as_str))),
            );
        } else if chosen.contains(name) {
            errors.push(source.diag(&at, format!("`{name}` is listed twice")));
        } else {
            chosen.push(name.clone());
        }
    }
    chosen
}

/// A model whose admin list another page would hide: `Login` and `Logout` would have theirs at
/// the sign-in and sign-out pages' paths (which come first), and two names that differ only
/// in case would share one path.
fn slug_clashes(chosen: &[String], path: &str, source: &Source, errors: &mut Vec<Diagnostic>) {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for name in chosen {
        let s = slug(name);
        let taken_by = match s.as_str() {
            "login" => Some("the admin's sign-in page".to_string()),
            "logout" => Some("the admin's sign-out page".to_string()),
            _ => seen
                .iter()
                .find(|(other, _)| *other == s)
                .map(|(_, other)| format!("`{other}`'s list")),
        };
        if let Some(taken_by) = taken_by {
            errors.push(
                source
                    .diag(
                        &format!("models.{name}"),
                        format!("the admin would put `{name}`'s list at `{path}{s}/`, which is {taken_by}"),
                    )
                    .with_hint(Some(
                        "rename the model, or leave it out of `admin: { models: [...] }`".into(),
                    )),
            );
        }
        seen.push((s, name));
    }
}

/// A model's first two fields after the key, for a hint: `title, author`.
fn some_columns(model: &Model) -> String {
    let rest = model
        .fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != model.pk);
    let names: Vec<&str> = rest.take(2).map(|(_, f)| f.name.as_str()).collect();
    names.join(", ")
}

/// The columns of each chosen model's list: `list_display`, checked, or its first fields
/// after the key (a many_to_many field has no column to show).
fn list_columns(
    full: &RawAdminFull,
    chosen: &[String],
    models: &Models,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Vec<Field>> {
    for (name, cols) in &full.list_display {
        if cols.is_empty() && chosen.contains(name) {
            // Django refuses an empty `list_display` too: a list needs a column to link rows by.
            errors.push(
                source
                    .diag(
                        &format!("admin.list_display.{name}"),
                        format!("the list of {name} shows no column: each row needs one to link to its page"),
                    )
                    .with_hint(Some(format!(
                        "name the columns to show (`{name}: [{}]`), or leave {name} out of `list_display` for its first {DEFAULT_COLUMNS} fields",
                        some_columns(&models[name.as_str()])
                    ))),
            );
        }
        if !chosen.contains(name) {
            errors.push(
                source
                    .diag(
                        &format!("admin.list_display.{name}"),
                        format!("`{name}` is not a model the admin manages"),
                    )
                    .with_hint(suggestion(name, chosen.iter().map(String::as_str))),
            );
        }
    }
    chosen
        .iter()
        .map(|name| {
            let model = &models[name.as_str()];
            match full.list_display.get(name).filter(|cols| !cols.is_empty()) {
                Some(cols) => cols
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        let f = model.field(c);
                        if f.is_none() {
                            let why = match model.many_field(c) {
                                Some(_) => format!("`{c}` is a many_to_many field: a list shows one value per column"),
                                None => format!("{name} has no field `{c}`"),
                            };
                            errors.push(
                                source
                                    .diag(&format!("admin.list_display.{name}[{i}]"), why)
                                    .with_hint(suggestion(
                                        c,
                                        model.fields.iter().map(|f| f.name.as_str()),
                                    )),
                            );
                        }
                        f.cloned()
                    })
                    .collect(),
                None => {
                    let rest = model.fields.iter().enumerate().filter(|(i, _)| *i != model.pk);
                    let cols: Vec<Field> =
                        rest.take(DEFAULT_COLUMNS).map(|(_, f)| f.clone()).collect();
                    if cols.is_empty() {
                        vec![model.pk_field().clone()]
                    } else {
                        cols
                    }
                }
            }
        })
        .collect()
}

/// How one column of the admin's list writes a row's value.
#[derive(Debug)]
enum Cell {
    /// The value as it is.
    Plain(String),
    /// A boolean: "Yes" or "No" (truthy as Handlebars' `#if` has it).
    Boolean(String),
    /// A foreign key: the target row's label field (`(field, label field)`).
    Fk(String, String),
}

/// The admin list's table cells, prepared in Rust (`rows` in its context): the built-in
/// `admin/list` iterates them plainly instead of asking, for each of 50 rows × its columns,
/// whether the column is a boolean or a foreign key through a chain of `#if` and `lookup`
/// helpers, which was most of the page's cost. The values stay JSON values, escaped when the
/// template writes them, as every value is. Read from the route's own `admin.columns` (what
/// `column` wrote), so the cells and the columns a site's override sees never disagree.
#[derive(Debug)]
pub struct Cells(Vec<Cell>);

impl Cells {
    /// The cells of an admin list route (its `context:` has `admin.columns`), or `None`.
    pub fn of(raw: &RawRoute) -> Option<Cells> {
        let columns = raw.context.as_ref()?.get("admin")?.get("columns")?;
        let text = |c: &Value, key: &str| c.get(key).and_then(Value::as_str).map(str::to_string);
        let cells = columns
            .as_array()?
            .iter()
            .filter_map(|c| {
                let name = text(c, "name")?;
                Some(match text(c, "fk_label") {
                    Some(label) if c["fk"] == true => Cell::Fk(name, label),
                    _ if c["boolean"] == true => Cell::Boolean(name),
                    _ => Cell::Plain(name),
                })
            })
            .collect();
        Some(Cells(cells))
    }

    /// The page's rows as the table shows them: each `{pk, first, rest}`, the first column's
    /// value (the row's link) and the others'.
    pub fn rows(&self, rows: &[Map<String, Value>]) -> Value {
        rows.iter()
            .map(|row| {
                let mut values = self.0.iter().map(|cell| cell.value(row));
                let first = values.next().unwrap_or(Value::Null);
                json!({
                    "pk": row.get("pk").cloned().unwrap_or(Value::Null),
                    "first": first,
                    "rest": values.collect::<Vec<_>>(),
                })
            })
            .collect()
    }
}

impl Cell {
    /// What the cell shows of `row`: exactly what the list template's old chain of helpers
    /// wrote (`{{#if (lookup row name)}}Yes{{else}}No{{/if}}`, `{{#with (lookup row
    /// name)}}{{lookup this fk_label}}{{/with}}`, `{{lookup row name}}`).
    fn value(&self, row: &Map<String, Value>) -> Value {
        match self {
            Cell::Plain(name) => row.get(name).cloned().unwrap_or(Value::Null),
            Cell::Boolean(name) => {
                let yes = row.get(name).is_some_and(crate::render::truthy);
                Value::String(if yes { "Yes" } else { "No" }.into())
            }
            Cell::Fk(name, label) => row
                .get(name)
                .and_then(|target| target.get(label))
                .cloned()
                .unwrap_or(Value::Null),
        }
    }
}

/// A field as the admin's templates show it: its label, and how its value is written.
fn column(f: &Field, models: &Models) -> Value {
    let fk_label =
        f.to.as_ref()
            .and_then(|t| models.get(t))
            .map(|t| label_field(t).name.clone());
    json!({
        "name": f.name,
        "label": label(&f.name),
        "boolean": f.ty == FieldType::Boolean,
        "fk": fk_label.is_some(),
        "fk_label": fk_label,
    })
}

/// What every admin page's context holds under `admin`.
fn common(model: &Model) -> Map<String, Value> {
    let s = slug(&model.name);
    let mut m = Map::new();
    m.insert("model".into(), model.name.clone().into());
    m.insert("label".into(), label(&model.name).into());
    m.insert("list_route".into(), format!("{NAMESPACE}:{s}-list").into());
    m.insert(
        "change_route".into(),
        format!("{NAMESPACE}:{s}-change").into(),
    );
    m.insert("index_route".into(), format!("{NAMESPACE}:index").into());
    m.insert(
        "history_route".into(),
        format!("{NAMESPACE}:{s}-history").into(),
    );
    m.insert("logout_route".into(), format!("{NAMESPACE}:logout").into());
    m.insert("read_only".into(), model.from_files.into());
    if !model.from_files {
        m.insert("add_route".into(), format!("{NAMESPACE}:{s}-add").into());
        m.insert(
            "delete_route".into(),
            format!("{NAMESPACE}:{s}-delete").into(),
        );
    }
    m
}

fn index_raw(chosen: &[String], models: &Models) -> Value {
    let list: Vec<Value> = chosen
        .iter()
        .map(|n| Value::Object(common(&models[n.as_str()])))
        .collect();
    json!({
        "view": "template",
        "template": templates::INDEX,
        "context": {"admin": {
            "index_route": format!("{NAMESPACE}:index"),
            "logout_route": format!("{NAMESPACE}:logout"),
            "models": list,
        }},
        "export": false,
    })
}

/// The admin's own sign-in page (Django's admin has its own too): the site's folder in its
/// context, for the command that makes the first user.
fn login_raw(source: &Source) -> Value {
    let folder = source.file.parent().unwrap_or(std::path::Path::new("."));
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    json!({
        "view": "login",
        "template": templates::LOGIN,
        "success": format!("{NAMESPACE}:index"),
        "context": {"admin": {
            "index_route": format!("{NAMESPACE}:index"),
            // A signed-in user sees the header's sign-out button here too.
            "logout_route": format!("{NAMESPACE}:logout"),
            // One shell word, quoted as needed: the command is pasted into a terminal.
            "site_dir": crate::cli::shell_quoted(&folder),
        }},
    })
}

/// A model's list: a `view: list` route whose search covers its text fields, whose filters
/// (with counts: facets) are its boolean, choice and foreign-key fields, ordered by any column.
fn list_raw(model: &Model, cols: &[Field], models: &Models, per_page: u32) -> Value {
    use FieldType::*;
    let search: Vec<&str> = model
        .fields
        .iter()
        .filter(|f| matches!(f.ty, String | Text | Slug | Email | Url | Uuid))
        .map(|f| f.name.as_str())
        .collect();
    let facets: Vec<&str> = model
        .fields
        .iter()
        .filter(|f| f.ty == Boolean || f.ty == ForeignKey || f.choices.is_some())
        .map(|f| f.name.as_str())
        .collect();
    let mut admin = common(model);
    admin.insert(
        "columns".into(),
        cols.iter().map(|f| column(f, models)).collect(),
    );
    admin.insert("search".into(), (!search.is_empty()).into());
    let booleans: Map<std::string::String, Value> = model
        .fields
        .iter()
        .filter(|f| f.ty == Boolean)
        .map(|f| (f.name.clone(), true.into()))
        .collect();
    admin.insert("booleans".into(), booleans.into());
    // "By in stock": the column's label as Django words a filter's title.
    let titles: Map<std::string::String, Value> = facets
        .iter()
        .map(|f| (f.to_string(), filter_title(f).into()))
        .collect();
    admin.insert("facet_titles".into(), titles.into());
    let mut raw = json!({
        "view": "list",
        "model": model.name,
        "template": templates::LIST,
        "paginate_by": per_page,
        "ordering_fields": cols.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        "context": {"admin": admin},
        "sitemap": false,
        "export": false,
    });
    if !search.is_empty() {
        raw["search"] = json!({"fields": search});
    }
    if !facets.is_empty() {
        raw["facets"] = json!(facets);
    }
    raw
}

/// A filter's title after "By": the field's label (its column header), lower case first as
/// Django's "By in stock" (a label that starts with an acronym keeps it).
fn filter_title(name: &str) -> String {
    let l = label(name);
    let mut chars = l.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if !second.is_uppercase() => {
            first.to_lowercase().chain(l.chars().skip(1)).collect()
        }
        _ => l,
    }
}

/// A row's page: every field, read-only until the edit form replaces it.
fn change_raw(model: &Model, models: &Models) -> Value {
    let mut admin = common(model);
    admin.insert(
        "fields".into(),
        model.fields.iter().map(|f| column(f, models)).collect(),
    );
    json!({
        "view": "detail",
        "model": model.name,
        "template": templates::CHANGE,
        "context": {"admin": admin},
        "sitemap": false,
        "export": false,
    })
}

/// A pattern's path when it is plain text (no captures, no regex).
fn literal(p: &Pattern) -> Option<String> {
    p.parts
        .iter()
        .map(|part| match part {
            Part::Literal(l) => Some(l.as_str()),
            _ => None,
        })
        .collect()
}

/// The routes of the site that the admin's clash with: a route named in the `admin`
/// namespace, or a plain path under the admin's (which is the admin's to answer, as Django's
/// `admin.site.urls` owns its prefix). Each is placed at the site's route.
pub fn clashes(admin: &[RouteDef], site: &[RouteDef], errors: &mut Vec<Diagnostic>) {
    let Some(mount) = admin.first().and_then(|a| literal(&a.pattern)) else {
        return;
    };
    for r in site {
        let taken = r
            .name
            .as_deref()
            .filter(|n| admin.iter().any(|a| a.name.as_deref() == Some(*n)));
        if let Some(name) = taken {
            errors.push(
                r.source
                    .diag(&r.at, format!("the route name `{name}` is the admin's"))
                    .with_hint(Some(
                        "include these routes under another namespace than `admin`".into(),
                    )),
            );
        } else if let Some(path) = literal(&r.pattern).filter(|p| p.starts_with(&mount)) {
            errors.push(
                r.source
                    .diag(
                        &r.key("path"),
                        format!("`{path}` is under `{mount}`, where `admin:` mounts the admin"),
                    )
                    .with_hint(Some(
                        "move this route, or mount the admin at another path".into(),
                    )),
            );
        }
    }
}

/// `admin:index`: the managed models, each with its row count and a link to its list.
#[derive(Debug)]
pub struct IndexView {
    models: Vec<(Arc<Model>, Map<String, Value>)>,
    context: Map<String, Value>,
}

impl IndexView {
    pub fn compile(
        r: &RouteDef,
        models: &Models,
        renderer: Option<&mut crate::render::Renderer>,
        errors: &mut Vec<Diagnostic>,
    ) -> IndexView {
        let context = r.context();
        let listed = context
            .get("admin")
            .and_then(|a| a.get("models"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let models = listed
            .into_iter()
            .filter_map(|m| {
                let m = m.as_object()?.clone();
                let model = models.get(m.get("model")?.as_str()?)?.clone();
                Some((model, m))
            })
            .collect();
        if let Some(renderer) = renderer {
            if !renderer.has(templates::INDEX) {
                errors.push(
                    r.source
                        .diag(&r.at, "the admin's index template is missing"),
                );
            }
        }
        IndexView { models, context }
    }

    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let db = ctx
            .db
            .ok_or_else(|| call.internal("the admin without a database"))?;
        let mut list = Vec::new();
        for (model, entry) in &self.models {
            let count = db.count(&Query::new(model)).map_err(|e| call.db(e))?;
            let mut entry = entry.clone();
            entry.insert("count".into(), count.into());
            list.push(Value::Object(entry));
        }
        let mut admin = Map::new();
        admin.insert("models".into(), list.into());
        let managed: Vec<Arc<Model>> = self.models.iter().map(|(m, _)| m.clone()).collect();
        let recent = history::recent(db, ctx.router, &managed).map_err(|e| call.db(e))?;
        admin.insert("recent".into(), recent);
        render_page(ctx, &call, templates::INDEX, self.context.clone(), admin)
    }
}

/// One of the admin's own pages: `template` with the route's `context` (`extra`), its `admin`
/// entry completed by `more`.
fn render_page(
    ctx: &Ctx,
    call: &Call,
    template: &str,
    mut extra: Map<String, Value>,
    more: Map<String, Value>,
) -> Result<Response, ViewError> {
    let mut admin = extra
        .get("admin")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    admin.extend(more);
    extra.insert("admin".into(), admin.into());
    filters::context(call.req, false, &mut extra);
    let uses = ctx.renderer.uses(template);
    let context = ctx.context(call.req, call.params, call.query.clone(), extra, uses);
    let body = ctx
        .renderer
        .render(template, context)
        .map_err(|e| ViewError::render(format_args!("rendering {}", call.origin), e))?;
    Ok(Response::html(200, body))
}

#[cfg(test)]
mod tests {
    /// The prepared cells write what the old chain of `#if`/`lookup` helpers wrote, value for
    /// value: Handlebars' truthiness for a boolean column (0, "", null, {} are "No"), a
    /// foreign key's label only when its target is there, any other value as it is.
    #[test]
    fn cells_show_what_the_template_helpers_showed() {
        let route: super::RawRoute = serde_json::from_value(serde_json::json!({
            "view": "list", "model": "Post",
            "context": {"admin": {"columns": [
                {"name": "title", "boolean": false, "fk": false, "fk_label": null},
                {"name": "published", "boolean": true, "fk": false, "fk_label": null},
                {"name": "author", "boolean": false, "fk": true, "fk_label": "name"},
            ]}},
        }))
        .unwrap();
        let cells = super::Cells::of(&route).expect("an admin list's columns");
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = [
            serde_json::json!({"pk": 1, "title": "<b>", "published": true, "author": {"name": "Ann"}}),
            serde_json::json!({"pk": 2, "title": 7, "published": 0, "author": null}),
            serde_json::json!({"pk": 3, "title": null, "published": "", "author": 4}),
            serde_json::json!({"pk": 4, "published": 2.5, "author": {}}),
            serde_json::json!({"pk": 5, "title": "x", "published": {}, "author": {"id": 1}}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect();
        let shown = cells.rows(&rows);
        assert_eq!(
            shown,
            serde_json::json!([
                {"pk": 1, "first": "<b>", "rest": ["Yes", "Ann"]},
                {"pk": 2, "first": 7, "rest": ["No", null]},
                {"pk": 3, "first": null, "rest": ["No", null]},
                {"pk": 4, "first": null, "rest": ["Yes", null]},
                {"pk": 5, "first": "x", "rest": ["No", null]},
            ])
        );
        // A route that is not an admin list has none.
        let plain: super::RawRoute =
            serde_json::from_value(serde_json::json!({"view": "list", "model": "Post"})).unwrap();
        assert!(super::Cells::of(&plain).is_none());
    }

    #[test]
    fn login_is_the_login_route_of_the_namespace() {
        assert_eq!(super::LOGIN, format!("{}:login", super::NAMESPACE));
    }

    #[test]
    fn the_admin_owns_the_names_of_its_namespace_only() {
        assert!(super::owns(super::LOGIN) && super::owns("admin:post-change"));
        assert!(!super::owns("blog:admin") && !super::owns("admin") && !super::owns("admins:x"));
    }
}
