"""Backup → restore → drill, on the database the suite runs on (SQLite, and PostgreSQL in its run).

Backups read the database from another connection (pg_dump, SQLite's backup API), so these tests
commit their data: ``transaction=True``.
"""

import base64
import io
import json
import os
import sqlite3
import tarfile
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from linli.audit import events, record
from linli.audit.models import AuditEvent
from linli.audit.services import seal_all
from linli.core.testing import make_person
from linli.ops import backup, streamcrypt
from linli.ops.models import BackupRecord
from linli.ops.services import ensure_canary
from linli.registry.models import Person

COMMITTED = pytest.mark.django_db(transaction=True)
PASS = "backup passphrase 2026"


@pytest.fixture(autouse=True)
def _dirs(tmp_path, settings, monkeypatch):
    monkeypatch.setenv("LINLI_BACKUP_DIR", str(tmp_path / "backups"))
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "imports").mkdir(parents=True)
    (tmp_path / "media" / "imports" / "upload.csv").write_bytes("姓名,电话\n张三,1\n".encode())


@pytest.fixture
def data(area_tree):
    people = [make_person(area_tree["grids"][0], name=f"居民{i}") for i in range(5)]
    record(events.REVEAL, obj=people[0], purpose="核实身份")
    ensure_canary()
    seal_all()
    return people


@pytest.fixture
def empty_target(tmp_path):
    """An empty database of the suite's engine, dropped afterwards."""
    base = backup.Target.default()
    if base.engine == "sqlite":
        yield base.with_name(str(tmp_path / "restored.sqlite3"))
        return
    name = f"linli_ops_t_{uuid.uuid4().hex[:10]}"
    with base.pg_connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.with_name(name)
    with base.pg_connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def person_count(target: backup.Target) -> int:
    sql = "SELECT count(*) FROM registry_person"
    if target.engine == "sqlite":
        with sqlite3.connect(target.name) as conn:
            return conn.execute(sql).fetchone()[0]
    with target.pg_connect() as conn:
        return conn.execute(sql).fetchone()[0]


def reencrypt_with(archive: Path, change) -> None:
    """Decrypt ``archive``, let ``change(manifest)`` edit the manifest, encrypt it again (same passphrase):
    what a bug or someone holding the passphrase could produce, which GCM alone cannot catch."""
    with open(archive, "rb") as raw:
        plain = streamcrypt.DecryptingReader(raw, PASS).read()
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(plain), mode="r:*") as src,
        tarfile.open(fileobj=out, mode="w:") as dst,
    ):
        for member in src.getmembers():
            body = src.extractfile(member).read()
            if member.name == backup.MANIFEST:
                manifest = json.loads(body)
                change(manifest)
                body = json.dumps(manifest).encode()
                member.size = len(body)
            dst.addfile(member, io.BytesIO(body))
    archive.write_bytes(streamcrypt.encrypt_bytes(out.getvalue(), PASS, streamcrypt.KIND_DATA_BACKUP))


@COMMITTED
def test_round_trip_restores_everything(data, empty_target, tmp_path):
    result = backup.create_backup(PASS)
    manifest = result.manifest
    assert manifest["tables"]["registry_person"]["rows"] == 5
    assert manifest["tables"]["audit_auditevent"]["rows"] == AuditEvent.objects.count()
    assert set(manifest["files"]) == {manifest["database_file"], "media/imports/upload.csv"}
    assert oct(result.path.stat().st_mode & 0o777) == "0o600"
    assert BackupRecord.objects.get().rows == manifest["totals"]["rows"]

    restored_media = tmp_path / "restored-media"
    restored = backup.restore(result.path, PASS, target=empty_target, media_root=restored_media)
    assert restored.problems == []
    assert person_count(empty_target) == 5
    assert (restored_media / "imports" / "upload.csv").read_bytes() == "姓名,电话\n张三,1\n".encode()
    assert backup.check_keyring(manifest) == []

    # The restored ciphertext decrypts with the same keyring (same associated data) …
    from linli.core.crypto import keyring

    person = data[0]
    sql = "SELECT id_number FROM registry_person WHERE id = %s"
    if empty_target.engine == "sqlite":
        with sqlite3.connect(empty_target.name) as conn:
            blob = conn.execute(sql.replace("%s", "?"), (person.pk,)).fetchone()[0]
    else:
        with empty_target.pg_connect() as conn:
            blob = conn.execute(sql, (person.pk,)).fetchone()[0]
    assert keyring().decrypt(bytes(blob), Person._meta.get_field("id_number").aad) == person.id_number

    # … but the keyring itself is not in the backup, nor any plaintext ID number.
    with open(result.path, "rb") as raw:
        decrypted = streamcrypt.DecryptingReader(raw, PASS).read()
    with tarfile.open(fileobj=io.BytesIO(decrypted), mode="r:*") as tar:  # decompressed (SQLite backups)
        plain = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
    assert b"registry_person" in plain  # the check below looks at real content
    ring = keyring()
    for secret in [ring.index_secret] + [key.secret for key in ring.keys.values()]:
        assert secret not in plain
        assert base64.b64encode(secret) not in plain
    assert person.id_number.encode() not in plain

    # A target that is no longer empty is refused unless forced.
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(result.path, PASS, target=empty_target)
    assert backup.restore(result.path, PASS, target=empty_target, force=True).problems == []
    assert person_count(empty_target) == 5


