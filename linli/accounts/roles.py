"""Role definitions are data (``data/roles.json``), loaded by a migration and by ``linli init``."""

import json
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "roles.json"


def load_roles(role_model=None, data_file: Path = DATA_FILE) -> int:
    if role_model is None:
        from .models import Role as role_model
    entries = json.loads(data_file.read_text(encoding="utf-8"))
    for entry in entries:
        role_model.objects.update_or_create(
            key=entry["key"],
            defaults={
                "name": entry["name"],
                "name_en": entry.get("name_en", ""),
                "level": entry["level"],
                "permissions": entry["permissions"],
                "field_groups": entry.get("field_groups", []),
                "active": True,
            },
        )
    return len(entries)
