#!/usr/bin/env bash
# Reload time: a generated site with 100 routes, 10 models and 50 templates, served by the
# release build; a template is edited ROUNDS times and the server's own "reloaded in N ms"
# (from the first file event to the new site serving, the 80 ms settle included) is collected.
# Also: startup time (to the first answered request) and RSS at rest.
#   bench/reload.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
cargo build --release -q
BIN=$PWD/target/release/trellis
WORK=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT
SITE="$WORK/site"
mkdir -p "$SITE/templates/pages" "$SITE/data"
python3 - "$SITE" <<'PY'
import sys, os
site = sys.argv[1]
lines = ["site:", "  name: Reload bench", "  database: site.sqlite3", "models:"]
for m in range(10):
    lines += [f"  Thing{m}:", "    fields:", "      title: { type: string, max_length: 100 }",
              "      slug: { type: slug, unique: true }", "      body: { type: text, format: markdown }",
              "      created_at: { type: datetime, auto_now_add: true }", "    ordering: [-created_at]"]
lines.append("routes:")
for r in range(100):
    m = r % 10
    kind = r % 4
    if kind == 0:
        lines.append(f'  - {{ path: "list{r}/", name: list{r}, view: list, model: Thing{m}, paginate_by: 10, template: pages/p{r % 50}.hbs }}')
    elif kind == 1:
        lines.append(f'  - {{ path: "detail{r}/<slug:slug>/", name: detail{r}, view: detail, model: Thing{m}, lookup: slug, template: pages/p{r % 50}.hbs }}')
    else:
        lines.append(f'  - {{ path: "page{r}/<int:n>/", name: page{r}, view: template, template: pages/p{r % 50}.hbs }}')
open(os.path.join(site, "site.yaml"), "w").write("\n".join(lines) + "\n")
os.makedirs(os.path.join(site, "templates", "layouts"), exist_ok=True)
open(os.path.join(site, "templates", "layouts", "base.hbs"), "w").write("<!doctype html><title>{{page_title}}</title><main>{{> @partial-block}}</main>\n")
for t in range(50):
    open(os.path.join(site, "templates", "pages", f"p{t}.hbs"), "w").write(
        '{{#> layouts/base page_title="P%d"}}<h1>Page %d</h1>{{#each objects}}<p>{{this.title}}</p>{{/each}}<a href="{{url "page2" n=1}}">x</a>{{/layouts/base}}\n' % (t, t))
PY
start=$(date +%s%N)
"$BIN" serve "$SITE" --addr 127.0.0.1:0 > "$WORK/out" 2> "$WORK/err" &
PID=$!
for _ in $(seq 1 400); do grep -q 'http://' "$WORK/out" 2>/dev/null && break; sleep 0.01; done
URL=$(grep -o 'http://[0-9.:]*/' "$WORK/out" | head -1)
until curl -sf -o /dev/null "${URL}page2/1/"; do sleep 0.01; done
ready=$(( ($(date +%s%N) - start) / 1000000 ))
rss=$(ps -o rss= -p $PID | awk '{printf "%.1f", $1/1024}')
for i in $(seq 1 "$ROUNDS"); do
  before=$(grep -c 'reloaded in' "$WORK/err" || true)
  sed -i "s/<h1>Page 2[^<]*</<h1>Page 2 edit $i</" "$SITE/templates/pages/p2.hbs"
  for _ in $(seq 1 500); do
    [ "$(grep -c 'reloaded in' "$WORK/err" || true)" -gt "$before" ] && break
    sleep 0.01
  done
  curl -s "${URL}page2/1/" | grep -q "Page 2 edit $i" || { echo "edit $i not served" >&2; exit 1; }
done
grep -o 'reloaded in [0-9]* ms' "$WORK/err" | awk '{print $3}' | sort -n > "$WORK/ms"
n=$(wc -l < "$WORK/ms")
median=$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' "$WORK/ms")
max=$(tail -1 "$WORK/ms")
echo "site: 100 routes, 10 models, 50 templates; $n reloads"
echo "reload (event to new site serving): median ${median} ms, max ${max} ms"
echo "startup (spawn to first answered request, fresh database): ${ready} ms; RSS at rest ${rss} MB"
