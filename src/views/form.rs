//! The form views — `create`, `update` and `delete` (Django's CreateView, UpdateView and
//! DeleteView). `create` and `update` show one form: what a template sees of each field (its
//! label, widget, the value to show — the row's, or as posted on a re-render — its choices and
//! its message), rendered by the built-in page or the route's `template:`, one field by a
//! site's partial `forms/<Model>/<field>.hbs`. `delete` shows what the cascade removes
//! (`db::write::cascade_plan`) and deletes on POST. Every write is one transaction in
//! `db::write`; the 303 is made after its COMMIT.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::detail::{lookup_field, lookup_value};
use super::error::ViewError;
use super::links::RowLink;
use super::request::Response;
use super::{Call, CompileEnv, Endpoint, RouteDef, View};
use crate::config::diagnostic::suggestion;
use crate::config::raw::{FieldType, ViewKind};
use crate::config::Diagnostic;
use crate::db::history::{object_repr, Actor};
use crate::db::query::to_sql;
use crate::db::write::{
    cascade_plan, delete_row, find_row, insert_row, labels, options, past_options, read_field,
    update_row, CascadePlan, PlanEntry, WriteError,
};
use crate::db::{Database, Field, Model, SqlValue};
use crate::render::helpers::text;
use crate::render::{push_escaped, truthy, Escape, Uses};
use crate::routing::Router;

/// The names the built-in pages are registered under.
const BUILTIN: &str = "__trellis_form";
const BUILTIN_DELETE: &str = "__trellis_delete";

/// Which of Django's editing views a form route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Create,
    Update,
    Delete,
}

impl FormKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Create => "create",
            FormKind::Update => "update",
            FormKind::Delete => "delete",
        }
    }
}

/// A compiled `view: create`, `update` or `delete`.
#[derive(Debug)]
pub struct FormView {
    pub kind: FormKind,
    pub model: Arc<Model>,
    /// The fields the form shows and writes, in order (columns and many_to_many).
    fields: Vec<Field>,
    /// update and delete: the field the row is found by and the capture holding its value.
    lookup: Option<(Field, String)>,
    /// The route's template; `None`: the built-in page.
    template: Option<String>,
    /// Where a saved (or deleted) row sends the browser; `None` until [`link`] finds the
    /// model's detail (or list) route for a route without `success:`.
    success: Option<RowLink>,
    /// Per field, the site's partial that draws it (`forms/<Model>/<field>.hbs`).
    partials: HashMap<String, String>,
    uses: Uses,
    /// `history: true`: each write is logged in `trellis_log`, in its transaction.
    history: bool,
    /// The route's `context:`, merged into the page's.
    context: Map<String, Value>,
    /// The admin's forms: a message after each change, and where "Save and add another" and
    /// "Save and continue editing" go.
    admin: Option<AdminLinks>,
    /// `success_message:`, kept for the visitor's next page.
    message: Option<super::message::SuccessMessage>,
}

/// The admin's add and change routes of a form's model, and its name in messages.
#[derive(Debug)]
struct AdminLinks {
    add: RowLink,
    change: RowLink,
}

