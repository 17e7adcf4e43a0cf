#!/usr/bin/env bash
# Compare the baseline with Trellis page by page: status, body (byte for byte) and the headers
# that matter (content type, location, ETag, the four security headers).
#
#   bench/baseline/check.sh TRELLIS_BLOG TRELLIS_GREET BASELINE_BLOG BASELINE_GREET
#   e.g. check.sh http://127.0.0.1:18801 http://127.0.0.1:18802 http://127.0.0.1:18811 http://127.0.0.1:18812
#
# Prints OK or DIFF per page; exits 1 if any page differs.
set -u

if [ $# -ne 4 ]; then
    echo "usage: $0 TRELLIS_BLOG TRELLIS_GREET BASELINE_BLOG BASELINE_GREET" >&2
    exit 2
fi
T_BLOG=${1%/} T_GREET=${2%/} B_BLOG=${3%/} B_GREET=${4%/}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# fetch URL PREFIX: PREFIX.status, PREFIX.body, PREFIX.headers (the compared ones, sorted).
fetch() {
    curl -s --path-as-is -o "$2.body" -D "$2.raw" -w '%{http_code}' "$1" >"$2.status"
    tr -d '\r' <"$2.raw" | tr 'A-Z' 'a-z' |
        grep -E '^(content-type|location|etag|x-content-type-options|referrer-policy|x-frame-options|cross-origin-opener-policy):' |
        sort >"$2.headers"
}

# check TRELLIS_BASE BASELINE_BASE PATH
check() {
    fetch "$1$3" "$work/t"
    fetch "$2$3" "$work/b"
    local why=()
    cmp -s "$work/t.status" "$work/b.status" ||
        why+=("status $(cat "$work/t.status") vs $(cat "$work/b.status")")
    cmp -s "$work/t.body" "$work/b.body" || why+=("body")
    cmp -s "$work/t.headers" "$work/b.headers" || why+=("headers")
    if [ ${#why[@]} -eq 0 ]; then
        printf 'OK    %-3s %s\n' "$(cat "$work/t.status")" "$3"
    else
        failures=$((failures + 1))
        printf 'DIFF  %s: %s\n' "$3" "${why[*]}"
        if [[ " ${why[*]} " == *" body "* ]]; then
            diff <(cat "$work/t.body"; echo) <(cat "$work/b.body"; echo) | head -20 | sed 's/^/      /'
        fi
        if [[ " ${why[*]} " == *" headers "* ]]; then
            diff "$work/t.headers" "$work/b.headers" | sed 's/^/      /'
        fi
    fi
}

# The last page, from Trellis's own first page ("Page 1 of N").
last=$(curl -s "$T_BLOG/blog/" | sed -n 's/.*<span>Page 1 of \([0-9]*\)<\/span>.*/\1/p')
last=${last:-1}

echo "== blog ($T_BLOG vs $B_BLOG; $last pages)"
for path in \
    "/blog/" \
    "/blog/?page=1" \
    "/blog/?page=2" \
    "/blog/?page=250" \
    "/blog/?page=$last" \
    "/blog/?page=last" \
    "/blog/?page=$((last + 1))" \
    "/blog/?page=0" \
    "/blog/?page=abc" \
    "/blog/?page=+3&x=a%20b&page=2" \
    "/blog/?q=rust" \
    "/blog/?q=rust&page=2" \
    "/blog/?q=%3Cscript%3E" \
    "/blog/?q=zzz-no-such-thing" \
    "/blog/1/" \
    "/blog/5000/" \
    "/blog/5000/?q=%3Cb%3E" \
    "/blog/99999999/" \
    "/blog/57/" \
    "/blog/post/draft-zeppelin-team-offsite-agenda/" \
    "/blog/api/posts/57/" \
    "/blog/99999999999999999999999/" \
    "/blog/post/post-5000/" \
    "/blog/post/building-a-blog-with-nothing-but-yaml/" \
    "/blog/post/no-such-post/" \
    "/blog/author/mei-chen/" \
    "/blog/author/nobody/" \
    "/blog/tag/rust/" \
    "/blog/tag/rust/?page=2" \
    "/blog/tag/rust/?page=last" \
    "/blog/tag/rust/?page=99999" \
    "/blog/tag/css/?q=%3Cb%3E&page=3" \
    "/blog/tag/no-such-tag/" \
    "/blog/tag/rust" \
    "/blog/archive/2024/3/" \
    "/blog/archive/2024/3/?page=2" \
    "/blog/archive/2024/3/?page=last" \
    "/blog/archive/2024/12/" \
    "/blog/archive/2025/3/" \
    "/blog/archive/2026/11/" \
    "/blog/archive/2030/1/" \
    "/blog/archive/2024/03/" \
    "/blog/archive/2024/13/" \
    "/blog/archive/2024/3" \
    "/blog/feed/" \
    "/blog/feed" \
    "/blog/api/posts/5000/" \
    "/blog/api/posts/1/" \
    "/blog/api/posts/99999999/" \
    "/blog/api/posts/" \
    "/blog/api/posts/?page=2" \
    "/blog/api/posts/?page=$last" \
    "/static/blog.css" \
    "/static/nope.css" \
    "/" \
    "/blog" \
    "/blog/5000" \
    "/nope/" \
    "/blog/%3Cscript%3E/"; do
    check "$T_BLOG" "$B_BLOG" "$path"
done

echo "== greetings ($T_GREET vs $B_GREET)"
for path in \
    "/" \
    "/greetings/" \
    "/greetings/alice/" \
    "/greetings/aLICE/" \
    "/greetings/%3Cscript%3Ealert(1)%3C%2Fscript%3E/" \
    "/greetings/%3Cscript%3Ealert(1)/" \
    "/greetings/caf%C3%A9%20x/" \
    "/greetings/%C3%9Fx/" \
    "/greetings/a%2Fb/" \
    "/greetings/%zz/" \
    "/greetings/%FF/" \
    "/greetings/search/?q=django" \
    "/greetings/search/?q=%3Cb%3Ex%3C/b%3E&page=3" \
    "/greetings/search/?q=a&page=-1" \
    "/greetings/search/?q=a&page=%207%20" \
    "/greetings/search/" \
    "/greetings/profile/bob/" \
    "/greetings/profile/dave/" \
    "/greetings/go-home/" \
    "/greetings/alice" \
    "/nope/" \
    "/static/site.css" \
    "/static/nope.css"; do
    check "$T_GREET" "$B_GREET" "$path"
done

if [ "$failures" -ne 0 ]; then
    echo "$failures page(s) differ"
    exit 1
fi
echo "all pages identical"
