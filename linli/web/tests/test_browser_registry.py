"""What a community worker does in the browser, on a desk and on a phone (issue 4)."""

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from linli.core.testing import make_couple_household, make_person, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# Screenshots go to docs/screenshots/ when refreshing the docs (LINLI_SCREENSHOTS=1 ./dev test -m e2e),
# and to a scratch folder otherwise so that test runs leave the work tree alone.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
SCREENSHOTS = (
    DOCS_SCREENSHOTS if os.environ.get("LINLI_SCREENSHOTS") else Path(tempfile.gettempdir()) / "linli-shots"
)
PASSWORD = "Linli@test2026"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def household(area_tree):
    grid = area_tree["grids"][0]
    household = make_couple_household(grid, area_tree["houses"][0])
    make_person(area_tree["grids"][4], name="赵四")  # another community: must never show
    make_user("gridworker", "grid_worker", grid, password=PASSWORD, full_name="王网格")
    return household


def log_in(page, live_server, username="gridworker"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("total-people")).to_have_text("2")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_search_open_household_and_edit_a_member(page, live_server, household):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server)
    shot(page, "home-desktop")

    page.get_by_test_id("global-search").fill("zs")
    page.get_by_test_id("global-search").press("Enter")
    table = page.get_by_test_id("person-table")
    expect(table).to_contain_text("张三")
    expect(table).not_to_contain_text("赵四")
    expect(table).not_to_contain_text("13812345678")
    shot(page, "search-desktop")

    table.get_by_role("link", name="张三").click()
    expect(page.get_by_test_id("person-name")).to_have_text("张三")
    page.get_by_test_id("household-link").click()
    members = page.get_by_test_id("members")
    expect(members).to_contain_text("李秀英")
    shot(page, "household-desktop")

    members.get_by_role("link", name="李秀英").click()
    page.get_by_role("link", name="编辑").click()
    page.fill("#id_phone", "12345")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("error-phone")).to_contain_text("电话号码格式不正确")
    shot(page, "edit-error-desktop")
    page.fill("#id_phone", "13700001111")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("person-name")).to_have_text("李秀英")
    expect(page.get_by_text("137****1111")).to_be_visible()


def test_phone_width_lookup(page, live_server, household):
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    shot(page, "home-phone")
    page.get_by_test_id("global-search").fill("李")
    page.get_by_test_id("global-search").press("Enter")
    expect(page.get_by_test_id("person-table")).to_contain_text("李秀英")
    shot(page, "search-phone")
    page.get_by_role("link", name="李秀英").click()
    expect(page.get_by_test_id("masked-id")).to_be_visible()
    shot(page, "person-phone")


def test_import_with_errors_then_fixed_and_export(page, live_server, household, area_tree, tmp_path):
    from linli.dataio.tests.builders import csv_bytes, family, new_id

    make_user("staff", "community_staff", area_tree["communities"][0], password=PASSWORD)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    rows = family("420105009001", grid=area_tree["grids"][0].name, size=3)
    good_id = rows[1]["id_number"]
    rows[1]["id_number"] = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")  # a wrong check digit
    bad_file = tmp_path / "台账-有错误.csv"
    bad_file.write_bytes(csv_bytes(rows, encoding="gbk"))  # as Chinese Excel saves it
    page.goto(f"{live_server.url}/io/import/")
    page.set_input_files("input[type=file]", str(bad_file))
    page.get_by_role("button", name="上传并校验").click()
    errors = page.get_by_test_id("error-table")
    expect(errors).to_contain_text("校验位")
    expect(errors).to_contain_text("3")  # the data row number (row 1 is the header)
    shot(page, "import-errors-desktop")
    expect(page.get_by_test_id("commit")).to_have_count(0)

    rows[1]["id_number"] = good_id
    rows.append({**rows[2], "name": "新成员", "id_number": new_id(dt.date(2001, 2, 3)), "relation": "女"})
    good_file = tmp_path / "台账.csv"
    good_file.write_bytes(csv_bytes(rows, encoding="gbk"))
    page.goto(f"{live_server.url}/io/import/")
    page.set_input_files("input[type=file]", str(good_file))
    page.get_by_role("button", name="上传并校验").click()
    page.get_by_test_id("commit").click()
    expect(page.get_by_test_id("job-message")).to_contain_text("4")
    shot(page, "import-done-desktop")

    page.goto(f"{live_server.url}/registry/persons/?q=新成员")
    expect(page.get_by_test_id("person-table")).to_contain_text("新成员")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    exported = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    assert "新成员" in exported and "李秀英" not in exported  # the filtered list, nothing more
