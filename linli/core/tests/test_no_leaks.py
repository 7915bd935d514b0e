"""Known full ID and phone numbers never leak (issue 3): not in any page or API response of a user
who did not reveal them, not in logs, not in any raw database row."""

import datetime as dt
import logging

import pytest
from django.db import connection

from linli.core.routes import all_routes
from linli.core.testing import build_url, login_as, make_person, make_user, object_factories
from linli.registry import services
from linli.registry.models import GroupMembership, GroupType

pytestmark = pytest.mark.django_db
ID_NUMBER = "42010519880315003X"
PHONE = "13907150811"
SECRETS = (ID_NUMBER, PHONE, ID_NUMBER[-8:], PHONE[-8:])


@pytest.fixture
def seeded(area_tree):
    grid = area_tree["grids"][0]
    person = make_person(grid, name="秘密", id_number=ID_NUMBER, birth=dt.date(1988, 3, 15), phone=PHONE,
                         house=area_tree["houses"][0])  # fmt: skip
    household = services.create_household(number="420105000555", head=person, house=area_tree["houses"][0])
    GroupMembership(person=person, area=grid, group_type=GroupType.objects.get(key="veteran")).save()
    person.occupation = "教师"
    person.save()
    return {"person": person, "household": household, "grid": grid}


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_pages_and_api_never_show_full_numbers(seeded, area_tree, caplog):
    caplog.set_level(logging.DEBUG)
    leader = make_user("leader", "community_leader", area_tree["communities"][0])
    client = login_as(leader)
    objects = {"registry.person": seeded["person"], "registry.household": seeded["household"]}
    factories = object_factories()
    checked = 0
    for route in all_routes():
        if route.policy in (None, "public") or "reveal" in route.pattern or "logout" in route.pattern:
            continue
        model_label = (
            ".".join([route.policy.split(".")[0], route.policy.split("_", 1)[-1]])
            if "_" in route.policy
            else ""
        )
        if route.kwargs:
            target = objects.get(model_label) or (
                factories[model_label](seeded["grid"]) if model_label in factories else None
            )
            if target is None:
                continue
            url = build_url(route, {"pk": target, "other_pk": target, "fmt": "csv", "kind": "persons"})
        else:
            url = build_url(route, {"fmt": "csv", "kind": "persons"})
        response = client.get(url)
        if response.status_code >= 400 or response.get("Content-Type", "").startswith("image"):
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert leaks(body.decode("utf-8", "replace")) == [], url
        checked += 1
    assert checked >= 20
    assert leaks(caplog.text) == []


def test_search_by_the_number_finds_without_echoing_it(seeded, area_tree):
    client = login_as(make_user("gw", "grid_worker", seeded["grid"]))
    html = client.get("/registry/persons/", {"q": ID_NUMBER}).content.decode()
    assert "秘密" in html
    # The user's own query is echoed back (search box, export links); nothing else carries the number.
    for echo in (f'value="{ID_NUMBER}"', f"q={ID_NUMBER}"):
        html = html.replace(echo, "")
    assert ID_NUMBER not in html


def test_no_raw_row_in_any_table_holds_a_full_number(seeded):
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names come from introspection
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        text = bytes(value).decode("latin-1")
                    else:
                        text = str(value)
                    if ID_NUMBER in text or PHONE in text:
                        found.append(table)
    assert found == []
