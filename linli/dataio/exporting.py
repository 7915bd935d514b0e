"""Export any filtered list — persons, households, houses, buildings — to .csv or .xlsx.

Every export is:

- **scoped**: the list's own filter set applied to rows the user may *view* and *export*
  (``restrict(…, "view")`` and ``restrict(…, "export")``; holding ``registry.export_person`` over
  one community exports that community only);
- **masked**: ID and phone numbers come from the ``*_masked`` columns; the ciphertext columns are
  not even selected, unless the user asked to reveal with a stated purpose *and* holds
  ``registry.reveal_person`` (then the reveal scope narrows the rows too, and it is audited);
- **formula-safe**: a text cell starting with ``= + - @``, tab or CR gets a leading apostrophe;
  xlsx cells are written with ``write_string``, never as formulas;
- **stamped**: user and time in the file name, the first line (CSV) or first row and print
  footer (xlsx);
- **streamed in constant memory**: ``values_list(…).iterator(chunk_size=2000)`` — tuples, no model
  instances; CSV goes out as it is produced, xlsx is built by xlsxwriter in ``constant_memory``
  mode into a temporary file that is streamed and then disappears;
- **recorded** in the audit trail with its row count and filters.
"""

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext

from linli.areas.models import Area, Building, House
from linli.codes import lookup
from linli.core import permissions
from linli.core.scope import paths_q
from linli.registry.choices import HEAD_RELATION, HouseholdStatus, PersonStatus
from linli.registry.filtersets import BuildingFilterSet, HouseFilterSet, HouseholdFilterSet, PersonFilterSet
from linli.registry.models import Household, Membership, Person, age_on

ITER_CHUNK = 2000
CSV_FLUSH_ROWS = 500
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DANGEROUS_FIRST = frozenset(DANGEROUS_PREFIXES)  # each prefix is one character
CONTROL_PARAMS = {"format", "encoding", "reveal", "purpose", "csrfmiddlewaretoken", "page"}


def neutralise(text: str) -> str:
    """Defuse spreadsheet formula injection (OWASP): such a cell is shown, never evaluated."""
    if text and text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


# A renderer is bound once per export (``renderer(export)``) and returns the function that turns
# one database value into a finished cell: labels are looked up, translated and neutralised once
# per export, not once per row (a 1M-row export has 19M cells).
Renderer = Callable[["Export"], Callable[[object], object]]


@dataclass(frozen=True)
class Col:
    """One exported column: a header, the ``values_list`` lookup, and how to print the value."""

    header: str
    lookup: str
    render: Renderer | None = None
    width: int = 12


@dataclass
class ExportSpec:
    key: str
    title: str
    model: type
    filterset: type
    columns: list[Col]
    annotate: Callable = field(default=lambda qs: qs)
    #: Masked column lookup → plaintext lookup, offered to users who may reveal (persons only).
    revealable: dict[str, str] = field(default_factory=dict)

    @property
    def perm(self) -> str:
        return permissions.perm_name(self.model, "export")

    @property
    def reveal_perm(self) -> str:
        return permissions.perm_name(self.model, "reveal")


# -- renderers --------------------------------------------------------------------------------
def code(table: str) -> Renderer:
    def bind(export):
        # Ledgers keep the standard's Chinese names whatever the exporting user reads.
        names = {key: neutralise(name) for key, name in lookup.table(table).items()}
        return lambda value: (names.get(value) or _cell(value)) if value else ""

    return bind


def choice(choices) -> Renderer:
    def bind(export):
        labels = {key: neutralise(str(label)) for key, label in choices}  # lazy labels, translated now
        return lambda value: labels.get(value) or _cell(value)

    return bind


def area_label(export) -> Callable:
    names = {path: neutralise(name) for path, name in export.area_names.items()}
    return lambda value: names.get(value, "")


def age(export) -> Callable:
    today = export.today

    def render(value):
        years = age_on(value, today)
        return "" if years is None else str(years)

    return render


# -- the record types -------------------------------------------------------------------------
def _current_membership(field_name: str):
    return Subquery(
        Membership.objects.filter(person=OuterRef("pk"), end_date__isnull=True).values(field_name)[:1]
    )


