//! ISO-8601 dates and datetimes, read one way everywhere: the `date` template helper formats
//! what [`parse`] reads, and `db::model::validate` accepts a date or datetime field's value only
//! when [`parse_date`] or [`parse_datetime`] reads it, so a stored value can always be shown.
//!
//! Accepted: `2026-11-21`; a time after `T`, `t` or one space, `10:30` or `10:30:00`, with up
//! to nine digits of fraction after `.` or `,`; then optionally `Z`, `z`, or an offset
//! `+01:00`, `+0100` or `+01`. Dates and times out of range (`2026-02-30`, `24:00`, a leap
//! second) are refused, and nothing may come before or after.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;

/// A date, or a datetime with or without a UTC offset, as an ISO-8601 string holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Date(NaiveDate),
    /// No offset: a wall-clock time.
    Local(NaiveDateTime),
    Offset(DateTime<FixedOffset>),
}

static ISO_8601: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$",
    )
    .expect("ISO-8601 regex")
});

/// Read a date or datetime in any of the accepted forms (see the module comment).
pub fn parse(s: &str) -> Option<When> {
    parse_plain(s).unwrap_or_else(|| parse_any(s))
}

/// [`parse`] by the regex, every accepted form.
fn parse_any(s: &str) -> Option<When> {
    let c = ISO_8601.captures(s)?;
    // Every group is ASCII digits of bounded length, so parsing cannot overflow.
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(c[1].parse().ok()?, num(2)?, num(3)?)?;
    let Some(hour) = num(4) else {
        return Some(When::Date(date));
    };
    let nanos = match c.get(7) {
        Some(m) => format!("{:0<9}", m.as_str()).parse().ok()?,
        None => 0,
    };
    let time = NaiveTime::from_hms_nano_opt(hour, num(5)?, num(6).unwrap_or(0), nanos)?;
    let local = date.and_time(time);
    let seconds = if c.get(8).is_some() {
        0
    } else if let Some(sign) = c.get(9) {
        let minutes = num(11).unwrap_or(0);
        if minutes >= 60 {
            return None;
        }
        let secs = (num(10)? * 3600 + minutes * 60) as i32;
        if sign.as_str() == "-" {
            -secs
        } else {
            secs
        }
    } else {
        return Some(When::Local(local));
    };
    let offset = FixedOffset::east_opt(seconds)?;
    local.and_local_timezone(offset).single().map(When::Offset)
}

/// [`parse`] without the regex for the forms Trellis stores (a feed parses one per entry):
/// `YYYY-MM-DD`, optionally with `THH:MM` or `THH:MM:SS` (`T`, `t` or a space) and `Z`. `None`
/// for any other form, which the regex reads; else what the regex's reading gives.
fn parse_plain(s: &str) -> Option<Option<When>> {
    let b = s.as_bytes();
    let (body, utc) = match b.last() {
        Some(b'Z' | b'z') => (&b[..b.len() - 1], true),
        _ => (b, false),
    };
    let fits = |shape: &[u8]| {
        body.len() == shape.len()
            && body.iter().zip(shape).all(|(c, want)| match want {
                b'9' => c.is_ascii_digit(),
                b'T' => matches!(c, b'T' | b't' | b' '),
                _ => c == want,
            })
    };
    let num = |at: usize, len: usize| {
        body[at..at + len]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let seconds = if fits(b"9999-99-99T99:99:99") {
        Some(num(17, 2))
    } else if fits(b"9999-99-99T99:99") {
        Some(0)
    } else if fits(b"9999-99-99") && !utc {
        None
    } else {
        return None;
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4) as i32, num(5, 2), num(8, 2));
    let Some(seconds) = seconds else {
        return Some(date.map(When::Date));
    };
    let time = NaiveTime::from_hms_opt(num(11, 2), num(14, 2), seconds);
    let local = date.zip(time).map(|(d, t)| d.and_time(t));
    Some(match local {
        Some(local) if utc => local
            .and_local_timezone(FixedOffset::east_opt(0)?)
            .single()
            .map(When::Offset),
        other => other.map(When::Local),
    })
}

/// A date alone, `YYYY-MM-DD`: what a date field holds.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    match parse(s)? {
        When::Date(d) => Some(d),
        When::Local(_) | When::Offset(_) => None,
    }
}

/// A datetime, with its offset (if any) applied: the UTC time for one with an offset, the
/// wall-clock time as written for one without. A date alone is not a datetime.
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    match parse(s)? {
        When::Date(_) => None,
        When::Local(dt) => Some(dt),
        When::Offset(dt) => Some(dt.naive_utc()),
    }
}

