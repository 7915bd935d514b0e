import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from linli.core.testing import make_person
from linli.core.validators import compose_id_number
from linli.registry.models import Person

pytestmark = pytest.mark.django_db


def test_birth_date_and_sex_are_derived_from_the_id(area_tree):
    grid = area_tree["grids"][0]
    number = compose_id_number("420105", dt.date(1975, 3, 9), 122)
    person = Person(area=grid, name="李四", id_number=number.lower())
    person.full_clean()
    person.save()
    person.refresh_from_db()
    assert person.birth_date == dt.date(1975, 3, 9)
    assert person.sex == "2"
    assert person.id_number == number


def test_disagreeing_birth_date_or_sex_is_refused(area_tree):
    number = compose_id_number("420105", dt.date(1975, 3, 9), 121)
    person = Person(
        area=area_tree["grids"][0], name="王五", id_number=number, birth_date=dt.date(1975, 3, 10), sex="2"
    )
    with pytest.raises(ValidationError) as exc:
        person.full_clean()
    assert "不一致" in str(exc.value.message_dict["birth_date"])
    assert "性别" in str(exc.value.message_dict["sex"])


def test_unknown_code_is_refused(area_tree):
    person = make_person(area_tree["grids"][0], save=False, ethnicity="77")
    with pytest.raises(ValidationError) as exc:
        person.full_clean()
    assert "ethnicity" in exc.value.message_dict


def test_id_and_phone_are_encrypted_at_rest(area_tree):
    person = make_person(area_tree["grids"][0], phone="13812345678")
    number = person.id_number
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_person WHERE id = %s", [person.pk])
        row = cursor.fetchone()
    text = " ".join(str(v) for v in row if not isinstance(v, bytes | memoryview))
    blobs = b" ".join(bytes(v) for v in row if isinstance(v, bytes | memoryview))
    assert number.encode() not in blobs and b"13812345678" not in blobs
    assert number not in text and "13812345678" not in text
    assert number[-6:] not in text  # the masked form keeps only two characters at each end
    assert person.id_number_masked == number[:2] + "*" * 14 + number[-2:]
    assert Person.objects.get(pk=person.pk).phone == "13812345678"


def test_exact_and_tail_search_through_blind_indexes(area_tree):
    person = make_person(area_tree["grids"][0], phone="13812345678")
    make_person(area_tree["grids"][1], name="旁人", phone="13900001111")
    number = person.id_number
    assert list(Person.objects.with_id_number(number.lower())) == [person]
    for n in (4, 5, 6):
        assert person in Person.objects.with_id_tail(number[-n:])
    assert not Person.objects.with_id_tail(number[-3:]).exists()
    assert list(Person.objects.with_phone("13812345678")) == [person]
    assert list(Person.objects.with_phone_tail("5678")) == [person]


def test_household_number_search_finds_current_members_once(area_tree):
    from linli.registry.models import Household, Membership
    from linli.registry.search import search_persons

    grid = area_tree["grids"][0]
    old, new = (Household.objects.create(number=n, area=grid) for n in ("4201050001", "4201050002"))
    moved, stayed = make_person(grid, name="迁走"), make_person(grid, name="留下")
    Membership.objects.create(household=old, person=moved, relation="02", end_date=dt.date(2025, 1, 1))
    Membership.objects.create(household=new, person=moved, relation="02")
    Membership.objects.create(household=old, person=stayed, relation="02")
    assert list(search_persons(Person.objects.all(), "4201050001")) == [stayed]
    assert list(search_persons(Person.objects.all(), "4201050002")) == [moved]


def test_pinyin_columns_cover_heteronym_surnames(area_tree):
    person = make_person(area_tree["grids"][0], name="单雄信")
    assert person.pinyin_initials == "dxx"
    assert " shanxiongxin " in person.pinyin_keys and " sxx " in person.pinyin_keys


def test_name_keys_hold_every_suffix_of_name_and_former_name(area_tree):
    from linli.registry.naming import name_keys

    person = make_person(area_tree["grids"][0], name="王建国", former_name="王国")
    assert person.name_keys == " 王建国 建国 国 王国 国 " == name_keys("王建国", "王国")
    person.former_name = ""
    person.save()
    assert Person.objects.get(pk=person.pk).name_keys == " 王建国 建国 国 "
    assert name_keys("", "") == ""


