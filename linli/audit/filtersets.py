"""Filters of the auditor's lists (shared by the pages and their CSV exports)."""

import datetime as dt

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.context import Channel
from linli.core.models import ChangeAction, ObjectChange

from . import events
from .models import AuditEvent, Outcome


class ContentTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.app_label}.{obj.model})"


class ContentTypeFilter(django_filters.ModelChoiceFilter):
    field_class = ContentTypeChoiceField


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _date_input():
    return forms.DateInput(attrs={"type": "date"})


class TrailFilterSet(django_filters.FilterSet):
    """Time range, object type and request id: what both lists filter on.

    Dates are whole local days turned into a half-open range on ``time``, so the index on
    ``time`` is used (``time__date`` would convert every row).
    """

    since = django_filters.DateFilter(label=_("开始日期"), method="filter_since", widget=_date_input())
    until = django_filters.DateFilter(label=_("结束日期"), method="filter_until", widget=_date_input())
    content_type = ContentTypeFilter(
        label=_("对象类型"), queryset=ContentType.objects.order_by("app_label", "model")
    )
    request_id = django_filters.UUIDFilter(label=_("请求编号"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def filter_since(self, queryset, name, value):
        return queryset.filter(time__gte=_local_midnight(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(time__lt=_local_midnight(value + dt.timedelta(days=1)))


class AuditEventFilterSet(TrailFilterSet):
    user = django_filters.CharFilter(label=_("用户"), field_name="username", lookup_expr="icontains")
    event = django_filters.ChoiceFilter(label=_("事件类型"), choices=events.CHOICES)
    outcome = django_filters.ChoiceFilter(label=_("结果"), choices=Outcome.choices)
    object_id = django_filters.CharFilter(label=_("对象编号"))
    q = django_filters.CharFilter(label=_("搜索对象/事由"), method="search")

    class Meta:
        model = AuditEvent
        fields = [
            "since",
            "until",
            "user",
            "event",
            "outcome",
            "content_type",
            "object_id",
            "request_id",
            "q",
        ]

    def search(self, queryset, name, value):
        return queryset.filter(Q(object_repr__icontains=value) | Q(purpose__icontains=value))


class ObjectChangeFilterSet(TrailFilterSet):
    user = django_filters.CharFilter(label=_("用户"), field_name="user_name", lookup_expr="icontains")
    action = django_filters.ChoiceFilter(label=_("操作"), choices=ChangeAction.choices)
    channel = django_filters.ChoiceFilter(label=_("渠道"), choices=Channel.CHOICES)
    object_id = django_filters.NumberFilter(label=_("对象编号"))
    q = django_filters.CharFilter(label=_("搜索对象/备注"), method="search")

    class Meta:
        model = ObjectChange
        fields = [
            "since",
            "until",
            "user",
            "action",
            "channel",
            "content_type",
            "object_id",
            "request_id",
            "q",
        ]

    def search(self, queryset, name, value):
        return queryset.filter(Q(object_repr__icontains=value) | Q(note__icontains=value))
