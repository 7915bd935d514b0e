"""Build import files in the tests (no binary fixtures in the repository)."""

import csv
import datetime as dt
import io
import itertools
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from linli.core.validators import compose_id_number
from linli.dataio import jobs
from linli.dataio.persons import COLUMNS

HEADERS = [c.header for c in COLUMNS]
KEYS = [c.key for c in COLUMNS]
_ids = itertools.count(1)


def new_id(birth: dt.date = dt.date(1980, 5, 17), sex: str = "1", region: str = "420106") -> str:
    """A valid ID number, unique within the test run.

    Its region differs from ``core.testing.next_id_number``'s (420105): with the same one, the two
    sequences gave the same number in some test orders (a registry person "matching" an import row).
    """
    n = next(_ids)
    day = birth + dt.timedelta(days=n // 400)
    seq = (n % 400) * 2 + (1 if sex == "1" else 0)
    return compose_id_number(region, day, seq)


def row(household: str, relation: str, name: str, id_number: str | None = None, **values) -> dict:
    data = {
        "household_number": household,
        "relation": relation,
        "name": name,
        "id_number": id_number or new_id(),
    }
    data.update(values)
    return data


def family(number: str, grid: str = "1号网格", *, size: int = 3, **head_values) -> list[dict]:
    """A head with ``size - 1`` members; the head row names the grid, members inherit it."""
    rows = [
        row(
            number,
            "户主",
            f"户主{number[-4:]}",
            grid=grid,
            phone="13800000000",
            ethnicity="汉族",
            **head_values,
        )
    ]
    relations = ["配偶", "子", "女", "母亲"]
    for i in range(size - 1):
        sex = "2" if relations[i % 4] in ("配偶", "女", "母亲") else "1"
        rows.append(row(number, relations[i % 4], f"成员{number[-4:]}{i}", new_id(dt.date(1982, 1, 1), sex)))
    return rows


def table(rows: list[dict], headers: list[str] | None = None) -> list[list]:
    headers = headers or HEADERS
    keys = KEYS if headers is HEADERS else [KEYS[HEADERS.index(h)] if h in HEADERS else h for h in headers]
    return [headers] + [[r.get(k, "") for k in keys] for r in rows]


def csv_bytes(
    rows: list[dict], *, encoding: str = "utf-8", bom: bool = False, headers=None, delimiter=","
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerows(table(rows, headers))
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(
    rows: list[dict] | list[list], *, headers=None, numeric_ids: bool = False, title: str | None = None
) -> bytes:
    """An xlsx written with xlsxwriter; ``numeric_ids`` stores IDs as numbers, as careless Excel users do."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = workbook.add_worksheet()
    start = 0
    if title:
        sheet.write_string(0, 0, title)
        start = 2
    lines = table(rows, headers) if rows and isinstance(rows[0], dict) or not rows else rows
    id_col = HEADERS.index("身份证号")
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            if value in ("", None):
                continue
            if numeric_ids and r and c == id_col and str(value).isdigit():
                sheet.write_number(start + r, c, int(value))
            elif isinstance(value, dt.date):
                sheet.write_datetime(start + r, c, dt.datetime.combine(value, dt.time()),
                                     workbook.add_format({"num_format": "yyyy-mm-dd"}))  # fmt: skip
            else:
                sheet.write_string(start + r, c, str(value))
    workbook.close()
    return buffer.getvalue()


def zip_bytes(parts: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def run_import(user, name: str, content: bytes, *, commit: bool = True, area=None, kind: str = "persons"):
    """Upload → dry run → (commit): the path the pages take, minus HTTP. Returns the job."""
    try:
        job = jobs.create_job(user=user, upload=upload(name, content), kind=kind, area=area)
    except jobs.JobRefused:
        from linli.dataio.models import ImportJob

        return ImportJob.objects.filter(user=user).order_by("-id").first()
    job = jobs.validate(job.pk)
    if commit and job.status == "validated":
        assert jobs.request_commit(job)
        job = jobs.commit(job.pk)
    return job


def errors_of(job) -> list[tuple[int, str, str]]:
    return [tuple(e) for e in job.dry_run.get("errors", [])]
