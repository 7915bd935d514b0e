"""The metrics on a small data set whose every number is worked out by hand."""

import datetime as dt

import pytest

from linli.events import metrics, workflow

from .conftest import at

pytestmark = pytest.mark.django_db
START, END, AS_OF = dt.date(2026, 11, 1), dt.date(2026, 12, 1), at(2026, 11, 30, 12)


@pytest.fixture
def dataset(report, users, area_tree):
    """Six events in November (E1–E6) and one in October (E7).

    E1 家庭纠纷 grid 0: on site in 10 min, accepted in time, fed back in time, closed, 满意.
    E2 家庭纠纷 grid 0: on site late, accepted late, fed back after the 7-day limit, reworked
       once, closed, 不满意.
    E3 楼道杂物 grid 1: accepted in time, closed in time, 基本满意.
    E4 楼道杂物 grid 1, same house as E3: rejected in time.
    E5 楼道杂物 grid 2 (community 1-2): accepted, still handling and overdue on 30 Nov.
    E6 道路积水 grid 2: nobody responded.
    """
    g, c = area_tree["grids"], users["grid"]
    house = area_tree["houses"][4]  # a house in grid 1
    e1 = report("1001", when=at(2026, 11, 2, 9), title="E1")
    workflow.arrive(e1, c, at=at(2026, 11, 2, 9, 10))
    workflow.accept(e1, c, at=at(2026, 11, 2, 9, 20))
    workflow.start(e1, c, at=at(2026, 11, 2, 9, 30))
    workflow.feed_back(e1, c, note="已调解", at=at(2026, 11, 3, 10))
    workflow.verify(e1, users["community"], at=at(2026, 11, 3, 11))
    workflow.close(e1, users["community"], at=at(2026, 11, 3, 12))
    workflow.rate(e1, users["resident"], satisfaction=3, at=at(2026, 11, 4, 9))

    e2 = report("1001", when=at(2026, 11, 2, 10), title="E2")
    workflow.arrive(e2, c, at=at(2026, 11, 2, 10, 40))
    workflow.accept(e2, c, at=at(2026, 11, 2, 11))
    workflow.start(e2, c, at=at(2026, 11, 2, 11, 10))
    workflow.feed_back(e2, c, note="已调解", at=at(2026, 11, 10, 10))
    workflow.rework(e2, users["community"], note="双方仍有争执", at=at(2026, 11, 10, 11))
    workflow.feed_back(e2, c, note="再次调解成功", at=at(2026, 11, 10, 15))
    workflow.verify(e2, users["community"], at=at(2026, 11, 10, 15, 30))
    workflow.close(e2, users["community"], at=at(2026, 11, 10, 16))
    workflow.rate(e2, users["resident"], satisfaction=1, at=at(2026, 11, 11, 9))

    e3 = report("1402", when=at(2026, 11, 3, 9), location=g[1], house=house, title="E3")
    workflow.accept(e3, c, at=at(2026, 11, 3, 9, 30))
    workflow.start(e3, c, at=at(2026, 11, 3, 9, 40))
    workflow.feed_back(e3, c, note="已清理", at=at(2026, 11, 4, 10))
    workflow.verify(e3, users["community"], at=at(2026, 11, 4, 10, 30))
    workflow.close(e3, users["community"], at=at(2026, 11, 4, 11))
    workflow.rate(e3, users["resident"], satisfaction=2, at=at(2026, 11, 5, 9))

    e4 = report("1402", when=at(2026, 11, 4, 9), location=g[1], house=house, title="E4")
    workflow.reject(e4, c, note="重复反映", at=at(2026, 11, 4, 9, 10))

    e5 = report("1402", when=at(2026, 11, 5, 9), location=g[2], title="E5")
    workflow.accept(e5, c, at=at(2026, 11, 5, 9, 30))
    workflow.start(e5, c, at=at(2026, 11, 5, 9, 40))

    e6 = report("0404", when=at(2026, 11, 6, 9), location=g[2], title="E6")
    e7 = report("1001", when=at(2026, 10, 15, 9), title="E7")
    return {"e1": e1, "e2": e2, "e3": e3, "e4": e4, "e5": e5, "e6": e6, "e7": e7}


