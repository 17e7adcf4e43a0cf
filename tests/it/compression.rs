//! gzip and brotli over the wire: a text response of 1 KiB or more is compressed as the
//! client's `Accept-Encoding` prefers, and decodes (with real decoders) to the very bytes the
//! identity response carries; images, archives, small bodies, HEAD and 304 are not.

use std::io::Read;
use std::sync::OnceLock;

use crate::common::{write_files, Server, SiteDir};

/// A site with a big and a small page, a big JSON document, and static files of several types.
fn server() -> &'static Server {
    static SITE: OnceLock<SiteDir> = OnceLock::new();
    static SERVER: OnceLock<Server> = OnceLock::new();
    let big = "<p>Compressible text, said again and again.</p>\n".repeat(100);
    let css = "body { margin: 0 auto; max-width: 40em; }\n".repeat(100);
    let site = SITE.get_or_init(|| {
        write_files(&[
            (
                "site.yaml",
                r#"
routes:
  - { path: "", view: template, template: big.hbs }
  - { path: "small/", view: response, body: "<p>hi</p>" }
  - { path: "data.json", view: response, content_type: application/json, body: "[{{#each items}}\"item {{this}}\",{{/each}}0]", context: { items: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z, aa, bb, cc, dd, ee, ff, gg, hh, ii, jj, kk, ll, mm, nn, oo, pp, qq, rr, ss, tt, uu, vv, ww, xx, yy, zz, aaa, bbb, ccc, ddd, eee, fff, ggg, hhh, iii, jjj, kkk, lll, mmm, nnn, ooo, ppp, qqq, rrr, sss, ttt, uuu, vvv, www, xxx, yyy, zzz, aaaa, bbbb, cccc, dddd, eeee, ffff, gggg, hhhh, iiii, jjjj, kkkk, llll, mmmm, nnnn, oooo, pppp, qqqq, rrrr, ssss, tttt, uuuu, vvvv, wwww, xxxx, yyyy, zzzz, aaaaa, bbbbb, ccccc, ddddd, eeeee, fffff, ggggg, hhhhh, iiiii, jjjjj, kkkkk, lllll, mmmmm, nnnnn, ooooo, ppppp, qqqqq, rrrrr, sssss, ttttt, uuuuu, vvvvv, wwwww, xxxxx, yyyyy, zzzzz, aaaaaa, bbbbbb, cccccc, dddddd, eeeeee, ffffff, gggggg, hhhhhh, iiiiii, jjjjjj, kkkkkk, llllll, mmmmmm, nnnnnn, oooooo, pppppp, qqqqqq, rrrrrr, ssssss, tttttt, uuuuuu, vvvvvv, wwwwww, xxxxxx, yyyyyy, zzzzzz] } }
"#,
            ),
            ("templates/big.hbs", &big),
            ("static/site.css", &css),
            // Larger than what is kept in memory: streamed by actix-files.
            ("static/big.css", &css.repeat(70)),
            ("static/photo.png", &"PNG bytes, pretend ".repeat(100)),
            ("static/bundle.zip", &"zip bytes, pretend ".repeat(100)),
        ])
    });
    SERVER.get_or_init(|| Server::start(&site.path))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a valid gzip stream");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("a valid brotli stream");
    out
}

fn vary_names_accept_encoding(r: &crate::common::Resp) -> bool {
    r.headers
        .iter()
        .any(|(n, v)| n == "vary" && v.to_ascii_lowercase().contains("accept-encoding"))
}

#[test]
fn text_responses_are_compressed_as_the_client_prefers_and_decode_to_the_same_bytes() {
    let s = server();
    for target in ["/", "/data.json", "/static/site.css", "/static/big.css"] {
        let (plain, identity) = s.request_bytes("GET", target, &[]);
        assert_eq!(plain.status, 200, "{target}: {plain:?}");
        assert_eq!(plain.header("content-encoding"), None, "{target}");
        assert!(vary_names_accept_encoding(&plain), "{target}: {plain:?}");
        assert!(identity.len() >= 1024, "{target}: {}", identity.len());
        for (accept, coding) in [
            ("gzip", "gzip"),
            ("br", "br"),
            ("gzip, deflate, br", "br"),
            ("br;q=0.5, gzip", "gzip"),
            ("gzip;q=0.1, br;q=0.9", "br"),
        ] {
            let (r, body) = s.request_bytes("GET", target, &[("Accept-Encoding", accept)]);
            assert_eq!(r.status, 200, "{target} {accept}");
            assert_eq!(
                r.header("content-encoding"),
                Some(coding),
                "{target} {accept}: {r:?}"
            );
            assert!(vary_names_accept_encoding(&r), "{target} {accept}: {r:?}");
            assert!(body.len() < identity.len(), "{target} {accept}");
            let decoded = if coding == "gzip" {
                gunzip(&body)
            } else {
                unbrotli(&body)
            };
            assert_eq!(decoded, identity, "{target} {accept}");
        }
    }
}

#[test]
fn small_bodies_images_archives_and_refused_codings_are_sent_as_they_are() {
    let s = server();
    for (target, accept) in [
        ("/small/", "gzip, br"),
        ("/static/photo.png", "gzip, br"),
        ("/static/bundle.zip", "gzip, br"),
        ("/", "identity"),
        ("/", "gzip;q=0, br;q=0"),
        ("/", "compress"),
    ] {
        let (r, body) = s.request_bytes("GET", target, &[("Accept-Encoding", accept)]);
        assert_eq!(r.status, 200, "{target} {accept}: {r:?}");
        assert_eq!(r.header("content-encoding"), None, "{target} {accept}");
        let (_, identity) = s.request_bytes("GET", target, &[]);
        assert_eq!(body, identity, "{target} {accept}");
    }
    // A byte range is sent as it is.
    let (r, body) = s.request_bytes(
        "GET",
        "/static/big.css",
        &[("Accept-Encoding", "gzip, br"), ("Range", "bytes=0-99")],
    );
    assert_eq!(r.status, 206, "{r:?}");
    assert!(
        !matches!(r.header("content-encoding"), Some("gzip" | "br")),
        "{r:?}"
    );
    assert_eq!(body.len(), 100);
    // What is never compressed does not vary with Accept-Encoding.
    let (r, _) = s.request_bytes("GET", "/static/photo.png", &[("Accept-Encoding", "gzip")]);
    assert!(!vary_names_accept_encoding(&r), "{r:?}");
}

#[test]
fn head_and_not_modified_stay_bodiless_when_compression_is_accepted() {
    let s = server();
    let gzip = [("Accept-Encoding", "gzip, br")];
    let (head, body) = s.request_bytes("HEAD", "/", &gzip);
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(head.header("content-encoding"), Some("br"), "{head:?}");
    assert!(body.is_empty(), "{body:?}");

    let (css, _) = s.request_bytes("GET", "/static/site.css", &gzip);
    let etag = css
        .header("etag")
        .expect("static files have an ETag")
        .to_string();
    // The compressed bytes are not the file's: their validator is weak.
    let (plain, _) = s.request_bytes("GET", "/static/site.css", &[]);
    let strong = plain.header("etag").expect("an ETag");
    assert!(!strong.starts_with("W/"), "{plain:?}");
    assert_eq!(etag, format!("W/{strong}"));
    let (r, body) = s.request_bytes(
        "GET",
        "/static/site.css",
        &[("Accept-Encoding", "gzip, br"), ("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304, "{r:?}");
    assert_eq!(r.header("content-encoding"), None, "{r:?}");
    assert!(body.is_empty(), "{body:?}");
}
