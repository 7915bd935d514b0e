import datetime as dt

import pytest

from linli.core.history import history_of
from linli.core.testing import make_person
from linli.registry import services
from linli.registry.choices import PersonStatus
from linli.registry.models import GroupMembership, GroupType, Membership, Person

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def twins_of_one(area_tree):
    """The same woman entered twice by two lines of work: once with her ID, once without."""
    grid, house = area_tree["grids"][0], area_tree["houses"][0]
    with_id = make_person(grid, name="陈红", birth=D(1958, 6, 1), sex="2", house=house, phone="13812340000")
    without_id = make_person(grid, name="陈红", birth=D(1958, 6, 1), sex="2", house=house, id_number="",
                             occupation="退休")  # fmt: skip
    return with_id, without_id


def test_same_name_birth_and_address_is_suspected(twins_of_one):
    keep, dup = twins_of_one
    assert [(p, reason[:5]) for p, reason in services.duplicate_candidates(keep)] == [(dup, "姓名、出生")]
    assert list(services.duplicate_pairs()) == [(keep, dup)]


def test_same_name_elsewhere_is_not_a_duplicate(area_tree):
    make_person(area_tree["grids"][0], name="刘洋", birth=D(1990, 1, 1), house=area_tree["houses"][0])
    make_person(area_tree["grids"][1], name="刘洋", birth=D(1990, 1, 1), house=area_tree["houses"][5])
    assert list(services.duplicate_pairs()) == []


def test_merge_keeps_everything(twins_of_one):
    keep, dup = twins_of_one
    household = services.create_household(number="420105000100", head=dup, date=D(2001, 1, 1))
    disabled = GroupType.objects.get(key="disabled")
    GroupMembership(
        person=dup, area=dup.area, group_type=disabled, detail={"category": "4", "grade": "2"}
    ).save()

    services.merge_persons(keep, dup, note="计生与民政重复录入")

    dup.refresh_from_db()
    keep.refresh_from_db()
    assert dup.status == PersonStatus.MERGED and dup.merged_into == keep
    assert keep.occupation == "退休"  # empty field filled from the duplicate
    assert Membership.objects.get(household=household, end_date__isnull=True).person == keep
    assert GroupMembership.objects.get(group_type=disabled).person == keep
    assert history_of(keep).filter(action="merge").exists()
    assert history_of(dup).filter(action="merge").exists()
    assert Person.objects.current().filter(name="陈红").count() == 1


def test_merge_refuses_different_id_numbers(area_tree):
    a = make_person(area_tree["grids"][0], name="周杰")
    b = make_person(area_tree["grids"][0], name="周杰")
    with pytest.raises(services.RegistryError, match="身份证号不同"):
        services.merge_persons(a, b)
    assert Person.objects.get(pk=b.pk).status == PersonStatus.ACTIVE


def test_group_detail_is_typed(area_tree):
    from django.core.exceptions import ValidationError

    person = make_person(area_tree["grids"][0])
    disabled = GroupType.objects.get(key="disabled")
    bad = GroupMembership(person=person, area=person.area, group_type=disabled, detail={"category": "9"})
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    text = str(exc.value)
    assert "残疾类别" in text and "残疾等级" in text  # unknown code and missing required field both named
    derived = GroupMembership(
        person=person, area=person.area, group_type=GroupType.objects.get(key="elderly_80")
    )
    with pytest.raises(ValidationError, match="自动计算"):
        derived.full_clean()


def test_merge_moves_event_links(twins_of_one):
    from linli.events import workflow
    from linli.events.models import Event, EventCategory

    keep, dup = twins_of_one
    event = workflow.report_event(category=EventCategory.objects.get(code="1002"), title="楼道堆物",
                                  location_area=dup.area, channel="hotline", reporter_person=dup)  # fmt: skip
    event.persons.add(dup, keep)
    services.merge_persons(keep, dup)
    event = Event.objects.get(pk=event.pk)
    assert event.reporter_person == keep
    assert list(event.persons.all()) == [keep]
