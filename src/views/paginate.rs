//! Django's `Paginator`, as pure functions: which page a request's `?page=` names (or a 404),
//! and the `page` object templates and JSON see. No database and no request here: the list
//! view counts and fetches, this decides. Table-tested below against what Django answers.

use serde_json::{Map, Value};

/// Page numbering of a counted list (Django's `Paginator` with `count` known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub count: i64,
    pub per_page: i64,
    /// Django's `allow_empty_first_page`: an empty list still has a page 1.
    pub allow_empty: bool,
}

impl Counted {
    /// Django's `num_pages`.
    pub fn num_pages(&self) -> i64 {
        if self.count == 0 {
            i64::from(self.allow_empty)
        } else {
            (self.count + self.per_page - 1) / self.per_page
        }
    }

    /// ListView's `paginate_queryset` and the paginator's `validate_number`: the page `?page=`
    /// names, or `None` for a 404. An absent or empty value is page 1; a number is read as
    /// Python's `int()` reads it ([`python_int`]); else exactly `last` is the last page.
    pub fn page(&self, raw: Option<&str>) -> Option<i64> {
        let num_pages = self.num_pages();
        let number = match raw {
            None | Some("") => 1,
            Some(p) => match python_int(p) {
                Ok(n) => n,
                Err(IntError::Invalid) if p == "last" => num_pages.max(1),
                // Past every page, as Django finds a number beyond 64 bits.
                Err(_) => return None,
            },
        };
        let exists = number >= 1 && (number <= num_pages || (number == 1 && self.allow_empty));
        exists.then_some(number)
    }
}

/// The page number of a list that is not counted (`count: false`): any number from 1, as far
/// as there are rows (the view answers 404 for a page past the end, once it finds it empty).
pub fn uncounted_page(raw: Option<&str>) -> Option<i64> {
    match raw {
        None | Some("") => Some(1),
        Some(p) => python_int(p).ok().filter(|n| *n >= 1),
    }
}

/// Why text is not a number Python's `int()` reads (as an `i64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    /// `int()` raises `ValueError`.
    Invalid,
    /// A number, beyond 64 bits.
    TooLarge,
}

/// Text as Python's `int(text)` reads it: surrounding whitespace (Unicode's, as `str.split`
/// knows it), one sign, then decimal digits of any script (Unicode category Nd: `٣` is 3,
/// `４２` is 42), with single underscores between digits (`1_000`).
pub fn python_int(text: &str) -> Result<i64, IntError> {
    let s = text.trim_matches(char::is_whitespace);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: Option<i64> = Some(0);
    let mut after_digit = false;
    for c in digits.chars() {
        if c == '_' {
            if !after_digit {
                return Err(IntError::Invalid);
            }
            after_digit = false;
            continue;
        }
        let d = decimal_value(c).ok_or(IntError::Invalid)?;
        // Accumulated negative, so that i64::MIN is in range.
        value = value
            .and_then(|v| v.checked_mul(10))
            .and_then(|v| v.checked_sub(i64::from(d)));
        after_digit = true;
    }
    // Empty, only a sign, or ending in `_`.
    if !after_digit {
        return Err(IntError::Invalid);
    }
    let value = value.ok_or(IntError::TooLarge)?;
    if negative {
        Ok(value)
    } else {
        value.checked_neg().ok_or(IntError::TooLarge)
    }
}

/// Unicode's decimal digits (category Nd), as ranges from the regex crate's Unicode tables.
/// Unicode assigns them only in runs of ten, zero to nine, so a digit's value is its distance
/// from its range's start, modulo ten (adjacent runs may share a range).
static DECIMAL_DIGITS: std::sync::LazyLock<Vec<(char, char)>> = std::sync::LazyLock::new(|| {
    use regex_syntax::hir::{Class, HirKind};
    match regex_syntax::parse(r"\p{Nd}").map(|h| h.kind().clone()) {
        Ok(HirKind::Class(Class::Unicode(c))) => c.iter().map(|r| (r.start(), r.end())).collect(),
        _ => Vec::new(),
    }
});

/// The value of a decimal digit of any script.
fn decimal_value(c: char) -> Option<u32> {
    if c.is_ascii() {
        return c.to_digit(10);
    }
    let ranges = &*DECIMAL_DIGITS;
    let (start, end) = *ranges.get(ranges.partition_point(|(_, end)| *end < c))?;
    (start <= c && c <= end).then(|| (c as u32 - start as u32) % 10)
}

/// What one page of rows knows about its place, as the template's `page` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page number; `None` for keyset pages, which have no number.
    pub number: Option<i64>,
    pub per_page: i64,
    pub has_next: bool,
    pub has_previous: bool,
    /// The row count and number of pages, when counted.
    pub counted: Option<Counted>,
    pub next_url: Option<String>,
    pub previous_url: Option<String>,
    /// The way back to the start, for keyset pages (which only go forward).
    pub first_url: Option<String>,
}

