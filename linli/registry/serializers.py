"""API representations. ID and phone numbers are write-only; reads carry only masked forms."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from rest_framework import serializers

from linli.areas.models import Area, Building, House
from linli.codes import lookup
from linli.core import permissions
from linli.core.fields import CodeField
from linli.core.serializers import CachedFieldsMixin

from .models import GroupMembership, Household, Membership, Person


class ModelCleanMixin:
    """Run the model's own validation (ID rules, codes …) and report it per field, in Chinese."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance or self.Meta.model()
        for key, value in attrs.items():
            if key != "tags":
                setattr(instance, key, value)
        try:
            instance.full_clean(exclude=self.clean_exclude())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        for key in ("phone",):
            if key in attrs:
                attrs[key] = getattr(instance, key)
        return attrs

    def clean_exclude(self) -> list[str]:
        return ["tags", "area_path"]


def scoped_related(serializer_field_name: str, model, action: str = "view"):
    """A PK field whose choices are limited to the request user's scope (mass assignment guard)."""

    class ScopedPK(serializers.PrimaryKeyRelatedField):
        def get_queryset(self):
            request = self.context.get("request")
            base = model._default_manager.all()
            if request is None:
                return base.none()
            field = "path" if model is Area else "area_path"
            return permissions.restrict(base, request.user, action, field=field)

    return ScopedPK


class CodeChoiceField(serializers.CharField):
    def __init__(self, table, **kwargs):
        self.table = table
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value and value not in lookup.table(self.table):
            raise serializers.ValidationError(
                gettext("“%(value)s” 不是有效代码 (unknown code in %(table)s)")
                % {"value": value, "table": self.table}
            )
        return value


class LinliModelSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    def build_standard_field(self, field_name, model_field):
        if isinstance(model_field, CodeField):
            return CodeChoiceField, {"table": model_field.table, "required": False, "allow_blank": True,
                                     "max_length": model_field.max_length}  # fmt: skip
        return super().build_standard_field(field_name, model_field)


AreaPK = scoped_related("area", Area)
HousePK = scoped_related("house", House)


PREFETCHED = "prefetched_"  # Prefetch(..., to_attr=PREFETCHED + name): a plain list per row


def _related(obj, name: str):
    """``obj.<name>.all()``, taken from the view's prefetch when it made one.

    The API views prefetch into plain lists (``to_attr``): prefetching into the related manager's
    cache builds a filtered queryset per row and relation (~100 queryset clones per page of 50).
    """
    rows = getattr(obj, PREFETCHED + name, None)
    if rows is not None:
        return rows
    cache = getattr(obj, "_prefetched_objects_cache", None)
    if cache and name in cache:
        return cache[name]
    return getattr(obj, name).all()


class AgeField(serializers.IntegerField):
    """``Person.age()``, read-only: called directly (DRF's generic attribute lookup inspects the
    method's signature on every row to decide whether to call it)."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance):
        return instance.age()


class MembershipSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    household_number = serializers.CharField(source="household.number", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "household", "household_number", "person", "person_name", "relation", "start_date",
                  "end_date", "end_reason"]  # fmt: skip
        read_only_fields = fields


class GroupMembershipSerializer(serializers.ModelSerializer):
    group = serializers.CharField(source="group_type.key", read_only=True)
    group_name = serializers.CharField(source="group_type.name", read_only=True)

    class Meta:
        model = GroupMembership
        fields = ["id", "person", "group", "group_name", "start_date", "end_date", "detail"]
        read_only_fields = fields


class PersonSerializer(ModelCleanMixin, LinliModelSerializer):
    area = AreaPK()
    house = HousePK(required=False, allow_null=True)
    id_number = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=32)
    phone = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=20)
    household = serializers.SerializerMethodField()
    groups = serializers.SerializerMethodField()
    age = AgeField()

    class Meta:
        model = Person
        fields = [
            "id", "area", "name", "former_name", "pinyin", "id_type", "id_number", "id_number_masked",
            "birth_date", "age", "sex", "ethnicity", "nationality", "political_status", "education",
            "marital_status", "religion", "occupation", "employer", "phone", "phone_masked",
            "registered_region", "registered_address", "house", "current_address", "residence_status",
            "population_type", "inflow_reason", "inflow_date", "origin_region", "origin_address",
            "residence_permit_type", "residence_permit_expiry", "status", "status_date", "note",
            "household", "groups", "version", "created_at", "updated_at",
        ]  # fmt: skip
        # Never writable through the API: status changes are life events, the rest is derived.
        read_only_fields = ["pinyin", "id_number_masked", "phone_masked", "status", "status_date", "version",
                            "created_at", "updated_at"]  # fmt: skip

    def get_household(self, obj) -> dict | None:
        membership = next((m for m in _related(obj, "memberships") if m.end_date is None), None)
        if membership is None:
            return None
        return {"id": membership.household_id, "relation": membership.relation}

    def get_groups(self, obj) -> list[str]:
        request = self.context.get("request")
        readable = permissions.field_groups(request.user, obj.area_path) if request else frozenset()
        return sorted(
            m.group_type.key
            for m in _related(obj, "group_memberships")
            if m.end_date is None and m.group_type.field_group in readable
        )


class HouseholdSerializer(ModelCleanMixin, LinliModelSerializer):
    area = AreaPK()
    house = HousePK(required=False, allow_null=True)
    members = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = ["id", "area", "number", "household_type", "house", "registered_address", "status", "status_date",
                  "note", "members", "version", "created_at"]  # fmt: skip
        read_only_fields = ["status", "status_date", "version", "created_at"]

    def get_members(self, obj) -> list[dict]:
        return [
            {"person": m.person_id, "name": m.person.name, "relation": m.relation, "start_date": m.start_date}
            for m in _related(obj, "memberships")
            if m.end_date is None
        ]


class HouseSerializer(LinliModelSerializer):
    area = AreaPK()

    class Meta:
        model = House
        fields = ["id", "area", "building", "unit", "room", "floor", "address", "room_key", "floor_area", "use",
                  "owner", "owner_name", "note"]  # fmt: skip
        read_only_fields = ["room_key"]


class BuildingSerializer(LinliModelSerializer):
    area = AreaPK()

    class Meta:
        model = Building
        fields = ["id", "area", "name", "street_address", "building_type", "floors", "built_year",
                  "property_company"]  # fmt: skip


class AreaSerializer(serializers.ModelSerializer):
    parent_path = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = ["id", "name", "level", "code", "grid_code", "path", "parent_path", "depth", "boundary",
                  "centre_lat", "centre_lng"]  # fmt: skip
        read_only_fields = fields

    def get_parent_path(self, obj) -> str:
        return obj.path[: -Area.steplen] if obj.depth > 1 else ""


class RevealSerializer(serializers.Serializer):
    purpose = serializers.CharField(min_length=4, max_length=200)


class RevealedSerializer(serializers.Serializer):
    id_number = serializers.CharField()
    phone = serializers.CharField()


class LifeEventSerializer(serializers.Serializer):
    date = serializers.DateField()
    place = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    new_head = serializers.IntegerField(required=False, allow_null=True)
