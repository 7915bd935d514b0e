"""/readyz for load balancers; the administrators' operations page and its API twin."""

import datetime as dt

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone

from linli.core.testing import login_as, make_user
from linli.ops import heartbeat, views
from linli.ops.models import BackupRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_migration_state(monkeypatch):
    monkeypatch.setattr(views, "_migrations_applied", False)


def test_readyz_ready():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_unavailable_with_pending_migrations():
    MigrationRecorder.Migration.objects.filter(app="ops").delete()
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["problems"][0]["check"] == "migrations"
    assert "not applied" in body["problems"][0]["en"] and "迁移" in body["problems"][0]["zh"]


def test_readyz_unavailable_without_keyring(monkeypatch, settings, tmp_path):
    monkeypatch.delenv("LINLI_KEYRING")
    settings.LINLI_KEYRING_FILE = tmp_path / "missing.json"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert [p["check"] for p in response.json()["problems"]] == ["keyring"]
    assert not settings.LINLI_KEYRING_FILE.exists()


def test_readyz_unavailable_without_database(monkeypatch):
    from django.db import DatabaseError, connection

    def broken():
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken)
    response = views.readyz(type("R", (), {"method": "GET"})())
    assert response.status_code == 503
    assert b'"database"' in response.content


@pytest.fixture
def admin_client(area_tree):
    user = make_user("opsadmin", "admin", area_tree["district"])
    return login_as(user)


def test_operations_page_shows_queue_events_heartbeats_backup_disk_and_sealing(admin_client, area_tree):
    from django_tasks_db.models import DBTaskResult

    from linli.core.testing import object_factories
    from linli.events.models import Event

    event = object_factories()["events.event"](area_tree["grids"][0])
    Event.objects.filter(pk=event.pk).update(due_at=timezone.now() - dt.timedelta(hours=3))
    heartbeat.beat("sweep")
    now = timezone.now()
    BackupRecord.objects.create(started_at=now, finished_at=now, path="/var/backups/linli/x.lbk", size=2_000_000,
                                engine="sqlite", tables=60, rows=1234, manifest_sha256="0" * 64)  # fmt: skip
    job = DBTaskResult.objects.create(
        task_path="linli.dataio.tasks.run_import", args_kwargs={"args": [], "kwargs": {}}, queue_name="imports",
        priority=0, backend_name="default", run_after=now - dt.timedelta(minutes=5), status="READY",
        exception_class_path="", traceback="",
    )  # fmt: skip
    DBTaskResult.objects.filter(pk=job.pk).update(enqueued_at=now - dt.timedelta(minutes=5))
    response = admin_client.get("/ops/")
    assert response.status_code == 200
    html = response.content.decode()
    for testid in ("ops-jobs", "ops-events", "ops-heartbeats", "ops-backup", "ops-disk"):
        assert f'data-testid="{testid}"' in html
    status = response.context["s"]
    assert status["jobs"]["ready"] == 1 and status["jobs"]["oldest_ready_age_seconds"] >= 290
    assert status["heartbeats"]["sweep"]["age_seconds"] < 60 and status["heartbeats"]["worker"] is None
    assert status["last_backup"]["rows"] == 1234
    assert "从未运行" in html  # the worker never beat
    assert status["events"]["overdue"] == 1
    assert status["events"]["oldest_overdue"]["number"] == event.number
    assert status["events"]["oldest_overdue"]["overdue_seconds"] >= 3 * 3600 - 60
    assert event.number in html


def test_operations_api_for_monitoring(admin_client):
    response = admin_client.get("/api/v1/ops/status/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"jobs", "events", "heartbeats", "last_backup", "sealing", "disk", "thresholds"}
    assert body["sealing"]["audit.auditevent"]["unsealed"] >= 0


def test_operations_status_is_for_administrators_only(area_tree):
    staff = login_as(make_user("staff", "community_staff", area_tree["communities"][0]))
    assert staff.get("/ops/").status_code == 403
    assert staff.get("/api/v1/ops/status/").status_code == 403
    assert Client().get("/api/v1/ops/status/").status_code == 401
    assert Client().get("/ops/").status_code == 302
