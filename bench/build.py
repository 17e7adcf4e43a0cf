#!/usr/bin/env python3
"""`trellis build` against Hugo, on the same 10,000 Markdown posts with the same pages.

    bench/build.py [--posts 10000] [--runs 5] [--trellis target/release/trellis] [--hugo hugo]

Writes two sites into a temporary folder from one set of posts (about 1.1 KB of Markdown each,
1-3 of 9 tags, one every seven hours from 2020 on):

- a Trellis site: `Post` and `Tag` collections (content/posts/, content/tags/), a home list of
  10 posts a page (`pages: path`: /page/2/), a page per post (/post/SLUG/), the tag list
  (/tags/), each tag's posts 10 a page (/tag/SLUG/, /tag/SLUG/page/2/), an Atom feed of 20, the
  sitemap, a 404 page, one stylesheet;
- a Hugo site with the same pages and the same HTML (home paginated by 10, single pages at
  /post/SLUG/, the tags taxonomy and its terms paginated by 10, RSS of the home page only, the
  sitemap, 404.html, the stylesheet); Hugo's section page is turned off, as Trellis has none.

Then, for each tool, --runs times (medians printed):

1. cold: a fresh copy of the site (Trellis: no database yet, so every file is read and
   inserted) built into a new folder;
2. again, nothing changed (Trellis: the database is in sync; the output is kept);
3. one post edited (its title), built again.

Each time is the whole command, from spawn to exit. Hugo always renders everything; `trellis
build` renders every page too, and writes only files whose bytes changed. Stdlib only; builds
nothing (run `cargo build --release` first; Hugo is Debian's `hugo`, installed with apt-get when
missing, as root).
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAGS = ["accessibility", "css", "databases", "operations", "rust", "teamwork", "testing", "web", "writing"]

BODY = """A test that fails one time in fifty teaches the team to ignore red builds. That lesson
costs far more than the time it takes to fix the test. The rest of this post explains why.

## First principles

None of this needs a new tool or a meeting. It needs a little discipline, in this order:

* Never sleep, wait for a condition
* *Give each test its own port and folder*
* **Quarantine, then fix within a week**

There is a social side to this as well. Agree on it as a team, write it into the contributing
guide, and let the tooling enforce what people would otherwise argue about.

## Day to day

