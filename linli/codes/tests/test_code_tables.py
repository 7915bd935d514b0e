import csv

import pytest
from django.core.exceptions import ValidationError

from linli.codes import loader, lookup
from linli.codes.models import Code, CodeTable

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("table", "code", "name"),
    [
        ("sex", "1", "男"),
        ("ethnicity", "01", "汉族"),
        ("ethnicity", "56", "基诺族"),
        ("political_status", "13", "群众"),
        ("marital_status", "20", "已婚"),
        ("relation", "02", "户主"),
        ("relation", "99", "非亲属"),
        ("region", "420105", "汉阳区"),
        ("disability_category", "4", "肢体残疾"),
    ],
)
def test_standard_tables_are_loaded_by_migrations(table, code, name):
    assert lookup.table(table)[code] == name


def test_every_data_file_is_loaded():
    keys = {row["key"] for row in loader.read_csv(loader.DATA_DIR / "tables.csv")}
    assert set(CodeTable.objects.values_list("key", flat=True)) == keys
    for key in keys:
        assert Code.objects.filter(table__key=key, active=True).count() == len(
            loader.read_csv(loader.DATA_DIR / f"{key}.csv")
        )


def test_reload_is_an_upsert_that_never_deletes(tmp_path):
    for f in loader.DATA_DIR.glob("*.csv"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    # A newer edition renames one entry and drops another.
    path = tmp_path / "religion.csv"
    rows = loader.read_csv(path)
    rows = [dict(r, name="佛教（汉传）") if r["code"] == "1" else r for r in rows if r["code"] != "9"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["code", "name", "name_en", "parent_code"])
        writer.writeheader()
        writer.writerows(rows)
    loader.load_all(data_dir=tmp_path)
    lookup.clear_cache()
    assert lookup.label("religion", "1") == "佛教（汉传）"
    retired = Code.objects.get(table__key="religion", code="9")
    assert retired.active is False  # kept so that old records keep their meaning
    with pytest.raises(ValidationError):
        lookup.ensure_code("religion", "9")


def test_duplicate_codes_in_a_file_are_refused(tmp_path):
    (tmp_path / "tables.csv").write_text(
        "key,name,name_en,standard,version,editable\nx,测试,,,,1\n", encoding="utf-8"
    )
    (tmp_path / "x.csv").write_text("code,name,name_en,parent_code\n1,甲,,\n1,乙,,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="appears twice"):
        loader.load_all(data_dir=tmp_path)
