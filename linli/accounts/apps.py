from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Users, roles and their area assignments."""

    name = "linli.accounts"
    label = "accounts"
    verbose_name = _("用户与角色 Accounts")

    def ready(self):
        from . import schema  # noqa: F401 - registers the OpenAPI description of API tokens
