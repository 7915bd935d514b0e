"""The demo generator plays realistic histories through the real workflow."""

import pytest

from linli.core.testing import make_person
from linli.events import metrics
from linli.events.demo import generate_events
from linli.events.models import Event, EventStep

from .conftest import at

pytestmark = pytest.mark.django_db


def test_generate_events(area_tree, categories):
    grids = area_tree["grids"]
    persons = [make_person(g, name=f"居民{i}", house=area_tree["houses"][i * 4]) for i, g in enumerate(grids)]
    now = at(2026, 11, 20, 18)
    events = generate_events(grids, persons, days=45, per_day=2, seed=7, now=now)
    assert len(events) > 60 and Event.objects.count() == len(events)
    statuses = set(Event.objects.values_list("status", flat=True))
    assert {"archived", "rated", "closed", "rejected"} <= statuses
    assert statuses & {"reported", "accepted", "dispatched", "handling"}
    assert EventStep.objects.filter(action="escalate").exists()
    assert EventStep.objects.filter(action="dispatch", to_department__isnull=False).exists()
    assert not EventStep.objects.filter(time__gt=now).exists()
    for event in Event.objects.all()[:60]:
        times = list(event.steps.values_list("time", flat=True))
        assert times == sorted(times) and times[0] == event.reported_at
    s = metrics.summary(as_of=now)
    for rate in ("response_rate", "closure_rate", "on_time_rate", "satisfaction_rate"):
        assert 0 < s[rate] < 1, rate
    assert s["avg_handling_hours"] > 0
    assert EventStep.objects.filter(event__in=events).values("channel").distinct().get()["channel"] == "demo"
