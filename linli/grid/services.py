"""Grid work services: assignments and load, visits, diary grading, patrols, coverage and duty.

Pages, the API and the demo generator call these; nothing here renders or checks the request.
Callers pass the acting user; scope checks on the objects are the caller's (views/viewsets), the
rules of the work itself (one responsible worker, a worker grades no diary of their own, one open
patrol …) are here.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext

from linli.core import permissions
from linli.events import attachments as attachment_files
from linli.registry.choices import HouseholdStatus
from linli.registry.models import GroupMembership, GroupType, Household, Membership, Person

from .choices import GridRole, VisitKind, VisitOutcome
from .models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit, VisitPhoto, VisitRule

# Person fields a visit may correct on the spot (the rest go through the person form).
VISIT_PERSON_FIELDS = ("residence_status", "phone", "current_address", "occupation", "employer")


def household_norm() -> int:
    """Households per responsible worker (seed 004: 社工每人包户300户)."""
    return settings.LINLI_HOUSEHOLDS_PER_WORKER


def patrol_daily_minutes() -> int:
    """Daily patrol target (seed 003: 每天巡查一小时)."""
    return settings.LINLI_PATROL_MINUTES_PER_DAY


def _error(field: str, message: str) -> ValidationError:
    """``message`` is translated; its msgid is "中文 (English)", so Chinese readers get both."""
    return ValidationError({field: message})


# -- assignments and load ---------------------------------------------------------------------------
def is_worker_at(user, grid) -> bool:
    """Does ``user`` hold a grid-work role at this grid (may record visits there)?"""
    return permissions.has_perm(user, "grid.add_visit", area_path=grid.path)


@transaction.atomic
def assign(grid, user, *, role: str = GridRole.RESPONSIBLE, start_date: dt.date | None = None,
           note: str = "") -> GridAssignment:  # fmt: skip
    """Put ``user`` in charge of (or as a deputy in) ``grid``; a new responsible worker ends the old one."""
    start_date = start_date or timezone.localdate()
    if not is_worker_at(user, grid):
        raise _error("user", gettext("%(user)s 在该网格没有网格员权限，请先分配角色 (the user holds no grid-work role for this grid)") % {"user": user})  # fmt: skip
    current = GridAssignment.objects.select_for_update().filter(area=grid, end_date__isnull=True)
    if current.filter(user=user).exists():
        raise _error(
            "user",
            gettext("%(user)s 已在该网格任职 (the user is already assigned to this grid)") % {"user": user},
        )
    if role == GridRole.RESPONSIBLE:
        for previous in current.filter(role=GridRole.RESPONSIBLE):
            previous.end_date = max(previous.start_date, start_date - dt.timedelta(days=1))
            previous.save(change_note="更换网格长 (new responsible worker)")
    assignment = GridAssignment(area=grid, user=user, role=role, start_date=start_date, note=note)
    assignment.full_clean()
    assignment.save()
    return assignment


def end_assignment(assignment: GridAssignment, end_date: dt.date | None = None) -> GridAssignment:
    end_date = end_date or timezone.localdate()
    if end_date < assignment.start_date:
        raise _error("end_date", gettext("结束日期不能早于起始日期 (the end date is before the start)"))
    assignment.end_date = end_date
    assignment.save(change_note="结束任职 (assignment ended)")
    return assignment


@dataclass
class GridLoad:
    grid: object
    households: int
    responsible: object | None = None
    deputies: list = field(default_factory=list)


@dataclass
class WorkerLoad:
    user: object
    grids: list
    households: int
    norm: int

    @property
    def ratio(self) -> float:
        return self.households / self.norm if self.norm else 0.0

    @property
    def over_norm(self) -> bool:
        return self.households > self.norm


def household_counts(grids) -> dict[int, int]:
    rows = (
        Household.objects.filter(area__in=grids, status=HouseholdStatus.ACTIVE)
        .values("area_id")
        .annotate(n=Count("id"))
    )
    return {row["area_id"]: row["n"] for row in rows}


def grid_loads(grids, on: dt.date | None = None) -> list[GridLoad]:
    grids = list(grids)
    counts = household_counts(grids)
    loads = {g.pk: GridLoad(grid=g, households=counts.get(g.pk, 0)) for g in grids}
    for a in GridAssignment.objects.current(on).filter(area__in=grids).select_related("user"):
        if a.role == GridRole.RESPONSIBLE:
            loads[a.area_id].responsible = a.user
        else:
            loads[a.area_id].deputies.append(a.user)
    return list(loads.values())


def worker_loads(loads: list[GridLoad]) -> list[WorkerLoad]:
    """Households per responsible worker against the norm, heaviest first."""
    norm = household_norm()
    by_user: dict[int, WorkerLoad] = {}
    for load in loads:
        if load.responsible is None:
            continue
        entry = by_user.setdefault(load.responsible.pk, WorkerLoad(load.responsible, [], 0, norm))
        entry.grids.append(load.grid)
        entry.households += load.households
    return sorted(by_user.values(), key=lambda w: -w.households)


def grids_of(user, on: dt.date | None = None):
    from linli.areas.models import Area

    return Area.objects.filter(pk__in=GridAssignment.objects.current(on).filter(user=user).values("area_id"))


# -- visits -------------------------------------------------------------------------------------------
def _check_person_updates(household: Household, updates: dict) -> None:
    member_ids = set(household.memberships.filter(end_date__isnull=True).values_list("person_id", flat=True))
    for person, changes in updates.items():
        if person.pk not in member_ids:
            raise _error(
                "met",
                gettext("%(name)s 不是该户的现有成员 (not a current member of the household)")
                % {"name": person.name},
            )
        unknown = set(changes) - set(VISIT_PERSON_FIELDS)
        if unknown:
            raise _error("met", gettext("走访时不能修改这些字段：%(join)s (these fields cannot be changed on a visit)") % {"join": ', '.join(sorted(unknown))})  # fmt: skip


@transaction.atomic
def record_visit(
    *,
    household: Household,
    visitor,
    visited_on: dt.date | None = None,
    kind: str = VisitKind.DOOR,
    outcome: str = VisitOutcome.MET,
    met=(),
    findings: str = "",
    follow_up: str = "",
    follow_up_due: dt.date | None = None,
    photos=(),
    person_updates: dict | None = None,
    raise_event: dict | None = None,
) -> Visit:
    """Record one visit; optionally correct members' details and report an event from it.

    ``person_updates`` maps a current member to ``{field: value}`` (fields in
    :data:`VISIT_PERSON_FIELDS`); each person is saved through its model with the change history
    noting the visit. ``raise_event`` holds ``report_event`` arguments (category, title, …): the event
    is located at the household's house/grid and linked to the household and the people met.
    All of it is one transaction: a bad photo or a refused field leaves nothing behind.
    """
    person_updates = person_updates or {}
    checked = [attachment_files.validate_upload(f) for f in photos]
    met = list(met)
    _check_person_updates(household, {p: {} for p in met})
    _check_person_updates(household, person_updates)
    visit = Visit(household=household, visitor=visitor, visited_on=visited_on or timezone.localdate(), kind=kind,
                  outcome=outcome, findings=findings, follow_up=follow_up, follow_up_due=follow_up_due)  # fmt: skip
    visit.sync_area_path()
    visit.full_clean(exclude=["area"])
    visit.save()
    if met:
        visit.met.set(met)
    for item in checked:
        photo = VisitPhoto(visit=visit, original_name=item.name, content_type=item.content_type, size=item.size,
                           sha256=item.sha256, uploaded_by=visitor)  # fmt: skip
        photo.file.save(item.name, item.file, save=False)
        photo.save()
    note = f"入户走访 visit #{visit.pk} {visit.visited_on}"
    for person, changes in person_updates.items():
        changes = {k: v for k, v in changes.items() if v not in (None, "") and getattr(person, k) != v}
        if not changes:
            continue
        for name, value in changes.items():
            setattr(person, name, value)
        try:
            person.full_clean(exclude=[f.name for f in Person._meta.fields if f.name not in changes])
        except ValidationError as exc:  # name the person: a household has several
            raise ValidationError(
                {
                    name: [f"{person.name}：{m}" for m in messages]
                    for name, messages in exc.message_dict.items()
                }
            ) from None
        person.save(change_note=note)
    if raise_event:
        visit.event = report_from_visit(visit, visitor, **raise_event)
        visit.save(update_fields=["event"])
    return visit


def report_from_visit(visit: Visit, visitor, *, category, title: str, description: str = "",
                      priority: str = "normal"):  # fmt: skip
    from linli.events import workflow
    from linli.events.choices import EventChannel

    household = visit.household
    return workflow.report_event(
        category=category, title=title, description=description or visit.findings, priority=priority,
        location_area=household.area, house=household.house, channel=EventChannel.GRID_WORKER, user=visitor,
        persons=list(visit.met.all()), households=[household],
    )  # fmt: skip


# -- visit rules, coverage and what is due --------------------------------------------------------------
@dataclass
class HouseholdDue:
    household: Household
    rule: VisitRule
    last_visit: dt.date | None
    due_on: dt.date
    classes: list = field(default_factory=list)  # GroupType rows that put it under the rule

    def overdue_days(self, on: dt.date) -> int:
        return (on - self.due_on).days


def household_classes(households, on: dt.date) -> dict[int, set[str]]:
    """Group-type keys of each household's current members on ``on`` (age classes included)."""
    households = list(households)
    ids = [h.pk for h in households]
    members = Membership.objects.filter(household_id__in=ids, end_date__isnull=True).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=on)
    )
    person_household = dict(members.values_list("person_id", "household_id"))
    classes: dict[int, set[str]] = defaultdict(set)
    stored = GroupMembership.objects.filter(person_id__in=person_household.keys()).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on)
    )
    for person_id, key in stored.values_list("person_id", "group_type__key"):
        classes[person_household[person_id]].add(key)
    for group in GroupType.objects.filter(min_age__isnull=False, active=True):
        born_by = _years_before(on, group.min_age)
        aged = Person.objects.filter(pk__in=person_household.keys(), birth_date__lte=born_by, status="active")
        for person_id in aged.values_list("pk", flat=True):
            classes[person_household[person_id]].add(group.key)
    return classes


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def last_visits(households, until: dt.date | None = None) -> dict[int, dt.date]:
    visits = Visit.objects.effective().filter(household__in=households)
    if until:
        visits = visits.filter(visited_on__lte=until)
    return dict(
        visits.values("household_id").annotate(last=Max("visited_on")).values_list("household_id", "last")
    )


