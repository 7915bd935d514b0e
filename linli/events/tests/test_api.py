"""Events REST API and Open311 GeoReport v2."""

import pytest
from django.test import Client

from linli.accounts.models import ApiToken
from linli.core.testing import login_as, make_user
from linli.events import workflow
from linli.events.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.events.tests.urls")]


@pytest.fixture
def people(area_tree, department):
    dept_user = make_user("dept1", "department_handler", area_tree["district"])
    department.members.add(dept_user)
    return {
        "grid": make_user("grid0", "grid_worker", area_tree["grids"][0]),
        "community": make_user("comm0", "community_staff", area_tree["communities"][0]),
        "street": make_user("street0", "subdistrict_officer", area_tree["subdistricts"][0]),
        "dept": dept_user,
        "auditor": make_user("aud", "auditor", area_tree["district"]),
    }


@pytest.fixture
def new_event(categories, area_tree):
    def make(grid=0, **kwargs):
        kwargs.setdefault("title", "邻里纠纷")
        return workflow.report_event(category=categories["1002"], location_area=area_tree["grids"][grid],
                                     channel="hotline", contact_phone="13912345678", **kwargs)  # fmt: skip

    return make


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, content_type="application/json", **extra)


def test_list_and_retrieve_are_scoped(people, new_event):
    mine, other = new_event(0), new_event(1)
    client = login_as(people["grid"])
    body = client.get("/api/v1/events/").json()
    assert [e["number"] for e in body["results"]] == [mine.number]
    detail = client.get(f"/api/v1/events/{mine.pk}/").json()
    assert detail["steps"][0]["action"] == "report" and detail["contact_phone_masked"] != "13912345678"
    assert "13912345678" not in client.get(f"/api/v1/events/{mine.pk}/").text
    assert client.get(f"/api/v1/events/{other.pk}/").status_code == 404


def test_401_403(people, new_event):
    event = new_event()
    assert Client().get("/api/v1/events/").status_code == 401
    assert login_as(people["auditor"]).get("/api/v1/events/").status_code == 403
    building_head = login_as(make_user("bh", "building_head", event.location_area))
    assert building_head.get("/api/v1/events/").status_code == 200
    assert post(building_head, f"/api/v1/events/{event.pk}/accept/").status_code == 403


def test_create(people, categories, area_tree):
    client = login_as(people["grid"])
    response = post(client, "/api/v1/events/", {"category": "1002", "title": "接口上报",
                                                "location_area": area_tree["grids"][0].pk})  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["channel"] == "api" and response.json()["status"] == "reported"
    outside = post(client, "/api/v1/events/", {"category": "1002", "title": "越界",
                                               "location_area": area_tree["grids"][4].pk})  # fmt: skip
    assert outside.status_code == 403
    bad = post(client, "/api/v1/events/", {"category": "9999", "title": "", "location_area": 0})
    assert bad.status_code == 400


def test_transitions(people, new_event, department):
    event = new_event()
    grid, dept = login_as(people["grid"]), login_as(people["dept"])
    accepted = post(grid, f"/api/v1/events/{event.pk}/accept/", {"version": event.version})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert accepted.json()["step"]["action"] == "accept"
    stale = post(grid, f"/api/v1/events/{event.pk}/dispatch/", {"version": 1, "to_department": department.pk})
    assert stale.status_code == 409
    refused = post(grid, f"/api/v1/events/{event.pk}/close/")
    assert refused.status_code == 400 and "不能结案" in str(refused.json())
    missing = post(grid, f"/api/v1/events/{event.pk}/reject/")
    assert missing.status_code == 400
    sent = post(
        grid, f"/api/v1/events/{event.pk}/dispatch/", {"to_department": department.pk, "note": "请处理"}
    )
    assert sent.json()["status"] == "dispatched"
    # The grid can still see it (it happened there) but no longer acts on it.
    assert post(grid, f"/api/v1/events/{event.pk}/sign/").status_code == 403
    assert post(dept, f"/api/v1/events/{event.pk}/sign/").json()["status"] == "handling"
    fed = post(dept, f"/api/v1/events/{event.pk}/feed-back/", {"note": "已处理"})
    assert fed.json()["status"] == "fed_back"
    community = login_as(people["community"])
    assert post(community, f"/api/v1/events/{event.pk}/verify/").json()["status"] == "verified"
    assert post(community, f"/api/v1/events/{event.pk}/close/").json()["status"] == "closed"
    rated = post(community, f"/api/v1/events/{event.pk}/rate/", {"satisfaction": 2})
    assert rated.json()["status"] == "rated" and rated.json()["satisfaction"] == 2


def test_department_only_sees_dispatched(people, new_event, department):
    sent, kept = new_event(), new_event()
    workflow.accept(sent, people["grid"])
    workflow.dispatch(sent, people["grid"], to_department=department)
    client = login_as(people["dept"])
    assert [e["number"] for e in client.get("/api/v1/events/").json()["results"]] == [sent.number]
    assert client.get(f"/api/v1/events/{kept.pk}/").status_code == 404


# -- Open311 ---------------------------------------------------------------------------------------
def test_open311_services(categories):
    services = Client().get("/api/open311/v2/services.json").json()
    codes = {s["service_code"] for s in services}
    assert "1002" in codes and "10" not in codes  # leaves only
    assert set(services[0]) >= {"service_code", "service_name", "description", "metadata", "type", "keywords",
                                "group"}  # fmt: skip


def test_open311_requests_post_needs_a_token_and_then_reports(people, area_tree, categories):
    anonymous = Client().post(
        "/api/open311/v2/requests.json", {"service_code": "1002", "address_string": "x"}
    )
    assert anonymous.status_code == 401
    _token, key = ApiToken.issue(people["grid"], "open311")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    bad = Client().post("/api/open311/v2/requests.json", {"service_code": "nope"}, **auth)
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400
    created = Client().post("/api/open311/v2/requests.json", {
        "service_code": "1002", "address_string": "1栋101", "description": "楼上漏水\n已持续三天",
        "first_name": "女士", "last_name": "赵", "phone": "13912345678",
    }, **auth)  # fmt: skip
    assert created.status_code == 201, created.json()
    number = created.json()[0]["service_request_id"]
    event = Event.objects.get(number=number)
    assert (
        event.channel == "api" and event.location_area == area_tree["grids"][0] and event.title == "楼上漏水"
    )

    status = Client().get(f"/api/open311/v2/requests/{number}.json").json()
    assert status[0]["service_request_id"] == number and status[0]["status"] == "open"
    assert status[0]["description"] == "" and "13912345678" not in str(status)  # the public sees no details
    with_token = Client().get(f"/api/open311/v2/requests/{number}.json", **auth).json()
    assert with_token[0]["description"].startswith("楼上漏水")
    listed = Client().get("/api/open311/v2/requests.json", {"status": "open", "service_code": "1002"}).json()
    assert [r["service_request_id"] for r in listed] == [number]
    assert Client().get("/api/open311/v2/requests.json", {"status": "closed"}).json() == []
    assert Client().get("/api/open311/v2/requests/SJ00000000-0000.json").status_code == 404
    assert Client().post("/api/open311/v2/requests.json", {"service_code": "1002"},
                         HTTP_AUTHORIZATION="Bearer wrong").status_code == 401  # fmt: skip
