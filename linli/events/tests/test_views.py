"""Event pages: scope, 403/404, every workflow button through the page, errors in Chinese,
attachments, staff entry, metrics and notifications."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from linli.core.testing import login_as, make_user
from linli.events import workflow
from linli.events.models import Attachment, Event, Notification

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.events.tests.urls")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def photo(name="现场.png", content=PNG):
    return SimpleUploadedFile(name, content, content_type="image/png")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def people(area_tree, department):
    grid0, grid1 = area_tree["grids"][0], area_tree["grids"][1]
    dept_user = make_user("dept1", "department_handler", area_tree["district"], full_name="城管局王")
    department.members.add(dept_user)
    return {
        "grid": make_user("grid0", "grid_worker", grid0, full_name="网格员甲"),
        "grid1": make_user("grid1", "grid_worker", grid1),
        "community": make_user("comm0", "community_staff", area_tree["communities"][0], full_name="社区乙"),
        "street": make_user(
            "street0", "subdistrict_officer", area_tree["subdistricts"][0], full_name="街道丙"
        ),
        "dept": dept_user,
        "auditor": make_user("aud", "auditor", area_tree["district"]),
    }


@pytest.fixture
def new_event(categories, area_tree):
    def make(grid=0, code="1002", **kwargs):
        kwargs.setdefault("title", "楼上噪音扰民")
        return workflow.report_event(category=categories[code], location_area=area_tree["grids"][grid],
                                     channel="hotline", **kwargs)  # fmt: skip

    return make


def act(client, event, action, **data):
    return client.post(f"/events/{event.pk}/act/", {"action": action, **data}, follow=True)


def status_of(event):
    return Event.objects.get(pk=event.pk).status


# -- scope -----------------------------------------------------------------------------------------
def test_grid_worker_sees_only_their_grid(people, new_event):
    mine, other = new_event(0, title="本网格事件"), new_event(1, title="隔壁网格事件")
    page = login_as(people["grid"]).get("/events/")
    assert page.status_code == 200
    assert mine.number in page.text and other.number not in page.text
    assert login_as(people["grid"]).get(f"/events/{other.pk}/").status_code == 404


def test_department_sees_only_what_was_dispatched_to_it(people, new_event, department):
    sent, kept = new_event(0, title="派给城管"), new_event(0, title="留在网格")
    workflow.accept(sent, people["grid"])
    workflow.dispatch(sent, people["grid"], to_department=department)
    client = login_as(people["dept"])
    page = client.get("/events/")
    assert sent.number in page.text and kept.number not in page.text
    assert client.get(f"/events/{kept.pk}/").status_code == 404
    assert client.get(f"/events/{sent.pk}/").status_code == 200


def test_no_permission_is_403_and_anonymous_goes_to_login(people, new_event, client):
    event = new_event()
    assert login_as(people["auditor"]).get(f"/events/{event.pk}/").status_code == 403
    assert login_as(people["auditor"]).get("/events/").status_code == 403
    response = client.get(f"/events/{event.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_filters(people, new_event):
    a, b = new_event(0, title="甲事件"), new_event(0, title="乙事件", priority="urgent")
    workflow.accept(a, people["grid"])
    client = login_as(people["grid"])
    assert b.number in client.get("/events/?priority=urgent").text
    assert a.number not in client.get("/events/?priority=urgent").text
    text = client.get("/events/?status=accepted").text
    assert a.number in text and b.number not in text
    Event.objects.filter(pk=a.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    text = client.get("/events/?card=red").text
    assert a.number in text and b.number not in text and "红牌" in text
    assert client.get("/events/?category=10&channel=hotline&card=yellow").status_code == 200


# -- the whole path through the buttons ------------------------------------------------------------
def test_every_step_through_the_page(people, new_event, department, area_tree):
    event = new_event()
    grid, community, street, dept = (login_as(people[k]) for k in ("grid", "community", "street", "dept"))

    page = grid.get(f"/events/{event.pk}/")
    assert 'data-testid="action-accept"' in page.text and 'data-testid="action-close"' not in page.text
    act(grid, event, "accept")
    assert status_of(event) == "accepted"
    act(grid, event, "escalate", note="网格无法调解")
    event.refresh_from_db()
    assert event.status == "reported" and event.area == area_tree["communities"][0]
    act(community, event, "accept")
    act(community, event, "escalate", note="需街道协调")
    event.refresh_from_db()
    assert event.area == area_tree["subdistricts"][0]
    act(street, event, "accept")
    page = street.get(f"/events/{event.pk}/")
    assert department.name in page.text  # offered as a dispatch target
    act(street, event, "dispatch", to_department=department.pk, note="请城管局处理")
    assert status_of(event) == "dispatched"

    act(dept, event, "sign")
    assert status_of(event) == "handling"
    until = (timezone.localtime() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    act(dept, event, "request_extension", until=until, note="需采购材料")
    assert Event.objects.get(pk=event.pk).extension_until is not None
    act(street, event, "approve_extension", note="同意")
    assert Event.objects.get(pk=event.pk).extension_count == 1
    act(dept, event, "feed_back", note="已上门处理", photos=photo("处理后.png"))
    event.refresh_from_db()
    assert event.status == "fed_back" and event.area == area_tree["communities"][0]

    act(community, event, "rework", note="仍有噪音")
    assert status_of(event) == "handling"
    act(dept, event, "feed_back", note="再次处理完毕")
    act(community, event, "verify")
    assert status_of(event) == "verified"
    act(community, event, "close")
    assert status_of(event) == "closed"
    act(community, event, "rate", satisfaction=3, note="电话回访满意")
    event.refresh_from_db()
    assert event.status == "rated" and event.satisfaction == 3

    page = grid.get(f"/events/{event.pk}/")
    timeline = page.text[page.text.index('data-testid="timeline"') :]
    for text in ("受理立案", "上报上级", "派遣", "签收", "延期批准", "处置反馈", "核查不通过返工", "结案", "回访评价",
                 "城管局王", "处理后.png"):  # fmt: skip
        assert text in timeline, text


def test_reject_return_shelve_resume_start(people, new_event, department):
    grid, dept = login_as(people["grid"]), login_as(people["dept"])
    rejected = new_event()
    act(grid, rejected, "reject", note="不属于受理范围")
    assert status_of(rejected) == "rejected"

    returned = new_event()
    act(grid, returned, "accept")
    act(grid, returned, "dispatch", to_department=department.pk)
    act(dept, returned, "return", note="不属于本部门职责")
    assert status_of(returned) == "returned"

    shelved = new_event()
    act(grid, shelved, "accept")
    review = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    act(grid, shelved, "shelve", note="需等待旧改", review_date=review)
    assert status_of(shelved) == "shelved"
    act(grid, shelved, "resume", note="旧改启动")
    assert status_of(shelved) == "handling"

    started = new_event()
    act(grid, started, "accept")
    act(grid, started, "start")
    assert status_of(started) == "handling"


def test_refused_transitions_show_the_chinese_reason(people, new_event):
    event = new_event()
    grid = login_as(people["grid"])
    page = act(grid, event, "reject")
    assert "须填写理由" in page.text and status_of(event) == "reported"
    page = act(grid, event, "close")
    assert "不能结案" in page.text
    page = act(grid, event, "nonsense")
    assert "未知的操作" in page.text
    page = grid.post(f"/events/{event.pk}/act/", {}, follow=True)
    assert page.status_code == 200 and status_of(event) == "reported"


def test_acting_for_another_unit_is_refused(people, new_event):
    event = new_event()
    # The grid worker of the next grid cannot even see it; the community's staff can act; the
    # department cannot act on an event that was not dispatched to it.
    assert act(login_as(people["grid1"]), event, "accept").status_code == 404
    workflow.accept(event, people["grid"])
    workflow.escalate(event, people["grid"])
    assert act(login_as(people["grid"]), event, "accept").status_code == 403
    assert (
        login_as(people["auditor"]).post(f"/events/{event.pk}/act/", {"action": "accept"}).status_code == 403
    )


# -- entry and attachments -------------------------------------------------------------------------
def test_staff_enter_an_event_with_a_photo(people, categories, area_tree):
    client = login_as(people["community"])
    page = client.get("/events/new/")
    assert page.status_code == 200
    response = client.post("/events/new/", {
        "channel": "hotline", "category": categories["1002"].pk, "priority": "normal", "title": "热线：楼道噪音",
        "location_area": area_tree["grids"][0].pk, "contact_phone": "13912345678", "photos": photo(),
    })  # fmt: skip
    event = Event.objects.get(title="热线：楼道噪音")
    assert response.status_code == 302 and response["Location"] == f"/events/{event.pk}/"
    assert event.channel == "hotline" and event.attachments.count() == 1
    bad = client.post("/events/new/", {
        "channel": "hotline", "category": categories["1002"].pk, "priority": "normal", "title": "坏文件",
        "location_area": area_tree["grids"][0].pk, "photos": photo("x.png", b"<?php echo 1; ?>"),
    })  # fmt: skip
    assert bad.status_code == 200 and "不符" in bad.text
    assert not Event.objects.filter(title="坏文件").exists()
    outside = client.post("/events/new/", {
        "channel": "hotline", "category": categories["1002"].pk, "priority": "normal", "title": "越界",
        "location_area": area_tree["grids"][4].pk,
    })  # fmt: skip
    assert outside.status_code == 200 and not Event.objects.filter(title="越界").exists()


def test_attachment_download_is_checked(people, new_event, client):
    event = new_event(attachments=[photo("现场.png")])
    attachment = Attachment.objects.get(event=event)
    url = f"/events/{event.pk}/attachment/?id={attachment.pk}"
    response = login_as(people["grid"]).get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    assert login_as(people["grid1"]).get(url).status_code == 404
    assert client.get(url).status_code == 302
    other = new_event(1, attachments=[photo("别处.png")])
    stolen = Attachment.objects.get(event=other)
    assert login_as(people["grid"]).get(f"/events/{event.pk}/attachment/?id={stolen.pk}").status_code == 404


def test_metrics_and_notifications(people, new_event):
    event = new_event()
    workflow.accept(event, people["grid"])
    page = login_as(people["community"]).get("/events/metrics/")
    assert page.status_code == 200
    assert "结案率" in page.text and "1号网格" in page.text
    assert 'data-count="reported">1<' in page.text
    Notification.objects.create(user=people["grid"], event=event, kind="accept", message="请处理事件 测试")
    client = login_as(people["grid"])
    assert "请处理事件 测试" in client.get("/events/notifications/").text
    client.post("/events/notifications/read/")
    assert not Notification.objects.filter(user=people["grid"]).unread().exists()


def test_metrics_rows_per_child_equal_the_per_child_summaries(people, new_event, area_tree):
    from linli.events import access, metrics

    workflow.accept(new_event(0), people["grid"])
    new_event(0)
    new_event(1)
    new_event(2)  # the street's second community
    street = people["street"]
    page = login_as(street).get("/events/metrics/")
    today = timezone.localdate()
    filters = {"start": today.replace(day=1), "end": today + dt.timedelta(days=1)}
    scope = access.visible_events(street)
    expected = [{"name": c.name, **metrics.summary(scope, area=c, **filters)}
                for c in area_tree["communities"][:2]]  # fmt: skip
    got = [
        {k: v for k, v in row.items() if k not in ("rate_cells", "count_cells")}
        for row in page.context["rows"]
    ]
    assert got == expected and got[0]["reported"] == 3 and got[1]["reported"] == 1


# -- what the route matrix will do with these routes, with the factory it will get -----------------
def test_routes_behave_as_the_route_matrix_expects(area_tree, categories):
    from django.test import Client

    def factory(grid):
        return workflow.report_event(category=categories["1002"], title="测试事件", location_area=grid,
                                     channel="hotline")  # fmt: skip

    inside, outside = factory(area_tree["grids"][0]), factory(area_tree["grids"][4])
    holder = login_as(make_user("holder", "community_staff", area_tree["communities"][0]))
    bystander = login_as(make_user("bystander", "auditor", area_tree["communities"][0]))
    for url in ("/events/{}/", "/events/{}/act/", "/events/{}/attachment/"):
        for who, obj, expect in ((holder, inside, None), (holder, outside, 404), (bystander, inside, 403)):
            response = who.get(url.format(obj.pk))
            if response.status_code == 405:
                response = who.post(url.format(obj.pk), {})
            if expect is None:
                assert response.status_code not in (401, 403, 404), url
            else:
                assert response.status_code == expect, url
        assert Client().get(url.format(inside.pk)).status_code == 302


# -- duplicate suggestions and 三必到 ---------------------------------------------------------------------
def test_detail_suggests_open_events_of_the_same_category_and_place(people, new_event, area_tree):
    first = new_event(title="小区门口占道经营")
    second = new_event(title="门口又有摊贩")
    elsewhere = new_event(grid=1, title="别处占道")
    other_kind = new_event(title="同类同地但已办结")
    workflow.reject(other_kind, note="重复上报")  # finished: no longer a suggestion
    html = login_as(people["community"]).get(f"/events/{second.pk}/").content.decode()
    assert 'data-testid="similar"' in html and first.number in html
    assert elsewhere.number not in html and other_kind.number not in html
    # Only events the viewer may see are suggested.
    far = make_user("far", "community_staff", area_tree["communities"][3])
    far_event = new_event(grid=6, title="远处")
    assert first.number not in login_as(far).get(f"/events/{far_event.pk}/").content.decode()


def test_api_lists_similar_events(people, new_event):
    first = new_event(title="噪音一")
    second = new_event(title="噪音二")
    client = login_as(people["community"])
    numbers = [e["number"] for e in client.get(f"/api/v1/events/{second.pk}/similar/").json()]
    assert numbers == [first.number]


def test_detail_shows_the_onsite_limit_and_arrival(people, categories, area_tree):
    category = next(c for c in categories.values() if c.requires_onsite and c.active)
    event = workflow.report_event(category=category, title="家庭纠纷", location_area=area_tree["grids"][0],
                                  channel="hotline")  # fmt: skip
    client = login_as(people["community"])
    assert "尚未到场" in client.get(f"/events/{event.pk}/").content.decode()
    event.refresh_from_db()
    workflow.arrive(event, None, note="已到场", at=event.reported_at + dt.timedelta(minutes=5))
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert "5 分钟" in html and "及时" in html
