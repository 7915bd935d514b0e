"""Filter sets shared by the web lists, the API and exports (one definition, three uses)."""

import datetime as dt

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.areas.models import Area, Building, House
from linli.codes import lookup
from linli.core import permissions
from linli.core.scope import path_range_q

from . import groups
from .choices import HouseholdStatus, PersonStatus
from .models import GroupType, Household, Person, Tag, add_years
from .search import search_persons


def code_choices(table: str):
    return lambda: lookup.choices(table)


class AreaFilterMixin(filters.FilterSet):
    area = filters.ModelChoiceFilter(queryset=Area.objects.all(), method="filter_area", label=_("区域"))

    def filter_area(self, queryset, name, value):
        return queryset.within(value) if value else queryset


class PersonFilterSet(AreaFilterMixin):
    q = filters.CharFilter(method="filter_q", label=_("搜索"))
    # Bounded: an age of 1e308 overflowed the date arithmetic (a 500 found by the robustness suite).
    age_min = filters.NumberFilter(method="filter_age_min", label=_("最小年龄"), min_value=0, max_value=1000)
    age_max = filters.NumberFilter(method="filter_age_max", label=_("最大年龄"), min_value=0, max_value=1000)
    sex = filters.ChoiceFilter(choices=code_choices("sex"), label=_("性别"))
    population_type = filters.ChoiceFilter(choices=code_choices("population_type"), label=_("人口类型"))
    residence_status = filters.ChoiceFilter(choices=code_choices("residence_status"), label=_("人户状态"))
    status = filters.ChoiceFilter(choices=PersonStatus.choices, label=_("状态"))
    group = filters.ModelChoiceFilter(
        queryset=GroupType.objects.filter(active=True),
        to_field_name="key",
        method="filter_group",
        label=_("人群"),
    )
    tag = filters.ModelChoiceFilter(queryset=Tag.objects.all(), field_name="tags", label=_("标签"))
    household = filters.CharFilter(method="filter_household", label=_("户号"))
    ordering = filters.OrderingFilter(
        fields=(
            ("pinyin", "name"),
            ("birth_date", "birth_date"),
            ("updated_at", "updated"),
            ("area_path", "area"),
        ),
        label=_("排序"),
    )

    class Meta:
        model = Person
        fields = ["area", "q", "sex", "population_type", "residence_status", "status", "group", "tag"]

    def filter_q(self, queryset, name, value):
        return search_persons(queryset, value)

    def filter_age_min(self, queryset, name, value):
        return queryset.filter(birth_date__lte=add_years(dt.date.today(), -int(value)))

    def filter_age_max(self, queryset, name, value):
        return queryset.filter(birth_date__gt=add_years(dt.date.today(), -(int(value) + 1)))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only groups whose sensitivity class the user may read anywhere are offered at all.
        readable = {"general"}
        for grant in permissions.grants(getattr(self.request, "user", None)):
            readable |= grant.field_groups
        self.filters["group"].queryset = GroupType.objects.filter(active=True, field_group__in=readable)

    def filter_group(self, queryset, name, value: GroupType):
        if value is None:
            return queryset
        if value.field_group != "general":
            # Filtering by a sensitive group would disclose membership: only under the grants
            # that may read that group.
            user = getattr(self.request, "user", None)
            allowed = Q(pk__in=[])
            for grant in permissions.grants(user):
                if value.field_group in grant.field_groups:
                    allowed |= path_range_q(grant.path)
            queryset = queryset.filter(allowed)
        if value.is_derived:
            return queryset.filter(birth_date__lte=add_years(dt.date.today(), -value.min_age))
        return queryset.filter(pk__in=groups.members(value).values("pk"))

    def filter_household(self, queryset, name, value):
        return queryset.filter(
            memberships__household__number=value.strip(), memberships__end_date__isnull=True
        )


class HouseholdFilterSet(AreaFilterMixin):
    number = filters.CharFilter(field_name="number", lookup_expr="startswith", label=_("户号"))
    q = filters.CharFilter(method="filter_q", label=_("搜索"))
    status = filters.ChoiceFilter(choices=HouseholdStatus.choices, label=_("状态"))
    household_type = filters.ChoiceFilter(choices=code_choices("household_type"), label=_("户别"))

    class Meta:
        model = Household
        fields = ["area", "number", "status", "household_type"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        people = search_persons(Person.objects.all(), value).values("pk")
        return queryset.filter(
            Q(number__startswith=value)
            | Q(memberships__person__in=people, memberships__end_date__isnull=True)
        ).distinct()


class HouseFilterSet(AreaFilterMixin):
    q = filters.CharFilter(method="filter_q", label=_("地址/房号"))
    use = filters.ChoiceFilter(choices=code_choices("house_use"), label=_("用途"))
    building = filters.ModelChoiceFilter(queryset=Building.objects.all(), label=_("楼栋"))

    class Meta:
        model = House
        fields = ["area", "use", "building"]

    def filter_q(self, queryset, name, value):
        from .search import room_key

        value = value.strip()
        key = room_key(value)
        cond = Q(address__contains=value)
        if key:
            cond |= Q(room_key=key) | Q(room_key__endswith="-" + key)
        return queryset.filter(cond)


class BuildingFilterSet(AreaFilterMixin):
    q = filters.CharFilter(method="filter_q", label=_("名称/地址"))

    class Meta:
        model = Building
        fields = ["area", "building_type"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__contains=value) | Q(street_address__contains=value))
