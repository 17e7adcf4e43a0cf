//! `trellis backup` and `trellis restore` against a served site: the copy is sound and holds
//! every row committed before it began, while a server reads and another connection writes;
//! a backup restored in place is what the running server answers next.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::common;
use crate::security::{serving_notes, titles};

fn trellis(args: &[&std::ffi::OsStr]) -> std::process::Output {
    common::trellis(args)
}

/// `trellis backup SITE FILE` (or `restore`), which must succeed; its stdout.
fn run(command: &str, site: &Path, file: &Path) -> String {
    let out = trellis(&[command.as_ref(), site.as_os_str(), file.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "trellis {command} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn integrity(file: &Path) -> String {
    rusqlite::Connection::open(file)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_backup_taken_during_reads_and_writes_is_sound_and_holds_every_earlier_row() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let db = site.join("db.sqlite3");
    let stop = AtomicBool::new(false);
    // The id of the last row the writer committed: ids are given in order from 2 (the fixture
    // has 1), so every id up to it is in the database.
    let committed = AtomicI64::new(1);
    let copy = site.parent().unwrap().join("backups/copy.sqlite3");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let (written, pages) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let body = "x".repeat(2000);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 200 {
                conn.execute(
                    "INSERT INTO note (title) VALUES (?1)",
                    [format!("note {n} {body}")],
                )
                .unwrap();
                committed.store(conn.last_insert_rowid(), Ordering::SeqCst);
                n += 1;
            }
            n
        });
        let reader = scope.spawn(|| {
            let mut pages = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = s.get("/notes/?page=1");
                assert_eq!(r.status, 200, "{r:?}");
                pages += 1;
            }
            pages
        });
        // Rows to copy beyond the fixture first.
        while committed.load(Ordering::SeqCst) < 100 && !writer.is_finished() {
            std::thread::yield_now();
        }
        for round in 0..3 {
            let before = committed.load(Ordering::SeqCst);
            let out = run("backup", &site, &copy);
            assert!(out.starts_with("copied "), "{out}");
            assert_eq!(integrity(&copy), "ok", "round {round}");
            let conn = rusqlite::Connection::open(&copy).unwrap();
            let (rows, max): (i64, i64) = conn
                .query_row("SELECT count(*), max(id) FROM note", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            // Every row up to the last one committed before the backup began, and no gap.
            assert!(max >= before, "round {round}: {max} < {before}");
            assert_eq!(rows, max, "round {round}: rows missing from the copy");
        }
        stop.store(true, Ordering::Relaxed);
        (writer.join().unwrap(), reader.join().unwrap())
    });
    assert!(written >= 200 && pages > 0, "{written} rows, {pages} pages");
    // The copy is one file: no -wal beside it, and no temporary file left.
    let names: Vec<String> = std::fs::read_dir(copy.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["copy.sqlite3"]);
    assert_eq!(s.get("/notes/").status, 200);
}

#[test]
fn a_backup_restored_while_serving_is_what_the_server_answers() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let db = site.join("db.sqlite3");
    assert_eq!(titles(&s), ["first"]);
    let copy = site.parent().unwrap().join("first.sqlite3");
    run("backup", &site, &copy);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "UPDATE note SET title = 'changed'; INSERT INTO note (title) VALUES ('new');",
        )
        .unwrap();
    assert_eq!(titles(&s), ["changed", "new"]);
    let out = run("restore", &site, &copy);
    assert!(out.starts_with("restored "), "{out}");
    assert_eq!(titles(&s), ["first"]);
    assert_eq!(titles(&s), ["first"]);
    // The same file was written in place: the server did not need to reopen it.
    assert!(!s.log().contains("is a new file"), "{}", s.log());
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn backup_refuses_to_overwrite_the_live_database_and_restore_refuses_junk() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let db = site.join("db.sqlite3");
    for target in [db.clone(), site.join("db.sqlite3-wal")] {
        let out = trellis(&["backup".as_ref(), site.as_os_str(), target.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("live database"), "{err}");
    }
    let junk = site.parent().unwrap().join("junk.sqlite3");
    std::fs::write(
        &junk,
        "SQLite format 3\0 but not really a database file at all",
    )
    .unwrap();
    let out = trellis(&["restore".as_ref(), site.as_os_str(), junk.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("junk.sqlite3"), "{err}");
    assert_eq!(titles(&s), ["first"]);
    assert_eq!(integrity(&db), "ok");
}

/// `trellis restore` that must fail without touching the database; its stderr.
fn refused(command: &str, site: &Path, file: &Path) -> String {
    let out = trellis(&[command.as_ref(), site.as_os_str(), file.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{command} {file:?} succeeded: {err}");
    err
}

#[test]
fn restore_refuses_an_empty_file_and_another_sites_backup() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let db = site.join("db.sqlite3");
    // SQLite opens an empty file as an empty database: restored, it would empty the site.
    let empty = site.parent().unwrap().join("empty.sqlite3");
    std::fs::write(&empty, "").unwrap();
    let err = refused("restore", &site, &empty);
    assert!(
        err.contains("holds none of this site's tables (note)"),
        "{err}"
    );
    assert!(err.contains("no table at all"), "{err}");
    // A sound database of another site's tables.
    let other = site.parent().unwrap().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT)")
        .unwrap();
    let err = refused("restore", &site, &other);
    assert!(err.contains("only post"), "{err}");
    assert!(err.contains("was not changed"), "{err}");
    assert_eq!(titles(&s), ["first"]);
    assert_eq!(integrity(&db), "ok");
    // A backup of this site that holds a table more is still restored.
    let copy = site.parent().unwrap().join("copy.sqlite3");
    run("backup", &site, &copy);
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute_batch("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
        .unwrap();
    run("restore", &site, &copy);
    assert_eq!(titles(&s), ["first"]);
}

#[test]
fn a_backup_with_another_page_size_is_restored() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let db = site.join("db.sqlite3");
    // A backup made by other means (`sqlite3 .backup` of a database made elsewhere, a
    // VACUUM with another page size) need not have the live database's page size.
    let copy = site.parent().unwrap().join("small-pages.sqlite3");
    run("backup", &site, &copy);
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(
        "UPDATE note SET title = 'from the backup'; PRAGMA page_size = 1024; VACUUM",
    )
    .unwrap();
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(size, 1024);
    drop(conn);
    let out = run("restore", &site, &copy);
    assert!(out.starts_with("restored "), "{out}");
    assert_eq!(titles(&s), ["from the backup"]);
    assert_eq!(integrity(&db), "ok");
    // No temporary file is left beside the database (the secret key `serve` made is meant
    // to stay).
    let left: Vec<String> = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n != ".trellis-secret-key")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn backup_does_not_replace_a_file_that_is_not_a_database() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let yaml = std::fs::read_to_string(site.join("site.yaml")).unwrap();
    // Inside the site's folder, a slip of the file name: `trellis backup site.yaml`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["backup", "site.yaml"])
        .current_dir(&site)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("site.yaml exists and is not an SQLite database"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(site.join("site.yaml")).unwrap(),
        yaml
    );
    // An earlier backup, or an empty file made to receive one, is replaced.
    let copy = site.parent().unwrap().join("copy.sqlite3");
    std::fs::write(&copy, "").unwrap();
    run("backup", &site, &copy);
    run("backup", &site, &copy);
    assert_eq!(integrity(&copy), "ok");
    assert_eq!(titles(&s), ["first"]);
}

