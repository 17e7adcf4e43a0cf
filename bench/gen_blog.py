#!/usr/bin/env python3
"""Add N generated posts (about 1 KB of text each) to a migrated copy of tests/sites/blog.

    bench/gen_blog.py SITE_DIR N

SITE_DIR must already hold blog.sqlite3 with Trellis's tables (`trellis migrate SITE_DIR`).
Post i gets id i, slug `post-i`, 1 to 3 of the site's tags (rows of `post_tags`) and a distinct
created_at: the N posts are spread evenly, oldest first, over the ten years 2015–2024 (before the
fixtures' posts, so list page 1 still shows those), which gives each month of the archive about
N/120 posts. Ids and slugs can be drawn at random by wrk's Lua scripts. The same seeds give the
same rows on every run; the bodies and authors are the ones earlier versions generated.
"""
import datetime
import random
import sqlite3
import sys

site, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(f"{site}/blog.sqlite3")
authors = [r[0] for r in c.execute("select id from author order by id")]
tags = [r[0] for r in c.execute("select id from tag order by id")]
start = c.execute("select coalesce(max(id), 0) from post").fetchone()[0]
random.seed(1)
# Tags come from a generator of their own, so that bodies and authors stay what they were.
tag_rng = random.Random(2)
words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua").split()
first = datetime.datetime(2015, 1, 1)
span = datetime.datetime(2025, 1, 1) - first
step = span / n
rows, pairs = [], []
for k, i in enumerate(range(start + 1, start + n + 1)):
    body = " ".join(random.choice(words) for _ in range(150))
    created = (first + step * k).strftime("%Y-%m-%dT%H:%M:%S")
    rows.append((i, f"Post number {i}", f"post-{i}", body, 1, created, random.choice(authors)))
    if tags:
        for t in sorted(tag_rng.sample(tags, tag_rng.randint(1, min(3, len(tags))))):
            pairs.append((i, t))
c.executemany(
    "insert into post (id, title, slug, body, published, created_at, author_id) values (?,?,?,?,?,?,?)",
    rows,
)
c.executemany("insert into post_tags (post_id, tag_id) values (?,?)", pairs)
c.commit()
print(f"{site}: {n} posts added (ids {start + 1}..{start + n}), {len(pairs)} tags on them")
