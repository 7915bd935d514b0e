"""REST API of the registry: the same scope, field permissions and masking as the pages."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from linli.areas.models import Area, Building, House
from linli.audit import events as audit_events
from linli.audit import record
from linli.core import permissions
from linli.core.api import ScopedModelViewSet, ScopedReadOnlyViewSet
from linli.core.concurrency import check_version, etag
from linli.core.scope import path_range_q

from . import serializers as s
from . import services
from .filtersets import BuildingFilterSet, HouseFilterSet, HouseholdFilterSet, PersonFilterSet
from .models import GroupMembership, Household, Membership, Person


class VersionedUpdateMixin:
    """Refuse stale updates (see :mod:`linli.core.concurrency`) and send ETags on reads."""

    # (A comment, not the docstring: the docstring is the API documentation of the viewsets.)
    # Each request reads its object once: the retrieve serialises the object it found and takes
    # the ETag from it; an update finds the object in the scoped queryset and locks its row in the
    # same query (SELECT … FOR UPDATE), compares the versions on that locked row, saves it, and
    # takes the ETag from the saved version (the row stays locked until the commit, so no other
    # write can come between).

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        response = Response(self.get_serializer(instance).data)
        response["ETag"] = etag(instance)
        return response

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance = self.get_locked_object()
            check_version(request, instance)
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            self.perform_update(serializer)
        if getattr(instance, "_prefetched_objects_cache", None):
            instance._prefetched_objects_cache = {}  # as DRF does: related rows may have changed
        for attr in [a for a in vars(instance) if a.startswith(s.PREFETCHED)]:
            delattr(instance, attr)  # the same for prefetches into plain lists
        response = Response(serializer.data)
        response["ETag"] = etag(instance)
        return response

    def get_locked_object(self):
        """:meth:`get_object`, with the row locked for the rest of the transaction."""
        queryset = self.filter_queryset(self.get_queryset()).select_for_update()
        lookup = self.lookup_url_kwarg or self.lookup_field
        instance = get_object_or_404(queryset, **{self.lookup_field: self.kwargs[lookup]})
        self.check_object_permissions(self.request, instance)
        return instance


def _domain_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class PersonViewSet(VersionedUpdateMixin, ScopedModelViewSet):
    """Residents. ID and phone numbers are masked; ``reveal`` shows them for a stated, audited purpose."""

    queryset = Person.objects.all()
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    extra_action_perms = {"reveal": "reveal", "move_out": "lifeevent", "death": "lifeevent"}

    def get_queryset(self):
        current = Membership.objects.filter(end_date__isnull=True)
        queryset = super().get_queryset()
        if self.request.method in SAFE_METHODS:
            # Reads never show the encrypted numbers: skip loading and decrypting them. A write
            # needs the whole row (validation reads both; the change history diffs against it),
            # which deferring would fetch again in three more queries.
            queryset = queryset.defer("id_number", "phone")
        return queryset.prefetch_related(
            Prefetch("memberships", queryset=current, to_attr=s.PREFETCHED + "memberships"),
            Prefetch(
                "group_memberships",
                queryset=GroupMembership.objects.select_related("group_type"),
                to_attr=s.PREFETCHED + "group_memberships",
            ),  # fmt: skip
        ).order_by("pk")

    @extend_schema(request=s.RevealSerializer, responses={200: s.RevealedSerializer})
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        person = self.get_object()
        form = s.RevealSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        full = Person.objects.get(pk=person.pk)
        record(audit_events.REVEAL, obj=full, purpose=form.validated_data["purpose"],
               detail={"fields": ["id_number", "phone"]})  # fmt: skip
        return Response({"id_number": full.id_number, "phone": full.phone})

    @extend_schema(request=s.LifeEventSerializer, responses={200: s.PersonSerializer})
    @action(detail=True, methods=["post"], url_path="move-out")
    def move_out(self, request, pk=None):
        return self._life_event(request, services.move_out, with_place=True)

    @extend_schema(request=s.LifeEventSerializer, responses={200: s.PersonSerializer})
    @action(detail=True, methods=["post"])
    def death(self, request, pk=None):
        return self._life_event(request, services.record_death, with_place=False)

    def _life_event(self, request, service, *, with_place: bool):
        person = Person.objects.get(pk=self.get_object().pk)
        data = s.LifeEventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        new_head = None
        if values.get("new_head"):
            new_head = (
                permissions.restrict(Person.objects.all(), request.user, "view")
                .filter(pk=values["new_head"])
                .first()
            )
            if new_head is None:
                raise ValidationError(
                    {"new_head": gettext("新户主不存在或不在您的范围内 (unknown new head)")}
                )
        kwargs = {"date": values["date"], "new_head": new_head, "note": values["note"]}
        if with_place:
            kwargs["place"] = values["place"]
        try:
            service(person, **kwargs)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(
            s.PersonSerializer(Person.objects.get(pk=person.pk), context={"request": request}).data
        )


class HouseholdViewSet(VersionedUpdateMixin, ScopedModelViewSet):
    queryset = Household.objects.all()
    serializer_class = s.HouseholdSerializer
    filterset_class = HouseholdFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self):
        members = Membership.objects.filter(end_date__isnull=True).select_related("person")
        return (
            super()
            .get_queryset()
            .prefetch_related(Prefetch("memberships", queryset=members, to_attr=s.PREFETCHED + "memberships"))
            .order_by("pk")
        )


class HouseViewSet(ScopedModelViewSet):
    queryset = House.objects.all().order_by("pk")
    serializer_class = s.HouseSerializer
    filterset_class = HouseFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class BuildingViewSet(ScopedModelViewSet):
    queryset = Building.objects.all().order_by("pk")
    serializer_class = s.BuildingSerializer
    filterset_class = BuildingFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class AreaViewSet(ScopedReadOnlyViewSet):
    queryset = Area.objects.all().order_by("path")
    serializer_class = s.AreaSerializer
    filterset_fields = ["level", "code"]

    def get_queryset(self):
        return permissions.restrict(
            Area.objects.all().order_by("path"), self.request.user, "view", field="path"
        )


class GroupMembershipViewSet(ScopedReadOnlyViewSet):
    """Special-group memberships, limited to the sensitive groups the user's roles may read."""

    queryset = GroupMembership.objects.select_related("group_type").order_by("pk")
    serializer_class = s.GroupMembershipSerializer
    filterset_fields = ["person", "group_type__key"]

    def get_queryset(self):
        # Each grant opens its own sensitive groups in its own subtree, not everywhere.
        allowed = Q(pk__in=[])
        for grant in permissions.grants(self.request.user):
            allowed |= path_range_q(grant.path) & Q(group_type__field_group__in=grant.field_groups)
        return super().get_queryset().filter(allowed)

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        if instance.group_type.field_group not in permissions.field_groups(request.user, instance.area_path):
            raise PermissionDenied(gettext("无权查看该类别 (field group not permitted)"))
        return Response(self.get_serializer(instance).data, status=status.HTTP_200_OK)
