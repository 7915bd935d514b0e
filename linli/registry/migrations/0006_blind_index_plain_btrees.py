"""Blind-index columns keep one plain B-tree each; the ``varchar_pattern_ops`` twins go.

``db_index=True`` on a CharField gives PostgreSQL a second index for ``LIKE 'prefix%'``. Blind
indexes (HMACs) are only compared for equality, so the six twins only cost: every insert and
update of a person maintained 30 indexes, now 24 (a 1,000,000-row import writes each of them a
million times). The plain indexes are renamed, not rebuilt, so the migration is instant at any size.
"""

from django.db import migrations, models

FIELDS = {
    "id_number_bidx": "registry_person_id_bidx",
    "id_tail4_bidx": "registry_person_id_tail4_bidx",
    "id_tail5_bidx": "registry_person_id_tail5_bidx",
    "id_tail6_bidx": "registry_person_id_tail6_bidx",
    "phone_bidx": "registry_person_phone_bidx",
    "phone_tail4_bidx": "registry_person_phone_t4_bidx",
}


def _old_name(schema_editor, table: str, column: str, suffix: str = "") -> str:
    """The name Django gave the ``db_index=True`` index (a hash of table and column)."""
    return schema_editor._create_index_name(table, [column], suffix=suffix)


def forwards(apps, schema_editor):
    table = apps.get_model("registry", "Person")._meta.db_table
    quote = schema_editor.quote_name
    for column, name in FIELDS.items():
        old = _old_name(schema_editor, table, column)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(_old_name(schema_editor, table, column, '_like'))}")
            schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(old)} RENAME TO {quote(name)}")
        else:  # SQLite cannot rename an index; its tables here are small
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old)}")
            schema_editor.execute(f"CREATE INDEX {quote(name)} ON {quote(table)} ({quote(column)})")


def backwards(apps, schema_editor):
    table = apps.get_model("registry", "Person")._meta.db_table
    quote = schema_editor.quote_name
    for column, name in FIELDS.items():
        old = _old_name(schema_editor, table, column)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(name)} RENAME TO {quote(old)}")
            like = _old_name(schema_editor, table, column, "_like")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {quote(like)} ON {quote(table)} ({quote(column)} varchar_pattern_ops)"
            )
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
            schema_editor.execute(f"CREATE INDEX {quote(old)} ON {quote(table)} ({quote(column)})")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_list_order_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                *(
                    migrations.AlterField(
                        model_name="person",
                        name=column,
                        field=models.CharField(blank=True, editable=False, max_length=32),
                    )
                    for column in FIELDS
                ),
                *(
                    migrations.AddIndex(
                        model_name="person", index=models.Index(fields=[column], name=name)
                    )
                    for column, name in FIELDS.items()
                ),
            ],
        ),
    ]
