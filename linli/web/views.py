from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from linli.areas.choices import AreaLevel
from linli.areas.models import Area
from linli.core import permissions
from linli.core.scope import paths_q
from linli.core.views import policy
from linli.registry.models import Household


@policy("public")
def healthz(request):
    """Liveness: the process answers and the database takes a query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@policy("login")
@login_required
def home(request):
    """Overview of the user's areas down to communities, with resident and household counts.

    The counts come from the precomputed community statistics (:mod:`linli.dataio.stats`,
    stamped "数据截至"); a user scoped below a community (a grid) is counted live.
    """
    from linli.dataio import stats
    from linli.dataio.survey import PERM as SURVEY_PERM

    user = request.user
    paths = permissions.scope_paths(user, "registry.view_person")
    household_paths = permissions.scope_paths(user, permissions.perm_name(Household, "view"))
    levels = [AreaLevel.DISTRICT, AreaLevel.SUBDISTRICT, AreaLevel.COMMUNITY]
    areas = Area.objects.filter(level__in=levels).filter(paths_q(paths, field="path")).order_by("path")
    data, snapshot = stats.read(paths, keys=("people", "floating", "households"))
    if household_paths != paths:
        data["households"] = stats.read(household_paths, keys=("households",))[0]["households"]
    top_depth = min((a.depth for a in areas), default=1)
    people = data["people"]
    rows = [
        {
            "area": area,
            "indent": area.depth - top_depth,
            "people": sum(n for path, n in people.items() if path.startswith(area.path)),
        }
        for area in areas
    ]
    totals = {
        "people": sum(people.values()),
        "households": sum(data["households"].values()),
        "floating": sum(data["floating"].values()),
        "communities": sum(1 for a in areas if a.level == AreaLevel.COMMUNITY),
    }
    context = {
        "rows": rows,
        "totals": totals,
        "snapshot": snapshot,
        "can_refresh": snapshot is not None and permissions.has_any(user, SURVEY_PERM),
    }
    return render(request, "web/home.html", context)
