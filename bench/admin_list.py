#!/usr/bin/env python3
"""The admin's list page against a plain `view: list` page of the same rows, in one run.

    bench/admin_list.py [--posts 10000] [--rounds 3] [--secs 4] [--conns 16]

Makes a site of 20 authors and N posts (a post: a title, a `choices` status, a boolean, true for 4
posts in 5, and a foreign key; `admin: admin/`, and a plain list `/posts/` of 50 posts a page in a four-column
table as the yardstick), signs a staff user in, then runs `wrk -t2 -cCONNS` against each page,
pages interleaved within each round, and prints the medians of the rounds and each page's ratio
to the plain list. The release build at target/release/trellis serves it; with
TRELLIS_BEFORE=path/to/an/older/trellis, that binary serves a copy of the same site too and its
admin pages are measured in the same rounds (before/after figures from one run). Every page is
checked to answer 200 before it is measured. Stdlib Python and wrk.
"""
import argparse
import http.cookiejar
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (free ports, waiting for a server, wrk's output)

SITE = """site: { name: Shop, database: db.sqlite3 }
admin: admin/
models:
  Author:
    fields:
      name: { type: string, max_length: 40 }
  Post:
    fields:
      title: { type: string, max_length: 80 }
      status: { type: string, max_length: 10, choices: [draft, live, archived] }
      published: { type: boolean, default: false }
      author: { type: foreign_key, to: Author }
    ordering: [-id]
routes:
  - { path: 'posts/', view: list, model: Post, template: posts.hbs, paginate_by: 50 }
"""
TEMPLATE = """<!doctype html><title>Posts</title><table>
<tr><th>Title</th><th>Status</th><th>Published</th><th>Author</th></tr>
{{#each objects}}<tr><td>{{title}}</td><td>{{status}}</td><td>{{published}}</td><td>{{author_id}}</td></tr>
{{/each}}</table>
"""
PAGES = [
    ("plain", "/posts/", "plain list, page 1"),
    ("admin", "/admin/post/", "admin list, page 1 (3 filters)"),
    ("admin_counts", "/admin/post/?_facets=1", "admin list, page 1, Show counts"),
    ("admin_query", "/admin/post/?q=00&published=true&ordering=-title&page=2",
     "admin list, search + filter + ordering, page 2"),
]


def make_site(work, binary, posts):
    site = os.path.join(work, "site")
    os.makedirs(os.path.join(site, "templates"))
    with open(os.path.join(site, "site.yaml"), "w") as f:
        f.write(SITE)
    with open(os.path.join(site, "templates/posts.hbs"), "w") as f:
        f.write(TEMPLATE)
    subprocess.run([binary, "migrate", site], check=True, capture_output=True)
    db = sqlite3.connect(os.path.join(site, "db.sqlite3"))
    db.executemany("INSERT INTO author (id, name) VALUES (?, ?)",
                   [(i, f"Author {i}") for i in range(1, 21)])
    statuses = ["draft", "live", "archived"]
    db.executemany(
        "INSERT INTO post (id, title, status, published, author_id) VALUES (?, ?, ?, ?, ?)",
        [(i, f"Post number {i}", statuses[i % 3], int(i % 5 != 0), 1 + i % 20) for i in range(1, posts + 1)])
    db.commit()
    db.close()
    subprocess.run([binary, "user", "add", site, "bench", "--staff"], input="bench-pw\n",
                   text=True, check=True, capture_output=True)
    return site


def start(binary, site, work, name):
    addr = f"127.0.0.1:{compare.free_port()}"
    log = open(os.path.join(work, f"{name}.log"), "a")
    proc = subprocess.Popen([binary, "serve", site, "--addr", addr, "--quiet"], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://{addr}"
    compare.wait_for(url + "/posts/", proc)
    return proc, url


def sign_in(url):
    """The session cookie of the staff user, signed in through the admin's sign-in page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "bench",
                                   "password": "bench-pw", "next": "/admin/"}).encode()
    opener.open(url + "/admin/login/", body).read()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        sys.exit("signing in failed")
    return f"sessionid={cookies['sessionid']}"


def check(url, path, cookie):
    req = urllib.request.Request(url + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(req) as r:
            body = r.read().decode()
    except urllib.error.HTTPError as e:
        sys.exit(f"{url}{path}: {e.code}")
    if path.startswith("/admin/") and "<h1>Post</h1>" not in body:
        sys.exit(f"{url}{path}: not the admin's list\n{body}")


def wrk(url, path, cookie, conns, secs):
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "-H", f"Cookie: {cookie}",
                          url + path], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"{url}{path}: non-2xx answers\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=4)
    ap.add_argument("--conns", type=int, default=16)
    a = ap.parse_args()
    servers = [("after", compare.TRELLIS)]
    if compare.BEFORE:
        servers.insert(0, ("before", compare.BEFORE))
    work = tempfile.mkdtemp(prefix="admin-bench-")
    procs = []
    try:
        site = make_site(work, compare.TRELLIS, a.posts)
        running = []
        for name, binary in servers:
            copy = os.path.join(work, name)
            shutil.copytree(site, copy)
            proc, url = start(binary, copy, work, name)
            procs.append(proc)
            cookie = sign_in(url)
            for _, path, _ in PAGES:
                check(url, path, cookie)
            running.append((name, url, cookie))
        print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
        results = {}
        for r in range(a.rounds):
            for key, path, _ in PAGES:
                for name, url, cookie in running:
                    if name == "before" and key == "plain":
                        continue
                    rps = wrk(url, path, cookie, a.conns, a.secs)
                    results.setdefault((name, key), []).append(rps)
                    print(f"round {r + 1} {name} {key}: {rps:,.0f} req/s", file=sys.stderr)
        print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
        plain = statistics.median(results[("after", "plain")])
        print(f"\n{a.posts:,} posts; wrk -t2 -c{a.conns} -d{a.secs}s; medians of {a.rounds} rounds\n")
        print("| page | build | req/s (median) | ÷ plain list |")
        print("|---|---|---:|---:|")
        for key, path, what in PAGES:
            for name, _, _ in running:
                if (name, key) not in results:
                    continue
                m = statistics.median(results[(name, key)])
                print(f"| `{path}` ({what}) | {name} | {m:,.0f} | {m / plain:.2f} |")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
