"""Grid-work REST API (``/api/v1/grid-assignments/``, ``visits/``, ``diary-entries/``, ``patrols/``,
``duty-shifts/``), scoped like the pages; the rules of the work live in :mod:`.services`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from linli.core import permissions
from linli.core.api import ScopedModelViewSet
from linli.registry.models import Household

from . import serializers as s
from . import services
from .models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit


def _domain_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _require_at(user, perm: str, area_path: str) -> None:
    if not permissions.has_perm(user, perm, area_path=area_path):
        raise PermissionDenied(gettext("不能在您的管辖范围以外操作 (outside your scope)"))


class GridAssignmentViewSet(ScopedModelViewSet):
    """Who answers for each grid; creating one puts a worker in charge (ending the previous one)."""

    queryset = GridAssignment.objects.select_related("user").order_by("area_path", "id")
    serializer_class = s.GridAssignmentSerializer
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = ["area", "user", "role"]
    extra_action_perms = {"end": "change"}

    def create(self, request, *args, **kwargs):
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        _require_at(request.user, "grid.add_gridassignment", data["area"].path)
        try:
            assignment = services.assign(data["area"], data["user"], role=data["role"],
                                         start_date=data.get("start_date"), note=data.get("note", ""))  # fmt: skip
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(self.get_serializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.GridAssignmentSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """卸任: end the assignment today."""
        assignment = self.get_object()
        if assignment.end_date is not None:
            raise ValidationError({"end_date": gettext("该分工已结束 (already ended)")})
        try:
            services.end_assignment(assignment)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(self.get_serializer(assignment).data)


class VisitViewSet(ScopedModelViewSet):
    """入户走访: list, read and record visits (recording may also report an event)."""

    queryset = Visit.objects.prefetch_related("met", "photos").order_by("-visited_on", "-id")
    serializer_class = s.VisitSerializer
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = {"household": ["exact"], "visitor": ["exact"], "visited_on": ["gte", "lte"],
                        "counts": ["exact"]}  # fmt: skip

    def create(self, request, *args, **kwargs):
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        household: Household = data.pop("household")
        _require_at(request.user, "grid.add_visit", household.area_path)
        event = data.pop("raise_event", None)
        if event:
            _require_at(request.user, "events.add_event", household.area_path)
        try:
            visit = services.record_visit(
                household=household, visitor=request.user, raise_event=event, **data
            )
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(self.get_serializer(visit).data, status=status.HTTP_201_CREATED)


class DiaryEntryViewSet(ScopedModelViewSet):
    """民情日记: the author writes and edits until graded; a supervisor grades (``grade``)."""

    queryset = DiaryEntry.objects.order_by("-date", "-id")
    serializer_class = s.DiaryEntrySerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = {"area": ["exact"], "author": ["exact"], "date": ["gte", "lte"], "grade": ["exact"]}
    extra_action_perms = {"grade": "grade"}

    def perform_create(self, serializer):
        area = serializer.validated_data["area"]
        _require_at(self.request.user, "grid.add_diaryentry", area.path)
        entry = DiaryEntry(author=self.request.user, **serializer.validated_data)
        try:
            entry.clean()
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        if DiaryEntry.objects.filter(author=entry.author, area=area, date=entry.date).exists():
            raise ValidationError(
                {"date": gettext("这一天已经写过该网格的民情日记 (one entry a day per grid)")}
            )
        with transaction.atomic():
            serializer.save(author=self.request.user)
            self._ensure_in_scope(serializer.instance)

    def perform_update(self, serializer):
        try:
            services.check_diary_editable(serializer.instance, self.request.user)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        super().perform_update(serializer)

    @extend_schema(request=s.GradeSerializer, responses={200: s.DiaryEntrySerializer})
    @action(detail=True, methods=["post"])
    def grade(self, request, pk=None):
        """评定等级."""
        entry = self.get_object()
        form = s.GradeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            services.grade_diary(entry, request.user, **form.validated_data)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(self.get_serializer(entry).data)


class PatrolViewSet(ScopedModelViewSet):
    """巡查: ``POST`` checks in, ``check-out`` checks out."""

    queryset = Patrol.objects.order_by("-started_at", "-id")
    serializer_class = s.PatrolSerializer
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = {"area": ["exact"], "user": ["exact"], "started_at": ["gte", "lte"]}
    extra_action_perms = {"check_out": "change"}

    def create(self, request, *args, **kwargs):
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            patrol = services.check_in(request.user, data["area"], lat=data.get("start_lat"),
                                       lng=data.get("start_lng"), route=data.get("route", ""))  # fmt: skip
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(self.get_serializer(patrol).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CheckOutSerializer, responses={200: s.PatrolSerializer})
    @action(detail=True, methods=["post"], url_path="check-out", url_name="check-out")
    def check_out(self, request, pk=None):
        """签退."""
        patrol = self.get_object()
        form = s.CheckOutSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            services.check_out(patrol, request.user, **form.validated_data)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(self.get_serializer(patrol).data)


class DutyShiftViewSet(ScopedModelViewSet):
    """邻里值班室 duty roster."""

    queryset = DutyShift.objects.select_related("user").order_by("starts_at", "id")
    serializer_class = s.DutyShiftSerializer
    filterset_fields = {"area": ["exact"], "user": ["exact"], "starts_at": ["gte", "lte"]}

    def perform_create(self, serializer):
        _require_at(self.request.user, "grid.add_dutyshift", serializer.validated_data["area"].path)
        super().perform_create(serializer)

    def perform_destroy(self, instance):
        instance.delete(change_note="取消排班 shift removed")
