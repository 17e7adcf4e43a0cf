//! The two halves of a migration that touch the database, around the pure `plan`: reading
//! what it holds into a `Stored` value, and applying a `Plan`'s steps as SQL, recording the new
//! definitions in `_trellis_schema` and checking foreign keys, all in the caller's transaction.

use rusqlite::{params, Transaction};

use super::plan::{Plan, Step, Stored};
use super::{ColumnDef, Conflict, IndexDef, MigrationError, TableDef};
use crate::db::{ident, DbError};

/// What the database holds: the recorded definitions, every table's name, and the counts a
/// plan may name (rows and values of the tables whose definition changes; reading them for
/// every table would read the whole database on every start).
pub fn read(tx: &Transaction, desired: &[TableDef]) -> Result<Stored, MigrationError> {
    tx.execute_batch("CREATE TABLE IF NOT EXISTS _trellis_schema (model TEXT PRIMARY KEY, definition TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .map_err(db)?;
    let mut stored = Stored::default();
    let mut stmt = tx
        .prepare("SELECT model, definition FROM _trellis_schema ORDER BY rowid")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(db)?;
    for row in rows {
        let (model, def) = row.map_err(db)?;
        let t: TableDef = serde_json::from_str(&def).map_err(|e| MigrationError::Unreadable {
            model,
            error: e.to_string(),
        })?;
        stored.tables.push(t);
    }
    let mut stmt = tx
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .map_err(db)?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(db)?;
    for name in names {
        stored.existing.insert(name.map_err(db)?);
    }
    // A count that cannot be taken (a table recorded but gone) counts as none.
    let count = |sql: String| tx.query_row(&sql, [], |r| r.get::<_, i64>(0)).ok();
    for old in &stored.tables {
        let new = desired.iter().find(|d| d.model == old.model);
        if new == Some(old) {
            continue;
        }
        let table = ident(&old.table);
        if let Some(n) = count(format!("SELECT count(*) FROM {table}")) {
            stored.rows.insert(old.table.clone(), n);
        }
        let gone = old
            .columns
            .iter()
            .filter(|oc| new.is_some_and(|n| !n.columns.iter().any(|c| c.name == oc.name)));
        for oc in gone {
            let column = ident(&oc.name);
            let sql = format!("SELECT count(*) FROM {table} WHERE {column} IS NOT NULL");
            if let Some(n) = count(sql) {
                stored
                    .values
                    .insert((old.table.clone(), oc.name.clone()), n);
            }
        }
    }
    Ok(stored)
}

/// Run the plan's statements, record `desired` and check foreign keys; the caller commits.
pub fn apply(
    tx: &Transaction,
    plan: &Plan,
    stored: &Stored,
    desired: &[TableDef],
) -> Result<(), MigrationError> {
    for step in &plan.steps {
        for statement in step_sql(step) {
            tx.execute_batch(&statement)
                .map_err(|e| statement_error(&statement, e))?;
        }
    }
    record(tx, stored, desired)?;
    // Only a change to the schema can leave a foreign key dangling (foreign keys are off while
    // migrating); with nothing applied, the check, which reads every table, is skipped.
    if plan.steps.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare("PRAGMA foreign_key_check").map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Conflict::Dangling {
                table: r.get::<_, String>(0)?,
                rowid: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                target: r.get::<_, String>(2)?,
            })
        })
        .map_err(db)?;
    let dangling: Vec<Conflict> = rows.filter_map(Result::ok).take(5).collect();
    if dangling.is_empty() {
        Ok(())
    } else {
        Err(MigrationError::Conflicts(dangling))
    }
}

fn db(e: rusqlite::Error) -> MigrationError {
    MigrationError::Db(DbError::from(e))
}

/// A failed statement; a unique index over values rows share says which column.
fn statement_error(statement: &str, e: rusqlite::Error) -> MigrationError {
    let why = e.to_string();
    if statement.starts_with("CREATE UNIQUE INDEX") && why.contains("UNIQUE constraint failed") {
        let column = why.rsplit('.').next().unwrap_or("").to_string();
        MigrationError::Conflicts(vec![Conflict::NotUnique { column }])
    } else {
        MigrationError::Db(DbError::at(statement, e))
    }
}

