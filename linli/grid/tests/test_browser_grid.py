"""A grid worker's round on a phone: check in, visit a due household, correct a phone number,
check out (issue 5)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from linli.core.testing import make_person, make_user
from linli.grid import services as grid_services
from linli.registry import services
from linli.web.tests.test_browser_registry import PASSWORD, PHONE, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def round_(area_tree):
    grid, house = area_tree["grids"][0], area_tree["houses"][0]
    head = make_person(grid, name="张三", birth=dt.date(1950, 3, 1), house=house, phone="13812345678")
    household = services.create_household(
        number="420105000321", head=head, house=house, date=dt.date(2000, 1, 1)
    )
    worker = make_user("gridworker", "grid_worker", grid, password=PASSWORD, full_name="王网格")
    grid_services.assign(grid, worker)
    return {"household": household, "head": head}


def test_a_grid_workers_round_on_a_phone(page, live_server, round_):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "gridworker")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/grid/")
    page.get_by_test_id("check-in").click()
    expect(page.get_by_test_id("check-out")).to_be_visible()
    card = page.get_by_test_id("grid-card")
    expect(card).to_contain_text("420105000321")
    shot(page, "grid-desk-phone")

    card.get_by_role("link", name="420105000321").click()
    form = page.get_by_test_id("visit-form")
    form.get_by_role("checkbox", name="张三").check()
    form.locator("textarea[name=findings]").fill("老人身体尚可")
    head = round_["head"]
    form.locator(f"input[name=phone_{head.pk}]").fill("12345")
    form.get_by_role("button", name="保存走访").click()
    expect(page.locator(".alert-danger")).to_contain_text("电话号码格式不正确")
    shot(page, "grid-visit-error-phone")
    page.locator(f"input[name=phone_{head.pk}]").fill("13700002222")
    page.get_by_role("button", name="保存走访").click()
    expect(page.get_by_test_id("visit-detail")).to_contain_text("老人身体尚可")
    head.refresh_from_db()
    assert head.phone == "13700002222"

    page.goto(f"{live_server.url}/grid/")
    page.locator("textarea[name=findings]").fill("路灯不亮")
    page.get_by_test_id("check-out").click()
    expect(page.get_by_test_id("check-in")).to_be_visible()
    page.goto(f"{live_server.url}/grid/patrols/")
    expect(page.get_by_test_id("patrol-table")).to_contain_text("路灯不亮")
    shot(page, "grid-patrols-phone")
