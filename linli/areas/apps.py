from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AreasConfig(AppConfig):
    """The area tree (区 → 街道 → 社区 → 网格) and the buildings, units and houses below grids."""

    name = "linli.areas"
    label = "areas"
    verbose_name = _("区划与房屋 Areas and houses")
