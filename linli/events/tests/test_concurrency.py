"""Numbering and transitions under real concurrent connections (threads)."""

import re

import pytest

from linli.events import workflow
from linli.events.models import Event, EventStep

from .conftest import at, run_in_threads

pytestmark = pytest.mark.django_db


def test_numbers_count_per_day(report):
    first = report("1301", when=at(2026, 11, 22, 0, 5))
    second = report("1301", when=at(2026, 11, 22, 23, 55))
    next_day = report("1301", when=at(2026, 11, 23, 0, 0, 1))
    assert [first.number, second.number, next_day.number] == [
        "SJ20261122-0001",
        "SJ20261122-0002",
        "SJ20261123-0001",
    ]


def test_the_day_is_the_beijing_day(report):
    import datetime as dt

    # 17:00 UTC on the 21st is 01:00 on the 22nd in Beijing.
    event = report("1301", when=dt.datetime(2026, 11, 21, 17, tzinfo=dt.UTC))
    assert event.number == "SJ20261122-0001"


@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_under_concurrency(categories, area_tree):
    grid = area_tree["grids"][0]

    def create(i):
        return workflow.report_event(
            category=categories["1301"], title=f"并发上报{i}", location_area=grid, at=at(2026, 11, 22, 9)
        ).number

    numbers = run_in_threads(create, 8)
    errors = [n for n in numbers if isinstance(n, Exception)]
    assert not errors, errors
    assert sorted(numbers) == [f"SJ20261122-{i:04d}" for i in range(1, 9)]
    assert all(re.fullmatch(r"SJ\d{8}-\d{4}", n) for n in numbers)


@pytest.mark.django_db(transaction=True)
def test_two_users_accepting_at_once_only_one_wins(report, users):
    event = report("1301", when=at(2026, 11, 22, 9))
    copies = [Event.objects.get(pk=event.pk) for _ in range(2)]  # both read version 1 before either writes

    def act(i):
        if i == 0:
            return workflow.accept(copies[0], users["community"])
        return workflow.reject(copies[1], users["street"], note="不予立案")

    results = run_in_threads(act, 2)
    wins = [r for r in results if isinstance(r, EventStep)]
    losses = [r for r in results if isinstance(r, workflow.ConcurrentChange)]
    assert len(wins) == 1 and len(losses) == 1, results
    event.refresh_from_db()
    assert event.version == 2 and event.status == wins[0].to_status
    assert event.steps.count() == 2
