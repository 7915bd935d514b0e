"""Every transition allowed from its source states and refused from all others."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from linli.events import workflow
from linli.events.choices import EventStatus, StepAction
from linli.events.models import Event, EventStep, ShelvedCase

from .conftest import at

pytestmark = pytest.mark.django_db
S = EventStatus
T0 = at(2026, 11, 16, 9)  # a Monday


def _bring(event, status, users, area_tree):
    """Move a fresh event (reported to community 1-1) into ``status`` through real transitions."""
    c = users["community"]
    t = iter(T0 + dt.timedelta(minutes=10 * i) for i in range(1, 100))
    if status == S.REPORTED:
        return event
    if status == S.REJECTED:
        workflow.reject(event, c, note="不属于受理范围", at=next(t))
        return event
    workflow.accept(event, c, at=next(t))
    if status == S.ACCEPTED:
        return event
    if status in (S.DISPATCHED, S.RETURNED):
        workflow.dispatch(event, c, to_area=area_tree["grids"][0], at=next(t))
        if status == S.RETURNED:
            workflow.return_event(event, users["grid"], note="不属于本网格", at=next(t))
        return event
    workflow.start(event, c, at=next(t))
    if status == S.HANDLING:
        return event
    if status == S.SHELVED:
        workflow.shelve(event, c, note="需纳入旧改计划", review_date=dt.date(2027, 3, 1), at=next(t))
        return event
    workflow.feed_back(event, c, note="已清理", at=next(t))
    if status == S.FED_BACK:
        return event
    workflow.verify(event, c, at=next(t))
    if status == S.VERIFIED:
        return event
    workflow.close(event, c, at=next(t))
    if status == S.CLOSED:
        return event
    workflow.rate(event, users["resident"], satisfaction=3, at=next(t))
    if status == S.RATED:
        return event
    workflow.archive(event, c, at=next(t))
    return event


def _kwargs(action, area_tree):
    return {
        StepAction.REJECT: {"note": "理由"},
        StepAction.RETURN: {"note": "理由"},
        StepAction.DISPATCH: {"to_area": area_tree["grids"][0]},
        StepAction.LOCALITY: {"note": "职责不清"},
        StepAction.REQUEST_EXTENSION: {"until": at(2027, 1, 29, 17, 30), "note": "理由"},
        StepAction.DENY_EXTENSION: {"note": "理由"},
        StepAction.FEED_BACK: {"note": "已处置"},
        StepAction.REWORK: {"note": "仍有问题"},
        StepAction.RATE: {"satisfaction": 3},
        StepAction.SHELVE: {"note": "理由", "review_date": dt.date(2027, 3, 1)},
        StepAction.REVIEW_SHELVED: {"note": "理由", "review_date": dt.date(2027, 6, 1)},
        StepAction.RESUME: {"note": "条件具备"},
        StepAction.SUPERVISE: {"note": "请加快"},
        StepAction.NOTE: {"note": "补充情况"},
    }.get(action, {})


class _Undo(Exception):
    """Raised to roll a savepoint back after checking one allowed transition."""


@pytest.mark.parametrize("status", S.values)
def test_every_transition_is_allowed_only_from_its_sources(status, report, users, area_tree):
    """For one state: each action whose sources include it succeeds; every other one is refused."""
    from django.db import transaction

    event = _bring(report("1301", when=T0), status, users, area_tree)
    later = T0 + dt.timedelta(days=1)
    for action in workflow.ACTIONS:
        kwargs = _kwargs(action, area_tree)
        fresh = Event.objects.get(pk=event.pk)
        version = fresh.version
        if status not in workflow.TRANSITIONS[action].sources:
            with pytest.raises(workflow.TransitionError) as info:
                workflow.perform(action, fresh, users["community"], at=later, **kwargs)
            assert "(" in str(info.value) and "cannot" in str(info.value), action
            fresh.refresh_from_db()
            assert (fresh.status, fresh.version) == (status, version), action
            continue
        try:
            with transaction.atomic():
                if action in (StepAction.APPROVE_EXTENSION, StepAction.DENY_EXTENSION):
                    workflow.request_extension(fresh, users["community"], until=at(2027, 1, 29, 17, 30),
                                               note="理由", at=later)  # fmt: skip
                if action == StepAction.RETURN and status == S.REPORTED:
                    # Only an escalated report has someone to go back to.
                    workflow.escalate(fresh, users["community"], note="上报", at=later)
                before = fresh.version
                step = workflow.perform(action, fresh, users["community"], at=later, **kwargs)
                assert step.action == action and step.from_status == status, action
                assert fresh.version == before + 1, action
                assert fresh.status == (workflow.TRANSITIONS[action].target or step.from_status), action
                raise _Undo
        except _Undo:
            pass
    # Each allowed action was undone: the event is as it was.
    assert Event.objects.get(pk=event.pk).status == status


def test_the_whole_path_with_a_department(report, users, area_tree, department):
    grid, street = area_tree["grids"][0], area_tree["subdistricts"][0]
    event = report("1402", when=T0, contact_phone="13812345678")  # 楼道杂物: the grid handles it
    assert (event.status, event.handling_level, event.area) == (S.REPORTED, "grid", grid)
    assert event.number.startswith("SJ20261116-") and event.contact_phone_masked == "138****5678"
    workflow.accept(event, users["grid"], at=at(2026, 11, 16, 9, 10))
    workflow.escalate(event, users["grid"], note="网格无法解决", at=at(2026, 11, 16, 10))
    assert (event.status, event.handling_level, event.sender_area) == (S.REPORTED, "community", grid)
    workflow.accept(event, users["community"], at=at(2026, 11, 16, 10, 30))
    workflow.escalate(event, users["community"], note="需街道协调", at=at(2026, 11, 16, 11))
    workflow.accept(event, users["street"], at=at(2026, 11, 16, 11, 30))
    workflow.dispatch(event, users["street"], to_department=department, at=at(2026, 11, 16, 12))
    assert (event.status, event.handling_level, event.department) == (S.DISPATCHED, "department", department)
    assert event.sender_area == street and event.area == area_tree["district"]
    workflow.sign(event, users["dept"], at=at(2026, 11, 16, 14))
    workflow.feed_back(event, users["dept"], note="已清理楼道", at=at(2026, 11, 17, 10))
    assert event.area == area_tree["communities"][0] and event.resolved_department == department
    workflow.rework(event, users["community"], note="现场仍有杂物", at=at(2026, 11, 17, 15))
    assert (event.status, event.department, event.rework_count) == (S.HANDLING, department, 1)
    workflow.feed_back(event, users["dept"], note="已彻底清理", at=at(2026, 11, 18, 10))
    workflow.verify(event, users["community"], at=at(2026, 11, 18, 11))
    workflow.close(event, users["community"], at=at(2026, 11, 18, 12))
    assert event.handling_seconds == 2 * 86400 + 3 * 3600
    workflow.rate(event, users["resident"], satisfaction=3, note="很满意", at=at(2026, 11, 19, 9))
    workflow.archive(event, users["community"], at=at(2026, 11, 25, 9))
    assert event.status == S.ARCHIVED and event.reply == "已彻底清理" and event.satisfaction == 3

    steps = list(event.steps.all())
    assert [s.action for s in steps] == [
        "report", "accept", "escalate", "accept", "escalate", "accept", "dispatch", "sign", "feed_back",
        "rework", "feed_back", "verify", "close", "rate", "archive",
    ]  # fmt: skip
    dispatch = steps[6]
    assert (dispatch.actor, dispatch.actor_level, dispatch.actor_area) == (
        users["street"],
        "subdistrict",
        street,
    )
    assert dispatch.to_department == department
    sign = steps[7]
    assert (sign.actor_level, sign.actor_department, sign.actor_area) == ("department", department, None)
    assert steps[13].actor == users["resident"] and steps[13].actor_level == ""
    assert [s.time for s in steps] == sorted(s.time for s in steps)


def test_reasons_are_required_where_the_spec_says(report, users, area_tree):
    event = report("1301", when=T0)
    with pytest.raises(workflow.TransitionError, match="needs a reason"):
        workflow.reject(event, users["community"], note="  ")
    workflow.accept(event, users["community"])
    with pytest.raises(workflow.TransitionError, match="needs a reason"):
        workflow.shelve(event, users["community"], note="", review_date=dt.date(2027, 1, 1))
    workflow.dispatch(event, users["community"], to_area=area_tree["grids"][1])
    with pytest.raises(workflow.TransitionError, match="needs a reason"):
        workflow.return_event(event, users["grid"], note="")
    workflow.sign(event, users["grid"])
    with pytest.raises(workflow.TransitionError, match="needs a reason"):
        workflow.feed_back(event, users["grid"], note="")


def test_reject_only_before_acceptance_and_return_only_to_a_sender(report, users, area_tree):
    event = report("1301", when=T0)
    with pytest.raises(workflow.TransitionError, match="new report cannot be returned"):
        workflow.return_event(event, users["community"], note="不归我管")
    workflow.accept(event, users["community"])
    workflow.escalate(event, users["community"], note="需街道协调")
    with pytest.raises(workflow.TransitionError, match="cannot be rejected"):
        workflow.reject(event, users["street"], note="不予立案")
    # The sub-district sends it back down to the community that escalated it.
    workflow.return_event(event, users["street"], note="请社区先行处置")
    assert (event.status, event.area, event.return_count) == (S.RETURNED, area_tree["communities"][0], 1)
    workflow.start(event, users["community"])
    assert event.status == S.HANDLING


def test_escalation_ladder_up_to_the_department(report, users, area_tree, department, categories):
    category = categories["1402"]
    category.default_department = department
    category.save()
    event = report("1402", when=T0)
    levels = [event.handling_level]
    for _ in range(4):
        workflow.escalate(event, users["platform"], note="上报")
        levels.append(event.handling_level)
    assert levels == ["grid", "community", "subdistrict", "district", "department"]
    assert event.status == S.DISPATCHED and event.escalation_count == 4
    workflow.sign(event, users["dept"])
    with pytest.raises(workflow.TransitionError, match="already at the top"):
        workflow.escalate(event, users["dept"], note="再上报")


def test_district_without_a_default_department_must_dispatch(report, users, area_tree):
    event = report("0301", when=T0)  # 施工扰民: departments' business, so the district platform receives it
    assert event.handling_level == "district" and event.area == area_tree["district"]
    assert StepAction.ESCALATE not in workflow.allowed_actions(event)
    with pytest.raises(workflow.TransitionError, match="already at the top"):
        workflow.escalate(event, users["platform"], note="上报")


def test_dispatch_targets_are_checked(report, users, area_tree, department):
    from linli.events.models import Department

    event = report("1301", when=T0)
    workflow.accept(event, users["community"])
    with pytest.raises(workflow.TransitionError, match="areas below it"):
        workflow.dispatch(
            event, users["community"], to_area=area_tree["grids"][2]
        )  # another community's grid
    with pytest.raises(workflow.TransitionError, match="choose one target"):
        workflow.dispatch(event, users["community"])
    elsewhere = Department(code="X", name="第2街道城管中队", area=area_tree["subdistricts"][1])
    elsewhere.save()
    with pytest.raises(workflow.TransitionError, match="does not serve"):
        workflow.dispatch(event, users["community"], to_department=elsewhere)
    workflow.dispatch(
        event, users["community"], to_department=department
    )  # the district's department serves here
    assert event.department == department and event.handling_level == "department"


def test_locality_fallback_cannot_be_returned(report, users, area_tree, department):
    event = report("0301", when=T0)
    workflow.accept(event, users["platform"])
    workflow.dispatch(event, users["platform"], to_department=department)
    workflow.return_event(event, users["dept"], note="不属于城管职责")
    assert event.status == S.RETURNED and event.area == area_tree["district"] and event.department is None
    workflow.fallback_to_locality(event, users["platform"], note="职责不清，属地兜底")
    assert event.area == area_tree["subdistricts"][0] and event.locality_fallback
    assert event.status == S.DISPATCHED
    with pytest.raises(workflow.TransitionError, match="cannot be returned"):
        workflow.return_event(event, users["street"], note="也不归我们")
    workflow.sign(event, users["street"])
    assert event.status == S.HANDLING


def test_shelved_register(report, users):
    event = report("1301", when=T0)
    workflow.accept(event, users["community"], at=at(2026, 11, 16, 10))
    with pytest.raises(workflow.TransitionError, match="review date"):
        workflow.shelve(
            event, users["community"], note="x", review_date=dt.date(2026, 11, 16), at=at(2026, 11, 16, 11)
        )
    workflow.shelve(event, users["community"], note="需纳入老旧小区改造", review_date=dt.date(2027, 3, 1),
                    at=at(2026, 11, 16, 11))  # fmt: skip
    entry = ShelvedCase.objects.get(event=event)
    assert (entry.reason, entry.review_date, entry.previous_status) == (
        "需纳入老旧小区改造",
        dt.date(2027, 3, 1),
        "accepted",
    )
    assert event.status == S.SHELVED and event.next_sweep_at == at(2027, 3, 1, 8, 30)
    workflow.review_shelved(event, users["community"], note="资金未落实", review_date=dt.date(2027, 6, 1),
                            at=at(2027, 3, 1, 9))  # fmt: skip
    entry.refresh_from_db()
    assert entry.review_date == dt.date(2027, 6, 1) and entry.review_count == 1
    workflow.resume(event, users["community"], note="改造项目已立项", at=at(2027, 5, 10, 9))
    entry.refresh_from_db()
    assert entry.resumed_at == at(2027, 5, 10, 9) and event.status == S.HANDLING
    assert event.clock_started_at == at(2027, 5, 10, 9)


def test_two_users_cannot_both_act_on_the_same_version(report, users):
    event = report("1301", when=T0)
    stale = Event.objects.get(pk=event.pk)
    workflow.accept(event, users["community"])
    with pytest.raises(workflow.ConcurrentChange, match="changed meanwhile"):
        workflow.reject(stale, users["community"], note="重复")
    # A stale copy whose status matches but whose version does not is refused too.
    stale.status = S.ACCEPTED
    with pytest.raises(workflow.ConcurrentChange):
        workflow.start(stale, users["community"])
    assert list(event.steps.values_list("action", flat=True)) == ["report", "accept"]


def test_authorizer_hook_is_asked_before_every_user_transition(report, users):
    asked = []

    def check(user, event, action, acting):
        asked.append((user.username, action, acting.level))
        if user.username == "resident":
            raise PermissionDenied("无权操作 (not allowed)")

    workflow.set_authorizer(check)
    try:
        event = report("1301", when=T0)
        with pytest.raises(PermissionDenied):
            workflow.accept(event, users["resident"])
        workflow.accept(event, users["community"])
    finally:
        workflow.set_authorizer(None)
    assert asked == [("resident", "accept", "community"), ("community", "accept", "community")]
    assert event.steps.count() == 2


def test_steps_are_append_only(report, users):
    event = report("1301", when=T0)
    step = event.steps.get()
    step.note = "改写"
    with pytest.raises(PermissionDenied):
        step.save()
    with pytest.raises(PermissionDenied):
        EventStep.objects.filter(pk=step.pk).update(note="改写")
    with pytest.raises(PermissionDenied):
        step.delete()
    with pytest.raises(PermissionDenied):
        event.delete()


def test_transitions_are_in_the_change_history(report, users):
    from linli.core.history import history_of

    event = report("1301", when=T0)
    workflow.accept(event, users["community"])
    changes = list(history_of(event).order_by("time", "id"))
    assert [c.action for c in changes] == ["create", "update"]
    assert changes[1].user == users["community"]
    assert changes[1].prechange["status"] == "reported" and changes[1].postchange["status"] == "accepted"


def test_allowed_actions_lists_the_buttons(report, users):
    event = report("1301", when=T0)
    assert set(workflow.allowed_actions(event)) >= {"accept", "reject", "escalate", "supervise", "note"}
    assert "return" not in workflow.allowed_actions(event)
    workflow.accept(event, users["community"])
    assert "reject" not in workflow.allowed_actions(event)


def test_report_validation(categories, area_tree, users):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        workflow.report_event(category=categories["1301"], title="", location_area=None, contact_phone="123")
    assert set(info.value.message_dict) == {"title", "location_area", "contact_phone"}
    house = area_tree["houses"][0]
    event = workflow.report_event(category=categories["1301"], title="电梯异响", house=house, user=users["resident"],
                                  channel="portal")  # fmt: skip
    assert event.location_area == house.area and event.address == house.address


def test_descriptive_fields_can_be_corrected_but_not_the_workflow(report, users):
    event = report("1301", when=T0, contact_phone="13812345678")
    stale = Event.objects.get(pk=event.pk)
    event.title = "电梯异响（更正）"
    event.contact_phone = "13987654321"
    event.save()
    event.refresh_from_db()
    assert (
        event.title == "电梯异响（更正）"
        and event.contact_phone_masked == "139****4321"
        and event.version == 2
    )
    event.status = S.CLOSED
    with pytest.raises(PermissionDenied, match="workflow"):
        event.save()
    # A form opened before the correction cannot write its old values back.
    stale.description = "旧表单"
    with pytest.raises(PermissionDenied, match="changed meanwhile"):
        stale.save()
    # And a transition on the stale copy is refused as well.
    with pytest.raises(workflow.ConcurrentChange):
        workflow.accept(stale, users["community"])
