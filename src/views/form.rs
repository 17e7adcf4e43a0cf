//! The form of a `create` view (issue 11, step 4; not yet reachable from a route): what a
//! template sees of each field — its label, widget, the value to show (as posted, on a
//! re-render), its choices and its message. The default form template and the per-field
//! partials (`forms/<model>/<field>.hbs`) will render this list.

use crate::config::raw::FieldType;
use crate::db::Field;
use serde_json::{json, Map, Value};

/// The input a field gets: as the admin of issue 11 lists them.
pub fn widget(field: &Field) -> &'static str {
    match field.ty {
        _ if field.choices.is_some() => "select",
        FieldType::Text | FieldType::Json => "textarea",
        FieldType::Boolean => "checkbox",
        FieldType::Integer | FieldType::Float => "number",
        FieldType::Date => "date",
        FieldType::Datetime => "datetime-local",
        FieldType::Email => "email",
        FieldType::Url => "url",
        FieldType::ForeignKey => "select",
        FieldType::ManyToMany => "select_multiple",
        _ => "text",
    }
}

/// `published_at` → `Published at`, as Django makes a verbose name.
pub fn label(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// A field as a template sees it. `posted`: the request's form pairs on a re-render (the
/// values are shown as sent), else empty (the field's default is shown); `error`: its message.
pub fn field_context(field: &Field, posted: &[(String, String)], error: Option<&str>) -> Value {
    let sent: Vec<&str> = posted
        .iter()
        .filter(|(k, _)| *k == field.name)
        .map(|(_, v)| v.as_str())
        .collect();
    let shown = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let value = match (sent.last(), &field.default) {
        (Some(v), _) => v.to_string(),
        (None, Some(d)) if posted.is_empty() => shown(d),
        _ => String::new(),
    };
    let checked = match field.ty {
        FieldType::Boolean if posted.is_empty() => field.default == Some(Value::Bool(true)),
        FieldType::Boolean => matches!(sent.last(), Some(&("on" | "true" | "1"))),
        _ => false,
    };
    let options: Vec<Value> = field
        .choices
        .iter()
        .flatten()
        .map(|c| {
            let c = shown(c);
            json!({ "value": c, "label": c, "selected": c == value })
        })
        .collect();
    let mut out = Map::new();
    out.insert("name".into(), field.name.clone().into());
    out.insert("label".into(), label(&field.name).into());
    out.insert("widget".into(), widget(field).into());
    out.insert("value".into(), value.into());
    out.insert("values".into(), sent.into());
    out.insert("checked".into(), checked.into());
    out.insert(
        "required".into(),
        (!field.null && field.ty != FieldType::Boolean).into(),
    );
    out.insert("max_length".into(), field.max_length.into());
    out.insert("options".into(), options.into());
    out.insert("error".into(), error.into());
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(yaml: &str) -> Field {
        let site = format!("models:\n  Post:\n    fields:\n      f: {yaml}\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.yaml");
        std::fs::write(&path, site).unwrap();
        let loaded = crate::config::yaml::load_site(&path).unwrap();
        let (models, errors) = crate::db::model::compile(&loaded.value.models, &loaded.source);
        assert!(errors.is_empty(), "{errors:?}");
        models.get("Post").unwrap().field("f").unwrap().clone()
    }

    #[test]
    fn a_field_shows_its_default_then_what_was_posted() {
        let status = field("{ type: string, choices: [draft, live], default: draft }");
        let fresh = field_context(&status, &[], None);
        assert_eq!(fresh["widget"], "select");
        assert_eq!(fresh["value"], "draft");
        assert_eq!(fresh["options"][0]["selected"], true);
        assert_eq!(fresh["options"][1]["selected"], false);
        let posted = vec![("f".to_string(), "live".to_string())];
        let again = field_context(&status, &posted, Some("nope"));
        assert_eq!(again["value"], "live");
        assert_eq!(again["options"][1]["selected"], true);
        assert_eq!(again["error"], "nope");
        assert_eq!(again["label"], "F");

        let flag = field("{ type: boolean, default: true }");
        assert_eq!(field_context(&flag, &[], None)["checked"], true);
        // A checkbox left unticked is not sent: posted without it, it shows unticked.
        let other = vec![("g".to_string(), "x".to_string())];
        assert_eq!(field_context(&flag, &other, None)["checked"], false);
        assert_eq!(field_context(&flag, &other, None)["required"], false);

        let body = field("{ type: text, \"null\": true }");
        assert_eq!(field_context(&body, &[], None)["widget"], "textarea");
        assert_eq!(field_context(&body, &[], None)["required"], false);
        assert_eq!(label("published_at"), "Published at");
    }
}
