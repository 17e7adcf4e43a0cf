//! What reaches the server's log from outside: every path, header or value a request carries
//! is written through [`escaped`], so a `%0A` in a path cannot start a forged log line; and
//! the HTTP library's complaints about requests it cannot parse (a client's mistake, not the
//! server's) are written at WARN, not ERROR ([`MalformedRequests`]).

use std::borrow::Cow;
use std::fmt::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// `text` with its control characters (newlines, carriage returns, tabs, escape sequences,
/// U+2028/U+2029) written as Rust escapes (`\n`, `\r`, `\t`, `\u{1b}`); other text as is.
pub fn escaped(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The HTTP library logs each request it cannot parse at ERROR (`stream error: request parse
/// error: …`). [`is_malformed_request`] keeps those events from the log as they are, and this
/// layer writes each again at WARN, escaped.
pub struct MalformedRequests;

/// An event of the HTTP library's request parser at ERROR: a malformed request.
pub fn is_malformed_request(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target().starts_with("actix_http::h1")
}

impl<S: Subscriber> Layer<S> for MalformedRequests {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !is_malformed_request(event.metadata()) {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        tracing::warn!(target: "trellis::http", "malformed request: {}", escaped(&message.0));
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn control_characters_cannot_start_a_line() {
        for (text, shown) in [
            ("/plain/path/", "/plain/path/"),
            ("/café/", "/café/"),
            (
                "/x\n2026-12-02T10:50:00Z ERROR forged/",
                "/x\\n2026-12-02T10:50:00Z ERROR forged/",
            ),
            ("a\rb\tc", "a\\rb\\tc"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
        ] {
            assert_eq!(escaped(text), shown, "{text:?}");
        }
    }
}
