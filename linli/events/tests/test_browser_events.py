"""The whole path in the browser (issue 5): a resident reports with a photo, the grid worker accepts
and passes it up, the sub-district dispatches it to a department, the department resolves it, the
community checks it, the resident rates it — and the timeline and metrics show it."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from linli.core.testing import login_as, make_user
from linli.events.models import Event

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("linli.events.tests.urls"),
]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def become(page, live_server, user):
    """Use a session made by the test client (with a verified TOTP device where the role needs one)."""
    client = login_as(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": live_server.url}])  # fmt: skip


def press(page, action, **fields):
    form = page.get_by_test_id(f"action-{action}")
    for name, value in fields.items():
        if name in ("to_department", "to_area", "satisfaction"):
            form.locator(f"select[name={name}]").select_option(str(value))
        else:
            form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert").first).to_contain_text("已")


def test_resident_to_department_and_back(page, live_server, area_tree, categories, department):
    grid_worker = make_user("grid0", "grid_worker", area_tree["grids"][0], full_name="王网格")
    community = make_user("comm0", "community_staff", area_tree["communities"][0], full_name="李社区")
    street = make_user("street0", "subdistrict_officer", area_tree["subdistricts"][0], full_name="张街道")
    dept_user = make_user("dept1", "department_handler", area_tree["district"], full_name="陈城管")
    department.members.add(dept_user)

    # The resident reports, with a photo, without an account.
    page.goto(f"{live_server.url}/portal/")
    page.select_option("#id_category", str(categories["1002"].pk))
    page.select_option("#id_location_area", str(area_tree["grids"][0].pk))
    page.fill("#id_address", "1栋1单元101")
    page.fill("#id_title", "楼上深夜噪音")
    page.fill("#id_description", "每天夜里12点后噪音很大")
    page.set_input_files("#id_photos", files=[{"name": "噪音.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_role("button", name="提交").click()
    number = page.get_by_test_id("number").inner_text().strip()
    code = page.get_by_test_id("code").inner_text().strip()
    event = Event.objects.get(number=number)
    assert event.attachments.count() == 1
    detail = f"{live_server.url}/events/{event.pk}/"

    # The grid worker accepts and passes it up; the community passes it on to the sub-district.
    become(page, live_server, grid_worker)
    page.goto(detail)
    press(page, "accept")
    press(page, "escalate", note="涉及多户，网格无法调处")
    become(page, live_server, community)
    page.goto(detail)
    press(page, "accept")
    press(page, "escalate", note="请街道协调")

    # The sub-district dispatches it to a department, which resolves it.
    become(page, live_server, street)
    page.goto(detail)
    press(page, "accept")
    press(page, "dispatch", to_department=department.pk, note="请城管执法局处理")
    become(page, live_server, dept_user)
    page.goto(detail)
    press(page, "sign")
    press(page, "feed_back", note="已上门劝导，噪音已停止")

    # The community checks it on site and closes it.
    become(page, live_server, community)
    page.goto(detail)
    press(page, "verify")
    press(page, "close")
    expect(page.get_by_test_id("status")).to_contain_text("已结案")

    # The resident reads the reply and rates it.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/portal/track/?number={number}&code={code}")
    expect(page.get_by_test_id("reply")).to_contain_text("噪音已停止")
    page.get_by_test_id("rate-form").get_by_label("满意 satisfied").check()
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_test_id("rated")).to_contain_text("满意")

    # The timeline and the metrics show it.
    become(page, live_server, community)
    page.goto(detail)
    timeline = page.get_by_test_id("timeline")
    for text in (
        "上报",
        "受理立案",
        "上报上级",
        "派遣",
        "签收",
        "处置反馈",
        "核查通过",
        "结案",
        "回访评价",
        "陈城管",
        "噪音.png",
    ):
        expect(timeline).to_contain_text(text)
    page.goto(f"{live_server.url}/events/metrics/")
    expect(page.locator("[data-metric=satisfaction_rate]")).to_have_text("100.0%")
    expect(page.locator("[data-count=closed]")).to_have_text("1")
