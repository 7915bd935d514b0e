"""The person table carries the indexes its queries use, and no more: each is written on every insert."""

import pytest
from django.db import connection

from linli.core.models import ObjectChange
from linli.registry.models import Person

BLIND_COLUMNS = [
    "id_number_bidx",
    "id_tail4_bidx",
    "id_tail5_bidx",
    "id_tail6_bidx",
    "phone_bidx",
    "phone_tail4_bidx",
]


def indexes_of(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: c for name, c in constraints.items() if c["index"] and not c["primary_key"]}


@pytest.mark.django_db
def test_each_blind_index_column_has_one_plain_index():
    indexes = indexes_of(Person)
    for column in BLIND_COLUMNS:
        own = [name for name, c in indexes.items() if c["columns"] == [column] and not c["unique"]]
        # Equality lookups only (HMAC values): no varchar_pattern_ops twin for LIKE.
        assert len(own) == 1, (column, own)
    # The ID number's uniqueness is still enforced by its partial unique index.
    assert indexes["registry_person_one_record_per_id"]["unique"]


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
