"""Grid work rules: assignments and load, visits, frequency rules and coverage, diary grading,
patrols and the duty roster (SPEC §3, issue 5)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from linli.core.history import history_of
from linli.core.testing import make_person, make_user
from linli.events.models import Event, EventCategory
from linli.grid import services
from linli.grid.models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit, VisitPhoto
from linli.registry import services as registry
from linli.registry.models import GroupMembership, GroupType

TODAY = dt.date.today()
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def household(grid, number, *, head_birth=dt.date(1980, 5, 17), **head_fields):
    head = make_person(grid, name=f"户主{number}", birth=head_birth, **head_fields)
    return registry.create_household(number=number, head=head)


def join_group(person, key):
    membership = GroupMembership(person=person, area=person.area, group_type=GroupType.objects.get(key=key))
    membership.save()
    return membership


@pytest.fixture
def grid(area_tree):
    return area_tree["grids"][0]


@pytest.fixture
def worker(area_tree, grid):
    return make_user("gw1", "grid_worker", grid, full_name="王网格")


# -- assignments and load ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_new_responsible_worker_ends_the_previous_one(area_tree, grid, worker):
    other = make_user("gw2", "grid_worker", grid)
    first = services.assign(grid, worker, start_date=dt.date(2026, 1, 1))
    services.assign(grid, other, start_date=dt.date(2026, 6, 1))
    first.refresh_from_db()
    assert first.end_date == dt.date(2026, 5, 31)
    current = GridAssignment.objects.current(dt.date(2026, 7, 1)).get(area=grid, role="responsible")
    assert current.user == other
    assert (
        GridAssignment.objects.current(dt.date(2026, 3, 1)).get(area=grid, role="responsible").user == worker
    )


@pytest.mark.django_db
def test_only_grid_workers_of_the_grid_can_be_assigned(area_tree, grid, worker):
    elsewhere = make_user("gw9", "grid_worker", area_tree["grids"][4])
    with pytest.raises(ValidationError, match="没有网格员权限"):
        services.assign(grid, elsewhere)
    services.assign(grid, worker, role="deputy")
    with pytest.raises(ValidationError, match="已在该网格任职"):
        services.assign(grid, worker)


@pytest.mark.django_db
def test_an_assignment_is_made_on_a_grid_only(area_tree, worker):
    assignment = GridAssignment(area=area_tree["communities"][0], user=worker)
    with pytest.raises(ValidationError, match="只能选择网格"):
        assignment.full_clean()


@pytest.mark.django_db
@override_settings(LINLI_HOUSEHOLDS_PER_WORKER=2)
def test_load_is_households_per_responsible_worker_against_the_norm(area_tree, grid, worker):
    second_grid = area_tree["grids"][1]
    make_user("x", "grid_worker", second_grid)
    worker_two = make_user("gw2", "grid_worker", area_tree["communities"][0])
    for n in range(3):
        household(grid, f"A{n}")
    household(second_grid, "B0")
    services.assign(grid, worker)
    services.assign(second_grid, worker_two)
    services.assign(grid, worker_two, role="deputy")
    loads = {load.grid.pk: load for load in services.grid_loads([grid, second_grid])}
    assert loads[grid.pk].households == 3 and loads[grid.pk].responsible == worker
    assert loads[grid.pk].deputies == [worker_two]
    workers = services.worker_loads(list(loads.values()))
    assert [(w.user, w.households, w.over_norm) for w in workers] == [
        (worker, 3, True),
        (worker_two, 1, False),
    ]


# -- visits ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_visit_updates_members_through_the_change_history(grid, worker):
    home = household(grid, "V1")
    head = home.head
    visit = services.record_visit(household=home, visitor=worker, visited_on=TODAY, met=[head],
                                  findings="老人身体尚可", person_updates={head: {"residence_status": "20",
                                                                               "phone": "13812345678"}})  # fmt: skip
    head.refresh_from_db()
    assert head.residence_status == "20" and head.phone == "13812345678"
    change = history_of(head).first()
    assert f"visit #{visit.pk}" in change.note
    assert list(visit.met.all()) == [head]
    assert visit.area == grid and visit.counts


@pytest.mark.django_db
def test_a_refused_change_leaves_nothing_behind(grid, worker):
    home = household(grid, "V2")
    head = home.head
    with pytest.raises(ValidationError):
        services.record_visit(household=home, visitor=worker, visited_on=TODAY,
                              person_updates={head: {"phone": "12345"}})  # fmt: skip
    with pytest.raises(ValidationError, match="这些字段"):
        services.record_visit(household=home, visitor=worker, person_updates={head: {"name": "改名"}})
    stranger = make_person(grid, name="路人")
    with pytest.raises(ValidationError, match="不是该户的现有成员"):
        services.record_visit(household=home, visitor=worker, met=[stranger])
    fake = SimpleUploadedFile("照片.jpg", b"<?php system($_GET['c']); ?>")
    with pytest.raises(ValidationError):
        services.record_visit(household=home, visitor=worker, photos=[fake])
    assert Visit.objects.count() == 0 and VisitPhoto.objects.count() == 0
    head.refresh_from_db()
    assert head.phone != "12345"


@pytest.mark.django_db
def test_a_visit_keeps_photos_and_can_report_an_event(grid, worker):
    home = household(grid, "V3")
    photo = SimpleUploadedFile("楼道.jpg", JPEG)
    category = EventCategory.objects.get(code="1002")
    visit = services.record_visit(household=home, visitor=worker, photos=[photo], met=[home.head],
                                  findings="楼道堆放杂物",
                                  raise_event={"category": category, "title": "楼道堆物"})  # fmt: skip
    assert visit.photos.get().content_type == "image/jpeg"
    event = Event.objects.get(pk=visit.event_id)
    assert event.channel == "grid" and event.reporter == worker and event.location_area == grid
    assert list(event.households.all()) == [home] and list(event.persons.all()) == [home.head]
    assert event.description == "楼道堆放杂物"


@pytest.mark.django_db
def test_only_face_to_face_visits_count(grid, worker):
    home = household(grid, "V4")
    assert not services.record_visit(household=home, visitor=worker, kind="phone").counts
    assert not services.record_visit(household=home, visitor=worker, outcome="nobody").counts
    assert services.record_visit(household=home, visitor=worker, kind="outside").counts


@pytest.mark.django_db
def test_a_visit_cannot_be_in_the_future(grid, worker):
    home = household(grid, "V5")
    with pytest.raises(ValidationError, match="晚于今天"):
        services.record_visit(
            household=home, visitor=worker, visited_on=timezone.localdate() + dt.timedelta(days=1)
        )


# -- frequency rules, schedule and coverage -----------------------------------------------------------
@pytest.mark.django_db
def test_the_strictest_rule_decides_when_a_household_is_due(grid, worker):
    ordinary = household(grid, "R1")
    alone = household(grid, "R2")
    join_group(alone.head, "elderly_alone")
    join_group(alone.head, "dibao")
    aged = household(grid, "R3", head_birth=dt.date(1940, 1, 1))  # 80+: a derived class
    never = household(grid, "R4")
    for home, days_ago in ((ordinary, 100), (alone, 8), (aged, 10)):
        services.record_visit(household=home, visitor=worker, visited_on=TODAY - dt.timedelta(days=days_ago))
    due = {d.household.number: d for d in services.schedule([ordinary, alone, aged, never], TODAY)}
    assert due["R1"].rule.key == "every_household" and due["R1"].due_on == TODAY + dt.timedelta(days=265)
    assert due["R2"].rule.key == "elderly_alone" and due["R2"].overdue_days(TODAY) == 1
    assert due["R3"].rule.key == "care" and due["R3"].due_on == TODAY + dt.timedelta(days=20)
    assert due["R4"].last_visit is None and due["R4"].due_on == TODAY


@pytest.mark.django_db
def test_an_ended_group_membership_no_longer_tightens_the_rule(grid, worker):
    home = household(grid, "R5")
    membership = join_group(home.head, "elderly_alone")
    membership.end_date = TODAY - dt.timedelta(days=1)
    membership.save()
    (due,) = services.schedule([home], TODAY)
    assert due.rule.key == "every_household"


@pytest.mark.django_db
def test_the_reason_hides_groups_the_user_may_not_read(area_tree, grid, worker):
    home = household(grid, "R6")
    join_group(home.head, "community_correction")
    (due,) = services.schedule([home], TODAY)
    assert due.rule.key == "focus_safety"
    assert services.reason_label(due, worker) == "重点关注户 (focus household)"  # no "special" field group
    leader = make_user("leader", "community_leader", area_tree["communities"][0])
    assert services.reason_label(due, leader) == due.rule.name


@pytest.mark.django_db
def test_coverage_counts_households_visited_in_the_period(area_tree, grid, worker):
    homes = [household(grid, f"C{n}") for n in range(4)]
    other_grid_home = household(area_tree["grids"][1], "C9")
    services.record_visit(household=homes[0], visitor=worker, visited_on=TODAY - dt.timedelta(days=3))
    services.record_visit(household=homes[0], visitor=worker, visited_on=TODAY - dt.timedelta(days=1))
    services.record_visit(household=homes[1], visitor=worker, visited_on=TODAY - dt.timedelta(days=40))
    services.record_visit(household=homes[2], visitor=worker, visited_on=TODAY, kind="phone")
    start = TODAY - dt.timedelta(days=30)
    result = services.coverage(grid, start, TODAY)
    assert (result.households, result.visited, result.visits, result.not_visited) == (4, 1, 2, 3)
    assert result.rate == 0.25
    community = services.coverage(area_tree["communities"][0], start, TODAY)
    assert (community.households, community.visited) == (5, 1)
    by_grid = {
        c.area.pk: c.households for c in services.coverage_by_child(area_tree["communities"][0], start, TODAY)
    }
    assert by_grid == {grid.pk: 4, area_tree["grids"][1].pk: 1}
    unvisited = [h.number for h in services.unvisited_households(grid, start, TODAY)]
    assert unvisited == ["C1", "C2", "C3"]
    assert other_grid_home.number not in unvisited


# -- diary ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_supervisor_grades_a_diary_entry_and_it_is_then_frozen(area_tree, grid, worker):
    entry = DiaryEntry(area=grid, author=worker, date=TODAY, content="走访 5 户，调解邻里纠纷 1 起")
    entry.save()
    supervisor = make_user("boss", "community_staff", area_tree["communities"][0])
    with pytest.raises(ValidationError, match="不能评定自己"):
        services.grade_diary(entry, worker, grade="excellent")
    peer = make_user("peer", "grid_worker", grid)
    with pytest.raises(ValidationError, match="没有评定"):
        services.grade_diary(entry, peer, grade="excellent")
    outsider = make_user("far", "community_staff", area_tree["communities"][3])
    with pytest.raises(ValidationError, match="没有评定"):
        services.grade_diary(entry, outsider, grade="excellent")
    services.grade_diary(entry, supervisor, grade="good", comment="记录翔实")
    entry.refresh_from_db()
    assert (entry.grade, entry.graded_by, entry.grade_comment) == ("good", supervisor, "记录翔实")
    with pytest.raises(ValidationError, match="已评定"):
        services.check_diary_editable(entry, worker)
    with pytest.raises(ValidationError, match="只能修改自己"):
        services.check_diary_editable(entry, peer)


# -- patrols -------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_patrol_check_in_and_out(area_tree, grid, worker):
    start = timezone.now() - dt.timedelta(minutes=75)
    patrol = services.check_in(worker, grid, at=start, lat="30.550000", lng="114.270000", route="1-4栋")
    with pytest.raises(ValidationError, match="未签退"):
        services.check_in(worker, grid)
    with pytest.raises(ValidationError, match="不在该网格"):
        services.check_in(make_user("far", "grid_worker", area_tree["grids"][4]), grid)
    with pytest.raises(ValidationError, match="只能签退自己"):
        services.check_out(patrol, make_user("peer", "grid_worker", grid))
    services.check_out(patrol, worker, at=start + dt.timedelta(minutes=70), findings="井盖松动")
    stale = Patrol.objects.get(pk=patrol.pk)
    stale.ended_at = None  # a second tab still showing the open patrol
    with pytest.raises(ValidationError, match="已签退"):
        services.check_out(stale, worker)
    patrol.refresh_from_db()
    assert patrol.minutes == 70 and patrol.findings == "井盖松动"
    assert len(history_of(patrol)) == 2  # created, then checked out


@pytest.mark.django_db
def test_daily_patrol_minutes_against_the_target(grid, worker):
    day = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    for offset, minutes in ((0, 40), (180, 25)):
        started = day + dt.timedelta(minutes=offset)
        Patrol(
            area=grid, user=worker, started_at=started, ended_at=started + dt.timedelta(minutes=minutes)
        ).save()
    Patrol(area=grid, user=worker, started_at=day + dt.timedelta(days=1)).save()  # still open today
    (summary,) = services.patrol_days(Patrol.objects.all(), day.date(), day.date() + dt.timedelta(days=1))
    assert (summary.day, summary.minutes, summary.patrols, summary.met_target) == (day.date(), 65, 2, True)


# -- duty roster ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_roster_gaps_and_who_is_on_duty(area_tree, grid):
    community = area_tree["communities"][0]
    tz = timezone.get_current_timezone()
    day = dt.datetime(2026, 11, 23, 0, 0, tzinfo=tz)
    for start, end, name in ((8, 18, "甲"), (18, 24, "乙"), (24, 32, "丙")):
        DutyShift(area=community, volunteer_name=name, starts_at=day + dt.timedelta(hours=start),
                  ends_at=day + dt.timedelta(hours=end)).save()  # fmt: skip
    gaps = services.roster_gaps(community, day, day + dt.timedelta(days=2))
    assert gaps == [
        (day, day + dt.timedelta(hours=8)),
        (day + dt.timedelta(hours=32), day + dt.timedelta(days=2)),
    ]
    on_duty = services.on_duty(grid, at=day + dt.timedelta(hours=20))  # the grid sees its community's room
    assert [s.volunteer_name for s in on_duty] == ["乙"]


@pytest.mark.django_db
def test_a_shift_needs_someone_and_a_sane_length(area_tree, worker):
    community = area_tree["communities"][0]
    start = timezone.now()
    with pytest.raises(ValidationError, match="值班人"):
        DutyShift(area=community, starts_at=start, ends_at=start + dt.timedelta(hours=2)).full_clean()
    with pytest.raises(ValidationError, match="24 小时"):
        DutyShift(
            area=community, user=worker, starts_at=start, ends_at=start + dt.timedelta(hours=25)
        ).full_clean()
    first = DutyShift(area=community, user=worker, starts_at=start, ends_at=start + dt.timedelta(hours=8))
    first.save()
    clash = DutyShift(area=community, user=worker, starts_at=start + dt.timedelta(hours=7),
                      ends_at=start + dt.timedelta(hours=9))  # fmt: skip
    assert services.overlapping_shift(clash) == first
