"""The harness's smoke mode: a tiny scale, one short run of every section, every figure produced.

Timing is not asserted here (speed targets live in the harness's own table); what is asserted is
that the harness still prepares its data, runs each section through the real code paths and
reports every figure with a value, so it cannot rot between benchmark runs.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "import_csv", "import_xlsx", "xlsx_read", "import_dry_run", "import_rate", "import_rss", "import_cpu_rate", "healthz_p95",
    "api_root_p95", "api_list_one_p95",
    "search_name_p95", "search_initials_p95", "search_id_tail4_p95", "search_phone_tail4_p95",
    "search_household_p95", "api_search_name_p95", "list_grid_p95", "list_community_deep_p95",
    "list_subdistrict_filtered_p95", "households_subdistrict_p95", "api_list_community_p95",
    "overview_community_p95", "overview_subdistrict_p95", "overview_district_p95", "metrics_district_p95",
    "survey_community_p95", "export_csv", "export_csv_rss", "export_xlsx", "export_xlsx_rss", "load_rps",
    "load_p95", "load_errors",
}  # fmt: skip


def run_smoke(tmp_path: Path, database_url: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LINLI_TESTING", "LINLI_TEST_DB")}
    env["LINLI_VAR_DIR"] = str(tmp_path / "var")
    if database_url:
        env["DATABASE_URL"] = database_url
    out = tmp_path / "results.json"
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "bench", "run", "--smoke", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    assert "pass" in result.stdout or "FAIL" in result.stdout  # the table was printed
    return json.loads(out.read_text())


def check(results: dict) -> None:
    (figures,) = results["scales"].values()
    by_key = {f["key"]: f for f in figures}
    assert set(by_key) >= EXPECTED, sorted(EXPECTED - set(by_key))
    for key in EXPECTED:
        figure = by_key[key]
        assert figure["values"] and all(v is not None for v in figure["values"]), key
        assert figure["median"] is not None and figure["median"] >= 0, key
    # references measured in the same run: COPY/INSERT, django-import-export, /healthz
    for key in ("import_csv", "import_xlsx", "import_rate", "search_name_p95", "list_grid_p95"):
        assert by_key[key]["reference"] and by_key[key]["ratio"] is not None, key
    assert by_key["load_errors"]["median"] == 0, "the load test's requests failed"
    assert results["meta"]["command"].startswith("python -m bench run --smoke")


@pytest.mark.slow
def test_smoke_sqlite(tmp_path):
    check(run_smoke(tmp_path))


@pytest.mark.slow
@pytest.mark.postgres
def test_smoke_postgres(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("the PostgreSQL variant runs in the PostgreSQL pass")
    prefix = f"linli_smoke_{uuid.uuid4().hex[:8]}"
    base = url.rsplit("/", 1)[0]
    try:
        check(run_smoke(tmp_path, f"{base}/{prefix}"))
    finally:
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                                [prefix + "%"])]  # fmt: skip
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
