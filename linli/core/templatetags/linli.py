from django import template

from linli.codes import lookup
from linli.core import permissions

register = template.Library()


@register.filter
def code(value, table: str) -> str:
    """``{{ person.ethnicity|code:"ethnicity" }}`` → 汉族."""
    return lookup.label(table, value) if value else ""


@register.simple_tag(takes_context=True)
def can(context, perm: str) -> bool:
    """``{% can "registry.view_person" as show %}``: whether the user holds the permission anywhere."""
    request = context.get("request")
    return bool(request and permissions.has_any(request.user, perm))
