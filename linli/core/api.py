"""API base classes with the same scoping as the UI (STYLE.md: applied in the base viewset)."""

from django.db import transaction
from django.utils.translation import gettext
from rest_framework import permissions as drf_permissions
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied

from . import context, permissions

ACTION_FOR = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


class ScopedPermission(drf_permissions.BasePermission):
    """401 for anonymous users, 403 for users who hold the permission nowhere.

    Objects outside the user's scope are filtered out of the queryset, so they answer 404.
    """

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return permissions.has_any(request.user, view.required_perm())


class ScopedViewSetMixin:
    permission_classes = [ScopedPermission]
    #: Extra actions map to a permission action here, e.g. {"reveal": "reveal"}.
    extra_action_perms: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # DRF authenticates inside the view (token auth): bind the real API user to the context.
        if request.user and request.user.is_authenticated:
            ctx = context.ActionContext(
                user=request.user, channel=context.Channel.API, ip=request.META.get("REMOTE_ADDR")
            )
            self._linli_context_token = context._current.set(ctx)

    def finalize_response(self, request, response, *args, **kwargs):
        token = getattr(self, "_linli_context_token", None)
        if token is not None:
            context._current.reset(token)
            self._linli_context_token = None
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def perm_action(self) -> str:
        return self.extra_action_perms.get(self.action) or ACTION_FOR.get(self.action, "view")

    def required_perm(self) -> str:
        return permissions.perm_name(self.queryset.model, self.perm_action)

    @classmethod
    def policy(cls) -> str:
        return permissions.perm_name(cls.queryset.model, "view")

    def get_queryset(self):
        return permissions.restrict(super().get_queryset(), self.request.user, self.perm_action)

    def filter_queryset(self, queryset):
        # Filters are list parameters. A detail route (retrieve, update, an action on one object)
        # looks its key up in the scoped queryset from get_queryset() alone: building the filter
        # set there (a deep copy of every filter, a form class per call) cost more CPU than the
        # rest of the lookup, and a list parameter on a detail URL filtered nothing useful.
        if getattr(self, "detail", False):
            return queryset
        return super().filter_queryset(queryset)

    def perform_create(self, serializer):
        with transaction.atomic():
            instance = serializer.save()
            self._ensure_in_scope(instance)

    def perform_update(self, serializer):
        with transaction.atomic():
            instance = serializer.save()
            self._ensure_in_scope(instance)

    def _ensure_in_scope(self, instance):
        visible = permissions.restrict(type(instance)._default_manager.filter(pk=instance.pk), self.request.user,
                                       self.perm_action)  # fmt: skip
        if not visible.exists():
            raise PermissionDenied(
                gettext("保存后该记录将不在您的管辖范围内，已撤销 (the object would leave your scope)")
            )


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass
