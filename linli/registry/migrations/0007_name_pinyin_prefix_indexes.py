"""Name, pinyin and initials keep one index each: the pattern-ops one their prefix searches use.

``db_index=True`` gave each a plain B-tree and a ``varchar_pattern_ops`` twin. Searches are
prefix matches (``LIKE 'zh%'``), which only the twin answers in every collation, and it answers
equality too; ordering and equality on the name have ``registry_person_name_birth``, the lists'
order ``registry_person_path_pinyin``. The twins are renamed and the plain ones dropped: instant
at any size. (SQLite has no pattern-ops indexes: its plain one is recreated under the new name.)
"""

from django.db import migrations, models

FIELDS = {
    "name": "registry_person_name_prefix",
    "pinyin": "registry_person_pinyin_prefix",
    "pinyin_initials": "registry_person_initial_prefix",
}
MAX_LENGTH = {"name": 50, "pinyin": 100, "pinyin_initials": 20}
VERBOSE = {"name": "姓名", "pinyin": "拼音", "pinyin_initials": "拼音首字母"}


def _old_name(schema_editor, table: str, column: str, suffix: str = "") -> str:
    """The name Django gave the ``db_index=True`` index (a hash of table and column)."""
    return schema_editor._create_index_name(table, [column], suffix=suffix)


def forwards(apps, schema_editor):
    table = apps.get_model("registry", "Person")._meta.db_table
    quote = schema_editor.quote_name
    for column, name in FIELDS.items():
        plain = _old_name(schema_editor, table, column)
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(plain)}")
        if schema_editor.connection.vendor == "postgresql":
            like = _old_name(schema_editor, table, column, "_like")
            schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(like)} RENAME TO {quote(name)}")
        else:
            schema_editor.execute(f"CREATE INDEX {quote(name)} ON {quote(table)} ({quote(column)})")


def backwards(apps, schema_editor):
    table = apps.get_model("registry", "Person")._meta.db_table
    quote = schema_editor.quote_name
    for column, name in FIELDS.items():
        plain = _old_name(schema_editor, table, column)
        if schema_editor.connection.vendor == "postgresql":
            like = _old_name(schema_editor, table, column, "_like")
            schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(name)} RENAME TO {quote(like)}")
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(plain)} ON {quote(table)} ({quote(column)})")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_blind_index_plain_btrees"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                *(
                    migrations.AlterField(
                        model_name="person",
                        name=column,
                        field=models.CharField(
                            max_length=MAX_LENGTH[column],
                            verbose_name=VERBOSE[column],
                            **({} if column == "name" else {"blank": True, "editable": False}),
                        ),
                    )
                    for column in FIELDS
                ),
                *(
                    migrations.AddIndex(
                        model_name="person",
                        index=models.Index(fields=[column], name=name, opclasses=["varchar_pattern_ops"]),
                    )
                    for column, name in FIELDS.items()
                ),
            ],
        ),
    ]
