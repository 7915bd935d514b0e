"""Logging for operation: request context on every record, personal numbers masked, one
structured line per request.

``LINLI_LOG_FORMAT=json`` switches the console handler to JSON lines (python-json-logger) for a
log collector; the default stays human-readable. Both pass through :class:`MaskPersonalData`, so
an ID or mobile number that reaches a log message, an argument, an ``extra`` field or a
traceback leaves the process masked (``42**************34``, ``138****1234``).

Nothing here imports models: ``LOGGING`` is configured before the apps are loaded.
"""

import logging
import time

from linli.audit.masking import mask_text

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_formatter = logging.Formatter()


class ContextFilter(logging.Filter):
    """Add ``request_id``, ``user_id`` and ``channel`` from the action context (requests, commands, jobs)."""

    def filter(self, record):
        from linli.core import context

        ctx = context.current()
        if not hasattr(record, "request_id"):
            record.request_id = str(ctx.request_id)
        if not hasattr(record, "user_id"):
            record.user_id = getattr(ctx.user, "pk", None)
        if not hasattr(record, "channel"):
            record.channel = ctx.channel
        return True


class MaskPersonalData(logging.Filter):
    """Mask ID numbers and mobile numbers anywhere in a record before any formatter sees it."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as given, still masked
            message = str(record.msg)
        record.msg, record.args = mask_text(message), None
        if record.exc_info:
            record.exc_text = record.exc_text or _formatter.formatException(record.exc_info)
            # The JSON formatter would format exc_info again, unmasked: keep only the masked text.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, mask_text(value))
        return True


def json_formatter():
    """The JSON formatter (a factory for ``LOGGING``, so python-json-logger loads only when used)."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
        json_ensure_ascii=False,
    )


request_log = logging.getLogger("linli.request")


class RequestLogMiddleware:
    """One log line per request: method, path (never the query string), status, duration, user, request id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        ctx = getattr(request, "linli_context", None)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        request_id = str(ctx.request_id) if ctx else response.headers.get("X-Request-ID", "")
        duration_ms = round((time.perf_counter() - start) * 1000, 1)
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        request_log.log(
            level,
            "%s %s %s %.1fms", request.method, request.path, response.status_code, duration_ms,
            extra={"method": request.method, "path": request.path, "status": response.status_code,
                   "duration_ms": duration_ms, "user_id": user_id, "request_id": request_id},
        )  # fmt: skip
        return response
