from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The audit trail: logins, reveals, exports, imports, permission changes; hash-chained."""

    name = "linli.audit"
    label = "audit"
    verbose_name = _("审计 Audit")

    def ready(self):
        from . import signals

        signals.connect()
