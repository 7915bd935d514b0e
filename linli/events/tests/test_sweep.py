"""Yellow and red cards, automatic escalation, and two sweepers at once."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command

from linli.events import sweep as sweep_module
from linli.events import workflow
from linli.events.models import Event, EventStep
from linli.events.sweep import sweep_once

from .conftest import at, run_in_threads

pytestmark = pytest.mark.django_db


def test_yellow_card_then_escalation_at_the_deadline(report, users, area_tree):
    # 暴露垃圾 (4 working hours) reported Friday 16:00: yellow Monday 10:12, due Monday 11:00.
    event = report("0102", when=at(2026, 11, 20, 16))
    assert sweep_once(at(2026, 11, 23, 10)).acted == 0
    result = sweep_once(at(2026, 11, 23, 10, 30))
    assert result.yellow == 1 and result.escalated == 0
    event.refresh_from_db()
    assert (
        event.yellow_card_at == at(2026, 11, 23, 10, 30) and event.card(at(2026, 11, 23, 10, 30)) == "yellow"
    )
    assert event.next_sweep_at == event.due_at
    assert sweep_once(at(2026, 11, 23, 10, 45)).acted == 0

    result = sweep_once(at(2026, 11, 23, 11, 5))
    assert result.escalated == 1
    event.refresh_from_db()
    assert event.handling_level == "subdistrict" and event.area == area_tree["subdistricts"][0]
    assert event.status == "reported" and event.escalation_count == 1 and event.was_overdue
    assert event.sender_area == area_tree["communities"][0]
    # A fresh clock for the sub-district: 4 working hours from 11:05 → 17:05.
    assert event.due_at == at(2026, 11, 23, 17, 5) and event.yellow_card_at is None
    step = event.steps.get(action="auto_escalate")
    assert (
        step.actor is None
        and step.actor_name.startswith("系统")
        and step.to_area == area_tree["subdistricts"][0]
    )
    assert step.data["overdue_since"].startswith("2026-11-23T11:00")
    assert sweep_once(at(2026, 11, 23, 11, 6)).acted == 0


def test_overdue_events_climb_the_ladder_then_get_a_red_card(report, categories):
    event = report("0404", when=at(2026, 11, 20, 17))  # 道路积水: 2 hours, starts at the sub-district
    assert event.handling_level == "subdistrict"
    sweep_once(at(2026, 11, 20, 19, 1))
    event.refresh_from_db()
    assert event.handling_level == "district" and event.due_at == at(2026, 11, 20, 21, 1)
    result = sweep_once(at(2026, 11, 20, 21, 2))  # the district has no default department: red card
    assert result.red == 1
    event.refresh_from_db()
    assert event.red_card_at == at(2026, 11, 20, 21, 2) and event.supervised and event.next_sweep_at is None
    assert event.card(at(2026, 11, 20, 22)) == "red"
    assert sweep_once(at(2026, 11, 21, 9)).acted == 0  # nothing more to do until someone acts
    # The sweep did not run before the deadline, so no yellow card: straight to escalation.
    assert list(event.steps.values_list("action", flat=True)) == ["report", "auto_escalate", "red_card"]


def test_escalation_from_the_district_goes_to_the_default_department(report, categories, department):
    category = categories["0404"]
    category.default_department = department
    category.save()
    event = report("0404", when=at(2026, 11, 20, 17))
    sweep_once(at(2026, 11, 20, 19, 1))
    sweep_once(at(2026, 11, 20, 21, 2))
    event.refresh_from_db()
    assert (event.status, event.department, event.escalation_count) == ("dispatched", department, 2)
    sweep_once(at(2026, 11, 20, 23, 3))
    event.refresh_from_db()
    assert event.red_card_at is not None and event.department == department


def test_the_sweep_leaves_finished_and_moving_events_alone(report, users):
    event = report("0102", when=at(2026, 11, 20, 16))
    workflow.accept(event, users["community"], at=at(2026, 11, 20, 16, 10))
    workflow.start(event, users["community"], at=at(2026, 11, 20, 16, 20))
    workflow.feed_back(event, users["community"], note="已清理", at=at(2026, 11, 23, 9))
    assert event.next_sweep_at is None
    assert sweep_once(at(2026, 12, 31, 9)).acted == 0


def test_shelved_events_come_back_for_review(report, users):
    event = report("1301", when=at(2026, 11, 16, 9))
    workflow.accept(event, users["community"], at=at(2026, 11, 16, 10))
    workflow.shelve(event, users["community"], note="需纳入改造计划", review_date=dt.date(2027, 3, 1),
                    at=at(2026, 11, 16, 11))  # fmt: skip
    assert sweep_once(at(2027, 2, 28, 9)).acted == 0  # the clock is stopped while shelved
    assert sweep_once(at(2027, 3, 1, 9)).shelf_due == 1
    event.refresh_from_db()
    assert event.status == "shelved" and event.next_sweep_at is None
    assert sweep_once(at(2027, 3, 2, 9)).acted == 0


def test_stale_schedules_are_rescheduled_without_a_step(report, users):
    event = report("1301", when=at(2026, 11, 16, 9))
    Event.objects.filter(pk=event.pk).update(next_sweep_at=at(2026, 11, 16, 10))
    result = sweep_once(at(2026, 11, 16, 10, 30))
    assert result.rescheduled == 1 and result.acted == 0
    event.refresh_from_db()
    assert event.next_sweep_at == event.yellow_at and event.steps.count() == 1


def test_sweep_command_runs_one_round(report, capsys):
    report("0404", when=at(2026, 11, 20, 17))
    call_command("sweep", "--once")
    assert "自动上报 escalated 1" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_at_once_escalate_each_event_exactly_once(report, monkeypatch):
    """Four sweepers read the same due events, wait for each other, then all try every event.

    Each event must be escalated once: the compare-and-swap on ``version`` lets exactly one
    sweeper through per event; the others find the row changed and count it as lost. The
    barrier makes the overlap certain, so the test means the same on SQLite (writers queue on
    the database lock) and on PostgreSQL (writers block on the row lock).
    """
    events = [report("0102", when=at(2026, 11, 20, 16), title=f"暴露垃圾{i}") for i in range(12)]
    now = at(2026, 11, 23, 11, 30)
    sweepers = 4
    barrier = threading.Barrier(sweepers)
    real = sweep_module.sweep_event
    waited = set()

    def sweep_event(event, moment):
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait(30)  # everyone has read the same candidate list before anyone writes
        return real(event, moment)

    monkeypatch.setattr(sweep_module, "sweep_event", sweep_event)
    results = run_in_threads(lambda i: sweep_once(now), sweepers)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert sum(r.escalated for r in results) == len(events)
    assert sum(r.lost for r in results) == (sweepers - 1) * len(events)
    for event in events:
        event.refresh_from_db()
        assert event.escalation_count == 1 and event.handling_level == "subdistrict"
        assert EventStep.objects.filter(event=event, action="auto_escalate").count() == 1
