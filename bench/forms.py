#!/usr/bin/env python3
"""The form pages, Trellis against the hand-written baseline: the create form's page, the
update form's page and a refused post (the form shown again with its messages, 400).

    bench/forms.py [--posts 10000] [--rounds 3] [--secs 4] [--conns 16] [--callgrind N]

Each contender serves its own copy of tests/sites/blog with N generated posts and the routes
bench/writes.py adds (`posts/new/`, a `view: create`, and `posts/<int:pk>/edit/`, a `view:
update`); the baseline writes the same pages by hand (bench/baseline/src/write.rs). First every
page is checked byte-identical on both, with the CSRF token normalised: each render masks the
token afresh, so two renders of one page never match byte for byte. Then, per round and
contender, wrk -t2 -cCONNS on:

  new      GET /blog/posts/new/            (the authors read for the select)
  edit     GET /blog/posts/<middle pk>/edit/ (the row, then the authors)
  refused  POST /blog/posts/new/ with a bad slug and no body (a Lua script: a fixed CSRF
           cookie and token); every answer is a 400, nothing is written

and prints the medians and Trellis/baseline. `--callgrind N` also counts instructions per
request under callgrind for the two GET pages (instructions.py's method: repeatable when wrk's
figures move with the machine's load). Builds both programs; wrk (installed if missing);
valgrind for --callgrind.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the blog, the builds, wrk's output)
import instructions  # noqa: E402  (callgrind)
import writes  # noqa: E402  (a contender serving its copy of the blog with the form routes)

SECRET = writes.SECRET
REFUSED = f"csrfmiddlewaretoken={SECRET}&title=A+%3Cb%3E+title&slug=bad+slug&body=&published=on&author=1"
REFUSED_LUA = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "csrftoken={SECRET}"
wrk.body = "{REFUSED}"
"""
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def fetch(url, data=None):
    req = urllib.request.Request(url, data=data and data.encode(),
                                 headers={"Cookie": f"csrftoken={SECRET}"} if data else {})
    try:
        with urllib.request.urlopen(req) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    return status, TOKEN.sub('name="csrfmiddlewaretoken" value="TOKEN"', body)


def pages(pk):
    return [("new", f"/blog/posts/new/", None, 200),
            ("edit", f"/blog/posts/{pk}/edit/", None, 200),
            ("refused", "/blog/posts/new/", REFUSED, 400)]


def same_pages(servers, pk):
    for key, path, data, want in pages(pk):
        answers = [fetch(s.url + path, data) for s in servers]
        for s, (status, _) in zip(servers, answers):
            if status != want:
                sys.exit(f"{s.name} {path}: {status}, not {want}")
        if len({body for _, body in answers}) != 1:
            sys.exit(f"{path} ({key}): the pages differ")
        compare.log(f"{key}: identical ({len(answers[0][1]):,} bytes, token normalised)")


def run(server, key, path, a, script):
    args = ["wrk", "-t2", f"-c{a.conns}", f"-d{a.secs}s", "--latency"]
    if key == "refused":
        args += ["-s", script]
    out = subprocess.run(args + [server.url + path], capture_output=True, text=True).stdout
    r = compare.parse_wrk(out)
    # wrk counts a 4xx as "Non-2xx or 3xx": the refused post's 400s are expected.
    if r["errors"] or (r["bad"] and key != "refused") or (key == "refused" and r["bad"] != r["total"]):
        sys.exit(f"{server.name} {path}: unexpected answers\n{out}")
    return r["rps"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--posts", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=4)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--callgrind", type=int, default=0, metavar="N")
    a = ap.parse_args()
    compare.build(["baseline"])
    work = tempfile.mkdtemp(prefix="trellis-forms-")
    servers = []
    try:
        blog, (lo, hi) = compare.make_blog(work, a.posts)
        pk = (lo + hi) // 2
        script = os.path.join(work, "refused.lua")
        with open(script, "w") as f:
            f.write(REFUSED_LUA)
        servers = [writes.Server(n, work, blog) for n in ("trellis", "baseline")]
        same_pages(servers, pk)
        compare.log(f"load average at start: {os.getloadavg()}")
        results = {}
        for r in range(a.rounds):
            for key, path, _, _ in pages(pk):
                for s in servers:
                    rps = run(s, key, path, a, script)
                    results.setdefault((s.name, key), []).append(rps)
                    compare.log(f"round {r + 1} {s.name} {key}: {rps:,.0f} req/s")
        compare.log(f"load average at end: {os.getloadavg()}")
        print(f"\n{a.posts:,} posts; wrk -t2 -c{a.conns} -d{a.secs}s; medians of {a.rounds} rounds\n")
        print("| page | Trellis req/s | baseline req/s | Trellis/baseline |")
        print("|---|---:|---:|---:|")
        for key, path, data, want in pages(pk):
            t = statistics.median(results[("trellis", key)])
            b = statistics.median(results[("baseline", key)])
            what = f"POST `{path}` (refused, {want})" if data else f"`{path}`"
            print(f"| {what} | {t:,.0f} | {b:,.0f} | {t / b:.2f} |")
        if a.callgrind:
            for s in servers:
                s.stop()
            print(f"\ninstructions per request under callgrind ({a.callgrind} keep-alive requests "
                  "after 50, one worker)\n")
            print("| page | Trellis | baseline | Trellis/baseline |")
            print("|---|---:|---:|---:|")
            for key, path, data, _ in pages(pk):
                if data:
                    continue
                counts = []
                for s in servers:
                    port = compare.free_port()
                    cmd, _ = writes.command(s.name, f"127.0.0.1:{port}", s.site)
                    if s.name == "trellis":
                        cmd += ["--no-reload", "--workers", "1"]
                    counts.append(instructions.measure(cmd, port, path, a.callgrind,
                                                       os.path.join(work, f"cg-{s.name}-{key}.out")))
                print(f"| `{path}` | {counts[0]:,.0f} | {counts[1]:,.0f} | {counts[0] / counts[1]:.2f} |",
                      flush=True)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
