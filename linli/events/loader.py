"""Loading configurable data shipped as files: event categories and the holiday calendar.

Used by the data migrations (with historical models) and by tests. Loading creates what is
missing and leaves existing rows alone unless ``update=True``: an administrator's edits to a
category's time limit survive a reload.
"""

import csv
from pathlib import Path

from linli.core import workcal

CATEGORIES_FILE = Path(__file__).resolve().parent / "data" / "categories.csv"
UNITS = {
    "m": workcal.TimeUnit.CALENDAR_MINUTES,
    "h": workcal.TimeUnit.CALENDAR_HOURS,
    "d": workcal.TimeUnit.CALENDAR_DAYS,
    "wh": workcal.TimeUnit.WORKING_HOURS,
    "wd": workcal.TimeUnit.WORKING_DAYS,
}


def read_categories(path: Path = CATEGORIES_FILE) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    rows = []
    for order, row in enumerate(csv.DictReader(lines), start=1):
        onsite = (row["onsite_minutes"] or "").strip()
        rows.append(
            {
                "code": row["code"].strip(),
                "parent": (row["parent"] or "").strip(),
                "fields": {
                    "name": row["name"].strip(),
                    "default_level": row["level"].strip(),
                    "limit_value": int(row["limit"]),
                    "limit_unit": UNITS[row["unit"].strip()],
                    "urgent_limit_value": int(row["urgent_limit"]) if row["urgent_limit"] else None,
                    "urgent_limit_unit": UNITS[row["urgent_unit"].strip()] if row["urgent_unit"] else "",
                    "response_limit_value": int(row["response_limit"]),
                    "response_limit_unit": UNITS[row["response_unit"].strip()],
                    "requires_onsite": bool(onsite),
                    "onsite_limit_minutes": int(onsite) if onsite else None,
                    "public": row["public"].strip() != "0",
                    "description": (row["description"] or "").strip(),
                    "sort_order": order,
                },
            }
        )
    return rows


def load_categories(model=None, *, path: Path = CATEGORIES_FILE, update: bool = False) -> int:
    """Create the categories of ``path`` that do not exist yet; returns how many were created."""
    if model is None:
        from .models import EventCategory as model
    rows = read_categories(path)
    existing = {c.code: c for c in model.objects.all()}
    created = 0
    for row in rows:
        category = existing.get(row["code"])
        if category is None:
            category = model(code=row["code"], **row["fields"])
            created += 1
        elif update:
            for name, value in row["fields"].items():
                setattr(category, name, value)
        else:
            continue
        category.save()
        existing[row["code"]] = category
    for row in rows:
        if row["parent"]:
            category, parent = existing[row["code"]], existing[row["parent"]]
            if category.parent_id != parent.pk:
                category.parent = parent
                category.save()
    return created


def load_calendar_days(model=None, *, update: bool = False) -> int:
    """Copy the shipped holiday files into the editable calendar table."""
    if model is None:
        from .models import WorkCalendarDay as model
    existing = set(model.objects.values_list("date", flat=True))
    created = 0
    for _year, path in sorted(workcal.holiday_files().items()):
        for day, kind, name in workcal.read_holiday_csv(path):
            if day in existing:
                if update:
                    model.objects.filter(date=day).update(kind=kind, name=name)
                continue
            model(date=day, kind=kind, name=name).save()
            created += 1
    workcal.clear_cache()
    return created
