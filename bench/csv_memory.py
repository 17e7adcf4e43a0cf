#!/usr/bin/env python3
"""A large CSV export's memory: the server's peak RSS while it streams every row.

    bench/csv_memory.py [--rows 100000,400000] [--trellis target/release/trellis]

For each size, writes a site with an `Item` model (about 300 bytes of text a row) and a
`format: csv` list route, creates its database with `trellis migrate`, inserts the rows with
Python's sqlite3, serves it with one database thread (`site.limits.db_threads: 1`), and:

1. reads the server's peak RSS (`VmHWM` in /proc/PID/status) after a warm-up page;
2. downloads the whole export as fast as it comes (checking it has every row) and reads the
   peak again: the difference is what the export cost at most;
3. starts a second export with a client that stops reading after the first 64 KiB, and while
   it stalls asks a paginated list page of the same site: with one database thread, that page
   is only answered if the stalled export does not hold the thread.

Peak RSS growing with the number of rows would mean the export is held in memory; the
figures go into RESULTS.md. Stdlib only; builds nothing (run `cargo build --release` first).
"""
import argparse
import http.client
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SITE = """site:
  database: site.sqlite3
  limits: { db_threads: 1 }
models:
  Item:
    fields:
      name: { type: string }
      note: { type: text }
      category: { type: string, choices: [a, b, c] }
      active: { type: boolean }
      rating: { type: float, "null": true }
      created_at: { type: datetime }
routes:
  - { path: "items.csv", view: list, model: Item, format: csv, ordering: [-created_at] }
  - { path: "api/", view: list, model: Item, format: json, paginate_by: 20 }
"""

NOTE = "A row of the export, with some text, commas, and \"quotes\" to be escaped. " * 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hwm_kib(pid):
    """Peak resident set size of the process so far, KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def get(port, path, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def build(tmp, rows, trellis):
    site = os.path.join(tmp, f"site{rows}")
    os.makedirs(site)
    with open(os.path.join(site, "site.yaml"), "w") as f:
        f.write(SITE)
    subprocess.run([trellis, "migrate", site], check=True, capture_output=True)
    db = sqlite3.connect(os.path.join(site, "site.sqlite3"))
    db.executemany(
        "INSERT INTO item (id, name, note, category, active, rating, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                f"item {i}",
                NOTE,
                "abc"[i % 3],
                i % 2,
                None if i % 7 == 0 else i % 50 / 10,
                f"20{10 + i % 15}-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00",
            )
            for i in range(1, rows + 1)
        ),
    )
    db.commit()
    db.close()
    return site


def measure(site, rows, trellis):
    port = free_port()
    server = subprocess.Popen(
        [trellis, "serve", site, "--addr", f"127.0.0.1:{port}", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(400):
            try:
                if get(port, "/api/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        before = hwm_kib(server.pid)

        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        start = time.perf_counter()
        c.request("GET", "/items.csv")
        r = c.getresponse()
        assert r.status == 200, r.status
        size, lines = 0, 0
        while True:
            piece = r.read(65536)
            if not piece:
                break
            size += len(piece)
            lines += piece.count(b"\n")
        secs = time.perf_counter() - start
        c.close()
        assert lines == rows + 1, (lines, rows)
        peak = hwm_kib(server.pid)

        # A client that stops reading: the export waits for it, holding no database thread.
        stalled = socket.create_connection(("127.0.0.1", port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /items.csv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        stalled.recv(65536)
        time.sleep(1.0)
        t = time.perf_counter()
        status, _ = get(port, "/api/?page=3", timeout=10)
        page_ms = (time.perf_counter() - t) * 1000
        stalled_rss = rss_kib(server.pid)
        stalled.close()
        return {
            "rows": rows,
            "mb": size / 1e6,
            "secs": secs,
            "before": before / 1024,
            "peak": peak / 1024,
            "page": (status, page_ms),
            "stalled_rss": stalled_rss / 1024,
        }
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="100000,400000")
    ap.add_argument("--trellis", default=os.path.join(ROOT, "target/release/trellis"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="trellis-csv-")
    try:
        results = []
        for rows in [int(n) for n in args.rows.split(",")]:
            site = build(tmp, rows, args.trellis)
            results.append(measure(site, rows, args.trellis))
            shutil.rmtree(site)
        print("| rows | export | time | peak RSS before | peak RSS after the export | growth | page while an export stalls (1 db thread) | RSS then |")
        print("|---|---|---|---|---|---|---|---|")
        for r in results:
            status, ms = r["page"]
            print(
                f"| {r['rows']:,} | {r['mb']:.0f} MB | {r['secs']:.1f} s | {r['before']:.1f} MiB | {r['peak']:.1f} MiB "
                f"| {r['peak'] - r['before']:+.1f} MiB | {status} in {ms:.0f} ms | {r['stalled_rss']:.1f} MiB |"
            )
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