def schedule(households, on: dt.date | None = None) -> list[HouseholdDue]:
    """For each household: the strictest rule it falls under, its last visit and when the next is due."""
    on = on or timezone.localdate()
    households = list(households)
    rules = list(VisitRule.objects.filter(active=True))
    general = [r for r in rules if not r.group_types]
    classes = household_classes(households, on)
    last = last_visits(households, on)
    group_types = {g.key: g for g in GroupType.objects.all()}
    result = []
    for household in households:
        keys = classes.get(household.pk, set())
        matching = [r for r in rules if r.group_types and keys.intersection(r.group_types)] + general
        if not matching:
            continue
        rule = min(matching, key=lambda r: r.interval_days)
        previous = last.get(household.pk)
        due_on = previous + dt.timedelta(days=rule.interval_days) if previous else on
        why = [group_types[k] for k in sorted(keys.intersection(rule.group_types)) if k in group_types]
        result.append(HouseholdDue(household, rule, previous, due_on, why))
    return sorted(result, key=lambda d: (d.due_on, d.household.number))


def reason_label(due: HouseholdDue, user) -> str:
    """The rule's name, unless it would tell the user about a group they may not read (e.g. 社区矫正)."""
    allowed = permissions.field_groups(user, due.household.area_path)
    if any(g.field_group not in allowed for g in due.classes):
        return "重点关注户 (focus household)"
    return due.rule.name


