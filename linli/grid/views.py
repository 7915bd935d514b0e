"""Grid work pages (``/grid/…``): the worker's desk, assignments and load, visits, coverage and what
is due, 民情日记 with grading, patrol check-in/out and the duty roster.

Every object is fetched through :func:`linli.core.permissions.restrict`: outside the user's scope it
is a 404, without the permission anywhere a 403.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.areas.choices import AreaLevel
from linli.areas.models import Area
from linli.core import permissions
from linli.core.scope import paths_q
from linli.core.views import policy, require_perm
from linli.registry.models import Household

from . import services
from .forms import (
    AssignForm,
    CheckInForm,
    CheckOutForm,
    DiaryForm,
    DutyShiftForm,
    GradeForm,
    PeriodForm,
    VisitForm,
)
from .models import DiaryEntry, DutyShift, GridAssignment, Patrol, Visit, VisitPhoto, VisitRule

# A schedule is computed household by household: offered up to a community, not a whole district.
SCHEDULE_MAX_HOUSEHOLDS = 5000


def scoped(model, user, action="view"):
    return permissions.restrict(model._default_manager.all(), user, action)


def areas_for(user, perm: str, **filters):
    """Areas under the user's grants of ``perm`` (the nodes of their scope and everything below)."""
    paths = permissions.scope_paths(user, perm)
    return Area.objects.filter(paths_q(paths, "path"), active=True, **filters).order_by("path")


def top_area(user, perm: str) -> Area | None:
    paths = permissions.scope_paths(user, perm)
    return Area.objects.filter(path=paths[0]).first() if paths else None


def _form_errors(request, exc: ValidationError) -> None:
    for errors in (exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}).values():
        for error in errors:
            messages.error(request, error)


