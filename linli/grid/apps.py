from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    """Grid work (网格化管理): assignments and load, door-to-door visits, 民情日记, patrols, duty rosters."""

    name = "linli.grid"
    label = "grid"
    verbose_name = _("网格工作 Grid work")
