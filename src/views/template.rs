//! `view: template` — render a template file with the route's context (Django's
//! TemplateView).

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
        }
    }

    pub fn handle(&self, ctx: &Ctx, call: Call) -> Result<Response, ViewError> {
        let context = ctx.context(
            call.req,
            call.params,
            call.query,
            self.context.clone(),
            self.uses,
        );
        ctx.renderer
            .render(&self.template, context)
            .map(|body| Response::html(self.status, body))
            .map_err(|e| ViewError::Internal(format!("rendering {}: {e}", self.template)))
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