def _form_messages(request, form) -> None:
    """A posted form of a list page has no page of its own: its errors become messages."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label}: {' '.join(errors)}")


def _page(request, queryset, size=30):
    page = Paginator(queryset, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


# -- the worker's desk ----------------------------------------------------------------------------------
@policy("grid.view_visit")
@login_required
def desk(request):
    require_perm(request.user, "grid.view_visit")
    user = request.user
    today = timezone.localdate()
    my_grids = list(services.grids_of(user))
    loads = services.grid_loads(my_grids)
    year_start = today.replace(month=1, day=1)
    month_start = today.replace(day=1)
    cards = []
    for load in loads:
        households = Household.objects.filter(area=load.grid, status="active")
        due = services.schedule(households, today)
        cards.append({
            "load": load,
            "month": services.coverage(load.grid, month_start, today),
            "year": services.coverage(load.grid, year_start, today),
            "due": [d for d in due if d.due_on <= today][:10],
            "due_count": sum(1 for d in due if d.due_on <= today),
        })  # fmt: skip
    open_patrol = Patrol.objects.open().filter(user=user).first()
    check_in = CheckInForm(initial={"grid": my_grids[0].pk} if my_grids else None)
    check_in.fields["grid"].queryset = my_grids and Area.objects.filter(pk__in=[g.pk for g in my_grids]) \
        or areas_for(user, "grid.add_patrol", level=AreaLevel.GRID)  # fmt: skip
    minutes_today = sum(
        d.minutes for d in services.patrol_days(Patrol.objects.filter(user=user), today, today)
    )
    duty_area = my_grids[0] if my_grids else top_area(user, "grid.view_dutyshift")
    return render(request, "grid/desk.html", {
        "cards": cards, "open_patrol": open_patrol, "check_in": check_in, "check_out": CheckOutForm(),
        "minutes_today": round(minutes_today), "target": services.patrol_daily_minutes(),
        "on_duty": list(services.on_duty(duty_area)) if duty_area else [],
        "recent_visits": scoped(Visit, user).filter(visitor=user).select_related("household")[:5],
        "can_patrol": permissions.has_any(user, "grid.add_patrol"),
    })  # fmt: skip


# -- assignments and load -------------------------------------------------------------------------------
@policy("grid.view_gridassignment")
@login_required
def assignments(request):
    require_perm(request.user, "grid.view_gridassignment")
    user = request.user
    communities = areas_for(user, "grid.view_gridassignment", level=AreaLevel.COMMUNITY)
    grids = areas_for(user, "grid.view_gridassignment", level=AreaLevel.GRID)
    chosen = request.GET.get("area")
    if chosen:
        area = get_object_or_404(areas_for(user, "grid.view_gridassignment"), pk=chosen)
        grids = grids.filter(path__startswith=area.path)
    page, query = _page(request, grids, 50)
    loads = services.grid_loads(page.object_list)
    can_assign = permissions.has_any(user, "grid.add_gridassignment")
    form = None
    if can_assign:
        form = AssignForm(users=_workers(), initial={"grid": request.GET.get("grid")})
        form.fields["grid"].queryset = areas_for(user, "grid.add_gridassignment", level=AreaLevel.GRID)
    current = (
        GridAssignment.objects.current().filter(area__in=page.object_list).select_related("area", "user")
    )
    return render(request, "grid/assignments.html", {
        "loads": loads, "workers": services.worker_loads(services.grid_loads(grids)),
        "norm": services.household_norm(), "page_obj": page, "query_string": query,
        "communities": communities, "chosen": chosen, "form": form, "current": current,
        "can_change": permissions.has_any(user, "grid.change_gridassignment"),
    })  # fmt: skip


def _workers():
    return get_user_model().objects.filter(is_active=True, assignments__active=True,
                                           assignments__role__key="grid_worker").distinct().order_by("username")  # fmt: skip


@policy("grid.add_gridassignment")
@login_required
@require_POST
def assign(request):
    require_perm(request.user, "grid.add_gridassignment")
    form = AssignForm(request.POST, users=_workers())
    form.fields["grid"].queryset = areas_for(request.user, "grid.add_gridassignment", level=AreaLevel.GRID)
    if not form.is_valid():
        _form_messages(request, form)
        return redirect("grid:assignments")
    data = form.cleaned_data
    try:
        services.assign(data["grid"], data["user"], role=data["role"], start_date=data["start_date"],
                        note=data["note"])  # fmt: skip
    except ValidationError as exc:
        _form_errors(request, exc)
    else:
        messages.success(
            request, _("已安排 %(user)s 负责 %(grid)s") % {"user": data["user"], "grid": data["grid"].name}
        )
    return redirect(f"{reverse('grid:assignments')}?area={data['grid'].pk}")


@policy("grid.change_gridassignment")
@login_required
@require_POST
def end_assignment(request, pk):
    require_perm(request.user, "grid.change_gridassignment")
    assignment = get_object_or_404(
        scoped(GridAssignment, request.user, "change"), pk=pk, end_date__isnull=True
    )
    try:
        services.end_assignment(assignment)
    except ValidationError as exc:
        _form_errors(request, exc)
    return redirect(f"{reverse('grid:assignments')}?area={assignment.area_id}")


# -- visits ---------------------------------------------------------------------------------------------
@policy("grid.view_visit")
@login_required
def visit_list(request):
    require_perm(request.user, "grid.view_visit")
    form = PeriodForm(request.GET or None, areas=areas_for(request.user, "grid.view_visit"))
    visits = scoped(Visit, request.user).select_related("household", "visitor", "area", "event")
    if form.is_valid():
        data = form.cleaned_data
        if data.get("area"):
            visits = visits.filter(area_path__startswith=data["area"].path)
        if data.get("start"):
            visits = visits.filter(visited_on__gte=data["start"])
        if data.get("end"):
            visits = visits.filter(visited_on__lte=data["end"])
    if request.GET.get("q"):
        visits = visits.filter(household__number__icontains=request.GET["q"].strip())
    if request.GET.get("mine"):
        visits = visits.filter(visitor=request.user)
    page, query = _page(request, visits.order_by("-visited_on", "-id"))
    return render(request, "grid/visit_list.html", {"page_obj": page, "query_string": query, "form": form})


@policy("grid.add_visit", model="registry.household")
@login_required
def visit_add(request, pk):
    require_perm(request.user, "grid.add_visit")
    household = get_object_or_404(scoped(Household, request.user).select_related("area", "house"), pk=pk)
    if not permissions.has_perm(request.user, "grid.add_visit", household):
        raise PermissionDenied(_("您不能在该网格登记走访 (you may not record visits in this grid)"))
    form = VisitForm(request.POST or None, request.FILES or None, household=household)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        event = None
        if data.get("raise_event"):
            if not permissions.has_perm(request.user, "events.add_event", area_path=household.area_path):
                raise PermissionDenied(_("您不能在该区域上报事件 (you may not report events here)"))
            event = {"category": data["event_category"], "title": data["event_title"]}
        try:
            visit = services.record_visit(
                household=household, visitor=request.user, visited_on=data["visited_on"], kind=data["kind"],
                outcome=data["outcome"], met=data["met"], findings=data["findings"], follow_up=data["follow_up"],
                follow_up_due=data["follow_up_due"], photos=data["photos"] or (),
                person_updates=form.person_updates(), raise_event=event,
            )  # fmt: skip
        except ValidationError as exc:
            _attach_errors(form, exc)
        else:
            messages.success(request, _("走访已登记"))
            return redirect("grid:visit", visit.pk)
    return render(request, "grid/visit_form.html", {"form": form, "household": household})


def _attach_errors(form, exc: ValidationError) -> None:
    """Errors of the visit itself go to their fields; a member's (named in the message) to the top."""
    visit_fields = {"visited_on", "kind", "outcome", "met", "findings", "follow_up", "follow_up_due"}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in visit_fields else None, errors)


