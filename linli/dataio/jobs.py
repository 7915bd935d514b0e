"""Import jobs from upload to done: store, check safety, dry run, commit — inline or in the background.

State moves only forward and only from the expected state (compare-and-swap on ``status``), so a
double click or a retried task cannot commit a file twice.
"""

import csv
import fcntl
import io
import logging
from contextlib import contextmanager
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from linli.audit import events as audit_events
from linli.audit import record as audit_record

from . import conf
from .importing import ImportAborted, Report, Run
from .models import ImportJob, ImportStatus
from .persons import SPECS
from .safety import UnsafeFile, check_file, check_size, file_type_of

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1  # chunks between progress writes (a chunk is 2,000 rows)
QUEUED = "queued"


class JobRefused(Exception):
    """The upload was refused before parsing; the job is stored as failed with the reason."""


def create_job(*, user, upload, kind: str, area=None) -> ImportJob:
    """Store an upload as a job and run the checks that need no parsing.

    The cheap checks (extension, declared size) run before anything is written to disk; the
    content checks (magic bytes, zip structure, encoding) run on the stored file.
    """
    job = ImportJob(
        user=user,
        kind=kind,
        original_name=(upload.name or "")[:255],
        file_size=upload.size or 0,
        area=area,
        area_path=area.path if area is not None else "",
    )
    try:
        job.file_type = file_type_of(upload.name)
        check_size(upload.size or 0)
    except UnsafeFile as exc:
        _refuse(job, str(exc))
        raise JobRefused(str(exc)) from exc
    job.file.save(upload.name, upload, save=False)
    try:
        checked = check_file(_path(job), upload.name)
    except UnsafeFile as exc:
        job.discard_file()
        _refuse(job, str(exc))
        raise JobRefused(str(exc)) from exc
    job.encoding = checked.encoding
    _save(job)
    return job


def _save(job: ImportJob) -> None:
    """Save what a job step owns; ``task_id`` is written by whoever enqueued it, possibly meanwhile."""
    if job.pk is None:
        job.save()
    else:
        job.save(update_fields=[f.name for f in job._meta.concrete_fields if f.name not in ("id", "task_id")])


def _refuse(job: ImportJob, reason: str) -> None:
    job.status = ImportStatus.FAILED
    job.message = reason
    job.finished_at = timezone.now()
    _save(job)
    audit_record(
        audit_events.IMPORT, user=job.user, obj=job, outcome="denied", area_path=job.area_path or None,
        detail={"file": job.original_name, "kind": job.kind, "stage": "upload", "reason": reason},
    )  # fmt: skip


def _path(job: ImportJob) -> Path:
    return Path(job.file.path)


def runs_inline(job: ImportJob) -> bool:
    """Small files are checked in the request; larger ones go to the ``imports`` queue."""
    return job.file_size <= conf.inline_bytes()


# -- progress ---------------------------------------------------------------------------------
class ProgressWriter:
    """Writes a job's progress so that the polling page sees it while the job runs.

    A commit holds a transaction from its first row to its last. PostgreSQL lets a second
    connection update the job row meanwhile, so progress goes through one; SQLite allows a single
    writer, so there the page shows "writing" (said before the transaction) until the commit.
    A new phase is always written; rows within a phase every :data:`PROGRESS_EVERY` calls.
    """

    def __init__(self, job: ImportJob):
        self.job = job
        self.side = None
        self.calls = 0
        self.phase = None

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        self.calls += 1
        if phase == self.phase and self.calls % PROGRESS_EVERY and done != total:
            return
        self.phase = phase
        values = {"phase": phase, "rows_done": done, "rows_total": total}
        if not connection.in_atomic_block:
            ImportJob.objects.filter(pk=self.job.pk).update(**values)
        elif connection.vendor == "postgresql":
            self._side_update(values)

    def _side_update(self, values: dict) -> None:
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        table = ImportJob._meta.db_table
        with self.side.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{table}" SET phase = %s, rows_done = %s, rows_total = %s WHERE id = %s',  # noqa: S608
                [values["phase"], values["rows_done"], values["rows_total"], self.job.pk],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


