"""The seed 004 community survey table (社区基本情况调查表) as a one-click report.

Per community, with a total per sub-district: buildings, households, people, poverty households
(a current 低保 or 特困 member), party members, floating population, people aged 60+ and 80+ (from
the birth date, never stored), disabled people and people in the restricted special groups.

Every figure is one aggregate query grouped by the community's path prefix (the first three
levels of ``area_path``) over the rows in the user's scope — no per-person Python. Today's table
reads these figures precomputed per community (:mod:`linli.dataio.stats`), stamped with the time
they were computed; a user scoped below a community (a grid) is counted live.
"""

import datetime as dt
import io
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Substr
from django.utils.translation import gettext

from linli.areas.choices import AreaLevel
from linli.areas.models import Area, Building
from linli.core import permissions
from linli.core.scope import paths_q
from linli.registry.choices import FieldGroup, HouseholdStatus, PersonStatus, PopulationType
from linli.registry.models import GroupMembership, Household, Membership, Person

PERM = "reports.view_survey"
STEP = 4
COMMUNITY_PATH = 3 * STEP  # district → sub-district → community
SUBDISTRICT_PATH = 2 * STEP
POVERTY_GROUPS = ("dibao", "tekun")
PARTY_GROUP = "party_member"
DISABLED_GROUP = "disabled"

COLUMNS = [
    ("buildings", "楼栋数", "Buildings"),
    ("households", "户数", "Households"),
    ("people", "人口数", "People"),
    ("poverty_households", "困难户（低保/特困）", "Poverty households"),
    ("party_members", "党员", "Party members"),
    ("floating", "流动人口", "Floating population"),
    ("aged_60", "60岁以上", "Aged 60+"),
    ("aged_80", "80岁以上", "Aged 80+"),
    ("disabled", "残疾人", "Disabled"),
    ("special", "重点人群", "Special groups"),
]
KEYS = [key for key, _, _ in COLUMNS]


@dataclass
class Line:
    name: str
    path: str
    values: dict[str, int] = field(default_factory=dict)
    total: bool = False

    def cells(self) -> list[int]:
        return [self.values.get(k, 0) for k in KEYS]


@dataclass
class Section:
    subdistrict: Line
    communities: list[Line]


@dataclass
class Survey:
    on: dt.date
    sections: list[Section]
    grand_total: Line | None
    #: When the precomputed figures were computed (:mod:`linli.dataio.stats`); ``None``: all live.
    snapshot: object = None

    @property
    def lines(self) -> list[Line]:
        out = []
        for section in self.sections:
            out += section.communities
            out.append(section.subdistrict)
        if self.grand_total is not None:
            out.append(self.grand_total)
        return out


def _in_force(on: dt.date) -> Q:
    return (Q(start_date__isnull=True) | Q(start_date__lte=on)) & (
        Q(end_date__isnull=True) | Q(end_date__gt=on)
    )


def _member_of(on: dt.date, **group_filter) -> Exists:
    return Exists(GroupMembership.objects.filter(_in_force(on), person=OuterRef("pk"), **group_filter))


def _by_community(queryset, scope: Q) -> dict[str, int]:
    rows = (
        queryset.filter(scope)
        .annotate(community=Substr("area_path", 1, COMMUNITY_PATH))
        .order_by()
        .values("community")
        .annotate(n=Count("pk"))
        .values_list("community", "n")
    )
    return dict(rows)


def figures(paths: list[str], on: dt.date, keys=KEYS) -> dict[str, dict[str, int]]:
    """``{key: {community_path: count}}`` for each column in ``keys``, within ``paths``."""
    scope = paths_q(paths)
    people = Person.objects.current()
    households = Household.objects.filter(status=HouseholdStatus.ACTIVE)

    def poverty_households():
        poor_person = GroupMembership.objects.filter(
            _in_force(on), person=OuterRef("person"), group_type__key__in=POVERTY_GROUPS
        )
        poor_member = Membership.objects.filter(
            household=OuterRef("pk"), end_date__isnull=True, person__status=PersonStatus.ACTIVE
        ).filter(Exists(poor_person))
        return households.filter(Exists(poor_member))

    queries = {
        "buildings": lambda: Building.objects.all(),
        "households": lambda: households,
        "people": lambda: people,
        "poverty_households": poverty_households,
        "party_members": lambda: people.filter(_member_of(on, group_type__key=PARTY_GROUP)),
        "floating": lambda: people.filter(population_type=PopulationType.FLOATING),
        "aged_60": lambda: people.aged(minimum=60, on=on),
        "aged_80": lambda: people.aged(minimum=80, on=on),
        "disabled": lambda: people.filter(_member_of(on, group_type__key=DISABLED_GROUP)),
        "special": lambda: people.filter(_member_of(on, group_type__field_group=FieldGroup.SPECIAL)),
    }
    return {key: _by_community(queries[key](), scope) for key in keys}


