#!/usr/bin/env python3
"""Isolation of expensive work: does a cheap page keep its speed while searches over a large
table run?

    TRELLIS_BEFORE=/path/to/older/trellis bench/isolation.py [--rows 200000] [--secs 5]
                                                              [--rounds 3] [--markdown FILE]

Builds Trellis (release), writes a site with a `Post` model of ROWS generated rows (about 1 KB
of text each, straight into SQLite as bench/gen_blog.py does) and a searched, paginated list
(`search: { fields: [title, body] }`), a template page (`/`, the cheap page), a list page and a
detail page. For each binary (this build, and TRELLIS_BEFORE when set), interleaved within each
round:

- unloaded: wrk `-t1 -c8` on the template page, the list page (page 1, no search) and a detail
  page (random pk), one after the other;
- loaded: wrk `-t1 -c4` with a distinct `?q=` term on every request (a Lua script; each term
  matches nothing, so each search reads every row) while a second wrk `-t1 -c8` measures the
  template page.

It prints, per binary, the medians over the rounds: req/s and p99 of each unloaded page; the
template page's req/s and p99 under load, and its ratio to the unloaded figure; and the
expensive searches' req/s and how many were not 2xx (503s once the time limit interrupts them).

Everything is stdlib Python; the tools it needs are cargo, python3 and wrk.
"""
import argparse
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import free_port, wait_for, log, parse_wrk  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRELLIS = os.path.join(ROOT, "target/release/trellis")
BEFORE = os.environ.get("TRELLIS_BEFORE", "")

SITE_YAML = """site:
  name: Isolation
  database: posts.sqlite3
models:
  Post:
    fields:
      title: { type: string, max_length: 200 }
      body: { type: text }
routes:
  - { path: "", view: template, template: home.hbs }
  - { path: "posts/", view: list, model: Post, paginate_by: 10, template: list.hbs,
      search: { fields: [title, body] } }
  - { path: "posts/<int:pk>/", view: detail, model: Post, template: detail.hbs }
"""
TEMPLATES = {
    "home.hbs": "<!doctype html><title>Home</title><h1>Home</h1><p>A page of its own.</p>\n",
    "list.hbs": "<ul>{{#each objects}}<li>{{title}}</li>{{/each}}</ul>{{page.number}}\n",
    "detail.hbs": "<h1>{{object.title}}</h1><p>{{object.body}}</p>\n",
}
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua").split()


def make_site(work, binary, rows):
    site = os.path.join(work, "site")
    os.makedirs(os.path.join(site, "templates"))
    with open(os.path.join(site, "site.yaml"), "w") as f:
        f.write(SITE_YAML)
    for name, text in TEMPLATES.items():
        with open(os.path.join(site, "templates", name), "w") as f:
            f.write(text)
    subprocess.run([binary, "migrate", site], check=True, capture_output=True)
    c = sqlite3.connect(os.path.join(site, "posts.sqlite3"))
    random.seed(1)
    c.executemany(
        "insert into post (id, title, body) values (?, ?, ?)",
        ((i, f"Post number {i}", " ".join(random.choice(WORDS) for _ in range(150)))
         for i in range(1, rows + 1)),
    )
    c.commit()
    c.close()
    return site


def wrk(url, conns, secs, script=None):
    args = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency"]
    if script:
        args += ["-s", script]
    return subprocess.Popen(args + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def parse(proc):
    return parse_wrk(proc.communicate()[0])


def scripts(work, rows):
    detail = os.path.join(work, "detail.lua")
    with open(detail, "w") as f:
        f.write("math.randomseed(7)\nrequest = function()\n"
                f'  return wrk.format("GET", "/posts/" .. math.random(1, {rows}) .. "/")\nend\n')
    search = os.path.join(work, "search.lua")
    with open(search, "w") as f:
        # A distinct term on every request (no cache can answer it), matching no row.
        f.write("local n = 0\nrequest = function()\n  n = n + 1\n"
                '  return wrk.format("GET", "/posts/?q=zq" .. n .. "x" .. math.random(1, 1e9))\n'
                "end\n")
    return detail, search


def run_binary(binary, site, secs, detail, search):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, "serve", site, "--addr", f"127.0.0.1:{port}", "--quiet",
                             "--no-reload"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(url + "/", proc)
        wrk(url + "/", 8, 1).communicate()  # warm-up
        r = {"home": parse(wrk(url + "/", 8, secs)),
             "list": parse(wrk(url + "/posts/", 8, secs)),
             "detail": parse(wrk(url + "/", 8, secs, detail))}
        expensive = wrk(url + "/", 4, secs + 2, search)
        time.sleep(1)
        r["home_loaded"] = parse(wrk(url + "/", 8, secs))
        r["search"] = parse(expensive)
        return r
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--markdown")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binaries = [("after", TRELLIS)] + ([("before", BEFORE)] if BEFORE else [])
    work = tempfile.mkdtemp(prefix="trellis-isolation-")
    try:
        log(f"generating {a.rows} rows")
        site = make_site(work, TRELLIS, a.rows)
        detail, search = scripts(work, a.rows)
        runs = {name: [] for name, _ in binaries}
        for rnd in range(a.rounds):
            for name, binary in binaries:
                log(f"round {rnd + 1}: {name}")
                runs[name].append(run_binary(binary, site, a.secs, detail, search))
        print_table(runs, a)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(runs, a):
    med = lambda rs, page, key: statistics.median(r[page][key] for r in rs)  # noqa: E731
    lines = [f"rows: {a.rows}, {a.rounds} rounds of {a.secs} s, medians", "",
             "| binary | home req/s | p99 ms | list req/s | p99 ms | detail req/s | p99 ms "
             "| home under load req/s | p99 ms | loaded/unloaded | searches req/s | searches not 2xx |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rs in runs.items():
        home, loaded = med(rs, "home", "rps"), med(rs, "home_loaded", "rps")
        bad = statistics.median(r["search"]["bad"] / max(r["search"]["total"], 1) for r in rs)
        lines.append(
            f"| {name} | {home:,.0f} | {med(rs, 'home', 'p99'):.2f} | {med(rs, 'list', 'rps'):,.0f}"
            f" | {med(rs, 'list', 'p99'):.2f} | {med(rs, 'detail', 'rps'):,.0f}"
            f" | {med(rs, 'detail', 'p99'):.2f} | {loaded:,.1f} | {med(rs, 'home_loaded', 'p99'):.2f}"
            f" | {loaded / home:.2%} | {med(rs, 'search', 'rps'):,.1f} | {bad:.0%} |")
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