@COMMITTED
def test_damaged_backups_are_refused_before_anything_is_restored(data, empty_target, tmp_path):
    good = backup.create_backup(PASS).path
    with pytest.raises(backup.BackupError, match="wrong backup passphrase"):
        backup.restore(good, "not the passphrase at all", target=empty_target)
    with pytest.raises(backup.BackupError, match="wrong backup passphrase"):
        backup.drill(good, "not the passphrase at all")

    tampered = tmp_path / "tampered.lbk"
    blob = bytearray(good.read_bytes())
    blob[len(blob) // 2] ^= 0x20
    tampered.write_bytes(bytes(blob))
    with pytest.raises(backup.BackupError, match="failed authentication"):
        backup.restore(tampered, PASS, target=empty_target)

    truncated = tmp_path / "truncated.lbk"
    truncated.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(backup.BackupError, match="failed authentication"):
        backup.restore(truncated, PASS, target=empty_target)

    mismatch = tmp_path / "mismatch.lbk"
    mismatch.write_bytes(good.read_bytes())
    reencrypt_with(mismatch, lambda m: m["files"][m["database_file"]].update(sha256="0" * 64))
    with pytest.raises(backup.BackupError, match="checksum differs"):
        backup.restore(mismatch, PASS, target=empty_target)
    assert empty_target.tables() == []


@COMMITTED
def test_drill_detects_row_count_and_checksum_mismatches(data):
    path = backup.create_backup(PASS).path

    def change(manifest):
        manifest["tables"]["registry_person"]["rows"] = 6
        manifest["tables"]["registry_household"]["checksum"] = "abc"

    reencrypt_with(path, change)
    result = backup.drill(path, PASS)
    assert not result.ok
    assert any("registry_person" in p and "row count differs" in p for p in result.problems)
    assert any("registry_household" in p and "checksum differs" in p for p in result.problems)


def test_short_passphrase_is_refused():
    with pytest.raises(backup.BackupError, match="12"):
        backup.create_backup("short")


@COMMITTED
def test_drill_passes_on_a_good_backup_and_drops_its_scratch_database(data):
    path = backup.create_backup(PASS).path
    result = backup.drill(path, PASS)
    assert result.ok, result.problems
    assert result.canary == "ok"
    assert "audit chains intact" in result.chain_output
    assert set(result.timings) >= {"decrypt_verify_files", "restore_database", "verify_rows_checksums",
                                   "verify_audit_chains", "total"}  # fmt: skip
    assert result.as_dict()["rows"] > 0
    base = backup.Target.default()
    if base.engine == "postgresql":
        with base.pg_connect() as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'linli_drill_%'"
            ).fetchone()[0]
        assert left == 0
    assert not list(backup.backup_dir().glob(".drill-*"))


@COMMITTED
def test_drill_detects_a_broken_audit_chain(data):
    if backup.Target.default().engine != "sqlite":
        pytest.skip("on PostgreSQL the guard trigger already refuses the edit (audit/tests/test_guard.py)")
    # Someone edits a sealed audit row in the live database; the backup faithfully copies it.
    AuditEvent.objects.filter(pk=AuditEvent.objects.first().pk).update(purpose="改过的事由")
    path = backup.create_backup(PASS).path
    result = backup.drill(path, PASS)
    assert not result.ok
    assert any("audit chain verification failed" in p for p in result.problems)


@COMMITTED
def test_drill_detects_a_keyring_that_does_not_fit_and_never_makes_one(data, monkeypatch, settings, tmp_path):
    from linli.core.crypto import reset_keyring_cache

    path = backup.create_backup(PASS).path
    other = {"active": "t1", "keys": {"t1": {"algorithm": "SM4-GCM", "secret": base64.b64encode(b"X" * 16).decode()}},
             "index_secret": base64.b64encode(b"j" * 32).decode()}  # fmt: skip
    monkeypatch.setenv("LINLI_KEYRING", json.dumps(other))
    reset_keyring_cache()
    try:
        result = backup.drill(path, PASS)
        assert not result.ok
        assert result.canary.startswith("failed")
        # A new machine before `linli restore --keys`: no keyring, and none is made behind its back.
        monkeypatch.delenv("LINLI_KEYRING")
        settings.LINLI_KEYRING_FILE = tmp_path / "keys" / "keyring.json"
        reset_keyring_cache()
        result = backup.drill(path, PASS)
        assert result.canary == "failed: no keyring installed"
        assert "no keyring installed" in backup.check_keyring(result.manifest)[0]
        assert not settings.LINLI_KEYRING_FILE.exists()
    finally:
        monkeypatch.undo()
        reset_keyring_cache()


