"""A corpus of bad files: each is rejected with its reasons (row, column, reason) and nothing is written."""

import datetime as dt
import os

import pytest

from linli.core.validators import compose_id_number

from .builders import HEADERS, csv_bytes, errors_of, family, new_id, row, run_import, xlsx_bytes, zip_bytes

pytestmark = pytest.mark.django_db


def reject(user, snapshot, name, content, *, area=None):
    before = snapshot()
    job = run_import(user, name, content, area=area)
    assert job.status == "failed", job.message
    assert snapshot() == before, "a rejected file must write nothing"
    assert not job.file, "the stored upload is deleted once the job has failed"
    return job


def only_error(job):
    errors = errors_of(job)
    assert len(errors) == 1, errors
    return errors[0]


# -- row-level reasons --------------------------------------------------------------------------
def test_bad_check_digit(staff, snapshot):
    rows = family("4201050010001")
    number = rows[1]["id_number"]
    rows[1]["id_number"] = number[:17] + ("0" if number[17] != "0" else "1")
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert only_error(job)[:2] == (3, "身份证号")
    assert "校验位" in only_error(job)[2] and "check digit" in only_error(job)[2]


def test_id_mangled_by_excel_in_csv(staff, snapshot):
    rows = family("4201050010001")
    rows[0]["id_number"] = "4.20105E+17"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    line, column, reason = errors_of(job)[0]
    assert (line, column) == (2, "身份证号") and "科学计数法" in reason


def test_id_stored_as_a_number_in_xlsx(staff, snapshot):
    rows = family("4201050010001")
    job = reject(staff, snapshot, "a.xlsx", xlsx_bytes(rows, numeric_ids=True))
    id_errors = [e for e in errors_of(job) if e[1] == "身份证号"]
    assert [e[0] for e in id_errors] == [2, 3, 4]
    assert all("科学计数法" in e[2] for e in id_errors)


def test_birth_date_disagrees_with_id(staff, snapshot):
    rows = family("4201050010001")
    rows[0]["birth_date"] = "1980-05-18"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    line, column, reason = only_error(job)
    assert (line, column) == (2, "出生日期") and "不一致" in reason and "1980-05-18" in reason


def test_sex_disagrees_with_id(staff, snapshot):
    rows = family("4201050010001")
    rows[0]["sex"] = "女"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert only_error(job)[:2] == (2, "性别")


@pytest.mark.parametrize("column,key,value", [("民族", "ethnicity", "火星族"), ("学历", "education", "99"),
                                              ("与户主关系", "relation", "邻居")])  # fmt: skip
def test_unknown_code(staff, snapshot, column, key, value):
    rows = family("4201050010001")
    rows[1][key] = value
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    line, col, reason = only_error(job)
    assert (line, col) == (3, column) and value in reason and "代码或名称" in reason


def test_missing_household_head(staff, snapshot):
    rows = family("4201050010001", size=3)[1:]
    rows[0]["grid"] = "1号网格"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    line, column, reason = only_error(job)
    assert (line, column) == (2, "与户主关系") and "没有户主" in reason and "2、3" in reason


def test_household_with_two_heads(staff, snapshot):
    rows = family("4201050010001")
    rows[2]["relation"] = "户主"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert [(e[0], e[1]) for e in errors_of(job)] == [(2, "与户主关系"), (4, "与户主关系")]
    assert "2 名户主" in errors_of(job)[0][2]


def test_duplicate_id_within_the_file(staff, snapshot):
    rows = family("4201050010001") + family("4201050010002")
    rows[4]["id_number"] = rows[1]["id_number"]
    rows[4]["name"] = rows[1]["name"]
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    line, column, reason = only_error(job)
    assert (line, column) == (6, "身份证号") and "第 3 行" in reason and "重复" in reason


def test_grid_outside_the_importers_scope(staff, snapshot, area_tree):
    other = area_tree["grids"][4]  # a grid of another community
    assert other.grid_code
    rows = family("4201050010001", grid=other.grid_code)
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    line, column, reason = only_error(job)
    assert (line, column) == (2, "所属网格") and "管辖范围" in reason


def test_phone_format(staff, snapshot):
    rows = family("4201050010001")
    rows[0]["phone"] = "1381234"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert only_error(job)[:2] == (2, "联系电话")


def test_unknown_house_and_bad_date(staff, snapshot):
    rows = family("4201050010001")
    rows[0]["house"] = "9-9-909"
    rows[1]["birth_date"] = "昨天"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert [(e[0], e[1]) for e in errors_of(job)] == [(2, "现住房屋"), (3, "出生日期")]


def test_existing_person_outside_scope_and_other_name(staff, snapshot, area_tree):
    from linli.core.testing import make_person

    outsider = make_person(area_tree["grids"][6], name="外人")
    neighbour = make_person(area_tree["grids"][0], name="邻居")
    rows = family("4201050010001")
    rows[1]["id_number"] = outsider.id_number
    rows[2]["id_number"] = neighbour.id_number  # name in the file differs from the registered one
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert [(e[0], e[1]) for e in errors_of(job)] == [(3, "身份证号"), (4, "姓名")]
    assert "其他辖区" in errors_of(job)[0][2] and "邻居" in errors_of(job)[1][2]