def survey(user, on: dt.date | None = None) -> Survey:
    """The table for ``user``'s scope: today's from the precomputed statistics, another day's live."""
    from . import stats

    paths = permissions.scope_paths(user, PERM)
    snapshot = None
    if not paths:
        return Survey(on or dt.date.today(), [], None)
    if on is None:
        data, snapshot = stats.read(paths)
        on = snapshot.on if snapshot else dt.date.today()
    else:
        data = figures(paths, on)
    above = {p[:COMMUNITY_PATH] for p in paths if len(p) > COMMUNITY_PATH}
    communities = list(
        Area.objects.filter(level=AreaLevel.COMMUNITY)
        .filter(paths_q(paths, field="path") | Q(path__in=above))
        .order_by("path")
        .values_list("path", "name")
    )
    subdistricts = dict(
        Area.objects.filter(path__in={p[:SUBDISTRICT_PATH] for p, _ in communities}).values_list(
            "path", "name"
        )
    )
    sections: dict[str, Section] = {}
    for path, name in communities:
        line = Line(name, path, {key: data[key].get(path, 0) for key in KEYS})
        sub_path = path[:SUBDISTRICT_PATH]
        section = sections.get(sub_path)
        if section is None:
            section = sections[sub_path] = Section(
                Line(
                    gettext("%(name)s 合计") % {"name": subdistricts.get(sub_path, "")}, sub_path, total=True
                ),
                [],
            )
        section.communities.append(line)
        for key in KEYS:
            section.subdistrict.values[key] = section.subdistrict.values.get(key, 0) + line.values[key]
    grand = None
    if len(sections) > 1:
        grand = Line(
            "总计", "", {k: sum(s.subdistrict.values[k] for s in sections.values()) for k in KEYS}, True
        )
    return Survey(on, list(sections.values()), grand, snapshot)


def survey_xlsx(table: Survey, *, user, at) -> bytes:
    """The table as a one-sheet workbook, stamped like every export."""
    import xlsxwriter
    from django.utils import timezone

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "in_memory": True})
    sheet = workbook.add_worksheet("社区基本情况")
    title = workbook.add_format({"bold": True, "font_size": 14})
    head = workbook.add_format(
        {"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True, "align": "center"}
    )
    cell = workbook.add_format({"border": 1})
    total = workbook.add_format({"border": 1, "bold": True, "bg_color": "#F4F6FA"})
    note = workbook.add_format({"italic": True, "font_color": "#555555"})
    local = timezone.localtime(at)
    who = getattr(user, "full_name", "") or user.username
    sheet.write_string(0, 0, f"社区基本情况调查表（统计日期 {table.on:%Y-%m-%d}）", title)
    stamp = ""
    if table.snapshot is not None:
        stamp = f" · 数据截至 {timezone.localtime(table.snapshot.computed_at):%Y-%m-%d %H:%M}"
    sheet.write_string(
        1, 0, f"导出人 {who}（{user.username}）· 导出时间 {local:%Y-%m-%d %H:%M:%S}{stamp}", note
    )
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, len(COLUMNS), 11)
    sheet.write_string(3, 0, "社区", head)
    for index, (_, label, _) in enumerate(COLUMNS, start=1):
        sheet.write_string(3, index, label, head)
    row = 4
    for line in table.lines:
        fmt = total if line.total else cell
        sheet.write_string(row, 0, line.name, fmt)
        for index, value in enumerate(line.cells(), start=1):
            sheet.write_number(row, index, value, fmt)
        row += 1
    sheet.set_footer(f"&L导出人 {who.replace('&', '&&')} {local:%Y-%m-%d %H:%M}&R第 &P 页")
    workbook.close()
    return buffer.getvalue()
