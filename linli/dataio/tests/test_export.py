"""Exports: scoped, masked, formula-safe, stamped, audited, and taking the list's own filters."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from linli.audit.models import AuditEvent
from linli.core.testing import make_person, make_user
from linli.registry import services

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.dataio.tests.urls")]

PHONE_A, PHONE_B = "13912345678", "13698765432"


@pytest.fixture
def people(area_tree):
    grids = area_tree["grids"]
    mine = [
        make_person(grids[0], name="张三", phone=PHONE_A),
        make_person(grids[1], name="李四", sex="2", phone="13700001111"),
        make_person(grids[1], name='=HYPERLINK("http://evil")', phone="13700002222"),
        make_person(grids[0], name="@SUM(A1)"),
    ]
    services.create_household(number="4201050010001", head=mine[0])
    theirs = [make_person(grids[4], name="外社区人", phone=PHONE_B)]
    return {"mine": mine, "theirs": theirs}


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def get(client, name, **params):
    return client.get(reverse(f"dataio:{name}"), params)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_xml(response) -> str:
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        return "".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))


def test_csv_is_scoped_masked_and_stamped(client_for, staff, people):
    response = get(client_for(staff), "export_persons", format="csv")
    assert response.status_code == 200 and response.streaming
    assert "staff" in response["Content-Disposition"] and ".csv" in response["Content-Disposition"]
    rows = csv_rows(response)
    stamp, header, data = rows[0][0], rows[1], rows[2:]
    assert "导出人 王社工（staff）" in stamp and "导出时间" in stamp and "共 4 条" in stamp
    assert header[:4] == ["所属区域", "户号", "与户主关系", "姓名"]
    names = {r[3] for r in data}
    assert "外社区人" not in names and len(data) == 4
    raw = body(get(client_for(staff), "export_persons", format="csv"))
    for person in people["mine"] + people["theirs"]:
        assert person.id_number.encode() not in raw
    assert PHONE_A.encode() not in raw and b"139****5678" in raw
    zhang = next(r for r in data if r[3] == "张三")
    assert (
        zhang[1] == "4201050010001"
        and zhang[2] == "户主"
        and zhang[7].startswith(people["mine"][0].id_number[:2])
    )
    assert zhang[0] == "第1-1社区 1号网格"


def test_formulas_are_neutralised(client_for, staff, people):
    data = csv_rows(get(client_for(staff), "export_persons", format="csv"))[2:]
    names = {r[3] for r in data}
    assert '\'=HYPERLINK("http://evil")' in names and "'@SUM(A1)" in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in data for cell in r)
    xml = xlsx_xml(get(client_for(staff), "export_persons", format="xlsx"))
    assert "<f>" not in xml  # no formula cells at all
    assert "&apos;=HYPERLINK" in xml or "'=HYPERLINK" in xml


def test_labels_are_neutralised_and_translated(client_for, staff, people, area_tree):
    """Code names, area names and status labels go through the same formula guard as names; the
    status label is in the exporting user's language, code names stay the standard's Chinese."""
    from django.conf import settings

    from linli.areas.models import Area
    from linli.codes import lookup
    from linli.codes.models import Code

    Code.objects.filter(table__key="sex", code="1").update(name="=男")
    Area.objects.filter(pk=area_tree["communities"][0].pk).update(name="@社区")
    lookup.clear_cache()
    client = client_for(staff)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    data = csv_rows(get(client, "export_persons", format="csv"))[2:]
    zhang = next(r for r in data if r[3] == "张三")
    lisi = next(r for r in data if r[3] == "李四")
    assert zhang[4] == "'=男" and lisi[4] == "女"
    assert zhang[0] == "'@社区 1号网格" and lisi[0] == "'@社区 2号网格"
    assert zhang[17] == "Active" and zhang[2] == "户主"


def test_xlsx_is_masked_and_stamped(client_for, staff, people):
    response = get(client_for(staff), "export_persons", format="xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    xml = xlsx_xml(response)
    for person in people["mine"]:
        assert person.id_number not in xml and person.id_number_masked in xml
    assert PHONE_A not in xml and "外社区人" not in xml
    assert "导出人 王社工（staff）" in xml and "共 4 条" in xml

    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_filelike(
        io.BytesIO(body(get(client_for(staff), "export_persons", format="xlsx")))
    )
    rows = sheet.get_sheet_by_index(0).to_python()
    assert (
        rows[0][0].startswith("人员导出") and rows[1][3] == "姓名" and len([r for r in rows[2:] if r[3]]) == 4
    )


def test_filters_are_the_lists_own(client_for, staff, people):
    data = csv_rows(get(client_for(staff), "export_persons", format="csv", sex="2"))[2:]
    assert [r[3] for r in data] == ["李四"]
    data = csv_rows(get(client_for(staff), "export_persons", format="csv", q="zs"))[2:]
    assert [r[3] for r in data] == ["张三"]
    bad = get(client_for(staff), "export_persons", format="csv", sex="7")
    assert bad.status_code == 400


def test_gbk_option(client_for, staff, people):
    response = get(client_for(staff), "export_persons", format="csv", encoding="gbk")
    text = body(response).decode("gb18030")
    assert "张三" in text and not body(response).startswith(b"\xef\xbb\xbf")


def test_export_is_audited_with_rows_and_filters(client_for, staff, people):
    body(get(client_for(staff), "export_persons", format="csv", sex="2"))
    event = AuditEvent.objects.get(event="data.export")
    assert event.user == staff and event.detail["rows"] == 1
    assert event.detail["filters"] == {"sex": "2"} and event.detail["format"] == "csv"
    assert event.detail["revealed"] is False


def test_export_needs_the_export_permission(client_for, area_tree, people):
    informant = make_user("bh", "building_head", area_tree["grids"][0])
    assert get(client_for(informant), "export_persons", format="csv").status_code == 403
    assert not AuditEvent.objects.filter(event="data.export").exists()


def test_subdistrict_officer_exports_their_subdistrict(area_tree, people):
    from django.http import QueryDict

    from linli.dataio import exporting

    # (Through the API: over HTTP a sub-district officer must pass two-factor login first.)
    officer = make_user("so", "subdistrict_officer", area_tree["subdistricts"][1])
    export = exporting.prepare(exporting.SPECS["persons"], officer, QueryDict(""))
    assert [r[3] for r in export.rows()] == ["外社区人"]


def test_reveal_needs_purpose_and_permission_and_is_audited(client_for, staff, people, area_tree):
    client = client_for(staff)
    url = reverse("dataio:export_persons_revealed") + "?sex=1"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"purpose": "看", "format": "csv"})
    assert refused.status_code == 200 and not AuditEvent.objects.filter(event="data.reveal").exists()
    response = client.post(url, {"purpose": "民政低保年审核对", "format": "csv"})
    raw = body(response)
    assert people["mine"][0].id_number.encode() in raw and PHONE_A.encode() in raw
    assert people["theirs"][0].id_number.encode() not in raw
    reveal = AuditEvent.objects.get(event="data.reveal")
    assert reveal.purpose == "民政低保年审核对" and reveal.detail["rows"] == 3
    assert AuditEvent.objects.get(event="data.export").detail["revealed"] is True
    informant = make_user("bh", "building_head", area_tree["grids"][0])
    assert client_for(informant).post(url, {"purpose": "随便看看看", "format": "csv"}).status_code == 403


@pytest.mark.parametrize(
    "kind,header,rows", [("households", "户号", 1), ("houses", "地址", 8), ("buildings", "楼栋", 2)]
)
def test_other_lists(client_for, staff, people, kind, header, rows):
    data = csv_rows(get(client_for(staff), f"export_{kind}", format="csv"))
    assert header in data[1] and len(data) - 2 == rows  # only the staff member's community
    if kind == "households":
        assert data[2][:4] == ["4201050010001", "家庭户", "张三", "1"]
    if kind == "houses":
        assert {r[4] for r in data[2:]} == {"101", "102", "201", "202"}
    xml = xlsx_xml(get(client_for(staff), f"export_{kind}", format="xlsx"))
    assert "导出人 王社工（staff）" in xml


def test_constant_memory_iteration_uses_tuples(staff, people, django_assert_max_num_queries):
    from django.http import QueryDict

    from linli.dataio import exporting

    export = exporting.prepare(exporting.SPECS["persons"], staff, QueryDict(""))
    with django_assert_max_num_queries(2):
        rows = list(export.rows())
    assert len(rows) == 4 and all(isinstance(r, list) for r in rows)
