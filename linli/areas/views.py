"""The area-tree panel (区→街道→社区→网格): the user's scope, one level at a time (htmx).

``GET /areas/tree/`` answers the roots — the nodes of the user's role assignments that grant
``areas.view_area`` — and ``GET /areas/tree/<pk>/`` the children of one node, 404 when the node
lies outside the user's scope. Children of an in-scope node are in scope by construction (a
subtree), and a root's siblings are never listed. Each node carries its active people and
households, counted within the user's registry scope and cached briefly.
"""

import hashlib
from urllib.parse import urlparse

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import Substr
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from linli.core import areafocus, permissions
from linli.core.scope import paths_q
from linli.core.views import policy, require_perm

from .models import Area

PERM = "areas.view_area"
COUNTS_SECONDS = 60
# Lists a node click can filter, in the order the default target is chosen.
LISTS = ["registry:persons", "registry:households", "registry:houses", "registry:buildings", "events:list"]
LIST_PERMS = {
    "registry:persons": "registry.view_person",
    "registry:households": "registry.view_household",
    "registry:houses": "areas.view_house",
    "registry:buildings": "areas.view_building",
    "events:list": "events.view_event",
}


def _per_prefix(queryset, length: int) -> dict[str, int]:
    """Row counts grouped by the first ``length`` characters of ``area_path`` (one query)."""
    rows = (
        queryset.annotate(prefix=Substr("area_path", 1, length))
        .values("prefix")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["prefix"]: row["n"] for row in rows}


def _counts(user, nodes: list[Area]) -> dict[int, tuple[int, int]]:
    """``{area pk: (people, households)}`` over each node's subtree, within the user's registry scope."""
    from linli.registry.choices import HouseholdStatus, PersonStatus
    from linli.registry.models import Household, Person

    if not nodes:
        return {}
    scope = permissions.scope_paths(user, "registry.view_person")
    digest = hashlib.sha256("|".join(scope).encode()).hexdigest()[:16]
    keys = {n.pk: f"linli:areatree:{digest}:{n.path}" for n in nodes}
    found = cache.get_many(keys.values())
    missing = [n for n in nodes if keys[n.pk] not in found]
    if missing and scope:
        people = permissions.restrict(Person.objects.filter(status=PersonStatus.ACTIVE), user)
        households = permissions.restrict(Household.objects.filter(status=HouseholdStatus.ACTIVE), user)
        fresh = {}
        for length in sorted({len(n.path) for n in missing}):
            group = [n for n in missing if len(n.path) == length]
            where = paths_q([n.path for n in group])
            p = _per_prefix(people.filter(where), length)
            h = _per_prefix(households.filter(where), length)
            for n in group:
                fresh[keys[n.pk]] = (p.get(n.path, 0), h.get(n.path, 0))
        cache.set_many(fresh, COUNTS_SECONDS)
        found.update(fresh)
    return {n.pk: tuple(found.get(keys[n.pk], (0, 0))) for n in nodes}


def _target_list(request) -> str:
    """The list a node click filters: the page the panel sits on, else the first list the user may see."""
    current = urlparse(request.headers.get("HX-Current-URL", "")).path
    allowed = [name for name in LISTS if permissions.has_any(request.user, LIST_PERMS[name])]
    for name in allowed:
        if current == reverse(name):
            return current
    return reverse(allowed[0]) if allowed else reverse("home")


def _render(request, nodes: list[Area], *, roots: bool = False):
    counts = _counts(request.user, nodes)
    for node in nodes:
        node.people, node.households = counts.get(node.pk, (0, 0))
    return render(
        request,
        "areas/_tree_nodes.html",
        {
            "nodes": nodes,
            "target": _target_list(request),
            "focus": areafocus.current(request),
            "roots": roots,
        },
    )


@policy(PERM)
@login_required
@require_GET
def tree_roots(request):
    require_perm(request.user, PERM)
    paths = permissions.scope_paths(request.user, PERM)
    return _render(request, list(Area.objects.filter(path__in=paths).order_by("path")), roots=True)


@policy(PERM)
@login_required
@require_GET
def tree_node(request, pk: int):
    require_perm(request.user, PERM)
    paths = permissions.scope_paths(request.user, PERM)
    node = get_object_or_404(Area, pk=pk)
    if not any(node.path.startswith(path) for path in paths):
        raise Http404  # out of scope looks exactly like a node that does not exist
    return _render(request, list(Area.objects.get_children(node).order_by("path")))
