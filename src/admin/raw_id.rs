//! A foreign key or many_to_many field whose target has more rows than a select lists
//! (`db::write::past_options`): the admin's form asks for the key in a text input instead
//! (Django's `raw_id_fields`), with a link that opens the target's list in the admin in a new
//! tab to look the key up, and the label of each row the field holds. A many_to_many field's
//! keys are written separated by commas (Django's `ManyToManyRawIdWidget`). What is posted is
//! checked as a select's value is: a key that names no row is refused with a message.

use serde_json::{json, Value};

use super::{slug, NAMESPACE};
use crate::config::raw::FieldType;
use crate::db::{Field, Model};
use crate::routing::{Args, Params, Router};

/// The keys a field's input holds, from the values posted (or shown): a foreign key's last
/// one; a many_to_many's, each value split at its commas. Trimmed, empty ones left out.
pub fn keys(f: &Field, values: &[impl AsRef<str>]) -> Vec<String> {
    let keys: Vec<&str> = match f.ty {
        FieldType::ManyToMany => values.iter().flat_map(|v| v.as_ref().split(',')).collect(),
        _ => values.last().map(AsRef::as_ref).into_iter().collect(),
    };
    keys.into_iter()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect()
}

/// The field's context turned into the text input's: `widget: raw_id`, `value` (the keys,
/// separated by commas), `many`, `lookup_url` (the target's list in the admin, when the admin
/// manages it) and `chosen` (each row of `rows` by `label`, with `href` to its page).
pub fn field(
    field: &mut Value,
    f: &Field,
    target: &Model,
    keys: &[String],
    rows: Vec<(String, String)>,
    router: &Router,
) {
    let s = slug(&target.name);
    let list = router
        .reverse(
            &format!("{NAMESPACE}:{s}-list"),
            Args::Named(&Params::new()),
        )
        .ok();
    let change = |key: &str| {
        let mut params = Params::new();
        params.insert("pk".into(), Value::String(key.to_string()));
        router
            .reverse(&format!("{NAMESPACE}:{s}-change"), Args::Named(&params))
            .ok()
    };
    let chosen: Vec<Value> = rows
        .into_iter()
        .map(|(key, label)| json!({"value": key, "label": label, "href": change(&key)}))
        .collect();
    field["widget"] = "raw_id".into();
    field["value"] = keys.join(",").into();
    field["many"] = (f.ty == FieldType::ManyToMany).into();
    field["lookup_url"] = list.into();
    field["chosen"] = chosen.into();
    field["options"] = Value::Array(Vec::new());
}
