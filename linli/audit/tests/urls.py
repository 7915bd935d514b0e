"""The project's URLs plus the audit pages, for tests that run before linli/urls.py includes them."""

from django.urls import include, path

from linli.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(p, "namespace", None) == "audit" for p in urlpatterns):
    urlpatterns.append(path("audit/", include("linli.audit.urls")))
