//! The tutorial's "Letting people write" (`docs/src/tutorial/forms.md`) done over HTTP, as its
//! reader does it in a browser or with `curl` and a cookie jar: the site its examples end with
//! (built by `docs_examples`), a user added with `trellis user add`, then sign-in, the create
//! form, the edit page and sign-out against the real server, with the answers the page promises.

use std::collections::BTreeMap;

use crate::auth::user;
use crate::common::{Resp, Server};
use crate::csrf::{token_in, FORM};
use crate::docs_examples::site_of_page;

/// The cookies a browser keeps for the site.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Keeps what a response sets; a `Max-Age=0` cookie is dropped.
    fn take(&mut self, r: &Resp) {
        for (_, v) in r.headers.iter().filter(|(n, _)| n == "set-cookie") {
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if v.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    fn get(&mut self, s: &Server, path: &str) -> Resp {
        let r = s.request("GET", path, &[("Cookie", &self.header())]);
        self.take(&r);
        r
    }

    /// The form at `path` fetched, then `fields` posted back with its token, as a browser does.
    fn submit(&mut self, s: &Server, path: &str, fields: &str) -> Resp {
        let page = self.get(s, path);
        assert_eq!(page.status, 200, "{page:?}");
        let token = token_in(&page.body);
        self.post(s, path, &format!("csrfmiddlewaretoken={token}&{fields}"))
    }

    /// A form body posted with the jar's cookies.
    fn post(&mut self, s: &Server, path: &str, body: &str) -> Resp {
        let cookies = self.header();
        let headers = [("Cookie", cookies.as_str()), ("Content-Type", FORM)];
        let r = s.request_with_body("POST", path, &headers, body);
        self.take(&r);
        r
    }
}

fn redirect(r: &Resp) -> (u16, &str) {
    (r.status, r.header("location").unwrap_or(""))
}

#[test]
fn the_tutorials_forms_chapter_works_as_it_says() {
    let tmp = site_of_page("tutorial/forms.md");
    // `trellis user add mysite ann`, the password on standard input.
    let (ok, out, err) = user(
        &tmp.path().join("mysite"),
        &["add", "ann"],
        "correct horse\n",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "added user ann\n");

    let s = Server::start(&tmp.path().join("mysite"));
    let mut jar = Jar::default();

    // Signed out, the form sends you to sign in, and back.
    let r = jar.get(&s, "/write/");
    assert_eq!(redirect(&r), (302, "/login/?next=%2Fwrite%2F"));
    let wrong = jar.submit(&s, "/login/", "username=ann&password=nope");
    assert_eq!(wrong.status, 400);
    assert!(wrong
        .body
        .contains("Please enter a correct username and password"));
    let r = jar.submit(
        &s,
        "/login/?next=%2Fwrite%2F",
        "username=ann&password=correct+horse",
    );
    assert_eq!(redirect(&r), (303, "/write/"));
    let r = jar.submit(&s, "/login/", "username=ann&password=correct+horse");
    assert_eq!(redirect(&r), (303, "/posts/"));
    assert!(jar.get(&s, "/posts/").body.contains("Hello, ann."));

    // The create form, in the layout; a good post saved, bad ones refused with their messages.
    let page = jar.get(&s, "/write/");
    assert!(page.body.contains("<h1>New Post</h1>"), "{}", page.body);
    assert!(page.body.contains("Hello, ann."), "{}", page.body);
    let r = jar.submit(
        &s,
        "/write/",
        "title=Forms&slug=forms&body=Written+*here*.&published=on",
    );
    assert_eq!(redirect(&r), (303, "/posts/forms/"));
    let post = jar.get(&s, "/posts/forms/");
    assert!(post.body.contains("<em>here</em>"), "{}", post.body);
    assert!(post.body.contains("href=\"/posts/forms/edit/\">Edit</a>"));
    assert!(jar.get(&s, "/posts/").body.contains(">Forms</a>"));
    let r = jar.submit(&s, "/write/", "title=&slug=my+post&body=x");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("this field is required"), "{}", r.body);
    assert!(r.body.contains("value=\"my post\""), "{}", r.body);
    let r = jar.submit(&s, "/write/", "title=Again&slug=hello-world&body=x");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("a Post with this slug already exists"));

    // The edit page: the row's values, then a change that moves the slug.
    let page = jar.get(&s, "/posts/hello-world/edit/");
    assert!(
        page.body.contains("Edit Post “Hello, world”"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"Hello, world\""),
        "{}",
        page.body
    );
    let r = jar.submit(
        &s,
        "/posts/hello-world/edit/",
        "title=Hello+again&slug=hello-again&body=New.&published=on",
    );
    assert_eq!(redirect(&r), (303, "/posts/hello-again/"));
    assert!(jar
        .get(&s, "/posts/hello-again/")
        .body
        .contains("Hello again"));
    assert_eq!(jar.get(&s, "/posts/hello-world/").status, 404);

    // A POST without the token is refused; signing out is a POST, and the forms close again.
    let r = s.request_with_body("POST", "/write/", &[("Content-Type", FORM)], "title=x");
    assert_eq!(r.status, 403);
    assert_eq!(jar.get(&s, "/logout/").status, 405);
    let home = jar.get(&s, "/posts/");
    let r = jar.post(
        &s,
        "/logout/",
        &format!("csrfmiddlewaretoken={}", token_in(&home.body)),
    );
    assert_eq!(redirect(&r), (303, "/posts/"));
    assert_eq!(
        redirect(&jar.get(&s, "/posts/forms/edit/")),
        (302, "/login/?next=%2Fposts%2Fforms%2Fedit%2F")
    );
}
