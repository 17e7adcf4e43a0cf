#!/bin/sh
# Serve one of the example sites with Django under gunicorn (2 sync workers, DEBUG off).
#
#   bench/django/serve.sh SITE ADDR SITE_DIR
#
# SITE is greetings or blog; ADDR is what gunicorn binds (127.0.0.1:18821); SITE_DIR is the
# Trellis site folder (its static/ is served at /static/; for the blog, its blog.sqlite3 is the
# database). Run setup.sh first. The process started is gunicorn's master (exec). No access log
# (gunicorn's default). --no-control-socket: gunicorn 27's control socket is one fixed path
# (~/.gunicorn/gunicorn.ctl) that two servers on one machine would share.
set -eu
if [ $# -ne 3 ]; then
    echo "usage: $0 greetings|blog ADDR SITE_DIR" >&2
    exit 2
fi
case $1 in
    greetings|blog) ;;
    *) echo "$0: SITE must be greetings or blog, not '$1'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
site_dir=$(cd "$3" && pwd)
if [ "$1" = blog ] && [ ! -f "$site_dir/blog.sqlite3" ]; then
    echo "$0: no $site_dir/blog.sqlite3 (make it with trellis migrate)" >&2
    exit 2
fi
export TRELLIS_SITE="$1" TRELLIS_SITE_DIR="$site_dir" DJANGO_SETTINGS_MODULE=trellisbench.settings
exec "$here/.venv/bin/gunicorn" --workers 2 --worker-class sync --bind "$2" \
    --no-control-socket --chdir "$here" trellisbench.wsgi:application
