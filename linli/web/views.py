from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render

from linli.areas.choices import AreaLevel
from linli.areas.models import Area
from linli.registry.choices import HouseholdStatus, PersonStatus
from linli.registry.models import Household, Person


def healthz(request):
    """Liveness: the process answers and the database takes a query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    """Overview of the area tree down to communities with resident and household counts."""
    communities = Area.objects.filter(
        level__in=[AreaLevel.DISTRICT, AreaLevel.SUBDISTRICT, AreaLevel.COMMUNITY]
    )
    rows = []
    for area in communities.order_by("path"):
        rows.append({"area": area, "indent": area.depth - 1})
    people = Person.objects.filter(status=PersonStatus.ACTIVE)
    totals = {
        "people": people.count(),
        "households": Household.objects.filter(status=HouseholdStatus.ACTIVE).count(),
        "floating": people.filter(population_type="2").count(),
        "communities": communities.filter(level=AreaLevel.COMMUNITY).count(),
    }
    by_community = {
        c["area_path"][:12]: c["n"]
        for c in people.values("area_path").annotate(n=Count("id")).filter(~Q(area_path=""))
    }
    for row in rows:
        row["people"] = sum(n for p, n in by_community.items() if p.startswith(row["area"].path))
    return render(request, "web/home.html", {"rows": rows, "totals": totals})
