"""Good files in every supported form import completely, with history through the import channel."""

import pytest

from linli.registry.models import Household, Membership, Person

from .builders import csv_bytes, family, run_import, xlsx_bytes

pytestmark = pytest.mark.django_db


def ledger():
    return family("4201050010001") + family("4201050010002", "2号网格", size=2)


def assert_imported(job, rows):
    assert job.status == "done", (job.message, job.dry_run.get("errors"))
    assert job.created_count == len(rows)
    assert Person.objects.count() == len(rows)
    assert Household.objects.count() == 2
    assert Membership.objects.filter(end_date__isnull=True).count() == len(rows)
    head = Household.objects.get(number="4201050010001").head
    assert head.name == rows[0]["name"]
    assert head.phone == "13800000000" and head.ethnicity == "01"


@pytest.mark.parametrize(
    "name,encode",
    [
        ("utf8.csv", lambda rows: csv_bytes(rows)),
        ("utf8-bom.csv", lambda rows: csv_bytes(rows, bom=True)),
        ("gbk.csv", lambda rows: csv_bytes(rows, encoding="gbk")),
        ("tabbed.csv", lambda rows: csv_bytes(rows, delimiter="\t")),
        ("ledger.xlsx", lambda rows: xlsx_bytes(rows)),
    ],
)
def test_good_file_imports(staff, name, encode):
    rows = ledger()
    job = run_import(staff, name, encode(rows))
    assert_imported(job, rows)
    expected = {"gbk.csv": "gb18030", "utf8-bom.csv": "utf-8-sig", "utf8.csv": "utf-8"}
    if name in expected:
        assert job.encoding == expected[name]
