"""Import spec: the household ledger (户籍台账) — one row per person, grouped into households by 户号.

Rules, beyond each cell's own validity:

- A person is identified by the 18-character citizen ID (GB 11643): an existing live record with
  that ID is updated (upsert), otherwise a new one is created. Blank cells keep what the registry
  has; birth date and sex come from the ID when left blank and must agree with it when given.
- An ID may appear once per file. A name that differs from the registered one is refused (it is
  far more often a mistyped ID than a change of name).
- Every household in the file has exactly one head (relation 02 户主), unless it is already in the
  registry with a head; the import never changes a head or moves a person between households —
  those are life events (变更户主、迁移) done in the registry, with their dates.
- Grid (所属网格) and house (现住房屋) must lie in the importer's scope; member rows may leave the
  grid blank and take their household's.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from linli.core import bulk, history, permissions
from linli.core.models import ObjectChange
from linli.core.validators import IdNumberInfo, parse_id_number
from linli.registry.choices import HEAD_RELATION, HouseholdStatus, PersonStatus
from linli.registry.models import Household, Membership, Person, blind

from .columns import (
    CellError,
    Column,
    check_length,
    load_code_table,
    parse_code,
    parse_date,
    parse_phone_cell,
)
from .importing import Run
from .lookups import GridResolver, HouseResolver, Place
from .reading import cell_text

COLUMNS = [
    Column("household_number", "户号", ("household", "household_no", "household number", "户编号"), required=True,
           max_length=32, example="示例4201050010001", width=18, as_text=True,
           help="同一户的成员填写相同户号；示例行（以“示例”开头）导入时自动跳过"),
    Column("relation", "与户主关系", ("relation", "relationship", "与户主的关系", "关系"), required=True, kind="code",
           table="relation", example="户主", help="GB/T 4761 代码或名称，户主填“户主”或“02”"),
    Column("name", "姓名", ("name", "full name"), required=True, max_length=50, example="张三"),
    Column("id_number", "身份证号", ("id_number", "id", "id number", "公民身份号码", "身份证号码", "证件号码"),
           required=True, kind="id", example="420105198005170016", width=22, as_text=True,
           help="18 位公民身份号码；请把本列设为文本格式，避免 Excel 转成科学计数法"),
    Column("sex", "性别", ("sex", "gender"), kind="code", table="sex", example="男", help="可留空，按身份证号自动填写"),
    Column("ethnicity", "民族", ("ethnicity", "ethnic group", "nation"), kind="code", table="ethnicity", example="汉族"),
    Column("birth_date", "出生日期", ("birth_date", "birthday", "date of birth", "出生年月日"), kind="date",
           example="1980-05-17", help="可留空，按身份证号自动填写"),
    Column("phone", "联系电话", ("phone", "mobile", "telephone", "电话", "手机", "手机号", "手机号码"), kind="phone",
           example="13812345678", width=15, as_text=True),
    Column("political_status", "政治面貌", ("political_status", "political status"), kind="code",
           table="political_status", example="群众"),
    Column("education", "学历", ("education", "文化程度"), kind="code", table="education", example="大学本科毕业"),
    Column("marital_status", "婚姻状况", ("marital_status", "marital status", "婚姻"), kind="code",
           table="marital_status", example="已婚"),
    Column("population_type", "人口类型", ("population_type", "population type"), kind="code",
           table="population_type", example="户籍人口"),
    Column("residence_status", "人户状态", ("residence_status", "residence status"), kind="code",
           table="residence_status", example="人户一致"),
    Column("registered_address", "户籍地址", ("registered_address", "registered address", "户籍地详址", "户籍地"),
           max_length=300, example="湖北省武汉市汉阳区测试路11号", width=30),
    Column("house", "现住房屋", ("house", "current_house", "现住址", "现住地址", "现居住地址", "住址"), kind="house",
           max_length=300, example="1-1-101", width=22, help="楼栋-单元-室（如 3-2-501）或房屋完整地址"),
    Column("grid", "所属网格", ("grid", "网格"), kind="area", example="1号网格", width=16,
           help="网格编码或名称；同名网格请写“社区名 网格名”。户主行必填，成员可留空"),
    Column("household_type", "户别", ("household_type", "household type"), kind="code", table="household_type",
           example="家庭户"),
    Column("note", "备注", ("note", "remark", "remarks", "说明"), max_length=2000, width=20),
]  # fmt: skip

BY_KEY = {c.key: c for c in COLUMNS}
PERSON_CODE_FIELDS = ("sex", "ethnicity", "political_status", "education", "marital_status", "population_type",
                      "residence_status")  # fmt: skip
PERSON_TEXT_FIELDS = ("name", "registered_address", "note")
# Columns Person.derive() recomputes from a field: written only when that field changed.
DERIVED_FROM = {
    "name": ("pinyin", "pinyin_initials", "pinyin_keys", "name_keys"),
    "former_name": ("name_keys",),
    "id_number": ("id_number_masked", "id_number_bidx", "id_tail4_bidx", "id_tail5_bidx", "id_tail6_bidx"),
    "phone": ("phone_masked", "phone_bidx", "phone_tail4_bidx"),
    "area_id": ("area_path",),
}
# Updates are grouped by the set of columns they change; core.bulk.update sends each column as one
# array (it replaced Django's CASE WHEN, whose cost grew with the square of the batch).
UPDATE_BATCH = 1000


@dataclass(slots=True)
class Plan:
    """One valid row, resolved against the registry and ready to write."""

    row: int
    number: str
    relation: str | None  # None: the cell was bad, so the household's shape is uncertain
    values: dict  # Person field -> clean value, only for cells that were filled in
    bidx: str
    grid: Place | None = None
    house_id: int | None = None
    household_type: str = ""
    person: Person | None = None
    membership: tuple | None = None  # (id, household_id, household number, relation)
    changed: list[str] = field(default_factory=list)
    area: Place | None = None  # a new person's grid (its own or its household's), set when released


@dataclass(slots=True)
class Parsed:
    """A chunk's rows with their cells cleaned (no registry yet), and the errors found in them."""

    rows: list[tuple[Plan, str]]  # (plan, the house cell)
    errors: list[tuple[int, Column, str]]