@dataclass
class Coverage:
    area: object
    start: dt.date
    end: dt.date
    households: int
    visited: int
    visits: int

    @property
    def not_visited(self) -> int:
        return self.households - self.visited

    @property
    def rate(self) -> float | None:
        return self.visited / self.households if self.households else None


def coverage(area, start: dt.date, end: dt.date) -> Coverage:
    """Households of ``area``'s subtree visited (face to face) between ``start`` and ``end``."""
    households = Household.objects.filter(area_path__startswith=area.path, status=HouseholdStatus.ACTIVE)
    visits = Visit.objects.effective().filter(area_path__startswith=area.path, visited_on__range=(start, end))
    return Coverage(area, start, end, households=households.count(),
                    visited=visits.values("household_id").distinct().count(), visits=visits.count())  # fmt: skip


def coverage_by_child(area, start: dt.date, end: dt.date) -> list[Coverage]:
    from linli.areas.models import Area

    children = Area.objects.get_children(area) if area.numchild else []
    return [coverage(child, start, end) for child in children]


def unvisited_households(area, start: dt.date, end: dt.date):
    visited = Visit.objects.effective().filter(
        area_path__startswith=area.path, visited_on__range=(start, end)
    )
    return (
        Household.objects.filter(area_path__startswith=area.path, status=HouseholdStatus.ACTIVE)
        .exclude(pk__in=visited.values("household_id"))
        .order_by("number")
    )


# -- diary --------------------------------------------------------------------------------------------
def grade_diary(entry: DiaryEntry, grader, *, grade: str, comment: str = "") -> DiaryEntry:
    """评定等级: by a supervisor who may grade in the entry's grid, never by its author."""
    if entry.author_id == grader.pk:
        raise _error("grade", gettext("不能评定自己的民情日记 (nobody grades their own diary)"))
    if not permissions.has_perm(grader, "grid.grade_diaryentry", entry):
        raise _error("grade", gettext("您没有评定该日记的权限 (you may not grade this diary entry)"))
    from .choices import DiaryGrade

    if grade not in DiaryGrade.values:
        raise _error("grade", gettext("未知的等级 %(grade)s (unknown grade)") % {"grade": repr(grade)})
    entry.grade = grade
    entry.grade_comment = comment[:500]
    entry.graded_by = grader
    entry.graded_at = timezone.now()
    entry.save(change_note="评定等级 graded")
    return entry


