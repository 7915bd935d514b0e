"""Backup, restore and the restore drill.

A backup is one encrypted file (:mod:`linli.ops.streamcrypt`) holding a tar stream of

- ``db/linli.dump`` — PostgreSQL: ``pg_dump`` custom format, taken from an exported snapshot;
  or ``db/linli.sqlite3`` — SQLite: a copy made with SQLite's online backup API (never a copy
  of the live file, which could be caught half-written);
- ``media/…`` — the uploaded files (``MEDIA_ROOT``: import files, attachments, visit photos);
- ``manifest.json`` (last) — row count and content checksum of every table, taken from the very
  snapshot that was dumped, the size and SHA-256 of every file in the archive, the applied
  migrations, and the ids (never the secrets) of the field-encryption keys the data needs.

The field-encryption keyring is deliberately *not* in the backup: a stolen backup without the
keyring reveals no ID or phone number. ``linli backup --keys`` exports the keyring separately,
encrypted with a different passphrase, to be stored apart from the data backups.

Restoring decrypts and unpacks into a work directory first, checks every file against the
manifest, and only then touches the target, which must be empty; afterwards the target's tables
are summarised again and compared with the manifest. The drill does the same into a scratch
database, also runs the audit hash-chain verification there, times every step, and drops it.
"""

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from . import dbsummary, streamcrypt

MANIFEST = "manifest.json"
FORMAT = "linli-backup"
FORMAT_VERSION = 1
PG_DUMP = "db/linli.dump"
SQLITE_FILE = "db/linli.sqlite3"
MIN_PASSPHRASE = 12


class BackupError(Exception):
    """A backup, restore or drill that cannot go on; the message is for the operator (zh + en)."""


def backup_dir() -> Path:
    path = Path(os.environ.get("LINLI_BACKUP_DIR") or settings.VAR_DIR / "backups")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _say(out: Callable[[str], None] | None, text: str) -> None:
    if out is not None:
        out(text)


# --- databases --------------------------------------------------------------------------------


@dataclass
class Target:
    """A database to dump, restore into or summarise, independent of Django's connections."""

    engine: str  # "postgresql" or "sqlite"
    name: str  # database name, or the SQLite file path
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""
    options: dict = field(default_factory=dict)

    @classmethod
    def from_settings(cls, db: dict) -> "Target":
        engine = (
            "postgresql" if "postgresql" in db["ENGINE"] else "sqlite" if "sqlite" in db["ENGINE"] else ""
        )
        if not engine:
            raise BackupError(f"不支持的数据库 (unsupported database engine): {db['ENGINE']}")
        return cls(
            engine=engine, name=str(db["NAME"]), host=db.get("HOST") or "", port=str(db.get("PORT") or ""),
            user=db.get("USER") or "", password=db.get("PASSWORD") or "",
            options={k: v for k, v in (db.get("OPTIONS") or {}).items() if k in ("sslmode", "sslrootcert")},
        )  # fmt: skip

    @classmethod
    def from_url(cls, url: str) -> "Target":
        return cls.from_settings(dj_database_url.parse(url))

    @classmethod
    def default(cls) -> "Target":
        return cls.from_settings(connection.settings_dict)

    def with_name(self, name: str) -> "Target":
        return Target(self.engine, name, self.host, self.port, self.user, self.password, dict(self.options))

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.name}"
        from urllib.parse import quote

        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        host = (self.host or "localhost") + (f":{self.port}" if self.port else "")
        query = "&".join(f"{k}={v}" for k, v in self.options.items())
        return f"postgres://{auth}@{host}/{quote(self.name, safe='')}" + (f"?{query}" if query else "")

    def pg_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        for var, value in (("PGHOST", self.host), ("PGPORT", self.port), ("PGUSER", self.user),
                           ("PGPASSWORD", self.password), ("PGDATABASE", self.name),
                           ("PGSSLMODE", self.options.get("sslmode", "")),
                           ("PGSSLROOTCERT", self.options.get("sslrootcert", ""))):  # fmt: skip
            if value:
                env[var] = value
        return env

    def pg_connect(self, dbname: str | None = None, autocommit: bool = False):
        import psycopg

        kwargs = {"dbname": dbname or self.name, "autocommit": autocommit}
        for key, value in (
            ("host", self.host),
            ("port", self.port),
            ("user", self.user),
            ("password", self.password),
        ):
            if value:
                kwargs[key] = value
        kwargs.update(self.options)
        return psycopg.connect(**kwargs)

    def tables(self) -> list[str]:
        if self.engine == "sqlite":
            if not Path(self.name).exists():
                return []
            with sqlite3.connect(self.name) as conn:
                return dbsummary.sqlite_tables(conn)
        with self.pg_connect() as conn, conn.cursor() as cursor:
            return dbsummary.pg_tables(cursor)

    def summary(self) -> dict[str, dict]:
        if self.engine == "sqlite":
            conn = sqlite3.connect(self.name)
            try:
                return dbsummary.sqlite_summary(conn)
            finally:
                conn.close()
        with self.pg_connect() as conn, conn.cursor() as cursor:
            return dbsummary.pg_summary(cursor)

    def size(self) -> int:
        if self.engine == "sqlite":
            return Path(self.name).stat().st_size if Path(self.name).exists() else 0
        with self.pg_connect() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])


