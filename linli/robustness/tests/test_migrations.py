"""Migrations forward and backward on a populated database.

Every data migration must be reversible or say why not (``irreversible_reason`` on the migration).
On the demo district, every Linli app is migrated back to its first migration (long mode: to
zero) and forward again; the row counts of every table must be what they were.
"""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython, RunSQL

from linli import robustness

LINLI_APPS = [c.label for c in apps.get_app_configs() if c.name.startswith("linli.")]


def linli_migrations():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {key: m for key, m in loader.disk_migrations.items() if key[0] in LINLI_APPS}


def test_data_migrations_are_reversible_or_say_why():
    problems = []
    for (app, name), migration in sorted(linli_migrations().items()):
        for operation in migration.operations:
            irreversible = (isinstance(operation, RunPython) and operation.reverse_code is None) or (
                isinstance(operation, RunSQL) and operation.reverse_sql is None
            )
            if irreversible and not getattr(migration, "irreversible_reason", ""):
                problems.append(f"{app}.{name}: {type(operation).__name__} has no reverse and no reason")
    assert not problems, problems


def row_counts() -> dict[str, int]:
    tables = set(connection.introspection.table_names())
    return {
        m._meta.label: m._base_manager.count()
        for m in apps.get_models()
        if m._meta.app_label in LINLI_APPS and m._meta.managed and m._meta.db_table in tables
    }


@pytest.mark.django_db(transaction=True)
def test_backward_and_forward_on_the_demo_district(media):
    call_command("demo", "--people", str(robustness.scale(60, 1000)), "--event-days", "3", stdout=StringIO())
    before = row_counts()
    assert before["registry.Person"] > 0 and before["events.Event"] > 0
    migrations = linli_migrations()
    # An app's initial schema may be split over several "initial" migrations (circular foreign
    # keys: 0002_initial adds them); going below the last of them would drop required columns.
    firsts = {}
    for (app, name), migration in sorted(migrations.items()):
        if migration.initial or app not in firsts:
            firsts[app] = name
    targets = {app: "zero" for app in firsts} if robustness.LONG else firsts
    # Dependents first, so each step only unapplies what it names.
    for app in reversed(LINLI_APPS):
        if app in targets:
            call_command("migrate", app, targets[app], verbosity=0)
            robustness.tally("migrations", f"{app} back to {targets[app]}")
    middle = row_counts()
    # Tables of the initial migrations stay with their rows (later columns come back with their
    # defaults); tables that later migrations create, or that depend on them, are dropped — that
    # data cannot survive going below them, the schema does not allow it.
    kept = {label: n for label, n in before.items() if label in middle}
    if not robustness.LONG:
        assert kept and middle == kept, {k: (n, middle[k]) for k, n in kept.items() if middle[k] != n}
    call_command("migrate", verbosity=0)
    robustness.tally("migrations", "all forward again")
    after = row_counts()
    assert set(after) == set(before), "the schema is whole again"
    if not robustness.LONG:
        assert {k: after[k] for k in kept} == kept, {
            k: (n, after[k]) for k, n in kept.items() if after[k] != n
        }
        robustness.tally("migrations (rows)", "rows kept through back-and-forth", sum(kept.values()))
        robustness.tally("records lost", "migrations back and forth (tables kept)",
                         sum(kept.values()) - sum(after[k] for k in kept))  # fmt: skip