def _annotate_persons(qs):
    return qs.annotate(
        x_household=_current_membership("household__number"), x_relation=_current_membership("relation")
    )


def _annotate_households(qs):
    current = Membership.objects.filter(household=OuterRef("pk"), end_date__isnull=True)
    head = current.filter(relation=HEAD_RELATION).values("person__name")[:1]
    size = current.order_by().values("household").annotate(n=Count("pk")).values("n")[:1]
    return qs.annotate(x_head=Subquery(head), x_size=Subquery(size))


SPECS: dict[str, ExportSpec] = {
    spec.key: spec
    for spec in [
        ExportSpec(
            "persons", "人员", Person, PersonFilterSet,
            [
                Col("所属区域", "area_path", area_label, 22),
                Col("户号", "x_household", width=16),
                Col("与户主关系", "x_relation", code("relation")),
                Col("姓名", "name"),
                Col("性别", "sex", code("sex"), 6),
                Col("出生日期", "birth_date"),
                Col("年龄", "birth_date", age, 6),
                Col("身份证号", "id_number_masked", width=22),
                Col("民族", "ethnicity", code("ethnicity"), 8),
                Col("政治面貌", "political_status", code("political_status")),
                Col("学历", "education", code("education")),
                Col("婚姻状况", "marital_status", code("marital_status")),
                Col("联系电话", "phone_masked", width=15),
                Col("人口类型", "population_type", code("population_type")),
                Col("人户状态", "residence_status", code("residence_status")),
                Col("户籍地址", "registered_address", width=30),
                Col("现住地址", "current_address", width=30),
                Col("状态", "status", choice(PersonStatus.choices), 8),
                Col("备注", "note", width=20),
            ],
            annotate=_annotate_persons,
            revealable={"id_number_masked": "id_number", "phone_masked": "phone"},
        ),
        ExportSpec(
            "households", "户", Household, HouseholdFilterSet,
            [
                Col("户号", "number", width=16),
                Col("户别", "household_type", code("household_type")),
                Col("户主", "x_head"),
                Col("现有人数", "x_size", width=8),
                Col("所属区域", "area_path", area_label, 22),
                Col("住房", "house__address", width=30),
                Col("户籍地址", "registered_address", width=30),
                Col("状态", "status", choice(HouseholdStatus.choices), 8),
                Col("备注", "note", width=20),
            ],
            annotate=_annotate_households,
        ),
        ExportSpec(
            "houses", "房屋", House, HouseFilterSet,
            [
                Col("所属区域", "area_path", area_label, 22),
                Col("地址", "address", width=32),
                Col("楼栋", "building__name"),
                Col("单元", "unit__name"),
                Col("室号", "room"),
                Col("楼层", "floor", width=6),
                Col("建筑面积(m²)", "floor_area"),
                Col("用途", "use", code("house_use")),
                Col("产权人", "owner__name"),
                Col("产权人(未登记)", "owner_name"),
                Col("备注", "note", width=20),
            ],
        ),
        ExportSpec(
            "buildings", "楼栋", Building, BuildingFilterSet,
            [
                Col("所属区域", "area_path", area_label, 22),
                Col("楼栋", "name"),
                Col("门牌地址", "street_address", width=30),
                Col("类型", "building_type", choice(Building.BUILDING_TYPES)),
                Col("层数", "floors", width=6),
                Col("建成年份", "built_year", width=8),
                Col("物业公司", "property_company", width=20),
            ],
        ),
    ]
}  # fmt: skip


# -- building one export ----------------------------------------------------------------------
class ExportError(Exception):
    """The request cannot be exported (bad filters, reveal without purpose or permission)."""


