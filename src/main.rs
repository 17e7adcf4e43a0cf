//! The command line: `serve`, `new`, `check`, `migrate`, `load`, `dump`, `backup`, `restore`,
//! `routes`, `build`, `schema`, `user`. What the commands share (which site, which address) is
//! `trellis::cli`; everything else lives in the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trellis::cli::{
    bind_error, listen_addr, resolvable, resolve_site, shell_quoted, Origin, SiteDir,
};
use trellis::config::diagnostic::{count, short_path};
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
    /// Serve a site (SITE, or the current folder's; else the example built into trellis).
    #[command(override_usage = "trellis serve [SITE] [OPTIONS]")]
    Serve {
        /// The site's folder (default: the current folder, when it holds a site.yaml).
        site: Option<PathBuf>,
        /// Address to listen on: a port (8080), or a host and port (0.0.0.0:8080)
        /// [default: 127.0.0.1:8000].
        #[arg(long)]
        addr: Option<String>,
        /// Port to listen on (0 picks a free port).
        #[arg(long)]
        port: Option<u16>,
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
        /// Answer a page that fails with the site's 500 page, not the debug page (which shows
        /// the error, and only ever on a loopback address).
        #[arg(long, conflicts_with = "live")]
        no_debug: bool,
    },
    /// Make a new site folder NAME that `trellis serve NAME` runs at once.
    New { name: PathBuf },
    /// Load and validate a site; print every error; exit non-zero on any.
    #[command(override_usage = "trellis check [SITE] [--deploy [--deny-warnings]]")]
    Check {
        /// The site's folder (default: the current folder).
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
    #[command(override_usage = "trellis migrate [SITE] [--allow-destructive]")]
    Migrate {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        /// Also drop tables and columns whose models or fields are gone (their data is lost).
        #[arg(long)]
        allow_destructive: bool,
    },
    /// Load fixture files (YAML, JSON or CSV) into the database: all rows or none.
    #[command(override_usage = "trellis load [SITE] <FILES>...")]
    Load {
        /// The fixture files, after the site's folder when one is given (a first path that
        /// is a folder; default: the current folder).
        #[arg(required = true, value_name = "FILES")]
        paths: Vec<PathBuf>,
    },
    /// Write every row of a model as a YAML fixture to standard output.
    #[command(allow_missing_positional = true)]
    Dump {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        /// The model whose rows to write.
        model: String,
    },
    /// Copy the site's database to FILE while the site may be serving (SQLite's online backup
    /// API: a consistent copy, written to a temporary file and renamed into place).
    #[command(allow_missing_positional = true)]
    Backup {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        /// Where to write the copy.
        file: PathBuf,
    },
    /// Replace the content of the site's database with the backup FILE, in place: a running
    /// server sees the restored rows at once. The database is then migrated.
    #[command(allow_missing_positional = true)]
    Restore {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        /// The backup to restore.
        file: PathBuf,
    },
    /// Add, change, remove and list the users who may sign in (kept in the site's database).
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Print the resolved URL table: pattern, name, view, target.
    #[command(override_usage = "trellis routes [SITE]")]
    Routes {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
    },
    /// Write every page a GET reaches without user input into OUT, as static files any
    /// static host or CDN serves; a broken internal link fails the build.
    #[command(allow_missing_positional = true)]
    Build {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        /// The folder to write the site into.
        out: PathBuf,
        /// Threads that render pages (default: one per core).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Print the JSON Schema of site.yaml (or, with --routes, of an included routes file);
    /// with --write, write both into a site's folder for an editor to use.
    #[command(override_usage = "trellis schema [--routes]\n       trellis schema --write [SITE]")]
    Schema {
        /// The schema of an included routes file instead.
        #[arg(long, conflicts_with = "write")]
        routes: bool,
        /// Write site.schema.json and routes.schema.json into the site's folder, and say how
        /// to point an editor at them.
        #[arg(long)]
        write: bool,
        /// With --write: the site's folder (default: the current folder).
        #[arg(requires = "write")]
        site: Option<PathBuf>,
    },
}

/// `trellis user …`. SITE may be left out in the site's folder.
#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is asked without echo (or read from standard input's first
    /// line when it is not a terminal).
    #[command(
        allow_missing_positional = true,
        override_usage = "trellis user add [SITE] USERNAME [--staff]"
    )]
    Add {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        username: String,
        /// The user is staff (may use routes with `staff_required`, such as the admin).
        #[arg(long)]
        staff: bool,
    },
    /// Change a user's password (and end their sessions).
    #[command(
        allow_missing_positional = true,
        override_usage = "trellis user passwd [SITE] USERNAME"
    )]
    Passwd {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        username: String,
    },
    /// Remove a user and their sessions.
    #[command(
        allow_missing_positional = true,
        override_usage = "trellis user remove [SITE] USERNAME"
    )]
    Remove {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        username: String,
    },
    /// Make a user staff, or (with --revoke) no longer staff.
    #[command(
        allow_missing_positional = true,
        override_usage = "trellis user staff [SITE] USERNAME [--revoke]"
    )]
    Staff {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
        username: String,
        /// Take the staff flag away instead.
        #[arg(long)]
        revoke: bool,
    },
    /// List the users.
    #[command(override_usage = "trellis user list [SITE]")]
    List {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
    },
    /// Delete the expired sessions and the failed sign-ins older than the throttle's window
    /// (`serve` also does it at start and hourly).
    #[command(override_usage = "trellis user clearsessions [SITE]")]
    Clearsessions {
        /// The site's folder (default: the current folder).
        site: Option<PathBuf>,
    },
}

