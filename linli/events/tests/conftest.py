"""Fixtures for the events tests: categories, departments, users and an event factory."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest

from linli.core import workcal

TZ = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    """A Beijing-time moment: ``at(2026, 2, 13, 10)``."""
    return dt.datetime(*args, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    workcal.clear_cache()
    yield
    workcal.clear_cache()


@pytest.fixture
def categories(db):
    """All seeded categories by code (loaded again: transactional tests flush the seed rows)."""
    from linli.events.loader import load_categories
    from linli.events.models import EventCategory

    load_categories()
    return {c.code: c for c in EventCategory.objects.all()}


@pytest.fixture
def users(db):
    from linli.accounts.models import User

    return {
        name: User.objects.create_user(name, password="x", full_name=full)
        for name, full in [
            ("grid", "网格员小王"),
            ("community", "社区李主任"),
            ("street", "街道张科长"),
            ("platform", "区平台刘"),
            ("dept", "城管局陈"),
            ("resident", "居民赵"),
        ]
    }


@pytest.fixture
def department(area_tree, users):
    from linli.events.models import Department

    dept = Department(code="CG", name="区城市管理执法局", area=area_tree["district"])
    dept.save()
    dept.members.add(users["dept"])
    return dept


@pytest.fixture
def report(area_tree, categories, users):
    """``report(code="1402", at=…, **kw)``: a new event in the first grid."""
    from linli.events import workflow

    def make(code="1301", when=None, location=None, **kwargs):
        kwargs.setdefault("title", "楼道堆放杂物")
        kwargs.setdefault("user", users["grid"])
        return workflow.report_event(
            category=categories[code],
            location_area=location or area_tree["grids"][0],
            at=when,
            **kwargs,
        )

    return make


def run_in_threads(target, n: int, *args):
    """Run ``target(i, *args)`` in ``n`` threads that start together; each has its own DB connection."""
    from django.db import connection

    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i, *args)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