def test_summary(dataset):
    s = metrics.summary(start=START, end=END, as_of=AS_OF)
    expected = {
        "reported": 6, "accepted": 4, "rejected": 1, "response_base": 6, "responded_in_time": 4,
        "closed": 3, "closed_on_time": 2, "fed_back": 3, "reworked": 1, "rated": 3, "satisfied": 2,
        "onsite_required": 3, "onsite_in_time": 1, "overdue_open": 2, "shelved": 0, "escalated": 0,
        "response_rate": 0.6667, "closure_rate": 0.75, "on_time_rate": 0.6667, "rework_rate": 0.3333,
        "satisfaction_rate": 0.6667, "onsite_rate": 0.3333,
        # E1 27 h, E2 8 days 6 h = 198 h, E3 26 h → 251 / 3.
        "avg_handling_hours": 83.67,
    }  # fmt: skip
    assert {k: s[k] for k in expected} == expected
    # Working hours: E1 (Mon 9:00 → Tue 12:00) = 6.5 + 3.5 = 10; E3 (Tue 9:00 → Wed 11:00) = 6.5 + 2.5 = 9;
    # E2 (Mon 2 Nov 10:00 → Tue 10 Nov 16:00) = 5.5 + 5 × 7 + 5.5 = 46 → 65 / 3.
    assert s["avg_handling_working_hours"] == 21.67


def test_a_fresh_report_inside_its_response_window_is_not_counted_against_it(dataset):
    s = metrics.summary(start=dt.date(2026, 11, 6), end=END, as_of=at(2026, 11, 6, 9, 10))
    assert (s["reported"], s["response_base"], s["response_rate"]) == (1, 0, None)


def test_by_area(dataset, area_tree):
    rows = metrics.by_area(area_tree["subdistricts"][0], start=START, end=END, as_of=AS_OF)
    got = {row["area"]: (row["reported"], row["closed"], row["closure_rate"]) for row in rows}
    assert got == {area_tree["communities"][0]: (4, 3, 1.0), area_tree["communities"][1]: (2, 0, 0.0)}
    grid_rows = metrics.by_area(area_tree["communities"][0], start=START, end=END, as_of=AS_OF)
    assert {r["area"]: r["reported"] for r in grid_rows} == {
        area_tree["grids"][0]: 2,
        area_tree["grids"][1]: 2,
    }


def test_by_category(dataset, categories):
    rows = metrics.by_category(start=START, end=END, as_of=AS_OF)
    assert {r["category"].code: r["reported"] for r in rows} == {"10": 2, "14": 3, "04": 1}
    leaf = metrics.by_category(start=START, end=END, top_level=False, as_of=AS_OF)
    assert {r["category"].code: r["satisfaction_rate"] for r in leaf} == {
        "1001": 0.5,
        "1402": 1.0,
        "0404": None,
    }
    only = metrics.summary(category=categories["10"], start=START, end=END, as_of=AS_OF)
    assert (only["reported"], only["rework_rate"], only["on_time_rate"]) == (2, 0.5, 0.5)


def test_by_handler(dataset, area_tree):
    rows = metrics.by_handler(start=START, end=END, as_of=AS_OF)
    got = {r["handler"]: (r["fed_back"], r["closed_on_time"]) for r in rows}
    assert got == {area_tree["grids"][0]: (2, 1), area_tree["grids"][1]: (1, 1)}


def test_by_period(dataset):
    rows = metrics.by_period(period="month", as_of=AS_OF)
    assert [(r["period"], r["reported"]) for r in rows] == [
        (dt.date(2026, 10, 1), 1),
        (dt.date(2026, 11, 1), 6),
    ]
    days = metrics.by_period(period="day", start=START, end=END, as_of=AS_OF)
    assert [(r["period"].day, r["reported"]) for r in days] == [(2, 2), (3, 1), (4, 1), (5, 1), (6, 1)]


def test_recurring_problems(dataset, area_tree, categories):
    by_area = metrics.recurring(min_count=2, by="area", start=START, end=END)
    assert {(r["category"].code, r["place"], r["count"]) for r in by_area} == {
        ("1001", area_tree["grids"][0], 2),
        ("1402", area_tree["grids"][1], 2),
    }
    by_house = metrics.recurring(min_count=2, by="house")
    assert [(r["category"].code, r["place"], r["count"]) for r in by_house] == [
        ("1402", area_tree["houses"][4], 2)
    ]
    assert metrics.recurring(min_count=3, by="area", start=START, end=END) == []


def test_metrics_are_aggregate_queries(dataset, area_tree, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        metrics.summary(start=START, end=END, as_of=AS_OF)
    with django_assert_max_num_queries(2):
        metrics.by_area(area_tree["district"], start=START, end=END, as_of=AS_OF)