def _run(argv: list[str], env: dict | None = None) -> None:
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True)  # noqa: S603 - argv list
    except FileNotFoundError as exc:
        raise BackupError(
            f"找不到程序 {argv[0]}，请安装 PostgreSQL 客户端 (program not found: {argv[0]})"
        ) from exc
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} 失败 (failed): {result.stderr.strip()[-2000:]}")


# --- keyring facts (never secrets) ------------------------------------------------------------


def installed_keyring():
    """The keyring this installation would use, or ``None`` — never creating one (unlike
    ``crypto.keyring()``, which makes a fresh keyring for a new install: fatal before a restore)."""
    from linli.core.crypto import keyring, keyring_path

    if not os.environ.get("LINLI_KEYRING") and not keyring_path().exists():
        return None
    return keyring()


def keyring_facts() -> dict:
    """The key ids and a fingerprint of the blind-index secret: enough to tell whether a keyring
    fits a backup, nothing that helps to decrypt it."""
    ring = installed_keyring()
    if ring is None:
        return {"key_ids": [], "active": None, "index_fingerprint": None}
    return {
        "key_ids": sorted(ring.keys),
        "active": ring.active_id,
        "index_fingerprint": hashlib.sha256(b"linli-index-fingerprint" + ring.index_secret).hexdigest()[:16],
    }


# --- creating a backup ------------------------------------------------------------------------


class _HashingReader:
    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()

    def read(self, size=-1):
        data = self.raw.read(size)
        self.sha.update(data)
        return data


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    seconds: float
    size: int


def _dump_postgresql(target: Target, dest: Path) -> dict[str, dict]:
    """pg_dump from a snapshot exported by this transaction, which also counts and checksums the
    same snapshot while pg_dump runs: the manifest describes exactly the dumped data."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        argv = ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={dest}", target.name]
        try:
            proc = subprocess.Popen(argv, env=target.pg_env(), stderr=subprocess.PIPE, text=True)  # noqa: S603
        except FileNotFoundError as exc:
            raise BackupError("找不到 pg_dump，请安装 PostgreSQL 客户端 (pg_dump not found)") from exc
        try:
            tables = dbsummary.pg_summary(cursor)
        finally:
            _, stderr = proc.communicate()
        if proc.returncode != 0:
            raise BackupError(f"pg_dump 失败 (failed): {stderr.strip()[-2000:]}")
    return tables


def _copy_sqlite(target: Target, dest: Path) -> dict[str, dict]:
    """SQLite's online backup API: a consistent copy even while the application writes."""
    source = sqlite3.connect(target.name, timeout=30)
    copy = sqlite3.connect(dest)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        return dbsummary.sqlite_summary(copy)
    finally:
        copy.close()
        source.close()


def _applied_migrations() -> dict[str, str]:
    from django.db.migrations.recorder import MigrationRecorder

    latest: dict[str, str] = {}
    for app, name in MigrationRecorder.Migration.objects.order_by("id").values_list("app", "name"):
        latest[app] = name
    return latest


def _media_files(root: Path):
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, "media/" + path.relative_to(root).as_posix()