/// Write the definitions that changed to `_trellis_schema`, and forget the models gone.
fn record(tx: &Transaction, stored: &Stored, desired: &[TableDef]) -> Result<(), MigrationError> {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for new in desired {
        if stored.tables.iter().find(|o| o.model == new.model) == Some(new) {
            continue;
        }
        let def = serde_json::to_string(new).expect("a table definition serialises");
        tx.execute(
            "INSERT INTO _trellis_schema (model, definition, applied_at) VALUES (?1, ?2, ?3) ON CONFLICT(model) DO UPDATE SET definition = excluded.definition, applied_at = excluded.applied_at",
            params![new.model, def, now],
        )
        .map_err(db)?;
    }
    for old in &stored.tables {
        if !desired.iter().any(|d| d.model == old.model) {
            tx.execute(
                "DELETE FROM _trellis_schema WHERE model = ?1",
                params![old.model],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}

/// The statements of one step.
fn step_sql(step: &Step) -> Vec<String> {
    match step {
        Step::DropTable { table, .. } => {
            let mut sql = drop_fts_sql(table);
            sql.push(format!("DROP TABLE {}", ident(table)));
            sql
        }
        Step::CreateTable(t) => {
            let cols: Vec<String> = t.columns.iter().map(column_sql).collect();
            let mut sql = vec![format!(
                "CREATE TABLE {} ({})",
                ident(&t.table),
                cols.join(", ")
            )];
            sql.extend(t.indexes.iter().map(|i| index_sql(&t.table, i)));
            if !t.fts.is_empty() {
                sql.extend(fts_sql(t));
            }
            sql
        }
        Step::DropFts { table } => drop_fts_sql(table),
        Step::DropColumn {
            table,
            column,
            indexes,
            ..
        } => {
            let mut sql: Vec<String> = indexes
                .iter()
                .map(|name| format!("DROP INDEX IF EXISTS {}", ident(name)))
                .collect();
            sql.push(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                ident(table),
                ident(column)
            ));
            sql
        }
        Step::AddColumn { table, column } => vec![format!(
            "ALTER TABLE {} ADD COLUMN {}",
            ident(table),
            column_sql(column)
        )],
        Step::DropIndex { name } => vec![format!("DROP INDEX IF EXISTS {}", ident(name))],
        Step::CreateIndex { table, index } => vec![index_sql(table, index)],
        Step::RebuildFts(t) if t.fts.is_empty() => Vec::new(),
        Step::RebuildFts(t) => fts_sql(t),
    }
}

fn column_sql(c: &ColumnDef) -> String {
    let mut s = format!("{} {}", ident(&c.name), c.sql_type);
    if c.primary_key {
        s.push_str(" PRIMARY KEY");
    }
    if !c.null {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default_sql {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(r) = &c.references {
        s.push_str(&format!(" REFERENCES {r}"));
    }
    s
}

fn index_sql(table: &str, i: &IndexDef) -> String {
    format!(
        "CREATE {}INDEX IF NOT EXISTS {} ON {} ({})",
        if i.unique { "UNIQUE " } else { "" },
        ident(&i.name),
        ident(table),
        i.columns.join(", ")
    )
}

fn fts_sql(t: &TableDef) -> Vec<String> {
    let fts = format!("{}_fts", t.table);
    let pk = t
        .columns
        .iter()
        .find(|c| c.primary_key)
        .map_or("id".to_string(), |c| c.name.clone());
    let cols: Vec<String> = t.fts.iter().map(|c| ident(c)).collect();
    let new_vals: Vec<String> = t.fts.iter().map(|c| format!("new.{}", ident(c))).collect();
    let old_vals: Vec<String> = t.fts.iter().map(|c| format!("old.{}", ident(c))).collect();
    let (f, tb, c, n, o) = (
        ident(&fts),
        ident(&t.table),
        cols.join(", "),
        new_vals.join(", "),
        old_vals.join(", "),
    );
    let pk = ident(&pk);
    vec![
        format!("CREATE VIRTUAL TABLE {f} USING fts5({c}, content={tb}, content_rowid={pk})"),
        format!("CREATE TRIGGER {} AFTER INSERT ON {tb} BEGIN INSERT INTO {f}(rowid, {c}) VALUES (new.{pk}, {n}); END", ident(&format!("{fts}_ai"))),
        format!("CREATE TRIGGER {} AFTER DELETE ON {tb} BEGIN INSERT INTO {f}({f}, rowid, {c}) VALUES ('delete', old.{pk}, {o}); END", ident(&format!("{fts}_ad"))),
        format!("CREATE TRIGGER {} AFTER UPDATE ON {tb} BEGIN INSERT INTO {f}({f}, rowid, {c}) VALUES ('delete', old.{pk}, {o}); INSERT INTO {f}(rowid, {c}) VALUES (new.{pk}, {n}); END", ident(&format!("{fts}_au"))),
        format!("INSERT INTO {f}({f}) VALUES ('rebuild')"),
    ]
}

fn drop_fts_sql(table: &str) -> Vec<String> {
    let fts = format!("{table}_fts");
    vec![
        format!("DROP TRIGGER IF EXISTS {}", ident(&format!("{fts}_ai"))),
        format!("DROP TRIGGER IF EXISTS {}", ident(&format!("{fts}_ad"))),
        format!("DROP TRIGGER IF EXISTS {}", ident(&format!("{fts}_au"))),
        format!("DROP TABLE IF EXISTS {}", ident(&fts)),
    ]
}
