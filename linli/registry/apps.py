from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    """The one registry (一本帐): persons, households, memberships, special groups, life events."""

    name = "linli.registry"
    label = "registry"
    verbose_name = _("人口登记 Registry")
