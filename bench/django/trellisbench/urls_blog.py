"""URLs of the blog site (tests/sites/blog/site.yaml and blog-routes.yaml)."""
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

blog_patterns = (
    [
        path("", views.PostListView.as_view(), name="post-list"),
        path("<int:pk>/", views.PostDetailView.as_view(), name="post-detail"),
        path("post/<slug:slug>/", views.PostDetailView.as_view(), name="post-by-slug"),
        path("author/<slug:slug>/", views.AuthorDetailView.as_view(), name="author-detail"),
        path("api/posts/", views.api_post_list, name="api-post-list"),
        path("api/posts/<int:pk>/", views.api_post_detail, name="api-post-detail"),
    ],
    "blog",
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="blog:post-list"), name="home"),
    path("blog/", include(blog_patterns)),
]
