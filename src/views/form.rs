//! The form of a `create` view (issue 11, step 4; not yet reachable from a route): what a
//! template sees of each field — its label, widget, the value to show (as posted, on a
//! re-render), its choices and its message. The default form template and the per-field
//! partials (`forms/<model>/<field>.hbs`) will render this list.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::links::RowLink;
use super::request::Response;
use super::{Call, CompileEnv, RouteDef};
use crate::config::diagnostic::suggestion;
use crate::config::raw::FieldType;
use crate::config::Diagnostic;
use crate::db::write::{insert_row, options, read_field, WriteError};
use crate::db::{Field, Model};
use crate::render::{Escape, Uses};

/// The name the built-in form is registered under.
const BUILTIN: &str = "__trellis_form";

/// A compiled `view: create` (Django's CreateView).
#[derive(Debug)]
pub struct CreateView {
    pub model: Arc<Model>,
    /// The fields the form shows and writes, in order (columns and many_to_many).
    fields: Vec<Field>,
    /// The route's template; `None`: the built-in form.
    template: Option<String>,
    success: Option<RowLink>,
    uses: Uses,
}

impl CreateView {
    pub fn compile(
        r: &RouteDef,
        env: &mut CompileEnv,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<CreateView> {
        let raw = &r.raw;
        let model = super::fields::model_for(env.models, raw, &r.source, &r.at)
            .map_err(|d| errors.push(d))
            .ok()?
            .clone();
        if model.from_files {
            errors.push(
                r.source
                    .diag(
                        &r.key("model"),
                        format!(
                            "the rows of {} come from files (its `source:`): a create view cannot add them",
                            model.name
                        ),
                    )
                    .with_hint(Some("add a file to the collection instead".into())),
            );
        }
        let fields = match &raw.fields {
            Some(names) => names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let f = model.field(n).or_else(|| model.many_field(n));
                    if f.is_none() {
                        errors.push(
                            r.source
                                .diag(
                                    &format!("{}[{i}]", r.key("fields")),
                                    format!("{} has no field `{n}`", model.name),
                                )
                                .with_hint(suggestion(n, model.field_names())),
                        );
                    }
                    f.cloned()
                })
                .collect(),
            None => model
                .fields
                .iter()
                .enumerate()
                .filter(|(i, f)| *i != model.pk && !f.auto_now && !f.auto_now_add)
                .map(|(_, f)| f.clone())
                .chain(model.many.iter().cloned())
                .collect(),
        };
        let name = raw.success.clone().unwrap_or_default();
        let success = match env.router.routes_named(&name) {
            [_, ..] => RowLink::to_name(env.router, &name, &model).map_err(|why| {
                r.source
                    .diag(&r.key("success"), format!("cannot go to `{name}`: {why}"))
            }),
            [] => Err(r
                .source
                .diag(&r.key("success"), format!("no route is named `{name}`"))
                .with_hint(env.router.suggest(&name))),
        };
        let success = success.map_err(|d| errors.push(d)).ok();
        let builtin = (BUILTIN, DEFAULT_TEMPLATE, "the built-in form");
        let uses = super::template::own_or_builtin(r, env, builtin, errors);
        Some(CreateView {
            model,
            fields,
            template: raw.template.clone(),
            success,
            uses,
        })
    }

    /// GET shows the form; POST checks every field and inserts the row (303 to `success`), or
    /// shows the form again with the values as sent and a message per field (400).
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let req = call.req;
        if req.method == "GET" || req.method == "HEAD" {
            return self.render(ctx, &call, &[], &[], 200);
        }
        let mut values = Vec::new();
        let mut messages = Vec::new();
        for f in &self.fields {
            let posted: Vec<&str> = req
                .form
                .iter()
                .filter(|(k, _)| *k == f.name)
                .map(|(_, v)| v.as_str())
                .collect();
            match read_field(f, &posted) {
                Ok(v) => values.push((f.name.as_str(), v)),
                Err(m) => messages.push((f.name.clone(), m)),
            }
        }
        if messages.is_empty() {
            let db = ctx
                .db
                .ok_or_else(|| call.internal("the site has no database"))?;
            let written = db
                .with(|c| Ok(insert_row(&mut c.conn, &db.models, &self.model, &values)))
                .map_err(|e| call.db(e))?;
            match written {
                // Only now, after COMMIT: a redirect received means a row saved.
                Ok(row) => {
                    let link = self
                        .success
                        .as_ref()
                        .ok_or_else(|| call.internal("no success route"))?;
                    let location = link.path(ctx.router, &row).map_err(|e| call.internal(e))?;
                    return Ok(Response::redirect(303, location));
                }
                Err(WriteError::Field(name, m)) => messages.push((name, m)),
                Err(WriteError::Db(e)) => return Err(call.db(e)),
            }
        }
        self.render(ctx, &call, &req.form, &messages, 400)
    }

    fn render(
        &self,
        ctx: &Ctx,
        call: &Call,
        posted: &[(String, String)],
        messages: &[(String, String)],
        status: u16,
    ) -> Result<Response, ViewError> {
        let mut fields = Vec::new();
        for f in &self.fields {
            let error = messages
                .iter()
                .find(|(n, _)| *n == f.name)
                .map(|(_, m)| m.as_str());
            let mut field = field_context(f, posted, error);
            if let Some(target) =
                f.to.as_ref()
                    .and_then(|t| ctx.db.and_then(|db| db.model(t).map(|m| (db, m))))
            {
                let (db, target) = target;
                let rows = db
                    .with(|c| options(&c.conn, target))
                    .map_err(|e| call.db(e))?;
                let chosen = |k: &str| {
                    field["values"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|s| s == k))
                        || (posted.is_empty() && field["value"] == k)
                };
                let list: Vec<Value> = rows
                    .into_iter()
                    .map(|(key, label)| json!({"value": key, "label": label, "selected": chosen(&key)}))
                    .collect();
                field["options"] = list.into();
            }
            fields.push(field);
        }
        let mut extra = Map::new();
        extra.insert(
            "form".into(),
            json!({"title": format!("New {}", label(&self.model.name)), "fields": fields}),
        );
        extra.insert("model".into(), self.model.name.clone().into());
        let context = ctx.context(call.req, call.params, call.query.clone(), extra, self.uses);
        let body = match &self.template {
            Some(t) => ctx.renderer.render(t, context),
            None => ctx.renderer.render_inline(BUILTIN, Escape::Html, context),
        }
        .map_err(|e| ViewError::render(format_args!("rendering the form of {}", call.origin), e))?;
        Ok(Response::html(status, body))
    }
}

