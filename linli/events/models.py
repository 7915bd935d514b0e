"""Events and requests (事件/诉求): categories, handler units, events, their timeline and register.

Writes that move an event go through :mod:`linli.events.workflow`, never through ``save()`` on a
loaded event: every transition is a compare-and-swap on the event's ``version`` plus one
:class:`EventStep`, in one transaction.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.core import workcal
from linli.core.crypto import keyring
from linli.core.fields import EncryptedTextField, PathField
from linli.core.history import ChangeLoggedModel, ScopedRecord, ScopedRecordQuerySet
from linli.core.scope import paths_q
from linli.core.validators import mask_phone

from .choices import (
    CLOCK_STATES,
    OPEN_STATES,
    CalendarDayKind,
    EventChannel,
    EventStatus,
    HandlingLevel,
    Priority,
    Satisfaction,
    StepAction,
    TimeUnit,
)


class EventCategory(ChangeLoggedModel):
    """A kind of event with its default handler level and time limits (configurable data).

    Seeded from ``data/categories.csv`` (digital city management after GB/T 30428.2, plus
    community matters). Limits are counted on the working-day calendar when the unit says so.
    """

    code = models.CharField(_("编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级类别"),
    )
    description = models.TextField(_("说明"), blank=True)
    default_level = models.CharField(
        _("默认处置层级"), max_length=16, choices=HandlingLevel.choices, default=HandlingLevel.COMMUNITY
    )
    default_department = models.ForeignKey(
        "Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("默认职能部门"), help_text=_("区平台超时自动派遣的部门"),
    )  # fmt: skip
    limit_value = models.PositiveIntegerField(_("办理时限"))
    limit_unit = models.CharField(_("时限单位"), max_length=20, choices=TimeUnit.choices)
    urgent_limit_value = models.PositiveIntegerField(_("加急时限"), null=True, blank=True)
    urgent_limit_unit = models.CharField(
        _("加急时限单位"), max_length=20, choices=TimeUnit.choices, blank=True
    )
    response_limit_value = models.PositiveIntegerField(_("响应时限"), default=1)
    response_limit_unit = models.CharField(
        _("响应时限单位"), max_length=20, choices=TimeUnit.choices, default=TimeUnit.WORKING_DAYS
    )
    requires_onsite = models.BooleanField(_("三必到 (须到场)"), default=False)
    onsite_limit_minutes = models.PositiveIntegerField(_("到场时限 (分钟)"), null=True, blank=True)
    public = models.BooleanField(_("居民端/Open311 可选"), default=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("事件类别 event category")
        verbose_name_plural = _("事件类别 event categories")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name

    def limit_for(self, priority: str) -> tuple[int, str]:
        """``(value, unit)`` of the handling limit for a priority (加急 uses the shorter limit)."""
        if priority == Priority.URGENT and self.urgent_limit_value and self.urgent_limit_unit:
            return self.urgent_limit_value, self.urgent_limit_unit
        return self.limit_value, self.limit_unit


class Department(ScopedRecord):
    """A handler unit (职能部门: 城管、住建、水务 …) with its own users.

    ``area`` is the area it serves: events located there or below may be dispatched to it. An
    event dispatched to a department is visible to the department's members through
    ``Event.objects.for_departments()``, not through area scope.
    """

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="event_departments", verbose_name=_("成员")
    )
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("职能部门 department")
        verbose_name_plural = _("职能部门 departments")
        ordering = ["area_path", "code"]

    def __str__(self):
        return self.name


class EventSequence(models.Model):
    """Per-day counter behind event numbers (``SJ20261122-0001``); see ``workflow.next_number``."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("事件编号序列 event number sequence")

    def __str__(self):
        return f"{self.day:%Y%m%d} → {self.last}"


