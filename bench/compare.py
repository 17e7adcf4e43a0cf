#!/usr/bin/env python3
"""Trellis against the hand-written baseline and against Django, in one run.

    bench/compare.py [--posts 10000,100000] [--rounds 3] [--secs 5] [--conns 32]
                     [--contenders trellis,baseline,django] [--pages list_p1,detail_pk,...]
                     [--markdown FILE]

Builds Trellis and bench/baseline (release), sets up bench/django's venv, installs wrk if it is
missing (apt-get, as root), generates a copy of tests/sites/blog with each number of posts
(bench/gen_blog.py), starts every contender's two servers (greetings and blog) on 127.0.0.1,
then runs wrk against every page, contenders interleaved within each round, and prints one
table per data size: requests/s, p50, p99 (medians over the rounds) and the server's RSS after
the runs, with the ratios Trellis/baseline and Trellis/Django from the same run.

Everything is stdlib Python; the only tools it needs are cargo, python3 and wrk.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRELLIS = os.path.join(ROOT, "target/release/trellis")
BASELINE = os.path.join(ROOT, "bench/baseline/target/release/baseline")
# `--contenders before,…` serves a second Trellis binary (an older build, for before/after
# figures from one run): TRELLIS_BEFORE=path/to/trellis.
BEFORE = os.environ.get("TRELLIS_BEFORE", "")

# name, site, path (or a Lua template with {lo}/{hi} for a random post id), what it shows
PAGES = [
    ("home", "greetings", "/", "greetings home (template)"),
    ("greet", "greetings", "/greetings/alice/", "greeting with a capture"),
    ("search", "greetings", "/greetings/search/?q=django", "search with a query"),
    ("redirect", "greetings", "/greetings/go-home/", "302 redirect"),
    ("404", "greetings", "/nope/", "404 page (template)"),
    ("list_p1", "blog", "/blog/", "blog list, page 1"),
    ("list_p250", "blog", "/blog/?page=250", "blog list, page 250"),
    ("detail_pk", "blog", "lua:/blog/{id}/", "blog detail, random pk"),
    ("detail_slug", "blog", "lua:/blog/post/post-{id}/", "blog detail, random slug"),
    ("json", "blog", "lua:/blog/api/posts/{id}/", "JSON detail, random pk"),
    ("tag", "blog", "/blog/tag/rust/", "a tag's posts, page 1 (with each post's tags)"),
    ("archive", "blog", "/blog/archive/2024/3/", "a month of the archive, page 1"),
    ("feed", "blog", "/blog/feed/", "Atom feed, the newest 20 posts"),
    ("static", "blog", "/static/blog.css", "static file"),
]
# Pages that do not read the posts are measured once, at the first data size.
GREETINGS_ONCE = True
# Pages bench/django does not serve (yet): not measured for it.
DJANGO_LACKS = {"tag", "archive", "feed"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, proc, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with {proc.returncode}")
        try:
            host, port = url.split("//")[1].split("/")[0].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()  # any status is an answer (the blog's / is a redirect)
            conn.close()
            return
        except OSError:
            time.sleep(0.002)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def rss_mb(pid):
    """RSS of a process and its children (gunicorn's master and workers), in MB."""
    pids = [pid]
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                             text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Contender:
    def __init__(self, name, work):
        self.name = name
        self.work = work
        self.procs = {}
        self.urls = {}
        self.startup_ms = {}
        self.rest_mb = {}

    def command(self, site, addr, site_dir):
        if self.name == "trellis":
            return [TRELLIS, "serve", site_dir, "--addr", addr, "--quiet"]
        if self.name == "before":
            if not BEFORE:
                sys.exit("--contenders before needs TRELLIS_BEFORE=path/to/an/older/trellis")
            return [BEFORE, "serve", site_dir, "--addr", addr, "--quiet"]
        if self.name == "baseline":
            return [BASELINE, site, addr, site_dir]
        return [os.path.join(ROOT, "bench/django/serve.sh"), site, addr, site_dir]

    def start(self, site, site_dir):
        port = free_port()
        addr = f"127.0.0.1:{port}"
        out = open(os.path.join(self.work, f"{self.name}-{site}.log"), "w")
        proc = subprocess.Popen(self.command(site, addr, site_dir), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://{addr}"
        started = time.perf_counter()
        wait_for(url + "/", proc)
        # Spawn to first answered request, polled every 2 ms.
        self.startup_ms[site] = (time.perf_counter() - started) * 1000
        self.rest_mb[site] = rss_mb(proc.pid)
        self.procs[site] = proc
        self.urls[site] = url

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()


LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$")


def wrk(url, path, conns, secs, work, id_range):
    args = ["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--latency"]
    if path.startswith("lua:"):
        lo, hi = id_range
        script = os.path.join(work, f"req-{abs(hash(path))}.lua")
        target = path[4:].replace("{id}", '" .. math.random(%d, %d) .. "' % (lo, hi))
        with open(script, "w") as f:
            f.write('math.randomseed(42)\nrequest = function()\n'
                    f'  return wrk.format("GET", "{target}")\nend\n')
        args += ["-s", script, url + "/"]
    else:
        args.append(url + path)
    out = subprocess.run(args, capture_output=True, text=True).stdout
    r = parse_wrk(out)
    return r["rps"], r["p50"], r["p99"], r["errors"], r["bad"]


def parse_wrk(out):
    """wrk's figures from its output (`--latency`): req/s, p50 and p99 in ms, socket errors,
    non-2xx/3xx responses, requests in all."""
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise SystemExit(f"wrk printed no figures:\n{out}")
    lat = {}
    for line in out.splitlines():
        lm = LAT.match(line)
        if lm:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[lm.group(3)]
            lat[lm.group(1)] = float(lm.group(2)) * scale
    errors = re.search(r"Socket errors: (.*)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(m.group(1)), "p50": lat.get("50", 0.0), "p99": lat.get("99", 0.0),
            "errors": errors.group(1) if errors else "", "bad": int(bad.group(1)) if bad else 0,
            "total": int(total.group(1)) if total else 0}


def make_blog(work, posts):
    site = os.path.join(work, f"blog-{posts}")
    shutil.copytree(os.path.join(ROOT, "tests/sites/blog"), site,
                    ignore=shutil.ignore_patterns("*.sqlite3*"))
    subprocess.run([TRELLIS, "migrate", site], check=True, capture_output=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "bench/gen_blog.py"), site, str(posts)],
                   check=True, capture_output=True)
    db = sqlite3.connect(os.path.join(site, "blog.sqlite3"))
    lo, hi = db.execute("select min(id), max(id) from post where title like 'Post number %'") \
        .fetchone()
    db.close()
    return site, (lo, hi)


