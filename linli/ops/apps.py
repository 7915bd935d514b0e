from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operation (issue 7): process heartbeats, deployment checks, backup and restore, health pages."""

    name = "linli.ops"
    label = "ops"
    verbose_name = "运维 Operation"
