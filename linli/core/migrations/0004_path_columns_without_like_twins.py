"""Indexed area paths lose the ``varchar_pattern_ops`` twin Django gave each of them on PostgreSQL.

A path column is in the ``C`` collation, where its plain B-tree answers ``LIKE 'prefix%'`` as
well as the byte-order ranges of the scope filters: the twin was only written on every insert (at
1M imported persons, ~2.5 % of writing the person table, and one more index on the 2.3M history
rows). ``PathField`` no longer creates it (see its ``db_type``); this drops the existing ones,
instant at any size. No way back is needed: nothing uses them.
"""

from django.db import migrations

from linli.core.fields import indexed_path_fields


def drop_like_twins(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # only PostgreSQL had them
    quote = schema_editor.quote_name
    for model, field in indexed_path_fields(apps.get_models()):
        # The name Django gave the twin (a hash of table and column, as for every index).
        twin = schema_editor._create_index_name(model._meta.db_table, [field.column], suffix="_like")
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(twin)}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_objectchange_content_type_no_own_index"),
        ("accounts", "0003_load_roles"),
        ("areas", "0002_initial"),
        ("audit", "0001_initial"),
        ("dataio", "0002_community_stats"),
        ("events", "0002_load_categories_and_calendar"),
        ("grid", "0002_load_visit_rules"),
        ("registry", "0008_person_tails_and_phone_found_through_tail4"),
    ]

    operations = [migrations.RunPython(drop_like_twins, migrations.RunPython.noop, elidable=True)]
