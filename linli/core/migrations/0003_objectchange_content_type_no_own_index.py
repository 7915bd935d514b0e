"""The history's content-type column loses its own index: ``core_change_object_time`` starts with it.

Only the index goes (SeparateDatabaseAndState): an AlterField would drop and re-validate the
foreign key on PostgreSQL and copy the whole table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models


def _index_name(schema_editor, apps) -> tuple[str, str]:
    table = apps.get_model("core", "ObjectChange")._meta.db_table
    return table, schema_editor._create_index_name(table, ["content_type_id"], suffix="")


def forwards(apps, schema_editor):
    _table, name = _index_name(schema_editor, apps)
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def backwards(apps, schema_editor):
    table, name = _index_name(schema_editor, apps)
    quote = schema_editor.quote_name
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} ({quote('content_type_id')})")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0002_chain"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="objectchange",
                    name="content_type",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
            ],
        ),
    ]
