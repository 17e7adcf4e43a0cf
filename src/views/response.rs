//! `view: response` — render an inline `body` (registered with the renderer at load) with the
//! content type the route gives, escaped for it: HTML, JSON strings, or not at all. For a
//! `robots.txt`, a small JSON document, or a page with another status.

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::request::Response;
use super::{Call, CompileEnv, RouteDef};
use crate::config::Diagnostic;
use crate::render::{Escape, Uses};

/// A route's `content_type` (default HTML; a `text/` type without a charset gets UTF-8) and the
/// escaping its output needs: HTML for HTML and XML, JSON strings for JSON, none otherwise.
pub(super) fn content_type(r: &RouteDef) -> (String, Escape) {
    let mut content_type = r
        .raw
        .content_type
        .clone()
        .unwrap_or_else(|| "text/html".into());
    if content_type.starts_with("text/") && !content_type.contains("charset") {
        content_type.push_str("; charset=utf-8");
    }
    let escape = Escape::for_content_type(&content_type);
    (content_type, escape)
}

/// A compiled `view: response`: an inline body, registered with the renderer at load.
#[derive(Debug)]
pub struct ResponseView {
    /// The name the body is registered under.
    pub template: String,
    pub content_type: String,
    pub escape: Escape,
    pub context: Map<String, Value>,
    pub status: u16,
}

impl ResponseView {
    pub fn compile(
        r: &RouteDef,
        env: &mut CompileEnv,
        context: Map<String, Value>,
        status: u16,
        errors: &mut Vec<Diagnostic>,
    ) -> ResponseView {
        let (content_type, escape) = content_type(r);
        let name = format!("__inline{}", r.origin);
        if let Some(renderer) = env.renderer.as_deref_mut() {
            let body = r.raw.body.clone().unwrap_or_default();
            if let Err((why, pos)) = renderer.register_inline(&name, &body, escape, env.router) {
                let line = pos
                    .map(|(l, _)| format!(" (line {l} of the body)"))
                    .unwrap_or_default();
                errors.push(
                    r.source
                        .diag(&r.key("body"), format!("body template{line}: {why}")),
                );
            }
        }
        ResponseView {
            template: name,
            content_type,
            escape,
            context,
            status,
        }
    }

    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let origin = call.origin;
        // An inline body is not a file the renderer can look into: it gets the whole context.
        let context = ctx.context(
            call.req,
            call.params,
            call.query,
            self.context.clone(),
            Uses::ALL,
        );
        let body = ctx
            .renderer
            .render_inline(&self.template, self.escape, context)
            .map_err(|e| ViewError::render(format_args!("rendering {origin}"), e))?;
        Ok(Response {
            status: self.status,
            content_type: self.content_type.clone(),
            headers: Vec::new(),
            body,
            stream: None,
        })
    }
}