@policy("grid.view_visit")
@login_required
def visit_detail(request, pk):
    require_perm(request.user, "grid.view_visit")
    visit = get_object_or_404(
        scoped(Visit, request.user).select_related("household", "visitor", "event"), pk=pk
    )
    return render(request, "grid/visit_detail.html", {
        "visit": visit, "met": visit.met.all(), "photos": visit.photos.all(),
    })  # fmt: skip


@policy("grid.view_visit", model="grid.visitphoto")
@login_required
def visit_photo(request, pk):
    require_perm(request.user, "grid.view_visit")
    photo = get_object_or_404(VisitPhoto.objects.filter(visit__in=scoped(Visit, request.user)), pk=pk)
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- coverage and schedule ------------------------------------------------------------------------------
@policy("grid.view_visit")
@login_required
def coverage(request):
    require_perm(request.user, "grid.view_visit")
    user = request.user
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, areas=areas_for(user, "grid.view_visit"))
    data = form.cleaned_data if form.is_valid() else {}
    area = data.get("area") or top_area(user, "grid.view_visit")
    start = data.get("start") or today.replace(month=1, day=1)
    end = data.get("end") or today
    total = services.coverage(area, start, end)
    children = services.coverage_by_child(area, start, end)
    unvisited, query = _page(request, services.unvisited_households(area, start, end), 30)
    due = []
    too_big = total.households > SCHEDULE_MAX_HOUSEHOLDS
    if not too_big:
        households = Household.objects.filter(area_path__startswith=area.path, status="active")
        due = [d for d in services.schedule(households, today) if d.due_on <= today]
        for item in due:
            item.reason = services.reason_label(item, user)
            item.overdue = item.overdue_days(today)
    return render(request, "grid/coverage.html", {
        "form": form, "area": area, "start": start, "end": end, "total": total, "children": children,
        "page_obj": unvisited, "query_string": query, "due": due[:200], "due_count": len(due),
        "too_big": too_big, "rules": VisitRule.objects.filter(active=True),
    })  # fmt: skip


# -- 民情日记 -------------------------------------------------------------------------------------------
@policy("grid.view_diaryentry")
@login_required
def diary_list(request):
    require_perm(request.user, "grid.view_diaryentry")
    entries = scoped(DiaryEntry, request.user).select_related("author", "area", "graded_by")
    if request.GET.get("mine"):
        entries = entries.filter(author=request.user)
    if request.GET.get("ungraded"):
        entries = entries.filter(grade="")
    page, query = _page(request, entries)
    return render(request, "grid/diary_list.html", {
        "page_obj": page, "query_string": query,
        "can_add": permissions.has_any(request.user, "grid.add_diaryentry"),
    })  # fmt: skip


def _diary_form(request, instance=None):
    form = DiaryForm(request.POST or None, instance=instance)
    form.fields["area"].queryset = areas_for(request.user, "grid.add_diaryentry", level=AreaLevel.GRID)
    return form


def _duplicate_day(form, entry) -> bool:
    others = DiaryEntry.objects.filter(author=entry.author, area=entry.area, date=entry.date).exclude(
        pk=entry.pk
    )
    if others.exists():
        form.add_error("date", _("这一天已经写过该网格的民情日记，请修改原日记 (one entry a day per grid)"))
        return True
    return False


