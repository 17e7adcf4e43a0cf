//! Collections: a folder of Markdown files that are a model's rows. A model with
//! `source: content/posts/` takes one row from each `*.md` file below that folder: the YAML
//! front matter gives the fields, the Markdown after it fills the model's markdown field, and
//! the file name gives the slug unless the front matter sets one. A foreign key names its
//! target by the target's slug.
//!
//! Here files become checked rows, with no SQL: every mistake a file can hold is a
//! `Diagnostic` at its line and column, reported with the rest of the site's when it loads.
//! `db::sync` then makes the tables hold exactly those rows, in one transaction, when the site
//! is migrated (at start, by every command, and before a reload swaps the new site in).
//!
//! Files are read again only when they change: a site loaded after another reuses the files
//! whose modification time and length are unchanged (see [`file::Stamp`]).

pub mod file;

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::config::diagnostic::{did_you_mean, suggestion};
use crate::config::raw::{FieldType, RawModel, RawSource};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::model::{validate, Now, NUL_REFUSED};
use crate::db::sync::{Problem, Row, Table, Val};
use crate::db::{Field, Model, Models};
use file::{File, Stamp};

/// A model whose rows are a folder's Markdown files, read and checked.
#[derive(Debug)]
pub struct Collection {
    pub model: Arc<Model>,
    /// The folder, as `site.yaml` names it (for messages) and as a path.
    pub folder_text: String,
    pub folder: PathBuf,
    /// The field the file name fills (index in `model.fields`).
    pub key: usize,
    /// The field the Markdown fills, if the model has one.
    pub body: Option<usize>,
    /// Every file, in path order.
    pub files: Vec<Arc<File>>,
    /// The rows of the files that hold no mistake (shared with the next load while their file
    /// and the models do not change)…
    pub rows: Vec<Arc<Row>>,
    /// …and the file (index in `files`) each came from.
    pub origin: Vec<usize>,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Row({})", self.key)
    }
}

/// Every collection of a site, checked: `models` are the compiled models, `previous` the
/// collections of the site loaded before this one, and its models: their unchanged files are
/// not read again, and while no model changed, the rows of those files are not made again.
pub fn compile(
    raw: &IndexMap<String, RawModel>,
    models: &Models,
    root: &Path,
    source: &Source,
    previous: (&[Collection], Option<&Models>),
    errors: &mut Vec<Diagnostic>,
) -> Vec<Collection> {
    let (previous, previous_models) = previous;
    let cache: HashMap<&Path, &Arc<File>> = previous
        .iter()
        .flat_map(|c| c.files.iter().map(|f| (f.path.as_path(), f)))
        .collect();
    // A row depends on its file, its model and the models its references name.
    let same_models = previous_models.is_some_and(|p| p == models);
    let made: Made = previous
        .iter()
        .filter(|_| same_models)
        .flat_map(|c| {
            c.origin
                .iter()
                .zip(&c.rows)
                .map(|(&n, row)| ((c.key, c.body, Arc::as_ptr(&c.files[n])), row.clone()))
        })
        .collect();
    let mut out = Vec::new();
    for (name, m) in raw {
        let (Some(src), Some(model)) = (&m.source, models.get(name)) else {
            continue;
        };
        let at = format!("models.{name}.source");
        if let Some(mut c) = declare(model, src, root, source, &at, errors) {
            c.files = read_folder(&c.folder, &cache, errors);
            out.push(c);
        }
    }
    let keys: HashMap<String, HashSet<String>> = check_rows(&mut out, models, &made, errors);
    check_references(&out, &keys, errors);
    order(&mut out, source, errors);
    out
}

/// The collection as `source:` declares it: its folder, key field and body field.
fn declare(
    model: &Arc<Model>,
    src: &RawSource,
    root: &Path,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<Collection> {
    let folder_text = src.folder().to_string();
    let rel = Path::new(&folder_text);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
        errors.push(source.diag(
            at,
            format!("the folder `{folder_text}` must be inside the site folder (a relative path without `..`)"),
        ));
        return None;
    }
    let folder = root.join(rel);
    if !folder.is_dir() {
        errors.push(
            source
                .diag(at, format!("no folder `{folder_text}` in the site folder"))
                .with_hint(Some(format!(
                    "create it (its `*.md` files are the rows of {}), or fix the path",
                    model.name
                ))),
        );
        return None;
    }
    let (slug, body) = match src {
        RawSource::Folder(_) => (None, None),
        RawSource::Full(full) => (full.slug.as_deref(), full.body.as_deref()),
    };
    let key = key_field(model, slug, source, at, errors)?;
    let body = body_field(model, body, source, at, errors)?;
    Some(Collection {
        model: model.clone(),
        folder_text,
        folder,
        key,
        body,
        files: Vec::new(),
        rows: Vec::new(),
        origin: Vec::new(),
    })
}

