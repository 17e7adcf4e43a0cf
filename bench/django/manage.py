#!/usr/bin/env python
"""Django's command-line utility. Set TRELLIS_SITE and TRELLIS_SITE_DIR first (see serve.sh)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellisbench.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
