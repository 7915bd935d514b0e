"""Grid work (SPEC §3): who answers for each grid, and what they do there.

Every row is a :class:`~linli.core.history.ScopedRecord` on the grid (or community) it belongs to,
so the ordinary scope rules decide who sees it and every change is in the history.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.core.history import ScopedRecord, ScopedRecordQuerySet

from .choices import ContactRole, DiaryGrade, DutyKind, GridRole, VisitKind, VisitOutcome

USER = settings.AUTH_USER_MODEL


def _grid_only(area) -> None:
    from linli.areas.choices import AreaLevel

    if area is not None and area.level != AreaLevel.GRID:
        raise ValidationError({"area": gettext("只能选择网格 (choose a grid)")})


class AssignmentQuerySet(ScopedRecordQuerySet):
    def current(self, on: dt.date | None = None):
        on = on or timezone.localdate()
        return self.filter(Q(end_date__isnull=True) | Q(end_date__gte=on), start_date__lte=on)


class GridAssignment(ScopedRecord):
    """A worker's duty in a grid: the responsible worker (one per grid at a time) or a deputy."""

    user = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="grid_assignments", verbose_name=_("网格员")
    )
    role = models.CharField(_("职责"), max_length=16, choices=GridRole.choices, default=GridRole.RESPONSIBLE)
    start_date = models.DateField(_("起始日期"), default=dt.date.today)
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格分工 grid assignment")
        verbose_name_plural = _("网格分工 grid assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["area"], condition=Q(end_date__isnull=True, role=GridRole.RESPONSIBLE),
                name="grid_one_responsible_worker",
            ),
            models.UniqueConstraint(
                fields=["area", "user"], condition=Q(end_date__isnull=True), name="grid_assignment_once",
            ),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.area} · {self.user} ({self.get_role_display()})"

    def clean(self):
        _grid_only(self.area if self.area_id else None)
        if self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": gettext("结束日期不能早于起始日期 (ends before it starts)")})


class BuildingContact(ScopedRecord):
    """A building head (楼栋长) or informant (信息员): a resident who keeps an eye on a building."""

    building = models.ForeignKey("areas.Building", on_delete=models.PROTECT, related_name="contacts",
                                 verbose_name=_("楼栋"))  # fmt: skip
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="building_roles",
                               verbose_name=_("人员"))  # fmt: skip
    role = models.CharField(_("职责"), max_length=16, choices=ContactRole.choices, default=ContactRole.HEAD)
    start_date = models.DateField(_("起始日期"), default=dt.date.today)
    end_date = models.DateField(_("结束日期"), null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("楼栋长/信息员 building contact")
        verbose_name_plural = _("楼栋长/信息员 building contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["building", "person", "role"], condition=Q(end_date__isnull=True),
                name="grid_building_contact_once",
            ),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.building} · {self.get_role_display()}"

    def sync_area_path(self) -> None:
        if self.building_id:
            self.area_id = self.building.area_id
        super().sync_area_path()


