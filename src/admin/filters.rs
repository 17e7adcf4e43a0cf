//! The list's filters kept across the admin's pages (Django's `preserve_filters`): a link from
//! a filtered, searched, ordered or paged list to a row's page (or the add page) carries the
//! list's query as `?_changelist_filters=<the query, encoded>`; the form, delete and history
//! pages keep it in their links (the forms post to their own URL, so the POST has it too),
//! and saving or deleting goes back to the list with that query. Django's
//! `ModelAdmin.get_preserved_filters` and `add_preserved_filters`.
//!
//! What is appended is only ever a query string, decoded and encoded again: a forged value
//! (`//evil.example`, a full URL, CR LF) becomes harmless query text after a path the router
//! made, never a new target or a header line.

use serde_json::{Map, Value};

use crate::views::Request;

/// The query parameter that carries a list's query to the other admin pages.
pub const PARAM: &str = "_changelist_filters";

/// The list's query as pairs: on the list itself, its own query; on the other pages, the
/// `_changelist_filters` they were given (the last one), decoded. Pairs without a name are
/// dropped.
fn list_pairs(req: &Request, on_list: bool) -> Vec<(String, String)> {
    let pairs = if on_list {
        req.pairs.clone()
    } else {
        match req.last(PARAM) {
            Some(q) => form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
            None => Vec::new(),
        }
    };
    pairs.into_iter().filter(|(k, _)| !k.is_empty()).collect()
}

/// The list's query, encoded (`q=a&status=live`; empty when there is none).
fn encoded(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `_changelist_filters=…` for a link to a row's page, the add page or the delete page
/// (Django's `preserved_filters` in a template); empty when the list had no query.
fn preserved(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    form_urlencoded::Serializer::new(String::new())
        .append_pair(PARAM, &encoded(pairs))
        .finish()
}

/// What a page's context gets: `preserved_filters` (to append after `?` to the links to the
/// model's other pages) and `changelist_query` (to append after `?` to the links back to the
/// list); both empty when the list had no query.
pub fn context(req: &Request, on_list: bool, into: &mut Map<String, Value>) {
    let pairs = list_pairs(req, on_list);
    into.insert("preserved_filters".into(), preserved(&pairs).into());
    into.insert("changelist_query".into(), encoded(&pairs).into());
}

/// The target of a redirect after a write: `path` (a path the router made) with the list's
/// query kept: as the list's own query when `path` is the list, else as `_changelist_filters`.
pub fn redirect(path: String, req: &Request, to_list: bool) -> String {
    let pairs = list_pairs(req, false);
    let query = if to_list {
        encoded(&pairs)
    } else {
        preserved(&pairs)
    };
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(target: &str) -> Request {
        Request::get(target)
    }

    #[test]
    fn a_lists_query_becomes_changelist_filters_and_comes_back_whole() {
        let mut m = Map::new();
        context(&get("/a/post/?q=a+b&status=live&page=2"), true, &mut m);
        let kept = m["preserved_filters"].as_str().unwrap();
        assert_eq!(
            kept,
            "_changelist_filters=q%3Da%2Bb%26status%3Dlive%26page%3D2"
        );
        let change = get(&format!("/a/post/1/change/?{kept}"));
        assert_eq!(
            redirect("/a/post/".into(), &change, true),
            "/a/post/?q=a+b&status=live&page=2"
        );
        assert_eq!(
            redirect("/a/post/add/".into(), &change, false),
            format!("/a/post/add/?{kept}")
        );
        let mut m = Map::new();
        context(&change, false, &mut m);
        assert_eq!(m["changelist_query"], "q=a+b&status=live&page=2");
        assert_eq!(m["preserved_filters"], kept);
    }

    #[test]
    fn no_query_adds_nothing() {
        let mut m = Map::new();
        context(&get("/a/post/"), true, &mut m);
        assert_eq!(m["preserved_filters"], "");
        assert_eq!(
            redirect("/a/post/".into(), &get("/a/post/1/change/"), true),
            "/a/post/"
        );
    }

    /// Whatever `_changelist_filters` holds, the target starts with the path given and the
    /// rest is one query string: no second `?` target, no `//`, no CR or LF.
    #[test]
    fn a_forged_value_stays_a_query_after_the_path() {
        for forged in [
            "%2F%2Fevil.example",
            "https%3A%2F%2Fevil.example%2F",
            "%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
            "x%3D%0D%0ASet-Cookie%3A%20a%3Db",
            "%3F%2F%2Fevil",
            "a%3D1%23frag",
        ] {
            let req = get(&format!("/a/post/1/change/?{PARAM}={forged}"));
            for to_list in [true, false] {
                let to = redirect("/a/post/".into(), &req, to_list);
                let query = to
                    .strip_prefix("/a/post/?")
                    .unwrap_or_else(|| panic!("{to}"));
                assert!(
                    query
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"%+=&*-._".contains(&b)),
                    "{forged}: {to}"
                );
            }
        }
    }
}
