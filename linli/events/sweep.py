"""The deadline sweep: yellow cards, red cards, automatic escalation, 挂账 review reminders.

Each event carries ``next_sweep_at``, the next moment anything can happen to it (its yellow
point, its deadline, or its shelf review date), kept by every transition. A round reads the due
events from that one index and hands each to a workflow transition, which writes with the
compare-and-swap on ``version``. Two sweep processes running at once may pick the same event;
the second one's ``UPDATE … WHERE version = n`` finds no row, so each event is escalated exactly
once (healthchecks' pattern for its alert loop).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.utils import timezone

from . import conf, workflow
from .choices import CLOCK_STATES, EventStatus
from .models import Event

logger = logging.getLogger("linli.events.sweep")


@dataclass
class SweepResult:
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    shelf_due: int = 0
    rescheduled: int = 0
    lost: int = 0  # claimed by another sweeper first
    escalated_ids: list[int] = field(default_factory=list)

    @property
    def acted(self) -> int:
        return self.yellow + self.red + self.escalated + self.shelf_due

    def __str__(self):
        return (
            f"黄牌 yellow {self.yellow}, 红牌 red {self.red}, 自动上报 escalated {self.escalated}, "
            f"挂账到期 shelf {self.shelf_due}, 让出 lost {self.lost}"
        )


def sweep_event(event: Event, now: dt.datetime) -> str:
    """Do what is due on one event; returns what was done. Raises ``ConcurrentChange`` on a lost race."""
    if event.status == EventStatus.SHELVED:
        workflow.shelf_due(event, at=now)
        return "shelf_due"
    if event.status in CLOCK_STATES and event.due_at is not None and event.due_at <= now:
        if event.red_card_at is None:
            if workflow.escalation_target(event) is not None:
                workflow.auto_escalate(event, at=now)
                return "escalated"
            workflow.red_card(event, at=now)
            return "red"
    elif (
        event.status in CLOCK_STATES
        and event.yellow_card_at is None
        and event.yellow_at is not None
        and event.yellow_at <= now
    ):
        workflow.yellow_card(event, at=now)
        return "yellow"
    # Nothing due after all (the event moved since the index was written): reschedule with the
    # same compare-and-swap, without a step.
    expected = workflow.next_sweep(
        event.status, event.due_at, event.yellow_at, event.yellow_card_at, event.red_card_at
    )
    if expected is not None and expected <= now:
        expected = None
    # Only the (unlogged) schedule column changes, so the plain manager is enough.
    claimed = Event._base_manager.filter(pk=event.pk, version=event.version).update(next_sweep_at=expected)
    if claimed != 1:
        raise workflow.ConcurrentChange("事件已变化 (the event changed meanwhile)", code="concurrent")
    return "rescheduled"


def sweep_once(now: dt.datetime | None = None, *, batch: int | None = None) -> SweepResult:
    """One round over every event whose ``next_sweep_at`` has come (at most ``batch`` of them)."""
    now = now or timezone.now()
    batch = batch or conf.get_int("LINLI_EVENT_SWEEP_BATCH")
    result = SweepResult()
    due = list(
        Event.objects.filter(next_sweep_at__lte=now)
        .order_by("next_sweep_at", "pk")
        .values_list("pk", "version")[:batch]
    )
    for pk, version in due:
        event = (
            Event.objects.select_related("category", "category__default_department", "area", "department")
            .filter(pk=pk, version=version)
            .first()
        )
        if event is None:
            result.lost += 1
            continue
        try:
            outcome = sweep_event(event, now)
        except workflow.ConcurrentChange:
            result.lost += 1
            continue
        if outcome == "escalated":
            result.escalated += 1
            result.escalated_ids.append(pk)
        elif outcome == "red":
            result.red += 1
        elif outcome == "yellow":
            result.yellow += 1
        elif outcome == "shelf_due":
            result.shelf_due += 1
        else:
            result.rescheduled += 1
    if result.acted or result.lost:
        logger.info("sweep: %s", result)
    return result
