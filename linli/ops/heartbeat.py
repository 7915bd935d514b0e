"""Heartbeats of the background processes, so a check can tell a stopped worker from an idle one.

The sweep and the audit sealer beat once per round of their loop (a beat proves the loop turns).
The job worker runs django-tasks' own loop, so :class:`Beating` beats from a thread beside it.
"""

import datetime as dt
import logging
import os
import socket
import threading

from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from .models import Heartbeat

log = logging.getLogger("linli.ops")

#: Seconds between beats of a threaded heartbeat.
INTERVAL = float(os.environ.get("LINLI_HEARTBEAT_INTERVAL", "30"))
#: Rows of processes silent for this long are deleted (a restarted process writes a new row).
PRUNE_AFTER = dt.timedelta(days=1)


def process_key(kind: str) -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


def beat(kind: str) -> None:
    """Record that this process of ``kind`` is alive now. Never raises: a beat is best effort."""
    now = timezone.now()
    try:
        updated = Heartbeat.objects.filter(key=process_key(kind)).update(beat_at=now)
        if not updated:
            Heartbeat.objects.create(
                key=process_key(kind), kind=kind, host=socket.gethostname()[:120], pid=os.getpid(),
                started_at=now, beat_at=now,
            )  # fmt: skip
            Heartbeat.objects.filter(beat_at__lt=now - PRUNE_AFTER).delete()
    except DatabaseError:
        log.warning("heartbeat of %s failed; will retry", kind, exc_info=True)


def last_beats() -> dict[str, Heartbeat | None]:
    """The newest heartbeat of each process kind (``None`` if that kind never beat)."""
    from .models import ProcessKind

    return {
        kind: Heartbeat.objects.filter(kind=kind).order_by("-beat_at").first() for kind in ProcessKind.values
    }


class Beating:
    """``with Beating("worker"):`` — beat every ``interval`` seconds from a daemon thread."""

    def __init__(self, kind: str, interval: float = INTERVAL):
        self.kind = kind
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{kind}", daemon=True)

    def _run(self) -> None:
        while True:
            close_old_connections()
            beat(self.kind)
            if self._stop.wait(self.interval):
                break
        connection.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
