"""The area filter of the lists offers the user's scope one level at a time."""

import re

import pytest
from django.urls import reverse

from linli.core.testing import login_as, make_person, make_user

pytestmark = pytest.mark.django_db


def area_options(html: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the area select's options."""
    select = re.search(r'<select name="area".*?</select>', html, re.S).group(0)
    return [
        (value, label.strip("\u3000"), "selected" in attrs)
        for value, attrs, label in re.findall(r'<option value="(\d*)"([^>]*)>([^<]*)</option>', select)
    ]


@pytest.fixture
def officer(area_tree):
    sub = area_tree["subdistricts"][0]
    return login_as(make_user("officer", "subdistrict_officer", sub))


@pytest.mark.parametrize("url", ["registry:persons", "registry:households", "events:list"])
def test_unfiltered_the_select_offers_the_scope_and_its_children(officer, area_tree, url):
    options = area_options(officer.get(reverse(url), {"area": ""}).content.decode())
    sub, (c1, c2) = area_tree["subdistricts"][0], area_tree["communities"][:2]
    assert [(v, label) for v, label, _ in options] == [
        ("", "---------"), (str(sub.pk), sub.name), (str(c1.pk), c1.name), (str(c2.pk), c2.name),
    ]  # fmt: skip


def test_a_chosen_grid_shows_its_path_and_siblings_selected_and_filters(officer, area_tree):
    grid, sibling = area_tree["grids"][2], area_tree["grids"][3]  # the second community's grids
    inside, outside = make_person(grid, name="网格内"), make_person(area_tree["grids"][0], name="网格外")
    html = officer.get(reverse("registry:persons"), {"area": grid.pk}).content.decode()
    sub, (c1, c2) = area_tree["subdistricts"][0], area_tree["communities"][:2]
    assert [(v, label, sel) for v, label, sel in area_options(html)] == [
        ("", "---------", False), (str(sub.pk), sub.name, False), (str(c1.pk), c1.name, False),
        (str(c2.pk), c2.name, False), (str(grid.pk), grid.name, True), (str(sibling.pk), sibling.name, False),
    ]  # fmt: skip
    # Children are indented one ideographic space per level below the top.
    assert f"\u3000\u3000{grid.name}</option>" in html
    assert inside.name in html and outside.name not in html


def test_an_area_outside_the_scope_is_refused_and_never_offered(officer, area_tree):
    foreign = area_tree["grids"][4]  # the other sub-district
    make_person(foreign, name="外街道")
    html = officer.get(reverse("registry:persons"), {"area": foreign.pk}).content.decode()
    assert str(foreign.pk) not in [v for v, _, _ in area_options(html)]
    assert "外街道" not in html and "invalid-feedback" in html


def test_a_grid_worker_sees_only_their_grid(area_tree):
    grid = area_tree["grids"][0]
    client = login_as(make_user("gw", "grid_worker", grid))
    options = area_options(client.get(reverse("registry:persons"), {"area": ""}).content.decode())
    assert [v for v, _, _ in options] == ["", str(grid.pk)]
