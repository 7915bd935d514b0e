"""API filter backend: django-filter with date-time bounds the database accepts.

Found by the robustness suite's fuzzer on PostgreSQL: ``?starts_at__gte=0237-08-27T12:19:31-17:25``
is a valid Python datetime, but PostgreSQL refuses time-zone offsets beyond ±15:59 (a 500).
Date-time filter values are converted to UTC here; an offset beyond ±14 hours (none exists) or a
date that leaves the calendar in UTC is a 400 naming the parameter.
"""

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.rest_framework import FilterSet as BaseFilterSet

MAX_OFFSET = dt.timedelta(hours=14)


class UtcDateTimeField(forms.DateTimeField):
    def to_python(self, value):
        result = super().to_python(value)
        if result is None or result.tzinfo is None:
            return result
        if abs(result.utcoffset()) > MAX_OFFSET:
            raise ValidationError(
                "时区偏移超出范围（最多 ±14 小时） (time zone offset out of range)", code="offset"
            )
        try:
            return result.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError("日期超出范围 (date out of range)", code="range") from None


class UtcDateTimeFilter(django_filters.DateTimeFilter):
    field_class = UtcDateTimeField


class FilterSet(BaseFilterSet):
    FILTER_DEFAULTS = {
        **BaseFilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": UtcDateTimeFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet
