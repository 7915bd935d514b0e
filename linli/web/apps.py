from django.apps import AppConfig


class WebConfig(AppConfig):
    """The shell of the web UI: layout, home page, login."""

    name = "linli.web"
    label = "web"
    verbose_name = "界面 Web"
