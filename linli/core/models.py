"""Framework models: the change history every domain model writes to."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .chain import ChainedModel, ChainHead, unsealed_index
from .context import Channel
from .fields import PathField

__all__ = ["ChainHead", "ChangeAction", "ObjectChange"]


class ChangeAction(models.TextChoices):
    CREATE = "create", _("新增 create")
    UPDATE = "update", _("修改 update")
    DELETE = "delete", _("删除 delete")
    MERGE = "merge", _("合并 merge")


class ObjectChange(ChainedModel):
    """One change to one object: who, when, through which channel, and the values before and after.

    ``prechange`` is the object's *full* state before the change (absent on create);
    ``postchange`` holds only the fields the change set (absent on delete). That is enough to
    rebuild any past state: the state at time T is the ``prechange`` of the first change after T,
    or the current row if nothing changed since. Encrypted fields appear as ciphertext
    (``"enc:…"``), never as plaintext.

    Rows are append-only and hash-chained (:mod:`linli.core.chain`): inserted unsealed, sealed
    later by ``linli audit seal``. ``user`` is left out of the hash because deleting a user sets
    it to NULL; ``user_name`` keeps who it was, and is hashed.
    """

    chain_exclude = ("user",)

    time = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user_name = models.CharField(max_length=150, blank=True)
    request_id = models.UUIDField(null=True, blank=True, db_index=True)
    channel = models.CharField(max_length=16, choices=Channel.CHOICES, default=Channel.SYSTEM)
    action = models.CharField(max_length=16, choices=ChangeAction.choices)
    # No index of its own: core_change_object_time starts with it.
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", db_index=False)
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=200)
    area_path = PathField(blank=True, db_index=True)
    prechange = models.JSONField(null=True, blank=True)
    postchange = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "time"], name="core_change_object_time"),
            unsealed_index("core_change_unsealed"),
        ]
        verbose_name = _("变更记录 change")
        verbose_name_plural = _("变更记录 changes")

    def __str__(self):
        return f"{self.get_action_display()} {self.object_repr} @ {self.time:%Y-%m-%d %H:%M}"

    @property
    def changed_fields(self) -> list[str]:
        return sorted((self.postchange or {}).keys())