class EventQuerySet(ScopedRecordQuerySet):
    """``within(area)`` (inherited) follows the *current handler*; the others answer other questions."""

    def located_in(self, *areas_or_paths):
        """Events that happened in the given subtrees, whoever handles them now."""
        return self.filter(paths_q([getattr(a, "path", a) for a in areas_or_paths], "location_path"))

    def for_departments(self, *departments, include_past: bool = False):
        """What was dispatched to these departments (now, or ever with ``include_past``)."""
        q = Q(department__in=departments)
        if include_past:
            q |= Q(pk__in=EventStep.objects.filter(to_department__in=departments).values("event_id"))
        return self.filter(q)

    def open(self):
        return self.filter(status__in=OPEN_STATES)

    def similar_to(self, *, category, location_area=None, house=None, since=None, exclude=None):
        """Open events of the same category at the same house (or area): duplicate suggestions."""
        qs = self.open().filter(category=category)
        if house is not None:
            qs = qs.filter(house=house)
        elif location_area is not None:
            qs = qs.filter(location_area=location_area)
        if since is not None:
            qs = qs.filter(reported_at__gte=since)
        if exclude is not None:
            qs = qs.exclude(pk=exclude.pk)
        return qs

    def on_clock(self):
        return self.filter(status__in=CLOCK_STATES)

    def yellow(self, now: dt.datetime | None = None):
        now = now or timezone.now()
        return self.on_clock().filter(yellow_at__lte=now, due_at__gt=now)

    def overdue(self, now: dt.datetime | None = None):
        now = now or timezone.now()
        return self.on_clock().filter(due_at__lte=now)