def create_backup(
    passphrase: str, output: Path | None = None, *, media: bool = True, out=None
) -> BackupResult:
    """Write an encrypted backup of the database and uploaded files; return where and what."""
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise BackupError(
            f"备份口令至少 {MIN_PASSPHRASE} 个字符 (the backup passphrase needs {MIN_PASSPHRASE}+ characters)"
        )
    started = timezone.now()
    clock = time.monotonic()
    target = Target.default()
    directory = backup_dir()
    output = Path(output) if output else directory / f"linli-{started:%Y%m%dT%H%M%SZ}.lbk"
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=directory))
    partial = output.with_name(output.name + ".partial")
    try:
        if target.engine == "postgresql":
            db_file = work / "linli.dump"
            tables, arcname = _dump_postgresql(target, db_file), PG_DUMP
        else:
            db_file = work / "linli.sqlite3"
            tables, arcname = _copy_sqlite(target, db_file), SQLITE_FILE
        _say(out, f"数据库已导出 (database dumped): {len(tables)} 张表, {time.monotonic() - clock:.1f} s")
        files: dict[str, dict] = {}
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        # pg_dump's custom format is compressed already; an SQLite file shrinks 4–5× with gzip.
        compress = target.engine == "sqlite"
        with (
            os.fdopen(fd, "wb") as raw,
            streamcrypt.EncryptingWriter(raw, passphrase) as writer,
            gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=3, mtime=0)
            if compress
            else nullcontext(writer) as stream,
            tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as tar,
        ):
            sources = [(db_file, arcname)] + (list(_media_files(Path(settings.MEDIA_ROOT))) if media else [])
            for path, name in sources:
                info = tar.gettarinfo(str(path), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(path, "rb") as fh:
                    reader = _HashingReader(fh)
                    tar.addfile(info, reader)
                files[name] = {"size": info.size, "sha256": reader.sha.hexdigest()}
            manifest = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "created_at": started.isoformat(),
                "host": socket.gethostname(),
                "engine": target.engine,
                "database_file": arcname,
                "tables": tables,
                "totals": {"tables": len(tables), "rows": sum(t["rows"] for t in tables.values())},
                "files": files,
                "media": media,
                "migrations": _applied_migrations(),
                "keyring": keyring_facts(),
            }
            body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(body))
        os.replace(partial, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        partial.unlink(missing_ok=True)
    seconds = time.monotonic() - clock
    size = output.stat().st_size
    from .models import BackupRecord

    BackupRecord.objects.create(
        started_at=started, finished_at=timezone.now(), path=str(output), size=size, engine=target.engine,
        tables=manifest["totals"]["tables"], rows=manifest["totals"]["rows"],
        manifest_sha256=hashlib.sha256(body).hexdigest(), host=socket.gethostname()[:120],
    )  # fmt: skip
    return BackupResult(output, manifest, seconds, size)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``directory``; return what was deleted."""
    backups = sorted(directory.glob("linli-*.lbk"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in backups[keep:]:
        old.unlink()
    return backups[keep:]


# --- reading a backup -------------------------------------------------------------------------


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return (
        bool(parts)
        and not Path(name).is_absolute()
        and ".." not in parts
        and (name == MANIFEST or parts[0] in ("db", "media"))
    )


def unpack(archive: Path, passphrase: str, work: Path, *, media: bool = True) -> dict:
    """Decrypt and unpack ``archive`` into ``work``; verify every file against the manifest.

    Raises :class:`BackupError` for a wrong passphrase, a tampered or truncated file (GCM
    authentication), an unexpected member, or a file whose size or checksum is not the manifest's.
    """
    seen: dict[str, dict] = {}
    manifest = None
    try:
        with open(archive, "rb") as raw:
            reader = streamcrypt.DecryptingReader(raw, passphrase)
            # "r|*": a gzip-compressed stream (SQLite backups) is recognised by its magic bytes.
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                for member in tar:
                    if not _safe_name(member.name) or not (member.isfile() or member.isdir()):
                        raise BackupError(
                            f"备份中有不应出现的条目 (unexpected entry in backup): {member.name!r}"
                        )
                    if member.isdir():
                        continue
                    source = tar.extractfile(member)
                    if member.name == MANIFEST:
                        manifest = json.loads(source.read().decode("utf-8"))
                        continue
                    sha = hashlib.sha256()
                    if member.name.startswith("media/") and not media:
                        while chunk := source.read(1 << 20):
                            sha.update(chunk)
                    else:
                        dest = work / member.name
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        with open(dest, "wb") as fh:
                            while chunk := source.read(1 << 20):
                                sha.update(chunk)
                                fh.write(chunk)
                    seen[member.name] = {"size": member.size, "sha256": sha.hexdigest()}
    except streamcrypt.DecryptionError as exc:
        raise BackupError(str(exc)) from None
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"备份文件格式错误 (malformed backup): {exc}") from None
    if manifest is None or manifest.get("format") != FORMAT:
        raise BackupError("备份中没有清单 (no manifest in the backup)")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"不支持的备份版本 (unsupported backup version): {manifest.get('version')}")
    problems = [
        f"{name}: 文件缺失或多余 (missing or unexpected file)"
        for name in sorted(set(manifest["files"]) ^ set(seen))
    ] + [
        f"{name}: 校验和不符 (checksum differs)"
        for name in sorted(set(manifest["files"]) & set(seen))
        if manifest["files"][name] != seen[name]
    ]
    if problems:
        raise BackupError("备份文件与清单不符 (files do not match the manifest):\n" + "\n".join(problems))
    return manifest


def read_manifest(archive: Path, passphrase: str) -> dict:
    with tempfile.TemporaryDirectory(dir=backup_dir()) as work:
        return unpack(archive, passphrase, Path(work), media=False)


# --- restoring --------------------------------------------------------------------------------


def _restore_database(manifest: dict, work: Path, target: Target, *, force: bool, jobs: int) -> None:
    if manifest["engine"] != target.engine:
        raise BackupError(
            f"备份来自 {manifest['engine']}，目标是 {target.engine}，不能直接恢复 "
            f"(a {manifest['engine']} backup cannot be restored into {target.engine})"
        )
    existing = target.tables()
    if existing and not force:
        raise BackupError(
            f"目标数据库不是空的（{len(existing)} 张表），拒绝覆盖；确需覆盖请加 --force "
            f"(the target database is not empty: {len(existing)} tables; use --force to overwrite)"
        )
    source = work / manifest["database_file"]
    if target.engine == "postgresql":
        argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--jobs={max(1, jobs)}",
                f"--dbname={target.name}"]  # fmt: skip
        if existing:
            argv += ["--clean", "--if-exists"]
        _run([*argv, str(source)], env=target.pg_env())
        return
    # SQLite: write through the backup API into the target, so an open WAL is handled correctly.
    Path(target.name).parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target.name, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _restore_media(work: Path, media_root: Path, *, force: bool) -> int:
    source = work / "media"
    if not source.is_dir():
        return 0
    if media_root.is_dir() and any(media_root.iterdir()) and not force:
        raise BackupError(
            f"上传文件目录 {media_root} 不是空的；确需覆盖请加 --force "
            f"(the media directory is not empty; use --force to overwrite)"
        )
    count = 0
    for path in source.rglob("*"):
        if path.is_file():
            dest = media_root / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            count += 1
    return count


def check_keyring(manifest: dict) -> list[str]:
    """Why the installed keyring cannot read this backup's data (empty when it can)."""
    wanted = manifest.get("keyring") or {}
    have = keyring_facts()
    if have["active"] is None:
        return [
            "没有安装密钥环，请先用 `linli restore --keys` 恢复 (no keyring installed: restore it with linli restore --keys)"
        ]
    problems = []
    missing = sorted(set(wanted.get("key_ids", [])) - set(have["key_ids"]))
    if missing:
        problems.append(f"当前密钥环缺少密钥 {missing} (the keyring lacks keys {missing})")
    if wanted.get("index_fingerprint") and wanted["index_fingerprint"] != have["index_fingerprint"]:
        problems.append(
            "当前密钥环的检索索引密钥与备份不同 (the blind-index secret differs from the backup's)"
        )
    return problems


@dataclass
class RestoreResult:
    manifest: dict
    timings: dict[str, float]
    problems: list[str]
    media_files: int = 0


def restore(
    archive: Path,
    passphrase: str,
    *,
    target: Target | None = None,
    media_root: Path | None = None,
    force: bool = False,
    jobs: int = 2,
    out=None,
) -> RestoreResult:
    """Restore ``archive`` into ``target`` (default: the configured database), which must be empty."""
    target = target or Target.default()
    timings: dict[str, float] = {}
    clock = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=backup_dir()) as tmp:
        work = Path(tmp)
        manifest = unpack(archive, passphrase, work, media=media_root is not None)
        timings["decrypt_verify_files"] = time.monotonic() - clock
        _say(
            out,
            f"备份已解密，文件校验通过 (decrypted, files verified): {timings['decrypt_verify_files']:.1f} s",
        )
        step = time.monotonic()
        if target.name == connection.settings_dict["NAME"]:
            connections.close_all()
        _restore_database(manifest, work, target, force=force, jobs=jobs)
        timings["restore_database"] = time.monotonic() - step
        _say(out, f"数据库已恢复 (database restored): {timings['restore_database']:.1f} s")
        media_files = 0
        if media_root is not None:
            media_files = _restore_media(work, media_root, force=force)
    step = time.monotonic()
    problems = dbsummary.compare(manifest["tables"], target.summary())
    timings["verify_rows"] = time.monotonic() - step
    timings["total"] = time.monotonic() - clock
    return RestoreResult(manifest, timings, problems, media_files)


