"""Scope follows the current handler; departments see what was dispatched to them."""

import pytest

from linli.events import workflow
from linli.events.models import Department, Event

from .conftest import at

pytestmark = pytest.mark.django_db


def test_scope_follows_the_handler(report, users, area_tree, department):
    grids, communities = area_tree["grids"], area_tree["communities"]
    in_grid = report("1402", when=at(2026, 11, 16, 9))  # the grid handles 楼道杂物
    in_community = report("1301", when=at(2026, 11, 16, 9))  # the community handles 物业服务
    elsewhere = report("1402", when=at(2026, 11, 16, 9), location=grids[4])  # another sub-district

    def ids(qs):
        return set(qs.values_list("pk", flat=True))

    assert ids(Event.objects.within(grids[0])) == {in_grid.pk}
    assert ids(Event.objects.within(grids[1])) == set()
    assert ids(Event.objects.within(communities[0])) == {in_grid.pk, in_community.pk}
    assert ids(Event.objects.within(area_tree["subdistricts"][1])) == {elsewhere.pk}
    assert ids(Event.objects.within(grids[0], grids[4])) == {in_grid.pk, elsewhere.pk}

    # Passed up: the grid no longer holds it, the community does.
    workflow.escalate(in_grid, users["grid"], note="网格无法解决")
    assert ids(Event.objects.within(grids[0])) == set()
    assert in_grid.pk in ids(Event.objects.within(communities[0]))
    # Where it happened does not move.
    assert ids(Event.objects.located_in(grids[0])) == {in_grid.pk, in_community.pk}

    # Dispatched to a department: out of the community's scope, into the department's.
    other = Department(code="SW", name="区水务局", area=area_tree["district"])
    other.save()
    workflow.accept(in_community, users["community"])
    workflow.escalate(in_community, users["community"], note="需协调")
    workflow.accept(in_community, users["street"])
    workflow.dispatch(in_community, users["street"], to_department=department)
    assert in_community.pk not in ids(Event.objects.within(communities[0]))
    assert ids(Event.objects.for_departments(department)) == {in_community.pk}
    assert ids(Event.objects.for_departments(other)) == set()
    assert in_community.pk in ids(Event.objects.within(area_tree["district"]))

    # After the department fed back, the event is with the community again; the department
    # still finds it among what it handled.
    workflow.sign(in_community, users["dept"])
    workflow.feed_back(in_community, users["dept"], note="已处理")
    assert ids(Event.objects.for_departments(department)) == set()
    assert ids(Event.objects.for_departments(department, include_past=True)) == {in_community.pk}
    assert in_community.pk in ids(Event.objects.within(communities[0]))


def test_open_yellow_and_overdue_querysets(report):
    event = report("0102", when=at(2026, 11, 20, 16))
    assert Event.objects.open().filter(pk=event.pk).exists()
    assert not Event.objects.yellow(at(2026, 11, 23, 10)).exists()
    assert Event.objects.yellow(at(2026, 11, 23, 10, 30)).filter(pk=event.pk).exists()
    assert Event.objects.overdue(at(2026, 11, 23, 11)).filter(pk=event.pk).exists()


def test_similar_open_events_for_duplicate_suggestions(report, area_tree):
    house = area_tree["houses"][0]
    first = report("1302", when=at(2026, 11, 16, 9), house=house, title="电梯停运")
    report("1302", when=at(2026, 11, 16, 10), location=area_tree["grids"][1], title="另一栋电梯")
    candidate = Event.objects.similar_to(category=first.category, location_area=house.area, house=house,
                                         since=at(2026, 11, 1))  # fmt: skip
    assert list(candidate) == [first]