/// The built-in form page of a `create` view, for a route without `template:`: one labelled
/// input per field (`form.fields`, each as [`field_context`] makes it), its message under it,
/// and the CSRF field. Rendered by Handlebars with HTML escaping, like a site's templates; it
/// mentions `csrf_`, so the page gets a token and its cookie.
pub const DEFAULT_TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{form.title}}</title></head>
<body>
<h1>{{form.title}}</h1>
<form method="post">
{{csrf_input}}
{{#each form.fields}}
<p>
{{#if (eq widget "checkbox")}}<label><input type="checkbox" name="{{name}}"{{#if checked}} checked{{/if}}> {{label}}</label>
{{else}}<label for="id_{{name}}">{{label}}</label>
{{#if (eq widget "textarea")}}<textarea id="id_{{name}}" name="{{name}}"{{#if required}} required{{/if}}>{{value}}</textarea>
{{else if (eq widget "select")}}<select id="id_{{name}}" name="{{name}}">{{#unless required}}<option value="">---------</option>{{/unless}}{{#each options}}<option value="{{value}}"{{#if selected}} selected{{/if}}>{{label}}</option>{{/each}}</select>
{{else if (eq widget "select_multiple")}}<select id="id_{{name}}" name="{{name}}" multiple>{{#each options}}<option value="{{value}}"{{#if selected}} selected{{/if}}>{{label}}</option>{{/each}}</select>
{{else}}<input id="id_{{name}}" type="{{widget}}" name="{{name}}" value="{{value}}"{{#if max_length}} maxlength="{{max_length}}"{{/if}}{{#if required}} required{{/if}}>
{{/if}}{{/if}}{{#if error}}<br><strong class="error">{{error}}</strong>{{/if}}
</p>
{{/each}}
<button type="submit">Save</button>
</form>
</body>
</html>
"#;

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

    /// The built-in form, rendered as a page is: posted values come back escaped, each message
    /// under its field, the CSRF field present.
    #[test]
    fn the_default_form_keeps_values_escaped_with_messages_and_the_csrf_field() {
        let dir = tempfile::tempdir().unwrap();
        let router = crate::routing::Router::new(Vec::new()).unwrap();
        let (mut r, errors) = crate::render::Renderer::load(
            dir.path(),
            std::sync::Arc::new(crate::routing::Router::new(Vec::new()).unwrap()),
            &"/static/".into(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        let html = crate::render::Escape::Html;
        r.register_inline("form", DEFAULT_TEMPLATE, html, &router)
            .unwrap();
        let title = field("{ type: string, max_length: 40 }");
        let mut flag = field("{ type: boolean }");
        flag.name = "published".into();
        let posted = vec![
            ("f".to_string(), "<script>x</script>".to_string()),
            ("published".to_string(), "on".to_string()),
        ];
        let fields = vec![
            field_context(&title, &posted, Some("at most 40 characters, got \"<b>\"")),
            field_context(&flag, &posted, None),
        ];
        let page = r
            .render_inline(
                "form",
                html,
                json!({"csrf_token": "abc123", "form": {"title": "New post", "fields": fields}}),
            )
            .unwrap();
        assert!(
            page.contains(r#"<input type="hidden" name="csrfmiddlewaretoken" value="abc123">"#),
            "{page}"
        );
        assert!(
            page.contains(r#"value="&lt;script&gt;x&lt;/script&gt;" maxlength="40" required>"#),
            "{page}"
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(
            page.contains(
                "<strong class=\"error\">at most 40 characters, got &quot;&lt;b&gt;&quot;</strong>"
            ),
            "{page}"
        );
        assert!(
            page.contains(r#"<input type="checkbox" name="published" checked> Published</label>"#),
            "{page}"
        );
    }
}
