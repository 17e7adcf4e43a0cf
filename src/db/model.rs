//! Compiled models: each `models:` entry checked and turned into a `Model` with typed fields,
//! columns and orderings. Validating a value on its way into the database lives here too, so
//! that fixtures (and, later, forms) share one set of rules.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::config::diagnostic::{suggestion, Diagnostic};
use crate::config::raw::{FieldType, OnDelete, RawField, RawModel, TextFormat};
use crate::config::yaml::Source;

/// A model field, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The column: the name, or `NAME_id` for a foreign key (as Django names it).
    pub column: String,
    pub ty: FieldType,
    pub null: bool,
    pub unique: bool,
    pub index: bool,
    pub primary_key: bool,
    pub default: Option<Value>,
    pub choices: Option<Vec<Value>>,
    pub max_length: Option<u32>,
    pub auto_now: bool,
    pub auto_now_add: bool,
    /// For a foreign key: the target model and what deleting it does.
    pub to: Option<String>,
    pub on_delete: OnDelete,
    pub markdown: bool,
    /// For a many_to_many field: the join table holding its pairs.
    pub join: Option<JoinTable>,
}

/// Where a many_to_many field's pairs live, named as Django names them: the table
/// `{model's table}_{field}` (`post_tags`), with `id`, a column for the model's row
/// (`post_id`) and one for the target's (`tag_id`), each named after its model in lower case.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinTable {
    pub table: String,
    /// The column holding the primary key of the field's own model's row.
    pub from: String,
    /// The column holding the primary key of the target model's row.
    pub to: String,
}

impl Field {
    /// The SQLite column type.
    pub fn sql_type(&self) -> &'static str {
        match self.ty {
            FieldType::Integer | FieldType::Boolean | FieldType::ForeignKey => "INTEGER",
            FieldType::Float => "REAL",
            _ => "TEXT",
        }
    }

    /// Does the field hold text that a search can look into?
    pub fn is_text(&self) -> bool {
        matches!(
            self.ty,
            FieldType::String
                | FieldType::Text
                | FieldType::Slug
                | FieldType::Email
                | FieldType::Url
                | FieldType::Uuid
        )
    }
}

/// One key of an ordering: a field, ascending or descending.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub field: String,
    pub column: String,
    pub desc: bool,
}

impl Order {
    /// `field`, ascending: the one-column key an index is asked for.
    pub fn asc(field: &Field) -> Order {
        Order {
            field: field.name.clone(),
            column: field.column.clone(),
            desc: false,
        }
    }
}

/// A model, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub table: String,
    pub fields: Vec<Field>,
    /// Index of the primary key in `fields`.
    pub pk: usize,
    pub ordering: Vec<Order>,
    /// `"id", "title", …`: every column, quoted, as a SELECT lists them (built once).
    pub columns_sql: String,
    /// The many_to_many fields, which have no column (so they are not in `fields`): each has
    /// a join table.
    pub many: Vec<Field>,
    /// Its rows come from files (`source:`, a collection): the web never writes them.
    pub from_files: bool,
}

impl Model {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn pk_field(&self) -> &Field {
        &self.fields[self.pk]
    }

    /// A many_to_many field by name.
    pub fn many_field(&self, name: &str) -> Option<&Field> {
        self.many.iter().find(|f| f.name == name)
    }

    /// Every field's name, many_to_many ones last (for did-you-mean hints).
    pub fn field_names(&self) -> Vec<&str> {
        self.fields
            .iter()
            .chain(&self.many)
            .map(|f| f.name.as_str())
            .collect()
    }

    /// Why `name` cannot be used where a column is needed (`what`: "order by"), when it is a
    /// many_to_many field.
    pub fn not_a_column(&self, name: &str, what: &str) -> Option<String> {
        self.many_field(name).map(|f| {
            format!(
                "`{}` of {} is a many_to_many field: it has no column to {what} (its values are rows of `{}`)",
                f.name,
                self.name,
                f.join.as_ref().map_or("", |j| j.table.as_str())
            )
        })
    }

