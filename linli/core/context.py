"""Who is acting, through which channel, for which request.

Set once per request by :class:`~linli.core.middleware.RequestContextMiddleware`, per command
by the CLI and per job by the worker, and read by the change history and the audit trail so
that no service function has to pass the actor around by hand.
"""

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _


class Channel:
    """Where a change came from (SPEC §2: "who, when, from which channel")."""

    WEB = "web"
    API = "api"
    IMPORT = "import"
    PORTAL = "portal"
    CLI = "cli"
    DEMO = "demo"
    SYSTEM = "system"

    CHOICES = [
        (WEB, _("网页 Web")),
        (API, _("接口 API")),
        (IMPORT, _("导入 Import")),
        (PORTAL, _("居民端 Portal")),
        (CLI, _("命令行 CLI")),
        (DEMO, _("演示数据 Demo")),
        (SYSTEM, _("系统 System")),
    ]


@dataclass(frozen=True)
class ActionContext:
    user: object | None = None
    channel: str = Channel.SYSTEM
    request_id: uuid.UUID = field(default_factory=uuid.uuid4)
    ip: str | None = None


_current: contextvars.ContextVar[ActionContext] = contextvars.ContextVar("linli_action_context")


def current() -> ActionContext:
    """The context in force; outside any request or command this is an anonymous system context."""
    try:
        return _current.get()
    except LookupError:
        return ActionContext()


@contextmanager
def acting(user=None, channel: str = Channel.SYSTEM, ip: str | None = None) -> Iterator[ActionContext]:
    """Run a block as ``user`` through ``channel``; nested blocks restore the outer context."""
    ctx = ActionContext(user=user, channel=channel, ip=ip)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
