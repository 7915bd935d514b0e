"""Working-day calendar: Chinese public holidays, 调休 make-up working days and office hours.

Time limits in Chinese government work come in two kinds: calendar time ("emergencies within
2 hours", "general matters within 7 days") and working time ("consultations within 3 working
days", "complaints within 13 working days"). Working time depends on the State Council's yearly
holiday arrangement (国务院办公厅关于 X 年部分节假日安排的通知), which both adds days off and turns
some weekend days into working days (调休上班). That arrangement is *data*: one CSV file per year
under ``linli/core/data/holidays/`` (``date,kind,name`` with ``kind`` = ``holiday`` or
``workday``), editable in the database once an app registers a source with
:func:`set_day_source` (``linli.events`` does, from its ``WorkCalendarDay`` table). A year with no
data falls back to "Monday–Friday are working days", and ``linli check`` warns about it.

Office hours (default 08:30–12:00 and 14:00–17:30) come from the ``LINLI_OFFICE_HOURS`` setting or
environment variable, e.g. ``"08:30-12:00,14:00-17:30"``.

Conventions, chosen to match how 12345 hotlines and city-management platforms count:

- ``add_working_days(start, n)``: the day of receipt does not count; the deadline is the close of
  office on the n-th working day after the start date.
- ``add_working_hours(start, h)``: only time inside office periods on working days counts; a start
  outside office hours begins counting at the next opening.
- Every function takes and returns timezone-aware datetimes; results are in the calendar's zone
  (``Asia/Shanghai`` unless ``TIME_ZONE`` says otherwise). Naive datetimes are refused, because
  guessing their zone is how deadlines end up eight hours off.
"""

import csv
import datetime as dt
import os
import threading
import time as _time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import models
from django.utils.translation import gettext, gettext_lazy

DATA_DIR = Path(__file__).resolve().parent / "data" / "holidays"
DEFAULT_OFFICE_HOURS = "08:30-12:00,14:00-17:30"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
HOLIDAY = "holiday"
WORKDAY = "workday"
# How long one process trusts what it read about a year. Several app processes may run behind a
# load balancer, so an edit made in one must reach the others without a restart.
CACHE_SECONDS = 300
# Longest stretch searched for the next working period before giving up (misconfiguration guard).
MAX_SEARCH_DAYS = 3660

Period = tuple[dt.time, dt.time]
DaySource = Callable[[int], Mapping[dt.date, bool] | None]


class TimeUnit(models.TextChoices):
    """How a time limit is counted."""

    CALENDAR_MINUTES = "calendar_minutes", gettext_lazy("分钟 (calendar minutes)")
    CALENDAR_HOURS = "calendar_hours", gettext_lazy("小时 (calendar hours)")
    CALENDAR_DAYS = "calendar_days", gettext_lazy("自然日 (calendar days)")
    WORKING_HOURS = "working_hours", gettext_lazy("工作小时 (working hours)")
    WORKING_DAYS = "working_days", gettext_lazy("工作日 (working days)")


WORKING_UNITS = frozenset({TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS})


# -- data ------------------------------------------------------------------------------------------
def read_holiday_csv(path: Path) -> Iterator[tuple[dt.date, str, str]]:
    """Rows ``(date, kind, name)`` of one year's file; ``#`` lines are comments."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.lstrip().startswith("#"))
        for row in csv.DictReader(lines):
            kind = row["kind"].strip()
            if kind not in (HOLIDAY, WORKDAY):
                raise ValueError(f"{path.name}: kind must be holiday or workday, not {kind!r}")
            yield dt.date.fromisoformat(row["date"].strip()), kind, (row.get("name") or "").strip()


def holiday_files() -> dict[int, Path]:
    """The shipped data files by year."""
    return {int(p.stem): p for p in sorted(DATA_DIR.glob("*.csv")) if p.stem.isdigit()}


def file_overrides(year: int) -> dict[dt.date, bool] | None:
    """``{date: is_working}`` for the days a year's file lists, or ``None`` without a file."""
    path = holiday_files().get(year)
    if path is None:
        return None
    return {day: kind == WORKDAY for day, kind, _name in read_holiday_csv(path)}


