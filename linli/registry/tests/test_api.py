import datetime as dt

import pytest
from rest_framework.test import APIClient

from linli.accounts.models import ApiToken
from linli.audit.models import AuditEvent
from linli.core.testing import make_person, make_user
from linli.registry import services
from linli.registry.models import GroupMembership, GroupType, Person

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


@pytest.fixture
def api(area_tree):
    grid = area_tree["grids"][0]
    person = make_person(grid, name="张三", phone=PHONE)
    outsider = make_person(area_tree["grids"][4], name="李四")
    services.create_household(number="420105000088", head=person, date=dt.date(2000, 1, 1))
    worker = make_user("gw", "grid_worker", grid)
    client = APIClient()
    client.force_authenticate(worker)
    return {"client": client, "person": person, "outsider": outsider, "grid": grid, "worker": worker}


def body(response):
    return response.content.decode()


def test_anonymous_gets_401_and_roleless_403(area_tree):
    client = APIClient()
    assert client.get("/api/v1/persons/").status_code in (401, 403)
    assert client.get("/api/v1/persons/").status_code == 401
    client.force_authenticate(make_user("plain"))
    assert client.get("/api/v1/persons/").status_code == 403


def test_list_is_scoped_masked_and_filterable(api):
    response = api["client"].get("/api/v1/persons/")
    data = response.json()
    assert [p["name"] for p in data["results"]] == ["张三"]
    assert api["person"].id_number not in body(response) and PHONE not in body(response)
    assert data["results"][0]["id_number_masked"] == api["person"].id_number_masked
    assert "id_number" not in data["results"][0] and "phone" not in data["results"][0]
    assert api["client"].get("/api/v1/persons/", {"q": "zs"}).json()["count"] == 1
    assert api["client"].get("/api/v1/persons/", {"sex": "2"}).json()["count"] == 0
    assert api["client"].get("/api/v1/persons/", {"age_min": 200}).json()["count"] == 0


def test_out_of_scope_object_is_404(api):
    assert api["client"].get(f"/api/v1/persons/{api['outsider'].pk}/").status_code == 404
    assert api["client"].patch(f"/api/v1/persons/{api['outsider'].pk}/", {"note": "x"}).status_code == 404


def test_stale_update_is_refused(api):
    url = f"/api/v1/persons/{api['person'].pk}/"
    first = api["client"].get(url)
    tag = first["ETag"]
    ok = api["client"].patch(url, {"occupation": "教师"}, HTTP_IF_MATCH=tag, format="json")
    assert ok.status_code == 200 and ok.json()["occupation"] == "教师"
    stale = api["client"].patch(url, {"occupation": "医生"}, HTTP_IF_MATCH=tag, format="json")
    assert stale.status_code == 412
    conflict = api["client"].patch(
        url, {"occupation": "医生", "version": first.json()["version"]}, format="json"
    )
    assert conflict.status_code == 409
    assert api["client"].patch(url, {"occupation": "医生"}, format="json").status_code == 428
    assert Person.objects.get(pk=api["person"].pk).occupation == "教师"


def test_detail_routes_read_the_object_once_and_tag_the_saved_version(api, django_assert_max_num_queries):
    from django.contrib.contenttypes.models import ContentType

    from linli.core.models import ObjectChange

    url = f"/api/v1/persons/{api['person'].pk}/"
    # The person and its two prefetches, once (the role grants are read once per request as well).
    with django_assert_max_num_queries(4):
        read = api["client"].get(url)
    assert read.status_code == 200 and read["ETag"] == f'"{read.json()["version"]}"'
    # A list parameter on a detail URL filters nothing: the object is found by its key and scope.
    assert api["client"].get(url, {"sex": "2"}).status_code == 200
    written = api["client"].patch(
        url, {"occupation": "教师", "version": read.json()["version"]}, format="json"
    )
    assert written.status_code == 200
    saved = Person.objects.get(pk=api["person"].pk)
    assert saved.version == read.json()["version"] + 1 == written.json()["version"]
    assert written["ETag"] == f'"{saved.version}"'
    # The change history diffs against the row as read (not deferred): one update, the real change.
    change = ObjectChange.objects.filter(
        content_type=ContentType.objects.get_for_model(Person), object_id=str(saved.pk), action="update"
    ).latest("pk")
    assert "occupation" in change.postchange and "id_number" not in change.postchange


