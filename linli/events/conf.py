"""Settings of the events app: a Django setting if the project defines it, else the environment.

The project's ``settings.py`` reads everything from the environment; these names can be moved
there unchanged (``LINLI_EVENT_YELLOW_RATIO = env(...)``) without touching this module.
"""

import os

from django.conf import settings

DEFAULTS = {
    # Prefix of event numbers: SJ20261122-0001 (事件).
    "LINLI_EVENT_NUMBER_PREFIX": "SJ",
    # Yellow card (黄牌预警) at this share of the allowed time.
    "LINLI_EVENT_YELLOW_RATIO": "0.8",
    # 属地兜底: events of unclear jurisdiction go to the location's area at this level.
    "LINLI_EVENT_LOCALITY_LEVEL": "subdistrict",
    # After 反馈 the result is checked (核查) by the location's area at this level.
    "LINLI_EVENT_VERIFY_LEVEL": "community",
    # The deadline sweep: seconds between rounds and events claimed per round.
    "LINLI_EVENT_SWEEP_INTERVAL": "60",
    "LINLI_EVENT_SWEEP_BATCH": "500",
    # Upload limits in MiB.
    "LINLI_EVENT_IMAGE_MAX_MB": "10",
    "LINLI_EVENT_PDF_MAX_MB": "20",
    # Dotted paths of pluggable parts.
    "LINLI_MESSAGE_BACKEND": "linli.events.messaging.LogBackend",
    "LINLI_EVENT_RECIPIENTS": "linli.events.notify.default_area_recipients",
}


def get(name: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, DEFAULTS[name])
    return str(value)


def get_int(name: str) -> int:
    return int(get(name))


def get_float(name: str) -> float:
    return float(get(name))
