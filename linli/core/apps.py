from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Shared framework: base models, scoping, change history, field encryption, validators."""

    name = "linli.core"
    label = "core"
    verbose_name = _("Framework")