/// The unique text field a file's name fills: `slug:`, or the field named `slug`.
fn key_field(
    model: &Model,
    named: Option<&str>,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let name = named.unwrap_or("slug");
    let place = if named.is_some() {
        format!("{at}.slug")
    } else {
        at.to_string()
    };
    let Some(i) = model.fields.iter().position(|f| f.name == name) else {
        let hint = if named.is_some() {
            suggestion(name, model.field_names())
        } else {
            Some(format!("add `slug: {{ type: slug, unique: true }}` to {}, or name the field that identifies a file with `source: {{ folder: …, slug: FIELD }}`", model.name))
        };
        errors.push(
            source
                .diag(
                    &place,
                    format!(
                        "model {} has no field `{name}` for the file names to fill",
                        model.name
                    ),
                )
                .with_hint(hint),
        );
        return None;
    };
    let f = &model.fields[i];
    if !f.unique || !matches!(f.ty, FieldType::Slug | FieldType::String) || f.primary_key {
        errors.push(
            source
                .diag(&place, format!("`{name}` names each file's row, so it must be a unique slug or string field"))
                .with_hint(Some(format!("declare it as `{name}: {{ type: slug, unique: true }}`"))),
        );
        return None;
    }
    Some(i)
}

/// The field the Markdown after the front matter fills: `body:`, or the one markdown field.
fn body_field(
    model: &Model,
    named: Option<&str>,
    source: &Source,
    at: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<Option<usize>> {
    if let Some(name) = named {
        let found = model.fields.iter().position(|f| f.name == name);
        return match found {
            Some(i) if matches!(model.fields[i].ty, FieldType::Text | FieldType::String) => {
                Some(Some(i))
            }
            Some(_) => {
                errors.push(source.diag(
                    &format!("{at}.body"),
                    format!("`{name}` must be a text field to hold the Markdown"),
                ));
                None
            }
            None => {
                errors.push(
                    source
                        .diag(
                            &format!("{at}.body"),
                            format!("model {} has no field `{name}`", model.name),
                        )
                        .with_hint(suggestion(name, model.field_names())),
                );
                None
            }
        };
    }
    let markdown: Vec<usize> = (0..model.fields.len())
        .filter(|&i| model.fields[i].markdown)
        .collect();
    match markdown[..] {
        [] => Some(None),
        [i] => Some(Some(i)),
        _ => {
            errors.push(
                source
                    .diag(
                        at,
                        format!("model {} has more than one markdown field", model.name),
                    )
                    .with_hint(Some(
                        "say which one the Markdown fills: `source: { folder: …, body: FIELD }`"
                            .into(),
                    )),
            );
            None
        }
    }
}

/// Every `*.md` file below `folder` (hidden files and folders skipped), in path order, read
/// unless `cache` holds it unchanged.
fn read_folder(
    folder: &Path,
    cache: &HashMap<&Path, &Arc<File>>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Arc<File>> {
    let mut paths = Vec::new();
    list(folder, &mut paths, errors);
    // By bytes: comparing paths component by component was a tenth of a reload of 10,000 files.
    paths.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    let mut files = Vec::new();
    for (path, stamp) in paths {
        if let Some(f) = cache.get(path.as_path()).filter(|f| f.stamp == stamp) {
            files.push(Arc::clone(f));
            continue;
        }
        match File::read(&path, stamp) {
            Ok(f) => files.push(Arc::new(f)),
            Err(d) => errors.push(d),
        }
    }
    files
}

fn list(dir: &Path, out: &mut Vec<(PathBuf, Stamp)>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return errors.push(Diagnostic::new(dir, format!("cannot read folder: {e}"))),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            list(&path, out, errors);
        } else if meta.is_file() && name.ends_with(".md") {
            out.push((path, Stamp::of(&meta)));
        }
    }
}

/// Rows made by the previous load, by how they were made: the collection's key and body
/// fields, and the file (the same `Arc` while the file is unchanged).
type Made = HashMap<(usize, Option<usize>, *const File), Arc<Row>>;

