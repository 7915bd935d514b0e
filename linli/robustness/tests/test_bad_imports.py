"""The bad-input corpus posted to the import page over HTTP (upload → check → no commit possible).

The reasons themselves are tested in linli/dataio/tests/test_import_bad.py against the job layer;
here the same kinds of files, and the form-corpus values placed in cells, go through the real view:
each is refused with a Chinese message (on the form, or as row + column in the job's report),
nothing is written, nothing answers 500. The valid file at the end is the control.
"""

import datetime as dt

import pytest

from linli import robustness
from linli.core.testing import login_as, make_user
from linli.dataio.models import ImportJob
from linli.dataio.tests.builders import csv_bytes, family, new_id, xlsx_bytes, zip_bytes

from .corpus import FUTURE, REFUSED

pytestmark = pytest.mark.django_db


def _cell(column_key: str, value: str):
    def build():
        rows = family("4201050010001")
        rows[1][column_key] = value
        return "台账.csv", csv_bytes(rows)

    return build


def _xlsx_cell(column_key: str, value: str):
    def build():
        rows = family("4201050010001")
        rows[1][column_key] = value
        return "台账.xlsx", xlsx_bytes(rows)

    return build


#: (label, builder, column the report must name, or None for a refusal of the whole file)
CELLS = [
    # A NUL byte makes a CSV binary: refused as a whole file (column None), which is fine too.
    *[
        (f"身份证号: {label}", _cell("id_number", v), None if "\x00" in v else "身份证号")
        for label, v in REFUSED["id_number"]
    ],
    (
        "身份证号: full-width with a bad check digit",
        _cell("id_number", "４２０１０５１９８００５１７００１２"),
        "身份证号",
    ),
    (
        "身份证号: Excel number in xlsx",
        lambda: ("台账.xlsx", xlsx_bytes(family("4201050010001"), numeric_ids=True)),
        "身份证号",
    ),  # fmt: skip
    *[
        (f"出生日期: {label}", _cell("birth_date", v), "出生日期")
        for label, v in REFUSED["date"]
        if "\x00" not in v
    ],
    ("出生日期: future birth", _cell("birth_date", FUTURE), "出生日期"),
    *[
        (f"联系电话: {label}", _cell("phone", v), None if "\x00" in v else "联系电话")
        for label, v in REFUSED["phone"]
    ],
    ("姓名: over-long", _cell("name", "长" * 300), "姓名"),
    ("姓名: NUL byte", _cell("name", "张\x00三"), None),
    ("姓名: NUL byte in xlsx", _xlsx_cell("name", "张\x00三"), "姓名"),
    ("姓名: control characters", _xlsx_cell("name", "张\x01三"), "姓名"),
    ("民族: SQL fragment", _cell("ethnicity", "01'; DROP TABLE registry_person; --"), "民族"),
    ("与户主关系: HTML", _cell("relation", "<script>alert(1)</script>"), "与户主关系"),
]
FILES = [
    ("UTF-16 text", lambda: ("台账.csv", "户号,姓名\n".encode("utf-16"))),
    ("undecodable bytes", lambda: ("台账.csv", b"\xff\xfe\xfd\x80\x81 not gbk \xff")),
    ("binary as csv", lambda: ("台账.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))),
    ("xlsm macros", lambda: ("台账.xlsm", xlsx_bytes(family("4201050010001")))),
    (
        "macro disguised as xlsx",
        lambda: (
            "台账.xlsx",
            zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/vbaProject.bin": b"\x00" * 64}),
        ),
    ),  # fmt: skip
    (
        "zip bomb",
        lambda: (
            "台账.xlsx",
            zip_bytes(
                {"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": b"\x00" * (8 * 1024 * 1024)}
            ),
        ),
    ),  # fmt: skip
    (
        "XML entity expansion",
        lambda: (
            "台账.xlsx",
            zip_bytes(
                {
                    "[Content_Types].xml": b"<Types/>",
                    "xl/sharedStrings.xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                    b"<sst>&b;</sst>",
                }
            ),
        ),
    ),  # fmt: skip
    ("not a zip", lambda: ("台账.xlsx", b"just text")),
    ("legacy xls", lambda: ("台账.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)),
    ("wrong extension", lambda: ("台账.pdf", b"%PDF-1.4")),
    ("empty", lambda: ("台账.csv", b"")),
    ("path traversal name", lambda: ("../../etc/passwd.csv", csv_bytes([]))),
    (
        "over the size limit",
        lambda: ("台账.csv", csv_bytes(family("4201050010001")) + b"x" * (1024 * 1024 + 10)),
    ),
]


@pytest.fixture
def importer(area_tree, media, settings):
    settings.LINLI_IMPORT_MAX_MB = 1
    return login_as(make_user("importer", "community_staff", area_tree["communities"][0], full_name="王社工"))


def snapshot():
    from linli.core.models import ObjectChange
    from linli.registry.models import Household, Membership, Person

    return {m.__name__: m.objects.count() for m in (Person, Household, Membership, ObjectChange)}


def post(client, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/io/import/", {"kind": "persons", "file": SimpleUploadedFile(name, content)})


def refused(client, label, name, content):
    """Post, then try to commit whatever job came of it; returns the job (None: refused on the form)."""
    before = snapshot()
    response = post(client, name, content)
    assert response.status_code in (200, 302, 413), f"{label}: answered {response.status_code}"
    job = ImportJob.objects.order_by("-id").first()
    if response.status_code == 302:
        assert client.post(f"/io/import/jobs/{job.pk}/commit/").status_code < 500
        job.refresh_from_db()
        assert job.status == "failed", f"{label}: {job.status} {job.message}"
        assert job.message and any("\u4e00" <= ch <= "\u9fff" for ch in job.message), (
            f"{label}: {job.message}"
        )
        page = client.get(f"/io/import/jobs/{job.pk}/")
        assert page.status_code == 200 and "<script>alert(1)" not in page.content.decode()
    elif response.status_code == 200:
        assert "file" in response.context["form"].errors, f"{label}: no error on the file"
    assert snapshot() == before, f"{label}: something was written"
    return job if response.status_code == 302 else None


@pytest.mark.parametrize("label,build,column", CELLS, ids=[c[0] for c in CELLS])
def test_bad_cells_are_reported_by_row_and_column(importer, label, build, column):
    job = refused(importer, label, *build())
    if column is None:
        assert job is None or not job.dry_run.get("errors"), f"{label}: expected a refusal of the file"
        robustness.tally("imports", "persons (cells)")
        return
    assert job is not None, f"{label}: refused as a file, expected a row error"
    errors = [tuple(e) for e in job.dry_run.get("errors", [])]
    assert (3, column) in [e[:2] for e in errors] or (
        column == "身份证号" and any(e[1] == column for e in errors)
    ), f"{label}: {errors}"
    robustness.tally("imports", "persons (cells)")


@pytest.mark.parametrize("label,build", FILES, ids=[f[0] for f in FILES])
def test_bad_files_are_refused(importer, label, build):
    refused(importer, label, *build())
    robustness.tally("imports", "persons (files)")


def test_the_valid_file_is_imported(importer):
    """The control: the same family, valid, goes through the same page and is written."""
    rows = family("4201050010001")
    rows.append({**rows[1], "name": "新成员", "id_number": new_id(dt.date(2001, 2, 3)), "relation": "子"})
    response = post(importer, "台账.csv", csv_bytes(rows))
    job = ImportJob.objects.order_by("-id").first()
    assert response.status_code == 302 and job.status == "validated", job.message
    importer.post(f"/io/import/jobs/{job.pk}/commit/")
    job.refresh_from_db()
    assert job.status == "done" and job.created_count == 4
