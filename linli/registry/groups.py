"""Special groups (特殊群体/台账) as typed sub-records of the person.

Group types are data (``data/group_types.json``, editable by administrators). Each carries a
schema for the detail its memberships hold; a type with ``min_age`` is derived from the birth date
(80岁以上高龄 is computed, never typed in).
"""

import datetime as dt
import decimal
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext

from linli.codes import lookup

DATA_FILE = Path(__file__).resolve().parent / "data" / "group_types.json"
FIELD_TYPES = {"text", "int", "decimal", "date", "bool", "code", "choice"}


def validate_schema(schema: list) -> None:
    if not isinstance(schema, list):
        raise ValidationError(gettext("明细字段定义应为列表 (detail schema must be a list)"))
    for spec in schema:
        if not isinstance(spec, dict) or not spec.get("name") or spec.get("type") not in FIELD_TYPES:
            raise ValidationError(
                gettext("明细字段定义有误 (bad field spec): %(spec)s") % {"spec": repr(spec)}
            )
        if spec["type"] == "code" and not spec.get("table"):
            raise ValidationError(gettext("代码字段 %(spec)s 需要 table") % {"spec": spec["name"]})
        if spec["type"] == "choice" and not spec.get("options"):
            raise ValidationError(gettext("选项字段 %(spec)s 需要 options") % {"spec": spec["name"]})


def _convert(spec: dict, value):
    kind = spec["type"]
    label = spec.get("label", spec["name"])
    try:
        if kind == "text":
            return str(value).strip()
        if kind == "int":
            return int(value)
        if kind == "decimal":
            return str(decimal.Decimal(str(value)))
        if kind == "date":
            return (
                value.isoformat()
                if isinstance(value, dt.date)
                else dt.date.fromisoformat(str(value)).isoformat()
            )
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "是", "yes", "y"}:
                return True
            if text in {"0", "false", "否", "no", "n"}:
                return False
            raise ValueError(value)
        if kind == "code":
            code = str(value).strip()
            lookup.ensure_code(spec["table"], code, field_label=label)
            return code
        if kind == "choice":
            if value not in spec["options"]:
                raise ValueError(value)
            return value
    except (ValueError, TypeError, decimal.InvalidOperation):
        raise ValidationError(
            gettext("“%(label)s”的值 %(value)s 无效 (invalid value)") % {"label": label, "value": repr(value)}
        ) from None
    raise ValidationError(f"unknown field type {kind}")


def validate_detail(group_type, detail: dict | None) -> dict:
    """Check and normalise a membership's detail against its type's schema."""
    detail = dict(detail or {})
    schema = group_type.detail_schema or []
    known = {spec["name"] for spec in schema}
    unknown = sorted(set(detail) - known)
    if unknown:
        raise ValidationError(
            {
                "detail": gettext("“%(name)s”没有这些明细字段 (unknown fields): %(join)s")
                % {"name": group_type.name, "join": ", ".join(unknown)}
            }
        )
    cleaned, errors = {}, []
    for spec in schema:
        value = detail.get(spec["name"])
        if value in (None, ""):
            if spec.get("required"):
                errors.append(f"“{spec.get('label', spec['name'])}”必填 (required)")
            continue
        try:
            cleaned[spec["name"]] = _convert(spec, value)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({"detail": errors})
    return cleaned


def derived_group_types():
    from .models import GroupType

    return list(GroupType.objects.filter(active=True, min_age__isnull=False))


def derived_groups(person, when: dt.date) -> list:
    age = person.age(when)
    if age is None:
        return []
    return [gt for gt in derived_group_types() if age >= gt.min_age]


def members(group_type, when: dt.date | None = None):
    """Current persons in a group on a date, whether the group is stored or derived."""
    from .models import Person

    when = when or dt.date.today()
    people = Person.objects.current()
    if group_type.is_derived:
        return people.aged(minimum=group_type.min_age, on=when)
    in_force = (
        Q(group_memberships__group_type=group_type)
        & (Q(group_memberships__start_date__isnull=True) | Q(group_memberships__start_date__lte=when))
        & (Q(group_memberships__end_date__isnull=True) | Q(group_memberships__end_date__gt=when))
    )
    return people.filter(in_force).distinct()


def load_group_types(group_type_model=None, data_file: Path = DATA_FILE) -> int:
    """Upsert the group types of the data file (used by a data migration and ``linli codes load``)."""
    if group_type_model is None:
        from .models import GroupType as group_type_model
    entries = json.loads(data_file.read_text(encoding="utf-8"))
    by_key = {}
    for sort, entry in enumerate(entries):
        validate_schema(entry.get("detail_schema", []))
        parent = by_key.get(entry.get("parent")) if entry.get("parent") else None
        obj, _ = group_type_model.objects.update_or_create(
            key=entry["key"],
            defaults={
                "name": entry["name"],
                "name_en": entry.get("name_en", ""),
                "line": entry["line"],
                "field_group": entry.get("field_group", "general"),
                "parent": parent,
                "detail_schema": entry.get("detail_schema", []),
                "min_age": entry.get("min_age"),
                "sort": sort,
                "active": True,
            },
        )
        by_key[entry["key"]] = obj
    return len(by_key)
