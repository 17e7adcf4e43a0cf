#!/usr/bin/env python3
"""Acknowledged form writes per second, Trellis against the hand-written baseline, and the blog
list page's throughput while writes run.

    bench/writes.py [--posts 10000] [--rounds 3] [--secs 5] [--conns 8]
                    [--contenders trellis,baseline] [--markdown FILE]

Each contender serves its own copy of tests/sites/blog with N generated posts (bench/gen_blog.py)
and the same create form: Trellis gets the route below added to its copy of blog-routes.yaml,
the baseline has it written by hand (bench/baseline/src/write.rs). wrk posts the form with a Lua
script: a fixed CSRF cookie and the same 32-character token in the field (Django accepts an
unmasked token, so the check runs in full), a unique slug per request. A write counts when its
303 arrives, which both programs send only after COMMIT; after each run the script counts the
rows the run wrote in the SQLite file and says so if they are fewer than the 303s.

Every measurement below starts from the same database: the server is stopped, its copy of the
blog's file (and WAL) replaced by the freshly generated one, and started again. (Before, the rows
of earlier runs stayed, so each round measured a bigger table than the last, and reads while
writing were measured on up to ten times the posts of reads alone.)

Per round, contenders interleaved:
  writes   wrk -t2 -cCONNS posting the form (acknowledged writes/s, p50, p99)
  list     wrk -t2 -cCONNS on /blog/ alone (the read page's req/s without writes)
  mixed    wrk -t1 -cCONNS on /blog/ and, at the same time, wrk -t1 -c(CONNS/2) posting

Contenders: `trellis`, `baseline` (WAL, synchronous NORMAL, as Trellis's connections),
`baseline-full` (the baseline with BASELINE_SYNCHRONOUS=FULL), and `trellis-full` (a Trellis
binary built with `PRAGMA synchronous = FULL`, named by TRELLIS_FULL=path): the durability
choice's cost. `before` runs an older Trellis build named by TRELLIS_BEFORE=path (before/after
figures in the same run). Stdlib only; builds both programs, installs wrk if missing (apt-get, as root).
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the same sites, builds, wrk parsing)

ROUTE = """
# Added by bench/writes.py: the create form the write benchmark posts to.
- { path: "posts/new/", name: post-new, view: create, model: Post, fields: [title, slug, body, published, author], success: "blog:post-by-slug" }
# Added by bench/writes.py: the update form, whose page bench/forms.py measures.
- { path: "posts/<int:pk>/edit/", name: post-edit, view: update, model: Post, fields: [title, slug, body, published, author], success: "blog:post-by-slug" }
"""
# A well-formed CSRF secret (32 of Django's characters), in the cookie and in the field.
SECRET = "benchmarkSecretForWrites0123456x"
POST_LUA = """
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  prefix = args[1]
  n = 0
end
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = "csrftoken=SECRET",
}
function request()
  n = n + 1
  local slug = prefix .. "-" .. tid .. "-" .. n
  local body = "csrfmiddlewaretoken=SECRET&title=Written+" .. slug .. "&slug=" .. slug
    .. "&body=A+post+written+through+the+form+by+the+benchmark.&published=on&author=1"
  return wrk.format("POST", "/blog/posts/new/", headers, body)
end
""".replace("SECRET", SECRET)


def command(name, addr, site):
    env = dict(os.environ)
    if name == "trellis":
        return [compare.TRELLIS, "serve", site, "--addr", addr, "--quiet"], env
    for contender, var in (("trellis-full", "TRELLIS_FULL"), ("before", "TRELLIS_BEFORE")):
        if name == contender:
            binary = os.environ.get(var)
            if not binary:
                sys.exit(f"{contender} needs {var}=path/to/a/trellis binary")
            return [binary, "serve", site, "--addr", addr, "--quiet"], env
    env["BASELINE_SYNCHRONOUS"] = "FULL" if name == "baseline-full" else "NORMAL"
    return [compare.BASELINE, "blog", addr, site], env


class Server:
    def __init__(self, name, work, blog):
        self.name = name
        self.work = work
        self.pristine = os.path.join(blog, "blog.sqlite3")
        self.site = os.path.join(work, name)
        shutil.copytree(blog, self.site)
        with open(os.path.join(self.site, "blog-routes.yaml"), "a") as f:
            f.write(ROUTE)
        self.proc = None
        self.start()

    def start(self):
        addr = f"127.0.0.1:{compare.free_port()}"
        cmd, env = command(self.name, addr, self.site)
        log = open(os.path.join(self.work, f"{self.name}.log"), "a")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.url = f"http://{addr}"
        compare.wait_for(self.url + "/", self.proc)

    def reset(self):
        """Serve the freshly generated database again: stop, replace the file, start."""
        self.stop()
        db = os.path.join(self.site, "blog.sqlite3")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        shutil.copyfile(self.pristine, db)
        self.start()

    def rows(self, prefix):
        db = sqlite3.connect(os.path.join(self.site, "blog.sqlite3"))
        n = db.execute("SELECT count(*) FROM post WHERE slug LIKE ?", (prefix + "-%",)).fetchone()[0]
        db.close()
        return n

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)


def wrk_args(threads, conns, secs, url, script=None, prefix=None):
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency"]
    if script:
        return args + ["-s", script, url + "/", "--", prefix]
    return args + [url + "/blog/"]


def run(args):
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return compare.parse_wrk(out)


def checked(server, prefix, r, what):
    """The run's figures, with a warning when a 303 has no row or a request was refused."""
    rows = server.rows(prefix)
    ok_303 = r["total"] - r["bad"]
    note = ""
    if r["bad"] or r["errors"]:
        note += f" refused/failed: {r['bad']} {r['errors']}"
    if rows < ok_303:
        note += f" ONLY {rows} ROWS FOR {ok_303} ACKNOWLEDGED WRITES"
    compare.log(f"  {what:8} {server.name:13} {r['rps']:>9,.0f}/s p50 {r['p50']:.2f} "
                f"p99 {r['p99']:.2f} ms; {rows} rows for {ok_303} 303s{note}")
    return r


