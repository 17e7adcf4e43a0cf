#!/usr/bin/env python3
"""Instructions per request of the admin's pages (signed in), under callgrind: the release build
against an older one (TRELLIS_BEFORE), on bench/admin_list.py's site of 20 authors and 10,000
posts.

    TRELLIS_BEFORE=path/to/an/older/trellis bench/admin_instructions.py [--requests 200]

wrk's figures move with the machine's load; callgrind's instruction counts do not, so a small
change to a template or a query shows here when wrk cannot see it. Each page: the server under
callgrind with one worker, 20 requests to warm up, the counters zeroed, N keep-alive requests
with the staff user's session cookie (each checked to be a 200), the count divided by N.
Needs valgrind and the release builds (cargo build --release; the older one built elsewhere).
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admin_list  # noqa: E402  (the site, signing in)
import compare  # noqa: E402  (free ports, the binaries)
import instructions  # noqa: E402  (callgrind's count per request)

PAGES = ["/admin/post/", "/admin/post/?q=00&published=true&ordering=-title&page=2",
         "/admin/post/7/change/"]


def measure(binary, site, path, n, out, cookie):
    port = compare.free_port()
    cmd = [binary, "serve", site, "--addr", f"127.0.0.1:{port}", "--quiet", "--no-reload",
           "--workers", "1"]
    return instructions.measure(cmd, port, path, n, out, headers={"Cookie": cookie}, warmup=20)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()
    servers = [("after", compare.TRELLIS)]
    if compare.BEFORE:
        servers.insert(0, ("before", compare.BEFORE))
    work = tempfile.mkdtemp(prefix="admin-instr-")
    site = admin_list.make_site(work, compare.TRELLIS, 10000)
    proc, url = admin_list.start(compare.TRELLIS, site, work, "signin")
    try:
        cookie = admin_list.sign_in(url)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
    names = [who for who, _ in servers]
    print(f"instructions per request, {a.requests} keep-alive requests after 20 to warm up\n")
    print("| page | " + " | ".join(names) + " |" + (" after/before |" if compare.BEFORE else ""))
    print("|---|" + "---:|" * (len(names) + (1 if compare.BEFORE else 0)))
    for i, path in enumerate(PAGES):
        counts = [measure(binary, site, path, a.requests, os.path.join(work, f"{who}-{i}.out"), cookie)
                  for who, binary in servers]
        row = " | ".join(f"{c:,.0f}" for c in counts)
        ratio = f" {counts[1] / counts[0]:.3f} |" if compare.BEFORE else ""
        print(f"| `{path}` | {row} |{ratio}", flush=True)
    print(f"\nprofiles in {work}")


if __name__ == "__main__":
    main()