@dataclass(slots=True)
class HouseholdPlan:
    first_row: int
    rows: list[int] = field(default_factory=list)
    heads: list[tuple[int, str]] = field(default_factory=list)  # (row, ID fingerprint)
    grid: Place | None = None
    house_id: int | None = None
    registered_address: str = ""
    household_type: str = ""
    uncertain: bool = False  # a row's relation could not be read: head checks would only add noise
    written: bool = False  # a new household: its row is on its way to the database


@dataclass
class State:
    run: Run
    codes: dict
    grids: GridResolver
    houses: HouseResolver
    seen_ids: dict[str, int] = field(default_factory=dict)
    households: dict[str, HouseholdPlan] = field(default_factory=dict)
    # number -> (id, area id, area path, status, the head's ID fingerprint or None)
    existing_households: dict[str, tuple] = field(default_factory=dict)
    household_ids: dict[str, int] = field(default_factory=dict)  # existing, or drawn for a new one
    ended: bool = False  # every row has been checked (finish)
    today: dt.date = field(default_factory=dt.date.today)
    new_person: Callable[[dict], Person] = field(default_factory=lambda: bulk.maker(Person))
    new_household: Callable[[dict], Household] = field(default_factory=lambda: bulk.maker(Household))
    connection: object = None  # the commit's database connection (prepare_write)


@dataclass(slots=True)
class Keys:
    persons: list[int]
    memberships: list[int]
    households: list[str]  # the numbers of the new households written with the chunk


@dataclass(slots=True)
class Batch:
    """A chunk ready to send: its plans, what it creates and the rows that create it."""

    plans: list[Plan]
    persons_created: int
    memberships_created: int
    households_created: int
    loads: list[bulk.Load]


