"""Who sees and who may act on which events (used by the pages, the portal and the API).

Area roles see the events their areas handle now or that happened in their areas; department
users (role ``department_handler``) see what was dispatched to their departments, not the whole
district their role is scoped to.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext

from linli.core import permissions
from linli.core.scope import paths_q

from .choices import StepAction
from .models import Department, Event, EventStep

DEPARTMENT_ROLE = "department_handler"
A = StepAction

# Actions taken by the unit that gave the task (the sender), not the current handler.
SENDER_ACTIONS = frozenset({A.APPROVE_EXTENSION, A.DENY_EXTENSION})
# Actions of a superior: 督办 and 加急.
SUPERVISOR_ACTIONS = frozenset({A.SUPERVISE, A.EXPEDITE})


def _collapse(paths) -> list[str]:
    collapsed: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(parent) for parent in collapsed):
            collapsed.append(path)
    return collapsed


def _grants(user, perm: str):
    return [g for g in permissions.grants(user) if g.allows(perm)]


def area_paths(user, action: str = "view") -> list[str]:
    perm = f"events.{action}_event"
    return _collapse(g.path for g in _grants(user, perm) if g.role_key != DEPARTMENT_ROLE)


def departments(user, action: str = "view"):
    """The active departments the user belongs to, within the scope of a department role."""
    paths = _collapse(
        g.path for g in _grants(user, f"events.{action}_event") if g.role_key == DEPARTMENT_ROLE
    )
    if not paths:
        return Department.objects.none()
    return Department.objects.filter(paths_q(paths, "area_path"), members=user, active=True)


def has_any(user, action: str = "view") -> bool:
    return permissions.has_any(user, f"events.{action}_event")


def require(user, action: str = "view") -> None:
    if not has_any(user, action):
        raise PermissionDenied(gettext("没有权限 (permission denied)"))


def visible_events(user, action: str = "view"):
    """Events the user may see (``view``) or handle (any other action: the current handler only)."""
    q = Q(pk__in=[])
    paths = area_paths(user, action)
    if paths:
        q |= paths_q(paths, "area_path")
        if action == "view":
            q |= paths_q(paths, "location_path")
    depts = list(departments(user, action))
    if depts:
        q |= Q(department__in=depts)
        if action == "view":
            q |= Q(pk__in=EventStep.objects.filter(to_department__in=depts).values("event_id"))
    return Event.objects.filter(q)


def _covers_unit(user, area, department, action: str) -> bool:
    if department is not None:
        return departments(user, action).filter(pk=department.pk).exists()
    if area is None:
        return False
    return permissions.covers(area_paths(user, action), area.path)


def may_act(user, event: Event, action: str) -> bool:
    """May ``user`` take workflow ``action`` on ``event`` now (as the unit that must act)?"""
    if action in SUPERVISOR_ACTIONS:
        return permissions.covers(area_paths(user, "supervise"), event.area_path)
    if action in SENDER_ACTIONS:
        return _covers_unit(user, event.sender_area, event.sender_department, "handle")
    handler_department = event.department if event.department_id else None
    return _covers_unit(user, None if handler_department else event.area, handler_department, "handle")


def authorize(user, event: Event, action: str) -> None:
    if not may_act(user, event, action):
        raise PermissionDenied(
            gettext("您不是该事件当前的办理单位，不能执行此操作 (not the unit that must act)")
        )


# Duplicate suggestions look back this far (a month-old report of the same problem is still news).
SIMILAR_DAYS = 30


def similar_events(user, event: Event):
    """Open events the user can see, of the same category at the same house or area (可能重复)."""
    return (
        visible_events(user)
        .similar_to(category=event.category, location_area=event.location_area, house=event.house,
                    since=event.reported_at - dt.timedelta(days=SIMILAR_DAYS), exclude=event)
        .order_by("-reported_at")
    )  # fmt: skip
