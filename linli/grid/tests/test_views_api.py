"""Grid pages and API: what a grid worker and a supervisor see and do, scoped to their areas."""

import datetime as dt

import pytest
from django.utils import timezone

from linli.core.testing import login_as, make_person, make_user
from linli.grid import services
from linli.grid.models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit
from linli.registry import services as registry


def household(grid, number):
    return registry.create_household(number=number, head=make_person(grid, name=f"户主{number}"))


@pytest.fixture
def people(area_tree):
    grid, far_grid = area_tree["grids"][0], area_tree["grids"][4]
    worker = make_user("gw1", "grid_worker", grid, full_name="王网格")
    services.assign(grid, worker)
    return {
        "grid": grid,
        "far_grid": far_grid,
        "worker": worker,
        "far_worker": make_user("gw2", "grid_worker", far_grid),
        "supervisor": make_user("boss", "community_staff", area_tree["communities"][0]),
        "home": household(grid, "H001"),
        "far_home": household(far_grid, "H900"),
    }


@pytest.mark.django_db
def test_the_desk_lists_what_is_due_in_my_grid(people):
    page = login_as(people["worker"]).get("/grid/")
    assert page.status_code == 200
    html = page.content.decode()
    assert people["grid"].full_name in html and "H001" in html and "H900" not in html
    assert "签到，开始巡查" in html


@pytest.mark.django_db
def test_recording_a_visit_with_a_bad_phone_shows_the_error_and_saves_nothing(people):
    client = login_as(people["worker"])
    home, head = people["home"], people["home"].head
    url = f"/grid/visits/new/{home.pk}/"
    assert client.get(url).status_code == 200
    form = {"visited_on": timezone.localdate().isoformat(), "kind": "door", "outcome": "met", "met": [head.pk],
            "findings": "一切正常", f"phone_{head.pk}": "12345"}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 200
    assert f"{head.name}：电话号码格式不正确" in response.content.decode()
    assert Visit.objects.count() == 0
    form[f"phone_{head.pk}"] = "13912345678"
    form[f"residence_status_{head.pk}"] = "20"
    response = client.post(url, form)
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/grid/visits/{visit.pk}/"
    head.refresh_from_db()
    assert head.phone == "13912345678" and head.residence_status == "20"
    detail = client.get(f"/grid/visits/{visit.pk}/").content.decode()
    assert "一切正常" in detail and head.name in detail


@pytest.mark.django_db
def test_a_visit_page_can_report_an_event(people):
    client = login_as(people["worker"])
    home = people["home"]
    from linli.events.models import EventCategory

    category = EventCategory.objects.get(code="1002")
    form = {"visited_on": timezone.localdate().isoformat(), "kind": "door", "outcome": "met", "raise_event": "on",
            "findings": "楼道堆物"}  # fmt: skip
    response = client.post(f"/grid/visits/new/{home.pk}/", form)
    assert response.status_code == 200 and "上报事件须选择类别" in response.content.decode()
    form.update(event_category=category.pk, event_title="楼道堆物")
    assert client.post(f"/grid/visits/new/{home.pk}/", form).status_code == 302
    assert Visit.objects.get().event.title == "楼道堆物"


@pytest.mark.django_db
def test_visits_are_scoped_to_the_workers_grid(people):
    far_visit = services.record_visit(household=people["far_home"], visitor=people["far_worker"])
    client = login_as(people["worker"])
    assert client.get(f"/grid/visits/{far_visit.pk}/").status_code == 404
    assert client.get(f"/grid/visits/new/{people['far_home'].pk}/").status_code == 404
    assert "H900" not in client.get("/grid/visits/").content.decode()
    own = services.record_visit(household=people["home"], visitor=people["worker"])
    assert "H001" in client.get("/grid/visits/").content.decode()
    # The building head may read households but not visits.
    head = make_user("bh", "building_head", people["grid"])
    assert login_as(head).get(f"/grid/visits/{own.pk}/").status_code == 403


@pytest.mark.django_db
def test_the_household_page_offers_a_visit_and_lists_visits(people):
    services.record_visit(household=people["home"], visitor=people["worker"], findings="x")
    html = login_as(people["worker"]).get(f"/registry/households/{people['home'].pk}/").content.decode()
    assert f"/grid/visits/new/{people['home'].pk}/" in html and 'data-testid="household-visits"' in html
    head = make_user("bh", "building_head", people["grid"])
    html = login_as(head).get(f"/registry/households/{people['home'].pk}/").content.decode()
    assert "household-visits" not in html and "/grid/visits/new/" not in html


@pytest.mark.django_db
def test_coverage_page_shows_the_period_figures(people):
    household(people["grid"], "H002")
    services.record_visit(household=people["home"], visitor=people["worker"])
    html = login_as(people["supervisor"]).get(f"/grid/coverage/?area={people['grid'].pk}").content.decode()
    assert 'data-testid="households">2<' in html and 'data-testid="visited">1<' in html
    assert "H002" in html  # not visited yet, and due under the every-household rule


