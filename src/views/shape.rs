//! The JSON of a model's rows, as a `format: json` list or detail route writes each one: the
//! keys `fields:` or `exclude:` choose (by default every key the row holds: its columns, each
//! foreign key's related row, each many_to_many field's rows, a detail's `related:` lists),
//! and the values as Django's `DjangoJSONEncoder` writes them (a datetime
//! `2024-01-03T10:14:00.123Z`, in the row and in the rows nested in it). The primary key is
//! under its field's name (`id`), never an extra `pk`.

use serde_json::{Map, Value};

use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, RawRoute};
use crate::config::yaml::Source;
use crate::config::Diagnostic;
use crate::db::{Model, Models};

/// One key of a shaped row.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    /// The row's own key `from`, written as `name` (`pk` is the primary key's column).
    Own { name: String, from: String },
    /// The key `key` of the related row under `via`: `author__name`.
    Through {
        name: String,
        via: String,
        key: String,
    },
}

/// The datetime columns of a model's rows and of the rows nested in them, rewritten in place.
#[derive(Debug, Default, Clone)]
struct Datetimes {
    own: Vec<String>,
    /// A foreign key's related row (an object) or a many_to_many field's rows (a list), by
    /// the key holding them, with the datetime columns of their model.
    nested: Vec<(String, Vec<String>)>,
}

fn datetime_columns(model: &Model) -> Vec<String> {
    model
        .fields
        .iter()
        .filter(|f| f.ty == FieldType::Datetime)
        .map(|f| f.column.clone())
        .collect()
}

impl Datetimes {
    fn of(models: &Models, model: &Model) -> Datetimes {
        let nested = model
            .fields
            .iter()
            .chain(&model.many)
            .filter_map(|f| {
                let target = models.get(f.to.as_ref()?)?;
                let columns = datetime_columns(target);
                (!columns.is_empty()).then(|| (f.name.clone(), columns))
            })
            .collect();
        Datetimes {
            own: datetime_columns(model),
            nested,
        }
    }

    fn rewrite(columns: &[String], row: &mut Map<String, Value>) {
        for c in columns {
            if let Some(v) = row.get_mut(c) {
                if let Some(text) = v.as_str().and_then(crate::datetime::django_json) {
                    *v = Value::String(text);
                }
            }
        }
    }

    fn apply(&self, row: &mut Map<String, Value>) {
        Datetimes::rewrite(&self.own, row);
        for (key, columns) in &self.nested {
            match row.get_mut(key) {
                Some(Value::Object(o)) => Datetimes::rewrite(columns, o),
                Some(Value::Array(list)) => {
                    for o in list.iter_mut().filter_map(Value::as_object_mut) {
                        Datetimes::rewrite(columns, o);
                    }
                }
                _ => {}
            }
        }
    }
}

/// How a route writes its model's rows as JSON.
#[derive(Debug, Clone)]
pub struct Shape {
    datetimes: Datetimes,
    /// `None`: every key the row holds, in its order.
    keys: Option<Vec<Key>>,
    /// Whether the rows show a many_to_many field (else their rows need not be read).
    pub many: bool,
}

impl Shape {
    /// Every key of the model's rows.
    pub fn all(models: &Models, model: &Model) -> Shape {
        Shape {
            datetimes: Datetimes::of(models, model),
            keys: None,
            many: !model.many.is_empty(),
        }
    }

