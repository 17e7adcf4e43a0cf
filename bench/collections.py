#!/usr/bin/env python3
"""How long a collection of Markdown files takes to sync: at start, and after one file is saved.

    bench/collections.py [--files 10000] [--edits 9] [--trellis target/release/trellis]

Writes a site with an `Author` collection (10 files) and a `Post` collection (FILES files of
about 3 KB of Markdown each) into a temporary folder, then:

1. first sync: `trellis migrate` on the new site (every file read, every row inserted), timed
   from spawn to exit, --edits times on fresh copies; the median is printed;
2. a sync with nothing to write: `trellis migrate` again on the same database;
3. the reload after editing one file: `trellis serve` with live reload, one post's title
   changed --edits times; for each, the server's own `reloaded in N ms` (measured from the first
   file event, so it includes the 80 ms Trellis waits for a burst of events to settle) and the
   time from the write until the post's page shows the new title (polled over HTTP).

Stdlib only; builds nothing (run `cargo build --release` first).
"""
import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SITE = """site:
  database: site.sqlite3
models:
  Author:
    source: content/authors/
    fields:
      name: { type: string }
      slug: { type: slug, unique: true }
      bio: { type: text, format: markdown }
  Post:
    source: content/posts/
    fields:
      title: { type: string, max_length: 200 }
      slug: { type: slug, unique: true }
      body: { type: text, format: markdown }
      published: { type: boolean, default: true }
      created_at: { type: datetime, auto_now_add: true }
      author: { type: foreign_key, to: Author, on_delete: cascade }
    ordering: [-created_at]
routes:
  - { path: "", view: list, model: Post, paginate_by: 20, template: list.hbs }
  - { path: "<slug:slug>/", view: detail, model: Post, lookup: slug, template: post.hbs }
"""

PARAGRAPH = "Lorem ipsum dolor sit amet, *consectetur* adipiscing elit, sed do eiusmod. " * 12


def post(i, title):
    return (
        f"---\ntitle: {title}\nauthor: a{i % 10}\n"
        f"created_at: 2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00\n---\n"
        f"# {title}\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n"
    )


def write_site(dir, files):
    os.makedirs(f"{dir}/content/posts")
    os.makedirs(f"{dir}/content/authors")
    os.makedirs(f"{dir}/templates")
    with open(f"{dir}/site.yaml", "w") as f:
        f.write(SITE)
    with open(f"{dir}/templates/list.hbs", "w") as f:
        f.write("{{#each objects}}<a href=\"{{slug}}/\">{{title}}</a>\n{{/each}}")
    with open(f"{dir}/templates/post.hbs", "w") as f:
        f.write("<h1>{{object.title}}</h1>{{{object.body_html}}}")
    for a in range(10):
        with open(f"{dir}/content/authors/a{a}.md", "w") as f:
            f.write(f"---\nname: Author {a}\n---\nBio of author {a}.\n")
    for i in range(files):
        with open(f"{dir}/content/posts/p{i:05d}.md", "w") as f:
            f.write(post(i, f"Post {i}"))


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    ms = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return ms, out.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--edits", type=int, default=9)
    ap.add_argument("--trellis", default=os.path.join(ROOT, "target/release/trellis"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="trellis-collections-")
    try:
        template = f"{tmp}/template"
        write_site(template, args.files)
        first, again = [], []
        for n in range(args.edits):
            site = f"{tmp}/copy{n}"
            shutil.copytree(template, site)
            ms, err = timed([args.trellis, "migrate", site])
            assert f"content/posts/: {args.files} new" in err, err
            first.append(ms)
            ms, err = timed([args.trellis, "migrate", site])
            assert "content/posts/" not in err, err
            again.append(ms)
            if n:
                shutil.rmtree(site)
        site = f"{tmp}/copy0"
        port = free_port()
        log = open(f"{tmp}/serve.log", "w+")
        server = subprocess.Popen(
            [args.trellis, "serve", site, "--addr", f"127.0.0.1:{port}"],
            stderr=log,
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    if get(port, "/")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            logged, visible = [], []
            for n in range(args.edits):
                i = 4242
                title = f"Post {i} edit {n}"
                start = time.perf_counter()
                with open(f"{site}/content/posts/p{i:05d}.md", "w") as f:
                    f.write(post(i, title))
                while title not in get(port, f"/p{i:05d}/")[1]:
                    time.sleep(0.002)
                visible.append((time.perf_counter() - start) * 1000)
                # Wait for this reload's line, then let the watcher go quiet.
                while True:
                    log.seek(0)
                    lines = re.findall(r"reloaded in (\d+) ms", log.read())
                    if len(lines) > n:
                        logged.append(int(lines[n]))
                        break
                    time.sleep(0.01)
                time.sleep(0.3)
        finally:
            server.terminate()
            server.wait()
        med = statistics.median
        print(f"files: {args.files} posts + 10 authors, {args.edits} runs each (medians, ms)")
        print(f"first sync (trellis migrate, new database): {med(first):.0f}  (min {min(first):.0f}, max {max(first):.0f})")
        print(f"sync with nothing to write (trellis migrate again): {med(again):.0f}")
        print(f"reload after editing one file, as logged: {med(logged):.0f}  (min {min(logged)}, max {max(logged)})")
        print(f"save to the page showing it: {med(visible):.0f}  (min {min(visible):.0f}, max {max(visible):.0f})")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