/// Turn each collection's files into rows (or take those `made` before); returns each
/// collection's keys by model name.
fn check_rows(
    collections: &mut [Collection],
    models: &Models,
    made: &Made,
    errors: &mut Vec<Diagnostic>,
) -> HashMap<String, HashSet<String>> {
    let keys_of: HashMap<String, usize> = collections
        .iter()
        .map(|c| (c.model.name.clone(), c.key))
        .collect();
    let now = Now::new();
    let mut keys = HashMap::new();
    for c in collections.iter_mut() {
        let mut seen: HashMap<String, &Path> = HashMap::new();
        let mut rows = Vec::new();
        let mut origin = Vec::new();
        for (n, f) in c.files.iter().enumerate() {
            let before = made.get(&(c.key, c.body, Arc::as_ptr(f))).cloned();
            let Some(row) =
                before.or_else(|| row(c, f, models, &keys_of, &now, errors).map(Arc::new))
            else {
                continue;
            };
            if let Some(first) = seen.get(row.key.as_str()) {
                let name = &c.model.fields[c.key].name;
                errors.push(problem(
                    f,
                    name,
                    format!(
                        "two files of {} have the {name} `{}`",
                        c.folder_text, row.key
                    ),
                    Some(format!(
                        "`{}` is also the {name} of {}; each file's {name} must differ",
                        row.key,
                        first.display()
                    )),
                ));
                continue;
            }
            seen.insert(row.key.clone(), &f.path);
            rows.push(row);
            origin.push(n);
        }
        keys.insert(c.model.name.clone(), seen.into_keys().collect());
        c.rows = rows;
        c.origin = origin;
    }
    keys
}

/// A diagnostic placed at `field` of the file's front matter (or at the file, when the field
/// is not in it).
fn problem(f: &File, field: &str, message: String, hint: Option<String>) -> Diagnostic {
    let d = if f.front.contains_key(field) {
        f.source.diag(field, message)
    } else {
        Diagnostic::new(&f.path, message)
    };
    d.with_hint(hint)
}

/// One file's row, or its mistakes (all of them) in `errors`.
fn row(
    c: &Collection,
    f: &File,
    models: &Models,
    keys_of: &HashMap<String, usize>,
    now: &Now,
    errors: &mut Vec<Diagnostic>,
) -> Option<Row> {
    let model = &c.model;
    let before = errors.len();
    let mut values: Vec<(usize, Val)> = Vec::new();
    let mut refused = HashSet::new();
    let mut many: Vec<(usize, Vec<Val>)> = (0..model.many.len()).map(|i| (i, Vec::new())).collect();
    for (name, v) in &f.front {
        if let Some(i) = model.many.iter().position(|fd| &fd.name == name) {
            match targets(&model.many[i], v, models, keys_of) {
                Ok(refs) => many[i].1 = refs,
                Err((message, hint)) => errors.push(problem(f, name, message, hint)),
            }
            continue;
        }
        let Some(i) = model.fields.iter().position(|fd| &fd.name == name) else {
            let mut d = f
                .source
                .diag_key(name, format!("model {} has no field `{name}`", model.name));
            d = d.with_hint(suggestion(name, model.field_names()));
            errors.push(d);
            // The field it probably meant is not reported again as missing.
            refused.extend(
                did_you_mean(name, model.field_names())
                    .and_then(|m| model.fields.iter().position(|fd| fd.name == m)),
            );
            continue;
        };
        match value(c, i, v, models, keys_of) {
            Ok(val) => values.push((i, val)),
            Err((message, hint)) => {
                // Reported once, as a bad value: not again as a missing field.
                refused.insert(i);
                errors.push(problem(f, name, message, hint));
            }
        }
    }
    let key = match values.iter().find(|(i, _)| *i == c.key) {
        Some((_, Val::Value(Value::String(s)))) => s.clone(),
        Some(_) => String::new(),
        None => file_key(c, f, errors, &mut values)?,
    };
    if let Some(b) = c.body {
        if f.body.contains('\0') {
            // As `validate` refuses one in a front matter value; not reported again as missing.
            refused.insert(b);
            errors.push(problem(
                f,
                "",
                format!("its Markdown holds a NUL character: {NUL_REFUSED}"),
                Some("remove it; a NUL is no text a page can show".into()),
            ));
        } else {
            values.push((b, Val::Value(Value::String(f.body.clone()))));
        }
    } else if !f.body.trim().is_empty() {
        errors.push(problem(
            f,
            "",
            format!("this file has Markdown after its front matter, but model {} has no markdown field to hold it", model.name),
            Some("add a field `body: { type: text, format: markdown }`, or name one with `source: { folder: …, body: FIELD }`".into()),
        ));
    }
    let (on_insert, on_change) = missing(model, f, &mut values, &refused, now, errors);
    (errors.len() == before).then_some(Row {
        key,
        values,
        on_insert,
        on_change,
        many,
    })
}