class VisitRule(models.Model):
    """How often a household of a class must be visited (data: ``data/visit_rules.json``).

    A household matches a rule when a current member belongs to one of its ``group_types`` (age
    classes included); a rule without group types applies to every household. The shortest
    interval among the matching rules wins.
    """

    key = models.SlugField(max_length=48, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField("English name", max_length=80, blank=True)
    group_types = models.JSONField(_("适用人群"), default=list, blank=True)
    interval_days = models.PositiveIntegerField(_("走访间隔 (天)"))
    basis = models.CharField(_("依据"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["interval_days", "key"]
        verbose_name = _("走访频次规则 visit rule")
        verbose_name_plural = _("走访频次规则 visit rules")

    def __str__(self):
        return f"{self.name}: 每 {self.interval_days} 天"


class VisitQuerySet(ScopedRecordQuerySet):
    def effective(self):
        """Visits that count for coverage and frequency: met the household face to face."""
        return self.filter(counts=True)


class Visit(ScopedRecord):
    """入户走访: one visit to one household."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="visits",
                                  verbose_name=_("户"))  # fmt: skip
    visited_on = models.DateField(_("走访日期"), default=dt.date.today, db_index=True)
    visitor = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="visits", verbose_name=_("走访人")
    )
    kind = models.CharField(_("方式"), max_length=16, choices=VisitKind.choices, default=VisitKind.DOOR)
    outcome = models.CharField(
        _("结果"), max_length=16, choices=VisitOutcome.choices, default=VisitOutcome.MET
    )
    met = models.ManyToManyField(
        "registry.Person", blank=True, related_name="visits_met", verbose_name=_("见到的人")
    )
    findings = models.TextField(_("了解情况"), max_length=4000, blank=True)
    follow_up = models.TextField(_("需跟进事项"), max_length=2000, blank=True)
    follow_up_due = models.DateField(_("跟进期限"), null=True, blank=True)
    event = models.ForeignKey("events.Event", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="visits", verbose_name=_("上报事件"))  # fmt: skip
    counts = models.BooleanField(_("计入走访覆盖"), default=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("入户走访 visit")
        verbose_name_plural = _("入户走访 visits")
        indexes = [models.Index(fields=["household", "visited_on"], name="grid_visit_household_day")]

    def __str__(self):
        return f"{self.visited_on} {self.household}"

    def sync_area_path(self) -> None:
        # A visit belongs where the household lives, whoever made it.
        if self.household_id:
            self.area_id = self.household.area_id
        super().sync_area_path()

    def save(self, *args, **kwargs):
        self.counts = self.kind != VisitKind.PHONE and self.outcome == VisitOutcome.MET
        super().save(*args, **kwargs)

    def clean(self):
        if self.visited_on and self.visited_on > timezone.localdate():
            raise ValidationError(
                {"visited_on": gettext("走访日期不能晚于今天 (the visit date is in the future)")}
            )
        if self.follow_up_due and not self.follow_up.strip():
            raise ValidationError(
                {"follow_up": gettext("设置了跟进期限，请写明跟进事项 (describe the follow-up)")}
            )


def visit_photo_path(instance, filename):
    import uuid
    from pathlib import PurePath

    return f"visits/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class VisitPhoto(models.Model):
    """A photo taken on a visit (checked by content like event attachments)."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="photos")
    file = models.FileField(_("文件"), upload_to=visit_photo_path, max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小 (字节)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("走访照片 visit photo")
        verbose_name_plural = _("走访照片 visit photos")

    def __str__(self):
        return self.original_name


class DiaryEntry(ScopedRecord):
    """民情日记: a worker's day in their grid, graded by a supervisor (评定等级)."""

    author = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="diary_entries", verbose_name=_("记录人")
    )
    date = models.DateField(_("日期"), default=dt.date.today)
    content = models.TextField(_("工作记录"), max_length=4000)
    concerns = models.TextField(_("民情民意/发现问题"), max_length=4000, blank=True)
    grade = models.CharField(_("评定等级"), max_length=16, choices=DiaryGrade.choices, blank=True)
    grade_comment = models.CharField(_("评语"), max_length=500, blank=True)
    graded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("评定人"))  # fmt: skip
    graded_at = models.DateTimeField(_("评定时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("民情日记 diary entry")
        verbose_name_plural = _("民情日记 diary entries")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["author", "area", "date"], name="grid_diary_one_a_day")
        ]

    def __str__(self):
        return f"{self.date} {self.author}"

    def clean(self):
        _grid_only(self.area if self.area_id else None)
        if self.date and self.date > timezone.localdate():
            raise ValidationError({"date": gettext("日记日期不能晚于今天 (the date is in the future)")})


class PatrolQuerySet(ScopedRecordQuerySet):
    def open(self):
        return self.filter(ended_at__isnull=True)


class Patrol(ScopedRecord):
    """巡查: a check-in/check-out of a worker walking their grid ("每天巡查一小时")."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="patrols", verbose_name=_("巡查人"))
    started_at = models.DateTimeField(_("签到时间"), default=timezone.now)
    ended_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    start_lat = models.DecimalField(_("签到纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    start_lng = models.DecimalField(_("签到经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    end_lat = models.DecimalField(_("签退纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    end_lng = models.DecimalField(_("签退经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    route = models.CharField(_("巡查路线"), max_length=300, blank=True)
    findings = models.TextField(_("发现情况"), max_length=4000, blank=True)
    events = models.ManyToManyField(
        "events.Event", blank=True, related_name="patrols", verbose_name=_("上报事件")
    )

    objects = PatrolQuerySet.as_manager()

    class Meta:
        verbose_name = _("巡查 patrol")
        verbose_name_plural = _("巡查 patrols")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(ended_at__isnull=True), name="grid_one_open_patrol"),
            models.CheckConstraint(condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                                   name="grid_patrol_ends_after_start"),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.user} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def minutes(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds() / 60


class DutyShift(ScopedRecord):
    """A shift of the 邻里值班室 duty roster (24-hour duty where a community keeps one)."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="duty_shifts",
                             verbose_name=_("值班人员"))  # fmt: skip
    volunteer_name = models.CharField(_("值班人 (非系统用户)"), max_length=50, blank=True,
                                      help_text=_("居民骨干、志愿者等没有账号的值班人"))  # fmt: skip
    kind = models.CharField(_("班次"), max_length=16, choices=DutyKind.choices, default=DutyKind.DUTY)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    place = models.CharField(_("地点"), max_length=100, default="邻里值班室")
    duty_phone = models.CharField(_("值班电话"), max_length=20, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("值班 duty shift")
        verbose_name_plural = _("值班 duty shifts")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["area_path", "starts_at"], name="grid_duty_area_start")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="grid_duty_ends_after_start"),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.starts_at:%m-%d %H:%M} {self.on_duty_name}"

    @property
    def on_duty_name(self) -> str:
        if self.user_id:
            return self.user.full_name or self.user.username
        return self.volunteer_name

    def clean(self):
        errors = {}
        if not self.user_id and not self.volunteer_name.strip():
            errors["user"] = gettext("请选择值班人员或填写值班人姓名 (who is on duty?)")
        if self.starts_at and self.ends_at:
            if self.ends_at <= self.starts_at:
                errors["ends_at"] = gettext("结束时间须晚于开始时间 (the shift ends before it starts)")
            elif self.ends_at - self.starts_at > dt.timedelta(hours=24):
                errors["ends_at"] = gettext("一个班次不能超过 24 小时 (a shift is at most 24 hours)")
        if errors:
            raise ValidationError(errors)


__all__ = [
    "BuildingContact",
    "DiaryEntry",
    "DiaryGrade",
    "DutyShift",
    "GridAssignment",
    "Patrol",
    "Visit",
    "VisitPhoto",
    "VisitRule",
]
