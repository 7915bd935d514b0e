"""Area-path columns: byte-ordered (C collation), one plain B-tree each, which also answers prefixes."""

import re

import pytest
from django.apps import apps
from django.db import connection

from linli.core.fields import indexed_path_fields
from linli.registry.models import Household

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="collations and pattern-ops indexes are PostgreSQL's"
    ),
]


def test_every_indexed_path_column_is_in_c_and_has_no_pattern_ops_twin():
    columns = [
        (model._meta.db_table, field.column) for model, field in indexed_path_fields(apps.get_models())
    ]
    assert ("registry_person", "area_path") in columns and ("core_objectchange", "area_path") in columns
    with connection.cursor() as cursor:
        for table, column in columns:
            cursor.execute(
                "SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation "
                "WHERE a.attrelid = %s::regclass AND a.attname = %s",
                [table, column],
            )
            assert cursor.fetchone() == ("C",), (table, column)
            indexes = connection.introspection.get_constraints(cursor, table)
            own = [
                name
                for name, c in indexes.items()
                if (c["index"] or c["unique"]) and c["columns"] == [column]
            ]
            assert own, (table, column)
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                           [table, f"%({column} varchar_pattern_ops)%"])  # fmt: skip
            assert cursor.fetchall() == [], (table, column)


def test_a_prefix_match_on_a_path_uses_its_plain_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty test table: ask for the index path
    plan = Household.objects.filter(area_path__startswith="0001000A").order_by().only("pk").explain()
    # The prefix becomes a byte range on a plain B-tree of area_path (no pattern-ops index is left).
    assert re.search(
        r"Index Cond: .*area_path\)?(::text)? >= '0001000A'.*area_path\)?(::text)? < '0001000B'", plan
    ), plan


def test_the_migration_drops_the_twins_an_older_schema_has():
    import importlib

    migration = importlib.import_module("linli.core.migrations.0004_path_columns_without_like_twins")
    with connection.schema_editor() as editor:
        twin = editor._create_index_name("registry_person", ["area_path"], suffix="_like")
        editor.execute(f'CREATE INDEX "{twin}" ON registry_person (area_path varchar_pattern_ops)')
        migration.drop_like_twins(apps, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [twin])
        assert cursor.fetchone() == (0,)
