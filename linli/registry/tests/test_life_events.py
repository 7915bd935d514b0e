import datetime as dt

import pytest

from linli.core.history import HardDeleteForbidden, history_of
from linli.core.testing import make_person
from linli.registry import services
from linli.registry.choices import HEAD_RELATION, HouseholdStatus, PersonStatus
from linli.registry.models import Household, LifeEvent, Membership, Person

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def family(area_tree):
    """户主 张建国 with his wife and son in one house."""
    grid, house = area_tree["grids"][0], area_tree["houses"][0]
    head = make_person(grid, name="张建国", birth=D(1960, 4, 1), house=house)
    wife = make_person(grid, name="李秀英", birth=D(1962, 8, 3), sex="2", house=house)
    son = make_person(grid, name="张伟", birth=D(1988, 1, 9), house=house)
    household = services.create_household(number="420105000001", head=head, house=house, date=D(2000, 1, 1))
    services.move_in(wife, household=household, relation="12", date=D(2000, 1, 1))
    services.move_in(son, household=household, relation="20", date=D(2000, 1, 1))
    return {
        "household": household,
        "head": head,
        "wife": wife,
        "son": son,
        "grid": grid,
        "area_tree": area_tree,
    }


def members(household):
    return {m.person.name: m.relation for m in household.current_members()}


def test_household_head_is_the_member_with_relation_02(family):
    household = Household.objects.with_head().get(pk=family["household"].pk)
    assert household.head_name == "张建国"
    assert household.head == family["head"]


def test_birth(family):
    baby = make_person(family["grid"], name="张小宝", birth=D(2026, 10, 1), save=False)
    services.record_birth(baby, household=family["household"], relation="40")
    assert members(family["household"])["张小宝"] == "40"
    event = LifeEvent.objects.get(kind="birth")
    assert event.person == baby and event.date == D(2026, 10, 1)
    assert baby.house == family["household"].house


def test_death_of_the_head_needs_a_successor(family):
    with pytest.raises(services.RegistryError, match="新户主"):
        services.record_death(family["head"], date=D(2026, 5, 1))
    services.record_death(family["head"], date=D(2026, 5, 1), new_head=family["wife"])
    head = Person.objects.get(pk=family["head"].pk)
    assert head.status == PersonStatus.DECEASED and head.status_date == D(2026, 5, 1)
    assert members(family["household"]) == {"李秀英": HEAD_RELATION, "张伟": "20"}
    ended = Membership.objects.get(person=head)
    assert ended.end_date == D(2026, 5, 1)
    assert LifeEvent.objects.filter(kind="death", person=head).exists()


def test_move_out_of_the_last_member_dissolves_the_household(area_tree):
    grid = area_tree["grids"][1]
    alone = make_person(grid, name="独居者", birth=D(1950, 1, 1))
    household = services.create_household(number="420105000009", head=alone, date=D(2010, 1, 1))
    services.move_out(alone, date=D(2026, 3, 1), place="湖北省孝感市")
    household.refresh_from_db()
    assert household.status == HouseholdStatus.DISSOLVED
    assert Person.objects.get(pk=alone.pk).status == PersonStatus.MOVED_OUT
    assert LifeEvent.objects.get(kind="move_out").place == "湖北省孝感市"


def test_move_between_households(family):
    other_head = make_person(family["grid"], name="王芳", birth=D(1989, 2, 2), sex="2")
    other = services.create_household(number="420105000002", head=other_head, date=D(2015, 1, 1))
    services.move_in(family["son"], household=other, relation="10", date=D(2026, 6, 1))
    assert "张伟" not in members(family["household"])
    assert members(other) == {"王芳": HEAD_RELATION, "张伟": "10"}
    assert LifeEvent.objects.filter(kind="move_within", person=family["son"]).exists()


def test_split_household(family):
    new = services.split_household(
        family["household"],
        members={family["son"]: HEAD_RELATION},
        new_number="420105000003",
        date=D(2026, 7, 1),
    )
    assert members(new) == {"张伟": HEAD_RELATION}
    assert members(family["household"]) == {"张建国": HEAD_RELATION, "李秀英": "12"}
    event = LifeEvent.objects.get(kind="split")
    assert event.household == family["household"] and event.other_household == new


def test_split_is_refused_when_it_makes_no_sense(family):
    with pytest.raises(services.RegistryError, match="户主"):
        services.split_household(family["household"], members={family["head"]: HEAD_RELATION},
                                 new_number="x1", date=D(2026, 7, 1))  # fmt: skip
    with pytest.raises(services.RegistryError, match="有且只有一名户主"):
        services.split_household(family["household"], members={family["son"]: "20"}, new_number="x2",
                                 date=D(2026, 7, 1))  # fmt: skip
    assert Household.objects.count() == 1  # nothing half-done


def test_merge_households(family):
    other_head = make_person(family["grid"], name="张奶奶", birth=D(1935, 1, 1), sex="2")
    other = services.create_household(number="420105000004", head=other_head, date=D(1990, 1, 1))
    services.merge_households(other, family["household"], relations={other_head: "52"}, date=D(2026, 8, 1))
    other.refresh_from_db()
    assert other.status == HouseholdStatus.DISSOLVED
    assert members(family["household"])["张奶奶"] == "52"


def test_persons_and_households_cannot_be_hard_deleted(family):
    loner = make_person(family["grid"], name="无户人员")
    for target in (loner, family["head"], family["household"]):
        with pytest.raises(HardDeleteForbidden):
            target.delete()
    with pytest.raises(HardDeleteForbidden):
        Person.objects.filter(pk=loner.pk).delete()
    with pytest.raises(HardDeleteForbidden):
        Membership.objects.all().delete()
    assert Person.objects.count() == 4 and Membership.objects.count() == 3


def test_life_events_leave_history(family):
    services.move_out(family["son"], date=D(2026, 9, 1))
    change = history_of(family["son"]).filter(action="update").latest("id")
    assert change.prechange["status"] == "active" and change.postchange["status"] == "moved_out"
    assert change.note.startswith("迁出")


def test_a_dead_heads_membership_ends_with_death(family):
    services.record_death(family["head"], date=D(2026, 5, 1), new_head=family["wife"])
    assert Membership.objects.get(person=family["head"]).end_reason == "death"


def test_a_second_record_with_the_same_id_is_a_clear_error(family):
    from django.core.exceptions import ValidationError

    twin = Person(area=family["grid"], name="冒名", id_number=family["son"].id_number)
    with pytest.raises(ValidationError) as exc:
        services.move_in(twin, household=family["household"], relation="20", date=D(2026, 1, 1))
    assert "已登记" in str(exc.value)
    assert Person.objects.filter(name="冒名").count() == 0