# -- leases: who is running a job step, known even after a crash -------------------------------
# A worker holds a job's lease while it runs a step: a PostgreSQL session advisory lock (any
# machine sees it), or on SQLite an flock on a file beside the database (one machine, as SQLite
# is). The database or the kernel drops the lease when the process dies, so a job whose lease is
# free while its state says "running" was abandoned by a killed worker (robustness suite, faults).
LEASE_NAMESPACE = 0x4C4A  # "LJ": the first key of the two-key advisory lock


def _lease_file(job_id: int) -> Path:
    import hashlib

    from django.conf import settings

    directory = Path(settings.VAR_DIR) / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    # Named after the database too: job ids of two databases under one var/ (test runs) differ.
    database = hashlib.sha256(str(connection.settings_dict["NAME"]).encode()).hexdigest()[:12]
    return directory / f"import-{database}-{job_id}.lock"


@contextmanager
def lease(job_id: int, *, wait: bool = True):
    """Hold the job's lease for the block; yields False (and holds nothing) if ``wait`` is off and it is taken."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            fn = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            cursor.execute(f"SELECT {fn}(%s, %s)", [LEASE_NAMESPACE, job_id])  # noqa: S608 - fixed names
            got = True if wait else bool(cursor.fetchone()[0])
        try:
            yield got
        finally:
            if got:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LEASE_NAMESPACE, job_id])
                except Exception:  # a lost connection has dropped the lock already
                    logger.warning("import job %s: lease not released (connection lost)", job_id)
        return
    with open(_lease_file(job_id), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


RESTARTED = "后台任务中断（进程被终止），未写入任何数据，已自动重新排队 (the worker stopped; nothing was written; queued again)"
GAVE_UP = (
    "后台任务多次中断，未写入任何数据，请稍后重新上传或联系管理员 "
    "(the worker stopped {n} times; nothing was written)"
)


def recover_abandoned() -> dict[str, int]:
    """Requeue (or, after too many restarts, fail) the jobs a killed worker left running.

    Run when a worker starts (``linli worker``) and by ``linli imports cleanup``. A commit is one
    transaction, so an interrupted one wrote nothing; it is run again from the start. Jobs whose
    lease is held belong to a live worker and are left alone.
    """
    outcome = {"requeued": 0, "failed": 0}
    claimed = ImportJob.objects.filter(status=ImportStatus.VALIDATING) | ImportJob.objects.filter(
        status=ImportStatus.IMPORTING
    ).exclude(phase=QUEUED)
    candidates = list(claimed.values_list("pk", "status", "phase"))
    # Killed after taking the task but before claiming the job: the task stays "running".
    waiting = ImportJob.objects.filter(status__in=[ImportStatus.UPLOADED, ImportStatus.IMPORTING]).exclude(
        task_id=""
    )
    waiting = waiting.filter(status=ImportStatus.UPLOADED) | waiting.filter(phase=QUEUED)
    running_tasks = set(_running_task_ids([t for t in waiting.values_list("task_id", flat=True)]))
    candidates += [
        (pk, status, phase)
        for pk, status, phase, task_id in waiting.values_list("pk", "status", "phase", "task_id")
        if task_id in running_tasks
    ]
    for job_id, status, phase in candidates:
        with lease(job_id, wait=False) as free:
            if not free:
                continue
            job = ImportJob.objects.filter(pk=job_id, status=status, phase=phase).first()
            if job is None:
                continue  # it moved on meanwhile
            restarts = int((job.counts or {}).get("restarts", 0)) + 1
            if restarts > conf.max_restarts():
                if ImportJob.objects.filter(pk=job_id, status=status, phase=phase).update(
                    status=ImportStatus.FAILED,
                    message=GAVE_UP.format(n=restarts - 1),
                    finished_at=timezone.now(),
                ):
                    ImportJob.objects.get(pk=job_id).discard_file()
                    ImportJob.objects.filter(pk=job_id).update(file="")
                    _stop_task(job.task_id)
                    outcome["failed"] += 1
                continue
            back = (
                {"status": ImportStatus.UPLOADED, "phase": ""}
                if status in (ImportStatus.VALIDATING, ImportStatus.UPLOADED)
                else {"phase": QUEUED}
            )
            if not ImportJob.objects.filter(pk=job_id, status=status, phase=phase).update(
                **back, rows_done=0, counts={"restarts": restarts}, message=RESTARTED
            ):
                continue
        from .tasks import commit_import, validate_import

        _stop_task(job.task_id)
        task = (
            validate_import if status in (ImportStatus.VALIDATING, ImportStatus.UPLOADED) else commit_import
        )
        result = task.enqueue(job_id)
        ImportJob.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])
        logger.warning("import job %s: abandoned by a stopped worker, queued again (%s)", job_id, restarts)
        outcome["requeued"] += 1
    return outcome


def _running_task_ids(task_ids: list[str]) -> list[str]:
    if not task_ids:
        return []
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return []
    return [
        str(pk)
        for pk in DBTaskResult.objects.filter(pk__in=task_ids, status="RUNNING").values_list("pk", flat=True)
    ]


def _stop_task(task_id: str) -> None:
    """Mark the dead worker's task result failed, so the task list does not show it running forever."""
    if not task_id:
        return
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return
    DBTaskResult.objects.filter(pk=task_id, status="RUNNING").update(
        status="FAILED", finished_at=timezone.now(), exception_class_path="linli.dataio.jobs.WorkerStopped",
        traceback="the worker process stopped while running this task",
    )  # fmt: skip