/// A backup from before a model was removed: restored, then its migration refused. The
/// refusal's "the database was not changed" must not read as the restore's.
#[test]
fn a_restore_whose_migration_is_refused_says_the_backup_is_restored() {
    let two_models = crate::security::NOTES.replace(
        "models:\n",
        "models:\n  Tag:\n    fields:\n      name: { type: string }\n",
    );
    let site = common::write_files(&[
        ("site.yaml", two_models.as_str()),
        (
            "notes.yaml",
            "- model: Note\n  pk: 1\n  fields: { title: first }\n",
        ),
    ]);
    let dir = site.path.as_os_str();
    let ok = |args: &[&std::ffi::OsStr]| {
        let out = trellis(args);
        assert!(out.status.success(), "{out:?}");
    };
    ok(&["migrate".as_ref(), dir]);
    let db = site.path.join("db.sqlite3");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("INSERT INTO tag (name) VALUES ('kept')", [])
        .unwrap();
    let copy = site.path.parent().unwrap().join("with-tags.sqlite3");
    ok(&["backup".as_ref(), dir, copy.as_os_str()]);
    std::fs::write(site.path.join("site.yaml"), crate::security::NOTES).unwrap();
    ok(&["migrate".as_ref(), dir, "--allow-destructive".as_ref()]);
    let out = trellis(&["restore".as_ref(), dir, copy.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("restored "));
    assert!(err.contains("model Tag is gone from site.yaml"), "{err}");
    assert!(err.contains("the backup is restored"), "{err}");
    // And it is: the table the site no longer has came back with its row.
    let tags: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM tag", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tags, 1);
}

/// A named pipe (like `/dev/null`, a node that is not a file) is not replaced by the backup,
/// and is not read (which would hang).
#[test]
fn backup_does_not_replace_a_pipe_or_a_device() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let fifo = site.parent().unwrap().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(made.success());
    let out = trellis(&["backup".as_ref(), site.as_os_str(), fifo.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("is not a regular file"), "{err}");
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
}

/// Restore while the server answers requests and another connection keeps writing: the
/// restore waits its turn between the writer's transactions, every request is answered, and
/// the database holds the backup's rows plus only what was written after the restore.
#[test]
fn a_restore_during_reads_and_writes_is_whole() {
    let (_site, s) = serving_notes();
    let site = s.site_path().to_path_buf();
    let db = site.join("db.sqlite3");
    let copy = site.parent().unwrap().join("first.sqlite3");
    run("backup", &site, &copy);
    let stop = AtomicBool::new(false);
    let (written, failed) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .unwrap();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 50 {
                conn.execute("INSERT INTO note (title) VALUES (?1)", [format!("w{n}")])
                    .unwrap();
                n += 1;
            }
            n
        });
        let reader = scope.spawn(|| {
            let mut failed = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match s.try_get("/notes/") {
                    Ok(r) if r.status == 200 => {}
                    other => failed.push(format!("{other:?}")),
                }
            }
            failed
        });
        let out = run("restore", &site, &copy);
        assert!(out.starts_with("restored "), "{out}");
        stop.store(true, Ordering::Relaxed);
        (writer.join().unwrap(), reader.join().unwrap())
    });
    assert!(failed.is_empty(), "{failed:?}");
    assert!(written >= 50, "{written}");
    assert_eq!(integrity(&db), "ok");
    // The backup's one row, then only rows the writer added after the restore, none lost
    // halfway: their titles run without a gap up to the writer's last.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let titles: Vec<String> = conn
        .prepare("SELECT title FROM note ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(titles[0], "first", "{titles:?}");
    let after: Vec<usize> = titles[1..]
        .iter()
        .map(|t| t.trim_start_matches('w').parse().unwrap())
        .collect();
    let last = written - 1;
    let expected: Vec<usize> = (last + 1 - after.len()..=last).collect();
    assert_eq!(after, expected);
}
