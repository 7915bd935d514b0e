"""Open311 GeoReport v2 mapping: services from categories, requests to and from events.

Pure functions (no HTTP): the API work wires them to ``/open311/v2/services``, ``requests`` and
``requests/<id>``. Field names follow the GeoReport v2 specification; a service is an active
public category, a service request is an event (its number is the ``service_request_id``), and
the status is ``open`` until the event is finished.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from .choices import FINISHED_STATES, EventChannel

OPEN, CLOSED = "open", "closed"


def status_of(event_status: str) -> str:
    """Our status → GeoReport ``open``/``closed`` (fed back and verified are still open)."""
    return CLOSED if event_status in FINISHED_STATES else OPEN


def _iso(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def service(category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": category.parent.name if category.parent_id else category.name,
    }


def service_list(categories) -> list[dict]:
    """``GET services``: every active public category that has no active public children."""
    categories = [c for c in categories if c.active and c.public]
    parents = {c.parent_id for c in categories if c.parent_id}
    return [service(c) for c in categories if c.pk not in parents]


@dataclass
class ServiceRequest:
    """A parsed ``POST requests``: the arguments :func:`linli.events.workflow.report_event` needs,
    plus the place hints the endpoint resolves to an area (``jurisdiction_id``, ``address_id``, point)."""

    category: object
    title: str
    description: str
    lat: Decimal | None = None
    lng: Decimal | None = None
    address: str = ""
    address_id: str = ""
    jurisdiction_id: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    media_url: str = ""
    channel: str = EventChannel.API
    extra: dict = field(default_factory=dict)

    def report_kwargs(self) -> dict:
        return {
            "category": self.category,
            "title": self.title,
            "description": self.description,
            "lat": self.lat,
            "lng": self.lng,
            "address": self.address,
            "contact_name": self.contact_name,
            "contact_phone": self.contact_phone,
            "channel": self.channel,
        }


def _decimal(value, name: str, low: int, high: int, errors: dict):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[name] = gettext("%(name)s 不是数字 (not a number)") % {"name": name}
        return None
    if not number.is_finite():  # NaN cannot even be compared with the bounds
        errors[name] = f"{name} 不是数字 (not a number)"
        return None
    if not low <= number <= high:
        errors[name] = gettext("%(name)s 超出范围 (out of range)") % {"name": name}
        return None
    return number.quantize(Decimal("0.000001"))


def parse_request(data, categories) -> ServiceRequest:
    """Validate a GeoReport v2 ``POST requests`` body against ``{service_code: category}``.

    A location is required: ``lat``+``long``, ``address_string`` or ``address_id`` (spec rule).
    """
    errors: dict = {}
    # Found by the robustness suite's fuzzer: a JSON body of null, a list or numbers (500s), and
    # NUL characters (which PostgreSQL refuses) must be answered as the client's mistakes.
    if not hasattr(data, "get"):
        raise ValidationError(
            {"body": "请求内容须为表单或 JSON 对象 (the body must be a form or a JSON object)"}
        )

    def get(name: str) -> str | None:
        value = data.get(name)
        if value is None:
            return None
        value = value if isinstance(value, str) else str(value)
        if "\x00" in value:
            errors[name] = f"{name} 含有空字符 (contains a NUL character)"
            return None
        return value

    code = (get("service_code") or "").strip()
    category = categories.get(code)
    if not code:
        errors["service_code"] = gettext("缺少 service_code (service_code is required)")
    elif category is None or not category.active or not category.public:
        errors["service_code"] = gettext("未知的服务类别 %(code)s (unknown service_code)") % {"code": code}
    lat = _decimal(get("lat"), "lat", -90, 90, errors)
    lng = _decimal(get("long"), "long", -180, 180, errors)
    if (lat is None) != (lng is None) and "lat" not in errors and "long" not in errors:
        errors["lat"] = gettext("lat 与 long 须同时提供 (lat and long go together)")
    address = (get("address_string") or "").strip()
    address_id = (get("address_id") or "").strip()
    if lat is None and not address and not address_id and "lat" not in errors and "long" not in errors:
        errors["location"] = gettext("须提供 lat/long、address_string 或 address_id (a location is required)")
    description = (get("description") or "").strip()
    if len(description) > 4000:
        errors["description"] = gettext("description 过长，最多 4000 字 (at most 4000 characters)")
    if errors:
        raise ValidationError(errors)
    # Chinese names are family name first.
    name = f"{(get('last_name') or '').strip()}{(get('first_name') or '').strip()}"
    title = description.splitlines()[0][:60] if description else category.name
    return ServiceRequest(
        category=category,
        title=title or category.name,
        description=description,
        lat=lat,
        lng=lng,
        address=address,
        address_id=address_id,
        jurisdiction_id=(get("jurisdiction_id") or "").strip(),
        contact_name=name[:50],
        contact_phone=(get("phone") or "").strip(),
        email=(get("email") or "").strip(),
        device_id=(get("device_id") or "").strip(),
        account_id=(get("account_id") or "").strip(),
        media_url=(get("media_url") or "").strip(),
    )


def errors_to_open311(exc: ValidationError) -> list[dict]:
    """A validation error as GeoReport's error list (``[{"code": 400, "description": …}]``)."""
    messages = []
    if hasattr(exc, "message_dict"):
        for name, texts in exc.message_dict.items():
            messages += [f"{name}: {t}" for t in texts]
    else:
        messages = list(exc.messages)
    return [{"code": 400, "description": text} for text in messages]


