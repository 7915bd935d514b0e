"""The robustness suite (issue 7 part 4): fuzzing, bad input, concurrency, faults, migrations.

The tests live in ``linli/robustness/tests``. They run in CI in a short mode; ``LINLI_ROBUST=long``
runs many more examples, threads and faults (see docs/robustness.md). Every test records what it
tried with :func:`tally`; at the end of a test session the figures are written to
``<dir>/<sqlite|postgresql>.json``, ``<dir>`` being ``$LINLI_ROBUST_REPORT_DIR`` or
``var/robustness`` (hooks in the root ``conftest.py``; ``python -m linli.robustness.report``).
"""

import json
import os
import threading
from collections import defaultdict
from pathlib import Path

MODE = os.environ.get("LINLI_ROBUST", "short").strip().lower() or "short"
LONG = MODE == "long"


def scale(short: int, long: int) -> int:
    """How many examples, threads or faults: ``short`` in CI, ``long`` with LINLI_ROBUST=long."""
    return long if LONG else short


_lock = threading.Lock()
_figures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


def tally(category: str, key: str, n: int = 1) -> None:
    """Count ``n`` things tried under ``category`` / ``key`` (e.g. "api", "GET /api/v1/persons/")."""
    with _lock:
        _figures[category][key] += n


def figures() -> dict[str, dict[str, int]]:
    with _lock:
        return {category: dict(sorted(keys.items())) for category, keys in sorted(_figures.items())}


def report_dir() -> Path:
    configured = os.environ.get("LINLI_ROBUST_REPORT_DIR")
    if configured:
        return Path(configured)
    from django.conf import settings

    return Path(settings.VAR_DIR) / "robustness"


def write_part(vendor: str, worker: str) -> None:
    """Each test process (xdist worker) writes its own figures; :func:`merge_parts` adds them up."""
    current = figures()
    if current:
        directory = report_dir()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{vendor}.{worker}.part").write_text(json.dumps(current), encoding="utf-8")


def clear_parts(vendor: str) -> None:
    for part in report_dir().glob(f"{vendor}.*.part"):
        part.unlink(missing_ok=True)


def merge_parts(vendor: str) -> Path | None:
    """Sum the processes' figures into ``<dir>/<vendor>.json`` (one run's figures, with the mode)."""
    directory = report_dir()
    parts = sorted(directory.glob(f"{vendor}.*.part"))
    if not parts:
        return None
    merged: dict = {}
    for part in parts:
        for category, keys in json.loads(part.read_text(encoding="utf-8")).items():
            target = merged.setdefault(category, {})
            for key, n in keys.items():
                target[key] = target.get(key, 0) + n
        part.unlink()
    path = directory / f"{vendor}.json"
    summary = {"mode": MODE, "totals": {c: sum(k.values()) for c, k in sorted(merged.items())}, **merged}
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return path