/// The key of a file that does not set it: its name without `.md`.
fn file_key(
    c: &Collection,
    f: &File,
    errors: &mut Vec<Diagnostic>,
    values: &mut Vec<(usize, Val)>,
) -> Option<String> {
    let stem = f.path.file_stem()?.to_string_lossy().into_owned();
    let field = &c.model.fields[c.key];
    match validate(field, &Value::String(stem.clone())) {
        Ok(v) => {
            values.push((c.key, Val::Value(v)));
            Some(stem)
        }
        Err(why) => {
            errors.push(problem(
                f,
                "",
                format!(
                    "the file name gives the {} `{stem}`, which does not fit: {why}",
                    field.name
                ),
                Some(format!(
                    "rename the file, or set `{}:` in its front matter",
                    field.name
                )),
            ));
            None
        }
    }
}

type Failure = (String, Option<String>);

/// Values of fields set to the time: written when a row is created, or whenever it changes.
type Timed = Vec<(usize, Value)>;

/// A front matter value for field `i`, checked by the rules every value passes.
fn value(
    c: &Collection,
    i: usize,
    v: &Value,
    models: &Models,
    keys_of: &HashMap<String, usize>,
) -> Result<Val, Failure> {
    let model = &c.model;
    let field = &model.fields[i];
    if i == model.pk {
        return Err((
            format!(
                "`{}` is the primary key, which the database gives each row",
                field.name
            ),
            Some("remove it: a file's row keeps its key while the file keeps its slug".into()),
        ));
    }
    if Some(i) == c.body {
        return Err((
            format!(
                "`{}` is filled by the Markdown after the front matter",
                field.name
            ),
            Some("remove it from the front matter".into()),
        ));
    }
    if field.ty != FieldType::ForeignKey || v.is_null() {
        return validate(field, v)
            .map(Val::Value)
            .map_err(|why| (format!("field `{}`: {why}", field.name), None));
    }
    reference(field, v, models, keys_of)
}

/// A foreign key's target, named by its key (see [`target_key`]).
fn reference(
    field: &Field,
    v: &Value,
    models: &Models,
    keys_of: &HashMap<String, usize>,
) -> Result<Val, Failure> {
    let target = field
        .to
        .as_ref()
        .and_then(|t| models.get(t))
        .ok_or_else(|| (format!("field `{}` points at no model", field.name), None))?;
    let by = target_key(target, keys_of);
    let key = validate(&target.fields[by], v).map_err(|why| {
        (
            format!(
                "field `{}` names a {} by its {}: {why}",
                field.name, target.name, target.fields[by].name
            ),
            None,
        )
    })?;
    Ok(Val::Ref {
        model: target.clone(),
        field: by,
        key,
    })
}

/// A many-to-many field's targets: a list of keys (one key alone is a list of one).
fn targets(
    field: &Field,
    v: &Value,
    models: &Models,
    keys_of: &HashMap<String, usize>,
) -> Result<Vec<Val>, Failure> {
    let items = match v {
        Value::Array(items) => items.as_slice(),
        Value::Null => &[],
        one => std::slice::from_ref(one),
    };
    items
        .iter()
        .map(|item| reference(field, item, models, keys_of))
        .collect()
}

/// The field a foreign key to `target` names it by: the target collection's key, else its
/// unique `slug` field, else its primary key.
fn target_key(target: &Model, keys_of: &HashMap<String, usize>) -> usize {
    keys_of.get(&target.name).copied().unwrap_or_else(|| {
        target
            .fields
            .iter()
            .position(|f| f.name == "slug" && f.unique)
            .unwrap_or(target.pk)
    })
}

