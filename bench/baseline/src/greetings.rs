//! `sites/greetings`: a home page, a greeting with a capture, a search form with typed query
//! parameters, three profiles, a redirect, static files and a 404 page.

use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use handlebars::Handlebars;
use serde::Serialize;

use crate::util::{capitalize, decode_path, last_raw};
use crate::{append_slash, bad_request, redirect, respond, StaticFiles, HTML};

pub struct Site {
    hb: Handlebars<'static>,
    files: StaticFiles,
}

macro_rules! template {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../templates/greetings/", $name, ".hbs")),
        )
    };
}

impl Site {
    pub fn load(dir: &Path) -> std::io::Result<Site> {
        Ok(Site {
            hb: crate::templates(&[
                template!("layouts/base"),
                template!("home"),
                template!("greet"),
                template!("search"),
                template!("profile"),
                template!("404"),
                template!("500"),
            ]),
            files: StaticFiles::load(&dir.join("static"))?,
        })
    }

    fn render<T: Serialize>(&self, status: StatusCode, name: &str, ctx: &T) -> HttpResponse {
        match self.hb.render(name, ctx) {
            Ok(body) => respond(status, HTML, body),
            Err(e) => {
                eprintln!("rendering {name}: {e}");
                let body = self.hb.render("500", &()).unwrap_or_default();
                respond(StatusCode::INTERNAL_SERVER_ERROR, HTML, body)
            }
        }
    }

    fn not_found(&self, path: &str) -> HttpResponse {
        #[derive(Serialize)]
        struct Ctx<'a> {
            path: &'a str,
        }
        self.render(StatusCode::NOT_FOUND, "404", &Ctx { path })
    }
}

const PROFILES: [(&str, &str); 3] = [
    ("alice", "Writes the documentation everyone actually reads."),
    ("bob", "Keeps the servers running and the coffee hot."),
    ("carol", "Reviews every pull request within the hour."),
];

/// The routes, in Trellis's order (the first match wins).
enum Route<'a> {
    Home,
    Search,
    GoHome,
    Profile(&'a str, &'a str),
    Greet(&'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    if path == "/" {
        return Some(Route::Home);
    }
    let rest = path.strip_prefix("/greetings/")?;
    match rest {
        "" => return Some(Route::Home),
        "search/" => return Some(Route::Search),
        "go-home/" => return Some(Route::GoHome),
        _ => {}
    }
    if let Some(user) = rest
        .strip_prefix("profile/")
        .and_then(|r| r.strip_suffix('/'))
    {
        if let Some((name, bio)) = PROFILES.iter().find(|(n, _)| *n == user) {
            return Some(Route::Profile(name, bio));
        }
    }
    // <str:name>/: anything but a slash.
    let name = rest.strip_suffix('/')?;
    (!name.is_empty() && !name.contains('/')).then_some(Route::Greet(name))
}

pub async fn handle(req: HttpRequest, site: web::Data<Site>) -> HttpResponse {
    let path = match decode_path(req.path()) {
        Ok(p) => p,
        Err(why) => return bad_request(why),
    };
    if let Some(rest) = path.strip_prefix("/static/") {
        return site
            .files
            .serve(&req, rest)
            .unwrap_or_else(|| site.not_found(&path));
    }
    let Some(r) = route(&path) else {
        if crate::get_like(&req) && !path.ends_with('/') && route(&format!("{path}/")).is_some() {
            return append_slash(&req, &path);
        }
        return site.not_found(&path);
    };
    match r {
        Route::Home => site.render(StatusCode::OK, "home", &()),
        Route::Greet(name) => {
            #[derive(Serialize)]
            struct Ctx {
                name: String,
            }
            let ctx = Ctx {
                name: capitalize(name),
            };
            site.render(StatusCode::OK, "greet", &ctx)
        }
        Route::Search => {
            #[derive(Serialize)]
            struct Ctx {
                q: String,
                page: i64,
            }
            let qs = req.query_string();
            // q: str, default ""; page: int, default 1, min 1 (an invalid value is the default).
            let q = last_raw(qs, "q").unwrap_or_default();
            let page = last_raw(qs, "page")
                .and_then(|p| p.trim().parse::<i64>().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1);
            site.render(StatusCode::OK, "search", &Ctx { q, page })
        }
        Route::GoHome => redirect(StatusCode::FOUND, "/"),
        Route::Profile(username, bio) => {
            #[derive(Serialize)]
            struct Ctx<'a> {
                username: &'a str,
                name: String,
                bio: &'a str,
            }
            let ctx = Ctx {
                username,
                name: capitalize(username),
                bio,
            };
            site.render(StatusCode::OK, "profile", &ctx)
        }
    }
}
