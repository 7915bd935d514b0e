"""URLs for the events tests: the project's routes plus this app's, as linli/urls.py and
linli/api_urls.py will have them."""

from django.urls import URLResolver, include, path
from rest_framework.routers import DefaultRouter

from linli.events import api as events_api
from linli.urls import urlpatterns as project_urlpatterns

router = DefaultRouter()
router.include_format_suffixes = False
router.register("events", events_api.EventViewSet, basename="event")

_included = any(isinstance(p, URLResolver) and p.namespace == "events" for p in project_urlpatterns)
urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/open311/v2/", include(events_api.open311_urlpatterns)),
    *project_urlpatterns,
]
if not _included:
    urlpatterns.append(path("", include("linli.events.urls")))