@pytest.mark.django_db
def test_diary_written_by_the_worker_and_graded_by_the_supervisor(people):
    worker = login_as(people["worker"])
    today = timezone.localdate().isoformat()
    response = worker.post(
        "/grid/diary/new/", {"area": people["grid"].pk, "date": today, "content": "走访 4 户"}
    )
    entry = DiaryEntry.objects.get()
    assert response.status_code == 302 and entry.author == people["worker"]
    again = worker.post("/grid/diary/new/", {"area": people["grid"].pk, "date": today, "content": "重复"})
    assert again.status_code == 200 and "这一天已经写过" in again.content.decode()
    assert worker.post(f"/grid/diary/{entry.pk}/grade/", {"grade": "excellent"}).status_code == 403
    supervisor = login_as(people["supervisor"])
    assert "grade-form" in supervisor.get(f"/grid/diary/{entry.pk}/").content.decode()
    supervisor.post(f"/grid/diary/{entry.pk}/grade/", {"grade": "good", "comment": "好"})
    entry.refresh_from_db()
    assert entry.grade == "good" and entry.graded_by == people["supervisor"]
    edit = worker.get(f"/grid/diary/{entry.pk}/edit/")
    assert edit.status_code == 302  # graded entries are frozen
    far = login_as(people["far_worker"])
    assert far.get(f"/grid/diary/{entry.pk}/").status_code == 404


@pytest.mark.django_db
def test_patrol_check_in_and_out_from_the_desk(people):
    client = login_as(people["worker"])
    client.post(
        "/grid/patrols/check-in/",
        {"grid": people["grid"].pk, "route": "1-3栋", "lat": "30.5", "lng": "114.2"},
    )
    patrol = Patrol.objects.get()
    assert patrol.ended_at is None and str(patrol.start_lat) == "30.500000"
    assert "签退" in client.get("/grid/").content.decode()
    far = client.post("/grid/patrols/check-in/", {"grid": people["far_grid"].pk})
    assert far.status_code == 302 and Patrol.objects.count() == 1  # not a grid of mine: refused
    client.post(f"/grid/patrols/{patrol.pk}/check-out/", {"findings": "路灯不亮"})
    patrol.refresh_from_db()
    assert patrol.ended_at is not None and patrol.findings == "路灯不亮"
    assert "路灯不亮" in client.get("/grid/patrols/").content.decode()


