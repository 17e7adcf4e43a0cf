#!/bin/sh
# Create bench/django/.venv (if missing) and install requirements.txt into it. Idempotent: quick
# when the venv already holds exactly these requirements.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
echo "$want" > "$stamp"
echo "bench/django: venv ready ($(.venv/bin/python -c 'import django; print("Django", django.get_version())'))"
