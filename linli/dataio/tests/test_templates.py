"""Downloadable templates open with calamine, carry the right headers, and import cleanly when filled."""

import io
import zipfile

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook

from linli.dataio.persons import COLUMNS

from .builders import csv_bytes, family, run_import

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.dataio.tests.urls")]
HEADERS = [c.header for c in COLUMNS]


def test_xlsx_template(client, staff):
    client.force_login(staff)
    response = client.get(reverse("dataio:template", args=["persons", "xlsx"]))
    assert response.status_code == 200
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert workbook.sheet_names[:2] == ["导入数据", "填写说明"]
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0] == HEADERS
    assert rows[1][0].startswith("示例") and rows[1][3] == "420105198005170016"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    assert sheet.count("<dataValidation ") >= 9 and "代码表!" in sheet  # drop-downs for the code columns
    assert 'formatCode="@"' in styles or 'numFmtId="49"' in styles  # text format keeps ID digits


def test_csv_template_and_its_example_row(client, staff):
    client.force_login(staff)
    response = client.get(reverse("dataio:template", args=["persons", "csv"]))
    content = response.content
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == HEADERS
    job = run_import(staff, "template.csv", content)
    assert job.status == "failed" and "没有数据行" in job.message  # the example row is skipped
    filled = content + csv_bytes(family("4201050010001")).split(b"\r\n", 1)[1]
    assert run_import(staff, "filled.csv", filled).status == "done"


def test_templates_need_the_import_permission(client, area_tree):
    from linli.core.testing import make_user

    client.force_login(make_user("bh", "building_head", area_tree["grids"][0]))
    assert client.get(reverse("dataio:template", args=["persons", "xlsx"])).status_code == 403
    client.force_login(make_user("cs2", "community_staff", area_tree["communities"][0]))
    assert client.get(reverse("dataio:template", args=["nothing", "xlsx"])).status_code == 404
