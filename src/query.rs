//! Declared query parameters: each route may declare typed parameters with defaults, bounds
//! and choices. A repeated key gives its last value (Django's `QueryDict.get`), all values for
//! `type: list`. An invalid value falls back to the default, or answers 400 when the route says
//! `on_invalid: error`. Undeclared parameters stay readable in templates as strings.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::config::raw::{OnInvalid, QueryType, RawQueryParam, RawScalar};

/// One declared parameter, checked at load time.
#[derive(Debug, Clone)]
pub struct QueryParam {
    pub ty: QueryType,
    pub items: QueryType,
    pub default: Value,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub choices: Option<Vec<Value>>,
    pub on_invalid: OnInvalid,
}

/// A route's declared parameters, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct QuerySpec {
    pub params: IndexMap<String, QueryParam>,
}

fn type_name(t: QueryType) -> &'static str {
    match t {
        QueryType::Str => "a string",
        QueryType::Int => "an integer",
        QueryType::Float => "a number",
        QueryType::Bool => "true or false",
        QueryType::List => "a list",
    }
}

impl QueryParam {
    /// Check a declaration; the error names the key at fault (relative to the parameter).
    pub fn compile(raw: &RawQueryParam) -> Result<QueryParam, (String, String)> {
        let ty = raw.param_type.unwrap_or(QueryType::Str);
        let items = raw.items.unwrap_or(QueryType::Str);
        if raw.items.is_some() && ty != QueryType::List {
            return Err((
                "items".into(),
                "`items` applies only to `type: list`".into(),
            ));
        }
        if items == QueryType::List {
            return Err(("items".into(), "a list cannot hold lists".into()));
        }
        let numeric = matches!(ty, QueryType::Int | QueryType::Float)
            || (ty == QueryType::List && matches!(items, QueryType::Int | QueryType::Float));
        if (raw.min.is_some() || raw.max.is_some()) && !numeric {
            return Err(("min".into(), "`min` and `max` apply only to numbers".into()));
        }
        if let (Some(lo), Some(hi)) = (raw.min, raw.max) {
            if lo > hi {
                return Err(("max".into(), format!("`max` ({hi}) is below `min` ({lo})")));
            }
        }
        let scalar_ty = if ty == QueryType::List { items } else { ty };
        let mut param = QueryParam {
            ty,
            items,
            default: Value::Null,
            min: raw.min,
            max: raw.max,
            choices: None,
            on_invalid: raw.on_invalid.unwrap_or_default(),
        };
        if let Some(choices) = &raw.choices {
            if scalar_ty == QueryType::Bool {
                return Err((
                    "choices".into(),
                    "`choices` makes no sense for a bool".into(),
                ));
            }
            let mut out = Vec::new();
            for c in choices {
                let text = c.to_string();
                match param.parse_scalar(scalar_ty, &text) {
                    Ok(v) => out.push(v),
                    Err(_) => {
                        return Err((
                            "choices".into(),
                            format!("choice {text:?} is not {}", type_name(scalar_ty)),
                        ))
                    }
                }
            }
            param.choices = Some(out);
        }
        param.default = match &raw.default {
            None if ty == QueryType::List => Value::Array(Vec::new()),
            None => Value::Null,
            Some(Value::Array(items)) if ty == QueryType::List => {
                let mut out = Vec::new();
                for item in items {
                    out.push(param.check_default(scalar_ty, item)?);
                }
                Value::Array(out)
            }
            Some(v) if ty == QueryType::List => {
                return Err(("default".into(), format!("expected a list, got {v}")))
            }
            Some(v) => param.check_default(scalar_ty, v)?,
        };
        Ok(param)
    }

    fn check_default(&self, ty: QueryType, v: &Value) -> Result<Value, (String, String)> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => v.to_string(),
            _ => {
                return Err((
                    "default".into(),
                    format!("expected {}, got {v}", type_name(ty)),
                ))
            }
        };
        self.parse_scalar(ty, &text).map_err(|why| {
            (
                "default".into(),
                format!("the default {v} is invalid: {why}"),
            )
        })
    }

    /// Parse one value of a scalar type, applying bounds and choices.
    fn parse_scalar(&self, ty: QueryType, text: &str) -> Result<Value, String> {
        let value = match ty {
            QueryType::Str | QueryType::List => Value::String(text.to_string()),
            QueryType::Int => {
                parse_int(text).ok_or_else(|| format!("expected an integer, got {text:?}"))?
            }
            QueryType::Float => {
                parse_float(text).ok_or_else(|| format!("expected a number, got {text:?}"))?
            }
            QueryType::Bool => Value::Bool(
                parse_bool(text).ok_or_else(|| format!("expected true or false, got {text:?}"))?,
            ),
        };
        if let Some(n) = value.as_f64() {
            if let Some(lo) = self.min {
                if n < lo {
                    return Err(format!("must be at least {lo}, got {text}"));
                }
            }
            if let Some(hi) = self.max {
                if n > hi {
                    return Err(format!("must be at most {hi}, got {text}"));
                }
            }
        }
        if let Some(choices) = &self.choices {
            if !choices.contains(&value) {
                let list: Vec<String> = choices.iter().map(plain).collect();
                return Err(format!("must be one of {}, got {text:?}", list.join(", ")));
            }
        }
        Ok(value)
    }
}

