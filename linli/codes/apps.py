from django.apps import AppConfig


class CodesConfig(AppConfig):
    """Code tables (GB standards and local tables) as versioned data, not Python lists."""

    name = "linli.codes"
    label = "codes"
    verbose_name = "代码表 Code tables"
