"""``linli check``: every check fails for its own reason, with a Chinese and an English line."""

import base64
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from linli.audit.models import AuditEvent
from linli.core.crypto import reset_keyring_cache
from linli.ops import checks, heartbeat
from linli.ops.models import Heartbeat, KeyCanary
from linli.ops.services import ensure_canary

pytestmark = pytest.mark.django_db


def by_name(results) -> dict[str, checks.Result]:
    return {r.name: r for r in results}


def all_alive():
    for kind in ("worker", "sweep", "sealer"):
        heartbeat.beat(kind)


def test_a_healthy_installation_passes_apart_from_settings():
    ensure_canary()
    all_alive()
    results = by_name(checks.run_all(min_free_mb=1, skip={"settings"}))
    failed = [r.line for r in results.values() if r.status == checks.FAIL]
    assert failed == []
    assert results["keyring"].status == checks.OK
    assert results["heartbeat.sweep"].status == checks.OK


def test_unreachable_database_fails_with_both_languages(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "LINLI_TEST"))}
    env.update(DATABASE_URL="postgres://linli@127.0.0.1:1/nowhere", LINLI_VAR_DIR=str(tmp_path))
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "linli.cli", "check", "--json"], env=env, capture_output=True, text=True, timeout=120
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    database = report["checks"][0]
    assert database["name"] == "database" and database["status"] == "fail"
    assert "数据库无法连接" in database["zh"] and database["en"] == "database unreachable"
    assert {c["status"] for c in report["checks"][1:]} == {"skip"}


def test_unapplied_migration_fails():
    MigrationRecorder.Migration.objects.filter(app="ops", name="0001_initial").delete()
    result = checks.check_migrations()
    assert result.status == checks.FAIL
    assert "ops.0001_initial" in result.detail["pending"]
    assert "linli init" in result.zh and "not applied" in result.en


def test_missing_keyring_file_fails(settings, tmp_path, monkeypatch):
    ensure_canary()
    monkeypatch.delenv("LINLI_KEYRING")
    settings.LINLI_KEYRING_FILE = tmp_path / "keys" / "keyring.json"
    result = checks.check_keyring()
    assert result.status == checks.FAIL and "keyring file not found" in result.en
    assert not settings.LINLI_KEYRING_FILE.exists()  # the check never creates one


def test_keyring_readable_by_others_fails(settings, tmp_path, monkeypatch):
    ensure_canary()
    path = tmp_path / "keyring.json"
    path.write_text(os.environ["LINLI_KEYRING"])
    path.chmod(0o644)
    monkeypatch.delenv("LINLI_KEYRING")
    settings.LINLI_KEYRING_FILE = path
    assert "chmod 600" in checks.check_keyring().en
    path.chmod(0o600)
    assert checks.check_keyring().status == checks.OK


def test_keyring_that_does_not_match_the_database_fails(monkeypatch):
    ensure_canary()  # encrypted with the suite's keyring
    other = {"active": "t1", "keys": {"t1": {"algorithm": "SM4-GCM", "secret": base64.b64encode(b"Z" * 16).decode()}},
             "index_secret": base64.b64encode(b"z" * 32).decode()}  # fmt: skip
    monkeypatch.setenv("LINLI_KEYRING", json.dumps(other))
    reset_keyring_cache()
    try:
        result = checks.check_keyring()
    finally:
        monkeypatch.undo()
        reset_keyring_cache()
    assert result.status == checks.FAIL
    assert "do not match" in result.en and "不匹配" in result.zh


def test_malformed_keyring_and_missing_canary_fail(monkeypatch):
    assert not KeyCanary.objects.exists()
    result = checks.check_keyring()
    assert result.status == checks.FAIL and "run linli init" in result.en
    monkeypatch.setenv("LINLI_KEYRING", '{"active": "x"}')
    assert "malformed" in checks.check_keyring().en


def test_heartbeats_missing_or_stale_fail_and_fresh_pass():
    results = by_name(checks.check_heartbeats(300))
    assert results["heartbeat.worker"].status == checks.FAIL
    assert "never ran" in results["heartbeat.worker"].en and "linli worker" in results["heartbeat.worker"].zh
    all_alive()
    Heartbeat.objects.filter(kind="sweep").update(beat_at=timezone.now() - dt.timedelta(minutes=10))
    results = by_name(checks.check_heartbeats(300))
    assert results["heartbeat.worker"].status == checks.OK
    assert results["heartbeat.sealer"].status == checks.OK
    assert results["heartbeat.sweep"].status == checks.FAIL and "silent for" in results["heartbeat.sweep"].en


def test_the_sweep_and_the_sealer_beat():
    call_command("sweep", "--once", stdout=io.StringIO())
    assert Heartbeat.objects.filter(kind="sweep", pid=os.getpid()).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_heartbeat_thread_beats_and_stops():
    with heartbeat.Beating("worker", interval=0.05) as beating:
        deadline = timezone.now() + dt.timedelta(seconds=20)
        while not Heartbeat.objects.filter(kind="worker").exists() and timezone.now() < deadline:
            beating._stop.wait(0.05)
    assert Heartbeat.objects.filter(kind="worker").exists()
    assert not beating._thread.is_alive()


def test_low_disk_space_fails():
    results = checks.check_disk(min_free_mb=10**12)
    assert results and all(r.status == checks.FAIL for r in results)
    assert "MB free (minimum" in results[0].en and "剩" in results[0].zh
    assert {r.name for r in results} >= {"disk.var", "disk.media"}


def test_audit_sealing_lag_fails():
    AuditEvent.objects.create(event="auth.login", time=timezone.now() - dt.timedelta(hours=1))
    result = checks.check_sealing(max_lag=600)
    assert result.status == checks.FAIL and "audit sealing lags" in result.en
    from linli.audit.services import seal_all

    seal_all()
    assert checks.check_sealing(max_lag=600).status == checks.OK


def test_debug_and_insecure_settings_fail(settings):
    settings.DEBUG = True
    results = by_name(checks.check_settings())
    assert results["settings.debug"].status == checks.FAIL
    # The suite's settings are not behind HTTPS: Django's deployment checks find that.
    assert results["settings.security.W012"].status == checks.FAIL
    assert "LINLI_BEHIND_HTTPS_PROXY" in results["settings.security.W012"].zh


def test_no_backup_is_a_warning_not_a_failure():
    assert checks.check_backup(26).status == checks.WARN


def test_command_exits_non_zero_and_prints_each_failure():
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("check", "--min-free-mb", "1", stdout=out)
    assert exit_.value.code == 1
    text = out.getvalue()
    assert "[FAIL] heartbeat.worker: 后台任务进程从未运行" in text and "(job worker never ran" in text
    assert "checks failed" in text


def test_command_json_output_for_monitoring():
    ensure_canary()
    all_alive()
    out = io.StringIO()
    call_command(
        "check", "--json", "--min-free-mb", "1", "--skip", "settings", "--skip", "backup", stdout=out
    )
    report = json.loads(out.getvalue())
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} >= {"database", "migrations", "keyring", "heartbeat.worker",
                                                     "audit.sealing", "disk.var"}  # fmt: skip


def test_django_options_still_run_djangos_check():
    out = io.StringIO()
    call_command("check", "--tag", "models", stdout=out)
    assert "System check identified no issues" in out.getvalue()
