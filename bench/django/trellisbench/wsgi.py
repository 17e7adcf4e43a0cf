"""WSGI entry point for gunicorn: `trellisbench.wsgi:application` (see serve.sh)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellisbench.settings")

application = get_wsgi_application()