# -- the two job steps --------------------------------------------------------------------------
def _claim(job_id: int, expected: str, new: str) -> ImportJob | None:
    claimed = ImportJob.objects.filter(pk=job_id, status=expected).update(status=new, rows_done=0, phase="")
    if not claimed:
        return None
    return ImportJob.objects.select_related("user", "area").get(pk=job_id)


def _run(job: ImportJob, progress) -> Run:
    spec = SPECS[job.kind]
    return Run(
        spec, _path(job), file_type=job.file_type, encoding=job.encoding, user=job.user, area=job.area,
        progress=progress,
    )  # fmt: skip


def validate(job_id: int) -> ImportJob | None:
    """The dry run: check every row, store the report; nothing is written to the registry."""
    with lease(job_id):
        return _validate(job_id)


def _validate(job_id: int) -> ImportJob | None:
    job = _claim(job_id, ImportStatus.UPLOADED, ImportStatus.VALIDATING)
    if job is None:
        return None
    job.started_at = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(started_at=job.started_at)
    progress = ProgressWriter(job)
    run = _run(job, progress)
    try:
        report = run.dry_run()
    except UnsafeFile as exc:
        return _fail(job, str(exc), run.report)
    except Exception:
        logger.exception("import job %s: the check failed", job.pk)
        return _fail(job, "校验时发生内部错误，请联系管理员 (internal error while checking)", run.report)
    finally:
        progress.close()
    _store_report(job, report)
    job.validated_at = timezone.now()
    if report.ok:
        job.status = ImportStatus.VALIDATED
        job.message = f"校验通过：共 {report.rows} 行，可以导入 (all {report.rows} rows are valid)"
    else:
        job.status = ImportStatus.FAILED
        job.message = (
            f"发现 {len(report.errors)} 处错误（涉及 {len(report.error_rows)} 行），未导入任何数据；"
            f"请修改后重新上传 (errors found; nothing was imported)"
        )
        job.finished_at = job.validated_at
        job.discard_file()
    _save(job)
    return job


def request_commit(job: ImportJob) -> bool:
    """The user confirmed: move VALIDATED → IMPORTING (queued) once, whatever the double clicks."""
    return bool(
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.IMPORTING, phase=QUEUED, rows_done=0
        )
    )


def commit(job_id: int) -> ImportJob | None:
    """Write a confirmed file, all or nothing, and record the import in the audit trail."""
    # The lease is taken before the claim, so a recovering worker never sees a claimed job unleased.
    with lease(job_id):
        return _commit(job_id)


