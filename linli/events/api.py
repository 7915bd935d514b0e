"""Events REST API (``/api/v1/events/``) and the Open311 GeoReport v2 endpoints.

The viewset has the same scope as the pages (:mod:`linli.events.access`); every workflow
transition is its own ``POST /api/v1/events/<id>/<action>/`` with its own permission. A refused
move answers 400 with the bilingual reason, a lost race 409, someone who is not the unit that
must act 403.

Open311 (``/api/open311/v2/…``): ``services.json``, ``requests.json`` and ``requests/<id>.json``
are public; ``POST requests.json`` needs an API token whose owner may report events where the
request is located. The public answers leave out the description, address and point (they may
describe a resident's home) unless the caller may view that event.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from linli.accounts.authentication import ApiTokenAuthentication
from linli.areas.models import Area, House
from linli.core import permissions
from linli.core.api import ScopedModelViewSet

from . import access, open311, workflow
from . import serializers as s
from .choices import EventChannel, StepAction
from .models import Event, EventCategory

A = StepAction

# API transitions: action → permission action (``events.<perm>_event``). 督办/加急 are a superior's.
TRANSITION_PERMS = {
    **{
        a: "handle"
        for a in [
            A.ACCEPT, A.REJECT, A.DISPATCH, A.SIGN, A.RETURN, A.START, A.ESCALATE, A.LOCALITY,
            A.REQUEST_EXTENSION, A.APPROVE_EXTENSION, A.DENY_EXTENSION, A.FEED_BACK, A.VERIFY, A.REWORK,
            A.CLOSE, A.RATE, A.ARCHIVE, A.SHELVE, A.REVIEW_SHELVED, A.RESUME, A.ARRIVE, A.NOTE,
        ]
    },
    A.SUPERVISE: "supervise",
    A.EXPEDITE: "supervise",
}  # fmt: skip


def _method_name(act: str) -> str:
    """Method names that do not shadow the view's own (``dispatch``) or keywords (``return``)."""
    return {A.RETURN: "return_event", A.DISPATCH: "dispatch_event"}.get(act, str(act))


def _domain_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class EventViewSet(ScopedModelViewSet):
    """Events in the caller's scope; create reports a new event; transitions move it."""

    queryset = Event.objects.all()
    serializer_class = s.EventSerializer
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = ["status", "priority", "channel", "handling_level"]
    extra_action_perms = {_method_name(a): perm for a, perm in TRANSITION_PERMS.items()}

    def get_queryset(self):
        return (
            access.visible_events(self.request.user)
            .select_related("category", "area", "department")
            .order_by("-reported_at", "-id")
        )

    def get_serializer_class(self):
        if self.action == "retrieve":
            return s.EventDetailSerializer
        if self.action == "create":
            return s.EventCreateSerializer
        if self.action in self.extra_action_perms:
            return s.TransitionSerializer
        return s.EventSerializer

    @extend_schema(request=s.EventCreateSerializer, responses={201: s.EventDetailSerializer})
    def create(self, request, *args, **kwargs):
        form = s.EventCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        area = data["location_area"]
        if not permissions.covers(access.area_paths(request.user, "add"), area.path):
            raise PermissionDenied(gettext("不能在您的管辖范围以外登记事件 (outside your scope)"))
        try:
            event = workflow.report_event(user=request.user, **data)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        return Response(s.EventDetailSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.EventSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)  # at most 20, a plain list
    def similar(self, request, pk=None):
        """可能重复: open events of the same category at the same house or area, visible to the caller."""
        event = self.get_object()
        return Response(s.EventSerializer(access.similar_events(request.user, event)[:20], many=True).data)

    def transition(self, request, act: str):
        event = self.get_object()
        form = s.TransitionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        if data.get("version") is not None and data["version"] != event.version:
            return Response({"detail": "事件已被他人处理或已发生变化，请刷新后重试 (version mismatch)"},
                            status=status.HTTP_409_CONFLICT)  # fmt: skip
        kwargs = {"note": data.get("note", "")}
        if act == A.DISPATCH:
            kwargs.update(to_area=data.get("to_area"), to_department=data.get("to_department"))
        elif act == A.REQUEST_EXTENSION:
            if not data.get("until"):
                raise ValidationError({"until": gettext("请填写延期至的时间 (the new deadline is required)")})
            kwargs["until"] = data["until"]
        elif act == A.APPROVE_EXTENSION and data.get("until"):
            kwargs["until"] = data["until"]
        elif act in (A.SHELVE, A.REVIEW_SHELVED):
            kwargs["review_date"] = data.get("review_date")
        elif act == A.RATE:
            kwargs["satisfaction"] = data.get("satisfaction")
        try:
            workflow.check(event, act)
            access.authorize(request.user, event, act)
            step = workflow.perform(act, event, request.user, **kwargs)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except workflow.ConcurrentChange as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise _domain_error(exc) from None
        event.refresh_from_db()
        body = s.EventSerializer(event).data
        body["step"] = s.StepSerializer(step).data
        return Response(body)


