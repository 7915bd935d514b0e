"""The seed 004 survey table: aggregate figures per community on a known data set."""

import datetime as dt

import pytest
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.core.testing import make_person, make_user
from linli.dataio import survey
from linli.registry import services
from linli.registry.models import GroupMembership, GroupType, PersonStatus, add_years

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.dataio.tests.urls")]

TODAY = dt.date.today()


def aged(years: int, extra_days: int = 30) -> dt.date:
    return add_years(TODAY, -years) - dt.timedelta(days=extra_days)


def join(person, key, *, start=None, end=None, **detail):
    return GroupMembership.objects.create(
        person=person, group_type=GroupType.objects.get(key=key), area=person.area,
        start_date=start or dt.date(2020, 1, 1), end_date=end, detail=detail,
    )  # fmt: skip


@pytest.fixture
def data(area_tree):
    return build(area_tree)


def build(area_tree):
    """Residents, households and group memberships with known figures (test_stats reuses them)."""
    g = area_tree["grids"]
    a = make_person(g[0], name="甲", birth=aged(85))
    b = make_person(g[0], name="乙", birth=aged(65), sex="2")
    c = make_person(g[1], name="丙", birth=aged(30), population_type="2")
    d = make_person(g[1], name="丁", birth=aged(70))
    e = make_person(g[1], name="戊", birth=aged(90))
    f = make_person(g[0], name="己", birth=aged(40))
    h1 = services.create_household(number="H1", head=a)
    services.move_in(b, household=h1, relation="10", date=TODAY)
    services.create_household(number="H2", head=c)
    services.create_household(number="H3", head=d)
    join(a, "dibao", monthly_amount="600")
    join(c, "party_member")
    join(d, "disabled", category="1", grade="2")
    join(d, "tekun", end=dt.date(2021, 1, 1), support_mode="分散供养")  # ended: no longer poor
    join(f, "community_correction")
    join(c, "party_member", start=TODAY + dt.timedelta(days=10))  # not yet in force; counted once anyway
    e.status = PersonStatus.DECEASED
    e.save()
    g1 = make_person(g[2], name="庚", birth=aged(81))
    make_person(g[3], name="辛", birth=aged(20))
    services.create_household(number="H4", head=g1)
    join(g1, "tekun", support_mode="集中供养")
    make_person(g[4], name="壬", birth=aged(50))
    return area_tree


def figures(line):
    return dict(zip(survey.KEYS, line.cells(), strict=True))


def test_figures_per_community_and_subdistrict(data):
    officer = make_user("so", "subdistrict_officer", data["subdistricts"][0])
    table = survey.survey(officer)
    assert [line.name for line in table.lines] == ["第1-1社区", "第1-2社区", "第1街道 合计"]
    assert figures(table.lines[0]) == {
        "buildings": 2, "households": 3, "people": 5, "poverty_households": 1, "party_members": 1, "floating": 1,
        "aged_60": 3, "aged_80": 1, "disabled": 1, "special": 1,
    }  # fmt: skip
    assert figures(table.lines[1]) == {
        "buildings": 2, "households": 1, "people": 2, "poverty_households": 1, "party_members": 0, "floating": 0,
        "aged_60": 1, "aged_80": 1, "disabled": 0, "special": 0,
    }  # fmt: skip
    assert figures(table.lines[2])["people"] == 7 and figures(table.lines[2])["aged_60"] == 4
    assert table.grand_total is None


def test_district_view_has_a_grand_total(data):
    platform = make_user("dp", "district_platform", data["district"])
    table = survey.survey(platform)
    assert len(table.sections) == 2 and table.grand_total is not None
    assert figures(table.grand_total)["people"] == 8 and figures(table.grand_total)["buildings"] == 8


def test_counts_are_aggregate_queries(data, django_assert_max_num_queries):
    officer = make_user("so", "subdistrict_officer", data["subdistricts"][0])
    survey.survey(officer)  # warms the per-user grant cache outside the measured block
    with django_assert_max_num_queries(12):  # ten figures, the communities, their sub-districts
        survey.survey(officer)


def test_page_and_download(client, data):
    leader = make_user("cl", "community_leader", data["communities"][1])
    client.force_login(leader)
    page = client.get(reverse("dataio:survey"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "第1-2社区" in html and "第1-1社区" not in html
    response = client.get(reverse("dataio:survey_xlsx"))
    assert response.status_code == 200 and "cl" in response["Content-Disposition"]
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_filelike(BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert rows[3][:3] == ["社区", "楼栋数", "户数"] and rows[4][0] == "第1-2社区" and rows[4][3] == 2
    assert "导出人" in rows[1][0]
    assert AuditEvent.objects.get(event="data.export").detail["what"] == "report.community_survey"


def test_staff_without_report_permission_is_refused(client, data):
    staff = make_user("cs", "community_staff", data["communities"][0])
    client.force_login(staff)
    assert client.get(reverse("dataio:survey")).status_code == 403
