//! Messages for a visitor who is not signed in, as Django's `CookieStorage` keeps them: in a
//! `messages` cookie signed with the site's secret key (`secret::Signer`, salt [`SALT`]), so a
//! visitor can neither forge nor alter one. A signed-in user's messages stay in the session
//! (`auth::add_message`); a page that shows `messages` shows the cookie's first, then the
//! session's, as Django's `FallbackStorage` does.
//!
//! The life of the cookie, all in [`Flash`], kept with the request:
//! - `auth::add_message` with no session calls [`add`]: the answer (a form's 303) sets the
//!   cookie to the messages it held and the new one;
//! - `auth::guard` calls [`load`] for a page whose template names `messages`; `auth::context`
//!   takes them with [`take`] when a page that may show them is rendered (not a 404 page
//!   that does not); the answer deletes the cookie, and `auth::finish` takes the session's
//!   messages out of its row, as [`shown`] says;
//! - a cookie that fails the check (tampered, truncated, another key or purpose) shows nothing
//!   and is deleted by the page that read it — never an error page.
//!
//! [`finish`] writes the cookie on the answer. Only an answer that read or wrote it changes: it
//! gets `Vary: Cookie` and `Cache-Control: private`. Any other answer costs one look at an empty
//! list.
//!
//! The cookie holds at most [`MAX_BYTES`] (Django's `max_cookie_size`): past it the oldest
//! messages are dropped (Django's `remove_oldest`); a single message too long on its own is cut,
//! ending in `…`, rather than lost.

use super::Message;
use crate::views::{set_cookie, Request, Response};

/// The cookie's name (Django's `CookieStorage.cookie_name`).
pub const COOKIE: &str = "messages";
/// The signer's salt: a key used for something else later cannot be swapped in.
pub const SALT: &str = "trellis.auth.messages";
/// The largest cookie value written (Django's `max_cookie_size`).
pub const MAX_BYTES: usize = 2048;

/// What a request did with the `messages` cookie.
#[derive(Debug, Default, Clone)]
pub struct Flash {
    /// The cookie's messages once read (empty when it had none, or failed the check).
    read: Option<Vec<Message>>,
    /// The request had the cookie, and it failed the check.
    refused: bool,
    /// A page showed the cookie's messages.
    shown: bool,
    /// Messages added by this request, for the next page.
    added: Vec<Message>,
}

impl Flash {
    /// The cookie changes: its messages were shown, it was refused, or a message was added.
    fn changed(&self) -> bool {
        self.shown || self.refused || !self.added.is_empty()
    }
}

/// Read the request's cookie into `req.flash`, once: its messages when the signature holds,
/// else none (a refused cookie is deleted by the answer). No cookie: no work.
pub fn load(settings: &crate::views::Settings, req: &Request) {
    let mut flash = req.flash.borrow_mut();
    if flash.read.is_some() {
        return;
    }
    let Some(value) = req.cookie(COOKIE) else {
        flash.read = Some(Vec::new());
        return;
    };
    let messages = settings
        .messages_signer
        .as_ref()
        .and_then(|s| s.unsign_json::<Vec<Message>>(value));
    if messages.is_none() {
        tracing::info!("a messages cookie failed the signature check; ignored");
    }
    flash.refused = messages.is_none();
    flash.read = Some(messages.unwrap_or_default());
}

/// The cookie's messages, for the page being rendered (read by [`load`]); from now on the
/// answer deletes the cookie. Empty when [`load`] did not run for this request.
pub fn take(req: &Request) -> Vec<Message> {
    let mut flash = req.flash.borrow_mut();
    let Some(read) = flash.read.take() else {
        return Vec::new();
    };
    flash.read = Some(Vec::new());
    flash.shown = true;
    read
}

/// Whether this request rendered a page that shows `messages` (it took them with [`take`]).
pub fn shown(req: &Request) -> bool {
    req.flash.borrow().shown
}

