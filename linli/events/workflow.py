"""The event workflow of SPEC §4: declared states, declared transitions, one function each.

::

    上报 reported ──accept──▶ accepted ──dispatch──▶ dispatched ──sign──▶ handling ──feed_back──▶ fed_back
        │ reject                 │ start ─────────────────────────────▶ handling      │ verify    │ rework
        ▼                        │ escalate (to the level above: reported there)      ▼           ▼
     rejected                    │ shelve ──▶ shelved ──resume──▶ handling         verified   handling
                                 │                                                    │ close
    dispatched ──return──▶ returned (back with the sender, who dispatches again)    closed ──rate──▶ rated
                                                                                      └──archive──▶ archived

Every transition function

- checks the current state against the declared sources and raises :class:`TransitionError`
  (bilingual) when the move is not allowed or a required reason is missing;
- writes with a compare-and-swap: ``UPDATE event SET … , version = version + 1 WHERE id = %s AND
  version = %s AND status = %s`` (a queryset ``update()`` with that filter). Whoever commits
  second finds no row and gets :class:`ConcurrentChange`: two users can never both accept;
- records one :class:`~linli.events.models.EventStep` (actor, acting level/area/department, time,
  note, attachments) and the notifications in the same transaction;
- sets the clock (``due_at``, ``yellow_at``, ``next_sweep_at``) from the category's limit on
  the working-day calendar when responsibility moves to a new level.

The functions take the acting user and, optionally, the unit they act for (``on_behalf_of``: an
:class:`~linli.areas.models.Area` or :class:`~linli.events.models.Department`; by default the
event's current handler). They do not decide *who may* act: views and the API ask the permission
policy first, or register a check with :func:`set_authorizer` so that no path can forget it.
``at`` (default: now) lets the demo generator and tests replay a history in the past.
"""

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from linli.areas.models import Area
from linli.core import context, history, workcal
from linli.core.models import ChangeAction
from linli.core.validators import parse_phone

from . import attachments as attachment_files
from . import conf, notify
from .choices import (
    CLOCK_STATES,
    LEVEL_ORDER,
    OPEN_STATES,
    EventChannel,
    EventStatus,
    HandlingLevel,
    Priority,
    Satisfaction,
    StepAction,
)
from .models import Department, Event, EventCategory, EventSequence, EventStep, ShelvedCase

S = EventStatus
A = StepAction


class TransitionError(ValidationError):
    """A move the workflow does not allow; the message says why, in Chinese and English."""


class ConcurrentChange(TransitionError):
    """Someone else changed the event between reading and writing it."""


def _error(message: str, code: str = "transition", cls=TransitionError) -> TransitionError:
    """``message`` is translated; its msgid is "中文 (English)", so Chinese readers get both."""
    return cls(message, code=code)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset
    target: str | None  # None: the status does not change
    needs_note: bool = False
    # Whom the actor acts for when the caller does not say: the current handler, the unit that
    # gave the task (approvals) or nobody (a resident rating the result).
    acts_for: str = "handler"


def _t(action, sources, target, **kw) -> Transition:
    return Transition(action, frozenset(sources), target, **kw)


_ESCALATABLE = {S.REPORTED, S.ACCEPTED, S.RETURNED, S.HANDLING}
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t(A.ACCEPT, {S.REPORTED}, S.ACCEPTED),
        _t(A.REJECT, {S.REPORTED}, S.REJECTED, needs_note=True),
        _t(A.DISPATCH, {S.ACCEPTED, S.RETURNED}, S.DISPATCHED),
        _t(A.SIGN, {S.DISPATCHED}, S.HANDLING),
        _t(A.RETURN, {S.DISPATCHED, S.REPORTED}, S.RETURNED, needs_note=True),
        _t(A.START, {S.ACCEPTED, S.RETURNED}, S.HANDLING),
        _t(A.ESCALATE, _ESCALATABLE, S.REPORTED),
        # The sweep also escalates a dispatch nobody signed in time.
        _t(A.AUTO_ESCALATE, _ESCALATABLE | {S.DISPATCHED}, S.REPORTED, acts_for="none"),
        _t(A.LOCALITY, {S.REPORTED, S.ACCEPTED, S.RETURNED}, S.DISPATCHED, needs_note=True),
        _t(A.REQUEST_EXTENSION, {S.HANDLING}, None, needs_note=True),
        _t(A.APPROVE_EXTENSION, {S.HANDLING}, None, acts_for="sender"),
        _t(A.DENY_EXTENSION, {S.HANDLING}, None, needs_note=True, acts_for="sender"),
        _t(A.FEED_BACK, {S.HANDLING}, S.FED_BACK, needs_note=True),
        _t(A.VERIFY, {S.FED_BACK}, S.VERIFIED),
        _t(A.REWORK, {S.FED_BACK}, S.HANDLING, needs_note=True),
        _t(A.CLOSE, {S.VERIFIED}, S.CLOSED),
        _t(A.RATE, {S.CLOSED}, S.RATED, acts_for="none"),
        _t(A.ARCHIVE, {S.CLOSED, S.RATED, S.REJECTED}, S.ARCHIVED),
        _t(A.SHELVE, {S.ACCEPTED, S.RETURNED, S.HANDLING}, S.SHELVED, needs_note=True),
        _t(A.REVIEW_SHELVED, {S.SHELVED}, None, needs_note=True),
        _t(A.RESUME, {S.SHELVED}, S.HANDLING, needs_note=True),
        _t(A.SUPERVISE, OPEN_STATES, None, needs_note=True, acts_for="none"),
        _t(A.EXPEDITE, CLOCK_STATES, None, acts_for="none"),
        _t(A.ARRIVE, CLOCK_STATES, None),
        _t(A.NOTE, set(S.values) - {S.ARCHIVED}, None, needs_note=True, acts_for="none"),
        # Written by the sweep only.
        _t(A.YELLOW_CARD, CLOCK_STATES, None, acts_for="none"),
        _t(A.RED_CARD, CLOCK_STATES, None, acts_for="none"),
        _t(A.SHELF_DUE, {S.SHELVED}, None, acts_for="none"),
    ]
}
SYSTEM_ACTIONS = frozenset({A.AUTO_ESCALATE, A.YELLOW_CARD, A.RED_CARD, A.SHELF_DUE})

