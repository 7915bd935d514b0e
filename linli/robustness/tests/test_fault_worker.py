"""Faults (a): the background worker SIGKILLed at random points of a large import.

The import is one transaction, so a kill leaves nothing of it; the next worker to start finds the
job abandoned (its lease is free while it says "importing"), queues it again, and it completes.
"""

import random

import pytest
from django.core.files import File
from django.db import connection

from linli import robustness

from .helpers import kill, linli, wait_for

ROWS = robustness.scale(6000, 40000)  # three chunks at least: the kill comes mid-import
KILLS = robustness.scale(1, 3)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_during_a_large_import(media, tmp_path, settings):
    from linli.dataio import jobs
    from linli.dataio.bench_import import bench_area, bench_user, write_ledger
    from linli.dataio.importing import CHUNK
    from linli.dataio.models import ImportJob
    from linli.registry.models import Household, Person

    settings.LINLI_IMPORT_MAX_RESTARTS = KILLS + 1
    community = bench_area(4)
    user = bench_user(community)
    ledger = tmp_path / "ledger.csv"
    households = write_ledger(ledger, ROWS, 4, seed=11)
    with open(ledger, "rb") as fh:
        job = jobs.create_job(user=user, upload=File(fh, name="ledger.csv"), kind="persons")
    job = jobs.validate(job.pk)
    assert job.status == "validated", job.message
    assert jobs.request_commit(job)
    # Queue the commit in the database, where a `linli worker` process takes it.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default", "imports", "exports"]}}  # fmt: skip
    from linli.dataio.tasks import commit_import

    commit_import.enqueue(job.pk)
    people, families = Person.objects.count(), Household.objects.count()
    rng = random.Random(robustness.MODE)  # noqa: S311 - kill points, reproducible per mode

    def progress():
        return ImportJob.objects.values_list("status", "phase", "rows_done").get(pk=job.pk)

    def reached(at_rows: int):
        status, phase, done = state = progress()
        if status != "importing" or (phase == "write" and done >= at_rows):
            return state
        return None

    for _ in range(KILLS):
        worker = linli("worker", "--queue-name", "imports")
        try:
            # A random point of the commit (one pass: check and write): as it starts, or on
            # PostgreSQL, where progress is written while its transaction runs, some chunks in.
            at_rows = rng.randrange(0, ROWS - CHUNK, CHUNK) if connection.vendor == "postgresql" else 0
            state = wait_for(lambda r=at_rows: reached(r), timeout=120, what=f"the import at row {at_rows}")
        finally:
            kill(worker)
        job.refresh_from_db()
        assert state[0] == "importing", (
            f"ended before the kill: {state} {job.message} {worker.stdout.read()[-3000:]}"
        )
        robustness.tally("faults", f"worker SIGKILL during import ({state[1]})")
        assert Person.objects.count() == people and Household.objects.count() == families, "partial import"
        assert ImportJob.objects.get(pk=job.pk).status == "importing"
    # The next worker recovers the job at start and finishes it (--batch: exit when the queue is empty).
    worker = linli("worker", "--queue-name", "imports", "--batch")
    output, _ = worker.communicate(timeout=600)
    assert worker.returncode == 0, output[-3000:]
    job.refresh_from_db()
    assert job.status == "done", (job.status, job.message, output[-2000:])
    assert job.counts.get("restarts") == KILLS
    assert job.created_count == ROWS and Person.objects.count() == people + ROWS
    assert Household.objects.count() == families + households
    robustness.tally("records lost", "import after worker kills", ROWS - job.created_count)


@pytest.mark.django_db(transaction=True)
def test_a_job_killed_too_often_fails_cleanly(media, tmp_path, settings):
    """After the allowed restarts the job is failed with a clear message and its file removed."""
    from linli.core.testing import build_area_tree, make_user
    from linli.dataio import jobs
    from linli.dataio.models import ImportJob, ImportStatus

    tree = build_area_tree()
    user = make_user("importer", "community_staff", tree["communities"][0])
    settings.LINLI_IMPORT_MAX_RESTARTS = 1
    job = ImportJob.objects.create(user=user, kind="persons", original_name="a.csv", status=ImportStatus.IMPORTING,
                                   phase="write", counts={"restarts": 1})  # fmt: skip
    assert jobs.recover_abandoned() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and "多次中断" in job.message and not job.file
    robustness.tally("faults", "job abandoned beyond the restart limit")