impl Page {
    /// The `page` object: `number`, `paginate_by`, `has_next`, `has_previous`,
    /// `has_other_pages`, `count`, `num_pages`, `start_index`, `end_index`,
    /// `next_page_number`, `previous_page_number`, `next_url`, `previous_url`, `first_url`.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut page = Map::new();
        page.insert("number".into(), self.number.into());
        page.insert("paginate_by".into(), self.per_page.into());
        page.insert("has_next".into(), self.has_next.into());
        page.insert("has_previous".into(), self.has_previous.into());
        page.insert(
            "has_other_pages".into(),
            (self.has_next || self.has_previous).into(),
        );
        match (self.counted, self.number) {
            (Some(c), Some(number)) => {
                let num_pages = c.num_pages();
                page.insert("count".into(), c.count.into());
                page.insert("num_pages".into(), num_pages.into());
                // Django's start_index and end_index.
                let start = if c.count == 0 {
                    0
                } else {
                    (number - 1) * self.per_page + 1
                };
                let end = if number == num_pages {
                    c.count
                } else {
                    number * self.per_page
                };
                page.insert("start_index".into(), start.into());
                page.insert("end_index".into(), end.into());
            }
            _ => {
                page.insert("count".into(), Value::Null);
                page.insert("num_pages".into(), Value::Null);
            }
        }
        if let (Some(n), true) = (self.number, self.has_next) {
            page.insert("next_page_number".into(), (n + 1).into());
        }
        if let Some(url) = &self.first_url {
            page.insert("first_url".into(), url.clone().into());
        }
        if let (Some(n), true) = (self.number, self.has_previous) {
            page.insert("previous_page_number".into(), (n - 1).into());
        }
        page.insert("next_url".into(), self.next_url.clone().into());
        page.insert("previous_url".into(), self.previous_url.clone().into());
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn counted(count: i64, per_page: i64, allow_empty: bool) -> Counted {
        Counted {
            count,
            per_page,
            allow_empty,
        }
    }

    #[test]
    fn num_pages_as_django() {
        for (count, per, allow_empty, pages) in [
            (0, 10, true, 1),
            (0, 10, false, 0),
            (1, 10, true, 1),
            (10, 10, true, 1),
            (11, 10, true, 2),
            (100, 3, true, 34),
        ] {
            assert_eq!(
                counted(count, per, allow_empty).num_pages(),
                pages,
                "{count} rows by {per}"
            );
        }
    }

    #[test]
    fn the_page_a_request_names_as_django_validate_number() {
        let c = counted(25, 10, true); // three pages
        for (raw, page) in [
            (None, Some(1)),
            (Some(""), Some(1)),
            (Some("1"), Some(1)),
            (Some("3"), Some(3)),
            (Some("+2"), Some(2)),
            (Some("++2"), None),
            (Some("+-2"), None),
            (Some(" 2 "), Some(2)),
            (Some("0_2"), Some(2)),
            (Some("\u{663}"), Some(3)),
            (Some("last"), Some(3)),
            // `int(" last")` fails, and it is not exactly `last`.
            (Some(" last"), None),
            (Some("  "), None),
            (Some("4"), None),
            (Some("0"), None),
            (Some("-1"), None),
            (Some("1.5"), None),
            (Some("two"), None),
            (Some("99999999999999999999"), None),
        ] {
            assert_eq!(c.page(raw), page, "?page={raw:?}");
        }
        // An empty list: page 1 exists only when empty pages are allowed.
        assert_eq!(counted(0, 10, true).page(None), Some(1));
        assert_eq!(counted(0, 10, true).page(Some("last")), Some(1));
        assert_eq!(counted(0, 10, true).page(Some("2")), None);
        assert_eq!(counted(0, 10, false).page(None), None);
    }

    #[test]
    fn an_uncounted_list_takes_any_page_from_one() {
        for (raw, page) in [
            (None, Some(1)),
            (Some("7"), Some(7)),
            (Some("+7"), Some(7)),
            (Some("++7"), None),
            (Some("0"), None),
            (Some("last"), None),
            (Some("x"), None),
        ] {
            assert_eq!(uncounted_page(raw), page, "?page={raw:?}");
        }
    }

    #[test]
    fn the_page_object_of_a_middle_page() {
        let page = Page {
            number: Some(2),
            per_page: 10,
            has_next: true,
            has_previous: true,
            counted: Some(counted(25, 10, true)),
            next_url: Some("/p/?page=3".into()),
            previous_url: Some("/p/?page=1".into()),
            first_url: None,
        };
        assert_eq!(
            Value::Object(page.to_map()),
            json!({
                "number": 2, "paginate_by": 10, "has_next": true, "has_previous": true,
                "has_other_pages": true, "count": 25, "num_pages": 3,
                "start_index": 11, "end_index": 20,
                "next_page_number": 3, "previous_page_number": 1,
                "next_url": "/p/?page=3", "previous_url": "/p/?page=1",
            })
        );
    }

    #[test]
    fn the_last_page_ends_at_the_count_and_an_empty_one_starts_at_zero() {
        let last = Page {
            number: Some(3),
            per_page: 10,
            has_next: false,
            has_previous: true,
            counted: Some(counted(25, 10, true)),
            next_url: None,
            previous_url: Some("/p/?page=2".into()),
            first_url: None,
        }
        .to_map();
        assert_eq!(last["start_index"], 21);
        assert_eq!(last["end_index"], 25);
        assert_eq!(last["next_url"], Value::Null);
        assert!(!last.contains_key("next_page_number"));
        let empty = Page {
            number: Some(1),
            per_page: 10,
            has_next: false,
            has_previous: false,
            counted: Some(counted(0, 10, true)),
            next_url: None,
            previous_url: None,
            first_url: None,
        }
        .to_map();
        assert_eq!(empty["start_index"], 0);
        assert_eq!(empty["end_index"], 0);
        assert_eq!(empty["has_other_pages"], false);
    }

    #[test]
    fn a_keyset_page_has_no_number_or_count() {
        let page = Page {
            number: None,
            per_page: 5,
            has_next: true,
            has_previous: true,
            counted: None,
            next_url: Some("/p/?after=10".into()),
            previous_url: None,
            first_url: Some("/p/".into()),
        }
        .to_map();
        assert_eq!(page["number"], Value::Null);
        assert_eq!(page["count"], Value::Null);
        assert_eq!(page["num_pages"], Value::Null);
        assert_eq!(page["first_url"], "/p/");
        assert!(!page.contains_key("next_page_number"));
        assert!(!page.contains_key("previous_page_number"));
    }
}
