from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataioConfig(AppConfig):
    """Imports and exports: Excel/CSV in (validated, all-or-nothing) and out (scoped, masked, safe)."""

    name = "linli.dataio"
    label = "dataio"
    verbose_name = _("导入导出 Import and export")