class Event(ScopedRecord):
    """An event or request (事件/诉求), whatever the channel.

    ``area`` / ``area_path`` (from :class:`ScopedRecord`) are the *current handler's* area, so
    scope follows the case as it moves; ``department`` is set while a department handles it.
    ``location_area`` / ``location_path`` say where it happened and never move.
    """

    permanent = True
    history_exclude = ("version", "next_sweep_at", "contact_phone_masked", "contact_phone_bidx")

    number = models.CharField(_("编号"), max_length=20, unique=True, editable=False)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=EventChannel.choices)
    category = models.ForeignKey(EventCategory, on_delete=models.PROTECT, related_name="events",
                                 verbose_name=_("类别"))  # fmt: skip
    priority = models.CharField(
        _("紧急程度"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    title = models.CharField(_("标题"), max_length=200)
    description = models.TextField(_("内容"), blank=True)

    # where
    location_area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("发生区域"))  # fmt: skip
    location_path = PathField(db_index=True, editable=False)
    house = models.ForeignKey("areas.House", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="events", verbose_name=_("房屋"))  # fmt: skip
    address = models.CharField(_("地址"), max_length=300, blank=True)
    lat = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)

    # who
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="reported_events", verbose_name=_("上报人账号"))  # fmt: skip
    reporter_person = models.ForeignKey("registry.Person", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="reported_events", verbose_name=_("反映人"))  # fmt: skip
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), aad="event.contact_phone")
    contact_phone_masked = models.CharField(max_length=20, blank=True, editable=False)
    contact_phone_bidx = models.CharField(max_length=32, blank=True, db_index=True, editable=False)
    persons = models.ManyToManyField(
        "registry.Person", blank=True, related_name="events", verbose_name=_("涉及人员")
    )
    households = models.ManyToManyField("registry.Household", blank=True, related_name="events",
                                        verbose_name=_("涉及住户"))  # fmt: skip

    # state and handler
    status = models.CharField(
        _("状态"), max_length=16, choices=EventStatus.choices, default=EventStatus.REPORTED
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    handling_level = models.CharField(_("当前处置层级"), max_length=16, choices=HandlingLevel.choices)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="events", verbose_name=_("当前职能部门"))  # fmt: skip
    # Who passed it to the current handler: a return goes back there.
    sender_area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("移交方区域"))  # fmt: skip
    sender_department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+", verbose_name=_("移交方部门"))  # fmt: skip
    # Who fed back the result: rework goes back there; metrics "by handler" count it.
    resolved_area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("办理区域"))  # fmt: skip
    resolved_department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+", verbose_name=_("办理部门"))  # fmt: skip
    locality_fallback = models.BooleanField(
        _("属地兜底"), default=False, help_text=_("属地兜底的事件不能退回")
    )

    # time limits: the current handler's clock
    clock_started_at = models.DateTimeField(_("计时开始"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("响应时限"), null=True, blank=True)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    yellow_at = models.DateTimeField(_("黄牌时间"), null=True, blank=True)
    yellow_card_at = models.DateTimeField(_("黄牌预警于"), null=True, blank=True)
    red_card_at = models.DateTimeField(_("红牌超期于"), null=True, blank=True)
    was_overdue = models.BooleanField(_("曾超期"), default=False)
    next_sweep_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    extension_until = models.DateTimeField(_("申请延期至"), null=True, blank=True)
    extension_reason = models.TextField(_("延期理由"), blank=True)

    # flags and counters
    supervised = models.BooleanField(_("督办"), default=False)
    supervised_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("上报次数"), default=0)
    return_count = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    rework_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    extension_count = models.PositiveSmallIntegerField(_("延期次数"), default=0)

    # 三必到
    onsite_due_at = models.DateTimeField(_("到场时限"), null=True, blank=True)
    onsite_at = models.DateTimeField(_("到场时间"), null=True, blank=True)

    # milestones
    reported_at = models.DateTimeField(_("上报时间"), db_index=True)
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("立案时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    fed_back_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True, db_index=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    reply = models.TextField(_("办理结果答复"), blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("满意度"), choices=Satisfaction.choices, null=True, blank=True
    )
    rating_comment = models.TextField(_("评价意见"), blank=True)
    # Written at closure so that averages are one aggregate, not a per-row computation.
    handling_seconds = models.PositiveIntegerField(_("办理用时 (秒)"), null=True, blank=True)
    handling_working_seconds = models.PositiveIntegerField(_("办理用时 (工作秒)"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("事件 event")
        verbose_name_plural = _("事件 events")
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["status", "area_path"], name="events_event_status_area"),
            models.Index(fields=["category", "reported_at"], name="events_event_category_time"),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def save(self, *args, **kwargs):
        """Create an event, or correct its descriptive fields (title, place, contact …).

        State, handler and deadlines change only through :mod:`linli.events.workflow`. An edit
        is a compare-and-swap on ``version`` too, so a form opened before a transition cannot
        write old values back over it.
        """
        if self.location_area_id is not None:
            self.location_path = self.location_area.path
        phone = self.contact_phone or ""
        self.contact_phone_masked = mask_phone(phone)
        self.contact_phone_bidx = keyring().blind_index("phone", phone) if phone else ""
        if self._state.adding or self.pk is None:
            return super().save(*args, **kwargs)
        from linli.core.history import diff, raw_state

        changed = set(diff(self._history_baseline(), raw_state(self)))
        if kwargs.get("update_fields") is not None:
            changed &= {self._meta.get_field(f).attname for f in kwargs["update_fields"]}
        workflow_fields = changed - EDITABLE_FIELDS
        if workflow_fields:
            raise PermissionDenied(
                gettext("状态、处置单位与时限只能通过办理流程改变 (use the workflow to change %(sorted)s)")
                % {"sorted": sorted(workflow_fields)}
            )
        if not changed:
            return None
        claimed = (
            type(self)
            ._base_manager.filter(pk=self.pk, version=self.version)
            .update(version=models.F("version") + 1)
        )
        if claimed != 1:
            raise PermissionDenied(
                gettext("事件已被他人更新，请刷新后再改 (the event changed meanwhile; reload it)")
            )
        self.version += 1
        kwargs["update_fields"] = sorted(
            {self._meta.get_field(name).name for name in changed | EDITABLE_DERIVED} | {"updated_at"}
        )
        return super().save(*args, **kwargs)

    @property
    def handler(self):
        """The department or area that must act now."""
        return self.department if self.department_id else self.area

    def card(self, now: dt.datetime | None = None) -> str:
        """``"red"``, ``"yellow"`` or ``""`` for the current handler's clock (红黄牌)."""
        if self.status not in CLOCK_STATES or self.due_at is None:
            return ""
        now = now or timezone.now()
        if now >= self.due_at:
            return "red"
        if self.yellow_at is not None and now >= self.yellow_at:
            return "yellow"
        return ""

    @property
    def onsite_minutes(self) -> float | None:
        """Minutes from report to arrival on site (三必到)."""
        if self.onsite_at is None:
            return None
        return (self.onsite_at - self.reported_at).total_seconds() / 60

    @property
    def onsite_in_time(self) -> bool | None:
        if self.onsite_due_at is None:
            return None
        return self.onsite_at is not None and self.onsite_at <= self.onsite_due_at


# What Event.save() may change on an existing event (attnames); the rest belongs to the workflow.
EDITABLE_FIELDS = frozenset({"title", "description", "house_id", "address", "lat", "lng", "contact_name",
                             "contact_phone", "reporter_person_id"})  # fmt: skip
EDITABLE_DERIVED = frozenset({"contact_phone_masked", "contact_phone_bidx"})


class AppendOnlyQuerySet(models.QuerySet):
    """A timeline is evidence: rows are added, never changed or removed (outside a purge)."""

    def update(self, **kwargs):
        raise PermissionDenied(gettext("办理记录只能追加，不能修改 (event steps are append-only)"))

    def delete(self):
        from linli.core.history import check_deletable

        check_deletable(self.model)
        return super().delete()


class EventStep(models.Model):
    """One entry of an event's timeline: who did what, acting for which level, when, and why."""

    permanent = True

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="steps", verbose_name=_("事件"))
    action = models.CharField(_("动作"), max_length=24, choices=StepAction.choices)
    from_status = models.CharField(_("原状态"), max_length=16, choices=EventStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=EventStatus.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("操作人"))  # fmt: skip
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    actor_level = models.CharField(_("操作层级"), max_length=16, choices=HandlingLevel.choices, blank=True)
    actor_area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("操作区域"))  # fmt: skip
    actor_department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+", verbose_name=_("操作部门"))  # fmt: skip
    to_area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("移交至区域"))  # fmt: skip
    to_department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("移交至部门"))  # fmt: skip
    time = models.DateTimeField(_("时间"), db_index=True)
    note = models.TextField(_("意见/说明"), blank=True)
    data = models.JSONField(_("附加数据"), default=dict, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("办理记录 event step")
        verbose_name_plural = _("办理记录 event steps")
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["event", "time"], name="events_step_event_time")]

    def __str__(self):
        return f"{self.event_id} {self.get_action_display()} @ {self.time:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionDenied(gettext("办理记录只能追加，不能修改 (event steps are append-only)"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        from linli.core.history import check_deletable

        check_deletable(type(self))
        return super().delete(*args, **kwargs)


