#!/usr/bin/env bash
# Routing cost with many routes: the same request against a site with 10 routes and one with
# 1,000 routes, measured with wrk on loopback in the same run; reports medians and the ratio.
#   bench/routes.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
cargo build --release -q
BIN=target/release/trellis
WORK=$(mktemp -d)
trap 'kill $PIDS 2>/dev/null || true; rm -rf "$WORK"' EXIT
PIDS=""

make_site() { # N
  local dir="$WORK/site$1"
  mkdir -p "$dir/templates"
  {
    echo "routes:"
    for i in $(seq 1 "$1"); do
      echo "  - { path: \"section$i/<int:pk>/\", name: r$i, view: response, body: \"item {{params.pk}} of section $i\" }"
    done
  } > "$dir/site.yaml"
  echo "$dir"
}

start() { # DIR VAR: starts a server (in this shell, so its PID is kept) and sets VAR to its URL
  local out="$WORK/out.$2"
  "$BIN" serve "$1" --addr 127.0.0.1:0 --workers 1 --quiet > "$out" 2>&1 &
  PIDS="$PIDS $!"
  for _ in $(seq 1 100); do
    if grep -q 'http://[0-9.:]*/' "$out" 2>/dev/null; then
      printf -v "$2" '%s' "$(grep -o 'http://[0-9.:]*/' "$out" | head -1)"
      return 0
    fi
    sleep 0.05
  done
  echo "server did not start" >&2; cat "$out" >&2; exit 1
}

rps() { # URL
  wrk -t1 -c32 -d"${SECS}s" --latency "$1" | awk '/Requests\/sec/ {print $2}'
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

S10=$(make_site 10); S1000=$(make_site 1000)
start "$S10" U10; start "$S1000" U1000
declare -A R
for round in $(seq 1 "$ROUNDS"); do
  for n in 10 1000; do
    url=U$n
    # The last route: the worst case for a linear scan.
    R[$n]+="$(rps "${!url}section$n/42/") "
  done
done
m10=$(echo ${R[10]} | tr ' ' '\n' | median)
m1000=$(echo ${R[1000]} | tr ' ' '\n' | median)
echo "routes  requests/s (median of $ROUNDS x ${SECS}s, wrk -c32, 1 worker)"
echo "10      $m10"
echo "1000    $m1000"
awk -v a="$m10" -v b="$m1000" 'BEGIN { printf "cost per request, 1000 vs 10 routes: %.1f%% more\n", (a / b - 1) * 100 }'
