"""Demo history: months of events played through the real workflow, so dashboards are not empty.

::

    from linli.events.demo import generate_events
    events = generate_events(grids, persons, days=180, per_day=4, seed=2026)

``areas``: the areas events happen in (grids are used when there are any; other levels only as
a fallback). ``persons``: registry persons who report (their house, when in one of the areas,
becomes the event's place); may be empty. ``days`` back from ``now`` (default: now), about
``per_day`` reports a day (a little more on weekdays), deterministic for a given ``seed``.

Every event goes through :mod:`linli.events.workflow` with times in the past: accepted (now and
then slowly or not at all), handled where it was reported or escalated and dispatched to a
department, sometimes returned, extended, reworked, shelved or overdue (escalated the way the
sweep does it), fed back, verified, closed, rated and archived. Recent events are left open, so
the lists have work in them. Departments are created for the district if it has none. Runs in one
transaction under the ``demo`` channel (no SMS).
"""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from linli.areas.models import Area
from linli.core import context, workcal

from . import workflow
from .choices import EventChannel, EventStatus, HandlingLevel, Priority, Satisfaction
from .models import Department, Event, EventCategory

DEMO_DEPARTMENTS = [
    ("CG", "区城市管理执法局", ("01", "02", "05", "06")),
    ("ZJ", "区住房和城乡建设局", ("03", "13")),
    ("SW", "区水务和湖泊局", ("0402", "1203", "1305")),
    ("YJ", "区应急管理局", ("04",)),
    ("GA", "公安分局", ("11",)),
    ("MZ", "区民政局", ("12", "15")),
    ("SJ", "区市场监督管理局", ("16", "1302")),
]
# Rough shares of reports per top category in community practice.
CATEGORY_WEIGHTS = {"01": 14, "02": 5, "03": 4, "04": 2, "05": 9, "06": 8, "10": 9, "11": 6, "12": 9,
                    "13": 10, "14": 12, "15": 6, "16": 4, "17": 2}  # fmt: skip
CHANNEL_WEIGHTS = [
    (EventChannel.GRID_WORKER, 45),
    (EventChannel.PORTAL, 15),
    (EventChannel.HOTLINE, 18),
    (EventChannel.BUILDING_HEAD, 8),
    (EventChannel.SERVICE_HALL, 6),
    (EventChannel.MAILBOX, 4),
    (EventChannel.API, 4),
]
REPLIES = ["已现场处置完毕", "已协调相关单位处理，问题已解决", "已约谈当事人并整改到位", "已安排维修，恢复正常",
           "已清理完毕并加强巡查", "已解答政策并告知办理流程", "双方已达成和解"]  # fmt: skip


def ensure_departments(district: Area) -> list[Department]:
    """The demo's handler units for ``district`` (created once, by code)."""
    departments = []
    for code, name, _ in DEMO_DEPARTMENTS:
        full_code = f"{district.code or district.pk}-{code}"
        department = Department.objects.filter(code=full_code).first()
        if department is None:
            department = Department(code=full_code, name=name, area=district)
            department.save()
        departments.append(department)
    return departments


def _department_for(category: EventCategory, departments: list[Department]) -> Department | None:
    by_code = {code: dept for (code, _n, _c), dept in zip(DEMO_DEPARTMENTS, departments, strict=False)}
    best, best_len = None, 0
    for code, _name, prefixes in DEMO_DEPARTMENTS:
        for prefix in prefixes:
            if category.code.startswith(prefix) and len(prefix) > best_len:
                best, best_len = by_code.get(code), len(prefix)
    return best


