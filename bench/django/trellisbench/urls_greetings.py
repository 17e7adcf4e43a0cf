"""URLs of the greetings site (sites/greetings/site.yaml and greetings.yaml)."""
from django.urls import include, path, register_converter
from django.views.generic import RedirectView, TemplateView

from . import views


class UserConverter:
    """Only these three people have a profile; any other name is a 404."""

    regex = "alice|bob|carol"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UserConverter, "user")

# Order matters: the fixed paths come before <str:name>/.
greetings_patterns = (
    [
        path("", TemplateView.as_view(template_name="home.html"), name="index"),
        path("search/", views.search, name="search"),
        path("go-home/", RedirectView.as_view(pattern_name="home"), name="go-home"),
        path("profile/<user:username>/", views.ProfileView.as_view(), name="profile"),
        path("<str:name>/", TemplateView.as_view(template_name="greet.html"), name="greet"),
    ],
    "greetings",
)

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("greetings/", include(greetings_patterns)),
]
