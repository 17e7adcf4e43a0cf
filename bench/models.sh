#!/usr/bin/env bash
# Model views at scale: a copy of tests/sites/blog with N posts (default 100,000, about 1 KB each),
# served by the release build; wrk on loopback against the detail page (random pk), list page
# 1 and list page 250. Reports medians of ROUNDS and the list/detail cost ratios.
#   bench/models.sh [POSTS] [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
POSTS=${1:-100000}
ROUNDS=${2:-3}
SECS=${3:-5}
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
cargo build --release -q
BIN=$PWD/target/release/trellis
WORK=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
cp -r tests/sites/blog "$WORK/blog"
rm -f "$WORK"/blog/*.sqlite3*
"$BIN" migrate "$WORK/blog" >/dev/null 2>&1
python3 - "$WORK/blog/blog.sqlite3" "$POSTS" <<'PY'
import sqlite3, sys, random
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
authors = [r[0] for r in c.execute("select id from author")]
start = c.execute("select coalesce(max(id), 0) from post").fetchone()[0]
random.seed(1)
words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
rows = []
for i in range(start + 1, start + n + 1):
    body = " ".join(random.choice(words) for _ in range(150))
    rows.append((f"Post number {i}", f"post-{i}", body, 1, f"2020-01-01T00:00:00.{i:06d}", random.choice(authors)))
c.executemany("insert into post (title, slug, body, published, created_at, author_id) values (?,?,?,?,?,?)", rows)
c.commit()
PY
printf 'math.randomseed(42)\nrequest = function()\n  return wrk.format("GET", "/blog/" .. math.random(1, %d) .. "/")\nend\n' "$POSTS" > "$WORK/random.lua"
"$BIN" serve "$WORK/blog" --addr 127.0.0.1:0 --quiet > "$WORK/out" 2>&1 &
PID=$!
for _ in $(seq 1 200); do grep -q 'http://' "$WORK/out" 2>/dev/null && break; sleep 0.05; done
URL=$(grep -o 'http://[0-9.:]*/' "$WORK/out" | head -1)
rps() { wrk -t2 -c32 -d"${SECS}s" --latency "$@" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
D=""; L1=""; L250=""
for _ in $(seq 1 "$ROUNDS"); do
  D+="$(rps -s "$WORK/random.lua" "$URL") "
  L1+="$(rps "${URL}blog/") "
  L250+="$(rps "${URL}blog/?page=250") "
done
d=$(echo $D | tr ' ' '\n' | median); l1=$(echo $L1 | tr ' ' '\n' | median); l250=$(echo $L250 | tr ' ' '\n' | median)
rss=$(ps -o rss= -p $PID | awk '{printf "%.1f", $1/1024}')
echo "posts: $POSTS; medians of $ROUNDS x ${SECS}s, wrk -t2 -c32; RSS after: ${rss} MB"
echo "detail (random pk)  $d req/s"
echo "list page 1         $l1 req/s"
echo "list page 250       $l250 req/s"
awk -v d="$d" -v a="$l1" -v b="$l250" 'BEGIN { printf "cost vs detail: page 1 %.2fx, page 250 %.2fx\n", d/a, d/b }'
