"""Figures, their targets and the table. No Django here: the orchestrator imports this."""

import math
import statistics
from dataclasses import asdict, dataclass, field


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


@dataclass
class Figure:
    """One measured quantity: its value per run, and optionally a reference measured in the same runs.

    ``ratio`` is value / reference (for times: how many times slower than the reference; for
    rates: how many times faster). Targets bound the value (``max_value`` / ``min_value``) and/or
    the ratio (``max_ratio`` / ``min_ratio``); a figure passes when every bound it has holds.
    """

    key: str
    section: str
    label: str
    unit: str
    values: list[float] = field(default_factory=list)
    references: list[float] = field(default_factory=list)
    reference_label: str = ""
    max_value: float | None = None
    min_value: float | None = None
    max_ratio: float | None = None
    min_ratio: float | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return median(self.values)

    @property
    def reference(self) -> float | None:
        return median(self.references)

    @property
    def ratio(self) -> float | None:
        value, reference = self.median, self.reference
        if value is None or not reference:
            return None
        return value / reference

    @property
    def target(self) -> str:
        parts = []
        if self.max_value is not None:
            parts.append(f"≤{_num(self.max_value)} {self.unit}")
        if self.min_value is not None:
            parts.append(f"≥{_num(self.min_value)} {self.unit}")
        if self.max_ratio is not None:
            parts.append(f"≤{_num(self.max_ratio)}×")
        if self.min_ratio is not None:
            parts.append(f"≥{_num(self.min_ratio)}×")
        return ", ".join(parts)

    @property
    def passed(self) -> bool | None:
        value, ratio = self.median, self.ratio
        if value is None:
            return None
        checks = []
        if self.max_value is not None:
            checks.append(value <= self.max_value)
        if self.min_value is not None:
            checks.append(value >= self.min_value)
        if self.max_ratio is not None:
            checks.append(ratio is not None and ratio <= self.max_ratio)
        if self.min_ratio is not None:
            checks.append(ratio is not None and ratio >= self.min_ratio)
        return all(checks) if checks else None

    def as_json(self) -> dict:
        data = asdict(self)
        data.update(median=self.median, reference=self.reference, ratio=self.ratio, target=self.target,
                    passed=self.passed)  # fmt: skip
        return data


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(figures: list[Figure]) -> str:
    """A fixed-width table, one line per figure, grouped by section."""
    head = ["figure", "median", "reference", "ratio", "target", "pass", "note"]
    rows = []
    for f in figures:
        ref = f"{_num(f.reference)} ({f.reference_label})" if f.reference is not None else ""
        ratio = f"{_num(f.ratio)}×" if f.ratio is not None else ""
        verdict = {True: "pass", False: "FAIL", None: ""}[f.passed]
        rows.append(
            [f"[{f.section}] {f.label}", f"{_num(f.median)} {f.unit}", ref, ratio, f.target, verdict, f.note]
        )
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [_line(head, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(r, widths) for r in rows]
    return "\n".join(lines)


def scaling_table(by_scale: dict[int, list[Figure]]) -> str:
    """The same figures at several scales side by side (medians), with the growth factor."""
    scales = sorted(by_scale)
    keys: list[tuple[str, str, str]] = []
    for scale in scales:
        for f in by_scale[scale]:
            if (f.key, f.label, f.unit) not in keys:
                keys.append((f.key, f.label, f.unit))
    head = ["figure", *[f"{s:,} people" for s in scales], "growth"]
    rows = []
    for key, label, unit in keys:
        values = []
        for scale in scales:
            found = next((f for f in by_scale[scale] if f.key == key), None)
            values.append(found.median if found else None)
        growth = ""
        if len(values) > 1 and values[0] and values[-1] is not None:
            growth = f"{values[-1] / values[0]:.2f}×"
        rows.append([label, *[f"{_num(v)} {unit}" for v in values], growth])
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [_line(head, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(r, widths) for r in rows]
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()
