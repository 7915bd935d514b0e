from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Events and requests (事件/诉求): numbered cases from every channel, workflow, time limits."""

    name = "linli.events"
    label = "events"
    verbose_name = "事件办理 Events"
