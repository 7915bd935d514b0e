import pytest
from django.contrib.auth import authenticate
from django.urls import reverse

from linli.accounts.models import Role, RoleAssignment
from linli.audit import events
from linli.audit.models import AuditEvent
from linli.core import context

from .conftest import make_user

pytestmark = pytest.mark.django_db


def only(event):
    rows = list(AuditEvent.objects.filter(event=event))
    assert len(rows) == 1, rows
    return rows[0]


def test_login_through_the_login_page_is_recorded_with_ip_and_request_id(client, area_tree):
    user = make_user("zhangsan", "community_staff", area_tree["communities"][0])
    response = client.post(reverse("login"), {"username": "zhangsan", "password": "Pw-for-tests-1"})
    assert response.status_code == 302
    event = only(events.LOGIN_OK)
    assert event.user == user and event.username == "zhangsan"
    assert event.ip == "127.0.0.1"
    assert str(event.request_id) == response.headers["X-Request-ID"]
    assert event.roles == ["community_staff"]
    assert event.area_path == area_tree["communities"][0].path


def test_failed_login_records_the_attempted_username(client, rf):
    make_user("lisi")
    client.post(reverse("login"), {"username": "lisi", "password": "wrong-password"})
    event = only(events.LOGIN_FAILED)
    assert event.outcome == "failed" and event.user is None
    assert event.username == "lisi" and event.detail == {"username": "lisi"}
    assert "wrong-password" not in str(event.detail)

    assert authenticate(rf.post("/"), username="nobody", password="x") is None
    assert AuditEvent.objects.filter(event=events.LOGIN_FAILED, username="nobody").exists()


def test_a_phone_number_typed_as_username_is_masked(rf):
    authenticate(rf.post("/"), username="13812345678", password="x")
    event = only(events.LOGIN_FAILED)
    assert event.username == "138****5678" and event.detail == {"username": "138****5678"}


def test_logout_is_recorded(client):
    user = make_user("wangwu")
    client.force_login(user)
    client.post(reverse("logout"))
    event = only(events.LOGOUT)
    assert event.user == user


def test_role_assignment_granted_revoked_and_deleted(area_tree):
    admin = make_user("admin1")
    target = make_user("target")
    with context.acting(admin, channel=context.Channel.WEB):
        assignment = RoleAssignment.objects.create(
            user=target, role=Role.objects.get(key="grid_worker"), area=area_tree["grids"][0]
        )
        assignment.active = False
        assignment.save()
        assignment.active = True
        assignment.save()
        assignment.delete()
    rows = list(AuditEvent.objects.filter(event__startswith="perm.role").order_by("id"))
    assert [r.event for r in rows] == [
        events.ROLE_GRANTED,
        events.ROLE_REVOKED,
        events.ROLE_GRANTED,
        events.ROLE_REVOKED,
    ]
    assert all(r.user == admin for r in rows)
    assert rows[0].detail["assignee"] == "target" and rows[0].detail["role"] == "grid_worker"
    assert rows[0].area_path == area_tree["grids"][0].path
    assert rows[-1].detail["deleted"] is True


def test_disabling_and_enabling_a_user(area_tree):
    target = make_user("target", "grid_worker", area_tree["grids"][0])
    target.is_active = False
    target.save()
    target.save()  # no change, no record
    target.is_active = True
    target.save(update_fields=["is_active"])
    assert [e.event for e in AuditEvent.objects.filter(event__startswith="perm.user").order_by("id")] == [
        events.USER_DISABLED,
        events.USER_ENABLED,
    ]
    assert only(events.USER_DISABLED).area_path == area_tree["grids"][0].path


def test_lockout_is_recorded_when_the_throttle_locks_an_account(client):
    from django.conf import settings

    make_user("zhaoliu")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "zhaoliu", "password": "wrong"})
    event = only(events.LOCKOUT)
    assert event.username == "zhaoliu" and event.outcome == "denied" and event.ip == "127.0.0.1"