def test_mass_assignment_is_ignored_or_refused(api, area_tree):
    url = f"/api/v1/persons/{api['person'].pk}/"
    version = api["client"].get(url).json()["version"]
    response = api["client"].patch(
        url,
        {"status": "deceased", "version": version, "id_number_masked": "x", "pinyin": "hack"},
        format="json",
    )
    assert response.status_code == 200
    person = Person.objects.get(pk=api["person"].pk)
    assert person.status == "active" and person.pinyin == "zhangsan"
    moved = api["client"].patch(
        url, {"area": area_tree["grids"][4].pk, "version": person.version}, format="json"
    )
    assert moved.status_code == 400  # another grid is not a valid choice for this user
    assert Person.objects.get(pk=person.pk).area == api["grid"]


def test_create_validates_the_id_in_chinese(api):
    response = api["client"].post(
        "/api/v1/persons/",
        {"area": api["grid"].pk, "name": "王五", "id_number": "420105199001011236"},
        format="json",
    )
    assert response.status_code == 400 and "校验位" in body(response)
    from linli.core.testing import next_id_number

    good = next_id_number(dt.date(1990, 1, 1))
    created = api["client"].post("/api/v1/persons/", {"area": api["grid"].pk, "name": "王五", "id_number": good},
                                 format="json")  # fmt: skip
    assert created.status_code == 201, body(created)
    assert created.json()["birth_date"] == "1990-01-01" and good not in body(created)


def test_reveal_is_audited(api):
    url = f"/api/v1/persons/{api['person'].pk}/reveal/"
    assert api["client"].post(url, {}, format="json").status_code == 400
    response = api["client"].post(url, {"purpose": "核对身份信息"}, format="json")
    assert response.json() == {"id_number": api["person"].id_number, "phone": PHONE}
    assert AuditEvent.objects.filter(event="data.reveal", object_id=str(api["person"].pk)).count() == 1


def test_life_event_through_the_api(api):
    response = api["client"].post(f"/api/v1/persons/{api['person'].pk}/move-out/", {"date": "2026-09-01"},
                                  format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["status"] == "moved_out"
    again = api["client"].post(
        f"/api/v1/persons/{api['person'].pk}/death/", {"date": "2026-10-01"}, format="json"
    )
    assert again.status_code == 400 and "不是在册人员" in body(again)


def test_group_memberships_follow_field_groups(api, area_tree):
    person = api["person"]
    GroupMembership(person=person, area=person.area, group_type=GroupType.objects.get(key="drug_user")).save()
    GroupMembership(person=person, area=person.area, group_type=GroupType.objects.get(key="veteran")).save()
    groups = [g["group"] for g in api["client"].get("/api/v1/group-memberships/").json()["results"]]
    assert groups == ["veteran"]  # 吸毒人员 is a 特殊人群 field group the grid worker may not read
    assert api["client"].get(f"/api/v1/persons/{person.pk}/").json()["groups"] == ["veteran"]


def test_token_client_has_its_owners_scope(api):
    _, key = ApiToken.issue(api["worker"], "对接")
    client = APIClient()
    response = client.get("/api/v1/persons/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert [p["name"] for p in response.json()["results"]] == ["张三"]


def test_areas_are_scoped(api, area_tree):
    names = [a["name"] for a in api["client"].get("/api/v1/areas/").json()["results"]]
    assert names == [api["grid"].name]


def test_schema_and_docs_are_served_offline(api, client):
    client.force_login(api["worker"])
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/persons/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui-bundle.js" in docs and "http" not in docs.replace("https://", "").split("<body>")[0]


def test_cached_serializer_fields_are_fresh_per_instance():
    from linli.registry.serializers import PersonSerializer

    first, second = PersonSerializer(), PersonSerializer()
    assert first.fields["area"] is not second.fields["area"]
    assert first.fields["area"].parent is first and second.fields["area"].parent is second
    assert list(first.fields) == list(second.fields)
