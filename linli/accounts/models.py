from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A Linli user. Roles and their area scope are assigned separately (one user, several roles)."""

    full_name = models.CharField("姓名", max_length=50, blank=True)
    phone = models.CharField("手机号", max_length=20, blank=True)
    password_changed_at = models.DateTimeField("密码修改时间", null=True, blank=True)

    class Meta:
        verbose_name = "用户 user"
        verbose_name_plural = "用户 users"

    def __str__(self):
        return self.full_name or self.username
