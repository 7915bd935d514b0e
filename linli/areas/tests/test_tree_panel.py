"""The area-tree panel (issue 4): the user's scope only, one level at a time, with counts, and the
chosen area remembered by every list for the session."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linli.areas.views import _counts
from linli.core.testing import login_as, make_person, make_user
from linli.registry import services

pytestmark = pytest.mark.django_db
NODE = re.compile(r'data-testid="tree-node" data-area="(\d+)"')


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def people(area_tree):
    grids = area_tree["grids"]
    a = make_person(grids[0], name="甲一", birth=dt.date(1970, 1, 1))
    make_person(grids[0], name="甲二", birth=dt.date(1971, 1, 1))
    make_person(grids[1], name="乙一", birth=dt.date(1972, 1, 1))
    make_person(grids[2], name="邻社区", birth=dt.date(1973, 1, 1))  # second community
    make_person(grids[4], name="邻街道", birth=dt.date(1974, 1, 1))  # second sub-district
    services.create_household(number="H-0001", head=a)
    return area_tree


def nodes(html: str) -> list[int]:
    return [int(pk) for pk in NODE.findall(html)]


def test_roots_are_the_users_assignments_and_never_their_siblings(client, people):
    community, other = people["communities"][0], people["communities"][1]
    client.force_login(make_user("staff", "community_staff", community))
    html = client.get(reverse("areas:tree")).content.decode()
    assert nodes(html) == [community.pk]
    assert other.name not in html and people["district"].name not in html


def test_children_are_listed_one_level_at_a_time(client, people):
    community = people["communities"][0]
    client.force_login(make_user("staff", "community_staff", community))
    html = client.get(reverse("areas:tree_node", args=[community.pk])).content.decode()
    assert nodes(html) == [people["grids"][0].pk, people["grids"][1].pk]


def test_nodes_outside_the_scope_answer_404(client, people):
    community = people["communities"][0]
    client.force_login(make_user("staff", "community_staff", community))
    for outside in (
        people["district"],
        people["subdistricts"][0],
        people["communities"][1],
        people["grids"][4],
    ):
        assert client.get(reverse("areas:tree_node", args=[outside.pk])).status_code == 404, outside.name
    assert client.get(reverse("areas:tree_node", args=[999999])).status_code == 404


def test_several_assignments_give_several_roots(client, people):
    from linli.accounts.models import Role, RoleAssignment

    user = make_user("both", "community_staff", people["communities"][0])
    RoleAssignment.objects.create(
        user=user, role=Role.objects.get(key="community_staff"), area=people["grids"][4]
    )
    client.force_login(user)
    html = client.get(reverse("areas:tree")).content.decode()
    assert nodes(html) == [people["communities"][0].pk, people["grids"][4].pk]


def test_a_user_without_the_permission_gets_403_and_no_panel(people):
    client = login_as(make_user("auditor", "auditor", people["district"]))
    assert client.get(reverse("areas:tree")).status_code == 403
    assert 'data-testid="area-tree"' not in client.get(reverse("home")).content.decode()


def test_counts_are_people_and_households_of_the_subtree(people):
    client = login_as(make_user("officer", "subdistrict_officer", people["subdistricts"][0]))
    html = client.get(reverse("areas:tree_node", args=[people["subdistricts"][0].pk])).content.decode()
    counts = dict(re.findall(r'data-area="(\d+)".*?data-testid="tree-counts"[^>]*>(\d+/\d+)<', html, re.S))
    assert counts == {str(people["communities"][0].pk): "3/1", str(people["communities"][1].pk): "1/0"}


def test_counts_are_cached_briefly(people):
    user = make_user("staff", "community_staff", people["communities"][0])
    grid = people["grids"][0]
    assert _counts(user, [grid]) == {grid.pk: (2, 1)}
    make_person(grid, name="甲三", birth=dt.date(1975, 1, 1))
    with CaptureQueriesContext(connection) as queries:
        assert _counts(user, [grid]) == {grid.pk: (2, 1)}  # from the cache: no count query
    assert not [q for q in queries.captured_queries if "COUNT" in q["sql"].upper()]
    cache.clear()
    assert _counts(user, [grid]) == {grid.pk: (3, 1)}


def test_counts_stay_within_the_registry_scope(people):
    # Counts follow registry.view_person: an administrator (areas, no resident data) gets zeros.
    user = make_user("admin", "admin", people["district"])
    assert _counts(user, [people["communities"][0]]) == {people["communities"][0].pk: (0, 0)}


def test_a_node_links_to_the_list_the_panel_sits_on(client, people):
    community = people["communities"][0]
    client.force_login(make_user("staff", "community_staff", community))
    households = reverse("registry:households")
    html = client.get(
        reverse("areas:tree"), HTTP_HX_CURRENT_URL=f"http://testserver{households}?page=2"
    ).content.decode()
    assert f'href="{households}?area={community.pk}"' in html
    html = client.get(reverse("areas:tree"), HTTP_HX_CURRENT_URL="http://testserver/grid/").content.decode()
    assert f'href="{reverse("registry:persons")}?area={community.pk}"' in html  # not a list: people


def test_the_chosen_area_is_remembered_by_every_list(client, people):
    grids = people["grids"]
    client.force_login(make_user("staff", "community_staff", people["communities"][0]))
    persons = reverse("registry:persons")
    html = client.get(persons, {"area": grids[1].pk}).content.decode()
    assert "乙一" in html and "甲一" not in html
    html = client.get(persons).content.decode()  # no filter given: the remembered area applies
    assert "乙一" in html and "甲一" not in html
    households = client.get(reverse("registry:households")).content.decode()
    assert "H-0001" not in households  # H-0001 lives in the first grid
    assert f'value="{grids[1].pk}" selected' in households  # shown as an ordinary filter
    # The panel marks the remembered node.
    tree = client.get(reverse("areas:tree_node", args=[people["communities"][0].pk])).content.decode()
    assert re.search(rf'href="[^"]*\?area={grids[1].pk}" data-testid="tree-link"', tree)
    assert "is-focus" in tree
    # Clearing the filters (or "all areas") forgets it.
    html = client.get(persons, {"area": ""}).content.decode()
    assert "甲一" in html and "乙一" in html
    assert "甲一" in client.get(persons).content.decode()


def test_the_events_list_follows_the_chosen_area(client, people):
    from linli.events import workflow
    from linli.events.models import EventCategory

    category = EventCategory.objects.get(code="1002")
    workflow.report_event(
        category=category, title="一号网格的事", location_area=people["grids"][0], channel="hotline"
    )
    workflow.report_event(
        category=category, title="二号网格的事", location_area=people["grids"][1], channel="hotline"
    )
    client.force_login(make_user("leader", "community_leader", people["communities"][0]))
    client.get(reverse("registry:persons"), {"area": people["grids"][1].pk})
    html = client.get(reverse("events:list")).content.decode()
    assert "二号网格的事" in html and "一号网格的事" not in html
