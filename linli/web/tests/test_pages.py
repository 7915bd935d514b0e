import pytest
from django.urls import reverse

from linli.accounts.models import User
from linli.core.testing import make_person, make_user

pytestmark = pytest.mark.django_db


def test_home_needs_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_login_page_speaks_chinese_and_loads_no_external_asset(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200 and "登录" in html
    assert "http://" not in html and "https://" not in html  # offline intranet: only local assets


def test_home_shows_only_the_users_areas_with_counts(client, area_tree):
    first, second = area_tree["communities"][:2]
    make_person(area_tree["grids"][0])
    make_person(area_tree["grids"][1], name="李四", population_type="2")
    make_person(
        area_tree["grids"][2], name="邻社区居民", population_type="2"
    )  # a grid of the second community
    client.force_login(make_user("staff", "community_staff", first))
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert first.name in html and second.name not in html
    assert 'data-testid="total-people">2<' in html
    assert response.context["totals"]["floating"] == 1  # in scope only


def test_home_shows_nothing_to_a_user_without_roles(client, area_tree):
    make_person(area_tree["grids"][0])
    client.force_login(User.objects.create_user("nobody", password="pw-Linli-2026"))
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="total-people">0<' in html and area_tree["district"].name not in html


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