class _Play:
    """One event's history: advances a clock and stops when it reaches the present."""

    def __init__(self, event: Event, rng: random.Random, now: dt.datetime, departments):
        self.event, self.rng, self.now, self.departments = event, rng, now, departments
        self.t = event.reported_at

    def after(self, low_hours: float, high_hours: float) -> dt.datetime | None:
        self.t = self.t + dt.timedelta(hours=self.rng.uniform(low_hours, high_hours))
        return self.t if self.t < self.now else None

    def step(self, function, low, high, **kwargs) -> bool:
        at = self.after(low, high)
        if at is None:
            return False
        function(self.event, None, at=at, **kwargs)
        return True

    def share_of_limit(self, share: float) -> tuple[float, float]:
        """Hours that use about ``share`` of the current handler's allowed time."""
        span = (self.event.due_at - self.t).total_seconds() / 3600 if self.event.due_at else 24
        span = max(span, 0.2)
        return span * share * 0.8, span * share

    def run(self) -> None:
        rng, event = self.rng, self.event
        if event.category.requires_onsite:
            minutes = rng.choice([6, 9, 12, 14, 18, 25]) if rng.random() < 0.9 else rng.choice([35, 50])
            arrival = event.reported_at + dt.timedelta(minutes=minutes)
            if arrival < self.now:
                workflow.arrive(event, None, at=arrival, note="已到现场")
                self.t = arrival
        slow = rng.random() < 0.08
        if rng.random() < 0.05:
            self.step(workflow.reject, 0.2, 3, note="经核实不属于受理范围，已告知反映人")
            return
        if not self.step(workflow.accept, *((20, 40) if slow else (0.1, 3))):
            return
        # Where is it handled? Escalate some, dispatch some down or out.
        if rng.random() < 0.22 and workflow.escalation_target(event) is not None:
            if not self.step(workflow.escalate, 0.5, 6, note="本级无法解决，提请上级协调"):
                return
            if not self.step(workflow.accept, 0.2, 4):
                return
        if event.handling_level in (HandlingLevel.DISTRICT, HandlingLevel.SUBDISTRICT) and rng.random() < 0.7:
            department = _department_for(event.category, self.departments) or rng.choice(self.departments)
            if not self.step(workflow.dispatch, 0.2, 4, to_department=department, note="请按职责办理"):
                return
            if rng.random() < 0.06:
                if not self.step(workflow.return_event, 1, 8, note="不属于本部门职责"):
                    return
                if "locality" in workflow.allowed_actions(event):
                    if not self.step(workflow.fallback_to_locality, 0.5, 4, note="职责不清，属地兜底"):
                        return
                    if not self.step(workflow.sign, 0.2, 6):
                        return
                elif not self.step(workflow.start, 0.5, 4, note="本级自行处置"):
                    return
            elif not self.step(workflow.sign, 0.2, 6):
                return
        elif event.handling_level == HandlingLevel.COMMUNITY and rng.random() < 0.3:
            children = list(Area.objects.get_children(event.area))
            if children:
                if not self.step(workflow.dispatch, 0.2, 3, to_area=rng.choice(children)):
                    return
                if not self.step(workflow.sign, 0.1, 4):
                    return
            elif not self.step(workflow.start, 0.1, 2):
                return
        elif not self.step(workflow.start, 0.1, 2):
            return
        if rng.random() < 0.03:
            review = timezone.localtime(self.t).date() + dt.timedelta(days=rng.choice([30, 60, 90]))
            if not self.step(workflow.shelve, 2, 48, note="需纳入改造计划统筹解决", review_date=review):
                return
            resume_at = dt.datetime.combine(review, dt.time(9, 0), tzinfo=timezone.get_current_timezone())
            if resume_at >= self.now:
                return
            self.t = resume_at - dt.timedelta(hours=1)
            if not self.step(workflow.resume, 0.5, 1, note="条件具备，恢复办理"):
                return
        if rng.random() < 0.05 and event.due_at:
            until = event.due_at + dt.timedelta(days=rng.choice([2, 3, 5]))
            if not self.step(
                workflow.request_extension, *self.share_of_limit(0.5), until=until, note="需协调多个单位"
            ):
                return
            if not self.step(workflow.approve_extension, 0.5, 6, note="同意延期"):
                return
        overdue = rng.random() < 0.1
        if overdue and event.due_at:
            # The sweep would have escalated it at the deadline: do what the sweep does.
            if event.due_at >= self.now:
                return
            self.t = max(self.t, event.due_at) + dt.timedelta(minutes=rng.randint(1, 5))
            if self.t >= self.now:
                return
            if workflow.escalation_target(event) is not None:
                workflow.auto_escalate(event, at=self.t)
                if event.status == EventStatus.DISPATCHED:
                    if not self.step(workflow.sign, 0.5, 4):
                        return
                elif not self.step(workflow.accept, 0.5, 4) or not self.step(workflow.start, 0.1, 2):
                    return
            else:
                workflow.red_card(event, at=self.t)
        if rng.random() < 0.04 and not self.step(workflow.supervise, 1, 12, note="请加快办理进度"):
            return
        if not self.step(
            workflow.feed_back, *self.share_of_limit(rng.uniform(0.2, 0.95)), note=rng.choice(REPLIES)
        ):
            return
        if rng.random() < 0.07:
            if not self.step(workflow.rework, 2, 24, note="现场核查问题仍存在"):
                return
            if not self.step(workflow.feed_back, 2, 24, note="已重新处置完毕"):
                return
        if not self.step(workflow.verify, 1, 24, note="现场核查属实"):
            return
        if not self.step(workflow.close, 0.5, 12):
            return
        if rng.random() < 0.82:
            satisfaction = rng.choices(
                [Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.DISSATISFIED],
                weights=[76, 17, 7],
            )[0]
            if not self.step(workflow.rate, 2, 72, satisfaction=satisfaction, note="回访"):
                return
        if self.now - self.t > dt.timedelta(days=30) and rng.random() < 0.6:
            self.step(workflow.archive, 24, 240)