/// `trellis user …`: load the site, migrate its database (the users' table with it), act.
fn user_command(command: UserCommand) -> Result<(), ExitCode> {
    use trellis::auth::users::{read_password, run, Action};
    let (site, usage, action) = match command {
        UserCommand::Add {
            site,
            username,
            staff,
        } => (
            site,
            "user add SITE USERNAME",
            Action::Add { username, staff },
        ),
        UserCommand::Passwd { site, username } => (
            site,
            "user passwd SITE USERNAME",
            Action::Passwd { username },
        ),
        UserCommand::Remove { site, username } => (
            site,
            "user remove SITE USERNAME",
            Action::Remove { username },
        ),
        UserCommand::Staff {
            site,
            username,
            revoke,
        } => (
            site,
            "user staff SITE USERNAME",
            Action::Staff {
                username,
                staff: !revoke,
            },
        ),
        UserCommand::List { site } => (site, "user list SITE", Action::List),
        UserCommand::Clearsessions { site } => {
            (site, "user clearsessions SITE", Action::ClearSessions)
        }
    };
    let dir = site_dir(site, usage)?;
    let site = load_unrendered(&dir.path, "user")?;
    migrate(&site, false, Say::Lines)?;
    match run(&site, &action, read_password) {
        Ok(said) => {
            println!("{said}");
            Ok(())
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// The site a command other than `serve` works on: SITE or the current folder (see
/// `trellis::cli::resolve_site`); the error says what the command needs.
fn site_dir(site: Option<PathBuf>, usage: &str) -> Result<SiteDir, ExitCode> {
    resolve_site(site, usage, false).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })
}

fn load(dir: &Path) -> Result<Site, ExitCode> {
    let site = Site::load(dir).map_err(|errors| {
        report(&errors);
        ExitCode::FAILURE
    })?;
    eprint!(
        "{}",
        trellis::config::diagnostic::format_each(&site.warnings)
    );
    Ok(site)
}

/// Load the site for a command that renders no page: broken templates are listed as warnings
/// and do not stop it.
fn load_unrendered(dir: &Path, command: &str) -> Result<Site, ExitCode> {
    let (site, warnings) = Site::load_unrendered(dir).map_err(|errors| {
        report(&errors);
        ExitCode::FAILURE
    })?;
    if !warnings.is_empty() {
        eprint!(
            "{}",
            trellis::config::diagnostic::format_warnings(
                &warnings,
                &format!(
                    "errors in templates, which `{command}` does not render; \
                     `trellis check` and `trellis serve` fail on them"
                )
            )
        );
    }
    Ok(site)
}

/// How `migrate` reports what it did.
#[derive(Clone, Copy, PartialEq)]
enum Say {
    /// A `migrate: …` line each on stderr (the one-shot commands).
    Lines,
    /// A log line each, as the reloads of a running server log theirs (`serve`).
    Log,
    /// Nothing (`dump`, whose output is the fixture).
    Nothing,
}

/// Apply migrations, reporting what was done; refusals are errors.
fn migrate(site: &Site, allow_destructive: bool, say: Say) -> Result<(), ExitCode> {
    match site.migrate(allow_destructive) {
        Ok(migrated) => {
            for line in migrated.done {
                match say {
                    Say::Lines => eprintln!("migrate: {line}"),
                    Say::Log => tracing::info!("migrate: {line}"),
                    Say::Nothing => {}
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
            port,
            workers,
            quiet,
            no_reload,
            live,
            no_debug,
        } => {
            let addr = listen_addr(addr.as_deref(), port)
                .and_then(|addr| resolvable(&addr).map(|()| addr))
                .map_err(|e| {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                })?;
            serve_command(site, addr, workers, quiet, !no_reload, live, !no_debug)
        }
        Command::New { name } => match trellis::scaffold::create(&name) {
            Ok(()) => {
                println!(
                    "created {}; serve it with:\n  trellis serve {}",
                    name.display(),
                    shell_quoted(&name)
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
        } => check_command(site, deploy, deny_warnings),
        Command::User { action } => user_command(action),
        Command::Routes { site } => {
            let dir = site_dir(site, "routes SITE")?;
            print!("{}", routes_table(&load_unrendered(&dir.path, "routes")?));
            Ok(())
        }
        Command::Migrate {
            site,
            allow_destructive,
        } => {
            let dir = site_dir(site, "migrate SITE")?;
            let site = load_unrendered(&dir.path, "migrate")?;
            migrate(&site, allow_destructive, Say::Lines)?;
            println!(
                "ok: the database of {} is up to date",
                short_path(&site.root).display()
            );
            Ok(())
        }
        Command::Load { paths } => {
            // A fixture is a file: a first path that is a folder is the site's.
            let (site, files) = match paths.split_first() {
                Some((first, rest)) if first.is_dir() => (Some(first.clone()), rest.to_vec()),
                _ => (None, paths),
            };
            if files.is_empty() {
                eprintln!("error: no fixture file to load: `trellis load [SITE] FILES...`");
                return Err(ExitCode::FAILURE);
            }
            load_command(&site_dir(site, "load SITE FILES...")?.path, &files)
        }
        Command::Dump { site, model } => {
            let dir = site_dir(site, "dump SITE MODEL")?;
            dump_command(&dir.path, &model)
        }
        Command::Backup { site, file } => {
            copy_command(&site_dir(site, "backup SITE FILE")?.path, &file, false)
        }
        Command::Restore { site, file } => {
            copy_command(&site_dir(site, "restore SITE FILE")?.path, &file, true)
        }
        Command::Build { site, out, jobs } => {
            build_command(&site_dir(site, "build SITE OUT")?.path, &out, jobs)
        }
        Command::Schema {
            routes,
            write,
            site,
        } => {
            if write {
                return write_schemas(site);
            }
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

/// `trellis check`: load, migrate, and with --deploy the deployment warnings; `ok: SITE (…)`.
fn check_command(site: Option<PathBuf>, deploy: bool, deny_warnings: bool) -> Result<(), ExitCode> {
    let dir = site_dir(site, "check SITE")?;
    let site = load(&dir.path)?;
    migrate(&site, false, Say::Lines)?;
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
        n => format!(
            ", {}",
            count(n, "deployment warning", "deployment warnings")
        ),
    };
    println!(
        "ok: {} ({}, {}){noted}",
        short_path(&site.root).display(),
        count(site.router.len(), "route", "routes"),
        count(site.renderer.names().len(), "template", "templates")
    );
    if deny_warnings && n > 0 {
        return Err(ExitCode::FAILURE);
    }
    Ok(())
}

/// `trellis schema --write`: both schemas into the site's folder, and the first line that
/// points an editor at each.
fn write_schemas(site: Option<PathBuf>) -> Result<(), ExitCode> {
    let dir = site_dir(site, "schema --write SITE")?;
    let root = if dir.path.is_file() {
        dir.path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        dir.path.clone()
    };
    for (name, text) in [
        ("site.schema.json", raw::site_schema()),
        ("routes.schema.json", raw::routes_schema()),
    ] {
        let path = root.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Err(ExitCode::FAILURE);
        }
        println!("wrote {}", short_path(&path).display());
    }
    println!(
        "Editors that use yaml-language-server (VS Code's YAML extension, Neovim, Helix, Zed) \
         read the schema named on a file's first line:\n  \
         site.yaml:            # yaml-language-server: $schema=site.schema.json\n  \
         an included file:     # yaml-language-server: $schema=routes.schema.json\n\
         (the path is relative to the YAML file; write the schemas again after a Trellis upgrade)"
    );
    let first = std::fs::read_to_string(root.join("site.yaml"))
        .ok()
        .and_then(|t| t.lines().next().map(str::to_owned))
        .unwrap_or_default();
    if let Some(target) = first.split("$schema=").nth(1).map(str::trim) {
        if !target.contains("://") && !root.join(target).is_file() {
            println!(
                "note: site.yaml's first line points at {target}, which is not there from this \
                 folder: change it to the line above"
            );
        }
    }
    Ok(())
}

/// `trellis serve`: logging set up, the site loaded and migrated, then served until Ctrl-C.
fn serve_command(
    site: Option<PathBuf>,
    addr: String,
    workers: Option<usize>,
    quiet: bool,
    reload: bool,
    live: bool,
    debug: bool,
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
    let dir = resolve_site(site, "serve SITE", true).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    let mut site = load(&dir.path)?;
    if site.allowed_hosts.is_none() && !trellis::hosts::is_loopback(&addr) {
        eprintln!("error: {}", trellis::hosts::refusal(&addr));
        return Err(ExitCode::FAILURE);
    }
    migrate(&site, false, Say::Log)?;
    // Made (or checked) on first start, so that a key file others can read stops the server
    // now rather than when a session first needs it.
    let secret = trellis::secret::load(
        std::env::var(trellis::secret::ENV).ok(),
        &trellis::secret::folder(&site),
    )
    .map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    })?;
    tracing::info!("secret key: {}", secret.from);
    site.set_secret_key(&secret.key);
    let bundled = dir.origin == Origin::Bundled;
    serve(
        site,
        ServeOptions {
            addr: addr.clone(),
            workers,
            reload,
            live,
            name: bundled.then(|| "the example site built into trellis".to_string()),
            note: bundled.then(trellis::cli::bundled_note),
            debug,
        },
    )
    .map_err(|e| {
        eprintln!("error: {}", bind_error(&addr, &e));
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
    let site = load_unrendered(site, "load")?;
    migrate(&site, false, Say::Lines)?;
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
            println!(
                "loaded {} ({})",
                count(report.rows, "row", "rows"),
                parts.join(", ")
            );
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
    migrate(&site, false, Say::Lines)?;
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
    let site = load_unrendered(site, "dump")?;
    migrate(&site, false, Say::Nothing)?;
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

/// `trellis backup` (or, with `restore`, `trellis restore`): see `trellis::db::backup`.
fn copy_command(site: &Path, file: &Path, restore: bool) -> Result<(), ExitCode> {
    let site = load_unrendered(site, if restore { "restore" } else { "backup" })?;
    let Some(db) = &site.db else {
        eprintln!("error: this site has no database");
        return Err(ExitCode::FAILURE);
    };
    let fail = |e: trellis::db::backup::BackupError| {
        eprintln!("error: {e}");
        ExitCode::FAILURE
    };
    let (copied, from, to) = if restore {
        // The built-in tables of sign-in are every site's: a backup must hold the models'.
        let tables: Vec<&str> = site
            .tables
            .iter()
            .map(|t| t.table.as_str())
            .filter(|t| !trellis::db::session::TABLES.contains(t))
            .collect();
        let copied = trellis::db::backup::restore(&db.path, file, &tables).map_err(fail)?;
        (copied, file, db.path.as_path())
    } else {
        let copied = trellis::db::backup::backup(&db.path, file).map_err(fail)?;
        (copied, db.path.as_path(), file)
    };
    println!(
        "{} {} into {} ({} pages, {} bytes)",
        if restore { "restored" } else { "copied" },
        from.display(),
        to.display(),
        copied.pages,
        copied.bytes
    );
    if restore {
        // Migrate's own refusal says "the database was not changed": true of the migration,
        // not of the restore, which is done.
        migrate(&site, false, Say::Lines).inspect_err(|_| {
            eprintln!(
                "the backup is restored; only its migration to this site.yaml was refused: \
                 `trellis migrate` finishes it (with `--allow-destructive` to drop what \
                 site.yaml no longer has)"
            )
        })?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