impl FormView {
    /// The route's own template (`None`: the built-in page), for `trellis routes`.
    pub fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    pub fn compile(
        r: &RouteDef,
        env: &mut CompileEnv,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<FormView> {
        let raw = &r.raw;
        let kind = match raw.view {
            ViewKind::Update => FormKind::Update,
            ViewKind::Delete => FormKind::Delete,
            _ => FormKind::Create,
        };
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
                            "the rows of {} come from files (its `source:`): a {} view cannot change them",
                            model.name,
                            raw.view.as_str()
                        ),
                    )
                    .with_hint(Some("edit the collection's files instead".into())),
            );
        }
        let lookup = match kind {
            FormKind::Create => None,
            _ => {
                let captures = r.pattern.param_names();
                let view = raw.view.as_str();
                Some(lookup_field(
                    raw, &model, &r.source, &r.at, &captures, view, errors,
                )?)
            }
        };
        let fields = compile_fields(r, &model, errors);
        let message = super::message::SuccessMessage::compile(r, &model, errors);
        let success = raw.success.as_ref().and_then(|name| {
            let link = match env.router.routes_named(name) {
                [_, ..] => RowLink::to_name(env.router, name, &model).map_err(|why| {
                    r.source
                        .diag(&r.key("success"), format!("cannot go to `{name}`: {why}"))
                }),
                [] => Err(r
                    .source
                    .diag(&r.key("success"), format!("no route is named `{name}`"))
                    .with_hint(env.router.suggest(name))),
            };
            link.map_err(|d| errors.push(d)).ok()
        });
        let builtin = match kind {
            FormKind::Delete => (BUILTIN_DELETE, DELETE_TEMPLATE, "the built-in delete page"),
            _ => (BUILTIN, DEFAULT_TEMPLATE, "the built-in form"),
        };
        let uses = super::template::own_or_builtin(r, env, builtin, errors);
        super::template::warn_without_csrf(r, &uses, errors);
        let partials = match env.renderer.as_deref() {
            Some(renderer) => fields
                .iter()
                .map(|f| (f.name.clone(), format!("forms/{}/{}", model.name, f.name)))
                .filter(|(_, t)| renderer.has(t))
                .collect(),
            None => HashMap::new(),
        };
        let admin = raw.admin_form.as_ref().and_then(|a| {
            let link = |name: &str| RowLink::to_name(env.router, name, &model);
            match (link(&a.add), link(&a.change)) {
                (Ok(add), Ok(change)) => Some(AdminLinks { add, change }),
                (Err(why), _) | (_, Err(why)) => {
                    errors.push(r.source.diag(&r.at, format!("the admin's form: {why}")));
                    None
                }
            }
        });
        Some(FormView {
            kind,
            model,
            fields,
            lookup,
            template: raw.template.clone(),
            success,
            partials,
            uses,
            history: raw.history == Some(true),
            context: r.context(),
            admin,
            message,
        })
    }

    /// GET shows the form (or the delete confirmation); POST saves the row and answers 303 to
    /// `success`, or shows the form again with the values as sent and a message per field
    /// (400). A lookup that names no row is a 404.
    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let db = ctx
            .db
            .ok_or_else(|| call.internal("the site has no database"))?;
        let by = match &self.lookup {
            Some((field, capture)) => {
                let raw = call.params.get(capture).ok_or(ViewError::NotFound)?;
                Some((field, lookup_value(field, raw).ok_or(ViewError::NotFound)?))
            }
            None => None,
        };
        let get = matches!(call.req.method.as_str(), "GET" | "HEAD");
        if let (FormKind::Delete, false, Some((f, v))) = (self.kind, get, &by) {
            return self.delete(ctx, &call, db, (f, v));
        }
        let row = match &by {
            Some((f, v)) => Some(
                db.with(|c| find_row(&c.conn, &self.model, (f, v)))
                    .map_err(|e| call.db(e))?
                    .ok_or(ViewError::NotFound)?,
            ),
            None => None,
        };
        match (self.kind, row) {
            (FormKind::Delete, Some(row)) => self.confirm(ctx, &call, db, row, 200),
            (_, row) if get => {
                let pairs = row.as_ref().map(|r| self.as_posted(r));
                let shown = pairs.as_deref().map_or(Shown::Defaults, Shown::Posted);
                self.render(ctx, &call, row, shown, &[], 200)
            }
            (_, row) => self.save(ctx, &call, db, by.as_ref().map(|(f, v)| (*f, v)), row),
        }
    }

    /// POST of create and update: every field read and checked, then one transaction.
    fn save(
        &self,
        ctx: &Ctx,
        call: &Call,
        db: &Database,
        by: Option<(&Field, &SqlValue)>,
        row: Option<Map<String, Value>>,
    ) -> Result<Response, ViewError> {
        let req = call.req;
        let mut values = Vec::new();
        let mut messages = Vec::new();
        for f in &self.fields {
            let split;
            let mut posted: Vec<&str> = req
                .form
                .iter()
                .filter(|(k, _)| *k == f.name)
                .map(|(_, v)| v.as_str())
                .collect();
            if f.ty == FieldType::ManyToMany && self.raw_id(ctx, call, f)? {
                // The admin's text input holds the keys separated by commas.
                split = crate::admin::raw_id::keys(f, &posted);
                posted = split.iter().map(String::as_str).collect();
            }
            match read_field(f, &posted) {
                Ok(v) => values.push((f.name.as_str(), v)),
                Err(m) => messages.push((f.name.clone(), m)),
            }
        }
        if messages.is_empty() {
            messages.extend(self.success_refuses(ctx, row.as_ref(), &values));
        }
        if messages.is_empty() {
            let actor = self.actor(ctx, call);
            let log = actor.as_ref();
            let written = db
                .with(|c| {
                    let (conn, models) = (&mut c.conn, &db.models);
                    Ok(match by {
                        None => insert_row(conn, models, &self.model, &values, log),
                        Some(by) => update_row(conn, models, &self.model, by, &values, log),
                    })
                })
                .map_err(|e| call.db(e))?;
            match written {
                // Only now, after COMMIT: a redirect received means a row saved.
                Ok(written) => return self.saved(ctx, call, &written),
                Err(WriteError::Field(name, m)) => messages.push((name, m)),
                Err(WriteError::NotFound) => return Err(ViewError::NotFound),
                Err(WriteError::Db(e)) => return Err(call.db(e)),
            }
        }
        self.render(ctx, call, row, Shown::Posted(&req.form), &messages, 400)
    }

    /// Who writes, for the history log: `None` when the route keeps none. Read before the
    /// write's transaction (the session is its own read).
    fn actor(&self, ctx: &Ctx, call: &Call) -> Option<Actor> {
        self.history.then(|| Actor {
            user: crate::auth::current_user(ctx, call.req).map(|u| (u.id, u.username)),
        })
    }

    /// Before anything is written: whether the `success` route can take the values posted
    /// for its captures (a `str` capture takes no `/`); if not, a message for the field, and
    /// the row is not saved (it would be, and its redirect then fail with a 500). Checked on
    /// the row as it will be (the posted values over the current row; a new row's automatic
    /// key is any number); an argument not known before the write is not checked.
    fn success_refuses(
        &self,
        ctx: &Ctx,
        row: Option<&Map<String, Value>>,
        values: &[(&str, Value)],
    ) -> Option<(String, String)> {
        let link = self.success.as_ref()?;
        let mut will_be = row.cloned().unwrap_or_default();
        let mut posted = Vec::new();
        for (name, v) in values {
            if let Some(f) = self.model.field(name) {
                will_be.insert(f.column.clone(), v.clone());
                posted.push(f);
            }
        }
        let pk = self.model.pk_field();
        if pk.ty == FieldType::Integer {
            will_be.entry(pk.column.clone()).or_insert(Value::from(1));
        }
        if link.columns().any(|c| !will_be.contains_key(c)) {
            return None;
        }
        let why = link.path(ctx.router, &will_be).err()?;
        let field = posted
            .iter()
            .find(|f| link.columns().any(|c| c == f.column))?;
        Some((
            field.name.clone(),
            format!("this value cannot be part of the address of the page saving leads to ({why})"),
        ))
    }

    /// After COMMIT: the 303 to `success`, filled from `row`. In the admin, also a message for
    /// the next page (Django's "The post “Hello” was added successfully."), and "Save and add
    /// another" (`_addanother`) or "Save and continue editing" (`_continue`) go back to a form.
    fn saved(
        &self,
        ctx: &Ctx,
        call: &Call,
        row: &Map<String, Value>,
    ) -> Result<Response, ViewError> {
        let mut link = self
            .success
            .as_ref()
            .ok_or_else(|| call.internal("no success route"))?;
        // The admin's "Save" and delete go back to its list: with the list's query, as the
        // other two buttons keep it for their forms (Django's `preserve_filters`).
        let mut to_list = true;
        if let Some(admin) = &self.admin {
            let name = self.model.name.to_lowercase();
            let (verb, form) = match self.kind {
                FormKind::Create => ("added", true),
                FormKind::Update => ("changed", true),
                FormKind::Delete => ("deleted", false),
            };
            let mut text = format!(
                "The {name} “{}” was {verb} successfully.",
                object_repr(&self.model, row)
            );
            if form && call.req.form_last("_addanother").is_some() {
                text.push_str(&format!(" You may add another {name} below."));
                (link, to_list) = (&admin.add, false);
            } else if form && call.req.form_last("_continue").is_some() {
                text.push_str(" You may edit it again below.");
                (link, to_list) = (&admin.change, false);
            }
            keep_message(ctx, call, &text);
        } else if let Some(message) = &self.message {
            keep_message(ctx, call, &message.fill(row));
        }
        let mut location = link.path(ctx.router, row).map_err(|e| call.internal(e))?;
        if self.admin.is_some() {
            location = crate::admin::filters::redirect(location, call.req, to_list);
        }
        Ok(Response::redirect(303, location))
    }

    /// delete's POST: the row found and deleted with all that goes with it in one transaction
    /// (303, filled from the row as it was), or, when `on_delete: restrict` rows forbid it,
    /// the confirmation page again with them (409).
    fn delete(
        &self,
        ctx: &Ctx,
        call: &Call,
        db: &Database,
        by: (&Field, &SqlValue),
    ) -> Result<Response, ViewError> {
        let actor = self.actor(ctx, call);
        match db
            .with(|c| Ok(delete_row(&mut c.conn, &self.model, by, actor.as_ref())))
            .map_err(|e| call.db(e))?
        {
            Ok(row) => self.saved(ctx, call, &row),
            Err(WriteError::NotFound) => Err(ViewError::NotFound),
            Err(WriteError::Db(e)) => Err(call.db(e)),
            Err(WriteError::Field(..)) => {
                let row = db
                    .with(|c| find_row(&c.conn, &self.model, by))
                    .map_err(|e| call.db(e))?
                    .ok_or(ViewError::NotFound)?;
                self.confirm(ctx, call, db, row, 409)
            }
        }
    }

    /// delete's page: what goes with the row (GET), or what forbids deleting it (409).
    fn confirm(
        &self,
        ctx: &Ctx,
        call: &Call,
        db: &Database,
        row: Map<String, Value>,
        status: u16,
    ) -> Result<Response, ViewError> {
        let pk_field = self.model.pk_field();
        let pk = to_sql(
            pk_field.ty,
            row.get(&pk_field.column).unwrap_or(&Value::Null),
        );
        let plan = db
            .with(|c| cascade_plan(&c.conn, &db.models, &self.model, &pk))
            .map_err(|e| call.db(e))?;
        let name = object_repr(&self.model, &row);
        let form = json!({
            "title": format!("Delete {} “{name}”?", label(&self.model.name)),
            "blocked": !plan.blocked.is_empty(),
            "plan": plan_context(&plan),
        });
        self.page(ctx, call, Some(row), form, status)
    }

    /// A row's values as a form would post them, to show it in its form: shown as posted,
    /// nothing falls back to a default.
    fn as_posted(&self, row: &Map<String, Value>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for f in &self.fields {
            let value = row.get(&f.column).or_else(|| row.get(&f.name));
            match value {
                None | Some(Value::Null) | Some(Value::Bool(false)) => {}
                Some(Value::Bool(true)) => out.push((f.name.clone(), "on".into())),
                Some(Value::Array(keys)) => {
                    out.extend(keys.iter().map(|k| (f.name.clone(), text(k))));
                }
                Some(v) => out.push((f.name.clone(), text(v))),
            }
        }
        out
    }

    fn render(
        &self,
        ctx: &Ctx,
        call: &Call,
        object: Option<Map<String, Value>>,
        shown: Shown,
        messages: &[(String, String)],
        status: u16,
    ) -> Result<Response, ViewError> {
        let mut fields = Vec::new();
        for f in &self.fields {
            let error = messages
                .iter()
                .find(|(n, _)| *n == f.name)
                .map(|(_, m)| m.as_str());
            let mut field = field_context(f, shown, error);
            self.choices(ctx, call, f, &mut field, shown)?;
            if let Some(partial) = self.partials.get(&f.name) {
                let html = ctx.renderer.render(partial, field.clone()).map_err(|e| {
                    ViewError::render(format_args!("rendering {partial} for {}", call.origin), e)
                })?;
                field["html"] = html.into();
            }
            // The built-in page writes what the partial wrote, or when it wrote nothing (or
            // there is none) the field's input.
            if self.template.is_none() && !truthy(&field["html"]) {
                field["html"] = widget_html(&field).into();
            }
            fields.push(field);
        }
        let name = label(&self.model.name);
        let title = match &object {
            Some(row) => format!("Edit {name} “{}”", object_repr(&self.model, row)),
            None => format!("New {name}"),
        };
        // A field with a look-up (`admin::raw_id`): the page adds that field's search form.
        let lookups = fields.iter().any(|f| f["lookup_url"].is_string());
        // Built as a map: `json!` would copy every field's context (`to_value`).
        let mut form = Map::new();
        form.insert("title".into(), title.into());
        form.insert("fields".into(), Value::Array(fields));
        form.insert("has_errors".into(), (!messages.is_empty()).into());
        form.insert("lookups".into(), lookups.into());
        self.page(ctx, call, object, Value::Object(form), status)
    }

    /// A foreign key's or many_to_many's target, when the site has a database.
    fn target<'a>(&self, ctx: &Ctx<'a>, f: &Field) -> Option<(&'a Database, &'a Model)> {
        let db = ctx.db?;
        Some((db, db.model(f.to.as_deref()?)?))
    }

    /// Whether the admin asks for `f`'s keys in a text input: its target has more rows than a
    /// select lists (Django's `raw_id_fields`, here chosen by the table's size).
    fn raw_id(&self, ctx: &Ctx, call: &Call, f: &Field) -> Result<bool, ViewError> {
        match self.target(ctx, f) {
            Some((db, target)) if self.admin.is_some() => db
                .with(|c| past_options(&c.conn, target))
                .map_err(|e| call.db(e)),
            _ => Ok(false),
        }
    }

    /// A foreign key's or many_to_many's choices in its field's context: its target's rows
    /// for a select, or in the admin past a select's cap, the keys it holds in a text input
    /// with their rows' labels (`admin::raw_id`).
    fn choices(
        &self,
        ctx: &Ctx,
        call: &Call,
        f: &Field,
        field: &mut Value,
        shown: Shown,
    ) -> Result<(), ViewError> {
        let Some((db, target)) = self.target(ctx, f) else {
            return Ok(());
        };
        // The keys the field holds: those posted, or on a fresh page its value.
        let mut keys: Vec<String> = field["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        if let Shown::Defaults = shown {
            keys.extend(field["value"].as_str().map(String::from));
        }
        if self.raw_id(ctx, call, f)? {
            let keys = crate::admin::raw_id::keys(f, &keys);
            let rows = db
                .with(|c| labels(&c.conn, target, &keys))
                .map_err(|e| call.db(e))?;
            crate::admin::raw_id::field(field, f, target, &keys, rows, ctx.router);
            return Ok(());
        }
        let rows = db
            .with(|c| options(&c.conn, target, &keys))
            .map_err(|e| call.db(e))?;
        let chosen = |k: &str| keys.iter().any(|s| s == k);
        let list: Vec<Value> = rows
            .into_iter()
            .map(|(key, label)| option(chosen(&key), key, label))
            .collect();
        field["options"] = list.into();
        Ok(())
    }

    /// The page: the route's template, else the built-in one, with `form`, `model` and (update,
    /// delete) `object`.
    fn page(
        &self,
        ctx: &Ctx,
        call: &Call,
        object: Option<Map<String, Value>>,
        form: Value,
        status: u16,
    ) -> Result<Response, ViewError> {
        let mut extra = self.context.clone();
        extra.insert("form".into(), form);
        extra.insert("model".into(), self.model.name.clone().into());
        if self.admin.is_some() {
            crate::admin::filters::context(call.req, false, &mut extra);
        }
        if let Some(mut row) = object {
            // `object.pk` as a detail page has it, whatever the key's column is called.
            let pk = row.get(&self.model.pk_field().column).cloned();
            row.entry("pk").or_insert(pk.unwrap_or(Value::Null));
            extra.insert("object".into(), Value::Object(row));
        }
        let context = ctx.context(call.req, call.params, call.query.clone(), extra, self.uses);
        let builtin = if self.kind == FormKind::Delete {
            BUILTIN_DELETE
        } else {
            BUILTIN
        };
        let body = match &self.template {
            Some(t) => ctx.renderer.render(t, context),
            None => ctx.renderer.render_inline(builtin, Escape::Html, context),
        }
        .map_err(|e| ViewError::render(format_args!("rendering the form of {}", call.origin), e))?;
        Ok(Response::html(status, body))
    }
}