def test_longer_id_tails_and_full_phones_tell_apart_people_who_share_the_last_four(area_tree):
    """Searched through the 4-character tails' indexes, filtered by the longer blind values."""
    from linli.registry.search import search_persons

    by_tail4: dict[str, list[str]] = {}
    for day in range(1, 29):  # 28 birthdays, 11 possible check characters: two share their last four
        number = compose_id_number("420105", dt.date(1975, 3, day), 122)
        by_tail4.setdefault(number[-4:], []).append(number)
    first, second = next(numbers for numbers in by_tail4.values() if len(numbers) > 1)[:2]
    grid = area_tree["grids"][0]
    one = make_person(grid, name="甲", id_number=first, birth=None, sex="", phone="13812345678")
    two = make_person(grid, name="乙", id_number=second, birth=None, sex="", phone="13912345678")

    def found(text):
        return set(search_persons(Person.objects.all(), text))

    assert found(first[-4:]) == {one, two}
    for n in (5, 6):
        assert found(first[-n:]) == {one} and found(second[-n:]) == {two}
        assert set(Person.objects.with_id_tail(second[-n:])) == {two}
    assert found("5678") == {one, two}
    assert found("13912345678") == {two} and found("139 1234 5678") == {two}
    assert list(Person.objects.with_phone("+86 138 1234 5678")) == [one]


def test_name_and_pinyin_search_meaning(area_tree):
    """What the search box finds by name (the list in linli/registry/search.py), and in which order."""
    from linli.registry.search import search_persons

    grid = area_tree["grids"][0]
    jianguo = make_person(grid, name="张建国", former_name="张国")
    jian = make_person(grid, name="张建")
    other = make_person(grid, name="李建国")
    single = make_person(grid, name="单雄信")
    make_person(grid, name="王五")

    def found(text):
        return list(search_persons(Person.objects.all(), text))

    assert found("张建") == [jian, jianguo]  # the full name first, then names beginning with it
    assert found("建国") == [other, jianguo]  # any part of the name (ranked alike: by pinyin)
    assert found("国") == [other, jianguo]
    assert found("张国") == [jianguo]  # the former name
    assert found("张建国") == [jianguo]
    assert found("建 国") == []  # a space is not part of any name
    assert found("赵") == []
    assert found("zj") == [jian, jianguo]  # initials: exact before prefix
    assert found("zjg") == [jianguo]
    assert found("zhang") == [jian, jianguo]  # the start of the full pinyin
    assert found("zhangjianguo") == [jianguo]
    assert found("jianguo") == []  # a later syllable is not a prefix of any reading
    assert found("sxx") == [single]  # another reading (单 shan) counts too
    assert found("ZS") == found("zs") == []
    assert found("张%") == [] and found("张_") == []  # LIKE wildcards are literal


def test_migration_backfills_name_keys_like_derive(area_tree):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("linli.registry.migrations.0004_person_name_keys_trigram_search")
    people = [
        make_person(area_tree["grids"][0], name="王建国", former_name="王国"),
        make_person(area_tree["grids"][0], name="阿依古丽·买买提"),
        make_person(area_tree["grids"][0], name="李", former_name=""),
    ]
    wanted = {p.pk: p.name_keys for p in people}
    Person.objects.update(name_keys="")

    class Editor:  # what backfill() uses of a schema editor, inside the test's transaction
        def __init__(self):
            self.connection = connection

        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    migration.backfill(apps, Editor())
    assert dict(Person.objects.values_list("pk", "name_keys")) == wanted


def test_one_live_record_per_id_number(area_tree):
    first = make_person(area_tree["grids"][0])
    duplicate = Person(area=area_tree["grids"][1], name="张三", id_number=first.id_number)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_age_classes_are_computed_from_birth_date(area_tree):
    from linli.registry.groups import members
    from linli.registry.models import GroupType

    grid = area_tree["grids"][0]
    today = dt.date(2026, 11, 22)
    old = make_person(grid, name="老人", birth=dt.date(1946, 11, 22))  # 80 today
    almost = make_person(grid, name="将满", birth=dt.date(1946, 11, 23))  # 80 tomorrow
    elderly_80 = GroupType.objects.get(key="elderly_80")
    assert elderly_80.is_derived
    assert set(members(elderly_80, today)) == {old}
    assert elderly_80 in old.groups_on(today)
    assert elderly_80 not in almost.groups_on(today)
    assert set(Person.objects.aged(60, 79, on=today)) == {almost}


def test_bulk_paths_normalise_phones_too(area_tree):
    person = make_person(area_tree["grids"][0], save=False, phone="+86 138 1234 5678")
    person.derive()  # what bulk imports call instead of full_clean()
    assert person.phone == "13812345678" and person.phone_masked == "138****5678"
    person.save()
    assert list(Person.objects.with_phone("13812345678")) == [person]