    /// A route's shape: `fields:` or `exclude:` (only for `format: json`, and not both), read
    /// against the model's fields and the names of the route's `related:` lists.
    pub fn compile(
        raw: &RawRoute,
        models: &Models,
        model: &Model,
        json: bool,
        source: &Source,
        at: &str,
        errors: &mut Vec<Diagnostic>,
    ) -> Shape {
        let mut shape = Shape::all(models, model);
        let related: Vec<&str> = raw
            .related
            .iter()
            .flatten()
            .map(|(n, _)| n.as_str())
            .collect();
        let (key, names) = match (&raw.fields, &raw.exclude) {
            (None, None) => return shape,
            (Some(_), Some(_)) => {
                errors.push(fields_and_exclude(source, at, "keys", "shown"));
                return shape;
            }
            (Some(f), None) => ("fields", f),
            (None, Some(e)) => ("exclude", e),
        };
        if !json {
            errors.push(
                source
                    .diag_key(
                        &format!("{at}.{key}"),
                        format!("`{key}` shapes JSON rows, and this route renders a template"),
                    )
                    .with_hint(Some(
                        "add `format: json`, or show only the fields you want in the template"
                            .into(),
                    )),
            );
            return shape;
        }
        let all = every_key(model, &related);
        let mut chosen: Vec<Key> = Vec::new();
        let mut dropped: Vec<&str> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let here = format!("{at}.{key}[{i}]");
            let found = if key == "fields" {
                pick(models, model, &all, name).map(|k| chosen.push(k))
            } else {
                drop_key(model, &all, name).map(|()| dropped.push(name))
            };
            if let Err((why, hint)) = found {
                errors.push(source.diag(&here, why).with_hint(hint));
            } else if names[..i].contains(name) {
                errors.push(source.diag(&here, format!("`{name}` is listed twice")));
            }
        }
        if key == "exclude" {
            chosen = all
                .into_iter()
                .filter(|k| !dropped.iter().any(|d| excludes(model, d, k)))
                .collect();
        }
        shape.many = chosen
            .iter()
            .any(|k| matches!(k, Key::Own { from, .. } if model.many_field(from).is_some()));
        shape.keys = Some(chosen);
        shape
    }

    /// One row as JSON: its datetimes written as Django writes them, then the chosen keys.
    pub fn row(&self, mut row: Map<String, Value>) -> Map<String, Value> {
        self.datetimes.apply(&mut row);
        let Some(keys) = &self.keys else {
            return row;
        };
        let mut out = Map::with_capacity(keys.len());
        for k in keys {
            match k {
                Key::Own { name, from } => {
                    out.insert(name.clone(), row.get(from).cloned().unwrap_or(Value::Null));
                }
                Key::Through { name, via, key } => {
                    let v = row.get(via).and_then(|o| o.get(key)).cloned();
                    out.insert(name.clone(), v.unwrap_or(Value::Null));
                }
            }
        }
        out
    }

    /// Rows as a JSON list.
    pub fn rows(&self, rows: Vec<Map<String, Value>>) -> Value {
        Value::Array(
            rows.into_iter()
                .map(|r| Value::Object(self.row(r)))
                .collect(),
        )
    }
}

/// The keys a row holds, in its order: the columns, each foreign key's related row, each
/// many_to_many field's rows, then the `related:` lists.
fn every_key(model: &Model, related: &[&str]) -> Vec<Key> {
    let own = |name: &str| Key::Own {
        name: name.to_string(),
        from: name.to_string(),
    };
    let columns = model.fields.iter().map(|f| own(&f.column));
    let targets = model
        .fields
        .iter()
        .filter(|f| f.ty == FieldType::ForeignKey)
        .map(|f| own(&f.name));
    let many = model.many.iter().map(|f| own(&f.name));
    columns
        .chain(targets)
        .chain(many)
        .chain(related.iter().map(|r| own(r)))
        .collect()
}

/// The names `fields:` (`through`) or `exclude:` may use, for did-you-mean hints.
fn known_names(model: &Model, all: &[Key], through: bool) -> Vec<String> {
    let mut names: Vec<String> = all
        .iter()
        .filter_map(|k| match k {
            Key::Own { name, .. } => Some(name.clone()),
            Key::Through { .. } => None,
        })
        .collect();
    names.push("pk".into());
    if let Some(fk) = model.fields.iter().find(|f| f.ty == FieldType::ForeignKey) {
        if through {
            names.push(format!("{}__FIELD", fk.name));
        }
    }
    names
}

/// Why a name is refused, and a hint.
pub(super) type Refusal = (String, Option<String>);

fn unknown(model: &Model, all: &[Key], name: &str, through: bool) -> Refusal {
    let known = known_names(model, all, through);
    (
        format!("model {} has no field `{name}` to show", model.name),
        suggestion(name, known.iter().map(String::as_str)),
    )
}