/// An integer typed by a person (a query value, a form field), spaces around it allowed.
pub fn parse_int(text: &str) -> Option<Value> {
    text.trim().parse::<i64>().ok().map(Value::from)
}

/// A finite number typed by a person (`NaN` and `inf` are refused), spaces around it allowed.
pub fn parse_float(text: &str) -> Option<Value> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

/// A boolean as a request writes it: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A query value that the route refuses (`on_invalid: error`): the 400 message.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidQuery(pub String);

impl QuerySpec {
    pub fn compile(
        raw: &IndexMap<String, RawQueryParam>,
    ) -> Result<QuerySpec, Vec<(String, String)>> {
        let mut params = IndexMap::new();
        let mut errors = Vec::new();
        for (name, p) in raw {
            match QueryParam::compile(p) {
                Ok(q) => {
                    params.insert(name.clone(), q);
                }
                Err((key, why)) => errors.push((format!("{name}.{key}"), why)),
            }
        }
        if errors.is_empty() {
            Ok(QuerySpec { params })
        } else {
            Err(errors)
        }
    }

    /// The `query` object for templates: every parameter as its last string value, then the
    /// declared ones typed (defaults filled in).
    pub fn extract(&self, pairs: &[(String, String)]) -> Result<Map<String, Value>, InvalidQuery> {
        let mut out = Map::new();
        for (k, v) in pairs {
            out.insert(k.clone(), Value::String(v.clone()));
        }
        for (name, param) in &self.params {
            let raw: Vec<&str> = pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            let parsed = if param.ty == QueryType::List {
                let mut items = Vec::new();
                let mut failure = None;
                for r in raw
                    .iter()
                    .filter(|r| !r.is_empty() || param.items == QueryType::Str)
                {
                    match param.parse_scalar(param.items, r) {
                        Ok(v) => items.push(v),
                        Err(why) => {
                            failure = Some(why);
                            break;
                        }
                    }
                }
                match failure {
                    Some(why) => Err(why),
                    None if raw.is_empty() => Ok(param.default.clone()),
                    None => Ok(Value::Array(items)),
                }
            } else {
                match raw.last() {
                    None => Ok(param.default.clone()),
                    // An empty value of a typed parameter counts as absent, as in a form.
                    Some(r) if r.is_empty() && param.ty != QueryType::Str => {
                        Ok(param.default.clone())
                    }
                    Some(r) => param.parse_scalar(param.ty, r),
                }
            };
            let value = match parsed {
                Ok(v) => v,
                Err(why) => match param.on_invalid {
                    OnInvalid::Default => param.default.clone(),
                    OnInvalid::Error => {
                        return Err(InvalidQuery(format!("query parameter `{name}`: {why}")))
                    }
                },
            };
            out.insert(name.clone(), value);
        }
        Ok(out)
    }
}

/// A literal scalar as JSON, for `choices` and `args`.
pub fn scalar_json(s: &RawScalar) -> Value {
    s.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml_like: serde_json::Value) -> QuerySpec {
        let raw: IndexMap<String, RawQueryParam> = serde_json::from_value(yaml_like).unwrap();
        QuerySpec::compile(&raw).unwrap()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn last_value_wins_and_lists_keep_all() {
        let s = spec(serde_json::json!({
            "page": {"type": "int", "default": 1, "min": 1},
            "tag": {"type": "list"}
        }));
        let q = s
            .extract(&pairs(&[
                ("page", "2"),
                ("page", "3"),
                ("tag", "a"),
                ("tag", "b"),
            ]))
            .unwrap();
        assert_eq!(q["page"], Value::from(3));
        assert_eq!(q["tag"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn invalid_values_fall_back_or_refuse() {
        let s = spec(serde_json::json!({"page": {"type": "int", "default": 1, "min": 1}}));
        assert_eq!(
            s.extract(&pairs(&[("page", "0")])).unwrap()["page"],
            Value::from(1)
        );
        assert_eq!(
            s.extract(&pairs(&[("page", "x")])).unwrap()["page"],
            Value::from(1)
        );
        let strict = spec(serde_json::json!({"page": {"type": "int", "on_invalid": "error"}}));
        let err = strict.extract(&pairs(&[("page", "x")])).unwrap_err();
        assert!(err.0.contains("`page`"), "{err:?}");
    }

    #[test]
    fn a_default_outside_the_bounds_is_a_load_error() {
        let raw: IndexMap<String, RawQueryParam> = serde_json::from_value(
            serde_json::json!({"n": {"type": "int", "default": 0, "min": 1}}),
        )
        .unwrap();
        let errs = QuerySpec::compile(&raw).unwrap_err();
        assert_eq!(errs[0].0, "n.default");
    }
}
