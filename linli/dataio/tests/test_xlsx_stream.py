"""The streaming .xlsx reader gives the importer the same rows as python-calamine."""

import datetime as dt
import io
import zipfile

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from linli.dataio.reading import Source, cell_text
from linli.dataio.safety import XLSX, UnsafeFile
from linli.dataio.xlsx_stream import Workbook, XlsxError

from .builders import family, run_import, xlsx_bytes, zip_bytes

pytestmark = pytest.mark.django_db


def awkward_workbook(path, *, constant_memory: bool) -> None:
    """Every kind of cell the importer meets, starting at B3 (calamine then drops column A)."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "strings_to_numbers": False})
    sheet = book.add_worksheet("人员")
    iso = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy/m/d h:mm"})
    builtin = book.add_format({"num_format": 14})
    chinese = book.add_format({"num_format": '[$-804]yyyy"年"m"月"d"日"'})
    percent = book.add_format({"num_format": "0.00%"})
    text = book.add_format({"num_format": "@"})
    sheet.write_string(2, 1, "姓名")
    sheet.write_string(2, 2, "x&<y> \u00a0 ")
    sheet.write_number(3, 1, 4.201051980051713e17)  # an 18-digit ID typed as a number
    sheet.write_number(3, 2, 13812345678)
    sheet.write_number(3, 3, 1.5)
    sheet.write_boolean(3, 4, True)
    sheet.write_datetime(4, 1, dt.datetime(1990, 5, 17), iso)
    sheet.write_datetime(4, 2, dt.datetime(1990, 5, 17, 13, 30), stamp)
    sheet.write_datetime(4, 3, dt.datetime(2001, 1, 2), builtin)
    sheet.write_number(4, 4, 0.25, percent)
    sheet.write_string(4, 5, "0012", text)
    sheet.write_datetime(4, 6, dt.datetime(1985, 3, 4), chinese)
    sheet.write_formula(6, 1, "=1+1", None, 2)
    sheet.write_formula(6, 2, '="a"&"b"', None, "ab")
    sheet.write_string(8, 1, "张\x00三_x0041_\n二行")
    sheet.write_number(8, 2, -0.0)
    sheet.write_number(8, 3, 1e20)
    sheet.write_number(8, 7, 42)
    book.close()


def calamine_rows(path) -> list[tuple[int, list]]:
    """calamine's non-blank rows, re-based on column A and without trailing empty cells."""
    with CalamineWorkbook.from_path(str(path)) as book:
        sheet = book.get_sheet_by_index(0)
        offset = sheet.start[1]
        return [
            (number, _trim([""] * offset + cells))
            for number, cells in enumerate(sheet.iter_rows(), start=1)
            if any(cell != "" for cell in cells)
        ]


def stream_rows(path) -> list[tuple[int, list]]:
    book = Workbook(path)
    try:
        return [(number, _trim(cells)) for number, cells in book.rows()]
    finally:
        book.close()


def _trim(cells: list) -> list:
    cells = list(cells)
    while cells and cells[-1] == "":
        cells.pop()
    return cells


@pytest.mark.parametrize("constant_memory", [False, True], ids=["shared strings", "inline strings"])
def test_cells_have_the_same_values_and_types(tmp_path, constant_memory):
    path = tmp_path / "awkward.xlsx"
    awkward_workbook(path, constant_memory=constant_memory)
    expected = calamine_rows(path)
    got = stream_rows(path)
    assert got == expected
    assert [[type(c) for c in cells] for _, cells in got] == [
        [type(c) for c in cells] for _, cells in expected
    ]
    assert [n for n, _ in got] == [3, 4, 5, 7, 9]  # Excel's row numbers, for the error report
    assert cell_text(got[1][1][1]) == "4.201051980051713e+17"  # refused as an ID, never "repaired"


def test_source_gives_the_importer_the_same_rows(settings, tmp_path):
    rows = family("4201050010001") + family("4201050010002", "2号网格", size=2)
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(xlsx_bytes(rows, numeric_ids=True))

    def read():
        return [
            (number, [cell_text(c) for c in _trim(cells)])
            for number, cells in Source(path, XLSX).rows()
            if any(cell_text(c) for c in cells)
        ]

    settings.LINLI_IMPORT_XLSX_STREAM_MB = 100
    whole = read()
    settings.LINLI_IMPORT_XLSX_STREAM_MB = 0
    streamed = read()
    assert streamed == whole and len(whole) == len(rows) + 1


def test_a_streamed_workbook_imports(settings, staff):
    settings.LINLI_IMPORT_XLSX_STREAM_MB = 0
    rows = family("4201050010001") + family("4201050010002", "2号网格", size=2)
    job = run_import(staff, "台账.xlsx", xlsx_bytes(rows))
    assert job.status == "done", (job.message, job.dry_run.get("errors"))
    assert job.created_count == len(rows)


def test_streamed_rows_beyond_the_limit_are_refused(settings, tmp_path):
    settings.LINLI_IMPORT_XLSX_STREAM_MB = 0
    settings.LINLI_IMPORT_MAX_ROWS = 3
    path = tmp_path / "long.xlsx"
    path.write_bytes(xlsx_bytes(family("4201050010001", size=5) * 3))
    with pytest.raises(UnsafeFile):
        list(Source(path, XLSX).rows())


def test_a_dtd_is_refused_by_the_streaming_parser(tmp_path):
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes(family("4201050010001"))))
    parts = {name: good.read(name) for name in good.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(
        b"?>", b'?><!DOCTYPE worksheet [<!ENTITY boom "boom">]>', 1
    )
    path = tmp_path / "dtd.xlsx"
    path.write_bytes(zip_bytes(parts))
    book = Workbook(path)
    try:
        with pytest.raises(XlsxError):
            list(book.rows())
    finally:
        book.close()


def test_a_damaged_sheet_is_refused_not_crashed(settings, tmp_path):
    settings.LINLI_IMPORT_XLSX_STREAM_MB = 0
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes(family("4201050010001"))))
    parts = {name: good.read(name) for name in good.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b'<row r="2"', b'<row r="zwei"'
    )
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(zip_bytes(parts))
    with pytest.raises(UnsafeFile):
        list(Source(path, XLSX).rows())
