import datetime as dt

import pytest
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.core.testing import make_person, make_user
from linli.registry import services
from linli.registry.models import GroupMembership, GroupType, Person

pytestmark = pytest.mark.django_db
PHONE = "13912345678"


@pytest.fixture
def setup(area_tree, client):
    grid, other_grid = area_tree["grids"][0], area_tree["grids"][4]
    person = make_person(grid, name="张三", phone=PHONE, house=area_tree["houses"][0])
    outsider = make_person(other_grid, name="李四")
    household = services.create_household(
        number="420105000077", head=person, house=area_tree["houses"][0], date=dt.date(2000, 1, 1)
    )
    worker = make_user("gw", "grid_worker", grid)
    client.force_login(worker)
    return {"person": person, "outsider": outsider, "household": household, "worker": worker, "grid": grid}


def test_list_is_scoped_and_masked(client, setup):
    html = client.get(reverse("registry:persons")).content.decode()
    assert "张三" in html and "李四" not in html
    assert setup["person"].id_number not in html and PHONE not in html
    assert setup["person"].id_number_masked in html and "139****5678" in html


def test_search_by_pinyin_initials_and_tails(client, setup):
    person = setup["person"]
    for query in (
        "zs",
        "zhangsan",
        person.id_number[-4:],
        person.id_number[-6:],
        "5678",
        "420105000077",
        "张",
    ):
        html = client.get(reverse("registry:persons"), {"q": query}).content.decode()
        assert "张三" in html, query
    assert "张三" not in client.get(reverse("registry:persons"), {"q": "ls"}).content.decode()


def test_out_of_scope_detail_is_404(client, setup):
    assert client.get(reverse("registry:person", args=[setup["person"].pk])).status_code == 200
    assert client.get(reverse("registry:person", args=[setup["outsider"].pk])).status_code == 404
    assert client.get(reverse("registry:person_edit", args=[setup["outsider"].pk])).status_code == 404


def test_user_without_role_gets_403(client, setup):
    client.force_login(make_user("plain"))
    assert client.get(reverse("registry:persons")).status_code == 403