def build(contenders):
    if not shutil.which("wrk"):
        subprocess.run("apt-get update && apt-get install -y wrk", shell=True, check=True)
    log("building trellis (release)")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    if "baseline" in contenders:
        log("building bench/baseline (release)")
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=os.path.join(ROOT, "bench/baseline"),
                       check=True)
    if "django" in contenders:
        log("setting up bench/django's venv")
        subprocess.run([os.path.join(ROOT, "bench/django/setup.sh")], check=True)


def fmt_int(x):
    return f"{x:,.0f}"


def table(results, contenders, pages, posts):
    head = ["page"]
    for c in contenders:
        head += [f"{c} req/s", "p50 ms", "p99 ms", "RSS MB"]
    if "baseline" in contenders:
        head.append("T/baseline")
        if "before" in contenders:
            head.append("before/baseline")
    if "django" in contenders:
        head.append("T/Django")
    lines = [f"### {posts:,} posts", "", "| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for name, *_ in pages:
        if not any((name, c) in results for c in contenders):
            continue
        row = [name]
        med = {}
        for c in contenders:
            runs = results.get((name, c), [])
            if not runs:
                row += ["-"] * 4
                continue
            rps = statistics.median(r[0] for r in runs)
            med[c] = rps
            row += [fmt_int(rps), f"{statistics.median(r[1] for r in runs):.2f}",
                    f"{statistics.median(r[2] for r in runs):.2f}",
                    f"{statistics.median(r[3] for r in runs):.1f}"]
        for who, other in (("trellis", "baseline"), ("before", "baseline"), ("trellis", "django")):
            if who in contenders and other in contenders:
                ok = who in med and med.get(other)
                row.append(f"{med[who] / med[other]:.2f}x" if ok else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--posts", default="10000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--contenders", default="trellis,baseline,django")
    ap.add_argument("--pages", default=",".join(p[0] for p in PAGES))
    ap.add_argument("--markdown", help="also write the tables to this file")
    a = ap.parse_args()
    contenders = a.contenders.split(",")
    wanted = set(a.pages.split(","))
    build(contenders)
    work = tempfile.mkdtemp(prefix="trellis-bench-")
    greetings = os.path.join(work, "greetings")
    shutil.copytree(os.path.join(ROOT, "sites/greetings"), greetings)
    out = [f"wrk -t2 -c{a.conns} -d{a.secs}s on 127.0.0.1, medians of {a.rounds} rounds, "
           f"contenders interleaved; RSS is the server's (with its workers) after its runs."]
    running = []
    try:
        for i, posts in enumerate(int(p) for p in a.posts.split(",")):
            log(f"generating a blog with {posts:,} posts")
            blog, id_range = make_blog(work, posts)
            pages = [p for p in PAGES if p[0] in wanted
                     and (p[1] == "blog" or i == 0 or not GREETINGS_ONCE)]
            running = []
            for c in contenders:
                ct = Contender(c, work)
                ct.start("greetings", greetings)
                ct.start("blog", blog)
                running.append(ct)
            lines = [f"Startup (spawn to first answered request, existing database) and RSS at rest, "
                     f"{posts:,} posts:", "", "| contender | greetings ms | blog ms | greetings RSS MB | blog RSS MB |",
                     "|---|---:|---:|---:|---:|"]
            for ct in running:
                lines.append(f"| {ct.name} | {ct.startup_ms['greetings']:.0f} | {ct.startup_ms['blog']:.0f} | "
                             f"{ct.rest_mb['greetings']:.1f} | {ct.rest_mb['blog']:.1f} |")
            out.append("\n".join(lines))
            print(out[-1], flush=True)
            results = {}
            for r in range(a.rounds):
                for name, site, path, _ in pages:
                    for ct in running:
                        if ct.name == "django" and name in DJANGO_LACKS:
                            continue
                        url = ct.urls[site]
                        if r == 0:  # warm caches and connections; not counted
                            wrk(url, path, a.conns, 1, work, id_range)
                        rps, p50, p99, errors, bad = wrk(url, path, a.conns, a.secs, work, id_range)
                        rss = rss_mb(ct.procs[site].pid)
                        results.setdefault((name, ct.name), []).append((rps, p50, p99, rss))
                        note = f" socket errors: {errors}" if errors else ""
                        if bad and name not in ("redirect", "404"):
                            note += f" non-2xx/3xx: {bad}"
                        log(f"round {r + 1} {name:12} {ct.name:9} {rps:>10,.0f} req/s "
                            f"p50 {p50:.2f} p99 {p99:.2f} ms RSS {rss:.1f} MB{note}")
            for ct in running:
                ct.stop()
            running = []
            out.append(table(results, contenders, pages, posts))
            print("\n\n".join(out[-1:]), flush=True)
            if "trellis" in contenders and "detail_pk" in wanted:
                d = results.get(("detail_pk", "trellis"))
                for lp in ("list_p1", "list_p250"):
                    if d and (lp, "trellis") in results:
                        dm = statistics.median(x[0] for x in d)
                        lm = statistics.median(x[0] for x in results[(lp, "trellis")])
                        line = f"Trellis {lp} costs {dm / lm:.2f}x its detail page at {posts:,} posts."
                        out.append(line)
                        print(line)
    finally:
        for ct in running:
            ct.stop()
        shutil.rmtree(work, ignore_errors=True)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("\n\n".join(out) + "\n")


if __name__ == "__main__":
    main()
