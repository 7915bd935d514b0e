from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CodesConfig(AppConfig):
    """Code tables (GB standards and local tables) as versioned data, not Python lists."""

    name = "linli.codes"
    label = "codes"
    verbose_name = _("代码表 Code tables")