# --- the drill --------------------------------------------------------------------------------


@dataclass
class DrillResult:
    ok: bool
    manifest: dict
    timings: dict[str, float]
    problems: list[str]
    chain_output: str
    scratch: str
    database_bytes: int
    archive_bytes: int
    canary: str

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "backup_created_at": self.manifest.get("created_at"),
            "engine": self.manifest.get("engine"),
            "tables": self.manifest["totals"]["tables"],
            "rows": self.manifest["totals"]["rows"],
            "archive_bytes": self.archive_bytes,
            "restored_database_bytes": self.database_bytes,
            "timings_seconds": {k: round(v, 2) for k, v in self.timings.items()},
            "key_canary": self.canary,
            "problems": self.problems,
            "scratch": self.scratch,
        }


def _create_scratch(base: Target, work: Path) -> Target:
    if base.engine == "sqlite":
        return base.with_name(str(work / "drill.sqlite3"))
    name = f"linli_drill_{dt.datetime.now(tz=dt.UTC):%Y%m%d%H%M%S}_{os.getpid()}"
    with base.pg_connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.with_name(name)


def _drop_scratch(scratch: Target) -> None:
    if scratch.engine == "sqlite":
        Path(scratch.name).unlink(missing_ok=True)
        return
    base = connection.settings_dict["NAME"]
    with scratch.pg_connect(dbname=base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch.name}" WITH (FORCE)')


