"""The generated permission matrix (issue 3): every route has a policy, and every scoped route is
checked for anonymous → login/401, no permission → 403, out-of-scope object → 404, in scope → allowed.

Objects are made per model by the factories below; a new scoped model needs one line here, and a
new route needs nothing: it is found, classified and tested automatically.
"""

import fnmatch
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client

from linli.core.routes import all_routes
from linli.core.testing import build_url, login_as, make_user, object_factories

ROLES = json.loads(
    (Path(__file__).resolve().parents[2] / "accounts" / "data" / "roles.json").read_text("utf-8")
)
ROUTES = all_routes()
PERMISSION = re.compile(r"^\w+\.\w+_\w+$")


def test_every_route_declares_a_policy():
    missing = [r.pattern for r in ROUTES if not r.policy]
    assert missing == [], f"routes without a policy: {missing}"
    for route in ROUTES:
        assert route.policy in {"public", "login"} or PERMISSION.match(route.policy), route


def test_every_api_operation_has_a_permission():
    for route in ROUTES:
        if route.is_api and route.operations:
            for method, perm in route.operations.items():
                assert PERMISSION.match(perm), (route.pattern, method, perm)


def test_public_routes_are_few_and_known():
    public = sorted(r.pattern for r in ROUTES if r.policy == "public")
    assert public == ["accounts/login/", "api/open311/v2/requests.json",
                      "api/open311/v2/requests/<str:service_request_id>.json", "api/open311/v2/services.json",
                      "healthz", "i18n/setlang/", "portal/", "portal/done/", "portal/rate/", "portal/track/", "readyz"]  # fmt: skip


# -- the matrix -----------------------------------------------------------------------------------
def role_for(*perms: str) -> str:
    """The narrowest demo role that grants all ``perms`` (community level preferred)."""
    order = {"grid": 0, "community": 1, "subdistrict": 2, "district": 3}
    candidates = [r for r in ROLES
                  if all(any(fnmatch.fnmatchcase(perm, p) for p in r["permissions"]) for perm in perms)]  # fmt: skip
    assert candidates, f"no role grants {perms}"
    return min(candidates, key=lambda r: (r["key"] == "admin", abs(order[r["level"]] - 1)))["key"]


# Route kwargs that are not objects, with a value that exists.
PLAIN_KWARGS = {"fmt": "csv", "kind": "persons"}


def scoped_routes():
    for route in ROUTES:
        if PERMISSION.match(route.policy or ""):
            yield pytest.param(route, route.model_label, id=route.pattern)


def request(client: Client, url: str, route):
    """GET the route; a POST-only route is exercised with an empty POST instead."""
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url, {}, content_type="application/json" if route.is_api else None) if route.is_api \
            else client.post(url, {})  # fmt: skip
    return response


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "model_label"), list(scoped_routes()))
def test_permission_matrix(route, model_label, area_tree):
    make = object_factories()
    inside_grid, outside_grid = area_tree["grids"][0], area_tree["grids"][4]
    # The holder may do what the route does: its policy and, on the API, each operation's permission.
    holder_user = make_user("holder", role_for(route.policy, *(route.operations or {}).values()),
                            area_tree["communities"][0])  # fmt: skip
    inside, outside = dict(PLAIN_KWARGS), dict(PLAIN_KWARGS)
    if {"pk", "other_pk"} & set(route.kwargs):
        # Routes with objects need a factory; routes without (lists, reports) need none. Objects
        # scoped by owner belong to the holder inside, to someone else outside.
        assert model_label in make, f"add a factory for {model_label} to test {route.pattern}"
        for key in ("pk", "other_pk"):
            inside[key] = make[model_label](inside_grid, holder_user)
            outside[key] = make[model_label](outside_grid)
        assert isinstance(inside["pk"], apps.get_model(model_label))

    # Anonymous: pages send to the login page, the API answers 401.
    anonymous = request(Client(), build_url(route, inside), route)
    if route.is_api:
        assert anonymous.status_code == 401, route.pattern
    else:
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], route.pattern

    # Logged in, holding other roles but not this permission anywhere: 403.
    other_role = next(r["key"] for r in ROLES if r["key"] in ("auditor", "building_head")
                      and not any(fnmatch.fnmatchcase(route.policy, p) for p in r["permissions"]))  # fmt: skip
    bystander = login_as(make_user("bystander", other_role, area_tree["communities"][0]))
    assert request(bystander, build_url(route, inside), route).status_code == 403, route.pattern

    # With the permission over the first community.
    holder = login_as(holder_user)
    allowed = request(holder, build_url(route, inside), route)
    assert allowed.status_code not in (401, 403, 404), (route.pattern, allowed.status_code)
    if {"pk", "other_pk"} & set(route.kwargs):
        refused = request(holder, build_url(route, outside), route)
        assert refused.status_code == 404, (route.pattern, refused.status_code)