/// A stored datetime as Django's `DjangoJSONEncoder` writes a UTC `datetime`: ISO 8601 with
/// `T`, the fraction cut (not rounded) to milliseconds and left out when the microseconds are
/// zero, and `Z`: `2024-01-03T10:14:00.123Z`, `2024-01-03T10:14:00Z`. Stored datetimes are UTC
/// (an offset is applied on the way in). `None` when the text is not a datetime.
pub fn django_json(s: &str) -> Option<String> {
    use chrono::Timelike;
    let dt = parse_datetime(s)?;
    let mut out = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    // Python's datetime holds microseconds: nanoseconds below one are not there to show.
    let micros = dt.nanosecond() % 1_000_000_000 / 1_000;
    if micros != 0 {
        out.push_str(&format!(".{:03}", micros / 1_000));
    }
    out.push('Z');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forms read without the regex are read as the regex reads them, out-of-range values
    /// refused alike; the others are left to the regex.
    #[test]
    fn plain_forms_are_read_as_the_regex_reads_them() {
        for s in [
            "2026-11-21",
            "2026-11-21T10:30",
            "2026-11-21t10:30:59",
            "2026-11-21 10:30:00Z",
            "2026-11-21T10:30z",
            "2026-02-30",
            "2026-02-28T24:00:00",
            "2026-02-28T23:60",
            "2026-02-28T23:59:60Z",
            "0000-01-01",
        ] {
            assert_eq!(parse_plain(s), Some(parse_any(s)), "{s}");
        }
        for s in [
            "2026-11-21Z",
            "2026-11-21T10:30:00.5",
            "2026-11-21T10:30:00+01:00",
            "2026-11-21T10",
            "2026-1-21",
            "2026-11-21X10:30",
            "２026-11-21",
            "",
        ] {
            assert_eq!(parse_plain(s), None, "{s}");
        }
        assert_eq!(parse("2026-11-21Z"), None);
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(h: u32, mi: u32, s: u32, nanos: u32) -> NaiveDateTime {
        date(2026, 11, 21)
            .and_hms_nano_opt(h, mi, s, nanos)
            .unwrap()
    }

    fn offset(s: &str, secs: i32) -> When {
        let dt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        When::Offset(
            dt.and_local_timezone(FixedOffset::east_opt(secs).unwrap())
                .unwrap(),
        )
    }

    /// Django's answers, from `json.dumps(datetime(…, tzinfo=timezone.utc),
    /// cls=DjangoJSONEncoder)` under Django 5.2 (the stored text is what `validate` writes).
    #[test]
    fn datetimes_as_djangos_json_encoder_writes_them() {
        for (stored, django) in [
            ("2024-01-03T10:14:00.123456", "2024-01-03T10:14:00.123Z"),
            ("2024-01-03T10:14:00", "2024-01-03T10:14:00Z"),
            ("2024-01-03T10:14:00.000500", "2024-01-03T10:14:00.000Z"),
            ("2024-01-03T10:14:00.999999", "2024-01-03T10:14:00.999Z"),
            ("2024-01-03T10:14:00.120", "2024-01-03T10:14:00.120Z"),
            ("0999-12-31T23:59:59.001", "0999-12-31T23:59:59.001Z"),
            // Python has no nanoseconds: below a microsecond there is no fraction to show.
            ("2024-01-03T10:14:00.000000400", "2024-01-03T10:14:00Z"),
            // Read as the validator reads it, whatever form an outside writer left.
            ("2024-01-03 10:14", "2024-01-03T10:14:00Z"),
        ] {
            assert_eq!(django_json(stored).as_deref(), Some(django), "{stored}");
        }
        assert_eq!(django_json("2024-01-03"), None);
        assert_eq!(django_json("soon"), None);
    }

    #[test]
    fn accepted_forms() {
        let rows = [
            ("2026-11-21", When::Date(date(2026, 11, 21))),
            ("2024-02-29", When::Date(date(2024, 2, 29))),
            ("2026-11-21T10:30", When::Local(at(10, 30, 0, 0))),
            ("2026-11-21 10:30", When::Local(at(10, 30, 0, 0))),
            ("2026-11-21t10:30:05", When::Local(at(10, 30, 5, 0))),
            (
                "2026-11-21T10:30:05.25",
                When::Local(at(10, 30, 5, 250_000_000)),
            ),
            (
                "2026-11-21 10:30:05,5",
                When::Local(at(10, 30, 5, 500_000_000)),
            ),
            (
                "2026-11-21T10:30:05.123456789",
                When::Local(at(10, 30, 5, 123_456_789)),
            ),
            ("2026-11-21T00:00:00", When::Local(at(0, 0, 0, 0))),
            ("2026-11-21T23:59:59", When::Local(at(23, 59, 59, 0))),
            ("2026-11-21T10:30:00Z", offset("2026-11-21 10:30:00", 0)),
            ("2026-11-21T10:30z", offset("2026-11-21 10:30:00", 0)),
            (
                "2026-11-21T10:30:00+01:00",
                offset("2026-11-21 10:30:00", 3600),
            ),
            (
                "2026-11-21T10:30:00+0100",
                offset("2026-11-21 10:30:00", 3600),
            ),
            (
                "2026-11-21T10:30:00+01",
                offset("2026-11-21 10:30:00", 3600),
            ),
            (
                "2026-11-21T10:30:00-05:30",
                offset("2026-11-21 10:30:00", -19800),
            ),
            (
                "2026-11-21 10:30:00.5+00:00",
                offset("2026-11-21 10:30:00.5", 0),
            ),
            (
                "2026-11-21T10:30:00-00:00",
                offset("2026-11-21 10:30:00", 0),
            ),
        ];
        for (s, want) in rows {
            assert_eq!(parse(s), Some(want), "{s}");
        }
    }

    #[test]
    fn refused_forms() {
        for s in [
            "",
            "tomorrow",
            "2026",
            "2026-11",
            "20261121",
            "21/11/2026",
            "26-11-21",
            "2026-1-5",
            "+2026-11-21",
            "12026-11-21",
            "2026-11-31",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-11-21T",
            "2026-11-21T10",
            "2026-11-21T1:30",
            "2026-11-21T24:00",
            "2026-11-21T25:00:00",
            "2026-11-21T10:60",
            "2026-11-21T23:59:60",
            "2026-11-21T10:30:00.",
            "2026-11-21T10:30:00.1234567890",
            "2026-11-21X10:30",
            "2026-11-21  10:30",
            "2026-11-21T10:30:00 +01:00",
            "2026-11-21T10:30:00+25:00",
            "2026-11-21T10:30:00+01:60",
            "2026-11-21T10:30:00+1",
            "2026-11-21T10:30:00+01:0",
            "2026-11-21Z",
            "2026-11-21+01:00",
            " 2026-11-21",
            "2026-11-21 ",
            "2026-11-21T10:30:00+01:00garbage",
            "２０２６-11-21",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn dates_and_datetimes_apart() {
        assert_eq!(parse_date("2026-11-21"), Some(date(2026, 11, 21)));
        assert_eq!(parse_date("2026-11-21T10:30"), None);
        assert_eq!(parse_datetime("2026-11-21"), None);
        assert_eq!(
            parse_datetime("2026-11-21 10:30:05.25"),
            Some(at(10, 30, 5, 250_000_000))
        );
        // An offset is applied: the UTC time, across a day boundary if need be.
        assert_eq!(
            parse_datetime("2026-11-21T10:30:00+0100"),
            Some(at(9, 30, 0, 0))
        );
        assert_eq!(
            parse_datetime("2026-11-22T01:00:00+02:00"),
            Some(at(23, 0, 0, 0))
        );
    }

    /// What the field validator stores, the `date` helper can show, and every string the helper
    /// can show is accepted by a date or a datetime field: one reader behind both.
    #[test]
    fn validator_and_date_helper_agree() {
        use crate::config::raw::RawModel;
        use crate::config::yaml::Source;
        use crate::db::model::{compile, validate};
        use crate::render::helpers::format_date;
        use indexmap::IndexMap;
        use serde_json::{json, Value};

        let raw: IndexMap<String, RawModel> = serde_json::from_value(json!({
            "Event": {"fields": {"day": {"type": "date"}, "at": {"type": "datetime"}}}
        }))
        .unwrap();
        let (models, errors) = compile(&raw, &Source::new("site.yaml".into(), String::new()));
        assert!(errors.is_empty(), "{errors:?}");
        let event = &models["Event"];
        let (day, at) = (event.field("day").unwrap(), event.field("at").unwrap());

        let mut accepted = 0;
        for s in [
            "2026-11-21",
            "2026-11-21T10:30",
            "2026-11-21 10:30:05",
            "2026-11-21t10:30:05,5",
            "2026-11-21T10:30:05.123456789",
            "2026-11-21T10:30:00Z",
            "2026-11-21T10:30:00+01:00",
            "2026-11-21T10:30:00+0100",
            "2026-11-21T10:30:00-08",
            "2026-11-21T23:59:60Z",
            "2026-11-21T10:30:00.1234567890Z",
            "2026-1-5",
            "2026-11-21T10:30:00 +01:00",
            "2026-11-21+01:00",
            "tomorrow",
        ] {
            let shown = format_date(s, None).is_ok();
            let stored: Vec<Value> = [day, at]
                .into_iter()
                .filter_map(|f| validate(f, &json!(s)).ok())
                .collect();
            assert_eq!(
                shown,
                !stored.is_empty(),
                "{s:?}: shown {shown}, stored {stored:?}"
            );
            for v in &stored {
                let v = v.as_str().unwrap();
                assert!(format_date(v, None).is_ok(), "{s:?} stored as {v:?}");
                assert!(format_date(v, Some("iso")).is_ok(), "{s:?} stored as {v:?}");
                accepted += 1;
            }
        }
        assert_eq!(accepted, 9);
    }
}