_authorizer: Callable | None = None


def set_authorizer(check: Callable | None) -> None:
    """Register ``check(user, event, action, acting)``, called before every user transition.

    It raises :class:`~django.core.exceptions.PermissionDenied` (or ``Http404`` for an event
    outside the user's scope) to refuse. System transitions (the sweep) are not checked.
    """
    global _authorizer
    _authorizer = check


# -- levels and routing ----------------------------------------------------------------------------
def level_of(area: Area) -> str:
    return HandlingLevel(area.level)


def _ancestor_at(area: Area, level: str) -> Area:
    """``area``'s ancestor (or itself) at ``level``; ``area`` itself when it is already above it."""
    if LEVEL_ORDER.index(level_of(area)) >= LEVEL_ORDER.index(level):
        return area
    for node in area.ancestors_and_self():
        if node.level == level:
            return node
    return area


def route_on_report(category: EventCategory, location: Area) -> Area:
    """The area that receives a new report: the location's level, or the category's default above it.

    A category handled by departments first goes to the district platform, which dispatches it.
    """
    level = category.default_level
    if level == HandlingLevel.DEPARTMENT:
        level = HandlingLevel.DISTRICT
    return _ancestor_at(location, level)


def locality_of(event: Event) -> Area:
    """属地: the government of the place (by default the sub-district of the location)."""
    return _ancestor_at(event.location_area, conf.get("LINLI_EVENT_LOCALITY_LEVEL"))


def verifier_of(event: Event) -> Area:
    """Who checks a fed-back result on site: by default the community of the location."""
    return _ancestor_at(event.location_area, conf.get("LINLI_EVENT_VERIFY_LEVEL"))


def escalation_target(event: Event) -> Area | Department | None:
    """One level up the ladder, or ``None`` at the top.

    grid → community → sub-district → district platform → the category's default department.
    A department is the top: an overdue event there is supervised (督办), not moved.
    """
    if event.department_id:
        return None
    if event.area.depth > 1:
        return Area.objects.get_parent(event.area)
    department = event.category.default_department
    if department is not None and department.active:
        return department
    return None


def _handler_values(target: Area | Department) -> dict:
    if isinstance(target, Department):
        return {
            "department": target,
            "area": target.area,
            "area_path": target.area.path,
            "handling_level": HandlingLevel.DEPARTMENT,
        }
    return {"department": None, "area": target, "area_path": target.path, "handling_level": level_of(target)}


def _sender_values(event: Event) -> dict:
    """The current handler becomes the sender of whatever is passed on."""
    if event.department_id:
        return {"sender_department": event.department, "sender_area": None}
    return {"sender_department": None, "sender_area": event.area}


# -- clock -----------------------------------------------------------------------------------------
def yellow_ratio() -> float:
    return conf.get_float("LINLI_EVENT_YELLOW_RATIO")