/// `fields:` as listed, else every column but the primary key and the `auto_now*` ones, then
/// the many_to_many fields. A listed field a form must not write (as Django refuses its
/// non-editable fields) is an error: see [`not_writable`].
fn compile_fields(r: &RouteDef, model: &Model, errors: &mut Vec<Diagnostic>) -> Vec<Field> {
    match &r.raw.fields {
        Some(names) => names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                let at = format!("{}[{i}]", r.key("fields"));
                let f = model.field(n).or_else(|| model.many_field(n));
                match f {
                    None => {
                        // Only the fields a form may write: `id` or an `auto_now` time would
                        // be refused in turn.
                        let writable: Vec<&str> = (model.fields.iter().chain(&model.many))
                            .filter(|f| not_writable(r, model, f).is_none())
                            .map(|f| f.name.as_str())
                            .collect();
                        errors.push(
                            r.source
                                .diag(&at, format!("{} has no field `{n}`", model.name))
                                .with_hint(suggestion(n, writable)),
                        )
                    }
                    Some(f) => {
                        if let Some(why) = not_writable(r, model, f) {
                            let hint = Some("leave it out of `fields:`".to_string());
                            errors.push(r.source.diag(&at, why).with_hint(hint));
                        }
                    }
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
    }
}

/// Why a form may not write `f`, if it may not: the automatic `id` (Django's AutoField), an
/// `auto_now`/`auto_now_add` time, and on `update` the primary key (moving a row to another key
/// breaks the rows and links that refer to it).
fn not_writable(r: &RouteDef, model: &Model, f: &Field) -> Option<String> {
    let pk = model.pk_field();
    let name = &f.name;
    // `id`, an integer key: SQLite's rowid, given to each new row (Django's AutoField).
    let automatic = pk.name == "id" && pk.ty == FieldType::Integer;
    if f.name == pk.name && automatic {
        Some(format!(
            "`{name}` is the automatic primary key: a form cannot write it"
        ))
    } else if f.name == pk.name && r.raw.view == ViewKind::Update {
        Some(format!(
            "`{name}` is the primary key of {}: an update cannot change it",
            model.name
        ))
    } else if f.auto_now || f.auto_now_add {
        let which = if f.auto_now {
            "auto_now"
        } else {
            "auto_now_add"
        };
        Some(format!(
            "`{name}` is `{which}`: it takes the time, a form cannot write it"
        ))
    } else {
        None
    }
}

/// Keep a success message for the visitor's next page (in a signed-in user's session, else in
/// the signed `messages` cookie). The row is saved: a message that cannot be kept is logged,
/// never a failed answer.
fn keep_message(ctx: &Ctx, call: &Call, text: &str) {
    if let Err(e) = crate::auth::add_message(ctx, call.req, "success", text) {
        tracing::warn!("keeping the message after {}: {e}", call.origin);
    }
}

/// A cascade plan as the delete page reads it: `deleted`, `set_null` and `blocked`, each a list
/// of `{model, count, labels, more}` (`more`: rows beyond the labels shown).
fn plan_context(plan: &CascadePlan) -> Value {
    let list = |entries: &[PlanEntry]| -> Value {
        entries
            .iter()
            .map(|e| {
                json!({
                    "model": e.model,
                    "count": e.count,
                    "labels": e.labels,
                    "more": e.count > e.labels.len() && !e.labels.is_empty(),
                })
            })
            .collect()
    };
    json!({
        "deleted": list(&plan.deleted),
        "set_null": list(&plan.set_null),
        "blocked": list(&plan.blocked),
    })
}

/// For each form route without `success:`, once every route is compiled: the model's detail
/// route whose captures the row fills (create, update) or its list route without captures
/// (delete), never one of the admin's (a visitor is not sent into it); a placed error with a
/// hint when there is none. `defs` and `endpoints` as
/// `sitemap::link` takes them.
pub fn link(
    defs: &[RouteDef],
    endpoints: &mut [Endpoint],
    router: &Router,
    errors: &mut Vec<Diagnostic>,
) {
    // A route that failed to compile has no endpoint: the others are found by their origin.
    let by_origin: HashMap<&str, usize> = endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| (e.origin.as_str(), i))
        .collect();
    let endpoint = |def: &RouteDef| by_origin.get(def.origin.as_str()).map(|&i| &endpoints[i]);
    // Per model, in the router's order, the routes a form may go to: its HTML detail routes
    // (create, update), its HTML list routes without captures (delete).
    let mut details: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut lists: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, def) in defs.iter().enumerate() {
        let Some(e) = endpoint(def) else { continue };
        if !e.allows("GET") || def.page_route || def.name.as_deref().is_some_and(crate::admin::owns)
        {
            continue;
        }
        let (to, model) = match &e.view {
            View::Detail(v) if !v.out.json => (&mut details, &v.out.model.name),
            View::List(v) if !v.out.json && router.pattern(index).param_names().is_empty() => {
                (&mut lists, &v.out.model.name)
            }
            _ => continue,
        };
        to.entry(model.as_str()).or_default().push(index);
    }
    let mut found: Vec<(usize, Option<RowLink>)> = Vec::new();
    for def in defs {
        let Some(e) = endpoint(def) else { continue };
        let View::Form(form) = &e.view else { continue };
        if form.success.is_some() || def.raw.success.is_some() {
            continue;
        }
        let model = &form.model;
        let candidates = match form.kind {
            FormKind::Delete => &lists,
            FormKind::Create | FormKind::Update => &details,
        };
        let target = candidates
            .get(model.name.as_str())
            .into_iter()
            .flatten()
            .find_map(|&index| RowLink::to_route(router, index, model).ok());
        if target.is_none() {
            let (wanted, hint) = match form.kind {
                FormKind::Delete => (
                    "list route without captures",
                    "name the route to go to after deleting: `success: post-list`",
                ),
                _ => (
                    "detail route",
                    "add a detail route of the model, or name a route: `success: post-detail`",
                ),
            };
            errors.push(
                def.source
                    .diag(
                        &def.at,
                        format!(
                            "`success` is not set and the site has no {wanted} of {} to go to",
                            model.name
                        ),
                    )
                    .with_hint(Some(hint.into())),
            );
        }
        found.push((by_origin[def.origin.as_str()], target));
    }
    for (i, target) in found {
        if let View::Form(form) = &mut endpoints[i].view {
            form.success = target;
        }
    }
}

