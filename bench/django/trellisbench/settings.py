"""Settings of the Django contender: one project, two sites.

The site is picked by the environment (serve.sh sets both):

- TRELLIS_SITE: `greetings` or `blog`; selects ROOT_URLCONF and the template folder.
- TRELLIS_SITE_DIR: the Trellis site folder; its `static/` is served at /static/ by WhiteNoise,
  and for the blog its `blog.sqlite3` (tables made by `trellis migrate`) is the database.

Everything else is a fresh `startproject` with DEBUG off: the same apps and middleware, plus
WhiteNoise.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SITE = os.environ.get("TRELLIS_SITE", "greetings")
if SITE not in ("greetings", "blog"):
    raise RuntimeError(f"TRELLIS_SITE must be greetings or blog, not {SITE!r}")
SITE_DIR = Path(os.environ.get("TRELLIS_SITE_DIR", "."))

# A benchmark key: nothing here signs anything that matters.
SECRET_KEY = "django-insecure-trellis-benchmark-only-not-a-secret"

DEBUG = False

ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "trellisbench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = f"trellisbench.urls_{SITE}"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates" / SITE],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "trellisbench.wsgi.application"

if SITE == "blog":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SITE_DIR / "blog.sqlite3",
            # Keep the connection across requests, as a production setup would (the default,
            # 0, opens and closes one per request).
            "CONN_MAX_AGE": None,
        }
    }
else:
    # The greetings site has no models; sessions and auth are never touched by its pages.
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    }

AUTH_PASSWORD_VALIDATORS = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Served from the Trellis site's own static folder, as is (no collectstatic, no hashing), so
# that {% static "blog.css" %} is /static/blog.css as in Trellis.
STATIC_URL = "static/"
STATIC_ROOT = SITE_DIR / "static"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
