"""Event pages: list, detail with timeline and workflow buttons, staff entry, attachments, metrics,
notifications. Every event is fetched through :mod:`linli.events.access`: outside the user's
scope it is a 404, without the permission anywhere a 403."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from linli.areas.models import Area
from linli.core import areafocus, permissions
from linli.core.views import offer_area_levels, policy

from . import access, metrics, workflow
from .choices import OPEN_STATES, StepAction
from .forms import ActionForm, EventForm, FilterForm
from .models import Attachment, Department, Event, Notification

A = StepAction

# Which extra inputs each action's form shows.
ACTION_FIELDS = {
    A.REJECT: ["note"],
    A.DISPATCH: ["to_area", "to_department", "note"],
    A.RETURN: ["note"],
    A.LOCALITY: ["note"],
    A.REQUEST_EXTENSION: ["until", "note"],
    A.APPROVE_EXTENSION: ["note"],
    A.DENY_EXTENSION: ["note"],
    A.FEED_BACK: ["note", "photos"],
    A.REWORK: ["note"],
    A.RATE: ["satisfaction", "note"],
    A.SHELVE: ["review_date", "note"],
    A.REVIEW_SHELVED: ["review_date", "note"],
    A.RESUME: ["note"],
    A.SUPERVISE: ["note"],
    A.NOTE: ["note", "photos"],
    A.ARRIVE: ["note", "photos"],
}
DANGER = {A.REJECT, A.RETURN, A.REWORK, A.DENY_EXTENSION, A.SHELVE}


def label(action: str) -> str:
    return StepAction(action).label.split()[0]


def scoped_event(user, pk) -> Event:
    """The event if the user may see it: 403 without the permission, 404 outside the scope."""
    access.require(user, "view")
    queryset = access.visible_events(user).select_related("category", "area", "department", "location_area")
    return get_object_or_404(queryset, pk=pk)


def action_kwargs(action: str, data: dict) -> dict:
    """The keyword arguments of ``workflow.perform`` for one action from cleaned form data."""
    kwargs = {"note": data.get("note") or ""}
    if action == A.DISPATCH:
        kwargs.update(to_area=data.get("to_area"), to_department=data.get("to_department"))
    elif action == A.REQUEST_EXTENSION:
        if not data.get("until"):
            raise ValidationError(
                gettext("请填写延期至的时间 (the new deadline is required)"), "until_required"
            )
        kwargs["until"] = data["until"]
    elif action in (A.SHELVE, A.REVIEW_SHELVED):
        kwargs["review_date"] = data.get("review_date")
    elif action == A.RATE:
        kwargs["satisfaction"] = data.get("satisfaction")
    if action in (A.FEED_BACK, A.NOTE, A.ARRIVE, A.ACCEPT, A.START, A.VERIFY, A.CLOSE) and data.get("photos"):
        kwargs["attachments"] = data["photos"]
    if action in (A.APPROVE_EXTENSION, A.DENY_EXTENSION, A.RATE, A.ARCHIVE, A.REVIEW_SHELVED, A.SUPERVISE,
                  A.EXPEDITE) and "attachments" in kwargs:  # fmt: skip
        kwargs.pop("attachments")
    return kwargs


def run_action(user, event: Event, action: str, data: dict):
    """Check the state first (a clear 400/message), then who may act (403), then do it."""
    if action not in workflow.ACTIONS:
        raise ValidationError(gettext("未知的操作 %(action)s (unknown action)") % {"action": action})
    workflow.check(event, action)
    access.authorize(user, event, action)
    return workflow.perform(action, event, user, **action_kwargs(action, data))


# -- list ------------------------------------------------------------------------------------------
def filter_events(queryset, data: dict, now=None):
    now = now or timezone.now()
    if data.get("q"):
        queryset = queryset.filter(Q(number__icontains=data["q"]) | Q(title__icontains=data["q"]))
    status = data.get("status")
    if status == "open":
        queryset = queryset.filter(status__in=OPEN_STATES)
    elif status:
        queryset = queryset.filter(status=status)
    if data.get("category"):
        queryset = queryset.filter(category__code__startswith=data["category"])
    for name in ("priority", "channel"):
        if data.get(name):
            queryset = queryset.filter(**{name: data[name]})
    if data.get("level"):
        queryset = queryset.filter(handling_level=data["level"])
    card = data.get("card")
    if card == "yellow":
        queryset = queryset.yellow(now)
    elif card in ("red", "overdue"):
        queryset = queryset.overdue(now)
    if data.get("area"):
        queryset = queryset.located_in(data["area"])
    return queryset


@policy("events.view_event")
@login_required
def event_list(request):
    access.require(request.user, "view")
    queryset = access.visible_events(request.user)
    query = areafocus.apply(request)  # the area chosen in the area-tree panel, remembered
    form = FilterForm(query or None)
    form.fields["area"].queryset = permissions.restrict(
        Area.objects.all(), request.user, "view", field="path"
    )
    offer_area_levels(form, request.user)
    data = form.cleaned_data if form.is_valid() else {}
    queryset = filter_events(queryset, data).select_related("category", "area", "department", "location_area")
    page = Paginator(queryset.order_by("-reported_at", "-id"), 30).get_page(request.GET.get("page"))
    now = timezone.now()
    for event in page:
        event.card_now = event.card(now)
    query.pop("page", None)
    return render(request, "events/event_list.html", {
        "page_obj": page, "filter_form": form, "query_string": query.urlencode(),
        "can_add": access.has_any(request.user, "add"),
    })  # fmt: skip


# -- detail and actions ----------------------------------------------------------------------------
def action_buttons(user, event: Event) -> list[dict]:
    buttons = []
    for action in workflow.allowed_actions(event):
        if not access.may_act(user, event, action):
            continue
        buttons.append({
            "action": action, "label": label(action), "fields": ACTION_FIELDS.get(action, ["note"]),
            "danger": action in DANGER,
        })  # fmt: skip
    return buttons


@policy("events.view_event")
@login_required
def event_detail(request, pk):
    event = scoped_event(request.user, pk)
    steps = event.steps.select_related("actor_area", "actor_department", "to_area", "to_department") \
        .prefetch_related("attachments").order_by("time", "id")  # fmt: skip
    buttons = action_buttons(request.user, event)
    dispatch_areas = Area.objects.none()
    dispatch_departments = Department.objects.none()
    if any(b["action"] == A.DISPATCH for b in buttons) and not event.department_id:
        dispatch_areas = Area.objects.filter(path__startswith=event.area.path).exclude(pk=event.area_id)
        dispatch_departments = Department.objects.filter(active=True).filter(
            Q(area_path__startswith=event.area.path)
            | Q(pk__in=[d.pk for d in Department.objects.filter(active=True) if event.location_path.startswith(d.area_path)])
        )  # fmt: skip
    form = ActionForm()
    form.fields["to_area"].queryset = dispatch_areas
    form.fields["to_department"].queryset = dispatch_departments
    return render(request, "events/event_detail.html", {
        "event": event, "steps": steps, "buttons": buttons, "form": form, "card": event.card(),
        "urgent": event.priority == "urgent",
        "shelving": event.shelvings.filter(resumed_at__isnull=True).first(),
        "unattached": event.attachments.filter(step__isnull=True),
        "similar": access.similar_events(request.user, event)[:5],
    })  # fmt: skip


@policy("events.handle_event")
@login_required
@require_POST
def event_action(request, pk):
    access.require(request.user, "handle")
    event = scoped_event(request.user, pk)
    form = ActionForm(request.POST, request.FILES)
    form.fields["to_area"].queryset = Area.objects.all()
    detail = reverse("events:detail", args=[event.pk])
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{form.fields[field].label if field in form.fields else field}: {' '.join(errors)}"
            )
        return redirect(detail)
    action = form.cleaned_data["action"]
    try:
        run_action(request.user, event, action, form.cleaned_data)
    except ValidationError as exc:  # a refused move: the reason, in Chinese, on the page
        # A missing reason or deadline names the field it belongs in ("意见/理由: …").
        missing = {"note_required": "note", "until_required": "until"}.get(getattr(exc, "code", None))
        prefix = f"{form.fields[missing].label}: " if missing else ""
        for message in exc.messages:
            messages.error(request, prefix + message)
        return redirect(detail)
    messages.success(request, gettext("已%(label)s") % {"label": label(action)})
    if not access.visible_events(request.user).filter(pk=event.pk).exists():
        return redirect("events:list")
    return redirect(detail)


# -- new event -------------------------------------------------------------------------------------
@policy("events.add_event")
@login_required
def event_add(request):
    access.require(request.user, "add")
    areas = permissions.restrict(Area.objects.all(), request.user, "view", field="path").order_by("path")
    add_paths = access.area_paths(request.user, "add")
    areas = areas.filter(Q(pk__in=[]) | _paths_q(add_paths)) if add_paths else Area.objects.none()
    form = EventForm(request.POST or None, request.FILES or None, areas=areas)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = workflow.report_event(
                category=data["category"], title=data["title"], description=data["description"],
                location_area=data["location_area"], channel=data["channel"], priority=data["priority"],
                address=data["address"], contact_name=data["contact_name"], contact_phone=data["contact_phone"],
                attachments=data["photos"], user=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, gettext("已登记事件 %(number)s") % {"number": event.number})
            if access.visible_events(request.user).filter(pk=event.pk).exists():
                return redirect("events:detail", event.pk)
            return redirect("events:list")
    return render(request, "events/event_form.html", {"form": form})


def _paths_q(paths):
    from linli.core.scope import paths_q

    return paths_q(paths, "path")


# -- attachments -----------------------------------------------------------------------------------
@policy("events.view_event")
@login_required
def attachment_download(request, pk):
    """``/events/<pk>/attachment/?id=<attachment>``: served only to those who see the event."""
    event = scoped_event(request.user, pk)
    attachment_id = request.GET.get("id", "")
    if not attachment_id.isdigit():
        return redirect("events:detail", event.pk)
    attachment = get_object_or_404(Attachment, pk=int(attachment_id), event=event)
    return attachment_response(attachment)


def attachment_response(attachment: Attachment) -> FileResponse:
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404(gettext("文件不存在 (file missing)")) from None
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# -- metrics ---------------------------------------------------------------------------------------
RATE_LABELS = [
    ("response_rate", gettext_lazy("响应率")), ("closure_rate", gettext_lazy("结案率")), ("on_time_rate", gettext_lazy("按期办结率")),
    ("rework_rate", gettext_lazy("返工率")), ("satisfaction_rate", gettext_lazy("满意率")), ("onsite_rate", gettext_lazy("到场及时率")),
]  # fmt: skip
COUNT_LABELS = [
    ("reported", gettext_lazy("上报")), ("accepted", gettext_lazy("立案")), ("rejected", gettext_lazy("不予立案")), ("closed", gettext_lazy("结案")),
    ("rated", gettext_lazy("评价")), ("overdue_open", gettext_lazy("超期未办")), ("shelved", gettext_lazy("挂账")),
]  # fmt: skip


def _parse_date(value, default):
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@policy("events.view_event")
@login_required
def metrics_page(request):
    access.require(request.user, "view")
    today = timezone.localdate()
    start = _parse_date(request.GET.get("start"), today.replace(day=1))
    end = _parse_date(request.GET.get("end"), today)
    scope = access.visible_events(request.user)
    filters = {"start": start, "end": end + dt.timedelta(days=1)}
    total = metrics.summary(scope, **filters)
    rows = []
    paths = access.area_paths(request.user, "view")
    if paths:
        tops = Area.objects.filter(path__in=paths)
        children = Area.objects.filter(Q(pk__in=[]) | _children_q(tops)).order_by("path")
        # One grouped query per top area (not one per child); a child without events gets zeros.
        grouped = {}
        for top in tops:
            grouped.update({row["child_path"]: row for row in metrics.by_area(top, scope, **filters)})
        empty = metrics.summary(Event.objects.none())
        for child in children:
            row = grouped.get(child.path, empty)
            rows.append(
                {"name": child.name, **{k: v for k, v in row.items() if k not in ("child_path", "area")}}
            )
    categories = metrics.by_category(scope, **filters)
    handlers = metrics.by_handler(scope, **filters)
    for row in [total, *rows, *categories, *handlers]:
        row["rate_cells"] = [(key, name, _percent(row.get(key))) for key, name in RATE_LABELS]
        row["count_cells"] = [(key, name, row.get(key)) for key, name in COUNT_LABELS]
    return render(request, "events/metrics.html", {
        "total": total, "rows": rows, "start": start, "end": end, "rate_labels": RATE_LABELS,
        "count_labels": COUNT_LABELS, "categories": categories, "handlers": handlers,
    })  # fmt: skip


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _children_q(tops):
    q = Q(pk__in=[])
    for top in tops:
        q |= Q(path__startswith=top.path, depth=top.depth + 1)
    return q


# -- notifications ---------------------------------------------------------------------------------
@policy("login")
@login_required
def notification_list(request):
    items = Notification.objects.filter(user=request.user).select_related("event")
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(request, "events/notifications.html", {
        "page_obj": page, "unread": Notification.objects.filter(user=request.user).unread().count(),
    })  # fmt: skip


@policy("login")
@login_required
@require_POST
def notifications_read(request):
    Notification.objects.filter(user=request.user).mark_read()
    messages.success(request, gettext("已全部标为已读"))
    return redirect("events:notifications")
