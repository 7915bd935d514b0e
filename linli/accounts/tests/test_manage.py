"""User administration pages: scope, role grants, disabling, password resets, tokens."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import include, path

from linli.accounts.manage_views import users_in_scope
from linli.accounts.models import PASSWORD_MUST_CHANGE as MUST_CHANGE
from linli.accounts.models import ApiToken, Role, RoleAssignment, User
from linli.audit.models import AuditEvent
from linli.core.testing import login_as, make_user
from linli.urls import urlpatterns as project_urlpatterns

# Until the project's urls.py includes the pages, this module is its own URLconf.
urlpatterns = [path("manage/users/", include("linli.accounts.manage_urls")), *project_urlpatterns]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

PASSWORD = "Linli@test2026"
NEW_PASSWORD = "Qiao#Tou2026x"
BASE = "/manage/users/"


def login(client, username, password=PASSWORD) -> bool:
    """Log in through the login page (django-axes needs a request); True when it succeeded."""
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.fixture
def admin(area_tree):
    """An administrator over the first community."""
    return make_user("admin1", "admin", area_tree["communities"][0])


@pytest.fixture
def admin_client(admin):
    return login_as(admin)


def test_non_admin_gets_403(area_tree):
    worker = make_user("worker", "community_leader", area_tree["communities"][0])
    client = login_as(worker)
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}new/").status_code == 403
    assert client.get(f"{BASE}{worker.pk}/").status_code == 403


def test_anonymous_is_sent_to_login():
    response = Client().get(BASE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admin_creates_a_user_who_must_change_password(admin_client, area_tree):
    grid = area_tree["grids"][0]
    response = admin_client.post(
        f"{BASE}new/",
        {
            "username": "newbie",
            "full_name": "新 同事",
            "phone": "13700001111",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "grant-role": Role.objects.get(key="grid_worker").pk,
            "grant-area": grid.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newbie")
    assert user.password_changed_at == MUST_CHANGE
    assert RoleAssignment.objects.filter(user=user, area=grid, role__key="grid_worker", active=True).exists()
    assert admin_client.get(response["Location"]).status_code == 200
    newbie = Client()
    assert login(newbie, "newbie", NEW_PASSWORD)
    first = newbie.get("/")
    assert first.status_code == 302 and first["Location"].endswith("/accounts/password/")


def test_create_refuses_weak_password_and_foreign_area(admin_client, area_tree):
    data = {
        "username": "weak",
        "full_name": "弱 密码",
        "password1": "12345678",
        "password2": "12345678",
        "grant-role": Role.objects.get(key="grid_worker").pk,
        "grant-area": area_tree["grids"][0].pk,
    }
    response = admin_client.post(f"{BASE}new/", data)
    assert response.status_code == 200 and "error-password1" in response.content.decode()
    data.update(password1=NEW_PASSWORD, password2=NEW_PASSWORD, **{"grant-area": area_tree["grids"][4].pk})
    response = admin_client.post(f"{BASE}new/", data)
    assert response.status_code == 200 and "error-area" in response.content.decode()
    assert not User.objects.filter(username="weak").exists()


def test_scope_of_users(admin, admin_client, area_tree):
    inside = make_user("inside", "grid_worker", area_tree["grids"][1])
    outside = make_user("outside", "grid_worker", area_tree["grids"][4])
    straddling = make_user("straddling", "grid_worker", area_tree["grids"][0])
    RoleAssignment.objects.create(
        user=straddling, role=Role.objects.get(key="grid_worker"), area=area_tree["grids"][5]
    )
    loose = make_user("loose")
    assert admin_client.get(f"{BASE}{inside.pk}/").status_code == 200
    for user in (outside, straddling, loose):
        assert admin_client.get(f"{BASE}{user.pk}/").status_code == 404, user
        assert admin_client.post(f"{BASE}{user.pk}/active/", {"active": "0"}).status_code == 404
    listing = admin_client.get(BASE).content.decode()
    assert "inside" in listing and "outside" not in listing and "loose" not in listing
    # A district administrator sees users without assignments too.
    district_admin = make_user("dadmin", "admin", area_tree["district"])
    assert set(users_in_scope(district_admin).values_list("username", flat=True)) >= {"loose", "outside"}


def test_list_search_and_filters(admin_client, area_tree):
    make_user("alpha", "grid_worker", area_tree["grids"][0], full_name="甲")
    make_user("beta", "building_head", area_tree["grids"][1], full_name="乙", is_active=False)
    page = admin_client.get(BASE, {"q": "alp"}).content.decode()
    assert "alpha" in page and "beta" not in page
    page = admin_client.get(BASE, {"role": Role.objects.get(key="building_head").pk}).content.decode()
    assert "beta" in page and "alpha" not in page
    page = admin_client.get(BASE, {"area": area_tree["grids"][0].pk}).content.decode()
    assert "alpha" in page and "beta" not in page
    page = admin_client.get(BASE, {"active": "0"}).content.decode()
    assert "beta" in page and "alpha" not in page


def test_grant_in_scope_and_refuse_outside(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    leader = Role.objects.get(key="community_leader")
    url = f"{BASE}{target.pk}/roles/grant/"
    admin_client.post(url, {"role": leader.pk, "area": area_tree["communities"][0].pk})
    assert RoleAssignment.objects.filter(user=target, role=leader, area=area_tree["communities"][0]).exists()
    for area in (area_tree["communities"][1], area_tree["subdistricts"][0], area_tree["district"]):
        admin_client.post(url, {"role": leader.pk, "area": area.pk})
        assert not RoleAssignment.objects.filter(user=target, area=area).exists(), area
    assert AuditEvent.objects.filter(event="perm.role_granted").count() >= 1


def test_nobody_grants_or_revokes_their_own_roles(admin, admin_client, area_tree):
    staff = Role.objects.get(key="community_staff")
    community = area_tree["communities"][0]
    response = admin_client.post(f"{BASE}{admin.pk}/roles/grant/", {"role": staff.pk, "area": community.pk},
                                 follow=True)  # fmt: skip
    assert "不能给自己授予或撤销角色" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=admin, role=staff).exists()
    own = admin.assignments.get()
    admin_client.post(f"{BASE}{admin.pk}/roles/revoke/", {"assignment": own.pk})
    own.refresh_from_db()
    assert own.active


def test_revoke(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    assignment = target.assignments.get()
    response = admin_client.post(f"{BASE}{target.pk}/roles/revoke/", {"assignment": assignment.pk})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert not assignment.active


def test_disable_ends_a_live_session_and_revokes_tokens(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    _token, key = ApiToken.issue(target, "client")
    session = Client()
    assert login(session, "target", PASSWORD)
    assert session.get("/").status_code == 200
    assert admin_client.post(f"{BASE}{target.pk}/active/", {"active": "0"}).status_code == 302
    target.refresh_from_db()
    assert not target.is_active
    assert not any(str(s.get_decoded().get("_auth_user_id")) == str(target.pk) for s in Session.objects.all())
    after = session.get("/")
    assert after.status_code == 302 and "/accounts/login/" in after["Location"]
    assert not ApiToken.objects.filter(user=target, revoked=False).exists()
    assert Client().get("/api/v1/persons/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code in (401, 403)
    # Enabling again lets them log in.
    admin_client.post(f"{BASE}{target.pk}/active/", {"active": "1"})
    assert login(Client(), "target")


def test_admin_cannot_disable_themselves(admin, admin_client):
    admin_client.post(f"{BASE}{admin.pk}/active/", {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active


def test_reset_password_forces_a_change(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    url = f"{BASE}{target.pk}/password/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"password1": "short", "password2": "short"})
    assert response.status_code == 200
    assert admin_client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 302
    client = Client()
    assert not login(client, "target", PASSWORD)
    assert login(client, "target", NEW_PASSWORD)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].endswith("/accounts/password/")


def test_edit_user(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    response = admin_client.post(
        f"{BASE}{target.pk}/edit/", {"full_name": "改名", "phone": "13900002222", "email": ""}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.full_name == "改名"


def test_issue_token_shows_key_once_then_revoke(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    admin_client.post(f"{BASE}{target.pk}/tokens/issue/", {"name": "采集终端"})
    token = ApiToken.objects.get(user=target)
    page = admin_client.get(f"{BASE}{target.pk}/").content.decode()
    assert 'data-testid="new-token"' in page
    key = page.split('data-testid="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert ApiToken.hash_key(key) == token.key_hash
    assert 'data-testid="new-token"' not in admin_client.get(f"{BASE}{target.pk}/").content.decode()
    admin_client.post(f"{BASE}{target.pk}/tokens/revoke/", {"token": token.pk})
    token.refresh_from_db()
    assert token.revoked


def test_a_token_expiring_in_the_past_is_refused_with_the_field_named(admin_client, area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    response = admin_client.post(
        f"{BASE}{target.pk}/tokens/issue/",
        {"name": "采集终端", "expires_at": "2020-01-01T08:00"},
        follow=True,
    )
    page = response.content.decode()
    assert "过期时间: 过期时间必须晚于现在" in page and "the expiry time must be in the future" in page
    assert not ApiToken.objects.filter(user=target).exists()
    admin_client.post(
        f"{BASE}{target.pk}/tokens/issue/", {"name": "采集终端", "expires_at": "2099-01-01T08:00"}
    )
    assert ApiToken.objects.get(user=target).expires_at.year == 2099


def test_only_district_admins_create_users_without_a_role(admin_client, area_tree):
    data = {
        "username": "norole",
        "full_name": "无 角色",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    assert admin_client.post(f"{BASE}new/", data).status_code == 200
    assert not User.objects.filter(username="norole").exists()
    district_admin = login_as(make_user("dadmin", "admin", area_tree["district"]))
    assert district_admin.post(f"{BASE}new/", data).status_code == 302
    assert User.objects.get(username="norole").assignments.count() == 0
