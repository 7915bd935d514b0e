"""Generic views that scope by construction.

Every view declares its *policy*: ``"public"``, ``"login"`` or a permission such as
``registry.view_person``. The scoped base classes derive the policy from their model and action,
restrict their queryset with :func:`linli.core.permissions.restrict` (an object outside the user's
scope is simply not found: 404), answer 403 to a user who holds the permission nowhere, and check
after a write, inside the same transaction, that the object is still in the user's scope — or roll
the write back.
"""

import functools

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext
from django.views import generic

from . import areafocus, permissions
from .context import Channel, acting
from .pagination import Paginator


def policy(value: str, *, model: str | None = None):
    """Declare the access policy of a function view (checked by the route-policy test).

    ``model`` names the model its ``pk`` refers to when that is not the permission's own model
    (e.g. import jobs under ``registry.import_person``).
    """

    def mark(view):
        view.linli_policy = value
        if model:
            view.linli_model = model
        return view

    return mark


def require_perm(user, perm: str) -> None:
    """403 unless ``user`` holds ``perm`` somewhere (function views; scoped classes do this themselves)."""
    if not permissions.has_any(user, perm):
        raise PermissionDenied(gettext("没有权限 (permission denied)"))


class ScopedViewMixin(LoginRequiredMixin):
    """Restrict the queryset to the user's scope for ``action`` on ``model``."""

    model = None
    action = "view"

    @classmethod
    def policy(cls) -> str:
        return permissions.perm_name(cls.model, cls.action)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            require_perm(request.user, self.policy())
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return permissions.restrict(self.model._default_manager.all(), self.request.user, self.action)


class ScopedFormMixin:
    """Limit the form's choices of scoped rows and areas to what the user may see."""

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        limit_choices(form, self.request.user)
        return form

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            ensure_in_scope(self.object, self.request.user, self.action)
        return response


def limit_choices(form, user) -> None:
    from linli.areas.models import Area

    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is None:
            continue
        model = queryset.model
        if model is Area:
            field.queryset = permissions.restrict(queryset, user, "view", field="path")
        elif any(f.name == "area_path" for f in model._meta.concrete_fields):
            field.queryset = permissions.restrict(queryset, user, "view")


def offer_area_levels(form, user, name: str = "area") -> None:
    """Let an area filter offer the user's scope one level at a time (see ``picker_areas``).

    The field still accepts any area in scope; the options are the top nodes, the path down to the
    chosen area and the children along it, indented by level.
    """
    from linli.areas.models import Area, picker_areas

    field = form.fields.get(name)
    if getattr(field, "queryset", None) is None or field.queryset.model is not Area:
        return
    chosen = form.data.get(name) if form.is_bound else None
    chosen_path = None
    if chosen and str(chosen).isdigit():
        chosen_path = field.queryset.filter(pk=chosen).values_list("path", flat=True).first()
    areas = picker_areas(permissions.scope_paths(user, permissions.perm_name(Area, "view")), chosen_path)
    top = min((a.depth for a in areas), default=0)
    # U+3000 (ideographic space) indents: browsers strip ASCII spaces at the start of an option.
    options = [(a.pk, "\u3000" * (a.depth - top) + a.name) for a in areas]
    field.widget.choices = [("", field.empty_label or "---------"), *options]


class _PlainRows:
    """A choice field's queryset whose ``iterator()`` is one plain SELECT of all its rows.

    ModelChoiceIterator reads choices through ``QuerySet.iterator()``, which on PostgreSQL opens a
    server-side cursor (``DECLARE … WITH HOLD``, ``FETCH``, ``CLOSE``: three round trips and a
    materialised cursor) to read a few dozen areas, groups or tags on every list page.
    """

    _prefetch_related_lookups = ()

    def __init__(self, queryset):
        self.queryset = queryset

    def iterator(self, *args, **kwargs):
        return iter(self.queryset.all())

    def __getattr__(self, name):  # count(), exists(), model … for the iterator's other uses
        return getattr(self.queryset, name)


@functools.cache
def _plain_iterator(base: type) -> type:
    class PlainChoiceIterator(base):
        def __init__(self, field):
            super().__init__(field)
            self.queryset = _PlainRows(self.queryset)

    return PlainChoiceIterator


