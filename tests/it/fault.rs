//! The fault test of issue 11: a stream of form POSTs from several clients, the real server
//! killed with SIGKILL in the middle of it, then started again on the same folder. The SQLite
//! file must pass `PRAGMA integrity_check`, every write whose 303 reached its client must be in
//! it (each POST carries a unique slug), nothing must be in it that nobody sent, and the
//! server must answer and write again.
//!
//! Linux only: the server's process id is read from `/proc`.
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;

use crate::common::{Resp, Server};
use crate::csrf::{csrf_cookie, token_in, FORM};
use crate::forms::blog_dir;

/// Client threads posting at once.
const CLIENTS: usize = 4;

/// The server is killed once this many writes have been acknowledged (a count, not a time:
/// the clients are still posting when it comes).
const KILL_AFTER: usize = 120;

/// What one client did: the slugs whose 303 it received, every slug it sent, and how its
/// stream ended (the error that stopped it).
struct Client {
    acked: Vec<String>,
    sent: Vec<String>,
    ended: String,
}

/// One form round trip as a browser does it: GET the form (cookie and token), POST it with
/// `slug`. `Ok(true)` for a 303 to the new row's page; `Err` when the server is gone.
fn post_one(server: &Server, slug: &str, sent: &mut Vec<String>) -> Result<bool, String> {
    let page = server.try_get("/posts/new/")?;
    if page.status != 200 {
        return Err(format!(
            "GET /posts/new/ answered {}: {}",
            page.status, page.body
        ));
    }
    let (secret, _) = csrf_cookie(&page);
    let token = token_in(&page.body);
    sent.push(slug.to_string());
    let r: Resp = server.try_request(
        "POST",
        "/posts/new/",
        &[
            ("Cookie", &format!("csrftoken={secret}")),
            ("Content-Type", FORM),
        ],
        &format!("csrfmiddlewaretoken={token}&title=Write+{slug}&slug={slug}&author=1"),
    )?;
    match (r.status, r.header("location")) {
        (303, Some(to)) if to == format!("/posts/{slug}/") => Ok(true),
        _ => Err(format!("POST {slug} answered {}: {r:?}", r.status)),
    }
}

/// Post until the server stops answering, telling `acks` of each 303.
fn client(server: &Server, n: usize, acks: mpsc::Sender<()>) -> Client {
    let mut c = Client {
        acked: Vec::new(),
        sent: Vec::new(),
        ended: String::new(),
    };
    for i in 0.. {
        let slug = format!("c{n}-w{i}");
        match post_one(server, &slug, &mut c.sent) {
            Ok(_) => {
                c.acked.push(slug);
                let _ = acks.send(());
            }
            Err(why) => {
                c.ended = why;
                break;
            }
        }
    }
    c
}

/// The posts' slugs in the site's database file.
fn slugs(db: &Path) -> BTreeSet<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT slug FROM post").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_server_killed_mid_stream_keeps_every_acknowledged_write() {
    // The create form of `forms.rs`: a title, a unique slug, an author.
    let dir = blog_dir();
    let db = dir.path.join("db.sqlite3");
    let server = Server::start_in_place(&dir.path, &["--no-reload"]);
    let pid = server.pid();
    let (tx, rx) = mpsc::channel();
    let clients: Vec<Client> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let acks = tx.clone();
                let server = &server;
                s.spawn(move || client(server, n, acks))
            })
            .collect();
        drop(tx);
        // Every client posts until the kill; a client that stopped early ends the wait too.
        let acked = rx.iter().take(KILL_AFTER).count();
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success(), "kill -KILL {pid} failed");
        assert_eq!(acked, KILL_AFTER, "the clients stopped before the kill");
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    drop(server);

    let acked: BTreeSet<String> = clients.iter().flat_map(|c| c.acked.clone()).collect();
    let sent: BTreeSet<String> = clients.iter().flat_map(|c| c.sent.clone()).collect();
    let endings: Vec<&str> = clients.iter().map(|c| c.ended.as_str()).collect();
    for why in &endings {
        // Only the kill may end a stream: a refused or failed write is a bug of its own.
        assert!(!why.contains("answered"), "a client stopped on {why}");
    }

    let again = Server::start_in_place(&dir.path, &["--no-reload"]);
    let conn = Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let stored = slugs(&db);
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes are gone after the kill: {lost:?}\n(clients ended on: {endings:?})",
        lost.len(),
        acked.len()
    );
    let unknown: Vec<&String> = stored.difference(&sent).collect();
    assert!(unknown.is_empty(), "rows nobody sent: {unknown:?}");

    // The restarted server answers: an acknowledged row's page, and a new write.
    let first = acked.iter().next().unwrap();
    let page = again.get(&format!("/posts/{first}/"));
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains(&format!("<h1>Write {first}</h1>")));
    let mut sent_again = Vec::new();
    assert_eq!(post_one(&again, "after-restart", &mut sent_again), Ok(true));
    assert!(slugs(&db).contains("after-restart"));
}
