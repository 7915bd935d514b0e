"""Visit-frequency rules are data (``data/visit_rules.json``), loaded by a migration and by
``load_reference_data``; administrators may edit the rows afterwards."""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

DATA_FILE = Path(__file__).resolve().parent / "data" / "visit_rules.json"


def load_visit_rules(rule_model=None, group_type_model=None, data_file: Path = DATA_FILE) -> int:
    if rule_model is None:
        from .models import VisitRule as rule_model
    if group_type_model is None:
        from linli.registry.models import GroupType as group_type_model
    known = set(group_type_model.objects.values_list("key", flat=True))
    entries = json.loads(data_file.read_text(encoding="utf-8"))
    for entry in entries:
        unknown = sorted(set(entry.get("group_types", [])) - known)
        if unknown:
            raise ValidationError(
                gettext("走访规则 %(entry)s 引用了未知人群类别 (unknown group types): %(unknown)s")
                % {"entry": entry["key"], "unknown": unknown}
            )
        if int(entry["interval_days"]) < 1:
            raise ValidationError(
                gettext("走访规则 %(entry)s 的间隔须至少 1 天 (interval must be ≥ 1 day)")
                % {"entry": entry["key"]}
            )
        rule_model.objects.update_or_create(
            key=entry["key"],
            defaults={
                "name": entry["name"],
                "name_en": entry.get("name_en", ""),
                "group_types": entry.get("group_types", []),
                "interval_days": int(entry["interval_days"]),
                "basis": entry.get("basis", ""),
            },
        )
    return len(entries)
