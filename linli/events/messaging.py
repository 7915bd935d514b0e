"""SMS and e-mail to people outside the app (residents who reported by phone).

Linli runs on government intranets with no external service at runtime, so the default backend
only writes a log line. A deployment with an SMS gateway or a mail relay sets
``LINLI_MESSAGE_BACKEND`` to a class with the same two methods.
"""

import logging
from functools import cache

from django.utils.module_loading import import_string

from linli.core.validators import mask_phone

from . import conf

logger = logging.getLogger("linli.events.messaging")


class MessageBackend:
    """Interface: deliver one SMS or one e-mail; raise on failure."""

    def send_sms(self, phone: str, text: str) -> None:
        raise NotImplementedError

    def send_email(self, to: str, subject: str, body: str) -> None:
        raise NotImplementedError


class LogBackend(MessageBackend):
    """Writes what would be sent to the log, with the number masked (no plaintext phone in logs)."""

    def send_sms(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), text)

    def send_email(self, to: str, subject: str, body: str) -> None:
        logger.info("e-mail to %s: %s", to, subject)


class MemoryBackend(MessageBackend):
    """Keeps messages in a list (tests, demos)."""

    def __init__(self):
        self.outbox: list[tuple[str, str, str]] = []

    def send_sms(self, phone: str, text: str) -> None:
        self.outbox.append(("sms", phone, text))

    def send_email(self, to: str, subject: str, body: str) -> None:
        self.outbox.append(("email", to, subject))


@cache
def backend() -> MessageBackend:
    return import_string(conf.get("LINLI_MESSAGE_BACKEND"))()


def send_sms(phone: str, text: str) -> None:
    """Send, never fail the caller: a gateway outage must not undo a transition that committed."""
    if not phone:
        return
    try:
        backend().send_sms(phone, text)
    except Exception:
        logger.exception("SMS to %s failed", mask_phone(phone))


def send_email(to: str, subject: str, body: str) -> None:
    if not to:
        return
    try:
        backend().send_email(to, subject, body)
    except Exception:
        logger.exception("e-mail to %s failed", to)
