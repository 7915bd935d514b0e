"""Every URL route and its access policy, for the route-policy test and for documentation.

A policy is ``"public"``, ``"login"`` or a permission ``"<app>.<action>_<model>"``. Function views
declare it with :func:`linli.core.views.policy`; scoped class views and viewsets derive it from
their model and action. A route without a policy fails the test suite.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_KWARG = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")

# Views that come from Django or DRF themselves.
THIRD_PARTY_POLICIES = {
    "django.views.i18n.set_language": "public",
    "rest_framework.routers.APIRootView": "login",
}


@dataclass
class Route:
    pattern: str
    name: str | None
    callback: object
    policy: str | None
    is_api: bool
    #: For API routes: HTTP method → the permission that operation needs.
    operations: dict[str, str] | None = None

    @property
    def model_label(self) -> str:
        """``app.model`` of the object a ``pk`` in this route refers to."""
        explicit = getattr(self.callback, "linli_model", None)
        if explicit:
            return explicit
        app_label, codename = (self.policy or ".").split(".", 1)
        return f"{app_label}.{codename.split('_', 1)[-1]}"

    @property
    def kwargs(self) -> list[str]:
        return [a or b for a, b in _KWARG.findall(self.pattern)]


def _policy_of(callback) -> str | None:
    explicit = getattr(callback, "linli_policy", None)
    if explicit:
        return explicit
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        explicit = getattr(view_class, "linli_policy", None)
        if explicit:
            return explicit
        policy = getattr(view_class, "policy", None)
        if callable(policy):
            return policy()
        return THIRD_PARTY_POLICIES.get(f"{view_class.__module__}.{view_class.__qualname__}")
    return THIRD_PARTY_POLICIES.get(f"{callback.__module__}.{callback.__qualname__}")


def _operations_of(callback) -> dict[str, str] | None:
    """Per-method permissions of a DRF viewset route (list/create/reveal … each has its own)."""
    actions = getattr(callback, "actions", None)
    viewset = getattr(callback, "cls", None)
    if not actions or viewset is None or not hasattr(viewset, "extra_action_perms"):
        return None
    from .api import ACTION_FOR
    from .permissions import perm_name

    model = viewset.queryset.model
    return {
        method: perm_name(model, viewset.extra_action_perms.get(action) or ACTION_FOR.get(action, "view"))
        for method, action in actions.items()
    }


def all_routes(resolver=None, prefix: str = "") -> list[Route]:
    resolver = resolver or get_resolver()
    routes: list[Route] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            routes += all_routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            routes.append(
                Route(
                    pattern=pattern,
                    name=entry.name,
                    callback=entry.callback,
                    policy=_policy_of(entry.callback),
                    is_api=pattern.startswith("api/"),
                    operations=_operations_of(entry.callback),
                )  # fmt: skip
            )
    return routes
