"""Prepared databases, cached by scale, and the environment a child process needs to use one.

PostgreSQL (``DATABASE_URL`` set): the URL's database name is a prefix — ``…/linli_bench`` gives
``linli_bench_p100000`` for 100,000 people, ``linli_bench_import_tpl`` (schema, reference data and
a scratch area tree: the template every import run is cloned from with ``CREATE DATABASE …
TEMPLATE``) and ``linli_bench_import_run``. SQLite (no ``DATABASE_URL``): one file per scale.

Every prepared database has its own var directory (``$LINLI_VAR_DIR/bench/<label>/``) holding its
keyring (the encrypted columns were written with it) and a ``prepared.json`` marker written only
after the demo data finished; a rerun reuses a database whose marker matches.
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def var_root() -> Path:
    return Path(os.environ.get("LINLI_VAR_DIR", ROOT / "var")) / "bench"


@dataclass(frozen=True)
class Target:
    """One database of the harness: where it lives and how a child process reaches it."""

    label: str  # pg-p100000, sqlite-p100000, pg-import, …
    url: str  # DATABASE_URL for children; "" = SQLite in the var dir
    var_dir: Path

    @property
    def vendor(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def database(self) -> str:
        return urlsplit(self.url).path.lstrip("/") if self.url else str(self.var_dir / "linli.sqlite3")

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if self.url:
            env["DATABASE_URL"] = self.url
        env.update(
            LINLI_VAR_DIR=str(self.var_dir),
            LINLI_SECURE_COOKIES="0",
            LINLI_TESTING="0",
            LINLI_LOG_LEVEL=os.environ.get("LINLI_LOG_LEVEL", "WARNING"),
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
            DJANGO_SETTINGS_MODULE="linli.settings",
        )
        env.update({k: str(v) for k, v in extra.items()})
        return env

    @property
    def marker(self) -> Path:
        return self.var_dir / "prepared.json"

    def read_marker(self) -> dict | None:
        try:
            return json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return None


def base_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def target(label: str) -> Target:
    url = base_url()
    if url:
        prefix = urlsplit(url).path.lstrip("/") or "linli_bench"
        db = f"{prefix}_{label.replace('-', '_')}"
        return Target(f"pg-{label}", _with_db(url, db), var_root() / f"pg-{label}")
    return Target(f"sqlite-{label}", "", var_root() / f"sqlite-{label}")


def scale_target(people: int) -> Target:
    return target(f"p{people}")


# -- PostgreSQL administration ----------------------------------------------------------------
def _admin(url: str):
    import psycopg

    return psycopg.connect(_with_db(url, "postgres"), autocommit=True)


def pg_exists(t: Target) -> bool:
    with _admin(t.url) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [t.database]).fetchone() is not None
        )


def pg_recreate(t: Target, template: Target | None = None) -> None:
    from psycopg import sql

    with _admin(t.url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(t.database)))
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(t.database)))
        else:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(t.database), sql.Identifier(template.database)
                )
            )


def pg_drop(t: Target) -> None:
    from psycopg import sql

    with _admin(t.url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(t.database)))


def pg_vacuum(t: Target, log) -> None:
    """``VACUUM (ANALYZE)`` the freshly loaded database: the state autovacuum keeps a live one in.

    Without it the visibility map of bulk-loaded tables stays empty and every index-only scan
    (the list's ``COUNT(*)``) visits the heap: 9.4 ms instead of 0.8 ms for a community's 8,348
    residents at 100k, on a server whose autovacuum is off (the benchmark machine's is).
    """
    import psycopg

    started = time.perf_counter()

    with psycopg.connect(t.url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    log(f"  VACUUM (ANALYZE) {t.database}: {time.perf_counter() - started:.0f} s")


# -- preparing --------------------------------------------------------------------------------
def linli(t: Target, *args: str, log=None, **extra) -> None:
    """Run a ``linli`` command against the target (``linli init``, ``linli demo …``)."""
    command = [sys.executable, "-m", "linli.cli", *args]
    result = subprocess.run(command, env=t.env(**extra), cwd=ROOT, capture_output=True, text=True)  # noqa: S603 - fixed argv, no shell
    if log:
        for line in (result.stdout + result.stderr).splitlines()[-3:]:
            log(f"    {line}")
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


def fresh(t: Target) -> None:
    """An empty database and var directory for ``t`` (keys included: the data goes with them)."""
    if t.var_dir.exists():
        shutil.rmtree(t.var_dir)
    t.var_dir.mkdir(parents=True)
    if t.url:
        pg_recreate(t)


def ensure_scale(people: int, *, seed: int, event_days: int, log) -> Target:
    """The demo district with ``people`` residents, generated once and reused while its marker matches."""
    t = scale_target(people)
    wanted = {"people": people, "seed": seed, "event_days": event_days}
    marker = t.read_marker()
    if marker and all(marker.get(k) == v for k, v in wanted.items()) and (not t.url or pg_exists(t)):
        log(f"  reusing {t.label} ({t.database}, prepared {marker.get('finished', '?')})")
        # New migrations (an index, a derived column) reach the cached database before it is measured.
        linli(t, "migrate", "--noinput", log=log)
        if t.url and not marker.get("vacuumed"):
            pg_vacuum(t, log)
            t.marker.write_text(json.dumps({**marker, "vacuumed": True}))
        return t
    log(f"  preparing {t.label}: linli init && linli demo --people {people} (cached afterwards) …")
    fresh(t)
    started = time.perf_counter()
    linli(t, "init", log=log)
    linli(t, "demo", "--people", str(people), "--seed", str(seed), "--event-days", str(event_days), log=log)
    took = time.perf_counter() - started
    if t.url:
        pg_vacuum(t, log)
    t.marker.write_text(json.dumps({**wanted, "database": t.database, "seconds": round(took, 1), "vacuumed": bool(t.url),
                                    "finished": dt.datetime.now().isoformat(timespec="seconds")}))  # fmt: skip
    log(f"  prepared {t.label} in {took:.0f} s")
    return t


def ensure_import_template(*, grids: int, log, run_worker) -> Target:
    """Schema, reference data, a scratch area tree and the importing user; cloned for every import run."""
    t = target("import-tpl")
    marker = t.read_marker()
    if marker and marker.get("grids") == grids and (not t.url or pg_exists(t)):
        # As ensure_scale: new migrations (an index dropped or added) reach every run's clone.
        linli(t, "migrate", "--noinput", log=log)
        return t
    log(f"  preparing the import template {t.label} …")
    fresh(t)
    linli(t, "init", log=log)
    run_worker(t, ["import-setup", "--grids", str(grids)])
    t.marker.write_text(json.dumps({"grids": grids, "database": t.database}))
    return t


def clone_for_run(template: Target) -> Target:
    """A fresh copy of the import template (same keys) for one import run."""
    t = target("import-run")
    if t.url:
        pg_recreate(t, template=template)
        # Same keyring and secret key: the template's var directory is shared.
        return Target(t.label, t.url, template.var_dir)
    if t.var_dir.exists():
        shutil.rmtree(t.var_dir)
    shutil.copytree(template.var_dir, t.var_dir, ignore=shutil.ignore_patterns("media", "prepared.json"))
    return t


def drop_run(t: Target) -> None:
    if t.url:
        pg_drop(t)
    elif t.var_dir.exists():
        shutil.rmtree(t.var_dir)
