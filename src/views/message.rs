//! `success_message:` on a `create`, `update` or `delete` route (Django's
//! `SuccessMessageMixin`): a text with `{field}` placeholders, checked against the model's
//! fields at load and filled from the saved (or deleted) row after COMMIT; `views::form` keeps
//! it with `auth::add_message` (in a signed-in user's session, else in the visitor's signed
//! `messages` cookie). On a `login` route (Django's `LoginView` with the mixin) the one
//! placeholder is `{username}`, and `views::auth` keeps it in the new session. It is plain
//! text: the page that shows `messages` escapes it like any other value.

use serde_json::{Map, Value};

use super::RouteDef;
use crate::config::diagnostic::{suggestion, Diagnostic};
use crate::db::model::Model;
use crate::render::helpers::text;

/// A compiled `success_message:`: literal text and the columns of the fields it names.
#[derive(Debug, Clone, PartialEq)]
pub struct SuccessMessage(Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Column(String),
}

impl SuccessMessage {
    /// The route's `success_message:`, each placeholder a field of `model` (`{{` and `}}` are
    /// literal braces); every mistake is reported at the key.
    pub fn compile(
        r: &RouteDef,
        model: &Model,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<SuccessMessage> {
        let fields: Vec<(&str, &str)> = model
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.column.as_str()))
            .collect();
        Self::compile_for(r, &model.name, &fields, errors)
    }

    /// A `login` route's `success_message:`: `{username}` is the signed-in user's name (the
    /// key of the row [`SuccessMessage::fill`] is given).
    pub fn compile_login(r: &RouteDef, errors: &mut Vec<Diagnostic>) -> Option<SuccessMessage> {
        Self::compile_for(r, "the sign-in form", &[("username", "username")], errors)
    }

    /// `compile` against `fields` (name, column) of `owner` (named in messages).
    fn compile_for(
        r: &RouteDef,
        owner: &str,
        fields: &[(&str, &str)],
        errors: &mut Vec<Diagnostic>,
    ) -> Option<SuccessMessage> {
        let text = r.raw.success_message.as_ref()?;
        let at = r.key("success_message");
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text.as_str();
        let mut ok = true;
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                literal.push_str(&tail[..1]);
                rest = after;
                continue;
            }
            let close = tail
                .strip_prefix('{')
                .and_then(|t| t.find('}').map(|j| (t, j)));
            let Some((inner, j)) = close else {
                errors.push(
                    r.source
                        .diag(&at, format!("a lone `{}` in {text:?}", &tail[..1]))
                        .with_hint(Some(
                            "a placeholder is `{field}`; write `{{` or `}}` for a brace".into(),
                        )),
                );
                return None;
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            let name = inner[..j].trim();
            match fields.iter().find(|(n, _)| *n == name) {
                Some((_, column)) => pieces.push(Piece::Column(column.to_string())),
                None => {
                    ok = false;
                    let known = fields.iter().map(|(n, _)| *n);
                    errors.push(
                        r.source
                            .diag(&at, format!("`{{{name}}}`: {owner} has no field `{name}`"))
                            .with_hint(suggestion(name, known)),
                    );
                }
            }
            rest = &inner[j + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        ok.then_some(SuccessMessage(pieces))
    }

    /// The text for a saved row (column → value): a null is empty, a text as it is.
    pub fn fill(&self, row: &Map<String, Value>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Column(c) => out.push_str(&row.get(c).map(text).unwrap_or_default()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_is_filled_from_the_row_a_null_or_missing_value_as_nothing() {
        let message = SuccessMessage(vec![
            Piece::Text("Saved ".into()),
            Piece::Column("title".into()),
            Piece::Text(" (".into()),
            Piece::Column("rating".into()),
            Piece::Text(", ".into()),
            Piece::Column("body".into()),
            Piece::Column("gone".into()),
            Piece::Text(")".into()),
        ]);
        let row = json!({"title": "<b>Hi</b>", "rating": 2.5, "body": null});
        assert_eq!(
            message.fill(row.as_object().unwrap()),
            "Saved <b>Hi</b> (2.5, )"
        );
    }
}
