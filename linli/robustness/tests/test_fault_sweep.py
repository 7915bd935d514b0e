"""Faults (b): the SLA sweep (``linli sweep``) SIGKILLed in the middle of a round.

Each escalation is its own transaction with a compare-and-swap on the event's version, so a kill
leaves every event either escalated once (step, history and new level together) or untouched;
the next sweep finishes the rest and escalates nothing twice.
"""

import datetime as dt
import random
from collections import Counter

import pytest
from django.utils import timezone

from linli import robustness

from .helpers import kill, linli, wait_for

EVENTS = robustness.scale(60, 1500)
KILLS = robustness.scale(1, 4)


def escalations() -> Counter:
    from linli.events.models import EventStep

    return Counter(EventStep.objects.filter(action="auto_escalate").values_list("event_id", flat=True))


def assert_consistent(event_ids):
    from linli.events.models import Event

    steps = escalations()
    assert max(steps.values(), default=0) <= 1, "an event was escalated twice"
    for pk, count, level in Event.objects.filter(pk__in=event_ids).values_list("pk", "escalation_count",
                                                                                "handling_level"):  # fmt: skip
        assert count == steps.get(pk, 0), (
            f"event {pk}: {count} escalations recorded, {steps.get(pk, 0)} steps"
        )
        assert level == ("subdistrict" if count else "community"), f"event {pk} is at {level} after {count}"


@pytest.mark.django_db(transaction=True)
def test_sweep_killed_mid_round(area_tree):
    from linli.events import workflow
    from linli.events.loader import load_categories
    from linli.events.models import EventCategory

    load_categories()
    category = EventCategory.objects.get(code="0102")  # 暴露垃圾: 4 working hours, starts at the community
    grid = area_tree["grids"][0]
    reported = timezone.now() - dt.timedelta(days=20)
    ids = [
        workflow.report_event(category=category, title=f"超时{i}", location_area=grid, at=reported).pk
        for i in range(EVENTS)
    ]
    assert not escalations()
    rng = random.Random(robustness.MODE)  # noqa: S311 - kill points, reproducible per mode
    interrupted = 0
    for _ in range(KILLS):
        done = sum(escalations().values())
        if done >= EVENTS:
            break
        at_least = done + rng.randint(1, max(1, (EVENTS - done) // 2))
        sweeper = linli("sweep", "--once")
        try:
            wait_for(lambda n=at_least, p=sweeper: sum(escalations().values()) >= n or p.poll() is not None,
                     timeout=120, what=f"{at_least} escalations")  # fmt: skip
            interrupted += sweeper.poll() is None
        finally:
            kill(sweeper)
        robustness.tally("faults", "sweep SIGKILL mid-round")
        assert_consistent(ids)
    assert interrupted, "no sweep was killed mid-round (the rounds ended first)"
    remaining = EVENTS - sum(escalations().values())
    assert remaining > 0, "the killed sweeps left nothing for the next one"
    for _ in range(10):  # a round takes at most LINLI_EVENT_SWEEP_BATCH events
        final = linli("sweep", "--once")
        output, _ = final.communicate(timeout=300)
        assert final.returncode == 0, output[-2000:]
        if sum(escalations().values()) == EVENTS:
            break
    assert_consistent(ids)
    steps = escalations()
    assert set(steps) == set(ids) and set(steps.values()) == {1}, "every due event escalated exactly once"
    robustness.tally("records lost", "sweep escalations", EVENTS - len(steps))
