"""Fast, cached access to code tables for validation and display."""

from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext


@lru_cache(maxsize=128)
def table(key: str) -> dict[str, str]:
    """``{code: name}`` of the active entries of one table (cached per process)."""
    from .models import Code

    return dict(Code.objects.filter(table__key=key, active=True).values_list("code", "name"))


def label(key: str, code: str) -> str:
    return table(key).get(code, code) if code else ""


def choices(key: str) -> list[tuple[str, str]]:
    return [(code, f"{code} {name}") for code, name in table(key).items()]


def ensure_code(key: str, code: str, field_label: str = "") -> None:
    if code not in table(key):
        what = field_label or key
        raise ValidationError(
            gettext("“%(code)s” 不是%(what)s的有效代码 (not a valid code for %(key)s)")
            % {"code": code, "what": what, "key": key},
            code="unknown_code",
            params={"table": key, "code": code},
        )


def clear_cache() -> None:
    table.cache_clear()
