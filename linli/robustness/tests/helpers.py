"""Running Linli's own processes (worker, sweep) against the test database, and killing them."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection


def child_env(**extra) -> dict:
    """The environment of a ``linli`` subprocess that works on this test's database and media."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "LINLI_TESTING": "1",
        "LINLI_TEST_DB_TASKS": "1",
    }
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env["DATABASE_URL"] = (
            f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env.pop("DATABASE_URL", None)
        env["LINLI_SQLITE_PATH"] = str(db["NAME"])
    env.update(extra)
    return env


def linli(*args: str, **env) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "linli.cli", *args],
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL: no handler runs, no transaction is committed, as when the machine loses power."""
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def wait_for(condition, timeout: float, what: str, poll: float = 0.05):
    """Poll ``condition()`` until it returns something true; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
