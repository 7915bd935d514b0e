"""The REST API (``/api/v1/``), its OpenAPI 3 schema and an offline documentation page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from linli.core.views import policy
from linli.events import api as events_api
from linli.grid import api as grid_api
from linli.registry import api as registry_api

router = DefaultRouter()
router.include_format_suffixes = False
router.register("areas", registry_api.AreaViewSet, basename="area")
router.register("persons", registry_api.PersonViewSet, basename="person")
router.register("households", registry_api.HouseholdViewSet, basename="household")
router.register("houses", registry_api.HouseViewSet, basename="house")
router.register("buildings", registry_api.BuildingViewSet, basename="building")
router.register("group-memberships", registry_api.GroupMembershipViewSet, basename="groupmembership")
router.register("events", events_api.EventViewSet, basename="event")
router.register("grid-assignments", grid_api.GridAssignmentViewSet, basename="gridassignment")
router.register("visits", grid_api.VisitViewSet, basename="visit")
router.register("diary-entries", grid_api.DiaryEntryViewSet, basename="diaryentry")
router.register("patrols", grid_api.PatrolViewSet, basename="patrol")
router.register("duty-shifts", grid_api.DutyShiftViewSet, basename="dutyshift")


class SchemaView(SpectacularAPIView):
    linli_policy = "login"


@policy("login")
@login_required
def docs(request):
    """Swagger UI served from node_modules (swagger-ui-dist), so the docs work offline."""
    return render(request, "web/api_docs.html")


urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", docs, name="api-docs"),
    path("v1/", include(router.urls)),
    path("open311/v2/", include(events_api.open311_urlpatterns)),
]