def round_of(server, r, a, script):
    """One round of the three measurements for one server."""
    def fresh():
        # The database as generated, then a 1 s warm-up on the list page, not counted.
        server.reset()
        run(wrk_args(2, a.conns, 1, server.url))

    prefix = f"r{r}"
    fresh()
    w = checked(server, prefix, run(wrk_args(2, a.conns, a.secs, server.url, script, prefix)),
                "writes")
    fresh()
    lst = run(wrk_args(2, a.conns, a.secs, server.url))
    compare.log(f"  {'list':8} {server.name:13} {lst['rps']:>9,.0f}/s p50 {lst['p50']:.2f} "
                f"p99 {lst['p99']:.2f} ms")
    mprefix = f"m{r}"
    fresh()
    writer = subprocess.Popen(wrk_args(1, max(1, a.conns // 2), a.secs, server.url, script, mprefix),
                              stdout=subprocess.PIPE, text=True)
    reads = run(wrk_args(1, a.conns, a.secs, server.url))
    mw = checked(server, mprefix, compare.parse_wrk(writer.communicate()[0]), "mixed-w")
    compare.log(f"  {'mixed-r':8} {server.name:13} {reads['rps']:>9,.0f}/s p50 {reads['p50']:.2f} "
                f"p99 {reads['p99']:.2f} ms")
    return {"writes": w, "list": lst, "mixed_reads": reads, "mixed_writes": mw}


def table(results, names):
    cols = [("writes", "acknowledged writes/s"), ("list", "list /blog/ alone req/s"),
            ("mixed_reads", "list while writing req/s"), ("mixed_writes", "writes/s meanwhile")]
    head = ["contender"] + [c[1] for c in cols] + ["writes p50 ms", "writes p99 ms"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    med = {n: {k: statistics.median(x[k]["rps"] for x in results[n]) for k, _ in cols}
           for n in names}
    for n in names:
        row = [n] + [compare.fmt_int(med[n][k]) for k, _ in cols]
        row += [f"{statistics.median(x['writes']['p50'] for x in results[n]):.2f}",
                f"{statistics.median(x['writes']['p99'] for x in results[n]):.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    for n in names:
        base = "baseline-full" if n == "trellis-full" else "baseline"
        if n.startswith("trellis") and base in med:
            ratios = [f"{med[n][k] / med[base][k]:.2f}x" for k, _ in cols]
            lines.append(f"| {n}/{base} | " + " | ".join(ratios) + " | | |")
    for full, normal in (("trellis-full", "trellis"), ("baseline-full", "baseline"),
                         ("trellis", "before")):
        if full in med and normal in med:
            lines.append(f"| {full}/{normal} | " + " | ".join(
                f"{med[full][k] / med[normal][k]:.2f}x" for k, _ in cols) + " | | |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--posts", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--contenders", default="trellis,baseline")
    ap.add_argument("--markdown", help="also write the table to this file")
    a = ap.parse_args()
    names = a.contenders.split(",")
    compare.build(["baseline"] if any(n.startswith("baseline") for n in names) else [])
    work = tempfile.mkdtemp(prefix="trellis-writes-")
    servers = []
    try:
        compare.log(f"generating a blog with {a.posts:,} posts")
        blog, _ = compare.make_blog(work, a.posts)
        script = os.path.join(work, "post.lua")
        with open(script, "w") as f:
            f.write(POST_LUA)
        servers = [Server(n, work, blog) for n in names]
        results = {n: [] for n in names}
        for r in range(a.rounds):
            compare.log(f"round {r + 1}")
            for s in servers:
                results[s.name].append(round_of(s, r, a, script))
        text = (f"{a.posts:,} posts; wrk on 127.0.0.1, {a.secs} s runs, medians of {a.rounds} "
                f"rounds, contenders interleaved; writes: -t2 -c{a.conns}; mixed: list -t1 "
                f"-c{a.conns} and writes -t1 -c{max(1, a.conns // 2)} at once.\n\n"
                + table(results, names))
        print(text)
        if a.markdown:
            with open(a.markdown, "w") as f:
                f.write(text + "\n")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