@dataclass
class Export:
    """A prepared export: rows to stream and everything the stamp and the audit record need."""

    spec: ExportSpec
    user: object
    queryset: object
    columns: list[Col]
    filters: dict
    revealed: bool
    purpose: str
    at: dt.datetime
    today: dt.date
    area_names: dict[str, str]
    count: int = 0
    cells: list[Callable] = field(default_factory=list)

    @property
    def stamp(self) -> str:
        who = getattr(self.user, "full_name", "") or self.user.username
        local = timezone.localtime(self.at)
        text = (
            f"{self.spec.title}导出 · 导出人 {who}（{self.user.username}）· 导出时间 {local:%Y-%m-%d %H:%M:%S} · "
            f"共 {self.count} 条"
        )
        if self.filters:
            text += " · 筛选条件 " + "；".join(f"{k}={v}" for k, v in self.filters.items())
        if self.revealed:
            text += f" · 含完整证件号码和电话，事由：{self.purpose}"
        return text + " · 内含个人信息，请妥善保管，勿外传"

    def filename(self, extension: str) -> str:
        local = timezone.localtime(self.at)
        return f"{self.spec.title}_{local:%Y%m%d-%H%M%S}_{self.user.username}.{extension}"

    def rows(self) -> Iterator[list]:
        """The cells of each row, rendered and neutralised; tuples from the database, no models."""
        lookups = [c.lookup for c in self.columns]
        cells = self.cells or self.bind()
        for values in self.queryset.values_list(*lookups).iterator(chunk_size=ITER_CHUNK):
            yield [cell(value) for cell, value in zip(cells, values, strict=True)]

    def bind(self) -> list[Callable]:
        """Each column's value-to-cell function. Bound while the request's language is active: a
        streamed CSV is produced after the view has returned, in the default language."""
        self.cells = [c.render(self) if c.render else _cell for c in self.columns]
        return self.cells


def _cell(value):
    if value.__class__ is str:  # most cells: checked first
        return "'" + value if value[:1] in DANGEROUS_FIRST else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | Decimal):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


def filters_of(params) -> dict:
    return {
        k: ",".join(params.getlist(k)) for k in sorted(params) if k not in CONTROL_PARAMS and params.get(k)
    }


def prepare(
    spec: ExportSpec, user, params, *, reveal: bool = False, purpose: str = "", request=None
) -> Export:
    """Scope, filter and (optionally) unmask; raises :class:`ExportError` with a bilingual reason."""
    queryset = permissions.restrict(spec.model._default_manager.all(), user, "view")
    queryset = permissions.restrict(queryset, user, "export")
    purpose = (purpose or "").strip()
    columns = list(spec.columns)
    if reveal:
        if not spec.revealable:
            raise ExportError(gettext("该列表没有可显示的完整信息 (nothing to reveal in this list)"))
        if not permissions.has_perm(user, spec.reveal_perm):
            raise ExportError(gettext("您没有查看完整证件号码的权限 (you may not reveal full numbers)"))
        if len(purpose) < 4:
            raise ExportError(
                gettext("请填写查看完整信息的事由（至少 4 个字） (state the purpose, at least 4 characters)")
            )
        queryset = permissions.restrict(queryset, user, "reveal")
        columns = [
            Col(c.header, spec.revealable[c.lookup], c.render, c.width) if c.lookup in spec.revealable else c
            for c in columns
        ]
    filterset = spec.filterset(data=params, queryset=queryset, request=request)
    if not filterset.is_valid():
        reasons = "；".join(f"{k}: {'、'.join(v)}" for k, v in filterset.errors.items())
        raise ExportError(gettext("筛选条件无效 (invalid filters): %(reasons)s") % {"reasons": reasons})
    queryset = spec.annotate(filterset.qs)
    at = timezone.now()
    export = Export(
        spec=spec, user=user, queryset=queryset, columns=columns, filters=filters_of(params),
        revealed=reveal, purpose=purpose if reveal else "", at=at, today=timezone.localdate(at),
        area_names=area_names(user, spec),
    )  # fmt: skip
    export.count = queryset.count()
    export.bind()
    return export


def area_names(user, spec: ExportSpec) -> dict[str, str]:
    """``area_path`` → "社区 网格" for the areas in the user's export scope (a few thousand at most)."""
    paths = permissions.scope_paths(user, spec.perm)
    if not paths:
        return {}
    # Ancestors too, so a grid-scoped user still sees the community's name.
    prefixes = {p[:n] for p in paths for n in range(4, len(p), 4)}
    areas = Area.objects.filter(paths_q(paths, field="path") | Q(path__in=prefixes)).values_list(
        "path", "name", "level"
    )
    names = {path: (name, level) for path, name, level in areas}
    labels = {}
    for path, (name, level) in names.items():
        if level in ("community", "grid"):
            parts = [names[path[:n]][0] for n in range(12, len(path) + 1, 4) if path[:n] in names]
            labels[path] = " ".join(parts) or name
        else:
            labels[path] = name
    return labels


