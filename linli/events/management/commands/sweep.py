import signal
import threading

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from linli.core import context
from linli.dataio import stats
from linli.events import conf
from linli.events.sweep import sweep_once
from linli.ops import heartbeat


class Command(BaseCommand):
    help = (
        "事件时限巡检：黄牌预警、红牌、超时自动上报、挂账到期提醒 "
        "(deadline sweep: yellow/red cards, automatic escalation, shelf reviews). "
        "Also refreshes the dashboards' community statistics when due. "
        "Safe to run in several processes at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one round and exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seconds between rounds (default LINLI_EVENT_SWEEP_INTERVAL, 60)",
        )

    def handle(self, *args, once=False, interval=None, **options):
        interval = interval if interval is not None else conf.get_float("LINLI_EVENT_SWEEP_INTERVAL")
        stop = threading.Event()
        if not once:
            # Finish the current round on SIGTERM/SIGINT instead of dying half-way through one.
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        with context.acting(None, channel=context.Channel.SYSTEM):
            while True:
                try:
                    result = sweep_once()
                    heartbeat.beat("sweep")
                except DatabaseError as exc:
                    # A busy or restarting database must not end the loop: the round is retried.
                    if once:
                        raise
                    self.stderr.write(f"巡检本轮失败，稍后重试 (sweep round failed, will retry): {exc}")
                    close_old_connections()
                    if stop.wait(interval):
                        break
                    continue
                if once or options.get("verbosity", 1) > 1 or result.acted:
                    self.stdout.write(str(result))
                self._refresh_statistics(verbosity=options.get("verbosity", 1))
                if once or stop.wait(interval):
                    break
                # A long-running loop must not keep a connection the server has dropped.
                close_old_connections()

    def _refresh_statistics(self, verbosity: int) -> None:
        """The dashboards' precomputed community statistics ride on this loop (when due)."""
        try:
            refreshed = stats.refresh_if_due()
        except DatabaseError as exc:
            # Never at the expense of the deadlines: the figures keep their stamp and are retried.
            self.stderr.write(f"社区统计刷新失败，稍后重试 (statistics refresh failed, will retry): {exc}")
            close_old_connections()
            return
        if refreshed and verbosity > 1:
            self.stdout.write("社区统计已刷新 (community statistics refreshed)")
