"""The whole test suite in one command (``./dev test``), the same in CI and on a laptop.

1. ``ruff check`` and ``ruff format --check`` (lint is part of the suite);
2. pytest on SQLite, the embedded default;
3. pytest again on PostgreSQL when one is reachable (``LINLI_TEST_POSTGRES_URL``, default
   ``postgres://postgres@127.0.0.1:5432/linli``). In CI (``CI=true``) PostgreSQL is required:
   an unreachable server fails the run instead of skipping it.

Extra arguments go to pytest, e.g. ``./dev test -k history``; ``--sqlite-only`` or
``--postgres-only`` pick one database.
"""

import os
import subprocess
import sys

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/linli"


def run(cmd: list[str], env: dict | None = None) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=env)  # noqa: S603 - fixed argv built above, no shell


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        print(f"PostgreSQL not reachable at {url}: {exc}", flush=True)
        return False


def main(argv: list[str]) -> int:
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    sqlite = "--postgres-only" not in argv
    postgres = "--sqlite-only" not in argv
    args = [a for a in argv if a not in {"--sqlite-only", "--postgres-only"}]
    py = sys.executable
    base_env = {**os.environ, "LINLI_TESTING": "1"}
    base_env.pop("DATABASE_URL", None)

    if not args:
        for cmd in ([py, "-m", "ruff", "check", "."], [py, "-m", "ruff", "format", "--check", "."]):
            if run(cmd) != 0:
                print("lint failed", flush=True)
                return 1

    # Two workers: the machines this runs on (laptops, CI) have at least two cores.
    workers = (
        []
        if any(a == "-n" or a.startswith("-n") for a in args)
        else ["-n", os.environ.get("LINLI_TEST_WORKERS", "2")]
    )
    pytest = [py, "-m", "pytest", *workers, *args]
    status = 0
    if sqlite:
        status = (
            run([*pytest, "-p", "no:cacheprovider"], env={**base_env, "LINLI_TEST_DB": "sqlite"}) or status
        )
    if postgres:
        url = os.environ.get("LINLI_TEST_POSTGRES_URL", DEFAULT_PG)
        if postgres_reachable(url):
            env = {**base_env, "DATABASE_URL": url, "LINLI_TEST_DB": "postgres"}
            status = run([*pytest, "-p", "no:cacheprovider"], env=env) or status
        elif ci:
            print("CI needs PostgreSQL for the PostgreSQL run; failing instead of skipping.", flush=True)
            status = 1
        else:
            print("PostgreSQL run skipped: no server reachable (CI never skips it).", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
