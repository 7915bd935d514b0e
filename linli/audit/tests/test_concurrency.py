"""Sealers running at the same time, beside writers, never fork a chain.

The threads use their own connections and commit for real, so the test does not need a
transactional test case: it cleans up what the threads committed instead of flushing the whole
database (a flush would also wipe the roles and code tables that migrations loaded).
"""

import threading

import pytest
from django.conf import settings
from django.db import connection, transaction

from linli.audit import events
from linli.audit.models import AuditEvent
from linli.core import chain

SEALERS = 4
SEEDED = 300
WRITES = 200


def run_threads(*targets) -> list[Exception]:
    errors = []
    barrier = threading.Barrier(len(targets))

    def wrap(target):
        try:
            barrier.wait()
            target()
        except Exception as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def seed():
    AuditEvent.objects.bulk_create([AuditEvent(event=events.EXPORT, detail={"n": i}) for i in range(SEEDED)])


def write():
    for i in range(WRITES):
        AuditEvent.objects.create(event=events.IMPORT, detail={"n": i})


def sealer():
    for _ in range(20):
        chain.seal(AuditEvent, batch=25)


def cleanup():
    with transaction.atomic():
        chain.allow_purge()
        AuditEvent.objects.all()._raw_delete("default")
        chain.ChainHead.objects.filter(chain="audit.auditevent").delete()


# Decided at collection: SQLite takes one writer at a time, so there is nothing to race.
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="concurrent sealers are a PostgreSQL concern; SQLite serialises every writer",
)
@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_sealers_keep_the_chain_linear():
    assert run_threads(seed) == []
    try:
        assert run_threads(write, *[sealer] * SEALERS) == []
        assert run_threads(lambda: chain.seal(AuditEvent)) == []
        # Read-only from here on: the test's own transaction must not lock the chain head.
        rows = list(AuditEvent.objects.order_by("seal_seq").values_list("seal_seq", "prev_hash", "hash"))
        assert len(rows) == SEEDED + WRITES
        assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
        prev = chain.genesis("audit.auditevent")
        for _, prev_hash, digest in rows:
            assert prev_hash == prev
            prev = digest
        report = chain.verify(AuditEvent)
        assert report.ok and report.checked == len(rows)
    finally:
        assert run_threads(cleanup) == []