def test_every_error_is_reported_not_just_the_first(staff, snapshot):
    rows = family("4201050010001") + family("4201050010002")
    rows[0]["phone"] = "12"
    rows[3]["ethnicity"] = "??"
    rows[5]["id_number"] = compose_id_number("420105", dt.date(1990, 1, 1), 1)[:17] + "0"
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert {e[0] for e in errors_of(job)} >= {2, 5, 7}
    assert job.error_count == len(errors_of(job)) and job.error_report


# -- file-level refusals ------------------------------------------------------------------------
def test_macro_workbooks_are_refused(staff, snapshot):
    xlsm = reject(staff, snapshot, "ledger.xlsm", xlsx_bytes(family("4201050010001")))
    assert "宏" in xlsm.message
    parts = {
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": b"<workbook/>",
        "xl/vbaProject.bin": b"\x00" * 64,
    }
    disguised = reject(staff, snapshot, "ledger.xlsx", zip_bytes(parts))
    assert "宏" in disguised.message


def test_macro_content_type_is_refused(staff, snapshot):
    types = b'<Types><Override ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>'
    job = reject(staff, snapshot, "ledger.xlsx", zip_bytes({"[Content_Types].xml": types}))
    assert "宏" in job.message


def test_zip_bomb_by_size(staff, snapshot, settings):
    settings.LINLI_IMPORT_MAX_UNZIPPED_MB = 1
    settings.LINLI_IMPORT_MAX_ZIP_RATIO = 10_000
    bomb = zip_bytes(
        {"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": b"0" * (3 * 1024 * 1024)}
    )
    job = reject(staff, snapshot, "bomb.xlsx", bomb)
    assert "压缩炸弹" in job.message


def test_zip_bomb_by_ratio(staff, snapshot):
    bomb = zip_bytes(
        {"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": b"\x00" * (8 * 1024 * 1024)}
    )
    assert len(bomb) < 64 * 1024  # ~1000:1
    job = reject(staff, snapshot, "bomb.xlsx", bomb)
    assert "压缩比" in job.message


def test_xml_with_a_dtd_is_refused(staff, snapshot):
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sst>&a;</sst>'
    job = reject(
        staff,
        snapshot,
        "a.xlsx",
        zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/sharedStrings.xml": evil}),
    )
    assert "DTD" in job.message


def test_not_a_zip_and_legacy_xls(staff, snapshot):
    assert "不是有效" in reject(staff, snapshot, "a.xlsx", b"just text, not a workbook").message
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    assert ".xls" in reject(staff, snapshot, "a.xlsx", ole).message
    assert ".xls" in reject(staff, snapshot, "a.xls", ole).message
    assert "damaged" in reject(staff, snapshot, "a.xlsx", b"PK\x03\x04" + os.urandom(200)).message


def test_a_csv_that_is_binary(staff, snapshot):
    assert (
        "二进制"
        in reject(
            staff, snapshot, "a.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
        ).message
    )
    workbook = xlsx_bytes(family("4201050010001"))
    assert "工作簿" in reject(staff, snapshot, "a.csv", workbook).message
    assert "UTF-16" in reject(staff, snapshot, "a.csv", "户号,姓名\n".encode("utf-16")).message


def test_undecodable_text(staff, snapshot):
    job = reject(staff, snapshot, "a.csv", b"\xff\xfe\xfd\x80\x81 not gbk \xff")
    assert "编码" in job.message


def test_too_many_rows(staff, snapshot, settings):
    settings.LINLI_IMPORT_MAX_ROWS = 5
    rows = family("4201050010001") + family("4201050010002")
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert "5 行" in job.message
    job = reject(staff, snapshot, "a.xlsx", xlsx_bytes(rows * 3))
    assert "5 行" in job.message


def test_too_large(staff, snapshot, settings):
    settings.LINLI_IMPORT_MAX_MB = 1
    job = reject(staff, snapshot, "a.csv", csv_bytes(family("4201050010001")) + b"x" * (1024 * 1024 + 1))
    assert "MB" in job.message


def test_empty_files(staff, snapshot):
    assert "为空" in reject(staff, snapshot, "a.csv", b"").message
    assert "为空" in reject(staff, snapshot, "a.csv", b"\xef\xbb\xbf\r\n,,\r\n").message
    assert "没有数据行" in reject(staff, snapshot, "a.csv", csv_bytes([])).message
    assert "没有数据行" in reject(staff, snapshot, "a.xlsx", xlsx_bytes([])).message


def test_wrong_headers(staff, snapshot):
    rows = family("4201050010001")
    headers = ["编号", "关系", "名字", *HEADERS[3:]]
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows, headers=headers))
    assert "表头不正确" in job.message and "户号" in job.message and "姓名" in job.message


def test_unsupported_extension(staff, snapshot):
    assert ".xlsx 或 .csv" in reject(staff, snapshot, "a.pdf", b"%PDF-1.4").message


def test_refusals_are_audited(staff, snapshot):
    from linli.audit.models import AuditEvent

    reject(staff, snapshot, "ledger.xlsm", b"PK\x03\x04")
    event = AuditEvent.objects.get(event="data.import")
    assert event.outcome == "denied" and event.detail["file"] == "ledger.xlsm" and event.username == "staff"


def test_a_row_can_be_new_id_with_unknown_grid(staff, snapshot):
    rows = [row("4201050010009", "户主", "孤老", new_id(dt.date(1940, 1, 1)), grid="不存在的网格")]
    job = reject(staff, snapshot, "a.csv", csv_bytes(rows))
    assert only_error(job)[:2] == (2, "所属网格") and "找不到网格" in only_error(job)[2]
