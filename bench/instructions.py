#!/usr/bin/env python3
"""Instructions per request, Trellis against the hand-written baseline, under callgrind.

    bench/instructions.py [--requests 2000] [--pages home,greet,...] [--trellis BIN] [--out DIR]

wrk's requests per second move with whatever else the machine does; instructions counted by
valgrind's callgrind do not (the same binary, inputs and environment give the same count). So
this script serves each page under callgrind, zeroes the counters after a warm-up, sends the
same N keep-alive requests, and divides the instructions the server executed by N. It prints a
table (instructions per request, Trellis/baseline) and leaves each profile in --out, to read
with `callgrind_annotate --inclusive=yes FILE | head -60` (where the time goes).

Needs valgrind (apt-get install -y valgrind) and the release builds (it runs cargo build).
The blog pages use bench/gen_blog.py's 10,000-post copy of tests/sites/blog, as compare.py does.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import compare  # noqa: E402  (the same pages, sites and build)

PAGES = {name: (site, path) for name, site, path, _ in compare.PAGES}


def wait_for(port, proc, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def send(port, path, n, headers=None):
    """n GET requests on one keep-alive connection; each response read whole. With `headers`
    (a dict: a session's Cookie, Accept-Encoding), each is sent with them and must answer 200."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")
        for _ in range(n):
            s.sendall(req)
            length = None
            status = f.readline()
            if headers and b" 200 " not in status:
                raise RuntimeError(f"{path}: {status!r}")
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                if k.lower() == "content-length":
                    length = int(v)
            if length:
                f.read(length)


def measure(cmd, port, path, n, out, headers=None, warmup=50):
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"] + cmd,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(port, proc, 300)
        send(port, path, warmup, headers)  # warm-up: caches, prepared statements, allocations
        subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True,
                       capture_output=True)
        send(port, path, n, headers)
        subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True,
                       capture_output=True)
    finally:
        proc.terminate()
        proc.wait()
    # The dump taken after --zero is the second file: out.1 (or out.PID.1).
    base = os.path.basename(out)
    dumps = sorted(f for f in os.listdir(os.path.dirname(out)) if f.startswith(base + "."))
    total = 0
    with open(os.path.join(os.path.dirname(out), dumps[-1])) as fh:
        for line in fh:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    return total / n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--pages", default="home,greet,search,redirect,404,static,detail_pk,list_p1,tag,archive,feed")
    ap.add_argument("--trellis", default=compare.TRELLIS, help="the Trellis binary (e.g. an older build)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed: apt-get install -y valgrind")
    compare.build(["trellis", "baseline"])
    work = tempfile.mkdtemp(prefix="trellis-instr-")
    out_dir = a.out or work
    os.makedirs(out_dir, exist_ok=True)
    blog, (lo, hi) = compare.make_blog(work, 10000)
    sites = {"greetings": os.path.join(ROOT, "sites/greetings"), "blog": blog}
    print(f"instructions per request, {a.requests} keep-alive requests after 50 to warm up\n")
    print("| page | Trellis | baseline | Trellis/baseline |")
    print("|---|---:|---:|---:|")
    for name in a.pages.split(","):
        site, path = PAGES[name]
        path = path.replace("lua:", "").replace("{id}", str((lo + hi) // 2))
        counts = {}
        for who in ("trellis", "baseline"):
            port = compare.free_port()
            addr = f"127.0.0.1:{port}"
            if who == "trellis":
                cmd = [a.trellis, "serve", sites[site], "--addr", addr, "--quiet", "--no-reload",
                       "--workers", "1"]
            else:
                cmd = [compare.BASELINE, site, addr, sites[site]]
            counts[who] = measure(cmd, port, path, a.requests,
                                  os.path.join(out_dir, f"{who}-{name}.out"))
        t, b = counts["trellis"], counts["baseline"]
        print(f"| {name} | {t:,.0f} | {b:,.0f} | {t / b:.2f}x |", flush=True)
    print(f"\nprofiles in {out_dir}")


if __name__ == "__main__":
    main()
