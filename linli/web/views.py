from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render

from linli.areas.choices import AreaLevel
from linli.areas.models import Area
from linli.core import permissions
from linli.core.scope import paths_q
from linli.core.views import policy
from linli.registry.choices import HouseholdStatus, PersonStatus
from linli.registry.models import Household, Person


@policy("public")
def healthz(request):
    """Liveness: the process answers and the database takes a query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@policy("login")
@login_required
def home(request):
    """Overview of the user's areas down to communities, with resident and household counts."""
    user = request.user
    paths = permissions.scope_paths(user, "registry.view_person")
    levels = [AreaLevel.DISTRICT, AreaLevel.SUBDISTRICT, AreaLevel.COMMUNITY]
    areas = Area.objects.filter(level__in=levels).filter(paths_q(paths, field="path")).order_by("path")
    people = permissions.restrict(Person.objects.filter(status=PersonStatus.ACTIVE), user)
    households = permissions.restrict(Household.objects.filter(status=HouseholdStatus.ACTIVE), user)
    # One pass over the residents in scope gives both counts per grid (each pass is a scan of the scope).
    per_grid = list(
        people.values_list("area_path")
        .annotate(n=Count("id"), floating=Count("id", filter=Q(population_type="2")))
        .order_by()
    )
    top_depth = min((a.depth for a in areas), default=1)
    rows = [
        {
            "area": area,
            "indent": area.depth - top_depth,
            "people": sum(n for grid_path, n, _ in per_grid if grid_path.startswith(area.path)),
        }
        for area in areas
    ]
    totals = {
        "people": sum(n for _, n, _ in per_grid),
        "households": households.count(),
        "floating": sum(f for _, _, f in per_grid),
        "communities": sum(1 for a in areas if a.level == AreaLevel.COMMUNITY),
    }
    return render(request, "web/home.html", {"rows": rows, "totals": totals})