/// A `fields:` entry: a key of the row, `pk`, or `fk__field`.
fn pick(models: &Models, model: &Model, all: &[Key], name: &str) -> Result<Key, Refusal> {
    if name == "pk" {
        let pk = model.pk_field();
        return Ok(Key::Own {
            name: pk.name.clone(),
            from: pk.column.clone(),
        });
    }
    if let Some(f) = model.field(name).filter(|f| f.ty != FieldType::ForeignKey) {
        return Ok(Key::Own {
            name: f.name.clone(),
            from: f.column.clone(),
        });
    }
    if all
        .iter()
        .any(|k| matches!(k, Key::Own { name: n, .. } if n == name))
    {
        return Ok(Key::Own {
            name: name.to_string(),
            from: name.to_string(),
        });
    }
    let Some((via, rest)) = name.split_once("__") else {
        return Err(unknown(model, all, name, true));
    };
    if model.many_field(via).is_some() {
        return Err((
            format!("`{via}` is a many_to_many field: its rows are shown whole, as `{via}`"),
            Some(format!("list `{via}`; each of its rows has every field")),
        ));
    }
    let (target, field) = through(models, model, name, via, rest)?;
    match field {
        Some(f) => Ok(Key::Through {
            name: name.to_string(),
            via: via.to_string(),
            key: f.column.clone(),
        }),
        None if rest.contains("__") => Err((
            format!("`{name}` goes further than one foreign key; a related row's fields are one step away"),
            Some(format!("list `{via}` for the whole related row")),
        )),
        None => Err((
            format!("model {} has no field `{rest}` (in `{name}`)", target.name),
            suggestion(rest, target.field_names()),
        )),
    }
}

/// A route given both `fields:` and `exclude:`: `fields` lists the `things` (keys, columns)
/// that are `chosen` (shown, written).
pub(super) fn fields_and_exclude(
    source: &Source,
    at: &str,
    things: &str,
    chosen: &str,
) -> Diagnostic {
    source
        .diag_key(
            &format!("{at}.exclude"),
            "a route takes `fields` or `exclude`, not both",
        )
        .with_hint(Some(format!(
            "`fields` lists the {things} {chosen}; `exclude` the {things} left out"
        )))
}

/// `via__rest`: the model the foreign key `via` points at, and its field `rest` (`pk` for its
/// primary key) when it has one; refused when `via` is not a foreign key.
pub(super) fn through<'m>(
    models: &'m Models,
    model: &Model,
    name: &str,
    via: &str,
    rest: &str,
) -> Result<(&'m Model, Option<&'m crate::db::Field>), Refusal> {
    let fk = model.field(via).filter(|f| f.ty == FieldType::ForeignKey);
    let Some(target) = fk.and_then(|f| models.get(f.to.as_ref()?)) else {
        return Err((
            format!(
                "`{via}` of {} is not a foreign key, so `{name}` cannot follow it",
                model.name
            ),
            suggestion(
                via,
                model
                    .fields
                    .iter()
                    .filter(|f| f.ty == FieldType::ForeignKey)
                    .map(|f| f.name.as_str()),
            ),
        ));
    };
    let field = if rest == "pk" {
        Some(target.pk_field())
    } else {
        target.field(rest)
    };
    Ok((target, field))
}

/// An `exclude:` entry must name a key of the row, a field, or `pk`.
fn drop_key(model: &Model, all: &[Key], name: &str) -> Result<(), Refusal> {
    if all.iter().any(|k| excludes(model, name, k)) {
        Ok(())
    } else if name.contains("__") {
        Err((
            format!("`exclude` leaves out keys of the row, and `{name}` is not one"),
            Some(format!(
                "choose the keys to show with `fields:`, `{name}` among them"
            )),
        ))
    } else {
        Err(unknown(model, all, name, false))
    }
}

/// Whether `exclude: [name]` leaves out `key`: its own name, `pk` for the primary key, and a
/// foreign key's name both its related row and its column (`author`, `author_id`).
fn excludes(model: &Model, name: &str, key: &Key) -> bool {
    let Key::Own { name: key, .. } = key else {
        return false;
    };
    if key == name {
        return true;
    }
    if name == "pk" {
        return *key == model.pk_field().column;
    }
    model
        .field(name)
        .is_some_and(|f| f.ty == FieldType::ForeignKey && *key == f.column)
}
