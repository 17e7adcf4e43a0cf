//! The migration planner: a pure function from what the database holds (`Stored`, read
//! beforehand) and the tables the site asks for to the steps that take one to the other, or to
//! every change it refuses. It reads and writes nothing, so it is tested as a table of cases
//! with no database; `apply` turns the steps into SQL.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{ColumnDef, IndexDef, TableDef};

/// What the database holds, as far as a plan needs to know.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    /// The definitions recorded in `_trellis_schema`, in the order they were first applied.
    pub tables: Vec<TableDef>,
    /// Every table SQLite has, whether Trellis made it or not.
    pub existing: HashSet<String>,
    /// Rows per table, for the tables whose definition changes (a drop or a refusal names them).
    pub rows: HashMap<String, i64>,
    /// Values other than NULL per `(table, column)`, for the columns a change leaves out (a
    /// column missing here could not be counted, and is not taken to be empty).
    pub values: HashMap<(String, String), i64>,
}

impl Stored {
    fn rows(&self, table: &str) -> i64 {
        self.rows.get(table).copied().unwrap_or(0)
    }

    fn values(&self, table: &str, column: &str) -> Option<i64> {
        let key = (table.to_string(), column.to_string());
        self.values.get(&key).copied()
    }
}

/// One change to the database, in the order it is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Drop the table of a model gone from the site, with its full-text index.
    DropTable {
        table: String,
        rows: i64,
    },
    /// Create a new model's table with its indexes and full-text index.
    CreateTable(TableDef),
    /// Drop a full-text index's table and triggers, before the columns they name change.
    DropFts {
        table: String,
    },
    /// Drop a column of a field gone from the site, and the indexes over it first: asked for
    /// (`--allow-destructive`), or a column that holds no values (all NULL, or no rows), whose
    /// drop loses nothing — so a field renamed before any row has a value is a drop and an add.
    DropColumn {
        table: String,
        column: String,
        values: i64,
        indexes: Vec<String>,
    },
    /// Add a column (one NOT NULL without a default only to an empty table, with the type's
    /// zero as its default, which no row ever sees).
    AddColumn {
        table: String,
        column: ColumnDef,
    },
    DropIndex {
        name: String,
    },
    CreateIndex {
        table: String,
        index: IndexDef,
    },
    /// Make a table's full-text index anew (or leave it dropped, when nothing is searched).
    RebuildFts(TableDef),
}

impl Step {
    /// The line `trellis migrate` prints for the step, if it is one the user asked for.
    pub fn describe(&self) -> Option<String> {
        Some(match self {
            Step::DropTable { table, rows } => {
                format!("drop table {table} ({})", plural(*rows, "row", "rows"))
            }
            Step::CreateTable(t) => format!("create table {}", t.table),
            Step::DropFts { .. } => return None,
            Step::DropColumn {
                table,
                column,
                values,
                ..
            } if *values == 0 => {
                format!("drop column {table}.{column} (it held no values: nothing is lost)")
            }
            Step::DropColumn {
                table,
                column,
                values,
                ..
            } => format!(
                "drop column {table}.{column} ({})",
                plural(*values, "value", "values")
            ),
            Step::AddColumn { table, column } => format!("add column {table}.{}", column.name),
            Step::DropIndex { name } => format!("drop index {name}"),
            Step::CreateIndex { index, .. } => format!("create index {}", index.name),
            Step::RebuildFts(t) => format!("rebuild full-text index of {}", t.table),
        })
    }
}

/// The steps of a migration; empty when the database is up to date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// One line per change the user asked for (`create table post`, `add column post.subtitle`).
    pub fn applied(&self) -> Vec<String> {
        self.steps.iter().filter_map(Step::describe).collect()
    }
}

