//! The rules names written in a site's YAML must follow, one per purpose, each beside the words
//! that describe it to the author: a route parameter (`<int:pk>`), a custom converter, and the
//! model, table and field names that become SQL identifiers. A check and its message live
//! together here so that they cannot drift apart; `routing`, `site` and `db::model` call them.
//!
//! Each `*_RULE` finishes the sentence "… may hold only", after the kind of name and the name.

/// A route parameter, `name` in `<int:name>`: an identifier as in Python (Django's rule), so
/// letters of any script are allowed.
pub fn is_param_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// What [`is_param_name`] allows.
pub const PARAM_NAME_RULE: &str = "letters, digits and `_`, and not start with a digit";

/// A custom converter's name, `conv` in `<conv:name>`. A `-` is allowed (`<iso-date:day>`);
/// the name ends at the `:`.
pub fn is_converter_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What [`is_converter_name`] allows.
pub const CONVERTER_NAME_RULE: &str =
    "ASCII letters, digits, `_` and `-`, and start with a letter or `_`";

/// A name that becomes an SQL identifier: a field's column. Quoted anyway when written into
/// SQL, but kept plain so that it reads the same in YAML, SQL and templates.
pub fn is_sql_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What [`is_sql_name`] allows.
pub const SQL_NAME_RULE: &str = "ASCII letters, digits and `_`, and not start with a digit";

/// Trellis's own tables start with this; SQLite compares table names without regard to case.
const TRELLIS_PREFIX: &str = "_trellis";
/// SQLite refuses to create a table whose name starts with this, in any case.
const SQLITE_PREFIX: &str = "sqlite_";

fn has_prefix_ignoring_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// A model's name: an SQL name (its table is named after it by default) that does not claim
/// Trellis's own prefix.
pub fn is_model_name(s: &str) -> bool {
    is_sql_name(s) && !has_prefix_ignoring_case(s, TRELLIS_PREFIX)
}

/// What [`is_model_name`] allows.
pub const MODEL_NAME_RULE: &str =
    "ASCII letters, digits and `_`, and not start with a digit or `_trellis`";

/// A table's name: an SQL name that is not reserved by Trellis or by SQLite.
pub fn is_table_name(s: &str) -> bool {
    is_model_name(s) && !has_prefix_ignoring_case(s, SQLITE_PREFIX)
}

/// What [`is_table_name`] allows.
pub const TABLE_NAME_RULE: &str =
    "ASCII letters, digits and `_`, and not start with a digit, `_trellis` or `sqlite_` (in any case)";

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name against every rule, in the order param, converter, sql (field), model, table.
    #[test]
    fn each_rule_as_a_table() {
        let rows: &[(&str, [bool; 5])] = &[
            ("", [false, false, false, false, false]),
            ("pk", [true, true, true, true, true]),
            ("Post", [true, true, true, true, true]),
            ("post_id2", [true, true, true, true, true]),
            ("_", [true, true, true, true, true]),
            ("_private", [true, true, true, true, true]),
            ("2fast", [false, false, false, false, false]),
            ("9", [false, false, false, false, false]),
            ("café", [true, false, false, false, false]),
            ("名前", [true, false, false, false, false]),
            ("é", [true, false, false, false, false]),
            ("iso-date", [false, true, false, false, false]),
            ("-x", [false, false, false, false, false]),
            ("x-", [false, true, false, false, false]),
            ("a b", [false, false, false, false, false]),
            ("a.b", [false, false, false, false, false]),
            ("a:b", [false, false, false, false, false]),
            ("a>", [false, false, false, false, false]),
            ("a\"b", [false, false, false, false, false]),
            ("_trellis", [true, true, true, false, false]),
            ("_trellis_schema", [true, true, true, false, false]),
            ("_TRELLIS_schema", [true, true, true, false, false]),
            ("_trel", [true, true, true, true, true]),
            ("trellis", [true, true, true, true, true]),
            ("sqlite_master", [true, true, true, true, false]),
            ("SQLite_stat1", [true, true, true, true, false]),
            ("sqlite", [true, true, true, true, true]),
            ("my_sqlite_table", [true, true, true, true, true]),
        ];
        for (name, [param, converter, sql, model, table]) in rows {
            assert_eq!(is_param_name(name), *param, "param {name:?}");
            assert_eq!(is_converter_name(name), *converter, "converter {name:?}");
            assert_eq!(is_sql_name(name), *sql, "sql {name:?}");
            assert_eq!(is_model_name(name), *model, "model {name:?}");
            assert_eq!(is_table_name(name), *table, "table {name:?}");
        }
    }

    /// Each message names exactly the characters and prefixes its rule refuses.
    #[test]
    fn messages_name_what_their_rule_refuses() {
        for (rule, says, mentions, omits) in [
            (
                "param",
                PARAM_NAME_RULE,
                &["letters", "digits", "`_`"][..],
                &["ASCII", "`-`", "_trellis", "sqlite_"][..],
            ),
            (
                "converter",
                CONVERTER_NAME_RULE,
                &["ASCII", "`_`", "`-`"],
                &["_trellis", "sqlite_"],
            ),
            (
                "sql",
                SQL_NAME_RULE,
                &["ASCII", "`_`"],
                &["`-`", "_trellis", "sqlite_"],
            ),
            (
                "model",
                MODEL_NAME_RULE,
                &["ASCII", "`_trellis`"],
                &["sqlite_"],
            ),
            (
                "table",
                TABLE_NAME_RULE,
                &["ASCII", "`_trellis`", "`sqlite_`"],
                &["`-`"],
            ),
        ] {
            for m in mentions {
                assert!(says.contains(m), "{rule}: {says:?} should mention {m}");
            }
            for m in omits {
                assert!(!says.contains(m), "{rule}: {says:?} should not mention {m}");
            }
        }
    }
}
