"""The auditor's pages: who may see them, what they show, and the CSV export."""

import csv
import io

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.urls import resolve, reverse

from linli.audit import events, record
from linli.audit.csvexport import safe_cell
from linli.audit.models import AuditEvent
from linli.core import context
from linli.core.history import history_of, log_action
from linli.core.models import ChangeAction
from linli.core.testing import make_person

from .conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.audit.tests.urls")]

ROUTES = [
    ("audit:event_list", ()),
    ("audit:event_export", ()),
    ("audit:change_list", ()),
    ("audit:change_export", ()),
]


@pytest.fixture(autouse=True)
def _without_two_factor_step(settings):
    # Auditors are district-wide and so must use TOTP; that step is tested in accounts. Here the
    # pages themselves are under test.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("SessionPolicyMiddleware")]


@pytest.fixture
def trail(area_tree, worker):
    person = make_person(area_tree["grids"][0], name="赵六", phone="13812345678")
    with context.acting(worker, channel=context.Channel.WEB, ip="10.0.0.8"):
        person.phone = "13987654321"
        person.save()
        reveal = record(events.REVEAL, obj=person, purpose='=HYPERLINK("http://evil")')
        record(events.EXPORT, detail={"what": "registry.person", "rows": 2, "filters": {"q": "13812345678"}})
    elsewhere = make_person(area_tree["grids"][-1], name="钱七")
    return {"person": person, "reveal": reveal, "elsewhere": elsewhere}


def of(person) -> dict:
    return {"content_type": ContentType.objects.get_for_model(person).pk, "object_id": person.pk}


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_every_route_declares_its_policy():
    for name, args in ROUTES + [("audit:event_detail", (1,)), ("audit:change_detail", (1,))]:
        expected = "core.view_objectchange" if name.startswith("audit:change") else "audit.view_auditevent"
        assert resolve(reverse(name, args=args)).func.linli_policy == expected


@pytest.mark.parametrize("name", [r[0] for r in ROUTES])
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse(settings.LOGIN_URL))


@pytest.mark.parametrize("name", [r[0] for r in ROUTES])
def test_a_user_without_the_audit_permission_gets_403(client, worker, trail, name):
    client.force_login(worker)
    assert client.get(reverse(name)).status_code == 403
    pk = trail["reveal"].pk
    assert client.get(reverse("audit:event_detail", args=[pk])).status_code == 403


def test_auditor_lists_and_filters_the_trail(client, auditor, trail):
    client.force_login(auditor)
    response = client.get(reverse("audit:event_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "查看完整信息" in page and "赵六" in page
    response = client.get(reverse("audit:event_list"), {"event": events.EXPORT})
    shown = list(response.context["page"])
    assert [e.event for e in shown] == [events.EXPORT]
    response = client.get(reverse("audit:event_list"), {"q": "HYPERLINK", "user": "worker"})
    assert [e.pk for e in response.context["page"]] == [trail["reveal"].pk]
    response = client.get(reverse("audit:event_list"), {"since": "2000-01-01", "until": "2000-01-31"})
    assert list(response.context["page"]) == []


def test_auditor_sees_an_event_and_a_masked_change(client, auditor, trail):
    client.force_login(auditor)
    response = client.get(reverse("audit:event_detail", args=[trail["reveal"].pk]))
    assert response.status_code == 200 and "10.0.0.8" in response.content.decode()
    change = history_of(trail["person"]).get(action="update")
    response = client.get(reverse("audit:change_detail", args=[change.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and "已加密" in page
    for secret in ("13812345678", "13987654321", trail["person"].id_number):
        assert secret not in page
    response = client.get(reverse("audit:change_list"), of(trail["person"]))
    assert {c.action for c in response.context["page"]} == {"create", "update"}


def test_auditor_scoped_to_one_community_sees_only_its_rows(client, area_tree, trail):
    local = make_user("local_auditor", "auditor", area_tree["communities"][0])
    client.force_login(local)
    response = client.get(reverse("audit:change_list"), of(trail["elsewhere"]))
    assert list(response.context["page"]) == []
    events_shown = {e.pk for e in client.get(reverse("audit:event_list")).context["page"]}
    assert trail["reveal"].pk in events_shown
    export = AuditEvent.objects.get(event=events.EXPORT, detail__what="registry.person")
    assert export.area_path == area_tree["grids"][0].path and export.pk in events_shown


def test_pagination(client, auditor):
    for _ in range(60):
        record(events.LOGIN_FAILED, outcome="failed")
    client.force_login(auditor)
    first = client.get(reverse("audit:event_list"))
    assert len(first.context["page"]) == 50 and "下一页" in first.content.decode()
    second = client.get(reverse("audit:event_list"), {"page": 2})
    assert len(second.context["page"]) >= 10


def test_auditor_exports_the_filtered_trail_and_the_export_is_recorded(client, auditor, trail):
    client.force_login(auditor)
    response = client.get(reverse("audit:event_export"), {"event": events.REVEAL})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert rows[0][:2] == ["导出人 Exported by", "auditor1"]
    header, data = rows[1], rows[2:]
    assert header[0] == "时间" and len(data) == 1
    assert data[0][header.index("事件名")] == events.REVEAL
    # The purpose was a formula; in the file it is inert text.
    assert data[0][header.index("事由")] == '\'=HYPERLINK("http://evil")'
    logged = AuditEvent.objects.filter(event=events.EXPORT, user=auditor).get()
    assert logged.detail == {"what": "audit.auditevent", "rows": 1, "filters": {"event": events.REVEAL}}
    assert logged.roles == ["auditor"]


def test_change_export_masks_values_and_is_recorded(client, auditor, trail):
    client.force_login(auditor)
    response = client.get(reverse("audit:change_export"), of(trail["person"]))
    body = "\n".join(",".join(r) for r in read_csv(response))
    for secret in ("13812345678", "13987654321", trail["person"].id_number):
        assert secret not in body
    assert "已加密" in body
    logged = AuditEvent.objects.get(event=events.EXPORT, user=auditor)
    assert logged.detail["what"] == "core.objectchange" and logged.detail["rows"] == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=x", "'\r=x"),
        ("普通文本", "普通文本"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_formula_cells_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_plain_text_phone_numbers_in_history_are_masked_too(client, auditor, trail):
    # A column that is not encrypted (a free-text note, a contact field) may hold a number in clear.
    person = trail["person"]
    change = log_action(
        person, ChangeAction.UPDATE, note="改为 13700001111", post={"remark": "电话13700002222"}
    )
    client.force_login(auditor)
    pages = [
        client.get(reverse("audit:change_detail", args=[change.pk])).content.decode(),
        client.get(reverse("audit:change_list")).content.decode(),
        "\n".join(",".join(r) for r in read_csv(client.get(reverse("audit:change_export"), of(person)))),
    ]
    for page in pages:
        assert "13700001111" not in page and "13700002222" not in page
    assert "137****1111" in pages[0] and "137****2222" in pages[0]