class PersonHouseholdSpec:
    key = "persons"
    title = gettext_noop("人员及户（户籍台账）")  # translated where shown; exports keep Chinese
    title_en = "Persons with households"
    file_stem = "人员及户导入模板"
    perm = "registry.import_person"
    columns = COLUMNS
    written_models = (Person, Household, Membership, ObjectChange)
    # What a commit's checks look up in the tables it writes: statistics of these columns are
    # refreshed as an import grows them (the planner then keeps to the indexes).
    queried_fields = {
        Person: ("id_number_bidx", "status"),
        Membership: ("person", "household", "relation", "end_date"),
        Household: ("number",),
    }

    def start(self, run: Run) -> State:
        tables = {c.table for c in COLUMNS if c.kind == "code"}
        return State(
            run=run,
            codes={t: load_code_table(t) for t in tables},
            grids=GridResolver(run.scope_paths),
            houses=HouseResolver(run.scope_paths),
        )

    # -- checking ---------------------------------------------------------------------------
    def parse(self, state: State, chunk: list[tuple[int, dict]]) -> Parsed:
        """Every cell of a chunk cleaned. No query and nothing shared written: it runs in the
        worker thread while the chunk before is checked against the registry."""
        parsed = Parsed([], [])
        for number, raw in chunk:
            plan, house_text = self._parse_row(state, number, raw, parsed.errors)
            if plan is not None:
                parsed.rows.append((plan, house_text))
        return parsed

    def verify(self, state: State, parsed: Parsed) -> list[Plan]:
        """A parsed chunk against the registry and the rest of the file: its valid plans."""
        run = state.run
        for row, column, message in parsed.errors:
            run.error(row, column, message)
        self._resolve_houses(state, parsed.rows)
        plans = [p for p, _ in parsed.rows]
        self._match_registry(state, plans)
        self._match_households(state, plans)
        valid = []
        for plan in plans:
            self._track(state, plan)
            if plan.row in run.report.error_rows:
                continue
            if self._check_existing(state, plan):
                valid.append(plan)
        if not run.writing:  # a commit counts what it writes
            for plan in valid:
                self._count(run, plan)
        return valid

    def _parse_row(
        self, state: State, number: int, raw: dict, errors: list[tuple[int, Column, str]]
    ) -> tuple[Plan | None, str]:
        """Clean every cell of a row. A row with errors still yields a plan (marked bad) when it
        names a household, so that the checks across the file see it: a head row with a bad phone
        number must not also make its household look headless."""
        text = {key: cell_text(value) for key, value in raw.items()}
        values: dict = {}
        failed: set[str] = set()

        def fail(key: str, message: str) -> None:
            failed.add(key)
            errors.append((number, BY_KEY[key], message))

        for column in COLUMNS:
            if column.required and not text.get(column.key):
                fail(
                    column.key,
                    gettext("%(header)s不能为空 (%(key)s is required)")
                    % {"header": column.header, "key": column.key},
                )
        info: IdNumberInfo | None = None
        if text.get("id_number"):
            try:
                info = parse_id_number(text["id_number"], today=state.today)
            except ValidationError as exc:
                fail("id_number", exc.messages[0])
        codes: dict[str, str] = {}
        for column in COLUMNS:
            value = text.get(column.key, "")
            if not value:
                continue
            try:
                if column.kind == "code":
                    codes[column.key] = parse_code(column, state.codes[column.table], value)
                elif column.kind == "date":
                    values[column.key] = parse_date(raw[column.key], column)
                elif column.kind == "phone":
                    values["phone"] = parse_phone_cell(value)
                elif column.key in PERSON_TEXT_FIELDS:
                    values[column.key] = check_length(column, value)
                elif column.key in ("household_number", "house"):
                    check_length(column, value)
            except CellError as exc:
                fail(column.key, str(exc))
        relation = codes.pop("relation", None)
        household_type = codes.pop("household_type", "")
        values.update(codes)
        if info is not None:
            values["id_number"] = info.number
            given_sex = values.get("sex")
            if given_sex and given_sex != info.sex:
                fail("sex", gettext("性别与身份证号第 17 位不一致 (sex disagrees with the ID number)"))
            values["sex"] = info.sex
            birth = values.get("birth_date")
            if birth and birth != info.birth_date:
                fail(
                    "birth_date",
                    gettext(
                        "出生日期 %(birth)s 与身份证号中的 %(birth_date)s 不一致 (birth date disagrees with the ID number)"
                    )
                    % {"birth": format(birth, "%Y-%m-%d"), "birth_date": format(info.birth_date, "%Y-%m-%d")},
                )
            values["birth_date"] = info.birth_date
        grid = None
        if text.get("grid"):
            try:
                grid = state.grids.resolve(text["grid"])
            except CellError as exc:
                fail("grid", str(exc))
        if not text.get("household_number") or "household_number" in failed:
            return None, ""
        plan = Plan(
            row=number,
            number=text["household_number"],
            relation=relation,
            values=values,
            bidx=blind("id", info.number) if info is not None else "",
            grid=grid,
            household_type=household_type,
        )
        return plan, text.get("house", "")

    def _resolve_houses(self, state: State, parsed: list[tuple[Plan, str]]) -> None:
        texts = {house for _, house in parsed if house}
        if not texts:
            return
        candidates = state.houses.lookup(texts)
        for plan, house in parsed:
            if not house:
                continue
            try:
                hit = HouseResolver.choose(
                    house, candidates.get(house, []), plan.grid.id if plan.grid else None
                )
            except CellError as exc:
                state.run.error(plan.row, BY_KEY["house"], str(exc))
                continue
            if hit is None:
                plan.values["current_address"] = house
            else:
                plan.house_id = hit.id
                plan.values["house_id"] = hit.id
                plan.values["current_address"] = hit.address
                if plan.grid is None:
                    plan.grid = state.grids.by_id.get(hit.area_id)

    def _match_registry(self, state: State, plans: list[Plan]) -> None:
        """Attach the existing live person (by ID fingerprint) and their current membership."""
        if not plans:
            return
        by_bidx = {p.bidx: p for p in plans if p.bidx}
        people = (
            Person.objects.filter(bulk.among(Person, "id_number_bidx", list(by_bidx)))
            .exclude(status=PersonStatus.MERGED)
            .order_by()  # a lookup: the lists' order would only add a sort
        )
        for person in people:
            by_bidx[person.id_number_bidx].person = person
        person_ids = [p.person.pk for p in plans if p.person is not None]
        if person_ids:
            current = Membership.objects.filter(person_id__in=person_ids, end_date__isnull=True).values_list(
                "person_id", "id", "household_id", "household__number", "relation"
            )
            by_person = {row[0]: row[1:] for row in current}
            for plan in plans:
                if plan.person is not None:
                    plan.membership = by_person.get(plan.person.pk)

    def _match_households(self, state: State, plans: list[Plan]) -> None:
        """The registry's households for the numbers this chunk names first, with their heads."""
        numbers = {p.number for p in plans if p.number not in state.households}
        if not numbers:
            return
        rows = Household.objects.filter(bulk.among(Household, "number", list(numbers))).order_by().values_list(
            "id", "number", "area_id", "area_path", "status"
        )  # fmt: skip
        found = {number: (pk, area_id, path, status) for pk, number, area_id, path, status in rows}
        if not found:
            return
        heads = dict(
            Membership.objects.filter(
                household_id__in=[v[0] for v in found.values()], relation=HEAD_RELATION, end_date__isnull=True
            ).values_list("household_id", "person__id_number_bidx")
        )
        for number, (pk, area_id, path, status) in found.items():
            state.existing_households[number] = (pk, area_id, path, status, heads.get(pk))
            state.household_ids[number] = pk

    def _track(self, state: State, plan: Plan) -> None:
        """Cross-file facts: duplicate IDs and the shape of each household."""
        if plan.bidx:
            first = state.seen_ids.get(plan.bidx)
            if first is not None:
                state.run.error(
                    plan.row,
                    BY_KEY["id_number"],
                    f"与第 {first} 行的身份证号重复 (duplicate ID number in this file)",
                )
            else:
                state.seen_ids[plan.bidx] = plan.row
        household = state.households.get(plan.number)
        if household is None:
            household = state.households[plan.number] = HouseholdPlan(first_row=plan.row)
        household.rows.append(plan.row)
        if plan.relation is None:
            household.uncertain = True
        elif plan.relation == HEAD_RELATION:
            household.heads.append((plan.row, plan.bidx))
            household.grid = plan.grid
            household.house_id = plan.house_id
            household.registered_address = plan.values.get("registered_address", "")
            household.household_type = plan.household_type

    def _check_existing(self, state: State, plan: Plan) -> bool:
        """Rules that involve the person's current registry record; records what would change."""
        run = state.run
        person = plan.person
        if plan.grid is not None and not permissions.covers(run.scope_paths, plan.grid.path):
            run.error(plan.row, BY_KEY["grid"], "网格不在您的管辖范围内 (the grid is outside your scope)")
            return False
        if person is None:
            return True
        if not permissions.covers(run.scope_paths, person.area_path):
            run.error(
                plan.row, BY_KEY["id_number"],
                "该身份证号已在其他辖区登记，请联系所在社区核实 (registered in an area outside your scope)",
            )  # fmt: skip
            return False
        if person.status != PersonStatus.ACTIVE:
            run.error(
                plan.row, BY_KEY["id_number"],
                f"该人员在系统中的状态为“{person.get_status_display()}”，请在系统中办理迁入等变动 "
                "(the person is not active in the registry; record a life event instead)",
            )  # fmt: skip
            return False
        if plan.values.get("name") and plan.values["name"] != person.name:
            run.error(
                plan.row, BY_KEY["name"],
                f"该身份证号在系统中登记的姓名为“{person.name}”，与本行不一致，请核对身份证号 "
                "(the name differs from the registered person with this ID)",
            )  # fmt: skip
            return False
        if plan.membership is not None:
            _, _, number, relation = plan.membership
            if number != plan.number:
                run.error(
                    plan.row, BY_KEY["household_number"],
                    f"该人员目前是户号 {number} 的成员，迁移请在系统中办理 (already a member of another household)",
                )  # fmt: skip
                return False
            if relation == HEAD_RELATION and plan.relation != HEAD_RELATION:
                run.error(
                    plan.row, BY_KEY["relation"],
                    "该人员是本户户主，变更户主请在系统中办理 (the person is the head; change heads in the registry)",
                )  # fmt: skip
                return False
        plan.changed = [
            name for name, value in self._person_values(plan).items() if getattr(person, name) != value
        ]
        return True

    @staticmethod
    def _person_values(plan: Plan) -> dict:
        values = dict(plan.values)
        if plan.grid is not None:
            values["area_id"] = plan.grid.id
        return values

    def _count(self, run: Run, plan: Plan) -> None:
        if plan.person is None:
            run.report.count("persons_created")
        elif plan.changed:
            run.report.count("persons_updated")
        else:
            run.report.count("persons_unchanged")
        if plan.membership is None:
            run.report.count("memberships_created")
        elif plan.membership[3] != plan.relation:
            run.report.count("memberships_updated")

    def finish(self, state: State) -> None:
        """Checks across the file: one head per household, households in scope and consistent."""
        run = state.run
        state.ended = True
        column = BY_KEY["household_number"]
        for number, household in state.households.items():
            rows = "、".join(str(r) for r in household.rows[:10]) + (
                " 等" if len(household.rows) > 10 else ""
            )
            existing = state.existing_households.get(number)
            if existing is not None:
                pk, area_id, path, status, head_bidx = existing
                if not permissions.covers(run.scope_paths, path):
                    run.error(household.first_row, column,
                              f"户号 {number} 已在其他辖区登记 (the household exists outside your scope)")  # fmt: skip
                    continue
                if status != HouseholdStatus.ACTIVE:
                    run.error(
                        household.first_row, column, f"户号 {number} 已注销 (the household is dissolved)"
                    )
                    continue
            else:
                head_bidx = None
            if household.uncertain and len(household.heads) <= 1:
                continue
            if len(household.heads) > 1:
                head_rows = "、".join(str(r) for r, _ in household.heads)
                for row, _ in household.heads:
                    run.error(row, BY_KEY["relation"],
                              f"户号 {number} 有 {len(household.heads)} 名户主（第 {head_rows} 行），一户只能有一名户主 "
                              "(a household has exactly one head)")  # fmt: skip
            elif not household.heads and head_bidx is None:
                run.error(household.first_row, BY_KEY["relation"],
                          f"户号 {number} 没有户主（第 {rows} 行），请为该户填写一名“户主” (the household has no head)")  # fmt: skip
            elif household.heads and head_bidx is not None and household.heads[0][1] != head_bidx:
                run.error(household.heads[0][0], BY_KEY["relation"],
                          f"户号 {number} 在系统中已有户主，与本行不一致；变更户主请在系统中办理 "
                          "(the household already has another head)")  # fmt: skip
            elif (
                household.grid is None
                and existing is None
                and household.heads[0][0] not in run.report.error_rows
            ):
                run.error(household.heads[0][0], BY_KEY["grid"],
                          "新建户的户主行须填写所属网格或可识别的现住房屋 (a new household needs its grid)")  # fmt: skip
        if run.report.ok and not run.writing:
            created = sum(1 for n in state.households if n not in state.existing_households)
            run.report.count("households_created", created)

    # -- writing ------------------------------------------------------------------------------
    # A chunk that passed is written in three steps (see importing._Writer): keys drawn (a query),
    # rows built (CPU only, in the worker thread, while the previous chunk is sent) and rows sent.
    # A new household is written with the chunk of its head row, when its grid, house and type are
    # known; members listed before it take its key already (foreign keys are checked at commit).
    def prepare_write(self, state: State) -> None:
        state.connection = connections[router.db_for_write(Person)]
        # The history rows name their content types; looked up (and cached) here, not in build().
        ContentType.objects.get_for_models(Person, Membership, Household)
        state.run.report.count("households_created", 0)  # reported even when none is new

    @staticmethod
    def _household_grid(state: State, number: str) -> Place | None:
        """The grid a member without one takes: its head row's, else the registered household's.

        ``None`` while a head row may still come, and for a new household without a grid (an error).
        """
        household = state.households[number]
        if household.grid is not None:
            return household.grid
        existing = state.existing_households.get(number)
        if existing is not None and (household.heads or state.ended):
            return Place(existing[1], existing[2], "")
        return None

    def release(self, state: State, plans: list[Plan]) -> tuple[list[Plan], list[Plan]]:
        """A new person without a grid of its own waits until its household's grid is known."""
        ready, waiting = [], []
        for plan in plans:
            if plan.person is None:
                plan.area = plan.grid or self._household_grid(state, plan.number)
                if plan.area is None:
                    waiting.append(plan)
                    continue
            ready.append(plan)
        return ready, waiting

    @staticmethod
    def stash(plans: list[Plan]) -> list[tuple]:
        """Waiting plans (new persons: nothing from the registry) as tuples."""
        return [
            (p.row, p.number, p.relation, p.values, p.bidx, p.grid.id if p.grid else None, p.house_id,
             p.household_type)
            for p in plans
        ]  # fmt: skip

    def restore(self, state: State, stashed: list[tuple]) -> list[Plan]:
        grids = state.grids.by_id
        plans = [
            Plan(row, number, relation, values, bidx, grids[grid] if grid is not None else None, house_id,
                 household_type)
            for row, number, relation, values, bidx, grid, house_id, household_type in stashed
        ]  # fmt: skip
        ready, waiting = self.release(state, plans)
        if waiting:  # finish() reported these households; the commit does not get here
            raise RuntimeError(f"no grid for row {waiting[0].row} after the checks")
        return ready

    def reserve(self, state: State, plans: list[Plan]) -> Keys:
        """Keys for the chunk's new persons, memberships and households, drawn before its rows are built."""
        households = []
        for plan in plans:
            if plan.relation != HEAD_RELATION or plan.number in state.existing_households:
                continue
            household = state.households[plan.number]
            if not household.written and household.grid is not None:
                household.written = True
                households.append(plan.number)
        # A new household's key: drawn for its first membership, which may come before its row.
        needed = [p.number for p in plans if p.membership is None] + households
        unkeyed = [n for n in dict.fromkeys(needed) if n not in state.household_ids]
        state.household_ids.update(zip(unkeyed, bulk.draw_keys(Household, len(unkeyed)), strict=True))
        return Keys(
            persons=bulk.draw_keys(Person, sum(1 for p in plans if p.person is None)),
            memberships=bulk.draw_keys(Membership, sum(1 for p in plans if p.membership is None)),
            households=households,
        )

    def build(self, state: State, plans: list[Plan], keys: Keys) -> Batch:
        """The new persons and memberships of a chunk as rows for the database, with their history.

        Runs in the worker thread: no query here (``importing._in_worker`` makes one fail), nothing
        shared is changed.
        """
        created: dict[int, Person] = {}
        for plan in plans:
            if plan.person is None:
                values = self._person_values(plan)
                values["area_id"], values["area_path"] = plan.area.id, plan.area.path
                person = state.new_person(values)
                person.derive()
                created[plan.row] = person
        connection = state.connection
        loads = history.creation_loads(Person, list(created.values()), keys.persons, connection=connection)
        memberships, names = [], []
        for plan in plans:
            if plan.membership is None:
                person = plan.person or created[plan.row]
                # Column values, not instances: two model instances per row (the membership and a
                # household for its history line) cost more than the rest of the write.
                memberships.append({
                    "household_id": state.household_ids[plan.number], "person_id": person.pk,
                    "relation": plan.relation, "start_date": state.today, "end_date": None, "end_reason": "",
                })  # fmt: skip
                names.append(f"{person} ∈ {plan.number}")  # what str(Membership) prints
        loads += history.value_creation_loads(
            Membership, memberships, keys.memberships, names, connection=connection
        )
        households = []
        for number in keys.households:
            household = state.households[number]
            households.append(
                state.new_household({
                    "number": number, "area_id": household.grid.id, "area_path": household.grid.path,
                    "house_id": household.house_id, "registered_address": household.registered_address,
                    "household_type": household.household_type or "1",
                })
            )  # fmt: skip
        if households:
            loads += history.creation_loads(
                Household,
                households,
                [state.household_ids[n] for n in keys.households],
                connection=connection,
            )
        return Batch(plans, len(created), len(memberships), len(households), loads)

    def send(self, state: State, batch: Batch) -> None:
        """Write a built chunk, then the changes to persons and memberships already registered."""
        run = state.run
        for load in batch.loads:
            bulk.send(load, connection=state.connection)
        if batch.persons_created:
            run.report.count("persons_created", batch.persons_created)
        if batch.memberships_created:
            run.report.count("memberships_created", batch.memberships_created)
        if batch.households_created:
            run.report.count("households_created", batch.households_created)
        now = timezone.now()
        updated: dict[tuple[str, ...], list[Person]] = {}
        for plan in batch.plans:
            person = plan.person
            if person is None:
                continue
            if not plan.changed:
                run.report.count("persons_unchanged")
                continue
            values = self._person_values(plan)
            for name in plan.changed:
                setattr(person, name, values[name])
            if "area_id" in plan.changed:  # only ever from the row's own grid
                person.area_path = plan.grid.path
            person.derive()
            person.version += 1
            person.updated_at = now
            columns = {"area" if f == "area_id" else "house" if f == "house_id" else f for f in plan.changed}
            for name in plan.changed:
                columns.update(DERIVED_FROM.get(name, ()))
            updated.setdefault(tuple(sorted(columns | {"version", "updated_at"})), []).append(person)
        for fields, people in updated.items():
            history.bulk_update(people, list(fields), batch_size=UPDATE_BATCH)
            run.report.count("persons_updated", len(people))
        wanted = {
            plan.membership[0]: plan.relation
            for plan in batch.plans
            if plan.membership is not None and plan.membership[3] != plan.relation
        }
        if wanted:
            rows = list(Membership.objects.filter(pk__in=list(wanted)))
            for membership in rows:
                membership.relation = wanted[membership.pk]
            history.bulk_update(rows, ["relation"], batch_size=UPDATE_BATCH)
            run.report.count("memberships_updated", len(rows))


SPECS = {PersonHouseholdSpec.key: PersonHouseholdSpec()}
