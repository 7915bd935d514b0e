from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """The one registry (一本帐): persons, households, memberships, special groups, life events."""

    name = "linli.registry"
    label = "registry"
    verbose_name = "人口登记 Registry"
