"""In-app notifications to whoever must act, and SMS to phone reporters through the backend."""

import pytest

from linli.events import messaging, notify, workflow
from linli.events.models import Notification

from .conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(monkeypatch):
    backend = messaging.MemoryBackend()
    monkeypatch.setattr(messaging, "backend", lambda: backend)
    return backend.outbox


@pytest.fixture
def roles(users, area_tree):
    """Route area notifications by a simple map instead of the role framework."""
    by_area = {
        area_tree["grids"][0].pk: [users["grid"]],
        area_tree["communities"][0].pk: [users["community"]],
        area_tree["subdistricts"][0].pk: [users["street"]],
    }
    original = notify._area_resolver
    notify._area_resolver = lambda: lambda area: by_area.get(area.pk, [])
    yield by_area
    notify._area_resolver = original


def test_whoever_must_act_is_told(
    report, users, department, roles, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = report("1301", when=at(2026, 11, 16, 9), user=users["resident"], channel="portal",
                       contact_phone="13812345678")  # fmt: skip
    assert list(Notification.objects.filter(user=users["community"]).values_list("kind", flat=True)) == [
        "report"
    ]
    with django_capture_on_commit_callbacks(execute=True):
        workflow.accept(event, users["community"])
    assert Notification.objects.filter(user=users["resident"], kind="accept").exists()
    assert outbox == [("sms", "13812345678", f"【邻里】您反映的事件 {event.number}已受理。")]
    # The actor is not told about their own action.
    assert not Notification.objects.filter(user=users["community"], kind="accept").exists()

    workflow.escalate(event, users["community"], note="需协调")
    assert Notification.objects.filter(user=users["street"], kind="escalate").exists()
    workflow.accept(event, users["street"])
    workflow.dispatch(event, users["street"], to_department=department)
    note = Notification.objects.get(user=users["dept"], kind="dispatch")
    assert event.number in note.message and "(dispatched to you, please sign)" in note.message
    workflow.sign(event, users["dept"])
    workflow.request_extension(event, users["dept"], until=at(2027, 1, 29, 17, 30), note="需协调")
    assert Notification.objects.filter(user=users["street"], kind="request_extension").exists()
    workflow.feed_back(event, users["dept"], note="已维修")
    assert Notification.objects.filter(user=users["community"], kind="feed_back").exists()
    assert Notification.objects.filter(user=users["resident"], kind="feed_back").exists()

    unread = Notification.objects.filter(user=users["community"]).unread()
    assert unread.count() == 2 and unread.mark_read() == 2
    assert not Notification.objects.filter(user=users["community"]).unread().exists()


def test_a_failing_gateway_never_breaks_a_transition(
    report, users, monkeypatch, django_capture_on_commit_callbacks
):
    class Broken(messaging.MessageBackend):
        def send_sms(self, phone, text):
            raise ConnectionError("gateway down")

    monkeypatch.setattr(messaging, "backend", Broken)
    event = report("1301", when=at(2026, 11, 16, 9), contact_phone="13812345678")
    with django_capture_on_commit_callbacks(execute=True):
        workflow.accept(event, users["community"])
    assert event.status == "accepted"


def test_log_backend_masks_the_phone(caplog):
    with caplog.at_level("INFO", logger="linli.events.messaging"):
        messaging.LogBackend().send_sms("13812345678", "测试")
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text


def test_default_recipients_come_from_role_assignments(area_tree, users):
    from linli.accounts.models import Role, RoleAssignment

    community = area_tree["communities"][0]
    handler, viewer = Role.objects.get(key="community_staff"), Role.objects.get(key="building_head")
    RoleAssignment(user=users["community"], role=handler, area=community).save()
    RoleAssignment(user=users["resident"], role=viewer, area=community).save()
    RoleAssignment(user=users["street"], role=Role.objects.get(key="subdistrict_officer"),
                   area=area_tree["subdistricts"][0]).save()  # fmt: skip
    assert notify.default_area_recipients(community) == [users["community"]]
