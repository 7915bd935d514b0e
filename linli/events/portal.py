"""The resident portal (居民端): report a problem with photos, follow it with a number and a tracking
code, read the reply and rate the result. No account needed; nothing about other people is shown.

The tracking code is an HMAC of the event number under the site's secret key, so it needs no
storage and cannot be guessed from the number. Submitting and looking up are rate-limited per
client address (cache counters), the form has a honeypot field and CSRF protection, and every
photo goes through :func:`linli.events.attachments.validate_upload`.
"""

import hmac

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from linli.core.views import policy

from . import workflow
from .choices import EventChannel, EventStatus, StepAction
from .forms import PortalRateForm, PortalReportForm, TrackForm
from .models import Event

A = StepAction
# Steps a resident sees on the tracking page (no internal notes, no names of staff).
PUBLIC_STEPS = {
    A.REPORT: "已提交",
    A.ACCEPT: "已受理",
    A.REJECT: "不予受理",
    A.DISPATCH: "已转交办理单位",
    A.SIGN: "办理单位已签收",
    A.START: "正在办理",
    A.ESCALATE: "已转上级处理",
    A.AUTO_ESCALATE: "已转上级处理",
    A.LOCALITY: "已转属地处理",
    A.FEED_BACK: "已办理，待核查",
    A.VERIFY: "已核查",
    A.REWORK: "核查未通过，重新办理",
    A.CLOSE: "已办结",
    A.RATE: "已评价",
    A.SHELVE: "暂缓办理（挂账）",
    A.RESUME: "恢复办理",
}


def setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def tracking_code(event_or_number) -> str:
    number = getattr(event_or_number, "number", event_or_number)
    return salted_hmac("linli.events.portal.track", number).hexdigest()[:10].upper()


def find(number: str, code: str) -> Event | None:
    number, code = (number or "").strip().upper(), (code or "").strip().upper()
    if not number or not code or not hmac.compare_digest(tracking_code(number), code):
        return None
    return Event.objects.select_related("category").filter(number=number).first()


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(request, bucket: str, limit: int, window: int = 3600) -> bool:
    """Count one hit for this client in ``bucket``; ``True`` once the window's limit is passed."""
    key = f"linli:portal:{bucket}:{client_ip(request)}"
    if cache.add(key, 1, window):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)
        count = 1
    return count > limit


def too_many(request, text="提交过于频繁，请稍后再试 (too many requests)"):
    return render(request, "events/portal/message.html", {"message": text}, status=429)


@policy("public")
def portal_submit(request):
    """居民上报. Logged-in users become the reporter; everyone gets a number and a tracking code."""
    form = PortalReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > setting("LINLI_PORTAL_MAX_BYTES", 30 * 1024 * 1024):
            return HttpResponse("提交内容过大 (request too large)", status=413)
        if over_limit(request, "submit", setting("LINLI_PORTAL_SUBMITS_PER_HOUR", 5)):
            return too_many(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = workflow.report_event(
                    category=data["category"], title=data["title"], description=data["description"],
                    location_area=data["location_area"], address=data["address"],
                    contact_name=data["contact_name"], contact_phone=data["contact_phone"],
                    attachments=data["photos"], channel=EventChannel.PORTAL,
                    user=request.user if request.user.is_authenticated else None,
                )  # fmt: skip
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                request.session["portal_last"] = event.number
                return redirect("events:portal_done")
    return render(request, "events/portal/submit.html", {"form": form})


@policy("public")
def portal_done(request):
    number = request.session.get("portal_last")
    if not number:
        return redirect("events:portal_submit")
    return render(request, "events/portal/done.html", {"number": number, "code": tracking_code(number)})


@policy("public")
def portal_track(request):
    """查询进度: number + tracking code → status, public timeline, reply, and the rating form."""
    form = TrackForm(request.GET or None)
    event = None
    if form.is_bound:
        if over_limit(request, "track", setting("LINLI_PORTAL_LOOKUPS_PER_HOUR", 60)):
            return too_many(request, "查询过于频繁，请稍后再试 (too many lookups)")
        if form.is_valid():
            event = find(form.cleaned_data["number"], form.cleaned_data["code"])
            if event is None:
                form.add_error(None, gettext("编号或查询码不正确 (number or code not found)"))
    context = {"form": form, "event": event}
    if event is not None:
        steps = event.steps.filter(action__in=PUBLIC_STEPS).order_by("time", "id")
        context.update(
            steps=[{"time": s.time, "text": PUBLIC_STEPS[s.action]} for s in steps],
            status=EventStatus(event.status).label.split()[0],
            can_rate=event.status == EventStatus.CLOSED,
            rate_form=PortalRateForm(initial={"number": event.number, "code": tracking_code(event)}),
            code=tracking_code(event),
        )
    return render(request, "events/portal/track.html", context)


@policy("public")
@require_POST
def portal_rate(request):
    """回访评价 by the resident, after closing."""
    if over_limit(request, "track", setting("LINLI_PORTAL_LOOKUPS_PER_HOUR", 60)):
        return too_many(request)
    form = PortalRateForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "events/portal/message.html",
            {"message": gettext("请选择评价 (choose a rating)")},
            status=400,
        )
    event = find(form.cleaned_data["number"], form.cleaned_data["code"])
    if event is None:
        return render(
            request, "events/portal/message.html", {"message": gettext("编号或查询码不正确")}, status=404
        )
    try:
        workflow.rate(event, request.user if request.user.is_authenticated else None,
                      satisfaction=form.cleaned_data["satisfaction"], note=form.cleaned_data["comment"])  # fmt: skip
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, gettext("感谢您的评价"))
    return redirect(f"{reverse('events:portal_track')}?number={event.number}&code={tracking_code(event)}")


@policy("login")
def portal_mine(request):
    """A logged-in resident's own requests."""
    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?next={request.path}")
    events = Event.objects.filter(reporter=request.user, channel=EventChannel.PORTAL).order_by(
        "-reported_at"
    )[:100]
    return render(request, "events/portal/mine.html", {
        "events": [{"event": e, "code": tracking_code(e), "status": EventStatus(e.status).label.split()[0]}
                   for e in events],
    })  # fmt: skip
