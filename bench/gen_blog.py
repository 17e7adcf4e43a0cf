#!/usr/bin/env python3
"""Add N generated posts (about 1 KB of text each) to a migrated copy of tests/sites/blog.

    bench/gen_blog.py SITE_DIR N

SITE_DIR must already hold blog.sqlite3 with Trellis's tables (`trellis migrate SITE_DIR`).
Post i gets id i, slug `post-i` and a distinct created_at, so ids and slugs can be drawn at
random by wrk's Lua scripts. The same seed gives the same rows on every run.
"""
import random
import sqlite3
import sys

site, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(f"{site}/blog.sqlite3")
authors = [r[0] for r in c.execute("select id from author order by id")]
start = c.execute("select coalesce(max(id), 0) from post").fetchone()[0]
random.seed(1)
words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua").split()
rows = []
for i in range(start + 1, start + n + 1):
    body = " ".join(random.choice(words) for _ in range(150))
    created = f"2020-01-01T00:00:00.{i:06d}"
    rows.append((f"Post number {i}", f"post-{i}", body, 1, created, random.choice(authors)))
c.executemany(
    "insert into post (title, slug, body, published, created_at, author_id) values (?,?,?,?,?,?)",
    rows,
)
c.commit()
print(f"{site}: {n} posts added (ids {start + 1}..{start + n})")