def _verify_chains(scratch: Target) -> tuple[bool, str]:
    """Run ``linli audit verify`` (without sealing) against the scratch database."""
    env = {**os.environ, "DATABASE_URL": scratch.url}
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "linli.cli", "audit", "--skip-checks", "verify", "--no-seal"],
        env=env, capture_output=True, text=True, timeout=24 * 3600,
    )  # fmt: skip
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def _read_canary(scratch: Target) -> str:
    """Decrypt the restored key canary with the installed keyring: "ok", "absent" or why not."""
    from .models import KeyCanary

    table = KeyCanary._meta.db_table
    sql = f'SELECT value FROM "{table}" ORDER BY id LIMIT 1'  # noqa: S608 - our own table name
    try:
        if scratch.engine == "sqlite":
            with sqlite3.connect(scratch.name) as conn:
                row = conn.execute(sql).fetchone()
        else:
            with scratch.pg_connect() as conn:
                row = conn.execute(sql).fetchone()
    except Exception:  # noqa: BLE001 - an old backup without the table
        return "absent"
    if not row or row[0] is None:
        return "absent"
    ring = installed_keyring()
    if ring is None:
        return "failed: no keyring installed"
    try:
        plain = ring.decrypt(bytes(row[0]), KeyCanary._meta.get_field("value").aad)
    except Exception as exc:  # noqa: BLE001
        return f"failed: {exc}"
    return "ok" if plain == KeyCanary.PLAINTEXT else "failed: wrong plaintext"


