#!/usr/bin/env bash
# Compare the baseline with Trellis page by page: status, body (byte for byte) and the headers
# that matter (content type, location, ETag, the four security headers).
#
#   bench/baseline/check.sh TRELLIS_BLOG TRELLIS_GREET BASELINE_BLOG BASELINE_GREET [TRELLIS_SHOP BASELINE_SHOP]
#   e.g. check.sh http://127.0.0.1:18801 http://127.0.0.1:18802 http://127.0.0.1:18811 http://127.0.0.1:18812
#
# A page with a form carries a CSRF token masked afresh on every render, so two renders of the
# same page never match byte for byte: every body is compared with the value of its
# `csrfmiddlewaretoken` field replaced by TOKEN (the rest of the page byte for byte).
#
# The blog's form pages (the create form's page, the update form's page, refused posts that
# show the form again with 400) are checked when Trellis's blog has the routes bench/writes.py
# adds to its copy (`posts/new/`, `posts/<int:pk>/edit/`); otherwise they are reported as
# skipped. With TRELLIS_SHOP and BASELINE_SHOP (bench/admin_list.py's site, served from the
# same database, with the staff user bench / bench-pw), the admin's sign-in page, a refused
# sign-in and the admin list are checked too; the list with a session made by signing in to
# Trellis.
#
# Prints OK or DIFF per page; exits 1 if any page differs.
set -u

if [ $# -ne 4 ] && [ $# -ne 6 ]; then
    echo "usage: $0 TRELLIS_BLOG TRELLIS_GREET BASELINE_BLOG BASELINE_GREET [TRELLIS_SHOP BASELINE_SHOP]" >&2
    exit 2
fi
T_BLOG=${1%/} T_GREET=${2%/} B_BLOG=${3%/} B_GREET=${4%/}
T_SHOP=${5:-} B_SHOP=${6:-}
T_SHOP=${T_SHOP%/} B_SHOP=${B_SHOP%/}
# A well-formed CSRF secret, sent as the cookie and in the field of the posted forms.
SECRET=benchmarkSecretForWrites0123456x

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# fetch URL PREFIX [CURL ARGS…]: PREFIX.status, PREFIX.body (the CSRF token normalised),
# PREFIX.headers (the compared ones, sorted).
fetch() {
    local url=$1 out=$2
    shift 2
    curl -s --path-as-is -o "$out.raw-body" -D "$out.raw" -w '%{http_code}' "$@" "$url" >"$out.status"
    sed 's/name="csrfmiddlewaretoken" value="[^"]*"/name="csrfmiddlewaretoken" value="TOKEN"/g' \
        "$out.raw-body" >"$out.body"
    tr -d '\r' <"$out.raw" | tr 'A-Z' 'a-z' |
        grep -E '^(content-type|location|etag|x-content-type-options|referrer-policy|x-frame-options|cross-origin-opener-policy):' |
        sort >"$out.headers"
}

# check TRELLIS_BASE BASELINE_BASE PATH [CURL ARGS…]
check() {
    local t=$1 b=$2 path=$3
    shift 3
    fetch "$t$path" "$work/t" "$@"
    fetch "$b$path" "$work/b" "$@"
    local label=$path
    [ $# -eq 0 ] || label="$path ($(echo "$*" | cut -c1-90))"
    set -- "$t" "$b" "$label"
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

# post PATH FORM: a form posted with the CSRF cookie and token.
post() {
    check "$T_BLOG" "$B_BLOG" "$1" -b "csrftoken=$SECRET" --data "csrfmiddlewaretoken=$SECRET&$2"
}

if [ "$(curl -s -o /dev/null -w '%{http_code}' "$T_BLOG/blog/posts/new/")" = 200 ]; then
    echo "== the blog's forms"
    check "$T_BLOG" "$B_BLOG" "/blog/posts/new/"
    check "$T_BLOG" "$B_BLOG" "/blog/posts/5000/edit/"
    check "$T_BLOG" "$B_BLOG" "/blog/posts/1/edit/"
    check "$T_BLOG" "$B_BLOG" "/blog/posts/99999999/edit/"
    post "/blog/posts/new/" "title=A+%3Cb%3E+title&slug=bad+slug&body=&published=on&author=9"
    post "/blog/posts/new/" "title=&slug=&body=&author="
    post "/blog/posts/new/" "title=x&slug=post-5000&body=b&author=2"
    post "/blog/posts/new/" "title=x&slug=check-no-such-author&body=b&author=99"
    post "/blog/posts/new/" "title=x&slug=s&body=b&author=abc&published=maybe"
    post "/blog/posts/new/" "title=$(printf 'x%.0s' $(seq 201))&slug=ok&body=b&author=1"
    check "$T_BLOG" "$B_BLOG" "/blog/posts/new/" --data "title=x"
else
    echo "SKIP  the blog's forms: $T_BLOG has no /blog/posts/new/ (add the routes bench/writes.py adds)"
fi

if [ -n "$T_SHOP" ]; then
    echo "== the shop's admin ($T_SHOP vs $B_SHOP)"
    check "$T_SHOP" "$B_SHOP" "/admin/login/"
    check "$T_SHOP" "$B_SHOP" "/admin/login/?next=/admin/post/"
    check "$T_SHOP" "$B_SHOP" "/admin/login/?next=//elsewhere.example/"
    check "$T_SHOP" "$B_SHOP" "/admin/login/?next=/a%22%3Cb%3E"
    jar="$work/jar"
    signed_in=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "csrftoken=$SECRET" \
        --data "csrfmiddlewaretoken=$SECRET&username=bench&password=bench-pw" "$T_SHOP/admin/login/")
    session=$(awk '$6 == "sessionid" {print $7}' "$jar")
    if [ -n "$session" ]; then
        check "$T_SHOP" "$B_SHOP" "/admin/post/" -b "sessionid=$session"
    else
        # 429: five refused sign-ins from this address in 15 minutes (the check's own count).
        failures=$((failures + 1))
        echo "DIFF  signing in to $T_SHOP as bench answered $signed_in, not 303 (the admin list is not checked)"
    fi
    check "$T_SHOP" "$B_SHOP" "/admin/post/"
    # A wrong password: the form again with Django's admin message (400); counted by the
    # throttle, so it comes after signing in.
    check "$T_SHOP" "$B_SHOP" "/admin/login/" -b "csrftoken=$SECRET" \
        --data "csrfmiddlewaretoken=$SECRET&username=bench&password=wrong&next=/admin/post/"
fi

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
