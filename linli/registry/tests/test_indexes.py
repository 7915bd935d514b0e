"""The person table carries the indexes its queries use, and no more: each is written on every insert."""

import pytest
from django.db import connection

from linli.core.models import ObjectChange
from linli.registry.models import Person, id_tail_q, phone_q

# Blind columns with an index of their own; the others are found through the 4-character tails.
INDEXED_BLIND_COLUMNS = ["id_number_bidx", "id_tail4_bidx", "phone_tail4_bidx"]
FILTER_ONLY_BLIND_COLUMNS = ["id_tail5_bidx", "id_tail6_bidx", "phone_bidx"]


def indexes_of(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c for name, c in constraints.items() if c["index"] and not c["primary_key"]}


@pytest.mark.django_db
def test_each_indexed_blind_column_has_one_plain_index_and_the_longer_tails_none():
    indexes = indexes_of(Person)
    for column in INDEXED_BLIND_COLUMNS:
        own = [name for name, c in indexes.items() if c["columns"] == [column] and not c["unique"]]
        # Equality lookups only (HMAC values): no varchar_pattern_ops twin for LIKE.
        assert len(own) == 1, (column, own)
    for column in FILTER_ONLY_BLIND_COLUMNS:
        assert not [name for name, c in indexes.items() if column in c["columns"]], column
    # The ID number's uniqueness is still enforced by its partial unique index.
    assert indexes["registry_person_one_record_per_id"]["unique"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans; SQLite scans small tables")
@pytest.mark.parametrize(
    ("condition", "index"),
    [
        (lambda: id_tail_q("12345X"), "registry_person_id_tail4_bidx"),
        (lambda: id_tail_q("2345X"), "registry_person_id_tail4_bidx"),
        (lambda: phone_q("13812345678"), "registry_person_phone_t4_bidx"),
    ],
)
def test_longer_tails_and_the_full_phone_are_looked_up_through_a_tail4_index(condition, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty test table: ask for the index path
    plan = Person.objects.filter(condition()).order_by().explain()  # the lookup, not the list order
    assert index in plan, plan


@pytest.mark.django_db
def test_history_content_type_is_indexed_through_the_object_index_only():
    indexes = indexes_of(ObjectChange)
    assert not [name for name, c in indexes.items() if c["columns"] == ["content_type_id"]]
    assert indexes["core_change_object_time"]["columns"] == ["content_type_id", "object_id", "time"]


@pytest.mark.django_db
def test_name_and_pinyin_have_one_index_each_that_answers_prefix_searches():
    indexes = indexes_of(Person)
    for column in ("name", "pinyin", "pinyin_initials"):
        own = [name for name, c in indexes.items() if c["columns"] == [column]]
        assert len(own) == 1, (column, own)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [own[0]])
                # LIKE 'prefix%' can use it whatever the database's collation is.
                assert "varchar_pattern_ops" in cursor.fetchone()[0]
