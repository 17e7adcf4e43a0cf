#!/usr/bin/env python3
"""The admin's list page against a plain `view: list` page of the same rows, and against the
hand-written baseline's copy of the admin's pages, in one run.

    bench/admin_list.py [--posts 10000] [--rounds 3] [--secs 4] [--conns 16] [--no-baseline]
                        [--callgrind N]

Makes a site of 20 authors and N posts (a post: a title, a `choices` status, a boolean, true for 4
posts in 5, and a foreign key; `admin: admin/`, and a plain list `/posts/` of 50 posts a page in a four-column
table as the yardstick), signs a staff user in, then runs `wrk -t2 -cCONNS` against each page,
pages interleaved within each round, and prints the medians of the rounds and each page's ratio
to the plain list. The release build at target/release/trellis serves it; with
TRELLIS_BEFORE=path/to/an/older/trellis, that binary serves a copy of the same site too and its
admin pages are measured in the same rounds (before/after figures from one run). Every page is
checked to answer 200 before it is measured.

The baseline (`bench/baseline`, `baseline shop`: built here) serves its own copy of the site:
the admin's sign-in page, the sign-in POST and the admin list's page 1, written by hand. Its
pages are checked to be byte-identical to Trellis's with the CSRF token normalised (the token
is masked afresh on every render, so no two renders are the same bytes). The sign-in POST (a
right password: argon2id verify, a session row written, a 303) is measured with `wrk -t1 -c2`
and a Lua script (2 connections: fewer than the 5 failures the throttle allows in flight, since
each attempt counts as a failure until its password is checked).

`--callgrind N` also counts instructions per request under callgrind (N keep-alive requests
after 50 to warm up, one worker; `instructions.py`'s method) for the admin list and the
sign-in page of each server: repeatable when wrk's figures move with the machine's load.
Stdlib Python, wrk, valgrind for `--callgrind`.
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
    ("login", "/admin/login/", "sign-in page"),
    ("admin_counts", "/admin/post/?_facets=1", "admin list, page 1, Show counts"),
    ("admin_query", "/admin/post/?q=00&published=true&ordering=-title&page=2",
     "admin list, search + filter + ordering, page 2"),
]
# The pages the baseline has (the others are Trellis's alone).
BASELINE_PAGES = {"admin", "login"}
PASSWORD = "bench-pw"
# A well-formed CSRF secret (32 of Django's characters), in the cookie and in the field.
SECRET = "benchmarkSecretForSignIn01234567"
SIGN_IN_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "csrftoken=SECRET"
wrk.body = "csrfmiddlewaretoken=SECRET&username=bench&password=PASSWORD&next=%2Fadmin%2F"
""".replace("SECRET", SECRET).replace("PASSWORD", PASSWORD)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


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
    subprocess.run([binary, "user", "add", site, "bench", "--staff"], input=PASSWORD + "\n",
                   text=True, check=True, capture_output=True)
    return site


def command(binary, site, addr, workers=None):
    if binary == compare.BASELINE:
        return [binary, "shop", addr, site]
    cmd = [binary, "serve", site, "--addr", addr, "--quiet"]
    return cmd + ["--no-reload", "--workers", str(workers)] if workers else cmd