    /// Parse `-created_at` style keys against this model's fields.
    pub fn parse_ordering(&self, keys: &[String]) -> Result<Vec<Order>, String> {
        let mut out = Vec::new();
        for key in keys {
            let (desc, name) = match key.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, key.as_str()),
            };
            let name = if name == "pk" {
                self.pk_field().name.as_str()
            } else {
                name
            };
            if let Some(why) = self.not_a_column(name, "order by") {
                return Err(why);
            }
            let field = self.field(name).ok_or_else(|| {
                let hint = suggestion(name, self.field_names())
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                format!("model {} has no field `{name}`{hint}", self.name)
            })?;
            out.push(Order {
                field: field.name.clone(),
                column: field.column.clone(),
                desc,
            });
        }
        Ok(out)
    }
}

/// Every model of a site, by name.
pub type Models = IndexMap<String, Arc<Model>>;

/// `BlogPost` → `blog_post`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Compile every model; each problem is a diagnostic placed in `source`.
pub fn compile(raw: &IndexMap<String, RawModel>, source: &Source) -> (Models, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let mut models = Models::new();
    let mut tables: IndexMap<String, String> = IndexMap::new();
    for (name, m) in raw {
        let at = format!("models.{name}");
        if !crate::config::names::is_model_name(name) {
            errors.push(source.diag_key(
                &at,
                format!(
                    "model name `{name}` may hold only {}",
                    crate::config::names::MODEL_NAME_RULE
                ),
            ));
            continue;
        }
        let table = m.table.clone().unwrap_or_else(|| snake_case(name));
        if !crate::config::names::is_table_name(&table) {
            errors.push(source.diag(
                &format!("{at}.table"),
                format!(
                    "table name `{table}` may hold only {}",
                    crate::config::names::TABLE_NAME_RULE
                ),
            ));
            continue;
        }
        if let Some(other) = tables.insert(table.clone(), name.clone()) {
            errors.push(
                source
                    .diag(
                        &at,
                        format!("models {other} and {name} would share the table `{table}`"),
                    )
                    .with_hint(Some("set `table:` on one of them".into())),
            );
        }
        let mut fields = Vec::new();
        let mut many = Vec::new();
        let mut pk = None;
        for (fname, f) in &m.fields {
            let fat = format!("{at}.fields.{fname}");
            let has_pk = pk.is_some();
            let Some(mut field) = compile_field(raw, source, &fat, fname, f, has_pk, &mut errors)
            else {
                continue;
            };
            if field.ty == FieldType::ManyToMany {
                field.join = Some(JoinTable {
                    table: format!("{table}_{fname}"),
                    from: format!("{}_id", name.to_lowercase()),
                    to: format!("{}_id", f.to.as_deref().unwrap_or("").to_lowercase()),
                });
                many.push(field);
                continue;
            }
            if field.primary_key {
                pk = Some(fields.len());
            }
            // Kept even with errors in its options (they are reported, and the site will not
            // load), so that orderings and routes naming it are not also told it is missing.
            fields.push(field);
        }
        let pk = pk.unwrap_or_else(|| {
            fields.insert(0, implicit_id());
            0
        });
        let columns_sql = fields
            .iter()
            .map(|f| super::ident(&f.column))
            .collect::<Vec<_>>()
            .join(", ");
        let mut model = Model {
            name: name.clone(),
            table,
            fields,
            pk,
            ordering: Vec::new(),
            columns_sql,
            many,
            from_files: m.source.is_some(),
        };
        if let Some(keys) = &m.ordering {
            match model.parse_ordering(keys) {
                Ok(o) => model.ordering = o,
                Err(why) => errors.push(source.diag(&format!("{at}.ordering"), why)),
            }
        }
        models.insert(name.clone(), Arc::new(model));
    }
    check_join_tables(&models, &tables, source, &mut errors);
    (models, errors)
}

/// A join table must not be another model's table, nor another join table.
fn check_join_tables(
    models: &Models,
    tables: &IndexMap<String, String>,
    source: &Source,
    errors: &mut Vec<Diagnostic>,
) {
    let mut joins: IndexMap<&str, String> = IndexMap::new();
    for m in models.values() {
        for f in &m.many {
            let Some(join) = &f.join else { continue };
            let this = format!("{}.{}", m.name, f.name);
            let other = match tables.get(&join.table) {
                Some(model) => Some(format!("the table of model {model}")),
                None => joins
                    .get(join.table.as_str())
                    .map(|o| format!("the join table of {o}")),
            };
            if let Some(other) = other {
                errors.push(
                    source
                        .diag(
                            &format!("models.{}.fields.{}", m.name, f.name),
                            format!(
                                "the join table of {this}, `{}`, would be {other}",
                                join.table
                            ),
                        )
                        .with_hint(Some("rename the field, or set `table:` on a model".into())),
                );
            }
            joins.insert(&join.table, this);
        }
    }
}

/// A field as declared, its mistakes reported; `None` when it cannot be a field at all (a name
/// SQL cannot take, an `id` that is not the primary key).
fn compile_field(
    raw: &IndexMap<String, RawModel>,
    source: &Source,
    fat: &str,
    fname: &str,
    f: &RawField,
    has_pk: bool,
    errors: &mut Vec<Diagnostic>,
) -> Option<Field> {
    if !crate::config::names::is_sql_name(fname) {
        errors.push(source.diag(
            fat,
            format!(
                "field name `{fname}` may hold only {}",
                crate::config::names::SQL_NAME_RULE
            ),
        ));
        return None;
    }
    check_options(source, fat, fname, f, errors);
    let on_delete = check_relation(raw, source, fat, f, errors);
    let primary_key = check_primary_key(source, fat, f, has_pk, errors);
    if fname == "id" && !primary_key {
        errors.push(source.diag_key(
            fat,
            "`id` is the implicit primary key; add `primary_key: true` to declare it yourself",
        ));
        return None;
    }
    let ty = f.field_type;
    let mut field = Field {
        name: fname.to_string(),
        column: if ty == FieldType::ForeignKey {
            format!("{fname}_id")
        } else {
            fname.to_string()
        },
        ty,
        null: f.null == Some(true),
        unique: f.unique == Some(true) || primary_key,
        index: f.index == Some(true),
        primary_key,
        default: None,
        choices: None,
        max_length: f.max_length,
        auto_now: f.auto_now == Some(true),
        auto_now_add: f.auto_now_add == Some(true),
        to: f.to.clone(),
        on_delete,
        markdown: f.format == Some(TextFormat::Markdown),
        join: None,
    };
    if ty == FieldType::ManyToMany {
        // Its options that make no sense were reported by `check_options`.
        return Some(field);
    }
    if let Some(choices) = &f.choices {
        let mut out = Vec::new();
        for c in choices {
            match check_type(&field, &c.to_json()) {
                Ok(v) => out.push(v),
                Err(why) => errors
                    .push(source.diag(&format!("{fat}.choices"), format!("choice {c}: {why}"))),
            }
        }
        field.choices = Some(out);
    }
    if let Some(d) = &f.default {
        match validate(&field, d) {
            Ok(v) => field.default = Some(v),
            Err(why) => errors.push(source.diag(
                &format!("{fat}.default"),
                format!("the default is invalid: {why}"),
            )),
        }
    }
    Some(field)
}

/// The options that apply to some field types only, and the `__` that separates lookups.
fn check_options(
    source: &Source,
    fat: &str,
    fname: &str,
    f: &RawField,
    errors: &mut Vec<Diagnostic>,
) {
    let mut err = |key: &str, msg: &str| {
        let path = if key.is_empty() {
            fat.to_string()
        } else {
            format!("{fat}.{key}")
        };
        errors.push(source.diag(&path, msg));
    };
    if fname.contains("__") {
        err(
            "",
            &format!("field name `{fname}` cannot contain `__` (it separates lookups)"),
        );
    }
    let ty = f.field_type;
    let string_like = matches!(
        ty,
        FieldType::String | FieldType::Slug | FieldType::Email | FieldType::Url
    );
    if f.max_length.is_some() && !string_like {
        err(
            "max_length",
            "`max_length` applies to string, slug, email and url fields",
        );
    }
    let dated = matches!(ty, FieldType::Date | FieldType::Datetime);
    if (f.auto_now.is_some() || f.auto_now_add.is_some()) && !dated {
        err(
            "auto_now",
            "`auto_now` and `auto_now_add` apply to date and datetime fields",
        );
    }
    if f.format.is_some() && ty != FieldType::Text {
        err("format", "`format` applies to text fields");
    }
    if ty == FieldType::ManyToMany {
        let given = [
            ("null", f.null.is_some()),
            ("unique", f.unique.is_some()),
            ("default", f.default.is_some()),
            ("primary_key", f.primary_key.is_some()),
            ("index", f.index.is_some()),
            ("on_delete", f.on_delete.is_some()),
            ("choices", f.choices.is_some()),
        ];
        for (key, _) in given.iter().filter(|(_, given)| *given) {
            err(
                key,
                &format!("`{key}` does not apply to a many_to_many field: it has no column, its values are rows of a join table"),
            );
        }
    }
}

/// A foreign key's `to` and `on_delete` (and neither on another field); what deleting the
/// target does.
fn check_relation(
    raw: &IndexMap<String, RawModel>,
    source: &Source,
    fat: &str,
    f: &RawField,
    errors: &mut Vec<Diagnostic>,
) -> OnDelete {
    let on_delete = f.on_delete.unwrap_or(OnDelete::Cascade);
    if f.field_type == FieldType::ManyToMany {
        check_to(raw, source, fat, f, "many_to_many", errors);
        let own = fat.split('.').nth(1).unwrap_or("");
        if f.to.as_deref() == Some(own) {
            errors.push(
                source
                    .diag(
                        &format!("{fat}.to"),
                        format!("a many_to_many field from {own} to {own} itself is not supported"),
                    )
                    .with_hint(Some(format!(
                        "make a model with two foreign keys to {own} (from and to) instead"
                    ))),
            );
        }
    } else if f.field_type == FieldType::ForeignKey {
        check_to(raw, source, fat, f, "foreign_key", errors);
        if on_delete == OnDelete::SetNull && f.null != Some(true) {
            errors.push(source.diag(
                &format!("{fat}.on_delete"),
                "on_delete: set_null needs `null: true`",
            ));
        }
    } else {
        if f.to.is_some() {
            errors.push(source.diag(
                &format!("{fat}.to"),
                "`to` applies to foreign_key and many_to_many fields",
            ));
        }
        if f.on_delete.is_some() {
            errors.push(source.diag(
                &format!("{fat}.on_delete"),
                "`on_delete` applies to foreign_key fields",
            ));
        }
    }
    on_delete
}

/// A relation's `to:`: given, and a model of the site.
fn check_to(
    raw: &IndexMap<String, RawModel>,
    source: &Source,
    fat: &str,
    f: &RawField,
    ty: &str,
    errors: &mut Vec<Diagnostic>,
) {
    match &f.to {
        None => errors.push(source.diag(fat, format!("a {ty} needs `to:` (a model name)"))),
        Some(to) if !raw.contains_key(to) => {
            let d = source
                .diag(&format!("{fat}.to"), format!("no model `{to}`"))
                .with_hint(suggestion(to, raw.keys().map(String::as_str)));
            errors.push(d);
        }
        Some(_) => {}
    }
}

/// Whether the field is the primary key, and whether it can be (one per model, not null, an
/// integer or a string-like field).
fn check_primary_key(
    source: &Source,
    fat: &str,
    f: &RawField,
    has_pk: bool,
    errors: &mut Vec<Diagnostic>,
) -> bool {
    if f.primary_key != Some(true) || f.field_type == FieldType::ManyToMany {
        return false;
    }
    if has_pk {
        errors.push(source.diag(&format!("{fat}.primary_key"), "a model has one primary key"));
    }
    if f.null == Some(true) {
        errors.push(source.diag(&format!("{fat}.null"), "a primary key cannot be null"));
    }
    if matches!(
        f.field_type,
        FieldType::ForeignKey | FieldType::Json | FieldType::Boolean | FieldType::Float
    ) {
        errors.push(source.diag(
            &format!("{fat}.type"),
            "a primary key is an integer or a string-like field",
        ));
    }
    true
}

/// The `id` a model without a declared primary key gets.
fn implicit_id() -> Field {
    Field {
        name: "id".into(),
        column: "id".into(),
        ty: FieldType::Integer,
        null: false,
        unique: true,
        index: false,
        primary_key: true,
        default: None,
        choices: None,
        max_length: None,
        auto_now: false,
        auto_now_add: false,
        to: None,
        on_delete: OnDelete::Cascade,
        markdown: false,
        join: None,
    }
}

/// Check a value's type for a field, converting what YAML or CSV may give (`"3"` for an
/// integer field from CSV is converted by the caller, not here).
fn check_type(field: &Field, v: &Value) -> Result<Value, String> {
    let bad = |what: &str| Err(format!("expected {what}, got {v}"));
    match field.ty {
        FieldType::Integer | FieldType::ForeignKey => match v {
            Value::Number(n) if n.is_i64() => Ok(v.clone()),
            Value::Number(n)
                if n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
            {
                Ok(Value::from(n.as_f64().unwrap_or_default() as i64))
            }
            // A string primary key of the target is fine for a foreign key.
            Value::String(_) if field.ty == FieldType::ForeignKey => Ok(v.clone()),
            _ => bad("an integer"),
        },
        FieldType::Float => match v {
            Value::Number(_) => Ok(v.clone()),
            _ => bad("a number"),
        },
        FieldType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Value::Bool(n.as_i64() == Some(1)))
            }
            Value::String(s) => Err(crate::config::diagnostic::with_norway_hint(
                format!("expected true or false, got {v}"),
                s,
            )),
            _ => bad("true or false"),
        },
        FieldType::Json => Ok(v.clone()),
        _ => match v {
            Value::String(_) => Ok(v.clone()),
            // A YAML number where text is expected (a slug of digits) is taken as its text.
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => bad("a string"),
        },
    }
}

/// The current time, taken once per load, for the `auto_now` and `auto_now_add` fields that
/// fixtures and collection files leave out.
pub struct Now {
    datetime: Value,
    date: Value,
}

impl Default for Now {
    fn default() -> Now {
        Now::new()
    }
}

impl Now {
    pub fn new() -> Now {
        let now = chrono::Utc::now();
        Now {
            datetime: now.format("%Y-%m-%dT%H:%M:%S").to_string().into(),
            date: now.format("%Y-%m-%d").to_string().into(),
        }
    }

    /// The time as `f` stores it: a date, or a datetime.
    pub fn of(&self, f: &Field) -> Value {
        if f.ty == FieldType::Date {
            self.date.clone()
        } else {
            self.datetime.clone()
        }
    }
}

/// A text holding a NUL character, refused wherever a value comes in (Django's form fields'
/// `ProhibitNullCharactersValidator`): other programs cut text at a NUL, and no field is meant
/// to hold one.
pub const NUL_REFUSED: &str = "Null characters are not allowed.";

