//! Small text helpers, written out by hand: path and query decoding, query encoding, Python's
//! `str.capitalize`, Django's `truncatechars`, and the blog's date format.

/// Percent-decode a request path (`%2F` becomes `/`); a malformed escape or bytes that are not
/// UTF-8 are refused with the reason (a 400).
pub fn decode_path(raw: &str) -> Result<std::borrow::Cow<'_, str>, &'static str> {
    if !raw.contains('%') {
        return Ok(raw.into());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => return Err("the path has a malformed percent-escape"),
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Into::into)
        .map_err(|_| "the path is not valid UTF-8")
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a space, a bad
/// escape stays as it is, bytes that are not UTF-8 become U+FFFD.
fn form_decode(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// The decoded pairs of a query string, in order, repeated keys kept.
pub fn query_pairs(qs: &str) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect()
}

/// The last value of `name` in the pairs (Django's `QueryDict.get`).
pub fn last<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The last value of `name` in a raw query string, decoded; for pages that read one parameter.
pub fn last_raw(qs: &str, name: &str) -> Option<String> {
    qs.rsplit('&')
        .find_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let matches = if k.contains(['%', '+']) {
                form_decode(k) == name
            } else {
                k == name
            };
            matches.then_some(v)
        })
        .map(form_decode)
}

/// Append one name or value in `application/x-www-form-urlencoded` form.
fn form_encode(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// `path?…&page=N`: the request's other parameters kept in order (`page` and `after` dropped),
/// then `page`.
pub fn page_url(path: &str, pairs: &[(String, String)], page: i64) -> String {
    let mut s = String::with_capacity(path.len() + 16);
    s.push_str(path);
    s.push('?');
    for (k, v) in pairs {
        if k != "page" && k != "after" {
            form_encode(&mut s, k);
            s.push('=');
            form_encode(&mut s, v);
            s.push('&');
        }
    }
    s.push_str("page=");
    s.push_str(&page.to_string());
    s
}

/// Python's `str.capitalize`: the first character in title case, the rest in lower case.
pub fn capitalize(s: &str) -> String {
    let Some(first) = s.chars().next() else {
        return String::new();
    };
    let lowered = s.to_lowercase();
    let skip: usize = first.to_lowercase().map(char::len_utf8).sum();
    let mut out = String::with_capacity(s.len());
    match first {
        'Ǆ' | 'ǅ' | 'ǆ' => out.push('ǅ'),
        'Ǉ' | 'ǈ' | 'ǉ' => out.push('ǈ'),
        'Ǌ' | 'ǋ' | 'ǌ' => out.push('ǋ'),
        'Ǳ' | 'ǲ' | 'ǳ' => out.push('ǲ'),
        'ß' => out.push_str("Ss"),
        'ﬀ' => out.push_str("Ff"),
        'ﬁ' => out.push_str("Fi"),
        'ﬂ' => out.push_str("Fl"),
        'ﬃ' => out.push_str("Ffi"),
        'ﬄ' => out.push_str("Ffl"),
        'ﬅ' | 'ﬆ' => out.push_str("St"),
        'և' => out.push_str("Եւ"),
        c => out.extend(c.to_uppercase()),
    }
    out.push_str(lowered.get(skip..).unwrap_or(""));
    out
}

/// Django's `truncatechars`: at most `n` characters, the last one `…` when the text was cut.
pub fn truncate(s: &str, n: usize) -> String {
    let mut chars = s.char_indices();
    match chars.nth(n - 1).and_then(|(i, _)| chars.next().map(|_| i)) {
        None => s.to_string(),
        Some(keep) => {
            let mut out = String::with_capacity(keep + 3);
            out.push_str(&s[..keep]);
            out.push('…');
            out
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A stored ISO-8601 date or datetime (`YYYY-MM-DD…`) as `%B %-d, %Y` ("January 1, 2020"); the
/// date part is read as written (a datetime is shown at its own offset). Text that is not such
/// a date is shown as it is.
pub fn long_date(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let parsed = (|| {
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let name = MONTHS.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
        (1..=31)
            .contains(&day)
            .then(|| format!("{name} {day}, {year:04}"))
    })();
    parsed.unwrap_or_else(|| s.to_string())
}

/// A stored date's month and year, `%B %Y` ("March 2024"); text that is not a date as it is.
pub fn month_year(s: &str) -> String {
    let month = s
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.checked_sub(1)?));
    match (s.get(..4), month) {
        (Some(year), Some(name)) if s.as_bytes().get(4) == Some(&b'-') => format!("{name} {year}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_match_trellis() {
        assert_eq!(capitalize("aLICE"), "Alice");
        assert_eq!(capitalize("ßa"), "Ssa");
        assert_eq!(capitalize(""), "");
        assert_eq!(truncate("abcdef", 3), "ab…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("héllo wörld", 5), "héll…");
        assert_eq!(long_date("2020-01-01T00:00:00.005000"), "January 1, 2020");
        assert_eq!(long_date("2026-11-16T17:39:00"), "November 16, 2026");
        assert_eq!(month_year("2024-03-09T17:39:00"), "March 2024");
        assert_eq!(
            query_pairs("q=%3Cb%3E+x&page=3&&flag"),
            vec![
                ("q".into(), "<b> x".into()),
                ("page".into(), "3".into()),
                ("flag".into(), String::new())
            ]
        );
        assert_eq!(last_raw("q=a&q=b%20c", "q").as_deref(), Some("b c"));
        let pairs = query_pairs("x=a%20b&page=2");
        assert_eq!(page_url("/blog/", &pairs, 3), "/blog/?x=a+b&page=3");
        assert_eq!(decode_path("/a%2Fb/").unwrap(), "/a/b/");
        assert!(decode_path("/%zz/").is_err());
        assert!(decode_path("/%FF/").is_err());
    }
}
