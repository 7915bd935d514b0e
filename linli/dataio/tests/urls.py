"""URLs for the app's tests: the project's routes plus this app's, as linli/urls.py will have them."""

from django.urls import URLResolver, include, path

from linli.urls import urlpatterns as project_urlpatterns

_included = any(isinstance(p, URLResolver) and p.namespace == "dataio" for p in project_urlpatterns)
urlpatterns = (
    project_urlpatterns if _included else [*project_urlpatterns, path("io/", include("linli.dataio.urls"))]
)