def start(binary, site, work, name):
    addr = f"127.0.0.1:{compare.free_port()}"
    log = open(os.path.join(work, f"{name}.log"), "a")
    proc = subprocess.Popen(command(binary, site, addr), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://{addr}"
    compare.wait_for(url + "/admin/login/", proc)
    return proc, url


def sign_in(url):
    """The session cookie of the staff user, signed in through the admin's sign-in page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(url + "/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "bench",
                                   "password": PASSWORD, "next": "/admin/post/"}).encode()
    opener.open(url + "/admin/login/", body).read()
    cookies = {c.name: c.value for c in jar}
    if "sessionid" not in cookies:
        sys.exit("signing in failed")
    return f"sessionid={cookies['sessionid']}"


def check(url, path, cookie):
    """The page's body, checked to be a 200 (and the admin's list where it should be)."""
    req = urllib.request.Request(url + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(req) as r:
            body = r.read().decode()
    except urllib.error.HTTPError as e:
        sys.exit(f"{url}{path}: {e.code}")
    if path.startswith("/admin/post/") and "<h1>Post</h1>" not in body:
        sys.exit(f"{url}{path}: not the admin's list\n{body}")
    return body


def same_pages(trellis, baseline):
    """Each of the baseline's pages byte for byte as Trellis's, the CSRF token normalised."""
    for key, path, _ in PAGES:
        if key not in BASELINE_PAGES:
            continue
        # The sign-in page is asked without a session (a signed-in user's shows their name).
        bodies = [TOKEN.sub('name="csrfmiddlewaretoken" value="TOKEN"',
                            check(url, path, cookie if key != "login" else ""))
                  for url, cookie in (trellis, baseline)]
        if bodies[0] != bodies[1]:
            import difflib
            diff = difflib.unified_diff(bodies[0].splitlines(), bodies[1].splitlines(),
                                        "trellis", "baseline", lineterm="", n=1)
            sys.exit(f"{path}: the baseline's page differs from Trellis's\n"
                     + "\n".join(list(diff)[:40]))
        print(f"{path}: identical ({len(bodies[0]):,} bytes, token normalised)", file=sys.stderr)


def sign_ins(url, work, secs):
    """Sign-ins per second (right password, 303), wrk -t1 -c2 with the Lua script."""
    script = os.path.join(work, "sign-in.lua")
    with open(script, "w") as f:
        f.write(SIGN_IN_LUA)
    out = subprocess.run(["wrk", "-t1", "-c2", f"-d{secs}s", "--latency", "-s", script,
                          url + "/admin/login/"], capture_output=True, text=True).stdout
    r = compare.parse_wrk(out)
    if r["bad"] or r["errors"]:
        sys.exit(f"{url}: sign-ins refused or failed: {r['bad']} {r['errors']}\n{out}")
    return r["rps"]


def instructions(binary, site, path, cookie, n, out):
    """Instructions per request under callgrind (instructions.py's method)."""
    import instructions as ins  # noqa: E402
    port = compare.free_port()
    return ins.measure(command(binary, site, f"127.0.0.1:{port}", workers=1), port, path, n, out,
                       headers={"Cookie": cookie} if cookie else None)


def wrk(url, path, cookie, conns, secs):
    cookie = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{secs}s", *cookie, url + path],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"{url}{path}: non-2xx answers\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=4)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--callgrind", type=int, default=0, metavar="N")
    a = ap.parse_args()
    servers = [("after", compare.TRELLIS)]
    if compare.BEFORE:
        servers.insert(0, ("before", compare.BEFORE))
    if not a.no_baseline:
        compare.build(["baseline"])
        servers.append(("baseline", compare.BASELINE))
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
            for key, path, _ in PAGES:
                if name != "baseline" or key in BASELINE_PAGES:
                    check(url, path, cookie)
            running.append((name, url, cookie, binary, copy))
        by_name = {r[0]: r for r in running}
        if "baseline" in by_name:
            same_pages(by_name["after"][1:3], by_name["baseline"][1:3])
        print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
        results = {}
        for r in range(a.rounds):
            for key, path, _ in PAGES:
                for name, url, cookie, _, _ in running:
                    if (name == "before" and key == "plain") or (
                            name == "baseline" and key not in BASELINE_PAGES):
                        continue
                    rps = wrk(url, path, cookie if key != "login" else "", a.conns, a.secs)
                    results.setdefault((name, key), []).append(rps)
                    print(f"round {r + 1} {name} {key}: {rps:,.0f} req/s", file=sys.stderr)
            for name, url, _, _, _ in running:
                rps = sign_ins(url, work, a.secs)
                results.setdefault((name, "sign_in"), []).append(rps)
                print(f"round {r + 1} {name} sign-in POST: {rps:,.0f}/s", file=sys.stderr)
        print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
        print_table(results, running, a)
        if a.callgrind:
            print_instructions(running, work, a.callgrind)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def print_table(results, running, a):
    plain = statistics.median(results[("after", "plain")])
    print(f"\n{a.posts:,} posts; wrk -t2 -c{a.conns} -d{a.secs}s (the sign-in POST: -t1 -c2); "
          f"medians of {a.rounds} rounds\n")
    print("| page | build | req/s (median) | ÷ plain list | ÷ baseline |")
    print("|---|---|---:|---:|---:|")
    pages = PAGES + [("sign_in", "POST /admin/login/", "sign-in, right password, 303")]
    for key, path, what in pages:
        base = results.get(("baseline", key))
        for name, *_ in running:
            if (name, key) not in results:
                continue
            m = statistics.median(results[(name, key)])
            vs_base = f"{m / statistics.median(base):.2f}" if base else ""
            print(f"| `{path}` ({what}) | {name} | {m:,.0f} | {m / plain:.2f} | {vs_base} |")


def print_instructions(running, work, n):
    print(f"\ninstructions per request under callgrind ({n} keep-alive requests after 50, "
          "one worker)\n")
    print("| page | build | instructions | ÷ baseline |")
    print("|---|---|---:|---:|")
    for key, path, what in PAGES:
        if key not in BASELINE_PAGES:
            continue
        counts = {}
        for name, _, cookie, binary, copy in running:
            out = os.path.join(work, f"cg-{name}-{key}.out")
            counts[name] = instructions(binary, copy, path, cookie if key != "login" else "",
                                        n, out)
        for name, count in counts.items():
            ratio = f"{count / counts['baseline']:.2f}" if "baseline" in counts else ""
            print(f"| `{path}` ({what}) | {name} | {count:,.0f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
