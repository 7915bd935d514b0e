"""Users, roles and role assignments.

A role is data (``data/roles.json``): a set of permission patterns (``registry.view_*``) and the
sensitive field groups it may read. A user holds any number of role assignments, each bound to one
area node and everything below it. All access checks go through :mod:`linli.core.permissions`.
"""

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.fields import PathField
from linli.core.history import ChangeLoggedModel

# Set as password_changed_at by an administrator (new user, reset): the user must choose a password.
PASSWORD_MUST_CHANGE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class User(AbstractUser):
    """A Linli user. Roles and their area scope are assigned separately (one user, several roles)."""

    history_exclude = ("password", "last_login")

    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("用户 user")
        verbose_name_plural = _("用户 users")

    def __str__(self):
        return self.full_name or self.username

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()


class RoleLevel(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    SUBDISTRICT = "subdistrict", _("街道")
    DISTRICT = "district", _("区")


class Role(models.Model):
    key = models.SlugField(max_length=48, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField("English name", max_length=80, blank=True)
    level = models.CharField(_("通常层级"), max_length=16, choices=RoleLevel.choices)
    permissions = models.JSONField(_("权限"), default=list, help_text=_("权限模式，如 registry.view_*"))
    field_groups = models.JSONField(_("可读敏感类别"), default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("角色 role")
        verbose_name_plural = _("角色 roles")

    def __str__(self):
        return self.name


class RoleAssignment(ChangeLoggedModel):
    """A user holds a role over an area node and everything below it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("角色")
    )
    area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("管辖区域")
    )
    area_path = PathField(db_index=True, editable=False)
    active = models.BooleanField(_("有效"), default=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("角色分配 role assignment")
        verbose_name_plural = _("角色分配 role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "area"], name="accounts_assignment_unique"),
        ]

    def __str__(self):
        return f"{self.user} · {self.role} @ {self.area}"

    def save(self, *args, **kwargs):
        self.area_path = self.area.path
        super().save(*args, **kwargs)


class ApiToken(models.Model):
    """A bearer token for API clients; it acts as its owner, with the owner's scope.

    Only a SHA-256 of the token is stored; the token itself is shown once, at creation.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("接口令牌 API token")
        verbose_name_plural = _("接口令牌 API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name: str, expires_at=None) -> tuple["ApiToken", str]:
        key = "ll_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, prefix=key[:8], key_hash=cls.hash_key(key), expires_at=expires_at
        )
        return token, key

    @property
    def usable(self) -> bool:
        return not self.revoked and (self.expires_at is None or self.expires_at > timezone.now())