def plain_choices(field) -> None:
    """Read a model choice field's choices with one plain query (see :class:`_PlainRows`)."""
    iterator = getattr(field, "iterator", None)
    if isinstance(iterator, type) and issubclass(iterator, ModelChoiceIterator):
        field.iterator = _plain_iterator(iterator)
        field.widget.choices = field.choices  # the widget holds an iterator made with the old class


def ensure_in_scope(obj, user, action: str) -> None:
    """Refuse (and so roll back) a write that put the object outside the user's scope."""
    visible = permissions.restrict(type(obj)._default_manager.filter(pk=obj.pk), user, action)
    if not visible.exists():
        raise PermissionDenied(
            gettext("保存后该记录将不在您的管辖范围内，已撤销 (the object would leave your scope)")
        )


class ObjectListView(ScopedViewMixin, generic.ListView):
    """A scoped list filtered by a django-filter FilterSet shared with the API and exports."""

    paginate_by = 50
    paginator_class = Paginator  # a page's keys first, then its rows
    filterset_class = None

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.filterset_class is None:
            return queryset
        # The area chosen in the area-tree panel is remembered for the session (web.areafocus).
        self.query = (
            areafocus.apply(self.request) if "area" in self.filterset_class.base_filters else self.request.GET
        )
        self.filterset = self.filterset_class(self.query or None, queryset=queryset, request=self.request)
        limit_choices(self.filterset.form, self.request.user)
        for field in self.filterset.form.fields.values():
            plain_choices(field)
            is_select = getattr(field.widget, "input_type", "") == "select"
            field.widget.attrs.setdefault("class", "form-select" if is_select else "form-control")
        offer_area_levels(self.filterset.form, self.request.user)
        if not self.filterset.is_bound:
            return queryset
        # An invalid filter (e.g. a group the user may not filter by) shows its error and no rows,
        # never the unfiltered list.
        return self.filterset.qs if self.filterset.is_valid() else queryset.none()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = getattr(self, "filterset", None)
        query = getattr(self, "query", self.request.GET).copy()
        query.pop("page", None)
        context["query_string"] = query.urlencode()
        return context


class ObjectDetailView(ScopedViewMixin, generic.DetailView):
    pass


class ObjectCreateView(ScopedViewMixin, ScopedFormMixin, generic.CreateView):
    action = "add"


class ObjectUpdateView(ScopedViewMixin, ScopedFormMixin, generic.UpdateView):
    action = "change"


__all__ = [
    "Channel",
    "ObjectCreateView",
    "ObjectDetailView",
    "ObjectListView",
    "ObjectUpdateView",
    "ScopedViewMixin",
    "acting",
    "ensure_in_scope",
    "limit_choices",
    "offer_area_levels",
    "policy",
    "require_perm",
]


# -- error pages ------------------------------------------------------------------------------
DB_UNAVAILABLE = "数据库暂时不可用，请稍后重试 (the database is unavailable; please retry shortly)"
SERVER_ERROR = "服务器内部错误，已记录，请稍后重试或联系管理员 (internal server error; it has been logged)"


def server_error(request):
    """``handler500``: a database that is down or restarting answers 503 (Retry-After), not 500.

    Called by Django while the exception is being handled, so ``sys.exc_info()`` names it. API
    clients get JSON, people a short page; neither shows a traceback. The next request reconnects
    (``CONN_HEALTH_CHECKS``), so service resumes by itself when the database is back.
    """
    import sys

    from django.db import InterfaceError, OperationalError
    from django.http import HttpResponse, JsonResponse

    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    status, message = (503, DB_UNAVAILABLE) if unavailable else (500, SERVER_ERROR)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=status, json_dumps_params={"ensure_ascii": False})
    else:
        page = (
            '<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><title>邻里 Linli</title></head>'
            f"<body><h1>{'服务暂时不可用' if unavailable else '出错了'}</h1><p>{message}</p></body></html>"
        )
        response = HttpResponse(page, status=status, content_type="text/html; charset=utf-8")
    if unavailable:
        response["Retry-After"] = "5"
    return response