/// A change Trellis will not make, and what to do instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    ModelGone {
        model: String,
        table: String,
        rows: i64,
    },
    /// A new model's table exists, made by someone else.
    NotOurs {
        model: String,
        table: String,
    },
    Renamed {
        model: String,
        from: String,
        to: String,
    },
    FieldGone {
        model: String,
        table: String,
        column: String,
        /// `None` when they could not be counted.
        values: Option<i64>,
    },
    /// A many_to_many field gone: its join table would be dropped.
    ManyToManyGone {
        model: String,
        field: String,
        table: String,
        rows: i64,
    },
    NotNullWithoutDefault {
        model: String,
        table: String,
        column: String,
    },
    NewPrimaryKey {
        model: String,
        column: String,
    },
    /// A column's type, nullability, primary key or foreign key changes.
    Changed {
        model: String,
        column: String,
        changes: Vec<String>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = |what: &str| {
            format!("to proceed, put the {what} back, or run `trellis migrate SITE --allow-destructive` to drop it (after a backup)")
        };
        match self {
            Refusal::ModelGone { model, table, rows } => write!(
                f,
                "model {model} is gone from site.yaml: dropping table `{table}` would lose {}; {}",
                plural(*rows, "row", "rows"),
                hint("model")
            ),
            Refusal::NotOurs { model, table } => write!(
                f,
                "table `{table}` for model {model} already exists but was not made by Trellis; rename the table with `table:` or remove it"
            ),
            Refusal::Renamed { model, from, to } => write!(
                f,
                "model {model} moves from table `{from}` to `{to}`: Trellis does not rename tables; rename it yourself (ALTER TABLE {from} RENAME TO {to}) and run again"
            ),
            Refusal::FieldGone {
                model,
                table,
                column,
                values,
            } => write!(
                f,
                "field `{column}` of {model} is gone from site.yaml: dropping column {table}.{column} would lose {} (a renamed field looks like one dropped and one added); {}",
                values.map_or("the values it holds".into(), |n| plural(n, "value", "values")),
                hint("field")
            ),
            Refusal::ManyToManyGone {
                model,
                field,
                table,
                rows,
            } => write!(
                f,
                "many_to_many field `{field}` of {model} is gone from site.yaml: dropping its join table `{table}` would lose {}; {}",
                plural(*rows, "row", "rows"),
                hint("field")
            ),
            Refusal::NotNullWithoutDefault {
                model,
                table,
                column,
            } => write!(
                f,
                "new field `{column}` of {model} is NOT NULL without a default, and table `{table}` has rows: give it a `default:` or `null: true`"
            ),
            Refusal::NewPrimaryKey { model, column } => write!(
                f,
                "{model} gets a new primary key `{column}`: Trellis cannot change a table's primary key"
            ),
            Refusal::Changed {
                model,
                column,
                changes,
            } => write!(
                f,
                "field `{column}` of {model} changes ({}): SQLite cannot alter a column in place and Trellis will not guess how to convert its values; add a new field instead, copy the data, and drop the old one with --allow-destructive",
                changes.join(", ")
            ),
        }
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The steps from `stored` to `desired`: additive changes, and drops only when
/// `allow_destructive`. Anything else is refused, and then every refusal is returned and no
/// step: a migration is applied whole or not at all.
pub fn plan(
    stored: &Stored,
    desired: &[TableDef],
    allow_destructive: bool,
) -> Result<Plan, Vec<Refusal>> {
    let mut planner = Planner {
        stored,
        allow_destructive,
        steps: Vec::new(),
        refused: Vec::new(),
    };
    for old in &stored.tables {
        if !desired.iter().any(|d| d.model == old.model) {
            planner.gone(old);
        }
    }
    for new in desired {
        match stored.tables.iter().find(|o| o.model == new.model) {
            None => planner.create(new),
            Some(old) if old.table != new.table => planner.refused.push(Refusal::Renamed {
                model: new.model.clone(),
                from: old.table.clone(),
                to: new.table.clone(),
            }),
            Some(old) => planner.change(old, new),
        }
    }
    if planner.refused.is_empty() {
        Ok(Plan {
            steps: planner.steps,
        })
    } else {
        Err(planner.refused)
    }
}

struct Planner<'a> {
    stored: &'a Stored,
    allow_destructive: bool,
    steps: Vec<Step>,
    refused: Vec<Refusal>,
}

impl Planner<'_> {
    /// A model gone from the site.
    fn gone(&mut self, old: &TableDef) {
        let rows = self.stored.rows(&old.table);
        if self.allow_destructive {
            self.steps.push(Step::DropTable {
                table: old.table.clone(),
                rows,
            });
        } else if let Some((model, field)) = old.many_to_many() {
            self.refused.push(Refusal::ManyToManyGone {
                model: model.into(),
                field: field.into(),
                table: old.table.clone(),
                rows,
            });
        } else {
            self.refused.push(Refusal::ModelGone {
                model: old.model.clone(),
                table: old.table.clone(),
                rows,
            });
        }
    }

    /// A model new to the database.
    fn create(&mut self, new: &TableDef) {
        if self.stored.existing.contains(&new.table) {
            self.refused.push(Refusal::NotOurs {
                model: new.model.clone(),
                table: new.table.clone(),
            });
        } else {
            self.steps.push(Step::CreateTable(new.clone()));
        }
    }

    /// A model whose table exists: its columns, indexes and full-text index.
    fn change(&mut self, old: &TableDef, new: &TableDef) {
        // The full-text index's triggers name the columns: drop them before any column goes,
        // and make them anew after. (A drop that is refused refuses the whole plan.)
        let dropping = old
            .columns
            .iter()
            .any(|oc| !new.columns.iter().any(|c| c.name == oc.name));
        let fts_changes = old.fts != new.fts || (dropping && !old.fts.is_empty());
        if fts_changes && !old.fts.is_empty() {
            self.steps.push(Step::DropFts {
                table: new.table.clone(),
            });
        }
        for oc in &old.columns {
            if !new.columns.iter().any(|c| c.name == oc.name) {
                self.drop_column(old, new, oc);
            }
        }
        for nc in &new.columns {
            match old.columns.iter().find(|c| c.name == nc.name) {
                None => self.add_column(new, nc),
                Some(oc) => self.keep_column(new, oc, nc),
            }
        }
        for oi in &old.indexes {
            if !new.indexes.contains(oi) {
                self.steps.push(Step::DropIndex {
                    name: oi.name.clone(),
                });
            }
        }
        for ni in &new.indexes {
            if !old.indexes.contains(ni) {
                self.steps.push(Step::CreateIndex {
                    table: new.table.clone(),
                    index: ni.clone(),
                });
            }
        }
        if fts_changes {
            self.steps.push(Step::RebuildFts(new.clone()));
        }
    }

    fn drop_column(&mut self, old: &TableDef, new: &TableDef, oc: &ColumnDef) {
        let table = &new.table;
        let values = self.stored.values(table, &oc.name);
        // A column that holds no value loses nothing; one that could not be counted might.
        let empty = values == Some(0);
        if !self.allow_destructive && !empty {
            self.refused.push(Refusal::FieldGone {
                model: new.model.clone(),
                table: table.clone(),
                column: oc.name.clone(),
                values,
            });
            return;
        }
        let values = values.unwrap_or(0);
        let quoted = super::ident(&oc.name);
        let indexes = old
            .indexes
            .iter()
            .filter(|i| i.columns.iter().any(|c| c.starts_with(&quoted)))
            .map(|i| i.name.clone())
            .collect();
        self.steps.push(Step::DropColumn {
            table: table.clone(),
            column: oc.name.clone(),
            values,
            indexes,
        });
    }

    fn add_column(&mut self, new: &TableDef, nc: &ColumnDef) {
        let table = &new.table;
        if !nc.null && nc.default_sql.is_none() && self.stored.rows(table) > 0 {
            self.refused.push(Refusal::NotNullWithoutDefault {
                model: new.model.clone(),
                table: table.clone(),
                column: nc.name.clone(),
            });
        } else if nc.primary_key {
            self.refused.push(Refusal::NewPrimaryKey {
                model: new.model.clone(),
                column: nc.name.clone(),
            });
        } else {
            let mut column = nc.clone();
            // SQLite adds a NOT NULL column only with a default; an empty table gets the
            // type's zero, which no row ever sees.
            if !column.null && column.default_sql.is_none() {
                let zero = if column.sql_type == "TEXT" { "''" } else { "0" };
                column.default_sql = Some(zero.into());
            }
            self.steps.push(Step::AddColumn {
                table: table.clone(),
                column,
            });
        }
    }

    /// A column in both: anything but its default changing is refused.
    fn keep_column(&mut self, new: &TableDef, oc: &ColumnDef, nc: &ColumnDef) {
        let mut changes = Vec::new();
        if oc.sql_type != nc.sql_type {
            changes.push(format!("type {} → {}", oc.sql_type, nc.sql_type));
        }
        if oc.null != nc.null {
            changes.push(if nc.null {
                "becomes nullable".to_string()
            } else {
                "becomes NOT NULL".to_string()
            });
        }
        if oc.primary_key != nc.primary_key {
            changes.push("primary key changes".into());
        }
        if oc.references != nc.references {
            changes.push("foreign key changes".into());
        }
        if !changes.is_empty() {
            self.refused.push(Refusal::Changed {
                model: new.model.clone(),
                column: nc.name.clone(),
                changes,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, sql_type: &str) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            sql_type: sql_type.into(),
            null: true,
            primary_key: false,
            references: None,
            default_sql: None,
        }
    }

    fn not_null(c: ColumnDef) -> ColumnDef {
        ColumnDef { null: false, ..c }
    }

    fn default(c: ColumnDef, sql: &str) -> ColumnDef {
        ColumnDef {
            default_sql: Some(sql.into()),
            ..c
        }
    }

    fn index(name: &str, column: &str) -> IndexDef {
        IndexDef {
            name: name.into(),
            columns: vec![format!("\"{column}\"")],
            unique: false,
        }
    }

    /// A model's table: its name lower-cased, an `id` primary key, then `columns`.
    fn table(model: &str, columns: Vec<ColumnDef>) -> TableDef {
        let id = ColumnDef {
            primary_key: true,
            ..not_null(col("id", "INTEGER"))
        };
        TableDef {
            model: model.into(),
            table: model.to_lowercase(),
            columns: std::iter::once(id).chain(columns).collect(),
            indexes: Vec::new(),
            fts: Vec::new(),
        }
    }

    fn with_indexes(t: TableDef, indexes: Vec<IndexDef>) -> TableDef {
        TableDef { indexes, ..t }
    }

    fn searched(t: TableDef, fts: &[&str]) -> TableDef {
        TableDef {
            fts: fts.iter().map(|c| c.to_string()).collect(),
            ..t
        }
    }

    fn post(columns: Vec<ColumnDef>) -> TableDef {
        table("Post", columns)
    }

    fn title() -> ColumnDef {
        not_null(col("title", "TEXT"))
    }

    /// The join table of `Post.tags`, as `join_table_defs` makes it.
    fn post_tags() -> TableDef {
        let side = |name: &str, target: &str| ColumnDef {
            references: Some(format!("\"{target}\"(\"id\") ON DELETE CASCADE")),
            ..not_null(col(name, "INTEGER"))
        };
        TableDef {
            model: "Post.tags".into(),
            table: "post_tags".into(),
            columns: vec![
                table("x", vec![]).columns.remove(0),
                side("post_id", "post"),
                side("tag_id", "tag"),
            ],
            indexes: vec![
                IndexDef {
                    name: "post_tags_post_id_tag_id_uniq".into(),
                    columns: vec!["\"post_id\"".into(), "\"tag_id\"".into()],
                    unique: true,
                },
                index("post_tags_tag_id_idx", "tag_id"),
            ],
            fts: Vec::new(),
        }
    }

    /// The database as a plan sees it: `tables` recorded (and existing, with `others` made by
    /// someone else), each holding `rows` rows and `values` values in every column.
    fn stored(tables: Vec<TableDef>, others: &[&str], rows: i64, values: i64) -> Stored {
        let mut s = Stored::default();
        for t in &tables {
            s.existing.insert(t.table.clone());
            s.rows.insert(t.table.clone(), rows);
            for c in &t.columns {
                s.values.insert((t.table.clone(), c.name.clone()), values);
            }
        }
        s.existing.extend(others.iter().map(|o| o.to_string()));
        s.tables = tables;
        s
    }

    const HINT_FIELD: &str = "to proceed, put the field back, or run `trellis migrate SITE --allow-destructive` to drop it (after a backup)";
    const HINT_MODEL: &str = "to proceed, put the model back, or run `trellis migrate SITE --allow-destructive` to drop it (after a backup)";
    const NO_CONVERSION: &str = "SQLite cannot alter a column in place and Trellis will not guess how to convert its values; add a new field instead, copy the data, and drop the old one with --allow-destructive";

    type Expect = Result<Vec<String>, Vec<String>>;

    fn ok(lines: &[&str]) -> Expect {
        Ok(lines.iter().map(|l| l.to_string()).collect())
    }

    fn refused(why: &[String]) -> Expect {
        Err(why.to_vec())
    }

    /// Each case: what the database holds, what the site asks for, whether drops are allowed,
    /// and the lines `trellis migrate` prints or the refusals it lists.
    fn check(cases: Vec<(&str, Stored, Vec<TableDef>, bool, Expect)>) {
        for (name, stored, desired, allow_destructive, expect) in cases {
            let got = plan(&stored, &desired, allow_destructive)
                .map(|p| p.applied())
                .map_err(|refused| refused.iter().map(|r| r.to_string()).collect());
            assert_eq!(got, expect, "{name}");
        }
    }

    #[test]
    fn tables_and_fields_are_added_where_nothing_is_lost() {
        check(vec![
        (
            "nothing changed, nothing to do",
            stored(vec![post(vec![title()])], &[], 3, 3),
            vec![post(vec![title()])],
            false,
            ok(&[]),
        ),
        (
            "a new model gets its table",
            stored(vec![], &[], 0, 0),
            vec![post(vec![title()])],
            false,
            ok(&["create table post"]),
        ),
        (
            "a table Trellis did not make is left alone",
            stored(vec![], &["post"], 0, 0),
            vec![post(vec![title()])],
            false,
            refused(&["table `post` for model Post already exists but was not made by Trellis; rename the table with `table:` or remove it".into()]),
        ),
        (
            "a nullable field is added to a table with rows",
            stored(vec![post(vec![title()])], &[], 3, 3),
            vec![post(vec![title(), col("subtitle", "TEXT")])],
            false,
            ok(&["add column post.subtitle"]),
        ),
        (
            "a NOT NULL field with a default is added to a table with rows",
            stored(vec![post(vec![title()])], &[], 3, 3),
            vec![post(vec![title(), default(not_null(col("status", "TEXT")), "'draft'")])],
            false,
            ok(&["add column post.status"]),
        ),
        (
            "a NOT NULL field without a default is added to an empty table",
            stored(vec![post(vec![title()])], &[], 0, 0),
            vec![post(vec![title(), not_null(col("sku", "TEXT"))])],
            false,
            ok(&["add column post.sku"]),
        ),
        ]);
    }

    #[test]
    fn a_many_to_many_field_is_a_join_table() {
        let tag = || table("Tag", vec![title()]);
        check(vec![
        (
            "a new many_to_many field creates its join table, rows or not",
            stored(vec![post(vec![title()]), tag()], &[], 3, 3),
            vec![post(vec![title()]), tag(), post_tags()],
            false,
            ok(&["create table post_tags"]),
        ),
        (
            "a join table made by someone else is left alone",
            stored(vec![post(vec![title()]), tag()], &["post_tags"], 3, 3),
            vec![post(vec![title()]), tag(), post_tags()],
            false,
            refused(&["table `post_tags` for model Post.tags already exists but was not made by Trellis; rename the table with `table:` or remove it".into()]),
        ),
        (
            "a removed many_to_many field is refused, with its pairs",
            stored(vec![post(vec![title()]), tag(), post_tags()], &[], 4, 4),
            vec![post(vec![title()]), tag()],
            false,
            refused(&[format!("many_to_many field `tags` of Post is gone from site.yaml: dropping its join table `post_tags` would lose 4 rows; {HINT_FIELD}")]),
        ),
        (
            "a removed many_to_many field drops its join table when destruction is allowed",
            stored(vec![post(vec![title()]), tag(), post_tags()], &[], 2, 2),
            vec![post(vec![title()]), tag()],
            true,
            ok(&["drop table post_tags (2 rows)"]),
        ),
        ]);
    }

    #[test]
    fn what_would_lose_data_is_refused_unless_destruction_is_allowed() {
        check(vec![
        (
            "a NOT NULL field without a default is refused on a table with rows",
            stored(vec![post(vec![title()])], &[], 3, 3),
            vec![post(vec![title(), not_null(col("sku", "TEXT"))])],
            true,
            refused(&["new field `sku` of Post is NOT NULL without a default, and table `post` has rows: give it a `default:` or `null: true`".into()]),
        ),
        (
            "a removed field is refused, with what it holds",
            stored(vec![post(vec![title(), col("body", "TEXT")])], &[], 3, 2),
            vec![post(vec![title()])],
            false,
            refused(&[format!("field `body` of Post is gone from site.yaml: dropping column post.body would lose 2 values (a renamed field looks like one dropped and one added); {HINT_FIELD}")]),
        ),
        (
            "a removed field is dropped when destruction is allowed",
            stored(vec![post(vec![title(), col("body", "TEXT")])], &[], 3, 1),
            vec![post(vec![title()])],
            true,
            ok(&["drop column post.body (1 value)"]),
        ),
        (
            "a dropped field's index goes first",
            stored(
                vec![with_indexes(
                    post(vec![title(), col("body", "TEXT")]),
                    vec![index("post_body_idx", "body")],
                )],
                &[],
                3,
                0,
            ),
            vec![post(vec![title()])],
            true,
            ok(&[
                "drop column post.body (it held no values: nothing is lost)",
                "drop index post_body_idx",
            ]),
        ),
        (
            "a removed model is refused, with its rows",
            stored(vec![post(vec![title()]), table("Tag", vec![])], &[], 1, 0),
            vec![post(vec![title()])],
            false,
            refused(&[format!("model Tag is gone from site.yaml: dropping table `tag` would lose 1 row; {HINT_MODEL}")]),
        ),
        (
            "a removed model's table is dropped when destruction is allowed",
            stored(vec![post(vec![title()]), table("Tag", vec![])], &[], 2, 0),
            vec![post(vec![title()])],
            true,
            ok(&["drop table tag (2 rows)"]),
        ),
        ]);
    }

    #[test]
    fn a_field_that_holds_no_values_is_dropped_without_being_asked() {
        let summary = |name: &str| col(name, "TEXT");
        let mut uncounted = stored(vec![post(vec![title(), summary("body")])], &[], 3, 0);
        uncounted.values.clear();
        check(vec![
        (
            "a field whose values are all NULL is dropped, and the line says nothing is lost",
            stored(vec![post(vec![title(), summary("body")])], &[], 3, 0),
            vec![post(vec![title()])],
            false,
            ok(&["drop column post.body (it held no values: nothing is lost)"]),
        ),
        (
            "a field renamed before it holds a value is a drop and an add",
            stored(vec![post(vec![title(), summary("sumary")])], &[], 2, 0),
            vec![post(vec![title(), summary("summary")])],
            false,
            ok(&[
                "drop column post.sumary (it held no values: nothing is lost)",
                "add column post.summary",
            ]),
        ),
        (
            "a field of an empty table is dropped, NOT NULL or not",
            stored(vec![post(vec![title(), not_null(summary("sku"))])], &[], 0, 0),
            vec![post(vec![title(), not_null(summary("code"))])],
            false,
            ok(&[
                "drop column post.sku (it held no values: nothing is lost)",
                "add column post.code",
            ]),
        ),
        (
            "a field whose values could not be counted is not taken to be empty",
            uncounted,
            vec![post(vec![title()])],
            false,
            refused(&[format!("field `body` of Post is gone from site.yaml: dropping column post.body would lose the values it holds (a renamed field looks like one dropped and one added); {HINT_FIELD}")]),
        ),
        (
            "a searched table's full-text index is rebuilt around an empty field's drop",
            stored(vec![searched(post(vec![title(), summary("body")]), &["title", "body"])], &[], 3, 0),
            vec![searched(post(vec![title()]), &["title"])],
            false,
            ok(&[
                "drop column post.body (it held no values: nothing is lost)",
                "rebuild full-text index of post",
            ]),
        ),
        ]);
    }

    #[test]
    fn a_column_is_never_converted_and_keys_never_move() {
        check(vec![
        (
            "a type change is refused, destruction allowed or not: never converted",
            stored(vec![post(vec![title()])], &[], 3, 3),
            vec![post(vec![not_null(col("title", "INTEGER"))])],
            true,
            refused(&[format!("field `title` of Post changes (type TEXT → INTEGER): {NO_CONVERSION}")]),
        ),
        (
            "every change to a column is named",
            stored(vec![post(vec![col("author_id", "INTEGER")])], &[], 3, 3),
            vec![post(vec![ColumnDef {
                references: Some("\"author\"(\"id\") ON DELETE CASCADE".into()),
                ..not_null(col("author_id", "INTEGER"))
            }])],
            false,
            refused(&[format!("field `author_id` of Post changes (becomes NOT NULL, foreign key changes): {NO_CONVERSION}")]),
        ),
        (
            "a changed default needs no statement",
            stored(vec![post(vec![default(col("n", "INTEGER"), "1")])], &[], 3, 3),
            vec![post(vec![default(col("n", "INTEGER"), "2")])],
            false,
            ok(&[]),
        ),
        (
            "a model moving to another table is refused",
            stored(vec![post(vec![title()])], &[], 3, 3),
            vec![TableDef {
                table: "article".into(),
                ..post(vec![title()])
            }],
            false,
            refused(&["model Post moves from table `post` to `article`: Trellis does not rename tables; rename it yourself (ALTER TABLE post RENAME TO article) and run again".into()]),
        ),
        (
            "a new primary key is refused, and the old one's loss with it",
            stored(vec![table("Tag", vec![])], &[], 3, 3),
            vec![TableDef {
                columns: vec![ColumnDef {
                    primary_key: true,
                    ..default(not_null(col("code", "TEXT")), "''")
                }],
                ..table("Tag", vec![])
            }],
            false,
            refused(&[
                format!("field `id` of Tag is gone from site.yaml: dropping column tag.id would lose 3 values (a renamed field looks like one dropped and one added); {HINT_FIELD}"),
                "Tag gets a new primary key `code`: Trellis cannot change a table's primary key".into(),
            ]),
        ),
        ]);
    }

    #[test]
    fn indexes_and_full_text_search_follow_the_routes() {
        check(vec![
            (
                "an index is added and another dropped",
                stored(
                    vec![with_indexes(
                        post(vec![title()]),
                        vec![index("post_id_idx", "id")],
                    )],
                    &[],
                    3,
                    3,
                ),
                vec![with_indexes(
                    post(vec![title()]),
                    vec![index("post_title_idx", "title")],
                )],
                false,
                ok(&["drop index post_id_idx", "create index post_title_idx"]),
            ),
            (
                "an index over other columns is made anew",
                stored(
                    vec![with_indexes(
                        post(vec![title()]),
                        vec![index("post_idx", "id")],
                    )],
                    &[],
                    3,
                    3,
                ),
                vec![with_indexes(
                    post(vec![title()]),
                    vec![index("post_idx", "title")],
                )],
                false,
                ok(&["drop index post_idx", "create index post_idx"]),
            ),
            (
                "searching another column rebuilds the full-text index",
                stored(
                    vec![searched(
                        post(vec![title(), col("body", "TEXT")]),
                        &["title"],
                    )],
                    &[],
                    3,
                    3,
                ),
                vec![searched(
                    post(vec![title(), col("body", "TEXT")]),
                    &["title", "body"],
                )],
                false,
                ok(&["rebuild full-text index of post"]),
            ),
            (
                "a full-text index is rebuilt around a searched column's drop",
                stored(
                    vec![searched(
                        post(vec![title(), col("body", "TEXT")]),
                        &["title", "body"],
                    )],
                    &[],
                    3,
                    3,
                ),
                vec![searched(post(vec![title()]), &["title"])],
                true,
                ok(&[
                    "drop column post.body (3 values)",
                    "rebuild full-text index of post",
                ]),
            ),
        ]);
    }

    #[test]
    fn every_refusal_is_listed_before_anything_is_done() {
        check(vec![
        (
            "every refusal is listed, and the additive changes wait for them",
            stored(vec![post(vec![title()]), table("Tag", vec![])], &[], 4, 4),
            vec![
                post(vec![not_null(col("title", "BLOB"))]),
                table("Author", vec![title()]),
            ],
            false,
            refused(&[
                format!("model Tag is gone from site.yaml: dropping table `tag` would lose 4 rows; {HINT_MODEL}"),
                format!("field `title` of Post changes (type TEXT → BLOB): {NO_CONVERSION}"),
            ]),
        ),
        ]);
    }

    #[test]
    fn a_not_null_column_added_to_an_empty_table_defaults_to_its_types_zero() {
        let before = stored(vec![post(vec![title()])], &[], 0, 0);
        let after = post(vec![
            title(),
            not_null(col("sku", "TEXT")),
            not_null(col("stock", "INTEGER")),
            default(not_null(col("kind", "TEXT")), "'book'"),
        ]);
        let steps = plan(&before, &[after], false).unwrap().steps;
        let defaults: Vec<(&str, Option<&str>)> = steps
            .iter()
            .map(|s| match s {
                Step::AddColumn { column, .. } => {
                    (column.name.as_str(), column.default_sql.as_deref())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            defaults,
            [
                ("sku", Some("''")),
                ("stock", Some("0")),
                ("kind", Some("'book'"))
            ]
        );
    }

    #[test]
    fn the_full_text_index_goes_before_its_columns_and_comes_back_after() {
        let before = stored(
            vec![searched(
                post(vec![title(), col("body", "TEXT")]),
                &["title", "body"],
            )],
            &[],
            1,
            1,
        );
        let after = searched(post(vec![title()]), &["title"]);
        let steps = plan(&before, std::slice::from_ref(&after), true)
            .unwrap()
            .steps;
        assert!(
            matches!(&steps[0], Step::DropFts { table } if table == "post"),
            "{steps:?}"
        );
        assert!(
            matches!(&steps[1], Step::DropColumn { column, .. } if column == "body"),
            "{steps:?}"
        );
        assert_eq!(steps[2], Step::RebuildFts(after));
        assert_eq!(steps.len(), 3, "{steps:?}");
    }
}
