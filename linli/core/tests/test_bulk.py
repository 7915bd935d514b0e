"""Bulk writes (core.bulk, and history's bulk paths on top of it) store exactly what save() would."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.accounts.models import User
from linli.areas.models import Building, Unit
from linli.core import bulk, context
from linli.core.history import bulk_create, bulk_create_values, history_of
from linli.core.models import ObjectChange
from linli.core.testing import make_person, next_id_number
from linli.registry.models import Household, Membership, Person

pytestmark = pytest.mark.django_db


def test_insert_sets_keys_and_stores_what_save_would(area_tree):
    grid = area_tree["grids"][0]
    people = [
        make_person(
            grid, name=name, save=False, phone="13812345678", id_number=next_id_number(dt.date(1990, 1, 2))
        )
        for name in ("李四", "王五")
    ]
    for person in people:
        person.area_path = grid.path
        person.derive()
    bulk.insert(Person, people)
    assert all(p.pk for p in people) and not people[0]._state.adding
    stored = Person.objects.get(pk=people[1].pk)
    assert stored.name == "王五" and stored.phone == "13812345678"  # decrypts: encrypted on the way in
    assert stored.id_number == people[1].id_number and stored.id_number_bidx == people[1].id_number_bidx
    assert stored.created_at is not None and stored.updated_at is not None  # auto_now(_add) stamped
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM registry_person WHERE id = %s", [stored.pk])
        (raw,) = cursor.fetchone()
    assert "13812345678" not in str(raw)


def test_insert_takes_the_key_of_a_related_object_saved_after_assignment(area_tree):
    grid = area_tree["grids"][0]
    building = Building(area=grid, name="9栋", street_address="测试路9号")
    unit = Unit(area=grid, building=building, name="1单元")
    building.save()  # after the assignment: unit.building_id is still empty here
    bulk.insert(Unit, [unit])
    assert Unit.objects.get(pk=unit.pk).building_id == building.pk


def test_maker_builds_what_keyword_construction_builds(area_tree):
    from linli.core.history import raw_state
    from linli.registry.models import GroupType

    grid = area_tree["grids"][0]
    values = {"name": "李四", "id_number": "420105199001020011", "sex": "1", "birth_date": dt.date(1990, 1, 2),
              "area_id": grid.pk, "area_path": grid.path, "house_id": None, "phone": "13812345678"}  # fmt: skip
    made, built = bulk.maker(Person)(dict(values)), Person(**values)
    assert made._state.adding and made.pk is None
    assert raw_state(made) == raw_state(built)
    # A callable default (JSONField(default=list)) is called per instance, never shared.
    make = bulk.maker(GroupType)
    first, second = make({}), make({})
    assert first.detail_schema == [] and first.detail_schema is not second.detail_schema


def test_among_finds_what_in_finds(area_tree):
    grid = area_tree["grids"][0]
    born = dt.date(1991, 2, 3)
    people = [
        make_person(grid, name=n, birth=born, id_number=next_id_number(born)) for n in ("甲", "乙", "丙")
    ]
    wanted = [people[0].id_number_bidx, people[2].id_number_bidx, "0" * 32]
    found = Person.objects.filter(bulk.among(Person, "id_number_bidx", wanted)).exclude(name="丙")
    assert list(found.values_list("name", flat=True)) == ["甲"]
    assert not Person.objects.filter(bulk.among(Person, "id_number_bidx", [])).exists()


def test_insert_values_returns_keys_in_order(area_tree):
    grid = area_tree["grids"][0]
    household = Household.objects.create(number="H1", area=grid)
    people = [make_person(grid, name=n) for n in ("甲", "乙")]
    rows = [{"household_id": household.pk, "person_id": p.pk, "relation": r, "start_date": dt.date(2026, 1, 1),
             "end_date": None, "end_reason": ""} for p, r in zip(people, ("02", "10"), strict=True)]  # fmt: skip
    keys = bulk.insert_values(Membership, rows, returning=True)
    assert [Membership.objects.get(pk=k).person_id for k in keys] == [p.pk for p in people]


def test_drawn_keys_are_never_handed_out_again(area_tree):
    grid = area_tree["grids"][0]
    first = Household.objects.create(number="H0", area=grid)
    drawn = bulk.draw_keys(Household, 3)
    assert len(set(drawn)) == 3 and min(drawn) > first.pk
    assert bulk.draw_keys(Household, 0) == []
    later = Household.objects.create(number="H4", area=grid)  # an ordinary insert after the draw
    assert later.pk > max(drawn)
    again = bulk.draw_keys(Household, 2)
    assert min(again) > later.pk


def test_loads_built_apart_write_what_insert_writes(area_tree):
    grid = area_tree["grids"][0]
    household = Household(number="L1", area=grid, area_path=grid.path, registered_address="测试路1号")
    keys = bulk.draw_keys(Household, 1)
    load = bulk.object_load(Household, [household], keys, connection=connection)
    assert household.pk == keys[0] and not household._state.adding
    member = make_person(grid, name="甲")
    row = {"household_id": keys[0], "person_id": member.pk, "relation": "02", "start_date": dt.date(2026, 1, 1),
           "end_date": None, "end_reason": ""}  # fmt: skip
    membership_keys = bulk.draw_keys(Membership, 1)
    links = bulk.values_load(Membership, [row], membership_keys, connection=connection)
    bulk.send(load, connection=connection)
    bulk.send(links, connection=connection)
    stored = Household.objects.get(pk=keys[0])
    assert (stored.number, stored.registered_address, stored.area_path) == ("L1", "测试路1号", grid.path)
    assert Membership.objects.get(pk=membership_keys[0]).person_id == member.pk


def test_insert_values_refuses_rows_without_a_required_column(area_tree, on_postgres):
    if not on_postgres:
        pytest.skip("other databases build instances, whose defaults fill the gap")
    with pytest.raises(ValueError, match="end_reason"):
        bulk.insert_values(Membership, [{"household_id": 1, "person_id": 1, "relation": "02"}])


def test_bulk_create_writes_one_creation_record_per_object(area_tree):
    grid = area_tree["grids"][0]
    user = User.objects.create_user("importer", password="x")
    households = [Household(number=f"B{n}", area=grid, area_path=grid.path) for n in range(3)]
    with context.acting(user, channel=context.Channel.IMPORT):
        bulk_create(Household, households, note="导入")
    for household in households:
        (change,) = history_of(household)
        assert change.action == "create" and change.channel == "import" and change.user == user
        assert change.object_repr == household.number and change.area_path == grid.path
        assert change.note == "导入" and change.prechange is None and change.postchange is None
        assert change.seal_seq is None and change.hash == ""  # unsealed, as any new row


def test_bulk_create_values_records_the_given_names(area_tree):
    grid = area_tree["grids"][0]
    household = Household.objects.create(number="H2", area=grid)
    person = make_person(grid, name="丙")
    before = ObjectChange.objects.count()
    with context.acting(None, channel=context.Channel.IMPORT):
        (key,) = bulk_create_values(Membership, [{"household_id": household.pk, "person_id": person.pk,
                                                  "relation": "02", "start_date": None, "end_date": None,
                                                  "end_reason": ""}], ["丙 ∈ H2"])  # fmt: skip
    membership = Membership.objects.get(pk=key)
    assert str(membership) == "丙 ∈ H2"
    (change,) = history_of(membership)
    assert change.object_repr == str(membership) and change.channel == "import"
    assert ObjectChange.objects.count() == before + 1


def test_analyze_runs_on_either_database(area_tree):
    make_person(area_tree["grids"][0])
    bulk.analyze(Person, Household, ObjectChange)  # no error, and the data is untouched
    assert Person.objects.count() == 1


def test_analyze_narrowed_to_fields_counts_the_rows_and_samples_those_columns(area_tree):
    for _ in range(3):
        make_person(area_tree["grids"][0])
    with CaptureQueriesContext(connection) as queries:
        bulk.analyze(Person, Household, fields={Person: ("id_number_bidx", "status")})
    sql = [q["sql"] for q in queries.captured_queries if "ANALYZE" in q["sql"]]
    if connection.vendor != "postgresql":
        assert sql == ['ANALYZE "registry_person"', 'ANALYZE "registry_household"']  # no column lists there
        return
    assert sql == ['ANALYZE "registry_person" ("id_number_bidx", "status"), "registry_household"']
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'registry_person'")
        assert cursor.fetchone()[0] == Person.objects.count()  # the row count refreshed all the same
        cursor.execute(
            "SELECT n_distinct FROM pg_stats WHERE tablename = 'registry_person' AND attname = 'id_number_bidx'"
        )
        assert cursor.fetchone()[0] == -1  # every value distinct: key lookups plan as index scans


def test_insert_keeps_keys_chosen_by_the_caller(area_tree):
    grid = area_tree["grids"][0]
    households = [Household(pk=900_001 + n, number=f"K{n}", area=grid, area_path=grid.path) for n in range(2)]
    bulk.insert(Household, households)
    assert sorted(Household.objects.filter(number__startswith="K").values_list("pk", flat=True)) == [
        900_001,
        900_002,
    ]


def test_update_writes_encrypted_json_nullable_and_foreign_key_fields_by_key(area_tree):
    grid, other_grid = area_tree["grids"][0], area_tree["grids"][1]
    people = [make_person(grid, name=name, phone="13800000000") for name in ("赵一", "钱二", "孙三")]
    untouched = make_person(grid, name="李四", phone="13900000000")
    for n, person in enumerate(people):
        person.phone = f"1370000000{n}"
        person.area = other_grid
        person.note = f"第{n}条 'quoted' \\ back\\slash"
        person.inflow_date = dt.date(2026, 1, n + 1) if n else None
    assert bulk.update(Person, people, ["phone", "area", "note", "inflow_date"], batch_size=2) == 3
    for n, person in enumerate(Person.objects.filter(pk__in=[p.pk for p in people]).order_by("pk")):
        assert person.phone == f"1370000000{n}" and person.area_id == other_grid.pk
        assert person.note == f"第{n}条 'quoted' \\ back\\slash"
        assert person.inflow_date == (dt.date(2026, 1, n + 1) if n else None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM registry_person WHERE id = %s", [people[0].pk])
        (raw,) = cursor.fetchone()
    assert "13700000000" not in str(raw)  # encrypted on the way in, as save() would
    untouched.refresh_from_db()
    assert untouched.phone == "13900000000" and untouched.area_id == grid.pk and untouched.note == ""


def test_update_writes_json_and_refuses_the_primary_key(area_tree):
    from linli.registry.models import GroupMembership, GroupType

    person = make_person(area_tree["grids"][0])
    group_type = GroupType.objects.get(key="veteran")
    membership = GroupMembership.objects.create(person=person, group_type=group_type, area=person.area)
    membership.detail = {"等级": "一级", "items": [1, 2, None], "nested": {"ok": True}}
    assert bulk.update(GroupMembership, [membership], ["detail"]) == 1
    membership.refresh_from_db()
    assert membership.detail == {"等级": "一级", "items": [1, 2, None], "nested": {"ok": True}}
    with pytest.raises(ValueError, match="non-key"):
        bulk.update(GroupMembership, [membership], ["id"])
    assert bulk.update(GroupMembership, [], ["detail"]) == 0