# -- writers ----------------------------------------------------------------------------------
class _Echo:
    def write(self, value):
        return value


def csv_response(export: Export, *, encoding: str = "utf-8") -> StreamingHttpResponse:
    """Stream the CSV. UTF-8 gets a BOM (Excel needs it to read Chinese); GBK is written as GB18030,
    its superset, so that rare characters in names survive instead of failing the download."""
    codec = "gb18030" if encoding.lower() in ("gbk", "gb2312", "gb18030") else "utf-8"

    def lines() -> Iterator[bytes]:
        writer = csv.writer(_Echo())
        if codec == "utf-8":
            yield b"\xef\xbb\xbf"
        yield writer.writerow([neutralise(export.stamp)]).encode(codec)
        yield writer.writerow([c.header for c in export.columns]).encode(codec)
        buffer = []
        for row in export.rows():
            buffer.append(writer.writerow(row))
            if len(buffer) >= CSV_FLUSH_ROWS:
                yield "".join(buffer).encode(codec)
                buffer = []
        if buffer:
            yield "".join(buffer).encode(codec)

    response = StreamingHttpResponse(
        lines(), content_type=f"text/csv; charset={'gb18030' if codec != 'utf-8' else 'utf-8'}"
    )
    response["Content-Disposition"] = content_disposition_header(True, export.filename("csv"))
    response["Cache-Control"] = "no-store"
    return response


def write_xlsx(export: Export, target) -> int:
    """Write the workbook into ``target`` (a binary file); returns the number of data rows."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "tmpdir": tempfile.gettempdir(),
            "default_date_format": "yyyy-mm-dd",
        },
    )
    who = getattr(export.user, "full_name", "") or export.user.username
    workbook.set_properties({"title": export.filename("xlsx"), "author": who, "comments": export.stamp})
    sheet = workbook.add_worksheet(export.spec.title)
    bold = workbook.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    note = workbook.add_format({"italic": True, "font_color": "#555555"})
    text = workbook.add_format({"num_format": "@"})
    local = timezone.localtime(export.at)
    sheet.set_footer(f"&L导出人 {_footer(who)} {local:%Y-%m-%d %H:%M}&R第 &P 页 / 共 &N 页")
    for index, column in enumerate(export.columns):
        sheet.set_column(index, index, column.width, text)
    sheet.write_string(0, 0, neutralise(export.stamp), note)
    for index, column in enumerate(export.columns):
        sheet.write_string(1, index, column.header, bold)
    sheet.freeze_panes(2, 0)
    row_index = 2
    for row in export.rows():
        for col_index, value in enumerate(row):
            if isinstance(value, str):
                if value:
                    sheet.write_string(row_index, col_index, value)
            else:
                sheet.write_number(row_index, col_index, value)
        row_index += 1
    rows = row_index - 2
    sheet.write_string(row_index + 1, 0, f"共 {rows} 条 · 导出人 {who} · {local:%Y-%m-%d %H:%M:%S}", note)
    workbook.close()
    return rows


def _footer(text: str) -> str:
    return text.replace("&", "&&")


def xlsx_response(export: Export) -> FileResponse:
    """Build the workbook in an anonymous temporary file and stream it; the file vanishes on close."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes it
    write_xlsx(export, handle)
    handle.seek(0)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=export.filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response


def audit(export: Export, fmt: str, request=None) -> None:
    """Record the export (and a reveal, when numbers were unmasked) before any byte leaves."""
    from linli.audit import events, record

    detail = {
        "what": permissions.perm_name(export.spec.model, "view").replace("view_", ""),
        "format": fmt,
        "rows": export.count,
        "filters": export.filters,
        "revealed": export.revealed,
        "file": export.filename(fmt),
    }
    record(events.EXPORT, user=export.user, purpose=export.purpose, detail=detail, request=request)
    if export.revealed:
        record(
            events.REVEAL, user=export.user, purpose=export.purpose, request=request,
            detail={"what": detail["what"], "fields": list(export.spec.revealable.values()), "rows": export.count,
                    "via": "export", "filters": export.filters},
        )  # fmt: skip
