"""Who must act after a step, and telling them: in-app notifications, SMS to phone reporters.

Called by the workflow inside the transition's transaction, so a notification exists exactly
when its step does. SMS go out after commit (a rolled-back transition sends nothing).

Recipients of an *area* come from a pluggable resolver (``LINLI_EVENT_RECIPIENTS``, a dotted path
to ``f(area) -> iterable of users``). The default asks the role assignments of
:mod:`linli.accounts` for users assigned to exactly that area with a role that may handle events;
recipients of a *department* are its members.
"""

import datetime as dt
from fnmatch import fnmatchcase
from functools import cache

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from linli.core import context

from . import conf, messaging
from .choices import StepAction
from .models import Notification

HANDLE_PERMISSION = "events.handle_event"

# Messages to whoever must act now (the current handler after the step).
HANDLER_MESSAGES = {
    StepAction.REPORT: ("新事件待受理", "new event awaits acceptance"),
    StepAction.ESCALATE: ("事件已上报至本级，待受理", "escalated to you, awaits acceptance"),
    StepAction.AUTO_ESCALATE: ("事件超时自动上报至本级，待受理", "overdue and escalated to you"),
    StepAction.DISPATCH: ("事件已派遣，请签收", "dispatched to you, please sign"),
    StepAction.LOCALITY: ("属地兜底事件，请签收办理", "assigned to the locality, please sign"),
    StepAction.RETURN: ("事件被退回", "returned to you"),
    StepAction.RESUME: ("挂账事件已恢复办理", "shelved event resumed"),
    StepAction.REWORK: ("核查未通过，请返工", "failed the check, rework needed"),
    StepAction.APPROVE_EXTENSION: ("延期申请已批准", "extension approved"),
    StepAction.DENY_EXTENSION: ("延期申请被驳回", "extension denied"),
    StepAction.SUPERVISE: ("事件被督办", "under supervision"),
    StepAction.EXPEDITE: ("事件已加急", "expedited"),
    StepAction.YELLOW_CARD: ("事件即将超期（黄牌预警）", "due soon"),
    StepAction.RED_CARD: ("事件已超期（红牌）", "overdue"),
    StepAction.SHELF_DUE: ("挂账事件到期，请复核", "shelved event due for review"),
    StepAction.FEED_BACK: ("事件已反馈，请核查", "fed back, please verify"),
}
# Messages to the reporter (resident or worker who reported).
REPORTER_MESSAGES = {
    StepAction.ACCEPT: ("您反映的事件已受理", "your report was accepted"),
    StepAction.REJECT: ("您反映的事件不予立案", "your report was not accepted"),
    StepAction.FEED_BACK: ("您反映的事件已办理", "your report was handled"),
    StepAction.CLOSE: ("您反映的事件已办结，欢迎评价", "closed, please rate the result"),
}


def default_area_recipients(area):
    """Users assigned to exactly ``area`` with a role that may handle events."""
    try:
        from linli.accounts.models import RoleAssignment
    except ImportError:  # the role framework is not installed: nobody to tell
        return []
    rows = RoleAssignment.objects.filter(
        area_path=area.path, active=True, role__active=True, user__is_active=True
    ).select_related("role", "user")
    return [
        row.user
        for row in rows
        if any(fnmatchcase(HANDLE_PERMISSION, pattern) for pattern in (row.role.permissions or []))
    ]


@cache
def _area_resolver():
    return import_string(conf.get("LINLI_EVENT_RECIPIENTS"))


def handler_users(area=None, department=None) -> list:
    if department is not None:
        return list(department.members.filter(is_active=True))
    if area is not None:
        return list(_area_resolver()(area))
    return []


def _text(event, zh: str, en: str, note: str = "") -> str:
    detail = f"：{note}" if note else ""
    return f"事件 {event.number}「{event.title[:40]}」{zh}{detail} ({en})"[:300]


# Demo histories replay months of steps; only the recent ones belong in anybody's inbox.
DEMO_INBOX_DAYS = 7


def on_step(event, step) -> list[Notification]:
    """Create the notifications a step calls for; returns them."""
    if context.current().channel == context.Channel.DEMO and step.time < timezone.now() - dt.timedelta(
        days=DEMO_INBOX_DAYS
    ):
        return []
    notes: list[Notification] = []
    actor_id = step.actor_id

    def add(users, zh, en, note=""):
        seen = {n.user_id for n in notes}
        for user in users:
            if user.pk == actor_id or user.pk in seen:
                continue
            seen.add(user.pk)
            notes.append(
                Notification(
                    user=user,
                    event=event,
                    step=step,
                    kind=step.action,
                    message=_text(event, zh, en, note),
                    created_at=step.time,
                )
            )

    action = step.action
    if action in HANDLER_MESSAGES:
        zh, en = HANDLER_MESSAGES[action]
        note = step.note if action in {StepAction.RETURN, StepAction.REWORK, StepAction.SUPERVISE} else ""
        add(
            handler_users(event.area if not event.department_id else None, event.department),
            zh,
            en,
            note[:80],
        )
    if action == StepAction.REQUEST_EXTENSION:
        # The unit that gave the task approves; without one, the level above.
        if event.sender_department_id or event.sender_area_id:
            approvers = handler_users(event.sender_area, event.sender_department)
        else:
            from linli.areas.models import Area

            parent = Area.objects.get_parent(event.area) if event.area.depth > 1 else None
            approvers = handler_users(parent) if parent is not None else []
        add(approvers, "申请延期，请审批", "extension requested, please decide", step.note[:80])
    if action in REPORTER_MESSAGES and event.reporter_id:
        zh, en = REPORTER_MESSAGES[action]
        add(
            [event.reporter],
            zh,
            en,
            (step.note if action in {StepAction.REJECT, StepAction.FEED_BACK} else "")[:80],
        )
    if notes:
        Notification.objects.bulk_create(notes)
    if (
        action in REPORTER_MESSAGES
        and event.contact_phone
        and context.current().channel != context.Channel.DEMO
    ):
        zh, _en = REPORTER_MESSAGES[action]
        text = f"【邻里】您反映的事件 {event.number}{zh[len('您反映的事件') :]}。"
        phone = event.contact_phone
        transaction.on_commit(lambda: messaging.send_sms(phone, text))
    return notes
