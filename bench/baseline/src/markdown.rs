//! Markdown to sanitised HTML exactly as Trellis renders it (pulldown-cmark with tables,
//! strikethrough and footnotes, then ammonia's default allow-list with
//! `rel="noopener noreferrer"` on links), remembered by source text up to 8 MB.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, RwLock};

use pulldown_cmark::{html, Options, Parser};

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer"));
    b
});

/// Sanitised HTML by source text; cleared (not evicted one by one) when it passes the bound.
static CACHE: LazyLock<RwLock<HashMap<String, Arc<str>>>> = LazyLock::new(Default::default);
const CACHE_BYTES: usize = 8 << 20;
static CACHED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// `to_html`, remembered by source text.
pub fn to_html_cached(text: &str) -> Arc<str> {
    if let Some(hit) = CACHE.read().ok().and_then(|c| c.get(text).cloned()) {
        return hit;
    }
    let html: Arc<str> = to_html(text).into();
    if let Ok(mut cache) = CACHE.write() {
        let size = text.len() + html.len();
        if CACHED_BYTES.fetch_add(size, Relaxed) + size > CACHE_BYTES {
            cache.clear();
            CACHED_BYTES.store(size, Relaxed);
        }
        cache.insert(text.to_string(), html.clone());
    }
    html
}

/// Render Markdown to sanitised HTML, ready to be written unescaped (`{{{…}}}`).
pub fn to_html(text: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(text, options));
    CLEANER.clean(&unsafe_html).to_string()
}
