"""Event metrics (三率 and more) by area, category, handler and period, as aggregate queries.

Every number is one ``COUNT(…) FILTER (WHERE …)`` / ``AVG`` over the events table (Django emits
``CASE WHEN`` where the database lacks ``FILTER``), grouped by the breakdown key; no Python loop
runs over events. Definitions (each rate is ``None`` when its base is empty):

========================  =======================================================================
响应率 response rate       responded (受理/不予立案/签收) by the response limit ÷ events whose
                          response is due or done (a fresh report still inside its window is left out)
结案率 closure rate        closed (结案, including rated and archived) ÷ accepted (立案)
按期办结率 on-time rate    closed and never overdue ÷ closed
返工率 rework rate         reworked at least once ÷ fed back at least once
满意率 satisfaction rate   rated 满意 or 基本满意 ÷ rated
到场及时率 on-site rate    arrived within the 三必到 limit ÷ events of categories that require it
average handling time     report → closure, calendar hours and working hours, over closed events
========================  =======================================================================

The population is the events *reported* in the period (``start`` ≤ reported_at < ``end``), so a
month's figures do not change meaning as later months close old cases. Area filters use the
event's *location* (where it happened), which is how districts and streets are ranked;
"by handler" uses the unit that fed back the result.
"""

import datetime as dt

from django.db.models import Avg, Count, F, Max, Min, Q
from django.db.models.functions import Coalesce, Substr, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from linli.areas.models import Area

from .choices import CLOCK_STATES, EventStatus, Satisfaction
from .models import Department, Event, EventCategory

RATES = {
    "response_rate": ("responded_in_time", "response_base"),
    "closure_rate": ("closed", "accepted"),
    "on_time_rate": ("closed_on_time", "closed"),
    "rework_rate": ("reworked", "fed_back"),
    "satisfaction_rate": ("satisfied", "rated"),
    "onsite_rate": ("onsite_in_time", "onsite_required"),
}


def aggregates(as_of: dt.datetime) -> dict:
    """The aggregate expressions behind every metric."""
    closed = Q(closed_at__isnull=False)
    return {
        "reported": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "rejected": Count(
            "pk",
            filter=Q(status=EventStatus.REJECTED) | Q(status=EventStatus.ARCHIVED, closed_at__isnull=True),
        ),
        "response_base": Count("pk", filter=~Q(responded_at__isnull=True, response_due_at__gt=as_of)),
        "responded_in_time": Count(
            "pk", filter=Q(responded_at__isnull=False, responded_at__lte=F("response_due_at"))
        ),
        "closed": Count("pk", filter=closed),
        "closed_on_time": Count("pk", filter=closed & Q(was_overdue=False)),
        "fed_back": Count("pk", filter=Q(fed_back_at__isnull=False)),
        "reworked": Count("pk", filter=Q(rework_count__gt=0)),
        "escalated": Count("pk", filter=Q(escalation_count__gt=0)),
        "rated": Count("pk", filter=Q(satisfaction__isnull=False)),
        "satisfied": Count("pk", filter=Q(satisfaction__gte=Satisfaction.BASICALLY_SATISFIED)),
        "onsite_required": Count("pk", filter=Q(onsite_due_at__isnull=False)),
        "onsite_in_time": Count("pk", filter=Q(onsite_at__isnull=False, onsite_at__lte=F("onsite_due_at"))),
        "overdue_open": Count("pk", filter=Q(status__in=CLOCK_STATES, due_at__lte=as_of)),
        "shelved": Count("pk", filter=Q(status=EventStatus.SHELVED)),
        "avg_handling_seconds": Avg("handling_seconds"),
        "avg_handling_working_seconds": Avg("handling_working_seconds"),
    }


def _finish(row: dict) -> dict:
    """Add the rates and hours to one aggregate row."""
    for name, (part, base) in RATES.items():
        row[name] = round(row[part] / row[base], 4) if row.get(base) else None
    for key in ("avg_handling_seconds", "avg_handling_working_seconds"):
        seconds = row.pop(key, None)
        row[key.replace("_seconds", "_hours")] = (
            round(float(seconds) / 3600, 2) if seconds is not None else None
        )
    return row


def filtered(
    queryset=None,
    *,
    area: Area | None = None,
    category: EventCategory | None = None,
    department: Department | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | dt.date | None = None,
):
    """Events reported in ``[start, end)``, located in ``area``'s subtree, of ``category`` or below."""
    qs = Event.objects.all() if queryset is None else queryset
    if area is not None:
        qs = qs.located_in(area)
    if category is not None:
        qs = qs.filter(
            Q(category=category) | Q(category__parent=category) | Q(category__parent__parent=category)
        )
    if department is not None:
        qs = qs.filter(Q(resolved_department=department) | Q(department=department))
    if start is not None:
        qs = qs.filter(reported_at__gte=_moment(start))
    if end is not None:
        qs = qs.filter(reported_at__lt=_moment(end))
    return qs