def attachment_path(instance: "Attachment", filename: str) -> str:
    # Stored under a random name: the uploader's file name never becomes a path on disk.
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}
    today = timezone.localdate()
    return f"events/{today:%Y/%m}/{uuid.uuid4().hex}.{extension.get(instance.content_type, 'bin')}"


class Attachment(models.Model):
    """A photo or PDF on an event, usually tied to the step it came with (see ``attachments.py``)."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="attachments")
    step = models.ForeignKey(EventStep, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="attachments")  # fmt: skip
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小 (字节)"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")  # fmt: skip
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("附件 attachment")
        verbose_name_plural = _("附件 attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class ShelvedCase(models.Model):
    """The 挂账 register: one row per time an event was shelved, with reason and review date.

    The event itself has status ``shelved`` while a row here is open (``resumed_at`` empty);
    the register keeps the reason, every review and the resumption for the ledger.
    """

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="shelvings")
    reason = models.TextField(_("挂账原因"))
    review_date = models.DateField(_("复核日期"))
    previous_status = models.CharField(max_length=16, choices=EventStatus.choices)
    shelved_at = models.DateTimeField(_("挂账时间"))
    shelved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("挂账单位区域")
    )
    area_path = PathField(db_index=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_count = models.PositiveSmallIntegerField(_("复核次数"), default=0)
    resumed_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    resumed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    resume_note = models.TextField(_("解除说明"), blank=True)

    class Meta:
        verbose_name = _("挂账 shelved case")
        verbose_name_plural = _("挂账台账 shelved cases")
        ordering = ["review_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event"], condition=Q(resumed_at__isnull=True), name="events_one_open_shelving"
            )
        ]

    def __str__(self):
        return f"{self.event_id} 挂账至 {self.review_date}"


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)

    def mark_read(self, when: dt.datetime | None = None) -> int:
        return self.filter(read_at__isnull=True).update(read_at=when or timezone.now())


class Notification(models.Model):
    """An in-app message to a user who has to act on (or wants to know about) an event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_notifications"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    step = models.ForeignKey(EventStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=24, choices=StepAction.choices)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("通知 notification")
        verbose_name_plural = _("通知 notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="events_notification_unread")]

    def __str__(self):
        return self.message

    @property
    def read(self) -> bool:
        return self.read_at is not None


class WorkCalendarDay(ChangeLoggedModel):
    """An exception to "Monday–Friday are working days": a holiday or a 调休 make-up working day.

    Seeded from ``linli/core/data/holidays/<year>.csv``; administrators add next year's
    arrangement here when the State Council publishes it (each November).
    """

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=CalendarDayKind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日/调休 calendar day")
        verbose_name_plural = _("节假日/调休 calendar days")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.name}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        workcal.clear_cache()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        workcal.clear_cache()
        return result


def move_person_links(sender, keep, duplicate, **kwargs):
    """When two person records are merged, the events of the duplicate follow the kept record."""
    Event.objects.filter(reporter_person=duplicate).update(reporter_person=keep)
    through = Event.persons.through
    for event_id in through.objects.filter(person=duplicate).values_list("event_id", flat=True):
        through.objects.get_or_create(event_id=event_id, person=keep)
    through.objects.filter(person=duplicate).delete()