/// Validate a value on its way into the database: type, length, charset, shape, choices.
/// Returns the value as it is stored.
pub fn validate(field: &Field, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return if field.null || field.primary_key {
            Ok(Value::Null)
        } else {
            Err("this field cannot be null".into())
        };
    }
    let v = check_type(field, v)?;
    if let Value::String(s) = &v {
        if s.contains('\0') {
            return Err(NUL_REFUSED.into());
        }
        if let Some(max) = field.max_length {
            let n = s.chars().count();
            if n > max as usize {
                return Err(format!("at most {max} characters, got {n}"));
            }
        }
        match field.ty {
            FieldType::Slug
                if s.is_empty()
                    || !s
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                return Err(format!(
                    "a slug holds only letters, digits, `-` and `_`, got {s:?}"
                ));
            }
            FieldType::Email if !is_email(s) => return Err(format!("not an email address: {s:?}")),
            FieldType::Url if !is_url(s) => return Err(format!("not an http(s) URL: {s:?}")),
            FieldType::Uuid if !is_uuid(s) => return Err(format!("not a UUID: {s:?}")),
            FieldType::Date if crate::datetime::parse_date(s).is_none() => {
                return Err(format!("not a date (YYYY-MM-DD): {s:?}"));
            }
            FieldType::Datetime => {
                // Stored in one form, so that ordering by text is ordering by time: offsets
                // converted to UTC, `T` between date and time.
                return match parse_datetime(s) {
                    Some(dt) => Ok(Value::String(dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
                    None => Err(format!("not a datetime (YYYY-MM-DDTHH:MM:SS): {s:?}")),
                };
            }
            _ => {}
        }
    }
    if let Some(choices) = &field.choices {
        if !choices.contains(&v) {
            let list: Vec<String> = choices.iter().map(|c| c.to_string()).collect();
            return Err(format!("{v} is not one of {}", list.join(", ")));
        }
    }
    Ok(v)
}

// Read through the one ISO-8601 reader, as the `date` helper does.
pub use crate::datetime::parse_datetime;

fn is_email(s: &str) -> bool {
    let Some((user, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !user.is_empty()
        && !user.chars().any(|c| c.is_whitespace() || c == '@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
}

fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ty: FieldType) -> Field {
        Field {
            name: "f".into(),
            column: "f".into(),
            ty,
            null: false,
            unique: false,
            index: false,
            primary_key: false,
            default: None,
            choices: None,
            max_length: (ty == FieldType::String).then_some(5),
            auto_now: false,
            auto_now_add: false,
            to: None,
            on_delete: OnDelete::Cascade,
            markdown: false,
            join: None,
        }
    }

    #[test]
    fn values_are_checked_on_the_way_in() {
        assert!(validate(&field(FieldType::String), &"hello".into()).is_ok());
        assert!(validate(&field(FieldType::String), &"héllo!".into()).is_err());
        assert!(validate(&field(FieldType::Slug), &"a b".into()).is_err());
        assert!(validate(&field(FieldType::Email), &"a@b.c".into()).is_ok());
        assert!(validate(&field(FieldType::Email), &"a@b".into()).is_err());
        assert!(validate(&field(FieldType::Url), &"ftp://x".into()).is_err());
        assert!(validate(&field(FieldType::Integer), &"3".into()).is_err());
        assert!(validate(&field(FieldType::Boolean), &1.into()).unwrap() == Value::Bool(true));
        assert!(validate(&field(FieldType::String), &Value::Null).is_err());
        assert!(validate(&field(FieldType::Datetime), &"2026-01-05T09:30:00".into()).is_ok());
        assert!(validate(&field(FieldType::Date), &"2026-13-05".into()).is_err());
    }

    #[test]
    fn names_become_tables() {
        assert_eq!(snake_case("BlogPost"), "blog_post");
        assert_eq!(snake_case("Post"), "post");
    }
}
