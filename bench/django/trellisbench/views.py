"""Views of both sites: Django's generic views, as the Trellis YAML declares them."""
import datetime
import re
from urllib.parse import parse_qsl, quote_plus

import nh3
from django.db.models import Q
from django.http import JsonResponse
from django.core.paginator import InvalidPage, Paginator
from django.shortcuts import render
from django.utils.encoding import escape_uri_path
from django.utils.safestring import mark_safe
from django.views.generic import DetailView, ListView, TemplateView
from markdown_it import MarkdownIt

from .models import Author, Post

# ---------------------------------------------------------------------------------------------
# greetings


BIOS = {
    "alice": "Writes the documentation everyone actually reads.",
    "bob": "Keeps the servers running and the coffee hot.",
    "carol": "Reviews every pull request within the hour.",
}

_INT = re.compile(r"[+-]?[0-9]+")


def query_int(request, name, default, minimum):
    """An int query parameter as Trellis's `query:` declares it: the default when it is
    missing, not a 64-bit integer or below the minimum."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    raw = raw.strip()
    if not _INT.fullmatch(raw):
        return default
    n = int(raw)
    if not -(2**63) <= n < 2**63 or n < minimum:
        return default
    return n


def search(request):
    return render(
        request,
        "search.html",
        {"q": request.GET.get("q", ""), "page": query_int(request, "page", 1, 1)},
    )


class ProfileView(TemplateView):
    template_name = "profile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["bio"] = BIOS.get(kwargs["username"], "")
        return context


# ---------------------------------------------------------------------------------------------
# blog

# CommonMark plus tables and strikethrough, like Trellis's pulldown-cmark options, then
# sanitised by ammonia's defaults (nh3 is its Python binding; links get rel="noopener
# noreferrer" by default, as Trellis sets).
_markdown = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_to_html(text):
    return nh3.clean(_markdown.render(text))


def _form_quote(s):
    # Rust's form_urlencoded: alphanumerics and `*-._` as is, space as `+`.
    return quote_plus(s, safe="*").replace("~", "%7E")


def page_url(request, number):
    """The request's URL with `page` set to `number` (last), other parameters kept."""
    pairs = [
        (k, v)
        for k, v in parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
        if k not in ("page", "after")
    ]
    pairs.append(("page", str(number)))
    query = "&".join(f"{_form_quote(k)}={_form_quote(v)}" for k, v in pairs)
    return f"{escape_uri_path(request.path)}?{query}"


def published_posts():
    return Post.objects.filter(published=True).select_related("author")


class PostListView(ListView):
    paginate_by = 10
    template_name = "posts/list.html"
    context_object_name = "posts"

    def get_queryset(self):
        posts = published_posts()
        term = self.request.GET.get("q", "").strip()
        if "\0" in term:
            # SQLite would cut the pattern at the NUL and match everything.
            posts = posts.none()
        elif term:
            posts = posts.filter(Q(title__icontains=term) | Q(body__icontains=term))
        return posts

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = context["page_obj"]
        if page.has_previous():
            context["previous_url"] = page_url(self.request, page.number - 1)
        if page.has_next():
            context["next_url"] = page_url(self.request, page.number + 1)
        return context


class PostDetailView(DetailView):
    """By `pk` or by `slug`, whichever the URL captures."""

    template_name = "posts/detail.html"
    context_object_name = "post"

    def get_queryset(self):
        return published_posts()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["body_html"] = mark_safe(markdown_to_html(self.object.body))
        return context


class AuthorDetailView(DetailView):
    model = Author
    template_name = "authors/detail.html"
    context_object_name = "author"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["posts"] = list(self.object.post_set.filter(published=True)[:100])
        return context


def utc(text):
    """`created_at` (Trellis's stored ISO text, UTC) as the aware datetime Django would hold,
    which `DjangoJSONEncoder` writes `2026-11-16T17:39:00Z`."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)


def post_json(post):
    """A post as Trellis's JSON views give it: the columns, the author embedded, its tags."""
    author = post.author
    return {
        "id": post.id,
        "title": post.title,
        "slug": post.slug,
        "body": post.body,
        "published": post.published,
        "created_at": utc(post.created_at),
        "author_id": post.author_id,
        "author": {
            "id": author.id,
            "name": author.name,
            "slug": author.slug,
            "bio": author.bio,
        },
        "tags": [
            {"id": t.id, "name": t.name, "slug": t.slug, "about": t.about}
            for t in post.tags.all()
        ],
    }


JSON_PARAMS = {"indent": 2, "ensure_ascii": False}


def NOT_FOUND():
    """A JSON route's 404, as Trellis (and Django REST framework) writes it."""
    return JsonResponse({"detail": "Not found."}, status=404, json_dumps_params=JSON_PARAMS)


def api_post_list(request):
    paginator = Paginator(published_posts().prefetch_related("tags"), 10)
    number = request.GET.get("page") or 1
    if number == "last":
        number = paginator.num_pages
    try:
        page = paginator.page(number)
    except InvalidPage:
        return NOT_FOUND()
    return JsonResponse(
        {
            "results": [post_json(p) for p in page.object_list],
            "count": paginator.count,
            "num_pages": paginator.num_pages,
            "page": page.number,
            "next": page_url(request, page.number + 1) if page.has_next() else None,
            "previous": page_url(request, page.number - 1) if page.has_previous() else None,
        },
        json_dumps_params=JSON_PARAMS,
    )


def api_post_detail(request, pk):
    post = published_posts().prefetch_related("tags").filter(pk=pk).first()
    if post is None:
        return NOT_FOUND()
    return JsonResponse(post_json(post), json_dumps_params=JSON_PARAMS)