/// The built-in form page of a `create` or `update` view, for a route without `template:`: one
/// labelled input per field (`form.fields`, each as [`field_context`] makes it, with `html`:
/// what the site's partial wrote, else the input as [`widget_html`] writes it), its message
/// under it, and the CSRF field. Rendered by Handlebars with HTML escaping, like a site's
/// templates; it mentions `csrf_`, so the page gets a token and its cookie.
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
{{{html}}}
{{#if error}}<br><strong class="error">{{error}}</strong>{{/if}}
</p>
{{/each}}
<button type="submit">Save</button>
</form>
</body>
</html>
"#;

/// The built-in confirmation page of a `delete` view: what the cascade removes (`form.plan`,
/// as `plan_context` makes it), and the button; or, when rows forbid the delete, which.
pub const DELETE_TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{form.title}}</title></head>
<body>
<h1>{{form.title}}</h1>
{{#if form.blocked}}
<p>It cannot be deleted: these rows point at it and forbid it (<code>on_delete: restrict</code>).</p>
<ul class="blocked">{{#each form.plan.blocked}}<li>{{model}}: {{count}} ({{#each labels}}{{#unless @first}}, {{/unless}}{{this}}{{/each}}{{#if more}}, …{{/if}})</li>{{/each}}</ul>
{{else}}
<p>Deleting it deletes these rows:</p>
<ul class="deleted">{{#each form.plan.deleted}}<li>{{model}}: {{count}}{{#if labels}} ({{#each labels}}{{#unless @first}}, {{/unless}}{{this}}{{/each}}{{#if more}}, …{{/if}}){{/if}}</li>{{/each}}</ul>
{{#if form.plan.set_null}}<p>These rows are kept, their link to it emptied:</p>
<ul class="set-null">{{#each form.plan.set_null}}<li>{{model}}: {{count}} ({{#each labels}}{{#unless @first}}, {{/unless}}{{this}}{{/each}}{{#if more}}, …{{/if}})</li>{{/each}}</ul>{{/if}}
<form method="post">
{{csrf_input}}
<button type="submit">Delete</button>
</form>
{{/if}}
</body>
</html>
"#;

/// A field's label and input as the built-in form writes them, from the field's context (as
/// [`field_context`] and the choices make it): each value written as `{{value}}` writes it
/// (`render::push_escaped`), each condition decided as `{{#if}}` decides it. Written once per
/// field here, the page's template only iterates: a chain of `if`/`eq` helpers per field was
/// two thirds of the page's cost. A checkbox:
/// `<label><input type="checkbox" name="N" checked> Label</label>`; the others
/// `<label for="id_N">Label</label>` and on the next line a `textarea`, a `select` (an empty
/// choice first unless required), a `select multiple`, or an `input` of type `widget`.
pub fn widget_html(field: &Value) -> String {
    let mut out = String::with_capacity(256);
    let put = |out: &mut String, key: &str| push_escaped(out, &field[key]);
    let name = |out: &mut String| {
        out.push_str("id=\"id_");
        put(out, "name");
        out.push_str("\" name=\"");
        put(out, "name");
        out.push('"');
    };
    let required = truthy(&field["required"]);
    let widget = field["widget"].as_str().unwrap_or_default();
    if widget == "checkbox" {
        out.push_str("<label><input type=\"checkbox\" name=\"");
        put(&mut out, "name");
        out.push('"');
        if truthy(&field["checked"]) {
            out.push_str(" checked");
        }
        out.push_str("> ");
        put(&mut out, "label");
        out.push_str("</label>");
        return out;
    }
    out.push_str("<label for=\"id_");
    put(&mut out, "name");
    out.push_str("\">");
    put(&mut out, "label");
    out.push_str("</label>\n");
    match widget {
        "textarea" => {
            out.push_str("<textarea ");
            name(&mut out);
            out.push_str(if required { " required>" } else { ">" });
            put(&mut out, "value");
            out.push_str("</textarea>");
        }
        "select" | "select_multiple" => {
            out.push_str("<select ");
            name(&mut out);
            if widget == "select_multiple" {
                out.push_str(" multiple>");
            } else {
                out.push('>');
                if !required {
                    out.push_str("<option value=\"\">---------</option>");
                }
            }
            for option in field["options"].as_array().into_iter().flatten() {
                out.push_str("<option value=\"");
                push_escaped(&mut out, &option["value"]);
                out.push('"');
                if truthy(&option["selected"]) {
                    out.push_str(" selected");
                }
                out.push('>');
                push_escaped(&mut out, &option["label"]);
                out.push_str("</option>");
            }
            out.push_str("</select>");
        }
        _ => {
            out.push_str("<input id=\"id_");
            put(&mut out, "name");
            out.push_str("\" type=\"");
            put(&mut out, "widget");
            out.push_str("\" name=\"");
            put(&mut out, "name");
            out.push_str("\" value=\"");
            put(&mut out, "value");
            out.push('"');
            if truthy(&field["max_length"]) {
                out.push_str(" maxlength=\"");
                put(&mut out, "max_length");
                out.push('"');
            }
            out.push_str(if required { " required>" } else { ">" });
        }
    }
    out
}

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

/// One entry of a field's `options`: `{value, label, selected}` (a map built directly: `json!`
/// would copy each string).
fn option(selected: bool, value: String, label: String) -> Value {
    let mut out = Map::new();
    out.insert("value".into(), value.into());
    out.insert("label".into(), label.into());
    out.insert("selected".into(), selected.into());
    Value::Object(out)
}

/// What a form's fields show: each field's default (a fresh form), or values as posted (a
/// re-render shows the request's form pairs; an existing row is shown as its form would post
/// it), where a field not sent is empty or unticked, never its default.
#[derive(Debug, Clone, Copy)]
pub enum Shown<'a> {
    Defaults,
    Posted(&'a [(String, String)]),
}

/// A field as a template sees it, showing `shown`; `error`: its message.
pub fn field_context(field: &Field, shown: Shown, error: Option<&str>) -> Value {
    let posted: &[(String, String)] = match shown {
        Shown::Defaults => &[],
        Shown::Posted(pairs) => pairs,
    };
    let fresh = matches!(shown, Shown::Defaults);
    let sent: Vec<&str> = posted
        .iter()
        .filter(|(k, _)| *k == field.name)
        .map(|(_, v)| v.as_str())
        .collect();
    let value = match (sent.last(), &field.default) {
        (Some(v), _) => v.to_string(),
        (None, Some(d)) if fresh => text(d),
        _ => String::new(),
    };
    let checked = match field.ty {
        FieldType::Boolean if fresh => field.default == Some(Value::Bool(true)),
        FieldType::Boolean => matches!(sent.last(), Some(&("on" | "true" | "1"))),
        _ => false,
    };
    let options: Vec<Value> = field
        .choices
        .iter()
        .flatten()
        .map(|c| {
            let c = text(c);
            option(c == value, c.clone(), c)
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
        let fresh = field_context(&status, Shown::Defaults, None);
        assert_eq!(fresh["widget"], "select");
        assert_eq!(fresh["value"], "draft");
        assert_eq!(fresh["options"][0]["selected"], true);
        assert_eq!(fresh["options"][1]["selected"], false);
        let posted = vec![("f".to_string(), "live".to_string())];
        let again = field_context(&status, Shown::Posted(&posted), Some("nope"));
        assert_eq!(again["value"], "live");
        assert_eq!(again["options"][1]["selected"], true);
        assert_eq!(again["error"], "nope");
        assert_eq!(again["label"], "F");

        let flag = field("{ type: boolean, default: true }");
        assert_eq!(field_context(&flag, Shown::Defaults, None)["checked"], true);
        // A checkbox left unticked is not sent: posted without it, it shows unticked.
        let other = vec![("g".to_string(), "x".to_string())];
        assert_eq!(
            field_context(&flag, Shown::Posted(&other), None)["checked"],
            false
        );
        assert_eq!(
            field_context(&flag, Shown::Posted(&other), None)["required"],
            false
        );

        let body = field("{ type: text, \"null\": true }");
        assert_eq!(
            field_context(&body, Shown::Defaults, None)["widget"],
            "textarea"
        );
        assert_eq!(
            field_context(&body, Shown::Defaults, None)["required"],
            false
        );
        assert_eq!(label("published_at"), "Published at");
    }

    /// A renderer of a site without templates, with `inline` registered as HTML templates.
    fn renderer(inline: &[(&str, &str)]) -> crate::render::Renderer {
        let dir = tempfile::tempdir().unwrap();
        let router = crate::routing::Router::new(Vec::new()).unwrap();
        let (mut r, errors) = crate::render::Renderer::load(
            dir.path(),
            std::sync::Arc::new(crate::routing::Router::new(Vec::new()).unwrap()),
            &"/static/".into(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        for (name, text) in inline {
            r.register_inline(name, text, crate::render::Escape::Html, &router)
                .unwrap();
        }
        r
    }

    /// The built-in form, rendered as a page is: posted values come back escaped, each message
    /// under its field, the CSRF field present.
    #[test]
    fn the_default_form_keeps_values_escaped_with_messages_and_the_csrf_field() {
        let html = crate::render::Escape::Html;
        let r = renderer(&[("form", DEFAULT_TEMPLATE)]);
        let title = field("{ type: string, max_length: 40 }");
        let mut flag = field("{ type: boolean }");
        flag.name = "published".into();
        let posted = vec![
            ("f".to_string(), "<script>x</script>".to_string()),
            ("published".to_string(), "on".to_string()),
        ];
        let fields: Vec<Value> = [
            field_context(
                &title,
                Shown::Posted(&posted),
                Some("at most 40 characters, got \"<b>\""),
            ),
            field_context(&flag, Shown::Posted(&posted), None),
        ]
        .into_iter()
        .map(|mut f| {
            f["html"] = widget_html(&f).into();
            f
        })
        .collect();
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

    /// The page's fields as the template wrote them before `widget_html` (a chain of `if`/`eq`
    /// helpers per field), kept here to hold `widget_html` to the same bytes.
    const CHAIN: &str = r#"{{#each fields}}
<p>
{{#if html}}{{{html}}}
{{else if (eq widget "checkbox")}}<label><input type="checkbox" name="{{name}}"{{#if checked}} checked{{/if}}> {{label}}</label>
{{else}}<label for="id_{{name}}">{{label}}</label>
{{#if (eq widget "textarea")}}<textarea id="id_{{name}}" name="{{name}}"{{#if required}} required{{/if}}>{{value}}</textarea>
{{else if (eq widget "select")}}<select id="id_{{name}}" name="{{name}}">{{#unless required}}<option value="">---------</option>{{/unless}}{{#each options}}<option value="{{value}}"{{#if selected}} selected{{/if}}>{{label}}</option>{{/each}}</select>
{{else if (eq widget "select_multiple")}}<select id="id_{{name}}" name="{{name}}" multiple>{{#each options}}<option value="{{value}}"{{#if selected}} selected{{/if}}>{{label}}</option>{{/each}}</select>
{{else}}<input id="id_{{name}}" type="{{widget}}" name="{{name}}" value="{{value}}"{{#if max_length}} maxlength="{{max_length}}"{{/if}}{{#if required}} required{{/if}}>
{{/if}}{{/if}}{{#if error}}<br><strong class="error">{{error}}</strong>{{/if}}
</p>
{{/each}}"#;

    /// Every widget, fresh and as posted with the characters HTML escapes (and `=`, a
    /// backtick, a NUL), written by `widget_html` in the built-in page's loop, is byte for byte
    /// what the helper chain wrote.
    #[test]
    fn widget_html_writes_what_the_template_chain_wrote() {
        let html = crate::render::Escape::Html;
        let page = DEFAULT_TEMPLATE;
        let each = &page[page.find("{{#each").unwrap()..page.find("{{/each}}").unwrap() + 9];
        let lean = each.replace("form.fields", "fields");
        let r = renderer(&[("chain", CHAIN), ("lean", &lean)]);
        let kinds = [
            "{ type: string, max_length: 40, default: \"a \\\"q\\\" <b> `x` =y 'z' & w\" }",
            "{ type: string, \"null\": true }",
            "{ type: text }",
            "{ type: text, \"null\": true }",
            "{ type: boolean, default: true }",
            "{ type: boolean }",
            "{ type: integer, \"null\": true }",
            "{ type: float, default: 0.5 }",
            "{ type: date }",
            "{ type: datetime, \"null\": true }",
            "{ type: email }",
            "{ type: url, \"null\": true }",
            "{ type: string, choices: [draft, \"<live>\", \"a&b\"], default: draft }",
            "{ type: string, choices: [x, \"y'\"], \"null\": true }",
            "{ type: json, \"null\": true }",
        ];
        let weird = "<script>\"x\"</script> & ` = ' \0";
        let posted: Vec<(String, String)> = [weird, "<live>", "on", "y'", ""]
            .iter()
            .map(|v| ("f".to_string(), v.to_string()))
            .collect();
        let mut fields = Vec::new();
        for kind in kinds {
            let f = field(kind);
            for (shown, error) in [
                (Shown::Defaults, None),
                (Shown::Posted(&posted[..1]), Some("bad <b>")),
                (Shown::Posted(&posted[1..2]), None),
                (Shown::Posted(&posted[2..3]), None),
                (Shown::Posted(&posted[3..4]), None),
                (Shown::Posted(&posted[4..]), None),
            ] {
                fields.push(field_context(&f, shown, error));
            }
        }
        // A foreign key's and a many_to_many's options, as `choices` puts them.
        let mut target = field_context(&field("{ type: string }"), Shown::Defaults, None);
        let options = json!([{"value": "1", "label": "Acme <&> \"co\"", "selected": true}, {"value": "2", "label": "B'x `=`", "selected": false}]);
        for (widget, required) in [
            ("select", true),
            ("select", false),
            ("select_multiple", false),
        ] {
            target["widget"] = widget.into();
            target["required"] = required.into();
            target["options"] = options.clone();
            fields.push(target.clone());
        }
        let chain = r
            .render_inline("chain", html, json!({ "fields": fields }))
            .unwrap();
        for f in &mut fields {
            f["html"] = widget_html(f).into();
        }
        let lean = r
            .render_inline("lean", html, json!({ "fields": fields }))
            .unwrap();
        assert_eq!(lean, chain);
        assert!(
            chain.contains("&lt;script&gt;&quot;x&quot;&lt;/script&gt; &amp; &#x60; &#x3D; &#x27;"),
            "{chain}"
        );
    }
}
