"""Faults (c): the database restarted while requests are being served.

A throwaway PostgreSQL cluster (linli/robustness/pgcluster.py) backs a real gunicorn running
Linli. Requests go on while the cluster is stopped like a crash and started again: while it is
down every answer is a clean 503 (JSON under /api/, a short page elsewhere, never a traceback);
once it is back the same app processes serve 200 again without being restarted.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from linli import robustness
from linli.robustness.pgcluster import Cluster, free_port, server_bin

from .helpers import wait_for

RESTARTS = robustness.scale(1, 5)
BURST = robustness.scale(12, 60)

pytestmark = [
    pytest.mark.postgres,
    # The cluster is its own; running it once (in the PostgreSQL run of the suite) is enough.
    pytest.mark.skipif(os.environ.get("LINLI_TEST_DB") != "postgres", reason="runs in the PostgreSQL run"),
    pytest.mark.skipif(server_bin() is None, reason="no PostgreSQL server binaries (CI installs them)"),
]

SETUP = """
from linli.accounts.models import ApiToken
from linli.core.testing import build_area_tree, make_person, make_user
tree = build_area_tree()
make_person(tree["grids"][0], name="张三")
user = make_user("robust", "community_staff", tree["communities"][0])
print("TOKEN=" + ApiToken.issue(user, "robustness")[1])
"""


def fetch(url: str, token: str | None = None) -> tuple[int, str, str]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - our own server
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def test_database_restarted_during_requests(tmp_path):
    cluster = Cluster().init()
    cluster.start()
    server = None
    try:
        env = {**os.environ, "DATABASE_URL": cluster.url, "LINLI_VAR_DIR": str(tmp_path / "var"),
               "LINLI_TESTING": "1", "LINLI_DB_CONN_MAX_AGE": "60"}  # fmt: skip
        linli = [sys.executable, "-m", "linli.cli"]
        subprocess.run([*linli, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=300)  # noqa: S603
        out = subprocess.run([*linli, "shell", "-c", SETUP], env=env, check=True, timeout=120,  # noqa: S603
                             capture_output=True, text=True).stdout  # fmt: skip
        token = next(line[6:] for line in out.splitlines() if line.startswith("TOKEN="))
        port = free_port()
        gunicorn = Path(sys.executable).parent / "gunicorn"
        server = subprocess.Popen(  # noqa: S603
            [str(gunicorn), "linli.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4", "--timeout", "60"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "w"),  # noqa: SIM115
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        targets = [(f"{base}/api/v1/persons/", token), (f"{base}/healthz", None),
                   (f"{base}/portal/track/?number=SJ20260101-0001&code=ABCDEFGH", None)]  # fmt: skip
        wait_for(lambda: _ok(f"{base}/healthz"), timeout=60, what="gunicorn to answer")

        def burst() -> list[tuple[str, int, str, str]]:
            jobs = [targets[i % len(targets)] for i in range(BURST)]
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda t: (t[0], *fetch(*t)), jobs))
            robustness.tally("database restart", "requests", len(answers))
            return answers

        assert {status for _, status, _, _ in burst()} == {200}
        for _ in range(RESTARTS):
            cluster.stop("immediate")  # a crash: connections cut, no checkpoint
            robustness.tally("faults", "PostgreSQL stopped (immediate) and restarted during requests")
            down = burst()
            for url, status, content_type, body in down:
                assert "Traceback" not in body and 'File "' not in body, body[:300]
                if "/portal/" in url:
                    assert status in (200, 503), (url, status)  # a tracking miss may need no database
                    continue
                assert status == 503, (url, status, body[:300])
                if "/api/" in url:
                    assert (
                        content_type.startswith("application/json")
                        and "数据库暂时不可用" in json.loads(body)["detail"]
                    )
            cluster.start()
            # Each app thread finds its dead connection at its next request and reconnects; the
            # service is back when a whole burst succeeds again (the app itself is never restarted).
            wait_for(lambda: {status for _, status, _, _ in burst()} == {200}, timeout=90, what="service to resume",
                     poll=0.5)  # fmt: skip
        assert server.poll() is None, "the app had to be restarted"
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        cluster.remove()


def _ok(url: str, token: str | None = None) -> bool:
    try:
        return fetch(url, token)[0] == 200
    except OSError:
        return False