def _make_transition(act: str):
    def handler(self, request, pk=None):
        return self.transition(request, act)

    handler.__name__ = _method_name(act)
    handler.__doc__ = f"{StepAction(act).label}"
    routed = action(detail=True, methods=["post"], url_path=str(act).replace("_", "-"),
                    url_name=str(act).replace("_", "-"))(handler)  # fmt: skip
    # extend_schema goes on top of action(), as with decorators: action() replaces the function's
    # kwargs, and with them a schema set before it (the 200 was documented as the request body).
    return extend_schema(request=s.TransitionSerializer, responses={200: s.EventSerializer})(routed)


for _act in TRANSITION_PERMS:
    setattr(EventViewSet, _method_name(_act), _make_transition(_act))


# -- Open311 GeoReport v2 --------------------------------------------------------------------------
def _bad_request(exc: DjangoValidationError) -> Response:
    return Response(open311.errors_to_open311(exc), status=status.HTTP_400_BAD_REQUEST)


def _public_request(event: Event, user) -> dict:
    item = open311.event_to_request(event)
    if not access.visible_events(user).filter(pk=event.pk).exists():
        item.update(description="", address="", address_id="", lat=None, long=None)
    return item


# Open311 answers are JSON arrays (GeoReport v2); the schema says so, so clients and the fuzzer agree.
def _open311_list(name: str, **fields):
    return inline_serializer(name=name, fields=fields, many=True)


_text = serializers.CharField
OPEN311_SERVICES = _open311_list(
    "Open311Service", service_code=_text(), service_name=_text(), description=_text(),
    metadata=serializers.BooleanField(), type=_text(), keywords=_text(), group=_text(),
)  # fmt: skip
OPEN311_REQUESTS = _open311_list(
    "Open311Request", service_request_id=_text(), status=_text(), status_notes=_text(), service_name=_text(),
    service_code=_text(), description=_text(), agency_responsible=_text(), service_notice=_text(),
    requested_datetime=serializers.DateTimeField(allow_null=True),
    updated_datetime=serializers.DateTimeField(allow_null=True),
    expected_datetime=serializers.DateTimeField(allow_null=True), address=_text(), address_id=_text(),
    zipcode=_text(), lat=serializers.FloatField(allow_null=True), long=serializers.FloatField(allow_null=True),
    media_url=_text(),
)  # fmt: skip
OPEN311_CREATED = _open311_list(
    "Open311Created", service_request_id=_text(), service_notice=_text(),
    account_id=_text(allow_null=True),
)  # fmt: skip
# A raw schema: drf-spectacular wraps lists in arrays only for 2xx answers.
OPEN311_ERRORS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        "required": ["code", "description"],
    },
}


class Open311View(APIView):
    linli_policy = "public"
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [AllowAny]


@extend_schema_view(
    get=extend_schema(
        operation_id="open311_v2_services.json_retrieve", responses=OPEN311_SERVICES, tags=["open311"]
    )
)
class ServicesView(Open311View):
    """``GET services.json``: the public categories."""

    def get(self, request):
        categories = EventCategory.objects.select_related("parent").order_by("code")
        return Response(open311.service_list(categories))


def _parse_dt(value: str):
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