def check_diary_editable(entry: DiaryEntry, user) -> None:
    if entry.author_id != user.pk:
        raise _error("author", gettext("只能修改自己的民情日记 (only the author may edit a diary entry)"))
    if entry.grade:
        raise _error("grade", gettext("日记已评定，不能再修改 (a graded entry can no longer be edited)"))


# -- patrols ------------------------------------------------------------------------------------------
def check_in(user, grid, *, at: dt.datetime | None = None, lat=None, lng=None, route: str = "") -> Patrol:
    if not is_worker_at(user, grid):
        raise _error("area", gettext("您不在该网格工作，不能签到 (you do not work in this grid)"))
    if Patrol.objects.open().filter(user=user).exists():
        raise _error("area", gettext("您还有未签退的巡查，请先签退 (finish your open patrol first)"))
    patrol = Patrol(
        user=user, area=grid, started_at=at or timezone.now(), start_lat=lat, start_lng=lng, route=route
    )
    patrol.full_clean(exclude=["area"])
    try:
        with transaction.atomic():
            patrol.save()
    except Exception as exc:  # the one-open-patrol constraint lost a race with a second tab
        if Patrol.objects.open().filter(user=user).exists():
            raise _error(
                "area", gettext("您还有未签退的巡查，请先签退 (finish your open patrol first)")
            ) from exc
        raise
    return patrol


def check_out(patrol: Patrol, user, *, at: dt.datetime | None = None, lat=None, lng=None, findings: str = "",
              route: str | None = None) -> Patrol:  # fmt: skip
    at = at or timezone.now()
    if patrol.user_id != user.pk:
        raise _error("user", gettext("只能签退自己的巡查 (only the patrolling worker checks out)"))
    if patrol.ended_at is not None:
        raise _error("ended_at", gettext("该巡查已签退 (the patrol is already finished)"))
    if at < patrol.started_at:
        raise _error("ended_at", gettext("签退时间早于签到时间 (check-out before check-in)"))
    changes = {"ended_at": at, "end_lat": lat, "end_lng": lng, "findings": findings}
    if route is not None:
        changes["route"] = route
    # Only a still-open patrol is updated (a logged, row-locked update), so a double submit cannot
    # check out twice.
    if not Patrol.objects.filter(pk=patrol.pk, ended_at__isnull=True).update(**changes):
        raise _error("ended_at", gettext("该巡查已签退 (the patrol is already finished)"))
    for name, value in changes.items():
        setattr(patrol, name, value)
    return patrol


@dataclass
class PatrolDay:
    user: object
    day: dt.date
    minutes: float
    patrols: int

    @property
    def met_target(self) -> bool:
        return self.minutes >= patrol_daily_minutes()


def patrol_days(patrols, start: dt.date, end: dt.date) -> list[PatrolDay]:
    """Minutes patrolled per worker per day (finished patrols, by their local start date)."""
    totals: dict[tuple, PatrolDay] = {}
    rows = patrols.filter(ended_at__isnull=False, started_at__date__range=(start, end)).select_related("user")
    for patrol in rows:
        day = timezone.localtime(patrol.started_at).date()
        entry = totals.setdefault((patrol.user_id, day), PatrolDay(patrol.user, day, 0.0, 0))
        entry.minutes += patrol.minutes
        entry.patrols += 1
    return sorted(totals.values(), key=lambda d: (d.day, str(d.user)), reverse=True)


# -- duty roster --------------------------------------------------------------------------------------
def on_duty(area, at: dt.datetime | None = None):
    """Shifts covering ``at`` in the area, its ancestors' rosters included (a community's duty room)."""
    at = at or timezone.now()
    prefixes = [area.path[:i] for i in range(4, len(area.path) + 1, 4)]
    return DutyShift.objects.filter(area_path__in=prefixes, starts_at__lte=at, ends_at__gt=at).select_related(
        "user"
    )


def roster_gaps(area, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """Stretches between ``start`` and ``end`` that nobody in the area's roster covers (24-hour duty)."""
    shifts = DutyShift.objects.filter(area=area, ends_at__gt=start, starts_at__lt=end).order_by("starts_at")
    gaps = []
    cursor = start
    for shift in shifts:
        if shift.starts_at > cursor:
            gaps.append((cursor, shift.starts_at))
        cursor = max(cursor, shift.ends_at)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def overlapping_shift(shift: DutyShift):
    """Another shift of the same person at the same time, if any (a person is in one place)."""
    if not shift.user_id:
        return None
    return (
        DutyShift.objects.filter(
            user_id=shift.user_id, starts_at__lt=shift.ends_at, ends_at__gt=shift.starts_at
        )
        .exclude(pk=shift.pk)
        .first()
    )