def generate_events(
    areas,
    persons,
    days: int = 180,
    per_day: int = 4,
    seed: int = 2026,
    now: dt.datetime | None = None,
) -> list[Event]:
    """Create about ``days * per_day`` events with realistic histories; returns them."""
    rng = random.Random(seed)
    now = now or timezone.now()
    areas = list(areas)
    grids = [a for a in areas if a.level == "grid"] or areas
    if not grids:
        return []
    categories = list(
        EventCategory.objects.filter(active=True, parent__isnull=False).select_related("parent")
    )
    if not categories:
        from .loader import load_categories

        load_categories()
        categories = list(
            EventCategory.objects.filter(active=True, parent__isnull=False).select_related("parent")
        )
    weights = [CATEGORY_WEIGHTS.get(c.parent.code, 3) / max(len([x for x in categories if x.parent_id == c.parent_id]), 1)
               for c in categories]  # fmt: skip
    grid_paths = [g.path for g in grids]
    reporters = [p for p in persons if any(p.area_path.startswith(path) for path in grid_paths)]
    district = Area.objects.get_root(Area.objects.get(pk=grids[0].pk))
    calendar = workcal.default_calendar()
    created: list[Event] = []
    with context.acting(None, channel=context.Channel.DEMO), transaction.atomic():
        departments = ensure_departments(district)
        today = timezone.localtime(now).date()
        for back in range(days, -1, -1):
            day = today - dt.timedelta(days=back)
            count = max(0, round(rng.gauss(per_day * (1.15 if calendar.is_working_day(day) else 0.65), 1.5)))
            for _ in range(count):
                minute = rng.randint(7 * 60, 21 * 60)
                at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=calendar.tz)
                if at >= now:
                    continue
                category = rng.choices(categories, weights=weights)[0]
                person = rng.choice(reporters) if reporters and rng.random() < 0.7 else None
                grid = next(
                    (g for g in grids if person and person.area_path.startswith(g.path)), None
                ) or rng.choice(grids)
                house = person.house if person is not None and person.house_id else None
                channel = rng.choices(
                    [c for c, _ in CHANNEL_WEIGHTS], weights=[w for _, w in CHANNEL_WEIGHTS]
                )[0]
                event = workflow.report_event(
                    category=category,
                    title=f"{grid.name}{category.name}",
                    description=f"{category.parent.name}：{category.name}，请尽快处理。",
                    location_area=grid,
                    house=house if house is not None and house.area_path.startswith(grid.path) else None,
                    channel=channel,
                    priority=Priority.URGENT if rng.random() < 0.06 else Priority.NORMAL,
                    reporter_person=person,
                    persons=[person] if person is not None else (),
                    at=at,
                )
                _Play(event, rng, now, departments).run()
                created.append(event)
    return created