def clock_values(category: EventCategory, priority: str, start: dt.datetime) -> dict:
    """A fresh clock for the handler that takes responsibility at ``start``."""
    value, unit = category.limit_for(priority)
    due = workcal.add_time(start, value, unit)
    return {
        "clock_started_at": start,
        "due_at": due,
        "yellow_at": workcal.point_between(start, due, yellow_ratio(), unit),
        "yellow_card_at": None,
        "red_card_at": None,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    """Local time in step data, as the people reading the timeline count it."""
    return timezone.localtime(moment).isoformat() if moment is not None else None


def _review_moment(day: dt.date) -> dt.datetime:
    calendar = workcal.default_calendar()
    return dt.datetime.combine(day, calendar.periods[0][0], tzinfo=calendar.tz)


def next_sweep(status, due_at, yellow_at, yellow_card_at, red_card_at, review_at=None) -> dt.datetime | None:
    """When the sweep must next look at an event (one indexed column instead of a scan)."""
    if status == S.SHELVED:
        return review_at
    if status not in CLOCK_STATES or due_at is None or red_card_at is not None:
        return None
    if yellow_card_at is None and yellow_at is not None and yellow_at < due_at:
        return yellow_at
    return due_at


# -- numbering -------------------------------------------------------------------------------------
def next_number(moment: dt.datetime) -> str:
    """``SJ20261122-0001``: a per-day counter, safe under concurrency.

    Call inside a transaction. ``INSERT … ON CONFLICT DO NOTHING`` creates the day's row once;
    ``UPDATE … SET last = last + 1`` then takes the row lock (PostgreSQL) or runs under the
    write lock of an IMMEDIATE transaction (SQLite), so no two callers read the same value.
    """
    day = timezone.localtime(moment).date()
    EventSequence.objects.bulk_create([EventSequence(day=day, last=0)], ignore_conflicts=True)
    EventSequence.objects.filter(day=day).update(last=F("last") + 1)
    last = EventSequence.objects.values_list("last", flat=True).get(day=day)
    return f"{conf.get('LINLI_EVENT_NUMBER_PREFIX')}{day:%Y%m%d}-{last:04d}"


# -- the acting party ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Acting:
    user: object | None
    level: str
    area: Area | None
    department: Department | None

    @property
    def name(self) -> str:
        if self.user is None:
            return "系统 (system)"
        return getattr(self.user, "full_name", "") or getattr(self.user, "username", "") or str(self.user)


def _acting(event: Event, user, on_behalf_of, acts_for: str) -> Acting:
    unit = on_behalf_of
    if unit is None:
        if acts_for == "handler":
            unit = event.department if event.department_id else event.area
        elif acts_for == "sender":
            unit = event.sender_department or event.sender_area
    if isinstance(unit, Department):
        return Acting(user, HandlingLevel.DEPARTMENT, None, unit)
    if isinstance(unit, Area):
        return Acting(user, level_of(unit), unit, None)
    return Acting(user, "", None, None)


@contextlib.contextmanager
def _history_actor(user):
    """The change history reads the actor from the context; make it the transition's user."""
    current = context.current()
    if user is not None and current.user is None:
        with context.acting(user, channel=current.channel, ip=current.ip):
            yield
    else:
        yield


# -- the one write path ----------------------------------------------------------------------------
_RELATIONS = ("category", "area", "department", "location_area", "sender_area", "sender_department",
              "resolved_area", "resolved_department", "house", "reporter")  # fmt: skip


def _refresh(event: Event, changes: dict) -> None:
    """Reload after the compare-and-swap, keeping related objects that did not change.

    ``refresh_from_db`` forgets every cached relation; reloading the category and areas after
    each step would double the queries of a transition for nothing.
    """
    fields = [Event._meta.get_field(name) for name in _RELATIONS]
    cached = {f: f.get_cached_value(event) for f in fields if f.is_cached(event)}
    event.refresh_from_db()
    for field in fields:
        value = changes.get(field.name, cached.get(field))
        if isinstance(value, models.Model) and getattr(event, field.attname) == value.pk:
            field.set_cached_value(event, value)
    # refresh_from_db() does not reset the change-history baseline; the next write needs it.
    event._loaded_state = history.raw_state(event)


def _guard(event: Event, action: str) -> TransitionError | None:
    """Conditions beyond the status; ``None`` when the action may proceed."""
    if action == A.REJECT and event.accepted_at is not None:
        return _error(
            gettext(
                "已立案的事件不能不予立案，请退回或上报 (an accepted event cannot be rejected; return or escalate it)"
            ),
        )
    if action == A.RETURN:
        if event.locality_fallback:
            return _error(
                gettext("属地兜底的事件不能退回 (an event assigned to its locality cannot be returned)")
            )
        if not (event.sender_area_id or event.sender_department_id):
            return _error(
                gettext(
                    "新上报的事件不能退回，请受理或不予立案 (a new report cannot be returned; accept or reject it)"
                ),
            )
    if action in (A.ESCALATE, A.AUTO_ESCALATE) and escalation_target(event) is None:
        return _error(
            gettext(
                "已是最高处置层级，无法再上报，请派遣至职能部门或督办 (already at the top level; dispatch or supervise)"
            ),
        )
    if action == A.REQUEST_EXTENSION and event.extension_until is not None:
        return _error(gettext("已有待审批的延期申请 (an extension request is already pending)"))
    if action in (A.APPROVE_EXTENSION, A.DENY_EXTENSION) and event.extension_until is None:
        return _error(gettext("没有待审批的延期申请 (no extension request is pending)"))
    if action == A.EXPEDITE and event.priority == Priority.URGENT:
        return _error(gettext("事件已是加急 (the event is already urgent)"))
    if action == A.ARRIVE and event.onsite_at is not None:
        return _error(gettext("已登记到场时间 (the arrival is already recorded)"))
    if action == A.LOCALITY and event.department_id is None and event.area_id == locality_of(event).pk:
        return _error(gettext("事件已在属地处置 (the event is already with its locality)"))
    return None


def check(event: Event, action: str) -> None:
    """Raise :class:`TransitionError` unless ``action`` is possible on ``event`` in its current state."""
    if event.status not in TRANSITIONS[action].sources:
        raise _error(
            gettext(
                "事件当前为“%(status_label)s”，不能%(action_label)s (cannot %(action)s an event that is %(status)s)"
            )
            % {
                "status_label": EventStatus(event.status).label.split()[0],
                "action_label": StepAction(action).label.split()[0],
                "action": action,
                "status": event.status,
            },
            "state",
        )
    problem = _guard(event, action)
    if problem is not None:
        raise problem


def allowed_actions(event: Event) -> list[str]:
    """User actions possible on ``event`` now (for buttons; the functions check again)."""
    return [
        action
        for action, t in TRANSITIONS.items()
        if action not in SYSTEM_ACTIONS and event.status in t.sources and _guard(event, action) is None
    ]


def _apply(
    event: Event,
    action: str,
    user,
    *,
    at: dt.datetime | None = None,
    note: str = "",
    attachments: Sequence = (),
    on_behalf_of=None,
    values: dict | None = None,
    to: Area | Department | None = None,
    data: dict | None = None,
    review_at: dt.datetime | None = None,
    after: Callable[[Event, EventStep], None] | None = None,
) -> EventStep:
    t = TRANSITIONS[action]
    at = at or timezone.now()
    note = (note or "").strip()
    check(event, action)
    if t.needs_note and not note:
        raise _error(
            gettext("%(action_label)s须填写理由或说明 (%(action)s needs a reason or note)")
            % {"action_label": StepAction(action).label.split()[0], "action": action},
            "note_required",
        )
    acting = _acting(event, user, on_behalf_of, t.acts_for)
    if _authorizer is not None and action not in SYSTEM_ACTIONS:
        _authorizer(user, event, action, acting)
    checked = [attachment_files.validate_upload(f) for f in attachments]

    changes = dict(values or {})
    changes.setdefault("status", t.target or event.status)
    state = {
        name: changes.get(name, getattr(event, name))
        for name in ("due_at", "yellow_at", "yellow_card_at", "red_card_at")
    }
    if "next_sweep_at" not in changes:
        changes["next_sweep_at"] = next_sweep(changes["status"], review_at=review_at, **state)
    changes["updated_at"] = timezone.now()
    from_status = event.status

    # What the row holds if the swap succeeds: the version matched, and every write to an event
    # bumps its version, so the loaded state is the state being replaced.
    before = event._history_baseline()
    with _history_actor(user), transaction.atomic():
        # The plain manager: one UPDATE is the compare-and-swap. The change is logged below,
        # from the known before/after states, instead of re-reading the row to log it.
        claimed = Event._base_manager.filter(pk=event.pk, version=event.version, status=from_status).update(
            version=F("version") + 1, **changes
        )
        if claimed != 1:
            raise _error(
                gettext(
                    "事件已被他人处理或已发生变化，请刷新后重试 (the event changed meanwhile; reload and try again)"
                ),
                "concurrent",
                cls=ConcurrentChange,
            )
        _refresh(event, changes)
        changed = history.diff(before, event._loaded_state)
        if changed:
            history.log_change(
                event,
                ChangeAction.UPDATE,
                history.serialise(event, before),
                history.serialise(event, event._loaded_state, changed),
                f"{StepAction(action).label} {note}"[:500],
            )
        step = EventStep.objects.create(
            event=event,
            action=action,
            from_status=from_status,
            to_status=event.status,
            actor=user if getattr(user, "pk", None) else None,
            actor_name=acting.name[:150],
            actor_level=acting.level,
            actor_area=acting.area,
            actor_department=acting.department,
            to_area=to if isinstance(to, Area) else None,
            to_department=to if isinstance(to, Department) else None,
            time=at,
            note=note,
            data=data or {},
            channel=context.current().channel,
        )
        if after is not None:
            after(event, step)
        stored = []
        try:
            stored = attachment_files.store(event, step, checked, user)
            notify.on_step(event, step)
        except Exception:
            # The rows roll back with the transaction; the files on disk must go with them.
            for item in stored:
                item.file.delete(save=False)
            raise
    return step


# -- report ----------------------------------------------------------------------------------------
def report_event(
    *,
    category: EventCategory,
    title: str,
    location_area: Area | None = None,
    channel: str = EventChannel.GRID_WORKER,
    user=None,
    on_behalf_of: Area | Department | None = None,
    description: str = "",
    priority: str = Priority.NORMAL,
    house=None,
    address: str = "",
    lat=None,
    lng=None,
    reporter_person=None,
    contact_name: str = "",
    contact_phone: str = "",
    persons: Iterable = (),
    households: Iterable = (),
    attachments: Sequence = (),
    at: dt.datetime | None = None,
) -> Event:
    """上报: create a numbered event, routed to the level its category starts at."""
    at = at or timezone.now()
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = gettext("请填写标题 (a title is required)")
    if not category.active:
        errors["category"] = gettext("该类别已停用 (this category is no longer in use)")
    if location_area is None and house is not None:
        location_area = house.area
    if location_area is None:
        errors["location_area"] = gettext("请选择事件发生的区域 (choose where it happened)")
    elif house is not None and not house.area_path.startswith(location_area.path):
        errors["house"] = gettext("房屋不在所选区域内 (the house is not in the chosen area)")
    if channel not in EventChannel.values:
        errors["channel"] = gettext("未知的来源渠道 (unknown channel) %(channel)s") % {
            "channel": repr(channel)
        }
    if priority not in Priority.values:
        errors["priority"] = gettext("未知的紧急程度 (unknown priority) %(priority)s") % {
            "priority": repr(priority)
        }
    if (lat is not None and not -90 <= float(lat) <= 90) or (
        lng is not None and not -180 <= float(lng) <= 180
    ):
        errors["lat"] = gettext("经纬度超出范围 (latitude/longitude out of range)")
    if contact_phone:
        try:
            contact_phone = parse_phone(contact_phone)
        except ValidationError as exc:
            errors["contact_phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    checked = [attachment_files.validate_upload(f) for f in attachments]

    handler = route_on_report(category, location_area)
    with _history_actor(user), transaction.atomic():
        event = Event(
            number=next_number(at),
            channel=channel,
            category=category,
            priority=priority,
            title=title[:200],
            description=description,
            location_area=location_area,
            house=house,
            address=address or (house.address if house is not None else ""),
            lat=lat,
            lng=lng,
            reporter=user if getattr(user, "pk", None) else None,
            reporter_person=reporter_person,
            contact_name=contact_name or (reporter_person.name if reporter_person is not None else ""),
            contact_phone=contact_phone,
            status=S.REPORTED,
            reported_at=at,
            response_due_at=workcal.add_time(at, category.response_limit_value, category.response_limit_unit),
            onsite_due_at=(
                at + dt.timedelta(minutes=category.onsite_limit_minutes)
                if category.requires_onsite and category.onsite_limit_minutes
                else None
            ),
            **_handler_values(handler),
            **clock_values(category, priority, at),
        )
        event.next_sweep_at = next_sweep(event.status, event.due_at, event.yellow_at, None, None)
        event.save(change_note="上报 report")
        if persons:
            event.persons.set(persons)
        if households:
            event.households.set(households)
        acting = (
            _acting(event, user, on_behalf_of, "none")
            if on_behalf_of is not None
            else Acting(user, "", None, None)
        )
        step = EventStep.objects.create(
            event=event,
            action=A.REPORT,
            to_status=S.REPORTED,
            actor=user if getattr(user, "pk", None) else None,
            actor_name=(acting.name if user is not None else contact_name or "匿名 (anonymous)")[:150],
            actor_level=acting.level,
            actor_area=acting.area,
            actor_department=acting.department,
            to_area=handler,
            time=at,
            note=description[:2000],
            data={"channel": channel},
            channel=context.current().channel,
        )
        attachment_files.store(event, step, checked, user)
        notify.on_step(event, step)
    return event


# -- transitions -----------------------------------------------------------------------------------
def accept(event, user=None, *, note="", attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """受理/立案."""
    at = at or timezone.now()
    values = {"accepted_at": event.accepted_at or at, "responded_at": event.responded_at or at}
    return _apply(event, A.ACCEPT, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values)  # fmt: skip


def reject(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """不予立案, with the reason the reporter will see."""
    at = at or timezone.now()
    values = {"responded_at": event.responded_at or at, "reply": (note or "").strip()}
    return _apply(event, A.REJECT, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values)  # fmt: skip


def _check_dispatch_target(event: Event, to_area: Area | None, to_department: Department | None):
    if (to_area is None) == (to_department is None):
        raise _error(
            gettext(
                "请选择一个派遣对象：下级区域或职能部门 (choose one target: a child area or a department)"
            )
        )
    if event.department_id:
        raise _error(
            gettext(
                "职能部门不能再派遣，请签收办理或退回 (a department cannot dispatch further; handle or return it)"
            ),
        )
    if to_area is not None:
        if not (to_area.path.startswith(event.area.path) and to_area.path != event.area.path):
            raise _error(
                gettext("只能派遣给本级以下的区域 (an area can only dispatch to areas below it)"), "target"
            )
        return to_area
    if not to_department.active:
        raise _error(gettext("该职能部门已停用 (that department is no longer active)"), "target")
    serves_location = event.location_path.startswith(to_department.area_path)
    below_handler = to_department.area_path.startswith(event.area.path)
    if not (serves_location or below_handler):
        raise _error(
            gettext("该职能部门不负责事件所在区域 (that department does not serve the event's area)"),
            "target",
        )
    return to_department


def dispatch(event, user=None, *, to_area=None, to_department=None, note="", attachments=(), at=None,
             on_behalf_of=None) -> EventStep:  # fmt: skip
    """派遣 down to a child area or sideways to a department; the dispatcher's clock keeps running."""
    at = at or timezone.now()
    check(event, A.DISPATCH)
    target = _check_dispatch_target(event, to_area, to_department)
    values = {
        **_handler_values(target),
        **_sender_values(event),
        "dispatched_at": at,
        "locality_fallback": False,
    }
    return _apply(event, A.DISPATCH, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values, to=target)  # fmt: skip


def sign(event, user=None, *, note="", attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """签收: the dispatched unit takes the task on."""
    at = at or timezone.now()
    values = {"signed_at": at, "responded_at": event.responded_at or at}
    return _apply(event, A.SIGN, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values)  # fmt: skip


def return_event(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """退回 to whoever sent it (a dispatcher, or the level that escalated it), with the reason."""
    values = {}
    sender = event.sender_department or event.sender_area
    if sender is not None:
        values = {**_handler_values(sender), **_sender_values(event), "return_count": F("return_count") + 1}
    return _apply(event, A.RETURN, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values, to=sender)  # fmt: skip


def start(event, user=None, *, note="", attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """自行处置: the level that holds the event handles it itself."""
    at = at or timezone.now()
    return _apply(event, A.START, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values={"signed_at": event.signed_at or at})  # fmt: skip


def _escalation_values(event: Event, target, at: dt.datetime) -> dict:
    values = {
        **_handler_values(target),
        **_sender_values(event),
        **clock_values(event.category, event.priority, at),
        "escalation_count": F("escalation_count") + 1,
        "locality_fallback": False,
    }
    if isinstance(target, Department):
        values.update(status=S.DISPATCHED, dispatched_at=at)
    return values


def escalate(event, user=None, *, note="", attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """上报上级: pass the event one level up; the new level gets a fresh time limit."""
    at = at or timezone.now()
    target = escalation_target(event)
    values = _escalation_values(event, target, at) if target is not None else {}
    return _apply(event, A.ESCALATE, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values, to=target)  # fmt: skip


def fallback_to_locality(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """属地兜底: jurisdiction unclear, so the government of the place takes it and cannot return it."""
    at = at or timezone.now()
    target = locality_of(event)
    values = {
        **_handler_values(target),
        **_sender_values(event),
        "dispatched_at": at,
        "locality_fallback": True,
    }
    return _apply(event, A.LOCALITY, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values, to=target)  # fmt: skip


def request_extension(event, user=None, *, until: dt.datetime, note, attachments=(), at=None,
                      on_behalf_of=None) -> EventStep:  # fmt: skip
    """延期申请: the handler asks for a later deadline, with a reason."""
    at = at or timezone.now()
    check(event, A.REQUEST_EXTENSION)
    if (event.due_at is not None and until <= event.due_at) or until <= at:
        raise _error(
            gettext("申请的期限须晚于当前时限 (the requested deadline must be later than the current one)"),
            "until",
        )
    return _apply(event, A.REQUEST_EXTENSION, user, at=at, note=note, attachments=attachments,
                  on_behalf_of=on_behalf_of, values={"extension_until": until, "extension_reason": note.strip()},
                  data={"until": _iso(until), "due_before": _iso(event.due_at)})  # fmt: skip


def approve_extension(event, user=None, *, note="", until: dt.datetime | None = None, at=None,
                      on_behalf_of=None) -> EventStep:  # fmt: skip
    """延期批准: the deadline moves (to the requested date, or an earlier one the approver sets)."""
    at = at or timezone.now()
    new_due = until or event.extension_until
    values = {}
    if new_due is not None:
        _value, unit = event.category.limit_for(event.priority)
        start_at = event.clock_started_at or event.reported_at
        yellow = workcal.point_between(start_at, new_due, yellow_ratio(), unit)
        values = {
            "due_at": new_due,
            "yellow_at": yellow,
            "yellow_card_at": event.yellow_card_at if yellow <= at else None,
            "red_card_at": None,
            "extension_until": None,
            "extension_reason": "",
            "extension_count": F("extension_count") + 1,
        }
    return _apply(event, A.APPROVE_EXTENSION, user, at=at, note=note, on_behalf_of=on_behalf_of, values=values,
                  data={"due_before": _iso(event.due_at), "due_after": _iso(new_due)})  # fmt: skip


def deny_extension(event, user=None, *, note, at=None, on_behalf_of=None) -> EventStep:
    """延期驳回: the deadline stays."""
    return _apply(event, A.DENY_EXTENSION, user, at=at, note=note, on_behalf_of=on_behalf_of,
                  values={"extension_until": None, "extension_reason": ""})  # fmt: skip


def feed_back(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """反馈: the handler reports the result (the reply the resident sees); the locality checks it."""
    at = at or timezone.now()
    values = {}
    if event.status == S.HANDLING:
        resolved = (
            {"resolved_department": event.department, "resolved_area": None}
            if event.department_id
            else {"resolved_department": None, "resolved_area": event.area}
        )
        values = {
            **resolved,
            **_handler_values(verifier_of(event)),
            **_sender_values(event),
            "fed_back_at": at,
            "reply": (note or "").strip(),
            "was_overdue": event.was_overdue or (event.due_at is not None and at > event.due_at),
            "extension_until": None,
            "extension_reason": "",
        }
    return _apply(event, A.FEED_BACK, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values, to=values.get("area"))  # fmt: skip


def verify(event, user=None, *, note="", attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """核查通过."""
    at = at or timezone.now()
    return _apply(event, A.VERIFY, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values={"verified_at": at})  # fmt: skip


def rework(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """核查不通过 → 返工: back to the unit that fed back. The clock keeps running: a poor result buys no time."""
    values = {}
    back_to = event.resolved_department or event.resolved_area
    if back_to is not None:
        values = {**_handler_values(back_to), **_sender_values(event), "rework_count": F("rework_count") + 1}
    return _apply(event, A.REWORK, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values, to=back_to)  # fmt: skip


def close(event, user=None, *, note="", attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """结案. Handling time is written now, so averages are a plain aggregate later."""
    at = at or timezone.now()
    values = {
        "closed_at": at,
        "handling_seconds": max(int((at - event.reported_at).total_seconds()), 0),
        "handling_working_seconds": max(
            int(workcal.working_time_between(event.reported_at, at).total_seconds()), 0
        ),
    }
    return _apply(event, A.CLOSE, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=values)  # fmt: skip


def rate(event, user=None, *, satisfaction: int, note="", at=None, on_behalf_of=None) -> EventStep:
    """回访/评价: the reporter's (or the follow-up call's) satisfaction with the result."""
    at = at or timezone.now()
    check(event, A.RATE)
    if satisfaction not in Satisfaction.values:
        raise _error(
            gettext("请选择满意、基本满意或不满意 (choose satisfied, basically satisfied or dissatisfied)"),
            "rating",
        )
    return _apply(event, A.RATE, user, at=at, note=note, on_behalf_of=on_behalf_of,
                  values={"satisfaction": satisfaction, "rating_comment": (note or "").strip(), "rated_at": at},
                  data={"satisfaction": satisfaction})  # fmt: skip


def archive(event, user=None, *, note="", at=None, on_behalf_of=None) -> EventStep:
    """归档."""
    at = at or timezone.now()
    return _apply(
        event, A.ARCHIVE, user, at=at, note=note, on_behalf_of=on_behalf_of, values={"archived_at": at}
    )


def shelve(
    event, user=None, *, note, review_date: dt.date, attachments=(), at=None, on_behalf_of=None
) -> EventStep:
    """挂账: cannot be solved now; entered in the register with a reason and a review date.

    The clock stops; on the review date the sweep reminds the holder to review it.
    """
    at = at or timezone.now()
    check(event, A.SHELVE)
    if review_date is None or review_date <= timezone.localtime(at).date():
        raise _error(gettext("复核日期须晚于今天 (the review date must be after today)"), "review_date")
    previous = event.status

    def register(ev, step):
        ShelvedCase.objects.create(
            event=ev,
            reason=step.note,
            review_date=review_date,
            previous_status=previous,
            shelved_at=at,
            shelved_by=step.actor,
            area=ev.area,
            area_path=ev.area_path,
            department=ev.department,
        )

    return _apply(event, A.SHELVE, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  review_at=_review_moment(review_date), after=register,
                  data={"review_date": review_date.isoformat()})  # fmt: skip


def review_shelved(event, user=None, *, note, review_date: dt.date, at=None, on_behalf_of=None) -> EventStep:
    """挂账复核: still cannot be solved; set the next review date."""
    at = at or timezone.now()
    check(event, A.REVIEW_SHELVED)
    if review_date is None or review_date <= timezone.localtime(at).date():
        raise _error(gettext("复核日期须晚于今天 (the review date must be after today)"), "review_date")

    def update_register(ev, step):
        ShelvedCase.objects.filter(event=ev, resumed_at__isnull=True).update(
            review_date=review_date, review_count=F("review_count") + 1
        )

    return _apply(event, A.REVIEW_SHELVED, user, at=at, note=note, on_behalf_of=on_behalf_of,
                  review_at=_review_moment(review_date), after=update_register,
                  data={"review_date": review_date.isoformat()})  # fmt: skip


def resume(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """解除挂账, back to handling with a fresh time limit."""
    at = at or timezone.now()

    def close_register(ev, step):
        ShelvedCase.objects.filter(event=ev, resumed_at__isnull=True).update(
            resumed_at=at, resumed_by=step.actor, resume_note=step.note
        )

    return _apply(event, A.RESUME, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values=clock_values(event.category, event.priority, at), after=close_register)  # fmt: skip


def supervise(event, user=None, *, note, at=None, on_behalf_of=None) -> EventStep:
    """督办: a superior marks the event for supervision, with instructions."""
    at = at or timezone.now()
    return _apply(event, A.SUPERVISE, user, at=at, note=note, on_behalf_of=on_behalf_of,
                  values={"supervised": True, "supervised_at": event.supervised_at or at})  # fmt: skip


def expedite(event, user=None, *, note="", at=None, on_behalf_of=None) -> EventStep:
    """加急: the urgent limit applies from the start of the current clock, if it is shorter."""
    at = at or timezone.now()
    values = {"priority": Priority.URGENT}
    if event.status in CLOCK_STATES and event.priority != Priority.URGENT:
        start_at = event.clock_started_at or event.reported_at
        urgent = clock_values(event.category, Priority.URGENT, start_at)
        if event.due_at is None or urgent["due_at"] < event.due_at:
            values.update(
                due_at=urgent["due_at"],
                yellow_at=urgent["yellow_at"],
                yellow_card_at=event.yellow_card_at if urgent["yellow_at"] <= at else None,
            )
    return _apply(event, A.EXPEDITE, user, at=at, note=note, on_behalf_of=on_behalf_of, values=values)


def arrive(event, user=None, *, note="", attachments=(), at=None, lat=None, lng=None,
           on_behalf_of=None) -> EventStep:  # fmt: skip
    """到达现场 (三必到): the arrival time is measured against the category's on-site limit."""
    at = at or timezone.now()
    data = {"lat": str(lat), "lng": str(lng)} if lat is not None and lng is not None else {}
    if event.onsite_due_at is not None:
        data["in_time"] = at <= event.onsite_due_at
    return _apply(event, A.ARRIVE, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of,
                  values={"onsite_at": at}, data=data)  # fmt: skip


def add_note(event, user=None, *, note, attachments=(), at=None, on_behalf_of=None) -> EventStep:
    """补充说明: information or photos added to the timeline without moving the event."""
    return _apply(event, A.NOTE, user, at=at, note=note, attachments=attachments, on_behalf_of=on_behalf_of)


# -- used by the sweep -----------------------------------------------------------------------------
def auto_escalate(event, *, at: dt.datetime) -> EventStep:
    """超时自动上报: overdue, so one level up with a fresh limit; the red card stays on the record."""
    target = escalation_target(event)
    values = _escalation_values(event, target, at) if target is not None else {}
    values["was_overdue"] = True
    return _apply(event, A.AUTO_ESCALATE, None, at=at, values=values, to=target,
                  note="超过办理时限，自动上报上一级 (overdue: escalated automatically)",
                  data={"overdue_since": _iso(event.due_at)})  # fmt: skip


def red_card(event, *, at: dt.datetime) -> EventStep:
    """红牌 at the top of the ladder: nothing to escalate to, so the event is supervised (督办)."""
    values = {
        "red_card_at": at,
        "was_overdue": True,
        "supervised": True,
        "supervised_at": event.supervised_at or at,
    }
    return _apply(event, A.RED_CARD, None, at=at, values=values,
                  note="超过办理时限，红牌督办 (overdue: red card and supervision)",
                  data={"overdue_since": _iso(event.due_at)})  # fmt: skip


def yellow_card(event, *, at: dt.datetime) -> EventStep:
    """黄牌预警: most of the allowed time is used."""
    return _apply(event, A.YELLOW_CARD, None, at=at, values={"yellow_card_at": at},
                  note="即将超过办理时限 (due soon)", data={"due_at": _iso(event.due_at)})  # fmt: skip


def shelf_due(event, *, at: dt.datetime) -> EventStep:
    """挂账到期: remind the holder to review; the next reminder comes with the next review date."""
    return _apply(event, A.SHELF_DUE, None, at=at, values={"next_sweep_at": None},
                  note="挂账复核日期已到 (the review date has come)")  # fmt: skip


ACTIONS: dict[str, Callable] = {
    A.ACCEPT: accept,
    A.REJECT: reject,
    A.DISPATCH: dispatch,
    A.SIGN: sign,
    A.RETURN: return_event,
    A.START: start,
    A.ESCALATE: escalate,
    A.LOCALITY: fallback_to_locality,
    A.REQUEST_EXTENSION: request_extension,
    A.APPROVE_EXTENSION: approve_extension,
    A.DENY_EXTENSION: deny_extension,
    A.FEED_BACK: feed_back,
    A.VERIFY: verify,
    A.REWORK: rework,
    A.CLOSE: close,
    A.RATE: rate,
    A.ARCHIVE: archive,
    A.SHELVE: shelve,
    A.REVIEW_SHELVED: review_shelved,
    A.RESUME: resume,
    A.SUPERVISE: supervise,
    A.EXPEDITE: expedite,
    A.ARRIVE: arrive,
    A.NOTE: add_note,
}
"""User actions by name, for a view or API endpoint that receives the action as data."""


def perform(action: str, event: Event, user=None, **kwargs) -> EventStep:
    """Run a user action by name (``perform("accept", event, user, note=…)``)."""
    try:
        function = ACTIONS[action]
    except KeyError:
        raise _error(
            gettext("未知的操作 %(action)s (unknown action %(action2)s)")
            % {"action": action, "action2": repr(action)},
            "action",
        ) from None
    return function(event, user, **kwargs)
