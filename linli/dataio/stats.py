"""Precomputed community statistics for the survey table and the population overview.

Both pages aggregate every resident in the reader's scope; live, that is linear in residents
(a district of 1,000,000 would take seconds per view, see docs/performance.md). As government
statistics systems do, the figures are kept per community in :class:`CommunityStats`, recomputed
by the background loop (``linli sweep`` calls :func:`refresh_if_due`) and on demand by staff
(:func:`refresh` of their own area), and every page shows when they were computed ("数据截至").

Scoping: a reader sums only the rows whose path lies under their own scope paths. Paths below a
community (a grid worker) stay live: a grid is small, and a community row would cover more than
the reader may see. Rows are keyed by the first three path levels of the residents' ``area_path``
(a row attached above the communities gets a shorter key), exactly as the live survey groups them,
so the precomputed figures equal the live ones at the time of computing.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from linli.core.scope import paths_q

from . import conf
from .models import CommunityStats
from .survey import COMMUNITY_PATH, KEYS, figures


@dataclass(frozen=True)
class Snapshot:
    """When the precomputed figures a page shows were computed (the oldest row it used)."""

    computed_at: dt.datetime
    on: dt.date

    @property
    def stale(self) -> bool:
        age = (timezone.now() - self.computed_at).total_seconds()
        return self.on != dt.date.today() or age > conf.stats_stale_seconds()


def split(paths: list[str]) -> tuple[list[str], list[str]]:
    """Scope paths read from the precomputed rows (community and above), and those read live."""
    coarse = [p for p in paths if len(p) <= COMMUNITY_PATH]
    fine = [p for p in paths if len(p) > COMMUNITY_PATH]
    return coarse, fine


def refresh(paths: list[str] | None = None, on: dt.date | None = None) -> dt.datetime:
    """Recompute the rows under ``paths`` (every row when ``None``); return the stamp written.

    Rows are upserted, so several processes may refresh at once; rows under the paths whose
    community no longer has anything to count are deleted in the same transaction.
    """
    on = on or dt.date.today()
    paths = [p for p in (paths if paths is not None else [""]) if len(p) <= COMMUNITY_PATH]
    if not paths:
        return timezone.now()
    data = figures(paths, on)
    now = timezone.now()
    keys = {path for per_path in data.values() for path in per_path}
    if paths != [""]:
        keys = {k for k in keys if any(k.startswith(p) for p in paths)}
    # Every community gets a row, so "no row" means "never computed" rather than "nothing there".
    keys |= _communities(paths)
    rows = [
        CommunityStats(path=key, on=on, computed_at=now, **{k: data[k].get(key, 0) for k in KEYS})
        for key in sorted(keys)
    ]
    scope = (
        CommunityStats.objects.all()
        if paths == [""]
        else CommunityStats.objects.filter(paths_q(paths, "path"))
    )
    with transaction.atomic():
        scope.exclude(path__in=keys).delete()
        CommunityStats.objects.bulk_create(
            rows, batch_size=500, update_conflicts=True, unique_fields=["path"],
            update_fields=["on", "computed_at", *KEYS],
        )  # fmt: skip
    return now


def refresh_if_due() -> bool:
    """Recompute every row when the oldest is older than the refresh interval (or from another day)."""
    oldest = CommunityStats.objects.aggregate(at=Min("computed_at"), on=Min("on"))
    if oldest["at"] is not None:
        age = (timezone.now() - oldest["at"]).total_seconds()
        if age < conf.stats_refresh_seconds() and oldest["on"] == dt.date.today():
            return False
    refresh()
    return True


def _rows(paths: list[str], keys) -> list[dict]:
    rows = CommunityStats.objects.filter(paths_q(paths, field="path"))
    return list(rows.values("path", "on", "computed_at", *keys))


def _communities(paths: list[str]) -> set[str]:
    from linli.areas.choices import AreaLevel
    from linli.areas.models import Area

    areas = Area.objects.filter(level=AreaLevel.COMMUNITY).filter(paths_q(paths, field="path"))
    return set(areas.values_list("path", flat=True))


def read(paths: list[str], keys=KEYS) -> tuple[dict[str, dict[str, int]], Snapshot | None]:
    """``{key: {community_path: count}}`` for the residents under ``paths``, and its snapshot.

    Community-level and wider paths come from the precomputed rows (computed now if there are
    none yet); narrower paths are counted live. ``None`` as snapshot means all of it is live.
    """
    coarse, fine = split(paths)
    data: dict[str, dict[str, int]] = {key: {} for key in keys}
    snapshot = None
    if coarse:
        rows = _rows(coarse, keys)
        if not rows:
            refresh(coarse)
            rows = _rows(coarse, keys)
        else:
            # A community computed by nobody yet (new, or only a neighbour refreshed): compute it now.
            missing = _communities(coarse) - {row["path"] for row in rows}
            if missing:
                refresh(sorted(missing))
                rows = _rows(coarse, keys)
        for row in rows:
            for key in keys:
                if row[key]:
                    data[key][row["path"]] = row[key]
        if rows:
            snapshot = Snapshot(min(r["computed_at"] for r in rows), min(r["on"] for r in rows))
    if fine:
        for key, per_path in figures(fine, dt.date.today(), keys).items():
            for path, n in per_path.items():
                data[key][path] = data[key].get(path, 0) + n
    return data, snapshot
