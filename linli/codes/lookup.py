"""Fast, cached access to code tables for validation and display."""

from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import get_language, gettext


@lru_cache(maxsize=128)
def table(key: str) -> dict[str, str]:
    """``{code: name}`` of the active entries of one table (cached per process)."""
    from .models import Code

    return dict(Code.objects.filter(table__key=key, active=True).values_list("code", "name"))


@lru_cache(maxsize=128)
def table_en(key: str) -> dict[str, str]:
    """``{code: English name}`` of the active entries that have one (cached per process)."""
    from .models import Code

    return dict(
        Code.objects.filter(table__key=key, active=True).exclude(name_en="").values_list("code", "name_en")
    )


def _english() -> bool:
    return (get_language() or "").startswith("en")


def label(key: str, code: str, *, localize: bool = True) -> str:
    """The entry's name; its English name for a reader who chose English (``localize``)."""
    if not code:
        return ""
    if localize and _english() and code in table_en(key):
        return table_en(key)[code]
    return table(key).get(code, code)


def choices(key: str) -> list[tuple[str, str]]:
    english = table_en(key) if _english() else {}
    return [(code, f"{code} {english.get(code, name)}") for code, name in table(key).items()]


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
    table_en.cache_clear()