@COMMITTED
def test_commands_round_trip_with_a_passphrase_file(data, tmp_path, empty_target):
    secret = tmp_path / "pass"
    secret.write_text(PASS + "\n")
    out = io.StringIO()
    call_command("backup", "--passphrase-file", str(secret), "-o", str(tmp_path / "b.lbk"), stdout=out)
    assert "backup written" in out.getvalue()
    out = io.StringIO()
    call_command("drill", str(tmp_path / "b.lbk"), "--passphrase-file", str(secret), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] is True and report["tables"] > 0 and report["timings_seconds"]["total"] > 0
    out = io.StringIO()
    call_command("restore", str(tmp_path / "b.lbk"), "--passphrase-file", str(secret),
                 "--target-url", empty_target.url, stdout=out)  # fmt: skip
    assert "restored and verified" in out.getvalue()
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(tmp_path / "b.lbk"), "--passphrase-file", str(secret),
                     "--target-url", empty_target.url)  # fmt: skip
    out = io.StringIO()
    call_command("restore", str(tmp_path / "b.lbk"), "--drill", "--passphrase-file", str(secret), stdout=out)
    assert "drill passed" in out.getvalue() and "total" in out.getvalue()
    # Every operation is in the audit trail, with the file it concerned.
    recorded = {e.event: e for e in AuditEvent.objects.filter(event__startswith="ops.")}
    assert set(recorded) == {"ops.backup", "ops.drill", "ops.restore"}
    assert recorded["ops.backup"].detail["file"] == str(tmp_path / "b.lbk")
    assert recorded["ops.drill"].outcome == "ok" and recorded["ops.drill"].detail["rows"] > 0


def test_passphrase_never_comes_from_nowhere(monkeypatch):
    monkeypatch.delenv("LINLI_BACKUP_PASSPHRASE", raising=False)
    monkeypatch.delenv("LINLI_BACKUP_PASSPHRASE_FILE", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # not a terminal: no prompt
    with pytest.raises(CommandError, match="no passphrase"):
        call_command("backup")


def test_keyring_export_and_import(tmp_path, settings, monkeypatch):
    from linli.core.crypto import keyring

    out = backup.export_keys("keyring passphrase 2026", tmp_path / "keys.lbk")
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert b"index_secret" not in out.read_bytes()
    with pytest.raises(backup.BackupError, match="wrong kind"):
        backup.unpack(out, "keyring passphrase 2026", tmp_path)
    with pytest.raises(backup.BackupError, match="wrong backup passphrase"):
        backup.import_keys(out, "another passphrase!!")
    settings.LINLI_KEYRING_FILE = tmp_path / "restored" / "keyring.json"
    installed = backup.import_keys(out, "keyring passphrase 2026")
    assert json.loads(installed.read_text()) == json.loads(os.environ["LINLI_KEYRING"])
    assert oct(installed.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(backup.BackupError, match="keyring exists"):
        backup.import_keys(out, "keyring passphrase 2026")
    assert keyring().active_id == "t1"


@pytest.mark.django_db
def test_keys_passphrase_must_differ_from_the_backup_passphrase(tmp_path, monkeypatch):
    monkeypatch.setenv("LINLI_BACKUP_PASSPHRASE", PASS)
    monkeypatch.setenv("LINLI_KEYS_PASSPHRASE", PASS)
    with pytest.raises(CommandError, match="must differ"):
        call_command("backup", "--keys", "-o", str(tmp_path / "k.lbk"))
    monkeypatch.setenv("LINLI_KEYS_PASSPHRASE", "a different passphrase")
    call_command("backup", "--keys", "-o", str(tmp_path / "k.lbk"), stdout=io.StringIO())
    assert (tmp_path / "k.lbk").exists()
    assert AuditEvent.objects.get(event="ops.keys_export").detail == {"file": str(tmp_path / "k.lbk")}


def test_keep_prunes_all_but_the_newest_backups(tmp_path):
    tmp_path = tmp_path / "backups"
    tmp_path.mkdir()
    for day in range(1, 6):
        path = tmp_path / f"linli-2026120{day}T023000Z.lbk"
        path.write_bytes(b"x")
        os.utime(path, (1_700_000_000 + day * 86400,) * 2)
    (tmp_path / "keys.lbk").write_bytes(b"k")  # not a data backup: never pruned
    deleted = backup.prune(tmp_path, keep=2)
    assert sorted(p.name for p in deleted) == [f"linli-2026120{d}T023000Z.lbk" for d in (1, 2, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.lbk", "linli-20261204T023000Z.lbk",
                                                          "linli-20261205T023000Z.lbk"]  # fmt: skip
