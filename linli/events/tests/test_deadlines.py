"""Time limits set at report: calendar hours, working hours, working days; 加急; 三必到."""

import pytest

from linli.events import workflow

from .conftest import at

pytestmark = pytest.mark.django_db


def test_working_days_limit_across_spring_festival(report):
    # 政策咨询: 3 working days; Fri 13 Feb 2026 → Sat 14 (调休), Tue 24, Wed 25.
    event = report("1504", when=at(2026, 2, 13, 10))
    assert event.due_at == at(2026, 2, 25, 17, 30)
    # 80 % of 26.5 working hours = 21.2 h: lands at 10:12 on the last day.
    assert event.yellow_at == at(2026, 2, 25, 10, 12)
    assert event.next_sweep_at == event.yellow_at


def test_complaint_thirteen_working_days(report):
    event = report("1601", when=at(2026, 9, 28, 9))
    assert event.due_at == at(2026, 10, 21, 17, 30)


def test_emergency_two_calendar_hours_even_after_office_hours(report):
    event = report("0404", when=at(2026, 11, 20, 17))  # Friday 17:00
    assert event.due_at == at(2026, 11, 20, 19)
    assert event.yellow_at == at(2026, 11, 20, 18, 36)
    assert event.response_due_at == at(2026, 11, 20, 17, 30)


def test_working_hours_limit_over_a_weekend(report):
    event = report("0102", when=at(2026, 11, 20, 16))  # 暴露垃圾: 4 working hours
    assert event.due_at == at(2026, 11, 23, 11)


def test_calendar_days_limit_ignores_holidays(report):
    event = report("1001", when=at(2026, 9, 30, 10))  # 家庭纠纷: 7 days
    assert event.due_at == at(2026, 10, 7, 10)


def test_urgent_priority_uses_the_shorter_limit(report):
    event = report("1504", when=at(2026, 2, 13, 10), priority="urgent")
    assert event.due_at == at(2026, 2, 14, 17, 30)  # 1 working day: the make-up Saturday


def test_expedite_shortens_the_running_clock(report, users):
    event = report("1504", when=at(2026, 2, 13, 10))
    workflow.expedite(event, users["community"], at=at(2026, 2, 13, 11))
    assert event.priority == "urgent"
    assert event.due_at == at(2026, 2, 14, 17, 30)
    with pytest.raises(workflow.TransitionError, match="already urgent"):
        workflow.expedite(event, users["community"])


def test_onsite_limit_and_arrival(report, users):
    event = report("1001", when=at(2026, 11, 20, 9))  # 家庭纠纷: on site within 15 minutes
    assert event.category.requires_onsite
    assert event.onsite_due_at == at(2026, 11, 20, 9, 15)
    step = workflow.arrive(event, users["grid"], at=at(2026, 11, 20, 9, 12), lat=30.55, lng=114.27)
    assert step.data["in_time"] is True
    assert event.onsite_in_time and event.onsite_minutes == 12
    with pytest.raises(workflow.TransitionError, match="already recorded"):
        workflow.arrive(event, users["grid"])

    late = report("1005", when=at(2026, 11, 20, 9))  # 重大矛盾纠纷: 15 minutes
    workflow.arrive(late, users["grid"], at=at(2026, 11, 20, 9, 40))
    assert late.onsite_in_time is False and late.onsite_minutes == 40


def test_escalation_gives_the_new_level_a_fresh_clock(report, users):
    event = report("1504", when=at(2026, 2, 13, 10))
    workflow.accept(event, users["community"], at=at(2026, 2, 13, 10, 30))
    workflow.escalate(event, users["community"], at=at(2026, 2, 24, 9), note="需街道协调")
    assert event.clock_started_at == at(2026, 2, 24, 9)
    assert event.due_at == at(2026, 2, 27, 17, 30)


def test_dispatch_keeps_the_dispatchers_clock(report, users, area_tree):
    event = report("1301", when=at(2026, 11, 20, 9))
    due = event.due_at
    workflow.accept(event, users["community"], at=at(2026, 11, 20, 9, 30))
    workflow.dispatch(event, users["community"], to_area=area_tree["grids"][0], at=at(2026, 11, 20, 10))
    assert event.due_at == due


def test_extension_moves_the_deadline(report, users):
    event = report("1301", when=at(2026, 11, 20, 9))
    workflow.accept(event, users["community"], at=at(2026, 11, 20, 9, 30))
    workflow.start(event, users["community"], at=at(2026, 11, 20, 10))
    until = at(2026, 12, 4, 17, 30)
    with pytest.raises(workflow.TransitionError, match="later than the current"):
        workflow.request_extension(event, users["community"], until=event.due_at, note="x")
    workflow.request_extension(
        event, users["community"], until=until, note="需协调物业公司", at=at(2026, 11, 24, 9)
    )
    assert event.extension_until == until and event.due_at != until
    with pytest.raises(workflow.TransitionError, match="already pending"):
        workflow.request_extension(event, users["community"], until=until, note="again")
    step = workflow.approve_extension(event, users["street"], note="同意", at=at(2026, 11, 24, 10))
    assert event.due_at == until and event.extension_until is None and event.extension_count == 1
    assert step.data["due_after"] == until.isoformat()
    assert event.yellow_at > at(2026, 11, 27, 17, 30)
    with pytest.raises(workflow.TransitionError, match="no extension request"):
        workflow.approve_extension(event, users["street"])


def test_extension_can_be_denied(report, users):
    event = report("1301", when=at(2026, 11, 20, 9))
    workflow.accept(event, users["community"], at=at(2026, 11, 20, 9, 30))
    workflow.start(event, users["community"], at=at(2026, 11, 20, 10))
    due = event.due_at
    workflow.request_extension(event, users["community"], until=at(2026, 12, 4, 17, 30), note="需协调")
    with pytest.raises(workflow.TransitionError, match="needs a reason"):
        workflow.deny_extension(event, users["street"], note="")
    workflow.deny_extension(event, users["street"], note="请按期办结")
    assert event.due_at == due and event.extension_until is None