/// Keep a message in the cookie for the visitor's next page; `false` when the site has no
/// secret key to sign it with.
pub fn add(settings: &crate::views::Settings, req: &Request, message: Message) -> bool {
    if settings.messages_signer.is_none() {
        return false;
    }
    load(settings, req);
    req.flash.borrow_mut().added.push(message);
    true
}

/// Write what the request did to the cookie on its answer: set it to the messages not shown
/// yet, or delete it when it was shown, refused, or is left empty.
pub fn finish(settings: &crate::views::Settings, req: &Request, r: &mut Response) {
    let flash = req.flash.borrow();
    if !flash.changed() {
        return;
    }
    let mut keep: Vec<Message> = match (&flash.read, flash.shown) {
        (Some(read), false) => read.clone(),
        _ => Vec::new(),
    };
    keep.extend(flash.added.iter().cloned());
    let had = req.cookie(COOKIE).is_some();
    let value = match (&settings.messages_signer, keep.is_empty()) {
        (Some(signer), false) => encode(signer, keep),
        _ if had => String::new(),
        // Nothing to keep and no cookie to delete.
        _ => return,
    };
    let age = value.is_empty().then_some(0);
    r.header(
        "Set-Cookie",
        set_cookie(COOKIE, &value, age, true, req.secure),
    );
    r.vary("Cookie");
    if !r.has_header("Cache-Control") {
        r.header("Cache-Control", "private");
    }
}

/// The signed cookie value of `messages`, within [`MAX_BYTES`]: the oldest dropped first, then
/// the last one's text cut to the longest start that fits.
fn encode(signer: &crate::secret::Signer, mut messages: Vec<Message>) -> String {
    loop {
        let value = signer.sign_json(&messages);
        if value.len() <= MAX_BYTES {
            return value;
        }
        if messages.len() > 1 {
            messages.remove(0);
            continue;
        }
        // One message too long on its own: JSON escapes and base64 make its size no simple
        // function of the text's, so search for the number of characters kept.
        let text = std::mem::take(&mut messages[0].text);
        let ends: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let cut = |n: usize| format!("{}…", &text[..ends[n]]);
        let fits = |n: usize| {
            let one = [Message {
                level: messages[0].level.clone(),
                text: cut(n),
            }];
            signer.sign_json(&one).len() <= MAX_BYTES
        };
        let (mut lo, mut hi) = (0, ends.len().saturating_sub(1));
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        messages[0].text = if ends.is_empty() { text } else { cut(lo) };
        return signer.sign_json(&messages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Signer;

    fn message(text: &str) -> Message {
        Message {
            level: "success".into(),
            text: text.into(),
        }
    }

    /// Past 2 KB the oldest messages go first; one message too long on its own is cut, on a
    /// character's boundary, ending in `…`; the value always fits and reads back.
    #[test]
    fn the_cookie_keeps_the_newest_messages_within_2_kb() {
        let signer = Signer::new(&"k".repeat(40), SALT);
        let many: Vec<Message> = (0..40)
            .map(|i| message(&format!("message {i:02} {}", "x".repeat(40))))
            .collect();
        let value = encode(&signer, many);
        assert!(value.len() <= MAX_BYTES, "{}", value.len());
        let back: Vec<Message> = signer.unsign_json(&value).unwrap();
        assert!(back.len() > 5 && back.len() < 40, "{}", back.len());
        assert!(back.last().unwrap().text.starts_with("message 39"));
        assert!(back[0]
            .text
            .starts_with(&format!("message {:02}", 40 - back.len())));

        for long in ["é".repeat(3000), "\"".repeat(3000), "\u{1}".repeat(3000)] {
            let value = encode(&signer, vec![message(&long)]);
            assert!(value.len() <= MAX_BYTES, "{}", value.len());
            let back: Vec<Message> = signer.unsign_json(&value).unwrap();
            let text = &back[0].text;
            assert!(text.ends_with('…') && text.len() > 100, "{text}");
            assert!(long.starts_with(text.trim_end_matches('…')));
        }
    }
}
