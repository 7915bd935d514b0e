"""The operational state of an installation, read from the database and the file system.

One collector serves ``linli check``, the administrators' operations page and its API twin:
job queue depth, the oldest overdue event, background process heartbeats, the last backup,
free disk space and how far the audit sealer lags behind. Nothing here reads resident data.
"""

import os
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

#: Defaults of the thresholds; each can be set in the environment.
HEARTBEAT_MAX_AGE = int(os.environ.get("LINLI_CHECK_HEARTBEAT_MAX_AGE", "300"))
SEAL_MAX_LAG = int(os.environ.get("LINLI_CHECK_SEAL_MAX_LAG", "600"))
MIN_FREE_MB = int(os.environ.get("LINLI_CHECK_MIN_FREE_MB", "2048"))
BACKUP_MAX_AGE_HOURS = int(os.environ.get("LINLI_CHECK_BACKUP_MAX_AGE_HOURS", "26"))


def _age(when) -> float | None:
    return None if when is None else round((timezone.now() - when).total_seconds(), 1)


def job_queue() -> dict:
    """django-tasks' database backend: jobs waiting and running, and how long the oldest has waited."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.values("queue_name", "status").annotate(n=Count("id")).order_by()
    by_queue: dict[str, dict[str, int]] = {}
    for row in rows:
        by_queue.setdefault(row["queue_name"], {})[row["status"]] = row["n"]
    ready = DBTaskResult.objects.ready()
    oldest = ready.aggregate(oldest=Min("enqueued_at"))["oldest"]
    return {
        "ready": ready.count(),
        "running": DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count(),
        "failed_last_day": DBTaskResult.objects.filter(
            status=TaskResultStatus.FAILED, finished_at__gte=timezone.now() - timedelta(days=1)
        ).count(),
        "oldest_ready_age_seconds": _age(oldest),
        "by_queue": by_queue,
    }


def overdue_events() -> dict:
    """Open events past their deadline: how many, and the one overdue longest (number and time only)."""
    from linli.events.models import Event

    overdue = Event.objects.overdue()
    oldest = overdue.order_by("due_at").values("number", "due_at").first()
    upcoming = Event.objects.on_clock().filter(due_at__gt=timezone.now()).order_by("due_at")
    next_due = upcoming.values("number", "due_at").first()
    return {
        "overdue": overdue.count(),
        "oldest_overdue": None
        if oldest is None
        else {"number": oldest["number"], "due_at": oldest["due_at"].isoformat(), "overdue_seconds": _age(oldest["due_at"])},
        "next_due": None if next_due is None else {"number": next_due["number"], "due_at": next_due["due_at"].isoformat()},
    }  # fmt: skip


def heartbeats() -> dict:
    from .heartbeat import last_beats

    return {
        kind: None
        if beat is None
        else {
            "age_seconds": _age(beat.beat_at),
            "host": beat.host,
            "pid": beat.pid,
            "since": beat.started_at.isoformat(),
        }  # fmt: skip
        for kind, beat in last_beats().items()
    }


def last_backup() -> dict | None:
    from .models import BackupRecord

    record = BackupRecord.objects.order_by("-finished_at").first()
    if record is None:
        return None
    return {"finished_at": record.finished_at.isoformat(), "age_seconds": _age(record.finished_at),
            "size": record.size, "rows": record.rows, "path": record.path}  # fmt: skip


def sealing_lag() -> dict:
    """Per chain: rows not yet sealed, and the age of the oldest of them."""
    from linli.audit.services import chained_models
    from linli.core.chain import chain_name

    result = {}
    for model in chained_models():
        pending = model.objects.filter(seal_seq__isnull=True)
        agg = pending.aggregate(n=Count("id"), oldest=Min("time"))
        result[chain_name(model)] = {"unsealed": agg["n"], "oldest_unsealed_age_seconds": _age(agg["oldest"])}
    return result


def storage_paths() -> dict[str, Path]:
    """The directories whose file systems must keep free space (deduplicated by file system)."""
    paths = {"var": Path(settings.VAR_DIR), "media": Path(settings.MEDIA_ROOT)}
    if connection.vendor == "sqlite":
        paths["database"] = Path(connection.settings_dict["NAME"]).parent
    else:
        data_dir = postgres_data_directory()
        if data_dir is not None:
            paths["database"] = data_dir
    backups = os.environ.get("LINLI_BACKUP_DIR")
    paths["backups"] = Path(backups) if backups else Path(settings.VAR_DIR) / "backups"
    return paths


def postgres_data_directory() -> Path | None:
    """PostgreSQL's data directory when the server runs on this machine and tells us (superuser or
    pg_read_all_settings); ``None`` otherwise — the database host is then watched by its own monitoring."""
    try:
        # A savepoint: a refusal must not spoil a surrounding transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            path = Path(cursor.fetchone()[0])
    except Exception:  # noqa: BLE001 - not allowed to read it: nothing to check here
        return None
    try:
        return path if path.exists() else None
    except OSError:
        return None


def disk_space() -> dict:
    result = {}
    for name, path in storage_paths().items():
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            usage = shutil.disk_usage(probe)
        except OSError:
            continue
        result[name] = {"path": str(path), "free_mb": usage.free // (1 << 20), "total_mb": usage.total // (1 << 20),
                        "free_percent": round(100 * usage.free / usage.total, 1) if usage.total else 0.0}  # fmt: skip
    return result


def collect() -> dict:
    """Everything the operations page and its API show."""
    return {
        "time": timezone.now().isoformat(),
        "database": connection.vendor,
        "jobs": job_queue(),
        "events": overdue_events(),
        "heartbeats": heartbeats(),
        "last_backup": last_backup(),
        "sealing": sealing_lag(),
        "disk": disk_space(),
        "thresholds": {
            "heartbeat_max_age_seconds": HEARTBEAT_MAX_AGE,
            "seal_max_lag_seconds": SEAL_MAX_LAG,
            "min_free_mb": MIN_FREE_MB,
            "backup_max_age_hours": BACKUP_MAX_AGE_HOURS,
        },
    }