def drill(archive: Path, passphrase: str, *, keep: bool = False, jobs: int = 2, out=None) -> DrillResult:
    """Restore into a scratch database, prove it matches the manifest and the audit chains hold."""
    clock = time.monotonic()
    timings: dict[str, float] = {}
    problems: list[str] = []
    base = Target.default()
    with tempfile.TemporaryDirectory(prefix=".drill-", dir=backup_dir()) as tmp:
        work = Path(tmp)
        manifest = unpack(archive, passphrase, work)
        timings["decrypt_verify_files"] = time.monotonic() - clock
        _say(out, f"解密并校验文件 (decrypt + verify files): {timings['decrypt_verify_files']:.1f} s")
        scratch = _create_scratch(base, work)
        try:
            step = time.monotonic()
            _restore_database(manifest, work, scratch, force=False, jobs=jobs)
            timings["restore_database"] = time.monotonic() - step
            _say(
                out,
                f"恢复到临时库 {scratch.name} (restore into scratch): {timings['restore_database']:.1f} s",
            )
            step = time.monotonic()
            problems += dbsummary.compare(manifest["tables"], scratch.summary())
            timings["verify_rows_checksums"] = time.monotonic() - step
            _say(out, f"核对行数与校验和 (row counts + checksums): {timings['verify_rows_checksums']:.1f} s")
            step = time.monotonic()
            chains_ok, chain_output = _verify_chains(scratch)
            timings["verify_audit_chains"] = time.monotonic() - step
            _say(out, f"审计链校验 (audit chain verify): {timings['verify_audit_chains']:.1f} s")
            if not chains_ok:
                problems.append("审计链校验失败 (audit chain verification failed):\n" + chain_output)
            canary = _read_canary(scratch)
            if canary.startswith("failed"):
                problems.append(
                    f"当前密钥环无法解密恢复的数据 (the keyring cannot decrypt the restored data): {canary}"
                )
            problems += check_keyring(manifest) if canary != "ok" else []
            database_bytes = scratch.size()
        finally:
            if not keep:
                step = time.monotonic()
                _drop_scratch(scratch)
                timings["drop_scratch"] = time.monotonic() - step
    timings["total"] = time.monotonic() - clock
    return DrillResult(
        ok=not problems, manifest=manifest, timings=timings, problems=problems, chain_output=chain_output,
        scratch=scratch.name if keep else "", database_bytes=database_bytes,
        archive_bytes=Path(archive).stat().st_size, canary=canary,
    )  # fmt: skip


# --- the keyring, exported apart -------------------------------------------------------------


def _keyring_json() -> str:
    raw = os.environ.get("LINLI_KEYRING")
    if raw:
        return raw
    from linli.core.crypto import keyring_path

    path = keyring_path()
    if not path.exists():
        raise BackupError(f"找不到密钥环 (keyring not found): {path}")
    return path.read_text(encoding="utf-8")


def export_keys(passphrase: str, output: Path) -> Path:
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise BackupError(
            f"口令至少 {MIN_PASSPHRASE} 个字符 (the passphrase needs {MIN_PASSPHRASE}+ characters)"
        )
    blob = streamcrypt.encrypt_bytes(_keyring_json().encode(), passphrase, streamcrypt.KIND_KEYRING)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
    return output


def import_keys(archive: Path, passphrase: str, *, force: bool = False) -> Path:
    from linli.core.crypto import Keyring, keyring_path, reset_keyring_cache

    try:
        data = streamcrypt.decrypt_bytes(Path(archive).read_bytes(), passphrase, streamcrypt.KIND_KEYRING)
    except streamcrypt.DecryptionError as exc:
        raise BackupError(str(exc)) from None
    Keyring(json.loads(data))  # refuses a malformed keyring
    path = keyring_path()
    if path.exists() and not force:
        raise BackupError(
            f"密钥环已存在，拒绝覆盖；确需覆盖请加 --force (keyring exists: {path}; use --force)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(path.with_suffix(".tmp"), path)
    reset_keyring_cache()
    return path
