"""Filters matching Trellis's Handlebars helpers where Django's built-ins differ."""
from datetime import datetime

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def capitalize(value):
    """Trellis's `capitalize`: Python's str.capitalize (Django's capfirst leaves the rest)."""
    return str(value).capitalize()


@register.filter
def truncate(value, n):
    """Trellis's `truncate`: at most n characters, the last one `…` when cut.

    Django's truncatechars also NFC-normalises and does not count combining characters.
    """
    s = str(value)
    n = int(n)
    if n <= 0:
        return ""
    if len(s) <= n:
        return s
    return s[: n - 1] + "…"


@register.filter
def isodate(value):
    """An ISO-8601 text (as Trellis stores datetimes) as a naive datetime, for `|date`."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return ""


_HBS_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "`": "&#x60;",
        "=": "&#x3D;",
    }
)


@register.filter
def hbs_escape(value):
    """HTML-escape as Handlebars does: also `=` and backquote, which Django leaves.

    Used for the pagination links (`?page=2` is written `?page&#x3D;2` by Trellis).
    """
    return mark_safe(str(value).translate(_HBS_ESCAPES))