@policy("grid.add_diaryentry")
@login_required
def diary_add(request):
    require_perm(request.user, "grid.add_diaryentry")
    grids = list(services.grids_of(request.user))
    form = _diary_form(request)
    if not form.is_bound and grids:
        form.initial["area"] = grids[0].pk
    if request.method == "POST" and form.is_valid():
        entry = form.save(commit=False)
        entry.author = request.user
        if not _duplicate_day(form, entry):
            entry.save()
            messages.success(request, _("民情日记已保存"))
            return redirect("grid:diary", entry.pk)
    return render(request, "grid/diary_form.html", {"form": form})


@policy("grid.change_diaryentry")
@login_required
def diary_edit(request, pk):
    require_perm(request.user, "grid.change_diaryentry")
    entry = get_object_or_404(scoped(DiaryEntry, request.user, "change"), pk=pk)
    try:
        services.check_diary_editable(entry, request.user)
    except ValidationError as exc:
        _form_errors(request, exc)
        return redirect("grid:diary", entry.pk)
    form = _diary_form(request, entry)
    if request.method == "POST" and form.is_valid() and not _duplicate_day(form, form.instance):
        form.save()
        messages.success(request, _("民情日记已保存"))
        return redirect("grid:diary", entry.pk)
    return render(request, "grid/diary_form.html", {"form": form, "entry": entry})


@policy("grid.view_diaryentry")
@login_required
def diary_detail(request, pk):
    require_perm(request.user, "grid.view_diaryentry")
    entry = get_object_or_404(
        scoped(DiaryEntry, request.user).select_related("author", "area", "graded_by"), pk=pk
    )
    can_grade = entry.author_id != request.user.pk and permissions.has_perm(
        request.user, "grid.grade_diaryentry", entry
    )
    return render(request, "grid/diary_detail.html", {
        "entry": entry, "grade_form": GradeForm(initial={"grade": entry.grade, "comment": entry.grade_comment}),
        "can_grade": can_grade, "can_edit": entry.author_id == request.user.pk and not entry.grade,
    })  # fmt: skip


@policy("grid.grade_diaryentry")
@login_required
@require_POST
def diary_grade(request, pk):
    require_perm(request.user, "grid.grade_diaryentry")
    entry = get_object_or_404(scoped(DiaryEntry, request.user, "grade"), pk=pk)
    form = GradeForm(request.POST)
    if form.is_valid():
        try:
            services.grade_diary(entry, request.user, grade=form.cleaned_data["grade"],
                                 comment=form.cleaned_data["comment"])  # fmt: skip
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            messages.success(request, _("已评定"))
    else:
        _form_messages(request, form)
    return redirect("grid:diary", entry.pk)


# -- patrols --------------------------------------------------------------------------------------------
@policy("grid.view_patrol")
@login_required
def patrol_list(request):
    require_perm(request.user, "grid.view_patrol")
    today = timezone.localdate()
    patrols = scoped(Patrol, request.user).select_related("user", "area")
    if request.GET.get("mine"):
        patrols = patrols.filter(user=request.user)
    days = services.patrol_days(patrols, today - dt.timedelta(days=13), today)
    page, query = _page(request, patrols)
    return render(request, "grid/patrol_list.html", {
        "page_obj": page, "query_string": query, "days": days[:60], "target": services.patrol_daily_minutes(),
    })  # fmt: skip


def _coordinates(data) -> dict:
    return {"lat": data.get("lat"), "lng": data.get("lng")} if data.get("lat") is not None else {}


@policy("grid.add_patrol")
@login_required
@require_POST
def patrol_check_in(request):
    require_perm(request.user, "grid.add_patrol")
    form = CheckInForm(request.POST)
    form.fields["grid"].queryset = areas_for(request.user, "grid.add_patrol", level=AreaLevel.GRID)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.check_in(request.user, data["grid"], route=data["route"], **_coordinates(data))
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            messages.success(request, _("已签到，开始巡查"))
    else:
        # Name the field that is wrong (it always said "choose a grid"; robustness suite).
        _form_messages(request, form)
    return redirect("grid:desk")