_source: DaySource | None = None
_cache: dict[int, tuple[float, Mapping[dt.date, bool] | None]] = {}
_lock = threading.Lock()


def set_day_source(source: DaySource | None) -> None:
    """Register where edited calendar data lives (a callable ``year -> {date: is_working}``).

    The source answers ``None`` (or an empty mapping) for a year it knows nothing about; the
    shipped file for that year is used then.
    """
    global _source
    _source = source
    clear_cache()


def clear_cache() -> None:
    with _lock:
        _cache.clear()
    default_calendar.cache_clear()


def year_overrides(year: int) -> Mapping[dt.date, bool] | None:
    """The exceptions to "Monday–Friday work" for ``year``: edited data first, then the file."""
    now = _time.monotonic()
    with _lock:
        hit = _cache.get(year)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    found = _source(year) if _source is not None else None
    if not found:
        found = file_overrides(year)
    with _lock:
        _cache[year] = (now, found)
    return found


def covered_years() -> set[int]:
    """Years for which holiday data exists (files, plus whatever the source reports)."""
    years = set(holiday_files())
    if _source is not None and hasattr(_source, "years"):
        years |= set(_source.years())
    return years


# -- configuration ---------------------------------------------------------------------------------
def parse_office_hours(text: str) -> tuple[Period, ...]:
    """``"08:30-12:00,14:00-17:30"`` → ordered, non-overlapping periods."""
    periods: list[Period] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            start_text, end_text = part.split("-")
            start, end = dt.time.fromisoformat(start_text.strip()), dt.time.fromisoformat(end_text.strip())
        except ValueError:
            raise ValueError(
                gettext("办公时间格式应为 HH:MM-HH:MM (office hours must look like 08:30-12:00): %(part)s")
                % {"part": repr(part)}
            ) from None
        if start >= end:
            raise ValueError(
                gettext("办公时段须先开始后结束 (a period must start before it ends): %(part)s")
                % {"part": repr(part)}
            )
        if periods and start < periods[-1][1]:
            raise ValueError(
                gettext("办公时段须按顺序且不重叠 (periods must be ordered, not overlapping): %(text)s")
                % {"text": repr(text)}
            )
        periods.append((start, end))
    if not periods:
        raise ValueError(gettext("至少需要一个办公时段 (at least one office period is needed)"))
    return tuple(periods)


def _configured(name: str, default: str) -> str:
    from django.conf import settings

    value = getattr(settings, name, None) if settings.configured else None
    return str(value) if value else os.environ.get(name, default)


def _as_timedelta(amount) -> dt.timedelta:
    if isinstance(amount, dt.timedelta):
        return amount
    if isinstance(amount, Decimal):
        amount = float(amount)
    return dt.timedelta(hours=amount)