@extend_schema_view(
    get=extend_schema(
        operation_id="open311_v2_requests.json_retrieve", responses=OPEN311_REQUESTS, tags=["open311"]
    ),
    post=extend_schema(
        operation_id="open311_v2_requests.json_create",
        request=OpenApiTypes.OBJECT,
        responses={201: OPEN311_CREATED, 400: OPEN311_ERRORS, 401: OPEN311_ERRORS, 403: OPEN311_ERRORS},
        tags=["open311"],
    ),
)
class RequestsView(Open311View):
    """``GET requests.json`` (public, filtered) and ``POST requests.json`` (API token)."""

    def get(self, request):
        qs = Event.objects.filter(category__public=True).select_related("category", "area", "department")
        params = request.query_params
        if params.get("service_request_id"):
            qs = qs.filter(number__in=[n.strip() for n in params["service_request_id"].split(",")][:100])
        if params.get("service_code"):
            qs = qs.filter(category__code__in=params["service_code"].split(","))
        start = _parse_dt(params.get("start_date", "")) if params.get("start_date") else None
        end = _parse_dt(params.get("end_date", "")) if params.get("end_date") else None
        if start is None and not params.get("service_request_id"):
            start = timezone.now() - dt.timedelta(days=90)
        if start is not None:
            qs = qs.filter(reported_at__gte=start)
        if end is not None:
            qs = qs.filter(reported_at__lt=end)
        wanted = params.get("status")
        events = list(qs.order_by("-reported_at")[:1000])
        items = [_public_request(e, request.user) for e in events]
        if wanted in (open311.OPEN, open311.CLOSED):
            items = [i for i in items if i["status"] == wanted]
        return Response(items)

    def post(self, request):
        if not (request.user and request.user.is_authenticated):
            return Response([{"code": 401, "description": "需要 API 令牌 (an API token is required)"}],
                            status=status.HTTP_401_UNAUTHORIZED)  # fmt: skip
        if not access.has_any(request.user, "add"):
            return Response([{"code": 403, "description": "没有上报权限 (permission denied)"}],
                            status=status.HTTP_403_FORBIDDEN)  # fmt: skip
        categories = {c.code: c for c in EventCategory.objects.all()}
        try:
            parsed = open311.parse_request(request.data, categories)
        except DjangoValidationError as exc:
            return _bad_request(exc)
        scope = access.area_paths(request.user, "add")
        area = None
        house = None
        if parsed.address_id.isdigit():
            house = House.objects.filter(pk=int(parsed.address_id)).first()
            area = house.area if house is not None else None
        if area is None and parsed.lat is not None:
            grids = Area.objects.filter(level="grid", boundary__isnull=False)
            area = open311.locate(
                parsed.lat, parsed.lng, [g for g in grids if permissions.covers(scope, g.path)]
            )
        if area is None and parsed.jurisdiction_id:
            area = Area.objects.filter(code=parsed.jurisdiction_id).first()
        if area is None and len(scope) == 1:
            area = Area.objects.filter(path=scope[0]).first()
        if area is None:
            return _bad_request(
                DjangoValidationError({"location": "无法确定事件所在区域 (cannot locate the request)"})
            )
        if not permissions.covers(scope, area.path):
            return Response([{"code": 403, "description": "该位置不在令牌的上报范围内 (outside the token's scope)"}],
                            status=status.HTTP_403_FORBIDDEN)  # fmt: skip
        try:
            event = workflow.report_event(user=request.user, location_area=area, house=house,
                                          **{**parsed.report_kwargs(), "channel": EventChannel.API})  # fmt: skip
        except DjangoValidationError as exc:
            return _bad_request(exc)
        return Response(open311.created_response(event), status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        operation_id="open311_v2_requests_.json_retrieve",
        responses={200: OPEN311_REQUESTS, 404: OPEN311_ERRORS},
        tags=["open311"],
    )
)
class RequestView(Open311View):
    """``GET requests/<service_request_id>.json``."""

    def get(self, request, service_request_id):
        event = (
            Event.objects.filter(number=service_request_id, category__public=True)
            .select_related("category", "area", "department")
            .first()
        )
        if event is None:
            return Response(
                [{"code": 404, "description": "未找到 (not found)"}], status=status.HTTP_404_NOT_FOUND
            )
        return Response([_public_request(event, request.user)])


open311_urlpatterns = [
    path("services.json", ServicesView.as_view(), name="open311-services"),
    path("requests.json", RequestsView.as_view(), name="open311-requests"),
    path("requests/<str:service_request_id>.json", RequestView.as_view(), name="open311-request"),
]