@policy("grid.change_patrol")
@login_required
@require_POST
def patrol_check_out(request, pk):
    require_perm(request.user, "grid.change_patrol")
    patrol = get_object_or_404(scoped(Patrol, request.user, "change"), pk=pk)
    form = CheckOutForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.check_out(patrol, request.user, findings=data["findings"], **_coordinates(data))
        except ValidationError as exc:
            _form_errors(request, exc)
        else:
            messages.success(
                request, _("已签退，本次巡查 %(minutes)d 分钟") % {"minutes": round(patrol.minutes)}
            )
    else:
        _form_messages(request, form)  # an invalid check-out was dropped without a word
    return redirect("grid:desk")


# -- duty roster ----------------------------------------------------------------------------------------
@policy("grid.view_dutyshift")
@login_required
def duty(request):
    require_perm(request.user, "grid.view_dutyshift")
    user = request.user
    areas = areas_for(user, "grid.view_dutyshift").filter(level__in=[AreaLevel.COMMUNITY, AreaLevel.GRID])
    chosen = request.GET.get("area")
    area = get_object_or_404(areas, pk=chosen) if chosen else areas.first()
    try:
        week_start = dt.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        week_start = timezone.localdate()
    week_start -= dt.timedelta(days=week_start.weekday())
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(week_start, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=7)
    shifts = []
    if area is not None:
        shifts = list(
            scoped(DutyShift, user)
            .filter(area=area, ends_at__gt=start, starts_at__lt=end)
            .select_related("user")
        )
    days = []
    for offset in range(7):
        day = week_start + dt.timedelta(days=offset)
        day_start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
        day_end = day_start + dt.timedelta(days=1)
        days.append(
            {"day": day, "shifts": [s for s in shifts if s.starts_at < day_end and s.ends_at > day_start]}
        )
    can_add = area is not None and permissions.has_perm(user, "grid.add_dutyshift", area_path=area.path)
    form = None
    if can_add:
        form = DutyShiftForm(users=_staff_of(area), initial={"area": area.pk})
        form.fields["area"].queryset = areas_for(user, "grid.add_dutyshift").filter(
            level__in=[AreaLevel.COMMUNITY, AreaLevel.GRID])  # fmt: skip
    return render(request, "grid/duty.html", {
        "areas": areas, "area": area, "days": days, "week_start": week_start,
        "previous_week": week_start - dt.timedelta(days=7), "next_week": week_start + dt.timedelta(days=7),
        "gaps": services.roster_gaps(area, start, end) if area else [], "on_duty": services.on_duty(area) if area else [],
        "form": form, "can_delete": area is not None and permissions.has_perm(user, "grid.delete_dutyshift", area_path=area.path),
    })  # fmt: skip


def _staff_of(area):
    """Users with a role in the area's community (its staff and its grid workers)."""
    community = area if area.level != AreaLevel.GRID else Area.objects.get_parent(area)
    return get_user_model().objects.filter(
        is_active=True, assignments__active=True, assignments__area_path__startswith=community.path
    ).distinct().order_by("username")  # fmt: skip


@policy("grid.add_dutyshift")
@login_required
@require_POST
def duty_add(request):
    require_perm(request.user, "grid.add_dutyshift")
    form = DutyShiftForm(request.POST)
    form.fields["area"].queryset = areas_for(request.user, "grid.add_dutyshift")
    if form.is_valid():
        shift = form.save(commit=False)
        if shift.user_id and not _staff_of(shift.area).filter(pk=shift.user_id).exists():
            messages.error(request, _("值班人员不属于该社区 (the person on duty does not work here)"))
        elif (clash := services.overlapping_shift(shift)) is not None:
            messages.error(
                request,
                _("%(who)s 在该时段已有值班：%(shift)s") % {"who": shift.on_duty_name, "shift": clash},
            )
        else:
            with transaction.atomic():
                shift.save()
            messages.success(request, _("已排班"))
        area_pk = shift.area_id
        week = timezone.localtime(shift.starts_at).date().isoformat()
        return redirect(f"{reverse('grid:duty')}?area={area_pk}&week={week}")
    _form_messages(request, form)
    return redirect("grid:duty")


@policy("grid.delete_dutyshift")
@login_required
@require_POST
def duty_delete(request, pk):
    require_perm(request.user, "grid.delete_dutyshift")
    shift = get_object_or_404(scoped(DutyShift, request.user, "delete"), pk=pk)
    area, week = shift.area_id, timezone.localtime(shift.starts_at).date().isoformat()
    shift.delete(change_note="取消排班 shift removed")
    messages.success(request, _("已取消该班次"))
    return redirect(f"{reverse('grid:duty')}?area={area}&week={week}")
