//! `view: template` — render a template file with the route's context (Django's
//! TemplateView).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::context::Ctx;
use super::error::ViewError;
use super::request::Response;
use super::{Call, CompileEnv, RouteDef};
use crate::config::diagnostic::suggestion;
use crate::config::Diagnostic;
use crate::render::{canonical, Uses};

/// A compiled `view: template`.
#[derive(Debug)]
pub struct TemplateView {
    pub template: String,
    /// The parts of the context the template reads.
    pub uses: Uses,
    pub context: Map<String, Value>,
    pub status: u16,
    /// The page, once rendered, when nothing of the request can change it: a template that
    /// reads neither `request`, `params` nor `query` gets the same context every time, and
    /// every helper is a pure function of its arguments and the site, so it is rendered once
    /// per loaded site (a reload builds a new site, and with it an empty cache).
    constant: OnceLock<String>,
}

impl TemplateView {
    pub fn compile(
        r: &RouteDef,
        env: &CompileEnv,
        context: Map<String, Value>,
        status: u16,
        errors: &mut Vec<Diagnostic>,
    ) -> TemplateView {
        let template = r.raw.template.clone().unwrap_or_default();
        check_template(r, env, &template, errors);
        TemplateView {
            uses: env
                .renderer
                .as_deref()
                .map_or(Uses::ALL, |r| r.uses(&template)),
            template: canonical(&template).to_string(),
            context,
            status,
            constant: OnceLock::new(),
        }
    }

    /// Whether the page is the same for every request.
    fn is_constant(&self) -> bool {
        !(self.uses.request || self.uses.params || self.uses.query)
    }

    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        if let Some(body) = self.constant.get() {
            return Ok(Response::html(self.status, body.clone()));
        }
        let context = ctx.context(
            call.req,
            call.params,
            call.query,
            self.context.clone(),
            self.uses,
        );
        let body = ctx
            .renderer
            .render(&self.template, context)
            .map_err(|e| ViewError::Internal(format!("rendering {}: {e}", self.template)))?;
        if self.is_constant() {
            // A failed render is not kept: it is tried (and logged) again next time.
            let _ = self.constant.set(body.clone());
        }
        Ok(Response::html(self.status, body))
    }
}

/// A route's `template` must name a template file that loaded.
pub fn check_template(
    r: &RouteDef,
    env: &CompileEnv,
    template: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let Some(renderer) = env.renderer.as_deref() else {
        return;
    };
    if !template.is_empty() && !renderer.has(template) {
        errors.push(
            r.source
                .diag(&r.key("template"), format!("no template `{template}`"))
                .with_hint(suggestion(
                    canonical(template),
                    renderer.names().iter().map(String::as_str),
                )),
        );
    }
}