# -- the calendar ----------------------------------------------------------------------------------
class WorkCalendar:
    """Working days and office hours; see the module docstring for the counting rules."""

    def __init__(
        self,
        office_hours: str | tuple[Period, ...] = DEFAULT_OFFICE_HOURS,
        tz: str | dt.tzinfo = DEFAULT_TIME_ZONE,
        overrides: Callable[[int], Mapping[dt.date, bool] | None] = year_overrides,
    ):
        self.periods = parse_office_hours(office_hours) if isinstance(office_hours, str) else office_hours
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._overrides = overrides

    # days
    def is_working_day(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            day = self.local(day).date()
        known = self._overrides(day.year) or {}
        if day in known:
            return known[day]
        return day.weekday() < 5

    def working_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """Working days in ``[start, end]``."""
        day = start
        while day <= end:
            if self.is_working_day(day):
                yield day
            day += dt.timedelta(days=1)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        for _ in range(MAX_SEARCH_DAYS):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(
            gettext("找不到工作日，请检查节假日数据 (no working day found; check the calendar data)")
        )

    # time
    def local(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(gettext("需要带时区的时间 (a timezone-aware datetime is required)"))
        return moment.astimezone(self.tz)

    def office_periods(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's office periods as aware datetimes; empty on a day off."""
        if not self.is_working_day(day):
            return []
        return [
            (dt.datetime.combine(day, start, tzinfo=self.tz), dt.datetime.combine(day, end, tzinfo=self.tz))
            for start, end in self.periods
        ]

    def close_of_day(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.periods[-1][1], tzinfo=self.tz)

    def add_working_days(self, start: dt.datetime, n: int) -> dt.datetime:
        """Close of office on the ``n``-th working day after ``start``'s date (``n = 0``: ``start``)."""
        if n < 0:
            raise ValueError(gettext("工作日数不能为负 (n must not be negative)"))
        start = self.local(start)
        if n == 0:
            return start
        day = start.date()
        for _ in range(n):
            day = self.next_working_day(day)
        return self.close_of_day(day)

    def add_working_hours(self, start: dt.datetime, hours) -> dt.datetime:
        """``start`` plus ``hours`` (a number, Decimal or timedelta) of office time."""
        remaining = _as_timedelta(hours)
        start = self.local(start)
        if remaining < dt.timedelta(0):
            raise ValueError(gettext("工作时长不能为负 (hours must not be negative)"))
        if remaining == dt.timedelta(0):
            return start
        day = start.date()
        for _ in range(MAX_SEARCH_DAYS):
            for opens, closes in self.office_periods(day):
                begin = max(opens, start)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += dt.timedelta(days=1)
        raise ValueError(
            gettext("找不到足够的工作时间，请检查节假日数据 (not enough working time; check the calendar)")
        )

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Office time between ``a`` and ``b`` (negative when ``b`` is before ``a``)."""
        a, b = self.local(a), self.local(b)
        if b < a:
            return -self.working_time_between(b, a)
        total = dt.timedelta(0)
        day = a.date()
        while day <= b.date():
            for opens, closes in self.office_periods(day):
                lo, hi = max(opens, a), min(closes, b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def add(self, start: dt.datetime, value, unit: str) -> dt.datetime:
        """A deadline: ``value`` of ``unit`` (:class:`TimeUnit`) after ``start``."""
        start = self.local(start)
        if unit == TimeUnit.CALENDAR_MINUTES:
            return start + dt.timedelta(minutes=float(value))
        if unit == TimeUnit.CALENDAR_HOURS:
            return start + dt.timedelta(hours=float(value))
        if unit == TimeUnit.CALENDAR_DAYS:
            return start + dt.timedelta(days=float(value))
        if unit == TimeUnit.WORKING_HOURS:
            return self.add_working_hours(start, value)
        if unit == TimeUnit.WORKING_DAYS:
            return self.add_working_days(start, int(value))
        raise ValueError(gettext("未知的时限单位 (unknown time unit): %(unit)s") % {"unit": repr(unit)})

    def point_between(self, start: dt.datetime, end: dt.datetime, ratio: float, unit: str) -> dt.datetime:
        """The moment ``ratio`` of the way from ``start`` to ``end``, measured the way ``unit`` counts.

        A yellow card at 80 % of a working-day limit falls at 80 % of the *working* time, not of
        the calendar time (which would put it in the middle of a weekend).
        """
        start, end = self.local(start), self.local(end)
        if unit in WORKING_UNITS:
            span = self.working_time_between(start, end)
            return self.add_working_hours(start, span * ratio)
        return start + (end - start) * ratio


@cache
def default_calendar() -> WorkCalendar:
    """The calendar built from settings (``LINLI_OFFICE_HOURS``, ``TIME_ZONE``)."""
    return WorkCalendar(
        office_hours=_configured("LINLI_OFFICE_HOURS", DEFAULT_OFFICE_HOURS),
        tz=_configured("TIME_ZONE", DEFAULT_TIME_ZONE),
    )


def is_working_day(day: dt.date) -> bool:
    return default_calendar().is_working_day(day)


def add_working_days(start: dt.datetime, n: int) -> dt.datetime:
    return default_calendar().add_working_days(start, n)


def add_working_hours(start: dt.datetime, hours) -> dt.datetime:
    return default_calendar().add_working_hours(start, hours)


def working_time_between(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    return default_calendar().working_time_between(a, b)


def add_time(start: dt.datetime, value, unit: str) -> dt.datetime:
    return default_calendar().add(start, value, unit)


def point_between(start: dt.datetime, end: dt.datetime, ratio: float, unit: str) -> dt.datetime:
    return default_calendar().point_between(start, end, ratio, unit)