def test_edit_shows_field_errors_in_chinese_then_saves(client, setup):
    person = setup["person"]
    url = reverse("registry:person_edit", args=[person.pk])
    page = client.get(url).content.decode()
    assert person.id_number not in page and PHONE not in page  # encrypted values are never pre-filled
    data = {
        "area": setup["grid"].pk, "name": "张三", "id_type": "111", "sex": "1", "ethnicity": "01",
        "residence_status": "10", "population_type": "1", "phone": "12345",
        "birth_date": person.birth_date.isoformat(),
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200
    assert "电话号码格式不正确" in response.content.decode()
    data["phone"] = "13700001111"
    response = client.post(url, data)
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.phone == "13700001111"
    assert person.id_number  # left empty in the form: kept


def test_moving_a_person_out_of_scope_is_rolled_back(client, setup, area_tree):
    person = setup["person"]
    url = reverse("registry:person_edit", args=[person.pk])
    data = {"area": area_tree["grids"][4].pk, "name": "张三", "id_type": "111", "sex": "1", "ethnicity": "01",
            "residence_status": "10", "population_type": "1"}  # fmt: skip
    response = client.post(url, data)
    # The other grid is not even a choice for this user.
    assert response.status_code == 200 and "area" in response.context["form"].errors
    assert Person.objects.get(pk=person.pk).area == setup["grid"]


def test_reveal_needs_a_purpose_and_is_audited(client, setup):
    person = setup["person"]
    url = reverse("registry:person_reveal", args=[person.pk])
    assert client.post(url, {"purpose": ""}).status_code == 400
    response = client.post(url, {"purpose": "办理低保复核核对身份"})
    html = response.content.decode()
    assert person.id_number in html and PHONE in html
    event = AuditEvent.objects.get(event="data.reveal")
    assert event.purpose == "办理低保复核核对身份" and event.object_id == str(person.pk)


def test_sensitive_groups_are_hidden_without_the_field_group(client, setup, area_tree):
    person = setup["person"]
    GroupMembership(person=person, area=person.area, group_type=GroupType.objects.get(key="released_prisoner"),
                    detail={"released_on": "2025-01-01"}).save()  # fmt: skip
    html = client.get(reverse("registry:person", args=[person.pk])).content.decode()
    assert "刑满释放" not in html and "无权查看" in html
    leader = make_user("leader", "community_leader", area_tree["communities"][0])
    client.force_login(leader)
    html = client.get(reverse("registry:person", args=[person.pk])).content.decode()
    assert "刑满释放" in html
    assert AuditEvent.objects.filter(event="data.sensitive_read", user=leader).exists()


def test_move_out_through_the_page(client, setup):
    person = setup["person"]
    url = reverse("registry:person_move_out", args=[person.pk])
    response = client.post(url, {"date": "2026-10-01", "place": "湖北省孝感市"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.status == "moved_out" and person.status_date == dt.date(2026, 10, 1)


def test_household_and_house_pages(client, setup):
    household = setup["household"]
    html = client.get(reverse("registry:household", args=[household.pk])).content.decode()
    assert "张三" in html and "户主" in html
    house_html = client.get(reverse("registry:house", args=[setup["person"].house_id])).content.decode()
    assert "张三" in house_html and "420105000077" in house_html
    assert client.get(reverse("registry:households"), {"q": "zs"}).content.decode().count("420105000077") == 1


def test_duplicates_and_merge_pages(client, area_tree):
    grid, house = area_tree["grids"][0], area_tree["houses"][0]
    a = make_person(grid, name="陈红", birth=dt.date(1958, 6, 1), sex="2", house=house)
    b = make_person(grid, name="陈红", birth=dt.date(1958, 6, 1), sex="2", house=house, id_number="")
    client.force_login(make_user("cs", "community_staff", area_tree["communities"][0]))
    assert "比对合并" in client.get(reverse("registry:duplicates")).content.decode()
    response = client.post(reverse("registry:person_merge", args=[a.pk, b.pk]), {"note": "重复录入"})
    assert response.status_code == 302
    assert Person.objects.get(pk=b.pk).status == "merged"


def test_filtering_by_a_sensitive_group_needs_that_field_group(client, setup, area_tree):
    person = setup["person"]
    GroupMembership(person=person, area=person.area, group_type=GroupType.objects.get(key="drug_user")).save()
    # The grid worker may not read 特殊人群: the group is not offered and the filter finds nobody.
    html = client.get(reverse("registry:persons"), {"group": "drug_user"}).content.decode()
    assert "张三" not in html
    api = client.get("/api/v1/persons/", {"group": "drug_user"})
    assert api.status_code == 400 or api.json()["count"] == 0
    leader = make_user("leader2", "community_leader", area_tree["communities"][0])
    client.force_login(leader)
    assert "张三" in client.get(reverse("registry:persons"), {"group": "drug_user"}).content.decode()


def test_merge_household_page_moves_every_member_and_names_wrong_fields(client, area_tree):
    grid, far_grid = area_tree["grids"][0], area_tree["grids"][4]
    head, wife = make_person(grid, name="王大"), make_person(grid, name="刘二")
    source = services.create_household(number="420105000101", head=head, date=dt.date(2000, 1, 1))
    services.move_in(wife, household=source, relation="12", date=dt.date(2001, 1, 1))
    target = services.create_household(number="420105000102", head=make_person(grid, name="王老"),
                                       date=dt.date(1990, 1, 1))  # fmt: skip
    elsewhere = services.create_household(number="420105000103", head=make_person(far_grid, name="外人"),
                                          date=dt.date(1990, 1, 1))  # fmt: skip
    client.force_login(make_user("staff", "community_staff", area_tree["communities"][0]))
    url = reverse("registry:household_merge", args=[source.pk])
    assert "并入户号" in client.get(url).content.decode()
    good = {
        "target": target.number,
        "date": "2026-10-01",
        f"relation_{head.pk}": "20",
        f"relation_{wife.pk}": "38",
    }

    # Outside the user's area, a head relation, a future date: each refused, naming the field; nothing written.
    page = client.post(url, dict(good, target=elsewhere.number)).content.decode()
    assert "并入户号: 在您的辖区内没有户号为 420105000103 的在册户" in page
    page = client.post(url, dict(good, **{f"relation_{wife.pk}": "02"})).content.decode()
    assert "与新户主的关系: 刘二" in page
    page = client.post(url, dict(good, date="2099-01-01")).content.decode()
    assert "合户日期:" in page
    source.refresh_from_db()
    assert source.status == "active" and {m.person for m in source.current_members()} == {head, wife}

    response = client.post(url, good)
    assert response.status_code == 302 and response.url == reverse("registry:household", args=[target.pk])
    source.refresh_from_db()
    assert source.status == "dissolved"
    relations = {m.person.name: m.relation for m in target.current_members()}
    assert relations == {"王老": "02", "王大": "20", "刘二": "38"}


def test_list_pages_read_keys_first_in_list_order(client, area_tree):
    """Pages (web and API) hold the rows plain slicing would, in order, scoped; choices complete."""
    from rest_framework.test import APIClient

    from linli.core.pagination import page_rows

    grid = area_tree["grids"][0]
    names = [f"人{chr(0x4E00 + i)}" for i in range(57)]
    for name in names:
        make_person(grid, name=name)
    make_person(area_tree["grids"][4], name="邻网格")
    worker = make_user("lister", "grid_worker", grid)
    client.force_login(worker)
    everyone = Person.objects.filter(area_path__startswith=grid.path).select_related("area", "house")
    expected = [p.name for p in everyone]  # the default order: area path, pinyin
    assert [p.name for p in page_rows(everyone, 50, 100)] == expected[50:]
    assert page_rows(everyone, 100, 150) == [] and page_rows(everyone.none(), 0, 50) == []

    first = client.get(reverse("registry:persons"))
    second = client.get(reverse("registry:persons"), {"page": 2})
    assert [p.name for p in first.context["object_list"]] == expected[:50]
    assert [p.name for p in second.context["object_list"]] == expected[50:]
    assert "共 57 条" in first.content.decode() and "邻网格" not in second.content.decode()
    # the area filter offers the user's areas (read with a plain query, not a server-side cursor)
    offered = {str(value) for value, _ in first.context["filter"].form.fields["area"].choices if value}
    assert str(grid.pk) in offered and str(area_tree["grids"][4].pk) not in offered

    api = APIClient()
    api.force_authenticate(worker)
    whole = [row["name"] for row in api.get("/api/v1/persons/", {"limit": 100}).json()["results"]]
    page = api.get("/api/v1/persons/", {"limit": 20, "offset": 40}).json()
    assert page["count"] == 57 and sorted(whole) == sorted(expected)
    assert [row["name"] for row in page["results"]] == whole[40:57]


def test_a_short_first_page_is_its_own_count(client, area_tree):
    """A first page with fewer rows than the page size gives the count without a COUNT query
    (for a search, a second pass over its matches); a full or later page still counts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from linli.core.pagination import first_page

    grid = area_tree["grids"][0]
    for i in range(7):
        make_person(grid, name=f"周{chr(0x4E00 + i)}")
    make_person(grid, name="吴甲")
    worker = make_user("counter", "grid_worker", grid)
    client.force_login(worker)
    api = APIClient()
    api.force_authenticate(worker)
    everyone = Person.objects.filter(area_path__startswith=grid.path)
    assert first_page(everyone, 8)[1] == 8 and first_page(everyone, 7)[1] is None
    assert len(first_page(everyone, 7)[0]) == 7 and first_page(everyone.none(), 5) == ([], 0)

    def counted(get) -> tuple[object, bool]:
        with CaptureQueriesContext(connection) as queries:
            response = get()
        return response, any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)

    response, counts = counted(lambda: client.get(reverse("registry:persons"), {"q": "周"}))
    assert (
        not counts and len(response.context["object_list"]) == 7 and response.context["paginator"].count == 7
    )
    response, counts = counted(lambda: api.get("/api/v1/persons/", {"q": "周"}))
    assert not counts and response.json()["count"] == 7 and len(response.json()["results"]) == 7
    response, counts = counted(lambda: api.get("/api/v1/persons/", {"limit": 3}))
    assert counts and response.json()["count"] == 8 and len(response.json()["results"]) == 3
    response, counts = counted(lambda: api.get("/api/v1/persons/", {"limit": 3, "offset": 6}))
    assert counts and response.json()["count"] == 8 and len(response.json()["results"]) == 2
    response, counts = counted(lambda: api.get("/api/v1/persons/", {"q": "无此人"}))
    assert not counts and response.json() == {"count": 0, "next": None, "previous": None, "results": []}
