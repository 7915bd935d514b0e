"""``python -m bench run --people 100000 --runs 3 [--only import,search,lists,dashboards,export,throughput]``.

Prepares (or reuses) the databases, runs every section ``--runs`` times in child processes,
prints the table (median of the runs, reference in the same runs, ratio, target, pass/fail) and
writes the JSON results. ``--people 100000,1000000`` runs each scale and adds the scaling table.
``--smoke`` is the tiny run the test suite uses to keep the harness working (no timing asserted).
"""

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from . import prepare
from .figures import Figure, scaling_table, table

SECTIONS = ("import", "search", "lists", "dashboards", "export", "throughput")
WEB_SECTIONS = {"search", "lists", "dashboards"}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def worker(t: prepare.Target, args: list[str], *, timeout: float | None = None) -> dict:
    """Run one ``bench.worker`` section against ``t`` in a fresh process; its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = Path(out.name)
    try:
        command = [sys.executable, "-m", "bench.worker", *args, "--out", str(path)]
        result = subprocess.run(command, env=t.env(), cwd=prepare.ROOT, capture_output=True, text=True,  # noqa: S603 - fixed argv, no shell
                                timeout=timeout)  # fmt: skip
        if result.returncode:
            raise RuntimeError(f"bench.worker {' '.join(args)} failed:\n{result.stderr[-6000:]}")
        return json.loads(path.read_text())
    finally:
        path.unlink(missing_ok=True)


# -- sections -----------------------------------------------------------------------------------
def section_import(opts, people: int) -> list[Figure]:
    rows, runs = opts.import_rows or people, opts.runs
    template = prepare.ensure_import_template(grids=opts.grids, log=log, run_worker=worker)
    files = prepare.var_root() / "files"
    files.mkdir(parents=True, exist_ok=True)
    formats = [fmt for fmt in ("csv", "xlsx") if fmt in opts.formats.split(",")]
    ledger = files / f"ledger-{rows}-g{opts.grids}-s{opts.seed}.csv"
    want_xlsx = "xlsx" in formats
    if not ledger.exists() or (want_xlsx and not ledger.with_suffix(".xlsx").exists()):
        log(
            f"  writing the ledger: {rows:,} rows as CSV{' and .xlsx' if want_xlsx else ''} (cached in {files}) …"
        )
        partial = ledger.with_name("partial-" + ledger.name)
        worker(template, ["ledger", "--file", str(partial), "--rows", str(rows), "--grids", str(opts.grids),
                          "--seed", str(opts.seed), *(["--xlsx"] if want_xlsx else [])])  # fmt: skip
        if want_xlsx:
            partial.with_suffix(".xlsx").replace(ledger.with_suffix(".xlsx"))
        partial.replace(ledger)
    vendor = template.vendor
    ref = "COPY" if vendor == "postgresql" else "INSERT"
    f = {
        "csv": Figure("import_csv", "import", f"import {rows:,} rows from CSV (check + write)", "s",
                      reference_label=f"{ref} same rows", max_ratio=3),
        "xlsx": Figure("import_xlsx", "import", f"import {rows:,} rows from .xlsx (check + write)", "s",
                       reference_label=f"{ref} same rows", max_ratio=3),
        "parse": Figure("xlsx_read", "import", "read the .xlsx cells only (floor under any .xlsx import)", "s"),
        "dry": Figure("import_dry_run", "import", f"dry run (validation only) of {rows:,} CSV rows", "s"),
        "rate": Figure("import_rate", "import", "import rate, CSV", "rows/s",
                       reference_label=f"django-import-export, {opts.dje_rows:,} rows before and after", min_ratio=20),
        "rss": Figure("import_rss", "import", "peak memory of the import process", "MB", max_value=1024),
        "cpu": Figure("import_cpu_rate", "import", "import rate per CPU-second of the app process, CSV",
                      "rows/s", reference_label="django-import-export, per CPU-second", min_ratio=20,
                      note="less sensitive to a busy machine; excludes the database server's CPU"),
    }  # fmt: skip

    def dje_slice() -> dict:
        t = prepare.clone_for_run(template)
        try:
            return worker(t, ["dje", "--file", str(ledger), "--rows", str(min(opts.dje_rows, rows)),
                              "--grids", str(opts.grids)])  # fmt: skip
        finally:
            prepare.drop_run(t)

    for run in range(runs):
        copy_seconds = None
        before = dje_slice()
        for fmt in ["csv", *(f for f in formats if f != "csv")]:  # CSV always: it gives the COPY reference
            t = prepare.clone_for_run(template)
            try:
                path = ledger if fmt == "csv" else ledger.with_suffix(".xlsx")
                extra = ["--csv-reference", str(ledger)] if fmt == "csv" else []
                r = worker(t, ["import", "--file", str(path), "--format", fmt, "--rows", str(rows),
                               "--grids", str(opts.grids), *extra])  # fmt: skip
            finally:
                prepare.drop_run(t)
            if r.get("status") != "done" or r["persons_added"] != rows:
                raise RuntimeError(
                    f"the {fmt} import did not complete: {json.dumps(r, ensure_ascii=False)[:2000]}"
                )
            if fmt == "csv":
                copy_seconds = r["copy_seconds"]
                f["dry"].values.append(r["dry_run_seconds"])
                f["rate"].values.append(rows / r["commit_seconds"])
                f["cpu"].values.append(rows / r["commit_cpu_seconds"])
                f["rss"].values.append(r["peak_rss_mb"])
            else:
                f["parse"].values.append(r["parse_seconds"])
                f["rss"].values.append(r["peak_rss_mb"])
            f[fmt].values.append(r["commit_seconds"])
            f[fmt].references.append(copy_seconds)
            log(f"    import run {run + 1}/{runs} {fmt}: check+write {r['commit_seconds']:.1f} s, dry run "
                f"{r['dry_run_seconds']:.1f} s, {ref} {copy_seconds:.2f} s, peak {r['peak_rss_mb']:.0f} MB, "
                f"history +{r['history_added']:,}")  # fmt: skip
        after = dje_slice()
        # The host's speed drifts by half within minutes: the reference is the two slices that
        # bracket the import, together (their rows over their summed time).
        pair = (before, after)
        f["rate"].references.append(sum(d["rows"] for d in pair) / sum(d["seconds"] for d in pair))
        f["cpu"].references.append(sum(d["rows"] for d in pair) / sum(d["cpu_seconds"] for d in pair))
        log(f"    django-import-export run {run + 1}/{runs}: {before['rows']:,} rows in {before['seconds']:.1f} s "
            f"before the import, {after['seconds']:.1f} s after it")  # fmt: skip
    f["rss"].values = [max(f["rss"].values)] if f["rss"].values else []
    return [figure for key, figure in f.items() if key not in ("xlsx", "parse") or want_xlsx]


def section_web(opts, t: prepare.Target, sections: set[str]) -> list[Figure]:
    only = ",".join(sorted(sections & WEB_SECTIONS))
    r = worker(t, ["web", "--runs", str(opts.runs), "--samples", str(opts.samples), "--seed", str(opts.seed),
                   "--only", only])  # fmt: skip
    pages = r["pages"]
    healthz = pages.pop("healthz")
    figures = [Figure("healthz_p95", "reference", healthz["label"] + " p95", "ms", values=healthz["p95"],
                      note=_latency_note(healthz))]  # fmt: skip
    for key, page in pages.items():
        section = page["section"]
        figure = Figure(f"{key}_p95", section, page["label"] + " p95", "ms", values=page["p95"],
                        note=_latency_note(page))  # fmt: skip
        if section == "reference":
            pass  # a floor shown beside /healthz, no target
        elif section in ("search", "lists"):
            figure.references, figure.reference_label = healthz["p95"], "/healthz p95"
            figure.max_value, figure.max_ratio = 50, 5
        else:
            figure.max_value = 1000 if key.endswith("_district") else 200
        figures.append(figure)
    return figures


def _latency_note(page: dict) -> str:
    return f"p50 {_med(page['p50']):.1f} ms, app CPU p50 {_med(page.get('cpu_p50', [])):.1f} ms"


def section_export(opts, t: prepare.Target) -> list[Figure]:
    figures = []
    for fmt, limit in (("csv", 30), ("xlsx", 180)):
        time_f = Figure(f"export_{fmt}", "export", f"export all residents to {fmt}", "s", max_value=limit)
        rss_f = Figure(f"export_{fmt}_rss", "export", f"peak memory of the {fmt} export process", "MB",
                       max_value=300)  # fmt: skip
        for run in range(opts.runs):
            r = worker(t, ["export", "--format", fmt])
            time_f.values.append(r["seconds"])
            rss_f.values.append(r["peak_rss_mb"])
            time_f.note = f"{r['rows']:,} rows, {r['bytes'] / 1e6:.0f} MB"
            rss_f.note = f"process before the export: {r['base_rss_mb']:.0f} MB"
            log(
                f"    export {fmt} run {run + 1}/{opts.runs}: {r['seconds']:.1f} s, peak {r['peak_rss_mb']:.0f} MB"
            )
        figures += [time_f, rss_f]
    return figures


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def section_throughput(opts, t: prepare.Target) -> list[Figure]:
    work = Path(tempfile.mkdtemp(prefix="linli-bench-load-"))
    plan = work / "plan.json"
    plan.write_text(json.dumps(worker(t, ["plan", "--seed", str(opts.seed)])))
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "gunicorn", "linli.wsgi:application", "--workers", str(opts.workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        # Connections kept for the whole section (the default recycles them after 60 s): the
        # PostgreSQL CPU figure reads the backends' counters, which vanish with a closed backend.
        env=t.env(LINLI_DB_CONN_MAX_AGE=3600), cwd=prepare.ROOT, stdout=subprocess.DEVNULL,
        stderr=open(work / "gunicorn.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    rate = Figure("load_rps", "throughput", f"mixed staff workload, {opts.users} users, {opts.workers} workers",
                  "req/s", min_value=200)  # fmt: skip
    p95 = Figure("load_p95", "throughput", "mixed workload p95", "ms", max_value=300)
    errors = Figure("load_errors", "throughput", "mixed workload error rate", "%", max_value=0)
    cpu = Figure("load_cpu", "throughput", "CPU per request: app + PostgreSQL + load tool", "ms",
                 note="")  # fmt: skip
    bound = Figure("load_cpu_bound", "throughput", f"CPU bound: {os.cpu_count()} cores / CPU per request",
                   "req/s", min_value=200)  # fmt: skip

    def load(prefix: Path, seconds: int):
        return subprocess.run(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "locust", "-f", str(prepare.ROOT / "bench" / "locustfile.py"), "--headless",
             "-u", str(opts.users), "-r", str(opts.users), "-t", f"{seconds}s", "--host",
             f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
            env={**t.env(), "BENCH_PLAN": str(plan)}, cwd=prepare.ROOT, capture_output=True, text=True,
        )  # fmt: skip

    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", server)
        # Warm-up, not counted: every worker booted, connected and through its first requests
        # (lazy imports, URL resolver, caches), which would otherwise land in the CPU figures.
        load(work / "warmup", min(5, opts.duration))
        for run in range(opts.runs):
            prefix = work / f"run{run}"
            before = _cpu_snapshot(server, t)
            children_before = _children_cpu()
            result = load(prefix, opts.duration)
            after = _cpu_snapshot(server, t)
            load_tool = _children_cpu() - children_before
            stats = _aggregated(Path(f"{prefix}_stats.csv"), result)
            share = _cpu_share(before, after, load_tool, stats["requests"])
            cpu.values.append(share["total"])
            bound.values.append((os.cpu_count() or 1) * 1000 / share["total"] if share["total"] else 0.0)
            cpu.note = (f"app {share['app']:.1f} + PostgreSQL {share['postgres']:.1f} + "
                        f"load tool {share['load_tool']:.1f} ms; load avg {os.getloadavg()[0]:.1f}")  # fmt: skip
            log(f"    CPU per request: {cpu.note}")
            rate.values.append(stats["rps"])
            p95.values.append(stats["p95"])
            errors.values.append(stats["error_pct"])
            log(f"    load run {run + 1}/{opts.runs}: {stats['requests']:,} requests, {stats['rps']:.0f} req/s, "
                f"p95 {stats['p95']:.0f} ms, errors {stats['failures']}")  # fmt: skip
            if stats["failures"]:
                failures = Path(f"{prefix}_failures.csv")
                if failures.exists():
                    log("      " + failures.read_text()[:1500].replace("\n", "\n      "))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
    return [rate, p95, errors, cpu, bound]


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return times.user + times.system


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the load tool, once it has exited)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_snapshot(server: subprocess.Popen, t: prepare.Target) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each gunicorn process and of each PostgreSQL backend serving the bench database.

    Workers keep their connection (``CONN_MAX_AGE``), so the backends live through a run; a backend
    started during the run counts from zero.
    """
    import psutil

    app = {server.pid: _proc_cpu(server.pid)}
    for child in psutil.Process(server.pid).children(recursive=True):
        app[child.pid] = _proc_cpu(child.pid)
    backends: dict[int, float] = {}
    if t.url:
        with prepare._admin(t.url) as conn:
            pids = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [t.database])]  # fmt: skip
        backends = {pid: _proc_cpu(pid) for pid in pids}
    return {"app": app, "postgres": backends}