def _commit(job_id: int) -> ImportJob | None:
    # Claim the queued job: a task delivered twice finds it already taken.
    if not ImportJob.objects.filter(pk=job_id, status=ImportStatus.IMPORTING, phase=QUEUED).update(
        phase="check"
    ):
        return None
    job = ImportJob.objects.select_related("user", "area").get(pk=job_id)
    progress = ProgressWriter(job)
    run = _run(job, progress)

    def record(report: Report) -> None:
        audit_record(
            audit_events.IMPORT, user=job.user, obj=job, area_path=job.area_path or None,
            detail={"file": job.original_name, "kind": job.kind, "rows": report.rows, "counts": report.counts},
        )  # fmt: skip

    try:
        report = run.commit(on_written=record)
    except (ImportAborted, UnsafeFile) as exc:
        return _fail(job, str(exc), run.report, committing=True)
    except Exception as exc:
        logger.exception("import job %s: the commit failed and was rolled back", job.pk)
        return _fail(
            job, f"导入失败，已全部撤销，未写入任何数据 (the import failed and was rolled back): {type(exc).__name__}",
            run.report, committing=True,
        )  # fmt: skip
    finally:
        progress.close()
    counts = dict(report.counts)
    if (job.counts or {}).get("restarts"):
        counts["restarts"] = job.counts["restarts"]
    job.counts = counts
    job.created_count = counts.get("persons_created", 0)
    job.updated_count = counts.get("persons_updated", 0)
    job.unchanged_count = counts.get("persons_unchanged", 0)
    job.status = ImportStatus.DONE
    job.rows_done = job.rows_total = report.rows
    job.finished_at = timezone.now()
    job.message = (
        f"导入完成：新增 {job.created_count} 人，更新 {job.updated_count} 人，未变 {job.unchanged_count} 人，"
        f"新建 {counts.get('households_created', 0)} 户 (import finished)"
    )
    job.discard_file()
    _save(job)
    return job


def _fail(job: ImportJob, message: str, report: Report, *, committing: bool = False) -> ImportJob:
    job.status = ImportStatus.FAILED
    job.message = message
    job.finished_at = timezone.now()
    if report.errors:
        _store_report(job, report)
    job.discard_file()
    _save(job)
    if committing:
        try:
            audit_record(
                audit_events.IMPORT, user=job.user, obj=job, outcome="failed", area_path=job.area_path or None,
                detail={"file": job.original_name, "kind": job.kind, "rows": report.rows, "reason": message[:300]},
            )  # fmt: skip
        except Exception:  # the failure may be the audit trail itself; the job's own record stands
            logger.exception("import job %s: the failed import could not be audited", job.pk)
    return job


def _store_report(job: ImportJob, report: Report) -> None:
    job.dry_run = report.summary()
    job.error_count = len(report.errors)
    job.rows_total = report.rows
    job.rows_done = report.rows
    if job.error_report:
        job.error_report.delete(save=False)
    if report.errors:
        job.error_report.save("errors.csv", ContentFile(error_csv(report)), save=False)


ERROR_HEADERS = ["行号 Row", "列 Column", "原因 Reason"]


def error_csv(report: Report) -> bytes:
    """The full error list as CSV (UTF-8 with BOM, so Excel opens it correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ERROR_HEADERS)
    for error in sorted(report.errors, key=lambda e: (e.row, e.column)):
        writer.writerow([error.row, error.column, error.message])
    if report.truncated:
        writer.writerow(["", "", "错误过多，其余未列出 (too many errors; the rest are not listed)"])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


# -- entry points for views and tasks ---------------------------------------------------------
def start_validation(job: ImportJob) -> ImportJob:
    if runs_inline(job):
        return validate(job.pk) or job
    from .tasks import validate_import

    result = validate_import.enqueue(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    job.refresh_from_db()
    return job


def start_commit(job: ImportJob) -> ImportJob:
    """Confirm, then run the commit (small files) or queue it; returns the job as it stands."""
    if not request_commit(job):
        return _reload(job)
    if runs_inline(job):
        return commit(job.pk) or _reload(job)
    from .tasks import commit_import

    result = commit_import.enqueue(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    return _reload(job)


def _reload(job: ImportJob) -> ImportJob:
    job.refresh_from_db()
    return job
