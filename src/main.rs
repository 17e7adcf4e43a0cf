//! The command line: `serve`, `check`, `routes`, `schema`, `build`. Everything else lives in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trellis::config::diagnostic::short_path;
use trellis::config::{raw, Diagnostic};
use trellis::server::{serve, ServeOptions};
use trellis::Site;

/// mimalloc instead of glibc's malloc: a request allocates and frees many small strings and
/// maps across two worker threads, which glibc's arenas serve slowly (a fifth of a detail
/// page's time went to malloc and free).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "trellis",
    version,
    about = "Serve a whole web site from a folder of YAML and Handlebars templates."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a site (with no SITE, the bundled example site `greetings`).
    Serve {
        /// The site's folder (holding site.yaml).
        site: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8000")]
        addr: String,
        /// Worker threads (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Log warnings and errors only, not every request.
        #[arg(long, short)]
        quiet: bool,
        /// Do not watch the site folder for changes (by default a saved change is reloaded).
        #[arg(long)]
        no_reload: bool,
        /// Reload open pages in the browser after each reload, and show load errors there.
        #[arg(long, conflicts_with = "no_reload")]
        live: bool,
    },
    /// Make a new site folder NAME that `trellis serve NAME` runs at once.
    New { name: PathBuf },
    /// Load and validate a site; print every error; exit non-zero on any.
    Check {
        site: Option<PathBuf>,
        /// Also warn about what a site on the open internet lacks (hosts, HTTPS, headers,
        /// private files in the static folder); warnings alone exit 0.
        #[arg(long)]
        deploy: bool,
        /// With --deploy: exit non-zero when there is any warning (for CI).
        #[arg(long, requires = "deploy")]
        deny_warnings: bool,
    },
    /// Create or update the site's database tables (additive changes only, unless told).
    Migrate {
        site: Option<PathBuf>,
        /// Also drop tables and columns whose models or fields are gone (their data is lost).
        #[arg(long)]
        allow_destructive: bool,
    },
    /// Load fixture files (YAML, JSON or CSV) into the database: all rows or none.
    Load {
        site: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write every row of a model as a YAML fixture to standard output.
    Dump { site: PathBuf, model: String },
    /// Print the resolved URL table: pattern, name, view, target.
    Routes { site: Option<PathBuf> },
    /// Write every page a GET reaches without user input into OUT, as static files any
    /// static host or CDN serves; a broken internal link fails the build.
    Build {
        site: PathBuf,
        out: PathBuf,
        /// Threads that render pages (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Print the JSON Schema of site.yaml (or, with --routes, of an included routes file).
    Schema {
        #[arg(long)]
        routes: bool,
    },
}

/// The site to work on: the given folder, or the bundled example written to a temporary
/// folder that is removed again when this value is dropped.
struct SiteDir {
    path: PathBuf,
    temporary: bool,
}

impl Drop for SiteDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn site_dir(site: Option<PathBuf>) -> Result<SiteDir, ExitCode> {
    match site {
        Some(path) => Ok(SiteDir {
            path,
            temporary: false,
        }),
        None => trellis::bundled::extract()
            .map(|path| SiteDir {
                path,
                temporary: true,
            })
            .map_err(|e| {
                eprintln!("error: cannot write the bundled example site: {e}");
                ExitCode::FAILURE
            }),
    }
}

fn load(dir: &Path) -> Result<Site, ExitCode> {
    Site::load(dir).map_err(|errors| {
        report(&errors);
        ExitCode::FAILURE
    })
}

/// Apply migrations, printing what was done; refusals are errors.
fn migrate(site: &Site, allow_destructive: bool, quiet: bool) -> Result<(), ExitCode> {
    match site.migrate(allow_destructive) {
        Ok(migrated) => {
            if !quiet {
                for line in migrated.done {
                    eprintln!("migrate: {line}");
                }
            }
            Ok(())
        }
        Err(e) => {
            eprint!("{e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn report(errors: &[Diagnostic]) {
    eprint!("{}", trellis::config::diagnostic::format_all(errors));
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    match cli.command {
        Command::Serve {
            site,
            addr,
            workers,
            quiet,
            no_reload,
            live,
        } => serve_command(site, addr, workers, quiet, !no_reload, live),
        Command::New { name } => match trellis::scaffold::create(&name) {
            Ok(()) => {
                println!(
                    "created {}; serve it with:\n  trellis serve {}",
                    name.display(),
                    name.display()
                );
                Ok(())
            }
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::FAILURE)
            }
        },
        Command::Check {
            site,
            deploy,
            deny_warnings,
        } => {
            let dir = site_dir(site)?;
            let site = load(&dir.path)?;
            migrate(&site, false, false)?;
            let warnings = if deploy {
                trellis::deploy::check(&site)
            } else {
                Vec::new()
            };
            for w in &warnings {
                eprint!("{w}");
            }
            let n = warnings.len();
            let noted = match n {
                0 if deploy => ", no deployment warnings".to_string(),
                0 => String::new(),
                1 => ", 1 deployment warning".to_string(),
                n => format!(", {n} deployment warnings"),
            };
            println!(
                "ok: {} ({} routes, {} templates){noted}",
                short_path(&site.root).display(),
                site.router.len(),
                site.renderer.names().len()
            );
            if deny_warnings && n > 0 {
                return Err(ExitCode::FAILURE);
            }
            Ok(())
        }
        Command::Routes { site } => {
            let dir = site_dir(site)?;
            print!("{}", routes_table(&load(&dir.path)?));
            Ok(())
        }
        Command::Migrate {
            site,
            allow_destructive,
        } => {
            let dir = site_dir(site)?;
            let site = load(&dir.path)?;
            migrate(&site, allow_destructive, false)?;
            println!(
                "ok: the database of {} is up to date",
                short_path(&site.root).display()
            );
            Ok(())
        }
        Command::Load { site, files } => load_command(&site, &files),
        Command::Dump { site, model } => dump_command(&site, &model),
        Command::Build { site, out, jobs } => build_command(&site, &out, jobs),
        Command::Schema { routes } => {
            print!(
                "{}",
                if routes {
                    raw::routes_schema()
                } else {
                    raw::site_schema()
                }
            );
            Ok(())
        }
    }
}

/// `trellis serve`: logging set up, the site loaded and migrated, then served until Ctrl-C.
fn serve_command(
    site: Option<PathBuf>,
    addr: String,
    workers: Option<usize>,
    quiet: bool,
    reload: bool,
    live: bool,
) -> Result<(), ExitCode> {
    let level = if quiet {
        "warn"
    } else {
        "info,actix_server=warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // A request the HTTP library cannot parse is the client's mistake: logged at WARN, escaped.
    use tracing_subscriber::prelude::*;
    use trellis::logline::{is_malformed_request, MalformedRequests};
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(tracing_subscriber::filter::filter_fn(|m| {
            !is_malformed_request(m)
        }));
    tracing_subscriber::registry()
        .with(filter)
        .with(lines)
        .with(MalformedRequests)
        .init();
    let dir = site_dir(site)?;
    let site = load(&dir.path)?;
    if site.allowed_hosts.is_none() && !trellis::hosts::is_loopback(&addr) {
        eprintln!("error: {}", trellis::hosts::refusal(&addr));
        return Err(ExitCode::FAILURE);
    }
    migrate(&site, false, quiet)?;
    serve(
        site,
        ServeOptions {
            addr: addr.clone(),
            workers,
            reload,
            live,
        },
    )
    .map_err(|e| {
        eprintln!("error: cannot serve on {addr}: {e}");
        ExitCode::FAILURE
    })
}

/// `trellis routes`: the URL table, one route a line, in columns; then the names several
/// routes share.
fn routes_table(site: &Site) -> String {
    let rows: Vec<[String; 4]> = site
        .endpoints
        .iter()
        .enumerate()
        .map(|(i, e)| {
            [
                site.router.pattern(i).display(),
                e.name.clone().unwrap_or_else(|| "-".into()),
                e.kind().to_string(),
                e.target(),
            ]
        })
        .collect();
    let header = ["PATTERN", "NAME", "VIEW", "TARGET"].map(String::from);
    let mut widths = [0; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let shared = site.router.shared_names();
    if !shared.is_empty() {
        out.push_str(
            "\nShared names (`url` tries their routes from the last up, and takes the first \
             whose arguments fit):\n",
        );
        let width = shared.iter().map(|(n, _)| n.chars().count()).max();
        for (name, routes) in &shared {
            let patterns: Vec<String> = routes
                .iter()
                .map(|&i| site.router.pattern(i).display())
                .collect();
            let w = width.unwrap_or(0);
            out.push_str(&format!("  {name:w$}  {}\n", patterns.join("  ")));
        }
    }
    out
}

/// `trellis load`: fixtures into the site's database, all of them or none.
fn load_command(site: &Path, files: &[PathBuf]) -> Result<(), ExitCode> {
    let site = load(site)?;
    migrate(&site, false, false)?;
    let Some(db) = &site.db else {
        eprintln!("error: this site has no models to load rows into");
        return Err(ExitCode::FAILURE);
    };
    let mut conn = trellis::db::connect(&db.path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    match trellis::db::fixtures::load_except(&mut conn, &db.models, files, &site.from_files()) {
        Ok(report) => {
            let parts: Vec<String> = report
                .per_model
                .iter()
                .map(|(m, n)| format!("{n} {m}"))
                .collect();
            let rows = if report.rows == 1 { "row" } else { "rows" };
            println!("loaded {} {rows} ({})", report.rows, parts.join(", "));
            Ok(())
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!("nothing was loaded");
            Err(ExitCode::FAILURE)
        }
    }
}

/// `trellis build`: the site as static files (see `trellis::export`), and what was left out.
fn build_command(site: &Path, out: &Path, jobs: Option<usize>) -> Result<(), ExitCode> {
    let started = std::time::Instant::now();
    let site = load(site)?;
    migrate(&site, false, true)?;
    match trellis::export::build(&site, out, jobs) {
        Ok(report) => {
            eprint!("{}", report.details());
            println!("{}", report.summary(out, started.elapsed()));
            Ok(())
        }
        Err(e) => {
            eprint!("{e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// `trellis dump`: a model's rows as a fixture, on standard output.
fn dump_command(site: &Path, model: &str) -> Result<(), ExitCode> {
    let site = load(site)?;
    migrate(&site, false, true)?;
    let Some(db) = &site.db else {
        eprintln!("error: this site has no models");
        return Err(ExitCode::FAILURE);
    };
    let conn = trellis::db::connect(&db.path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    match trellis::db::fixtures::dump(&conn, &db.models, model) {
        Ok(text) => {
            // A reader that stops early (`| head`) is not an error; `print!` would panic.
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: writing the dump: {e}");
                    Err(ExitCode::FAILURE)
                }
                _ => Ok(()),
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
