from django.urls import include, path

from linli.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("accounts/", include("linli.accounts.urls")),
    path("registry/", include("linli.registry.urls")),
    path("api/", include("linli.api_urls")),
    path("audit/", include("linli.audit.urls")),
    path("io/", include("linli.dataio.urls")),
    path("grid/", include("linli.grid.urls")),
    path("manage/users/", include("linli.accounts.manage_urls")),
    path("", include("linli.events.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("areas/", include("linli.areas.urls")),
    path("", include("linli.ops.urls")),
]

# A database outage answers 503 with Retry-After (JSON under /api/), other errors a plain 500 page.
handler500 = "linli.core.views.server_error"
