"""Precomputed community statistics: equal to the live figures, scoped, stamped, refreshed."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from linli.core.testing import make_person, make_user
from linli.dataio import stats, survey
from linli.dataio.models import CommunityStats

from .test_survey import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(area_tree):
    return build(area_tree)


def table_figures(table):
    return [(line.name, line.cells()) for line in table.lines]


def age_rows(**delta):
    CommunityStats.objects.update(computed_at=timezone.now() - dt.timedelta(**delta))


@pytest.mark.parametrize(("role", "where"), [("subdistrict_officer", "subdistricts"), ("district_platform", "district"),
                                             ("community_leader", "communities")])  # fmt: skip
def test_precomputed_figures_equal_the_live_ones(data, role, where):
    area = data[where][0] if isinstance(data[where], list) else data[where]
    user = make_user("u", role, area)
    stats.refresh()
    precomputed = survey.survey(user)
    live = survey.survey(user, on=dt.date.today())
    assert precomputed.snapshot is not None and live.snapshot is None
    assert table_figures(precomputed) == table_figures(live)
    assert any(sum(cells) for _, cells in table_figures(live))  # the fixture has something to count


def test_first_view_computes_the_rows_on_demand(data):
    officer = make_user("so", "subdistrict_officer", data["subdistricts"][0])
    assert not CommunityStats.objects.exists()
    table = survey.survey(officer)
    assert table.snapshot is not None and not table.snapshot.stale
    # Only the officer's own sub-district was computed, one row per community even if empty.
    paths = set(CommunityStats.objects.values_list("path", flat=True))
    assert paths == {c.path for c in data["communities"] if c.path.startswith(data["subdistricts"][0].path)}


def test_communities_nobody_computed_yet_are_computed_when_read(data):
    leader = make_user("cl", "community_leader", data["communities"][0])
    survey.survey(leader)  # computes the leader's community only
    assert CommunityStats.objects.count() == 1
    platform = make_user("dp", "district_platform", data["district"])
    assert table_figures(survey.survey(platform)) == table_figures(
        survey.survey(platform, on=dt.date.today())
    )
    assert CommunityStats.objects.count() == 4


def test_a_reader_sums_only_the_rows_of_their_own_area(data):
    stats.refresh()
    first, second = data["communities"][:2]
    # Tamper with the neighbour's row: nothing of it may reach the first community's leader.
    CommunityStats.objects.filter(path=second.path).update(people=999, households=999)
    leader = make_user("cl", "community_leader", first)
    table = survey.survey(leader)
    assert [line.name for line in table.lines] == [first.name, f"{data['subdistricts'][0].name} 合计"]
    assert table.lines[0].values["people"] == 5 and table.lines[1].values["people"] == 5


def test_figures_are_those_of_the_last_refresh_until_refreshed(data):
    leader = make_user("cl", "community_leader", data["communities"][0])
    stats.refresh()
    make_person(data["grids"][0], name="新来的", population_type="2")
    table = survey.survey(leader)
    assert table.lines[0].values["people"] == 5 and table.lines[0].values["floating"] == 1
    stats.refresh([data["communities"][0].path])
    table = survey.survey(leader)
    assert table.lines[0].values["people"] == 6 and table.lines[0].values["floating"] == 2


def test_old_figures_are_labelled_stale(client, data):
    leader = make_user("cl", "community_leader", data["communities"][0])
    stats.refresh()
    client.force_login(leader)
    html = client.get(reverse("dataio:survey")).content.decode()
    assert (
        'data-testid="stats-stamp"' in html and "数据截至" in html and 'data-testid="stats-stale"' not in html
    )
    age_rows(hours=2)
    assert survey.survey(leader).snapshot.stale
    assert 'data-testid="stats-stale"' in client.get(reverse("dataio:survey")).content.decode()
    CommunityStats.objects.update(on=dt.date.today() - dt.timedelta(days=1), computed_at=timezone.now())
    assert survey.survey(leader).snapshot.stale  # computed yesterday: the age classes have moved on


def test_staff_refresh_recomputes_their_own_area_only(client, data):
    first, second = data["communities"][:2]
    stats.refresh()
    age_rows(hours=2)
    before = dict(CommunityStats.objects.values_list("path", "computed_at"))
    client.force_login(make_user("cl", "community_leader", first))
    response = client.post(reverse("dataio:stats_refresh"), {"back": "survey"})
    assert response.status_code == 302 and response["Location"] == reverse("dataio:survey")
    after = dict(CommunityStats.objects.values_list("path", "computed_at"))
    assert after[first.path] > before[first.path] and after[second.path] == before[second.path]
    assert client.get(reverse("dataio:stats_refresh")).status_code == 405


def test_refresh_is_refused_without_the_report_permission(client, data):
    client.force_login(make_user("cs", "community_staff", data["communities"][0]))
    assert client.post(reverse("dataio:stats_refresh")).status_code == 403


def test_refresh_if_due(data):
    assert stats.refresh_if_due() is True  # nothing computed yet
    assert stats.refresh_if_due() is False
    age_rows(hours=1)
    assert stats.refresh_if_due() is True
    CommunityStats.objects.update(on=dt.date.today() - dt.timedelta(days=1))
    assert stats.refresh_if_due() is True


def test_the_sweep_loop_refreshes_the_statistics(data):
    call_command("sweep", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert CommunityStats.objects.count() == 4  # every community of the fixture's tree, empty ones too


def test_rows_of_vanished_communities_are_deleted(data):
    stats.refresh()
    gone = data["subdistricts"][0].path + "ZZZZ"  # a community key with no area and no residents
    CommunityStats.objects.create(path=gone, on=dt.date.today(), computed_at=timezone.now(), people=3)
    stats.refresh([data["subdistricts"][0].path])
    assert not CommunityStats.objects.filter(path=gone).exists() and CommunityStats.objects.count() == 4


def test_home_reads_the_precomputed_counts(client, data):
    first = data["communities"][0]
    leader = make_user("cl", "community_leader", first)
    client.force_login(leader)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.context["totals"] == {"people": 5, "households": 3, "floating": 1, "communities": 1}
    assert "数据截至" in html and "刷新统计" in html
    make_person(data["grids"][0], name="新来的")
    assert client.get(reverse("home")).context["totals"]["people"] == 5  # until refreshed
    client.post(reverse("dataio:stats_refresh"), {"back": "home"})
    assert client.get(reverse("home")).context["totals"]["people"] == 6


def test_home_of_a_grid_user_is_live(client, data):
    client.force_login(make_user("bh", "building_head", data["grids"][0]))
    response = client.get(reverse("home"))
    assert response.context["snapshot"] is None and "数据截至" not in response.content.decode()
    assert response.context["totals"]["people"] == 3  # 甲, 乙, 己 (a grid user is counted live)
    assert not CommunityStats.objects.exists()


def test_the_download_carries_the_stamp(client, data):
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    client.force_login(make_user("cl", "community_leader", data["communities"][0]))
    response = client.get(reverse("dataio:survey_xlsx"))
    rows = CalamineWorkbook.from_filelike(BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert "数据截至" in rows[1][0] and rows[4][3] == 5
