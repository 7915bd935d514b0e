"""The PostgreSQL trigger: sealed history cannot be edited or deleted, except by the purge."""

import pytest
from django.db import DatabaseError, connection, transaction

from linli.audit import events, record
from linli.audit.models import AuditEvent
from linli.audit.services import seal_all
from linli.core import chain
from linli.core.history import history_of
from linli.core.testing import make_person

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only(on_postgres):
    if not on_postgres:
        pytest.skip("the guard trigger exists on PostgreSQL only; SQLite relies on the chain")


@pytest.fixture
def rows(area_tree):
    person = make_person(area_tree["grids"][0])
    record(events.REVEAL, obj=person, purpose="核实")
    return AuditEvent.objects.get(), history_of(person).get()


def refused(fn):
    with pytest.raises(DatabaseError, match="linli"), transaction.atomic():
        fn()


@pytest.mark.parametrize("which", [0, 1], ids=["audit", "changes"])
def test_content_is_immutable_before_and_after_sealing(rows, which):
    row = rows[which]
    model = type(row)
    refused(lambda: model._base_manager.filter(pk=row.pk).update(object_repr="改"))
    seal_all()
    refused(lambda: model._base_manager.filter(pk=row.pk).update(object_repr="改"))
    refused(lambda: model._base_manager.filter(pk=row.pk).update(hash="0" * 64))
    refused(lambda: model._base_manager.filter(pk=row.pk).update(seal_seq=None))
    with connection.cursor() as cursor:
        refused(lambda: cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [row.pk]))  # noqa: S608 (table name from the model)
    # What SET_NULL on the user does stays possible.
    model._base_manager.filter(pk=row.pk).update(user=None)


def test_deletion_is_allowed_inside_a_purge_transaction(rows):
    seal_all()
    event = rows[0]
    with transaction.atomic():
        chain.allow_purge()
        AuditEvent.objects.filter(pk=event.pk)._raw_delete("default")
    assert not AuditEvent.objects.filter(pk=event.pk).exists()
