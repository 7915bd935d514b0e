"""The resident portal: submit with a photo, get a number and code, track, rate after closing."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from linli.core.testing import make_user
from linli.events import workflow
from linli.events.models import Event
from linli.events.portal import tracking_code

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.events.tests.urls")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cache.clear()
    yield
    cache.clear()


def form(categories, area_tree, **extra):
    data = {
        "category": categories["1002"].pk, "location_area": area_tree["grids"][0].pk, "address": "1栋1单元101",
        "title": "楼上深夜噪音", "description": "每天夜里12点后仍有很大噪音", "contact_name": "赵女士",
        "contact_phone": "13912345678",
        "photos": SimpleUploadedFile("噪音.png", PNG, content_type="image/png"),
    }  # fmt: skip
    data.update(extra)
    return data


def test_submit_with_a_photo_gives_a_number_and_a_code(categories, area_tree):
    client = Client(enforce_csrf_checks=False)
    assert client.get("/portal/").status_code == 200
    response = client.post("/portal/", form(categories, area_tree))
    assert response.status_code == 302 and response["Location"] == "/portal/done/"
    event = Event.objects.get(title="楼上深夜噪音")
    assert event.channel == "portal" and event.reporter is None and event.attachments.count() == 1
    done = client.get("/portal/done/")
    assert event.number in done.text and tracking_code(event) in done.text


def test_csrf_is_enforced(categories, area_tree):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/portal/", form(categories, area_tree)).status_code == 403


def test_bad_files_and_bots_are_refused(categories, area_tree):
    client = Client()
    bad = client.post(
        "/portal/", form(categories, area_tree, photos=SimpleUploadedFile("a.png", b"GIF89a..."))
    )
    assert bad.status_code == 200 and "不符" in bad.text
    exe = client.post("/portal/", form(categories, area_tree, photos=SimpleUploadedFile("a.exe", b"MZ...")))
    assert exe.status_code == 200 and "不支持的文件类型" in exe.text
    bot = client.post("/portal/", form(categories, area_tree, website="http://spam"))
    assert bot.status_code == 200
    assert not Event.objects.exists()


def test_submissions_are_rate_limited(categories, area_tree, settings):
    settings.LINLI_PORTAL_SUBMITS_PER_HOUR = 2
    client = Client()
    codes = [
        client.post("/portal/", form(categories, area_tree, title=f"问题{i}")).status_code for i in range(3)
    ]
    assert codes == [302, 302, 429]
    assert Event.objects.count() == 2


def test_track_shows_progress_and_reply_without_personal_data(categories, area_tree):
    client = Client()
    client.post("/portal/", form(categories, area_tree))
    event = Event.objects.get()
    staff = make_user("g", "grid_worker", area_tree["grids"][0], full_name="网格员小王")
    workflow.accept(event, staff, note="内部备注：住户张三")
    wrong = client.get("/portal/track/", {"number": event.number, "code": "WRONGCODE1"})
    assert "不正确" in wrong.text and "楼上深夜噪音" not in wrong.text
    page = client.get("/portal/track/", {"number": event.number, "code": tracking_code(event)})
    assert "已受理" in page.text and "楼上深夜噪音" in page.text
    for secret in ("13912345678", "内部备注", "网格员小王", "赵女士"):
        assert secret not in page.text
    assert 'data-testid="rate-form"' not in page.text


def test_rate_after_closing(categories, area_tree):
    client = Client()
    client.post("/portal/", form(categories, area_tree))
    event = Event.objects.get()
    code = tracking_code(event)
    early = client.post(
        "/portal/rate/", {"number": event.number, "code": code, "satisfaction": 3}, follow=True
    )
    assert "不能回访评价" in early.text and Event.objects.get().status == "reported"

    staff = make_user("g", "grid_worker", area_tree["grids"][0])
    for step in ("accept", "start"):
        workflow.perform(step, event, staff)
    workflow.feed_back(event, staff, note="已协调楼上住户，噪音已消除")
    comm = make_user("c", "community_staff", area_tree["communities"][0])
    workflow.verify(event, comm)
    workflow.close(event, comm)

    page = client.get("/portal/track/", {"number": event.number, "code": code})
    assert "噪音已消除" in page.text and 'data-testid="rate-form"' in page.text
    forged = client.post("/portal/rate/", {"number": event.number, "code": "AAAAAAAAAA", "satisfaction": 1})
    assert forged.status_code == 404
    done = client.post("/portal/rate/", {"number": event.number, "code": code, "satisfaction": 3,
                                         "comment": "很满意"}, follow=True)  # fmt: skip
    event.refresh_from_db()
    assert event.status == "rated" and event.satisfaction == 3 and "感谢您的评价" in done.text


def test_a_logged_in_resident_sees_their_own_requests(categories, area_tree):
    resident = make_user("res", None)
    client = Client()
    client.force_login(resident)
    client.post("/portal/", form(categories, area_tree))
    event = Event.objects.get()
    assert event.reporter == resident
    assert event.number in client.get("/portal/mine/").text
    assert Client().get("/portal/mine/").status_code == 302


def test_oversized_posts_are_refused(categories, area_tree, settings):
    settings.LINLI_PORTAL_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 5000, content_type="image/png")
    response = Client().post("/portal/", form(categories, area_tree, photos=big))
    assert response.status_code == 413 and not Event.objects.exists()
