import uuid

import pytest

from linli.audit import events, record
from linli.audit.models import AppendOnlyError, AuditEvent
from linli.core import context
from linli.core.testing import make_person

from .conftest import make_user

pytestmark = pytest.mark.django_db


def test_record_takes_user_ip_request_id_and_channel_from_the_context(area_tree, worker):
    person = make_person(area_tree["grids"][0])
    with context.acting(worker, channel=context.Channel.WEB, ip="10.1.2.3") as ctx:
        event = record(events.REVEAL, obj=person, purpose="入户核实身份", detail={"field": "id_number"})
    event.refresh_from_db()
    assert event.user == worker and event.username == "worker1"
    assert event.ip == "10.1.2.3"
    assert event.request_id == ctx.request_id
    assert event.channel == "web"
    assert event.roles == ["grid_worker"]
    assert event.area_path == person.area_path
    assert event.content_type.model == "person" and event.object_id == str(person.pk)
    assert event.purpose == "入户核实身份" and event.outcome == "ok"
    assert event.seal_seq is None  # sealed later, by the sealer


def test_area_path_falls_back_to_the_users_scope(area_tree):
    grids = area_tree["grids"]
    user = make_user("two_grids", "grid_worker", grids[0])
    from linli.accounts.models import Role, RoleAssignment

    RoleAssignment.objects.create(user=user, role=Role.objects.get(key="grid_worker"), area=grids[1])
    event = record(events.EXPORT, user=user, detail={"what": "registry.person", "rows": 3})
    assert event.area_path == area_tree["communities"][0].path  # the common ancestor of both grids
    assert record(events.CONFIG_CHANGED, user=user, area_path="").area_path == ""


def test_explicit_user_wins_and_anonymous_context_records_no_user(area_tree, worker):
    assert record(events.TOKEN_ISSUED).user is None
    with context.acting(None):
        assert record(events.TOKEN_ISSUED, user=worker).username == "worker1"


def test_full_id_and_phone_numbers_are_masked_whatever_the_caller_passes(area_tree, worker):
    event = record(
        events.EXPORT,
        user=worker,
        purpose="核对 420105198005170013 的电话13812345678",
        detail={
            "filters": {"q": "13987654321"},
            "ids": ["42010519800517001X"],
            "hash": "a" * 20 + "13812345678",
        },
    )
    event.refresh_from_db()
    text = event.purpose + str(event.detail)
    for full in ("420105198005170013", "13812345678", "13987654321", "42010519800517001X"):
        assert full not in text.replace("a" * 20 + "13812345678", "")
    assert "42**************13" in event.purpose and "138****5678" in event.purpose
    assert event.detail["filters"]["q"] == "139****4321"
    assert event.detail["hash"] == "a" * 20 + "13812345678"  # hex-like strings are left alone


def test_records_are_append_only_through_the_model(worker):
    event = record(events.LOGOUT, user=worker)
    event.purpose = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_bad_event_names_and_outcomes_are_refused():
    with pytest.raises(ValueError):
        record("export")
    with pytest.raises(ValueError):
        record(events.EXPORT, outcome="maybe")
    assert not AuditEvent.objects.exists()


def test_request_argument_supplies_ip_and_user(rf, worker):
    request = rf.get("/", REMOTE_ADDR="192.0.2.7")
    request.user = worker
    event = record(events.SENSITIVE_READ, request=request, detail={"group": "health"})
    assert event.user == worker and event.ip == "192.0.2.7"
    assert isinstance(event.request_id, uuid.UUID)
