//! Markdown to safe HTML: CommonMark with tables, strikethrough and footnotes (pulldown-cmark),
//! then sanitised with ammonia's default allow-list, so raw HTML in the source cannot inject
//! scripts, event handlers or `javascript:` URLs. Links get `rel="noopener noreferrer"`.
//!
//! The allow-list drops `id`, `class` and `style`, so footnote references render but do not
//! link to their definitions, and table column alignment is lost.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use pulldown_cmark::{html, Options, Parser};

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some("noopener noreferrer"));
    b
});

/// Rendered HTML by source text. Sanitising parses the HTML again and costs far more than a
/// page's template, while the same rows are shown over and over: remember the results, up to a
/// bound (cleared, not evicted one by one — it refills from the rows being shown).
static CACHE: LazyLock<RwLock<HashMap<String, Arc<str>>>> = LazyLock::new(Default::default);
const CACHE_BYTES: usize = 8 << 20;
static CACHED_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `markdown_to_html`, remembered by source text.
pub fn markdown_to_html_cached(text: &str) -> Arc<str> {
    if let Some(hit) = CACHE.read().ok().and_then(|c| c.get(text).cloned()) {
        return hit;
    }
    let html: Arc<str> = markdown_to_html(text).into();
    if let Ok(mut cache) = CACHE.write() {
        use std::sync::atomic::Ordering::Relaxed;
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
pub fn markdown_to_html(text: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(text, options));
    CLEANER.clean(&unsafe_html).to_string()
}

#[cfg(test)]
mod tests {
    use super::{markdown_to_html, markdown_to_html_cached};

    #[test]
    fn the_cache_gives_the_same_html() {
        let text = "# Title\n\n*cached* <script>x</script>";
        assert_eq!(&*markdown_to_html_cached(text), markdown_to_html(text));
        assert_eq!(&*markdown_to_html_cached(text), markdown_to_html(text));
    }

    #[test]
    fn markdown_renders_emphasis_and_strips_script() {
        let html = markdown_to_html("*hi* <script>alert(1)</script> **there**");
        assert!(html.contains("<em>hi</em>"), "{html}");
        assert!(html.contains("<strong>there</strong>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("alert(1)"), "{html}");
    }

    #[test]
    fn markdown_strips_script_block() {
        let html = markdown_to_html("<script>alert(1)</script>\n\ntext");
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("alert"), "{html}");
        assert!(html.contains("<p>text</p>"), "{html}");
    }

    #[test]
    fn markdown_strips_event_handlers() {
        let html = markdown_to_html(
            r#"<img src="x.png" onerror="alert(1)"> and <em onclick="x()">e</em>"#,
        );
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("alert"), "{html}");
        assert!(html.contains(r#"<img src="x.png">"#), "{html}");
        assert!(html.contains("<em>e</em>"), "{html}");
    }

    #[test]
    fn markdown_strips_javascript_urls() {
        for src in [
            "[click](javascript:alert(1))",
            r#"<a href="javascript:alert(1)">click</a>"#,
            r#"<a href="JaVaScRiPt:alert(1)">click</a>"#,
        ] {
            let html = markdown_to_html(src);
            assert!(
                !html.to_lowercase().contains("javascript"),
                "{src} → {html}"
            );
            assert!(html.contains("click"), "{src} → {html}");
        }
    }

    #[test]
    fn markdown_links_get_rel() {
        let html = markdown_to_html("[site](https://example.com/a?b=1&c=2)");
        assert_eq!(
            html,
            "<p><a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">site</a></p>\n"
        );
    }

    #[test]
    fn markdown_renders_tables() {
        let html = markdown_to_html("| a | b |\n|---|:-:|\n| 1 | 2 |\n");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<th>a</th>"), "{html}");
        assert!(html.contains("<td>1</td>"), "{html}");
        // ammonia drops `style`, so the alignment of column b goes.
        assert!(html.contains("<td>2</td>"), "{html}");
    }

    #[test]
    fn markdown_renders_strikethrough_and_footnotes() {
        let html = markdown_to_html("~~old~~ new[^1]\n\n[^1]: A note.\n");
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(html.contains("<sup><a href=\"#1\""), "{html}");
        assert!(html.contains("A note."), "{html}");
    }

    #[test]
    fn markdown_empty_is_empty() {
        assert_eq!(markdown_to_html(""), "");
    }
}
