"""The area-tree panel and the English UI in the browser, on a desk and on a phone (issue 4)."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from linli.core.testing import make_person, make_user
from linli.registry import services

from .test_browser_registry import DESKTOP, PASSWORD, PHONE, log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_counts():
    """Node counts are cached for a minute; every test starts from its own database."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def community(area_tree):
    grids = area_tree["grids"]
    head = make_person(grids[0], name="张三", birth=dt.date(1962, 3, 1), house=area_tree["houses"][0])
    services.create_household(
        number="420105000123", head=head, house=area_tree["houses"][0], date=dt.date(2000, 1, 1)
    )
    second = make_person(grids[1], name="王五", birth=dt.date(1970, 6, 1), house=area_tree["houses"][4])
    services.create_household(
        number="420105000456", head=second, house=area_tree["houses"][4], date=dt.date(2001, 1, 1)
    )
    make_person(grids[2], name="赵四")  # the neighbouring community: never in this user's tree
    make_user(
        "staff", "community_staff", area_tree["communities"][0], password=PASSWORD, full_name="社区干事"
    )
    return area_tree


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_expand_the_tree_and_filter_lists(page, live_server, community, width):
    page.set_viewport_size(DESKTOP if width == "desktop" else PHONE)
    log_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/registry/persons/")
    table = page.get_by_test_id("person-table")
    expect(table).to_contain_text("张三")
    expect(table).to_contain_text("王五")
    if width == "phone":
        expect(page.get_by_test_id("tree-root")).to_be_hidden()  # a drawer on phones
        page.get_by_test_id("tree-open").click()
    tree = page.get_by_test_id("tree-root")
    expect(tree).to_be_visible()
    root = tree.get_by_test_id("tree-node").first
    expect(root).to_contain_text(community["communities"][0].name)
    expect(root.get_by_test_id("tree-counts").first).to_have_text("2/2")
    expect(tree).not_to_contain_text(community["communities"][1].name)

    root.get_by_test_id("tree-toggle").first.click()  # htmx loads the grids
    grid = tree.locator(f'[data-area="{community["grids"][1].pk}"]')
    expect(grid).to_contain_text("2号网格")
    expect(grid.get_by_test_id("tree-counts")).to_have_text("1/1")
    shot(page, f"tree-{width}")
    grid.get_by_test_id("tree-link").click()
    expect(table).to_contain_text("王五")
    expect(table).not_to_contain_text("张三")

    # The area is remembered: the households list opens filtered to it.
    page.goto(f"{live_server.url}/registry/households/")
    expect(page.locator("body")).to_contain_text("420105000456")
    expect(page.locator("body")).not_to_contain_text("420105000123")
    # "All areas" forgets it.
    if width == "phone":
        page.get_by_test_id("tree-open").click()
    page.get_by_test_id("tree-all").click()
    expect(page.locator("body")).to_contain_text("420105000123")


def test_english_on_a_desk_and_on_a_phone(page, live_server, community):
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_test_id("switch-language").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shot(page, "login-en-desktop")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("total-people")).to_have_text("2")
    expect(page.get_by_role("link", name="Households", exact=True)).to_be_visible()
    page.get_by_test_id("tree-root").get_by_test_id("tree-toggle").first.click()
    expect(page.get_by_test_id("tree-root")).to_contain_text("2号网格")
    shot(page, "home-en-desktop")
    page.goto(f"{live_server.url}/registry/persons/")
    page.get_by_role("link", name="张三").click()
    expect(page.get_by_text("Basic information")).to_be_visible()
    shot(page, "person-en-desktop")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/registry/households/")
    expect(page.get_by_role("heading", name="Households")).to_be_visible()
    shot(page, "households-en-phone")
    # Back to Chinese from the navbar (collapsed into the menu on a phone).
    page.get_by_role("button", name="Menu").click()
    # Click only once the menu has finished opening: during Bootstrap's collapse transition
    # (the "collapsing" class) the button can be clipped, and the click lands on nothing.
    expect(page.locator("#main-menu.collapse.show")).to_be_visible()
    with page.expect_navigation():
        page.get_by_test_id("switch-language").click()
    expect(page.get_by_role("heading", name="户")).to_be_visible()