def _moment(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time.min, tzinfo=timezone.get_current_timezone())


def summary(queryset=None, *, as_of: dt.datetime | None = None, **filters) -> dict:
    """All metrics for one population (see :func:`filtered` for the filters)."""
    qs = filtered(queryset, **filters)
    return _finish(qs.aggregate(**aggregates(as_of or timezone.now())))


def _grouped(qs, key, as_of) -> list[dict]:
    return [_finish(row) for row in qs.values(key).annotate(**aggregates(as_of)).order_by(key)]


def by_area(parent: Area, queryset=None, *, as_of: dt.datetime | None = None, **filters) -> list[dict]:
    """Metrics per child of ``parent`` (events located at ``parent`` itself form their own row).

    Grouping is on the first characters of ``location_path``: each tree level adds ``steplen``
    characters, so the prefix one level below ``parent`` names the child.
    """
    qs = filtered(queryset, area=parent, **filters)
    width = len(parent.path) + Area.steplen
    rows = _grouped(
        qs.annotate(child_path=Substr("location_path", 1, width)), "child_path", as_of or timezone.now()
    )
    areas = {a.path: a for a in Area.objects.filter(path__in=[r["child_path"] for r in rows])}
    for row in rows:
        row["area"] = areas.get(row["child_path"])
    return rows


def by_category(
    queryset=None, *, top_level: bool = True, as_of: dt.datetime | None = None, **filters
) -> list[dict]:
    """Metrics per category; with ``top_level`` subcategories count under their top category."""
    qs = filtered(queryset, **filters)
    if top_level:
        qs = qs.annotate(group_category=Coalesce("category__parent_id", "category_id"))
        rows = _grouped(qs, "group_category", as_of or timezone.now())
        key = "group_category"
    else:
        rows = _grouped(qs, "category", as_of or timezone.now())
        key = "category"
    names = EventCategory.objects.in_bulk([r[key] for r in rows])
    for row in rows:
        row["category"] = names.get(row.pop(key))
    return rows


def by_handler(queryset=None, *, as_of: dt.datetime | None = None, **filters) -> list[dict]:
    """Metrics per unit that fed back the result (department, or area when no department)."""
    qs = filtered(queryset, **filters).filter(fed_back_at__isnull=False)
    as_of = as_of or timezone.now()
    rows = [
        _finish(row)
        for row in qs.values("resolved_department", "resolved_area")
        .annotate(**aggregates(as_of))
        .order_by("resolved_department", "resolved_area")
    ]
    departments = Department.objects.in_bulk(
        [r["resolved_department"] for r in rows if r["resolved_department"]]
    )
    areas = Area.objects.in_bulk([r["resolved_area"] for r in rows if r["resolved_area"]])
    for row in rows:
        dept, area = row.pop("resolved_department"), row.pop("resolved_area")
        row["handler"] = departments.get(dept) if dept else areas.get(area)
    return rows


PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def by_period(
    queryset=None, *, period: str = "month", as_of: dt.datetime | None = None, **filters
) -> list[dict]:
    """Metrics per day, week or month of reporting (in the configured time zone)."""
    trunc = PERIODS[period]
    qs = filtered(queryset, **filters).annotate(
        period=trunc("reported_at", tzinfo=timezone.get_current_timezone())
    )
    rows = _grouped(qs, "period", as_of or timezone.now())
    for row in rows:
        if isinstance(row["period"], dt.datetime):
            row["period"] = (
                timezone.localtime(row["period"]).date()
                if timezone.is_aware(row["period"])
                else row["period"].date()
            )
    return rows


def recurring(queryset=None, *, min_count: int = 3, by: str = "house", **filters) -> list[dict]:
    """主动治理: the same category at the same house (or grid/area) ``min_count`` times or more.

    ``by`` is ``"house"`` or ``"area"`` (the location area). Rows: category, house/area, count,
    first and last report time, most frequent first.
    """
    key = {"house": "house", "area": "location_area"}[by]
    qs = filtered(queryset, **filters).exclude(**{f"{key}__isnull": True})
    rows = list(
        qs.values("category", key)
        .annotate(count=Count("pk"), first=Min("reported_at"), last=Max("reported_at"))
        .filter(count__gte=min_count)
        .order_by("-count", "category", key)
    )
    categories = EventCategory.objects.in_bulk([r["category"] for r in rows])
    if by == "house":
        from linli.areas.models import House

        places = House.objects.in_bulk([r[key] for r in rows])
    else:
        places = Area.objects.in_bulk([r[key] for r in rows])
    for row in rows:
        row["category"] = categories.get(row["category"])
        row["place"] = places.get(row.pop(key))
    return rows