/// The values of the fields a file leaves out: defaults, `null`, or the time for `auto_now`
/// (written when the row changes) and `auto_now_add` (written when it is created); a field with
/// none of these is a mistake.
fn missing(
    model: &Model,
    f: &File,
    values: &mut Vec<(usize, Val)>,
    refused: &HashSet<usize>,
    now: &Now,
    errors: &mut Vec<Diagnostic>,
) -> (Timed, Timed) {
    let mut on_insert = Vec::new();
    let mut on_change = Vec::new();
    let mut given: HashSet<usize> = values.iter().map(|(i, _)| *i).collect();
    given.extend(refused);
    let mut defaults = Vec::new();
    for (i, field) in model.fields.iter().enumerate() {
        if i == model.pk || given.contains(&i) {
            continue;
        }
        if field.auto_now {
            on_change.push((i, now.of(field)));
        } else if field.auto_now_add {
            on_insert.push((i, now.of(field)));
        } else if let Some(d) = &field.default {
            defaults.push((i, d.clone()));
        } else if field.null {
            defaults.push((i, Value::Null));
        } else {
            errors.push(problem(
                f,
                "",
                format!(
                    "field `{}` is missing, and it has no default and cannot be null",
                    field.name
                ),
                Some(format!("set it in the front matter: `{}: …`", field.name)),
            ));
        }
    }
    // A default is a value like any other: a row whose default changes is updated.
    values.extend(defaults.into_iter().map(|(i, v)| (i, Val::Value(v))));
    (on_insert, on_change)
}

/// Foreign keys between collections, checked without the database.
fn check_references(
    collections: &[Collection],
    keys: &HashMap<String, HashSet<String>>,
    errors: &mut Vec<Diagnostic>,
) {
    for c in collections {
        for (f, row) in files_of(c) {
            let single = row.values.iter().map(|(i, v)| (&c.model.fields[*i], v));
            let many = row
                .many
                .iter()
                .flat_map(|(i, vs)| vs.iter().map(move |v| (&c.model.many[*i], v)));
            for (field, v) in single.chain(many) {
                let Val::Ref {
                    model,
                    field: by,
                    key,
                } = v
                else {
                    continue;
                };
                let (Some(known), Value::String(k)) = (keys.get(&model.name), key) else {
                    continue;
                };
                if !known.contains(k) {
                    errors.push(problem(
                        f,
                        &field.name,
                        format!("no {} has {} `{k}`", model.name, model.fields[*by].name),
                        suggestion(k, known.iter().map(String::as_str)).or_else(|| {
                            Some(format!("the {} are the files of its folder", model.name))
                        }),
                    ));
                }
            }
        }
    }
}

/// Each row with the file it came from.
fn files_of(c: &Collection) -> impl Iterator<Item = (&File, &Row)> {
    c.origin
        .iter()
        .map(|&n| c.files[n].as_ref())
        .zip(c.rows.iter().map(Arc::as_ref))
}

/// Put collections after the collections their foreign keys point at, so that a target's rows
/// are written before the rows that name them.
fn order(collections: &mut Vec<Collection>, source: &Source, errors: &mut Vec<Diagnostic>) {
    let names: HashSet<String> = collections.iter().map(|c| c.model.name.clone()).collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::new();
    let mut rest: Vec<Collection> = std::mem::take(collections);
    while !rest.is_empty() {
        let (ready, waiting): (Vec<Collection>, Vec<Collection>) =
            rest.into_iter().partition(|c| {
                c.model
                    .fields
                    .iter()
                    .filter_map(|f| f.to.as_ref())
                    .all(|t| !names.contains(t) || done.contains(t))
            });
        if ready.is_empty() {
            for c in &waiting {
                errors.push(source.diag(
                    &format!("models.{}.source", c.model.name),
                    format!("collections whose foreign keys point at each other (or at themselves) cannot be synced yet: {}", c.model.name),
                ));
            }
            break;
        }
        done.extend(ready.iter().map(|c| c.model.name.clone()));
        ordered.extend(ready);
        rest = waiting;
    }
    *collections = ordered;
}

/// The tables to sync, in order.
pub fn tables(collections: &[Collection]) -> Vec<Table<'_>> {
    collections
        .iter()
        .map(|c| Table {
            model: &c.model,
            key: c.key,
            rows: c.rows.iter().map(Arc::as_ref).collect(),
        })
        .collect()
}

/// The database's objections, placed in the files they are about.
pub fn placed(collections: &[Collection], problems: &[Problem]) -> Vec<Diagnostic> {
    problems
        .iter()
        .filter_map(|p| {
            let c = collections.get(p.table)?;
            let f = &c.files[*c.origin.get(p.row)?];
            Some(problem(f, &p.field, p.message.clone(), None))
        })
        .collect()
}
