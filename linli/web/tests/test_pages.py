import pytest
from django.urls import reverse

from linli.accounts.models import User
from linli.core.testing import make_person

pytestmark = pytest.mark.django_db


def test_home_needs_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_login_page_speaks_chinese_and_loads_no_external_asset(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200 and "登录" in html
    assert "http://" not in html and "https://" not in html  # offline intranet: only local assets


def test_home_shows_the_area_tree_with_counts(client, area_tree):
    make_person(area_tree["grids"][0])
    user = User.objects.create_user("staff", password="pw-Linli-2026")
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "第1-1社区" in html
    assert 'data-testid="total-people">1<' in html


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