def _cpu_share(before: dict, after: dict, load_tool: float, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request of each party over one load run."""
    per = {}
    for key in ("app", "postgres"):
        per[key] = sum(max(0.0, cpu - before[key].get(pid, 0.0)) for pid, cpu in after[key].items())
    per["load_tool"] = load_tool
    n = max(requests, 1)
    share = {k: 1000 * v / n for k, v in per.items()}
    share["total"] = sum(share.values())
    return share


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def _aggregated(path: Path, result) -> dict:
    if not path.exists():
        raise RuntimeError(f"locust wrote no statistics:\n{result.stderr[-4000:]}")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if r["Name"] == "Aggregated")
    for r in rows:
        if r["Name"] != "Aggregated":
            log(f"      {r['Type']} {r['Name']}: {r['Request Count']} requests, {r['Failure Count']} failed, "
                f"median {r['Median Response Time']} ms, p95 {r['95%']} ms")  # fmt: skip
    requests, failures = int(row["Request Count"]), int(row["Failure Count"])
    return {
        "requests": requests,
        "failures": failures,
        "rps": float(row["Requests/s"]),
        "p95": float(row["95%"]) if row["95%"] not in ("", "N/A") else 0.0,
        "error_pct": 100 * failures / requests if requests else 100.0,
    }


def _med(values: list[float]) -> float:
    from .figures import median

    return median(values) or 0.0


# -- the command ----------------------------------------------------------------------------------
def run(opts) -> int:
    scales = [int(p) for p in str(opts.people).split(",")]
    sections = set(opts.only.split(",")) if opts.only else set(SECTIONS)
    unknown = sections - set(SECTIONS)
    if unknown:
        log(f"unknown sections: {', '.join(sorted(unknown))} (choose from {', '.join(SECTIONS)})")
        return 2
    started = time.time()
    by_scale: dict[int, list[Figure]] = {}
    meta = {
        "command": "python -m bench " + " ".join(sys.argv[1:] if opts.argv is None else opts.argv),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "database": "postgresql" if prepare.base_url() else "sqlite",
        "runs": opts.runs,
    }
    for people in scales:
        log(f"scale {people:,} people ({meta['database']})")
        figures: list[Figure] = []
        t = None
        if sections - {"import"}:
            t = prepare.ensure_scale(people, seed=opts.seed, event_days=opts.event_days, log=log)
        if "import" in sections:
            log("  import …")
            figures += section_import(opts, people)
        if sections & WEB_SECTIONS:
            log("  search, lists and dashboards …")
            figures += section_web(opts, t, sections)
        if "export" in sections:
            log("  export …")
            figures += section_export(opts, t)
        if "throughput" in sections:
            log("  throughput …")
            figures += section_throughput(opts, t)
        by_scale[people] = figures
        print(f"\n== {people:,} people, {meta['database']}, median of {opts.runs} run(s) ==")
        print(table(figures))
    if len(scales) > 1:
        print("\n== scaling (medians) ==")
        print(scaling_table(by_scale))
    meta.update(seconds=round(time.time() - started, 1), load_after=os.getloadavg())
    out = Path(opts.json or prepare.var_root() / f"results-{dt.datetime.now():%Y%m%d-%H%M%S}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "scales": {str(s): [f.as_json() for f in fs] for s, fs in
                                                         by_scale.items()}}, ensure_ascii=False, indent=1))  # fmt: skip
    print(f"\nresults: {out}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="prepare data, measure, print the table, write JSON")
    r.add_argument("--people", default="100000", help="scale(s): 100000 or 100000,1000000")
    r.add_argument("--runs", type=int, default=3, help="runs per figure (the table shows the median)")
    r.add_argument("--only", default="", help=f"comma-separated sections: {','.join(SECTIONS)}")
    r.add_argument("--import-rows", type=int, default=0, help="rows to import (default: the scale)")
    r.add_argument("--formats", default="csv,xlsx", help="import formats: csv,xlsx or csv (CSV always runs)")
    r.add_argument("--dje-rows", type=int, default=10000, help="rows for the django-import-export slice")
    r.add_argument("--grids", type=int, default=50, help="grids of the import's scratch community")
    r.add_argument("--samples", type=int, default=20, help="requests per page per run")
    r.add_argument("--duration", type=int, default=30, help="seconds per load-test run")
    r.add_argument("--users", type=int, default=20, help="simulated staff in the load test")
    r.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    r.add_argument("--event-days", type=int, default=90, help="days of demo events (part of the cache key)")
    r.add_argument("--seed", type=int, default=2026, help="demo data and ledger seed (part of the cache key)")
    r.add_argument("--json", default="", help="where to write the results (default var/bench/results-*.json)")
    r.add_argument("--smoke", action="store_true", help="tiny scale, one short run: checks the harness works")
    return p


def main(argv: list[str] | None = None) -> int:
    opts = parser().parse_args(argv)
    opts.argv = argv
    if opts.smoke:
        opts.people = "300" if opts.people == "100000" else opts.people
        opts.runs, opts.samples, opts.duration, opts.users, opts.workers = 1, 2, 3, 2, 1
        opts.import_rows = opts.import_rows or 120
        opts.dje_rows, opts.grids, opts.event_days = 20, 4, 2
    return run(opts)
