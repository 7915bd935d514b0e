from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The shell of the web UI: layout, home page, login."""

    name = "linli.web"
    label = "web"
    verbose_name = _("界面 Web")
