"""Print the robustness figures of test runs as Markdown (for docs/robustness.md).

``python -m linli.robustness.report [LABEL=FILE.json ...]``; without arguments it reads
``sqlite.json`` and ``postgresql.json`` from ``$LINLI_ROBUST_REPORT_DIR`` (default
``var/robustness``), which the test session writes.
"""

import json
import os
import sys
from pathlib import Path


def load(argv: list[str]) -> dict[str, dict]:
    if argv:
        pairs = [arg.split("=", 1) for arg in argv]
    else:
        directory = Path(os.environ.get("LINLI_ROBUST_REPORT_DIR", "var/robustness"))
        pairs = [(vendor, directory / f"{vendor}.json") for vendor in ("sqlite", "postgresql")]
    return {
        label: json.loads(Path(path).read_text(encoding="utf-8"))
        for label, path in pairs
        if Path(path).exists()
    }


def table(runs: dict[str, dict]) -> str:
    labels = list(runs)
    categories = sorted(
        {c for run in runs.values() for c, v in run.items() if isinstance(v, dict) and c != "totals"}
    )
    lines = ["| category | item | " + " | ".join(labels) + " |", "|---|---|" + "---:|" * len(labels)]
    for category in categories:
        for key in sorted({k for run in runs.values() for k in run.get(category, {})}):
            cells = [str(runs[label].get(category, {}).get(key, "–")) for label in labels]
            lines.append(f"| {category} | {key} | " + " | ".join(cells) + " |")
    lines += ["", "| totals | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for category in categories:
        cells = [str(runs[label].get("totals", {}).get(category, "–")) for label in labels]
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    runs = load(argv)
    if not runs:
        print("no figures found", file=sys.stderr)
        return 1
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
