from django.apps import AppConfig


class GridConfig(AppConfig):
    """Grid work (网格化管理): assignments and load, door-to-door visits, 民情日记, patrols, duty rosters."""

    name = "linli.grid"
    label = "grid"
    verbose_name = "网格工作 Grid work"
