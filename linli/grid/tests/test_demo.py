"""The demo grid work is made through the real services and gives the pages something to show."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.core import workcal
from linli.core.testing import make_person, make_user
from linli.grid import services
from linli.grid.demo import generate_grid_work
from linli.grid.models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit
from linli.registry import services as registry


@pytest.mark.django_db
def test_grid_work_demo(area_tree):
    community = area_tree["communities"][0]
    for grid in area_tree["grids"][:2]:
        for n in range(6):
            registry.create_household(number=f"{grid.pk}-{n}", head=make_person(grid, name=f"户主{n}"))
    make_user("gridworker", "grid_worker", area_tree["grids"][0])
    make_user("staff", "community_staff", community)
    summary = generate_grid_work(community, days=20, seed=7)

    assert summary.workers == 2
    assert GridAssignment.objects.current().filter(role="responsible").count() == 2
    assert GridAssignment.objects.current().get(area=area_tree["grids"][0]).user.username == "gridworker"
    visits = Visit.objects.all()
    assert visits.count() == summary.visits > 0
    assert all(workcal.is_working_day(v.visited_on) for v in visits)
    assert all(v.area_path.startswith(community.path) for v in visits)
    today = timezone.localdate()
    coverage = services.coverage(community, today - dt.timedelta(days=20), today)
    assert coverage.households == 12 and coverage.visited > 0
    assert DiaryEntry.objects.count() == summary.diaries and DiaryEntry.objects.exclude(grade="").exists()
    assert not Patrol.objects.open().exists() and Patrol.objects.count() == summary.patrols
    start = timezone.localtime().replace(hour=8, minute=30, second=0, microsecond=0)
    assert services.roster_gaps(community, start, start + dt.timedelta(days=7)) == []
    assert DutyShift.objects.count() == summary.shifts
