"""Load code tables from the CSV files in ``linli/codes/data/``.

``tables.csv`` lists the tables (key, name, name_en, standard, version); each table's entries are
in ``<key>.csv`` with the columns ``code,name,name_en,parent_code``. Loading is an upsert: entries
missing from a file are marked inactive, never deleted, so records that use them keep their
meaning. Data migrations call :func:`load_all` with the historical models.
"""

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            {k: (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(line for line in fh if not line.startswith("#"))
        ]


def load_all(code_table_model=None, code_model=None, data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Upsert every table; returns ``{table_key: number_of_active_codes}``."""
    if code_table_model is None:
        from .models import Code as code_model
        from .models import CodeTable as code_table_model
    counts = {}
    for meta in read_csv(data_dir / "tables.csv"):
        table, _ = code_table_model.objects.update_or_create(
            key=meta["key"],
            defaults={
                "name": meta["name"],
                "name_en": meta.get("name_en", ""),
                "standard": meta.get("standard", ""),
                "version": meta.get("version", ""),
                "editable": meta.get("editable", "1") != "0",
            },
        )
        rows = read_csv(data_dir / f"{meta['key']}.csv")
        existing = {c.code: c for c in code_model.objects.filter(table=table)}
        seen = set()
        new, changed = [], []
        for sort, row in enumerate(rows):
            code = row["code"]
            if code in seen:
                raise ValueError(f"{meta['key']}.csv: code {code} appears twice")
            seen.add(code)
            values = {
                "name": row["name"],
                "name_en": row.get("name_en", ""),
                "parent_code": row.get("parent_code", ""),
                "sort": sort,
                "active": True,
            }
            if code in existing:
                obj = existing[code]
                if any(getattr(obj, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(obj, k, v)
                    changed.append(obj)
            else:
                new.append(code_model(table=table, code=code, **values))
        code_model.objects.bulk_create(new)
        if changed:
            code_model.objects.bulk_update(changed, ["name", "name_en", "parent_code", "sort", "active"])
        code_model.objects.filter(table=table).exclude(code__in=seen).update(active=False)
        counts[meta["key"]] = len(seen)
    return counts
