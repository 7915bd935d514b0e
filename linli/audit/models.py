"""The audit trail: who did what sensitive thing, when, from where, with which roles, and why.

Data changes are recorded by :class:`linli.core.models.ObjectChange`; this table records the
rest (logins, reveals, exports, imports, permission changes …). Both are append-only and
hash-chained (:mod:`linli.core.chain`). Write through :func:`linli.audit.record`.
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.core.chain import ChainedModel, unsealed_index
from linli.core.context import Channel
from linli.core.fields import PathField

from . import events


class Outcome(models.TextChoices):
    OK = "ok", _("成功")
    DENIED = "denied", _("拒绝")
    FAILED = "failed", _("失败")


class AppendOnlyError(Exception):
    """Audit records are written once and never changed or deleted by the application."""


class AuditEvent(ChainedModel):
    """One audited action. ``detail`` carries event-specific facts, masked (never a full ID or
    phone number); ``username`` and ``roles`` are snapshots taken at the time, so the record
    still says who it was after the account changes or is removed."""

    chain_exclude = ("user",)

    time = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("用户"),
    )
    username = models.CharField(_("用户名"), max_length=150, blank=True, db_index=True)
    roles = models.JSONField(_("角色"), default=list, blank=True)
    area_path = PathField(_("区域路径"), blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    request_id = models.UUIDField(_("请求编号"), null=True, blank=True, db_index=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.CHOICES, default=Channel.SYSTEM)
    event = models.CharField(_("事件"), max_length=64)
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("对象类型"),
    )
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    purpose = models.CharField(_("事由"), max_length=500, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    outcome = models.CharField(_("结果"), max_length=8, choices=Outcome.choices, default=Outcome.OK)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["event", "time"], name="audit_event_type_time"),
            models.Index(fields=["content_type", "object_id"], name="audit_event_object"),
            unsealed_index("audit_event_unsealed"),
        ]
        verbose_name = _("审计记录 audit event")
        verbose_name_plural = _("审计记录 audit events")

    def __str__(self):
        return f"{self.event_label} {self.username or '-'} @ {self.time:%Y-%m-%d %H:%M:%S}"

    @property
    def event_label(self) -> str:
        return events.label(self.event)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(gettext("审计记录不可修改 (audit records cannot be changed)"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(
            gettext("审计记录不可删除 (audit records cannot be deleted; see `linli audit purge`)")
        )
