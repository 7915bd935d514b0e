"""Print the robustness figures of the last runs as Markdown (for docs/robustness.md).

``python -m linli.robustness.report [DIR]`` reads ``sqlite.json`` and ``postgresql.json`` from DIR
(default ``$LINLI_ROBUST_REPORT_DIR`` or ``var/robustness``), written by the test session.
"""

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    directory = Path(argv[0] if argv else os.environ.get("LINLI_ROBUST_REPORT_DIR", "var/robustness"))
    runs = {}
    for vendor in ("sqlite", "postgresql"):
        path = directory / f"{vendor}.json"
        if path.exists():
            runs[vendor] = json.loads(path.read_text(encoding="utf-8"))
    if not runs:
        print(f"no figures in {directory}", file=sys.stderr)
        return 1
    categories = sorted(
        {c for run in runs.values() for c, v in run.items() if isinstance(v, dict) and c != "totals"}
    )
    vendors = list(runs)
    print("| category | item | " + " | ".join(vendors) + " |")
    print("|---|---|" + "---:|" * len(vendors))
    for category in categories:
        keys = sorted({k for run in runs.values() for k in run.get(category, {})})
        for key in keys:
            cells = [str(runs[v].get(category, {}).get(key, "–")) for v in vendors]
            print(f"| {category} | {key} | " + " | ".join(cells) + " |")
    print()
    print("| totals | " + " | ".join(vendors) + " |")
    print("|---|" + "---:|" * len(vendors))
    for category in categories:
        cells = [str(runs[v].get("totals", {}).get(category, "–")) for v in vendors]
        print(f"| {category} | " + " | ".join(cells) + " |")
    print("\nmode: " + ", ".join(f"{v} {runs[v].get('mode')}" for v in vendors))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