If you want to try it now, start with `cargo test -- --test-threads=1` and go from there. For
the full story, read [Martin Fowler on non-determinism](https://martinfowler.com/articles/nonDeterminism.html).

The trick is to make the right thing the easy thing. When the default is good, nobody has to
remember to be careful, and the codebase gets a little better with every change instead of a
little worse. The same holds for reviews, for releases and for the way a team answers pages.

> A green build should mean something. Protect that meaning.
"""

TRELLIS_SITE = """site:
  name: Bench
  database: site.sqlite3
  base_url: "http://127.0.0.1:8000"
models:
  Tag:
    source: content/tags/
    fields:
      name: { type: string, max_length: 50 }
      slug: { type: slug, unique: true }
      about: { type: text, format: markdown }
    ordering: [name]
  Post:
    source: content/posts/
    fields:
      title: { type: string, max_length: 200 }
      slug: { type: slug, unique: true }
      body: { type: text, format: markdown }
      created_at: { type: datetime }
      tags: { type: many_to_many, to: Tag }
    ordering: [-created_at]
routes:
  - { path: "", name: home, view: list, model: Post, paginate_by: 10, pages: path, template: list.hbs }
  - { path: "post/<slug:slug>/", name: post, view: detail, model: Post, lookup: slug, template: post.hbs }
  - { path: "tags/", name: tags, view: list, model: Tag, template: tags.hbs }
  - { path: "tag/<slug:tag>/", name: tag, view: list, model: Post, where: { tags__slug: "{tag}" }, paginate_by: 10, pages: path, allow_empty: false, template: tag.hbs }
  - path: "feed.xml"
    name: feed
    view: feed
    model: Post
    feed: { title: Bench, link: home }
    item: { title: title, link: post, published: created_at, updated: created_at, content: body }
  - { path: "sitemap.xml", name: sitemap, view: sitemap }
errors: { 404: 404.hbs }
"""

TRELLIS_TEMPLATES = {
    "layouts/base.hbs": """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{#if page_title}}{{page_title}} · {{/if}}Bench</title>
<link rel="stylesheet" href="{{static "site.css"}}"></head>
<body><nav><a href="{{url "home"}}">Home</a> <a href="{{url "tags"}}">Tags</a> <a href="{{url "feed"}}">Feed</a></nav>
<main>
{{> @partial-block}}
</main>
</body>
</html>
""",
    "partials/summary.hbs": """<article><h2><a href="{{url "post" slug=slug}}">{{title}}</a></h2>
<p><time>{{date created_at "%B %-d, %Y"}}</time>{{#each tags}} · <a href="{{url "tag" tag=slug}}">{{name}}</a>{{/each}}</p>
<p>{{truncate body 160}}</p></article>
""",
    "partials/pages.hbs": """<nav class="pagination">{{#if page.has_previous}}<a rel="prev" href="{{page.previous_url}}">Newer</a> {{/if}}<span>Page {{page.number}} of {{page.num_pages}}</span>{{#if page.has_next}} <a rel="next" href="{{page.next_url}}">Older</a>{{/if}}</nav>
""",
    "list.hbs": """{{#> layouts/base}}
{{#each objects}}{{> partials/summary}}{{/each}}
{{> partials/pages}}
{{/layouts/base}}
""",
    "tag.hbs": """{{#> layouts/base page_title=params.tag}}
<h1>{{params.tag}}</h1>
{{#each objects}}{{> partials/summary}}{{/each}}
{{> partials/pages}}
{{/layouts/base}}
""",
    "post.hbs": """{{#> layouts/base page_title=object.title}}
<article><h1>{{object.title}}</h1>
<p><time>{{date object.created_at "%B %-d, %Y"}}</time></p>
<div class="body">{{{object.body_html}}}</div>
<p class="tags">Tagged {{#each object.tags}}<a href="{{url "tag" tag=slug}}">{{name}}</a> {{/each}}</p>
</article>
{{/layouts/base}}
""",
    "tags.hbs": """{{#> layouts/base page_title="Tags"}}
<dl>{{#each objects}}<dt><a href="{{url "tag" tag=slug}}">{{name}}</a></dt>{{/each}}</dl>
{{/layouts/base}}
""",
    "404.hbs": """{{#> layouts/base page_title="Not found"}}<h1>Page not found</h1>{{/layouts/base}}
""",
}

HUGO_CONFIG = """baseURL = "http://127.0.0.1:8000/"
title = "Bench"
paginate = 10
disableKinds = ["section"]
[outputs]
  home = ["HTML", "RSS"]
  taxonomy = ["HTML"]
  term = ["HTML"]
  page = ["HTML"]
[permalinks]
  posts = "/post/:slug/"
[taxonomies]
  tag = "tags"
"""

HUGO_LAYOUTS = {
    "_default/baseof.html": """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ if not .IsHome }}{{ .Title }} · {{ end }}Bench</title>
<link rel="stylesheet" href="/static/site.css"></head>
<body><nav><a href="/">Home</a> <a href="/tags/">Tags</a> <a href="/index.xml">Feed</a></nav>
<main>
{{ block "main" . }}{{ end }}
</main>
</body>
</html>
""",
    "partials/summary.html": """<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
<p><time>{{ .Date.Format "January 2, 2006" }}</time>{{ range .GetTerms "tags" }} · <a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end }}</p>
<p>{{ .RawContent | truncate 160 }}</p></article>
""",
    "partials/pages.html": """<nav class="pagination">{{ if .HasPrev }}<a rel="prev" href="{{ .Prev.URL }}">Newer</a> {{ end }}<span>Page {{ .PageNumber }} of {{ .TotalPages }}</span>{{ if .HasNext }} <a rel="next" href="{{ .Next.URL }}">Older</a>{{ end }}</nav>
""",
    "index.html": """{{ define "main" }}
{{ $p := .Paginate (where .Site.RegularPages "Type" "posts") }}
{{ range $p.Pages }}{{ partial "summary.html" . }}{{ end }}
{{ partial "pages.html" $p }}
{{ end }}
""",
    "_default/term.html": """{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $p := .Paginate .Pages }}
{{ range $p.Pages }}{{ partial "summary.html" . }}{{ end }}
{{ partial "pages.html" $p }}
{{ end }}
""",
    "_default/single.html": """{{ define "main" }}
<article><h1>{{ .Title }}</h1>
<p><time>{{ .Date.Format "January 2, 2006" }}</time></p>
<div class="body">{{ .Content }}</div>
<p class="tags">Tagged {{ range .GetTerms "tags" }}<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a> {{ end }}</p>
</article>
{{ end }}
""",
    "_default/terms.html": """{{ define "main" }}
<dl>{{ range .Data.Terms.Alphabetical }}<dt><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a></dt>{{ end }}</dl>
{{ end }}
""",
    "404.html": """{{ define "main" }}<h1>Page not found</h1>{{ end }}
""",
}

CSS = "body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: auto; }\n"


def post_fields(i):
    """Title, slug, date and tags of post i."""
    hours = i * 7
    day, hour = divmod(hours, 24)
    date = time.strftime("%Y-%m-%dT", time.gmtime(1577836800 + day * 86400)) + f"{hour:02d}:00:00"
    tags = [TAGS[i % 9]] + ([TAGS[(i * 7 + 3) % 9]] if i % 2 else []) + ([TAGS[(i * 5 + 1) % 9]] if i % 5 == 0 else [])
    tags = sorted(set(tags))
    return f"Post number {i}", f"post-{i:05d}", date, tags


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def trellis_post(i, title=None):
    t, slug, date, tags = post_fields(i)
    return f"---\ntitle: {title or t}\ncreated_at: {date}\ntags: [{', '.join(tags)}]\n---\n{BODY}"


def hugo_post(i, title=None):
    t, slug, date, tags = post_fields(i)
    return f"---\ntitle: {title or t}\nslug: {slug}\ndate: {date}Z\ntags: [{', '.join(tags)}]\n---\n{BODY}"


def write_sites(tmp, posts):
    t = f"{tmp}/trellis"
    write(f"{t}/site.yaml", TRELLIS_SITE)
    for name, text in TRELLIS_TEMPLATES.items():
        write(f"{t}/templates/{name}", text)
    write(f"{t}/static/site.css", CSS)
    for tag in TAGS:
        write(f"{t}/content/tags/{tag}.md", f"---\nname: {tag.capitalize()}\n---\nPosts about {tag}.\n")
    h = f"{tmp}/hugo"
    write(f"{h}/config.toml", HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        write(f"{h}/layouts/{name}", text)
    write(f"{h}/static/static/site.css", CSS)
    for i in range(posts):
        slug = post_fields(i)[1]
        write(f"{t}/content/posts/{slug}.md", trellis_post(i))
        write(f"{h}/content/posts/{slug}.md", hugo_post(i))
    return t, h


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd):
    """Wall time and CPU time (user + system) of a command, in ms."""
    start, used = time.perf_counter(), cpu()
    out = subprocess.run(cmd, capture_output=True, text=True)
    ms = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return (ms, (cpu() - used) * 1000), out


def count_files(out):
    n = 0
    for _, _, files in os.walk(out):
        n += sum(1 for f in files if not f.startswith("."))
    return n


def runs(name, template, command, edit, n, tmp):
    """Cold, unchanged and one-edit builds of a fresh copy of `template`, n times each."""
    cold, again, edited = [], [], []  # (wall, cpu) pairs
    files = None
    for r in range(n):
        site = f"{tmp}/{name}-site-{r}"
        out = f"{tmp}/{name}-out-{r}"
        shutil.copytree(template, site)
        ms, _ = timed(command(site, out))
        cold.append(ms)
        files = count_files(out)
        ms, _ = timed(command(site, out))
        again.append(ms)
        edit(site, r)
        ms, _ = timed(command(site, out))
        edited.append(ms)
        shutil.rmtree(site)
        shutil.rmtree(out)
    return cold, again, edited, files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--trellis", default=os.path.join(ROOT, "target/release/trellis"))
    ap.add_argument("--hugo", default="hugo")
    args = ap.parse_args()
    if shutil.which(args.hugo) is None:
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(["apt-get", "install", "-y", "hugo"], check=True)
    tmp = tempfile.mkdtemp(prefix="trellis-build-bench-")
    try:
        t, h = write_sites(tmp, args.posts)
        edit_i = args.posts // 2

        def trellis_edit(site, r):
            slug = post_fields(edit_i)[1]
            write(f"{site}/content/posts/{slug}.md", trellis_post(edit_i, f"Edited {r}"))

        def hugo_edit(site, r):
            slug = post_fields(edit_i)[1]
            write(f"{site}/content/posts/{slug}.md", hugo_post(edit_i, f"Edited {r}"))

        results = {}
        results["trellis"] = runs(
            "trellis", t, lambda s, o: [args.trellis, "build", s, o], trellis_edit, args.runs, tmp
        )
        results["hugo"] = runs(
            "hugo", h, lambda s, o: [args.hugo, "--quiet", "-s", s, "-d", o], hugo_edit, args.runs, tmp
        )
        hv = subprocess.run([args.hugo, "version"], capture_output=True, text=True).stdout.split()[1]
        med = statistics.median
        print(f"{args.posts} posts, {args.runs} runs each, medians in ms (min-max); hugo {hv}")
        for k, what in ((0, "wall time"), (1, "CPU time (user + system, all threads)")):
            print(f"\n{what}:\n")
            print("| | files written | cold build | again, nothing changed | one post edited |")
            print("|---|---|---|---|---|")
            for name, (cold, again, edited, files) in results.items():
                cells = []
                for runs_ in (cold, again, edited):
                    x = [r[k] for r in runs_]
                    cells.append(f"{med(x):.0f} ({min(x):.0f}-{max(x):.0f})")
                print(f"| {name} | {files} | " + " | ".join(cells) + " |")
            ratios = [
                med([r[k] for r in t]) / med([r[k] for r in h])
                for t, h in zip(results["trellis"][:3], results["hugo"][:3])
            ]
            print(
                f"\ntrellis / hugo: cold {ratios[0]:.2f}, again {ratios[1]:.2f}, edited {ratios[2]:.2f}"
            )
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
