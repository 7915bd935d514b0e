from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("readyz", views.readyz, name="readyz"),
    path("ops/", views.status_page, name="status"),
    path("api/v1/ops/status/", views.StatusView.as_view(), name="api-status"),
]