@pytest.mark.django_db
def test_duty_roster_page_adds_and_removes_shifts(area_tree, people):
    community = area_tree["communities"][0]
    client = login_as(people["supervisor"])
    start = (timezone.localtime() + dt.timedelta(days=1)).replace(hour=8, minute=0)
    form = {"area": community.pk, "kind": "duty", "user": people["worker"].pk, "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M"), "place": "邻里值班室"}  # fmt: skip
    assert client.post("/grid/duty/new/", form).status_code == 302
    shift = DutyShift.objects.get()
    clash = dict(form, starts_at=(start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    client.post("/grid/duty/new/", clash)
    assert DutyShift.objects.count() == 1
    stranger = make_user("far_staff", "grid_worker", area_tree["grids"][4])
    client.post("/grid/duty/new/", dict(form, user=stranger.pk))
    assert DutyShift.objects.count() == 1
    page = client.get(f"/grid/duty/?area={community.pk}&week={start.date().isoformat()}").content.decode()
    assert "王网格" in page
    assert login_as(people["worker"]).post(f"/grid/duty/{shift.pk}/delete/").status_code == 403
    client.post(f"/grid/duty/{shift.pk}/delete/")
    assert DutyShift.objects.count() == 0


@pytest.mark.django_db
def test_assignment_page_shows_load_and_assigns(area_tree, people):
    client = login_as(people["supervisor"])
    html = client.get(f"/grid/assignments/?area={area_tree['communities'][0].pk}").content.decode()
    assert "王网格" in html and 'data-testid="worker-loads"' in html
    deputy = make_user("gw3", "grid_worker", area_tree["communities"][0])
    client.post("/grid/assignments/new/", {"grid": people["grid"].pk, "user": deputy.pk, "role": "deputy",
                                           "start_date": timezone.localdate().isoformat()})  # fmt: skip
    assert GridAssignment.objects.current().filter(area=people["grid"], user=deputy, role="deputy").exists()
    assert login_as(people["worker"]).get("/grid/assignments/").status_code == 200  # may view
    assert login_as(people["worker"]).post("/grid/assignments/new/", {}).status_code == 403


# -- API -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_api_records_visits_in_scope_only(people):
    client = login_as(people["worker"])
    body = {"household": people["home"].pk, "findings": "接口走访", "met": [people["home"].head.pk]}
    response = client.post("/api/v1/visits/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["visitor"] == people["worker"].pk and response.json()["counts"] is True
    far = client.post(
        "/api/v1/visits/", {"household": people["far_home"].pk}, content_type="application/json"
    )
    assert far.status_code in (400, 403) and Visit.objects.count() == 1
    listed = client.get("/api/v1/visits/").json()["results"]
    assert [v["findings"] for v in listed] == ["接口走访"]
    services.record_visit(household=people["far_home"], visitor=people["far_worker"])
    assert len(login_as(people["far_worker"]).get("/api/v1/visits/").json()["results"]) == 1


@pytest.mark.django_db
def test_api_diary_grade_and_patrol(people):
    worker = login_as(people["worker"])
    today = timezone.localdate().isoformat()
    created = worker.post("/api/v1/diary-entries/", {"area": people["grid"].pk, "date": today, "content": "日记"},
                          content_type="application/json")  # fmt: skip
    assert created.status_code == 201, created.content
    entry_id = created.json()["id"]
    duplicate = worker.post("/api/v1/diary-entries/", {"area": people["grid"].pk, "date": today, "content": "又一篇"},
                            content_type="application/json")  # fmt: skip
    assert duplicate.status_code == 400 and "date" in duplicate.json()
    assert worker.post(f"/api/v1/diary-entries/{entry_id}/grade/", {"grade": "good"},
                       content_type="application/json").status_code == 403  # fmt: skip
    graded = login_as(people["supervisor"]).post(f"/api/v1/diary-entries/{entry_id}/grade/", {"grade": "pass"},
                                                 content_type="application/json")  # fmt: skip
    assert graded.status_code == 200 and graded.json()["grade"] == "pass"
    frozen = worker.patch(
        f"/api/v1/diary-entries/{entry_id}/", {"content": "改"}, content_type="application/json"
    )
    assert frozen.status_code == 400

    patrol = worker.post("/api/v1/patrols/", {"area": people["grid"].pk}, content_type="application/json")
    assert patrol.status_code == 201
    done = worker.post(f"/api/v1/patrols/{patrol.json()['id']}/check-out/", {"findings": "无"},
                       content_type="application/json")  # fmt: skip
    assert done.status_code == 200 and done.json()["ended_at"] is not None
    again = worker.post(
        f"/api/v1/patrols/{patrol.json()['id']}/check-out/", {}, content_type="application/json"
    )
    assert again.status_code == 400


@pytest.mark.django_db
def test_api_duty_shift_validation_is_bilingual(area_tree, people):
    client = login_as(people["supervisor"])
    start = timezone.now()
    body = {"area": area_tree["communities"][0].pk, "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=30)).isoformat(), "volunteer_name": "志愿者"}  # fmt: skip
    response = client.post("/api/v1/duty-shifts/", body, content_type="application/json")
    assert (
        response.status_code == 400
        and "24 小时" in str(response.json())
        and "24 hours" in str(response.json())
    )
    body["ends_at"] = (start + dt.timedelta(hours=8)).isoformat()
    assert client.post("/api/v1/duty-shifts/", body, content_type="application/json").status_code == 201
    outside = dict(body, area=area_tree["communities"][3].pk)
    assert client.post("/api/v1/duty-shifts/", outside, content_type="application/json").status_code in (
        400,
        403,
    )
    assert DutyShift.objects.count() == 1


def test_api_duty_shift_phone_is_checked_and_normalised(area_tree, people):
    client = login_as(people["supervisor"])
    start = timezone.now()
    body = {"area": area_tree["communities"][0].pk, "starts_at": start.isoformat(), "volunteer_name": "志愿者",
            "ends_at": (start + dt.timedelta(hours=8)).isoformat(), "duty_phone": "<script>"}  # fmt: skip
    response = client.post("/api/v1/duty-shifts/", body, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"duty_phone"}
    assert "电话号码格式不正确" in str(response.json()) and "not a valid phone number" in str(response.json())
    assert not DutyShift.objects.exists()
    body["duty_phone"] = "１３８ ０００ ０００００"  # full-width digits and spaces, as typed on a phone
    response = client.post("/api/v1/duty-shifts/", body, content_type="application/json")
    assert response.status_code == 201 and DutyShift.objects.get().duty_phone == "13800000000"


@pytest.mark.django_db
def test_api_supervise_and_expedite_events(area_tree):
    from linli.events import workflow
    from linli.events.models import EventCategory

    event = workflow.report_event(category=EventCategory.objects.get(code="1002"), title="占道经营",
                                  location_area=area_tree["grids"][0], channel="hotline")  # fmt: skip
    staff = login_as(make_user("staff", "community_staff", area_tree["communities"][0]))
    assert staff.post(f"/api/v1/events/{event.pk}/supervise/", {"note": "尽快"},
                      content_type="application/json").status_code == 403  # fmt: skip
    leader = login_as(make_user("leader", "community_leader", area_tree["communities"][0]))
    supervised = leader.post(f"/api/v1/events/{event.pk}/supervise/", {"note": "尽快办理"},
                             content_type="application/json")  # fmt: skip
    assert supervised.status_code == 200 and supervised.json()["supervised"] is True
    expedited = leader.post(
        f"/api/v1/events/{event.pk}/expedite/", {"note": "加急"}, content_type="application/json"
    )
    assert expedited.status_code == 200 and expedited.json()["priority"] == "urgent"
    far = login_as(make_user("far", "community_leader", area_tree["communities"][3]))
    assert (
        far.post(f"/api/v1/events/{event.pk}/expedite/", {}, content_type="application/json").status_code
        == 404
    )
