"""The permission policy: one place that answers "may this user do X here" and "which rows".

A permission is ``"<app>.<action>_<model>"`` (``registry.view_person``); a role grants patterns
(``registry.view_*``). A user's *scope* for a permission is the set of area paths of the role
assignments that grant it; rows are visible when their ``area_path`` lies in one of those
subtrees. Everything — base views, API viewsets, search, exports, reports, jobs — asks here, so
no view can forget a check (STYLE.md, after NetBox's ``RestrictedQuerySet`` and Wagtail's
permission policies).

Django's ``is_superuser`` grants nothing here: administrators get roles like everyone else, and
the auditor role reads the audit trail and nothing else (separation of duties).
"""

from dataclasses import dataclass
from fnmatch import fnmatchcase

from django.db import models

from .scope import path_range_q, paths_q


@dataclass(frozen=True)
class Grant:
    role_key: str
    level: str
    path: str
    patterns: tuple[str, ...]
    field_groups: frozenset[str]

    def allows(self, perm: str) -> bool:
        return any(fnmatchcase(perm, pattern) for pattern in self.patterns)


def perm_name(model, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def grants(user) -> list[Grant]:
    """The user's active role assignments, read once per request (cached on the user object)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_linli_grants", None)
    if cached is not None:
        return cached
    from linli.accounts.models import RoleAssignment

    rows = RoleAssignment.objects.filter(user=user, active=True, role__active=True).select_related("role")
    result = [
        Grant(
            role_key=a.role.key,
            level=a.role.level,
            path=a.area_path,
            patterns=tuple(a.role.permissions),
            field_groups=frozenset(a.role.field_groups),
        )
        for a in rows
    ]
    user._linli_grants = result
    return result


def forget(user) -> None:
    """Drop the cached grants (after an assignment changes)."""
    if hasattr(user, "_linli_grants"):
        del user._linli_grants


def scope_paths(user, perm: str) -> list[str]:
    """Area paths under which ``user`` holds ``perm``; nested paths collapse into their ancestor."""
    paths = sorted({g.path for g in grants(user) if g.allows(perm)})
    collapsed: list[str] = []
    for path in paths:
        if not any(path.startswith(parent) for parent in collapsed):
            collapsed.append(path)
    return collapsed


def has_any(user, perm: str) -> bool:
    return bool(scope_paths(user, perm))


def covers(paths: list[str], area_path: str) -> bool:
    return any(area_path.startswith(p) for p in paths)


def has_perm(user, perm: str, obj=None, *, area_path: str | None = None) -> bool:
    """May ``user`` do ``perm`` at all (no object), or on this object / at this area path?"""
    paths = scope_paths(user, perm)
    if obj is None and area_path is None:
        return bool(paths)
    target = area_path if area_path is not None else obj.area_path
    return covers(paths, target)


def restrict(
    queryset: models.QuerySet, user, action: str = "view", field: str = "area_path"
) -> models.QuerySet:
    """The rows of ``queryset`` that ``user`` may ``action``; none when they hold no such grant."""
    paths = scope_paths(user, perm_name(queryset.model, action))
    if not paths:
        return queryset.none()
    if len(paths) == 1:
        return queryset.filter(path_range_q(paths[0], field))
    return queryset.filter(paths_q(paths, field))


def field_groups(user, area_path: str) -> frozenset[str]:
    """Sensitive field groups the user may read for a row at ``area_path``."""
    groups: set[str] = set()
    for g in grants(user):
        if area_path.startswith(g.path):
            groups |= g.field_groups
    return frozenset(groups)


def roles(user) -> list[str]:
    return sorted({g.role_key for g in grants(user)})


# Paths are 4 characters a level: a grant on a district (4) or sub-district (8) node is wide.
WIDE_PATH_LENGTH = 8


def requires_two_factor(user) -> bool:
    """Administrators and anyone scoped at sub-district level or above must use TOTP (issue 3)."""
    if getattr(user, "is_superuser", False):
        return True
    return any(g.role_key == "admin" or len(g.path) <= WIDE_PATH_LENGTH for g in grants(user))