def created_response(event) -> list[dict]:
    """``POST requests`` answer."""
    return [{"service_request_id": event.number, "service_notice": "", "account_id": None}]


def event_to_request(event, *, media_url: str = "") -> dict:
    """``GET requests`` / ``requests/<id>`` item for one event.

    Only what the public may see: no reporter, phone or persons; the address as given and the
    point, and the reply once there is one.
    """
    agency = event.department.name if event.department_id else event.area.name
    status = status_of(event.status)
    return {
        "service_request_id": event.number,
        "status": status,
        "status_notes": event.reply if event.reply else event.get_status_display().split()[0],
        "service_name": event.category.name,
        "service_code": event.category.code,
        "description": event.description,
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": _iso(event.reported_at),
        "updated_datetime": _iso(event.updated_at),
        "expected_datetime": _iso(event.due_at) if status == OPEN else None,
        "address": event.address,
        "address_id": str(event.house_id) if event.house_id else "",
        "zipcode": "",
        "lat": float(event.lat) if event.lat is not None else None,
        "long": float(event.lng) if event.lng is not None else None,
        "media_url": media_url,
    }


# -- locating a point ------------------------------------------------------------------------------
def _in_ring(lng: float, lat: float, ring) -> bool:
    """Even-odd rule (ray casting) for one closed ring of ``[lng, lat]`` points."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > lat) != (y2 > lat):
            crossing = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lng < crossing:
                inside = not inside
    return inside


def point_in_boundary(lat, lng, geojson) -> bool:
    """Whether the point lies inside a GeoJSON Polygon/MultiPolygon (holes excluded)."""
    if not geojson:
        return False
    polygons = (
        geojson["coordinates"]
        if geojson.get("type") == "MultiPolygon"
        else [geojson.get("coordinates") or []]
    )
    lat, lng = float(lat), float(lng)
    for polygon in polygons:
        if (
            polygon
            and _in_ring(lng, lat, polygon[0])
            and not any(_in_ring(lng, lat, hole) for hole in polygon[1:])
        ):
            return True
    return False


def locate(lat, lng, areas):
    """The first of ``areas`` (e.g. the grids of a district) whose boundary contains the point."""
    for area in areas:
        if point_in_boundary(lat, lng, area.boundary):
            return area
    return None
