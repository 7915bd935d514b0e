"""``linli audit seal|verify|purge|tail``: keep the audit chains sealed, prove them intact,
apply the retention period, and watch the trail from a terminal."""

import json
import logging
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from linli.audit import events
from linli.audit.models import AuditEvent
from linli.audit.services import purge_all, retention_days, seal_all, verify_all, write_event
from linli.core import chain, context
from linli.ops import heartbeat

log = logging.getLogger("linli.audit")


class Command(BaseCommand):
    help = "审计链：封存、校验、清理过期记录、查看最新记录 (audit chains: seal, verify, purge, tail)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{seal,verify,purge,tail}")
        seal = sub.add_parser("seal", help="封存新记录 (seal new rows into the chains)")
        seal.add_argument("--loop", action="store_true", help="持续运行 (keep sealing until stopped)")
        seal.add_argument("--interval", type=float, default=5.0, help="循环间隔秒数 (seconds between runs)")
        verify = sub.add_parser("verify", help="校验两条链 (verify both chains; exit 1 on any problem)")
        verify.add_argument("--no-seal", action="store_true", help="校验前不封存 (do not seal first)")
        purge = sub.add_parser("purge", help="清理超过保留期的记录 (delete records past retention)")
        purge.add_argument("--days", type=int, help="保留天数，默认 LINLI_AUDIT_RETENTION_DAYS (≥ 180)")
        tail = sub.add_parser("tail", help="显示最新审计记录 (show the latest audit events)")
        tail.add_argument("-n", type=int, default=20, help="条数 (how many)")
        tail.add_argument(
            "--follow", "-f", action="store_true", help="持续显示新记录 (keep printing new events)"
        )
        tail.add_argument("--interval", type=float, default=2.0)

    def handle(self, *args, action, **options):
        with context.acting(None, channel=context.Channel.CLI):
            getattr(self, f"do_{action}")(**options)

    # --- seal ---------------------------------------------------------------------------------
    def do_seal(self, loop=False, interval=5.0, **options):
        if not loop:
            self._report_sealed(seal_all())
            return
        self.stdout.write(f"持续封存中，每 {interval:g} 秒一次 (sealing every {interval:g}s; Ctrl-C to stop)")
        try:
            while True:
                try:
                    sealed = seal_all()
                    heartbeat.beat("sealer")
                    if any(sealed.values()):
                        self._report_sealed(sealed)
                except DatabaseError:
                    # A long writer on SQLite can hold the lock past the busy timeout: try again later.
                    log.exception("audit seal failed; retrying")
                close_old_connections()
                time.sleep(interval)
        except KeyboardInterrupt:
            return

    def _report_sealed(self, sealed: dict[str, int]) -> None:
        for name, count in sealed.items():
            self.stdout.write(f"{name}: 封存 {count} 条 (sealed {count})")

    # --- verify -------------------------------------------------------------------------------
    def do_verify(self, no_seal=False, **options):
        reports = verify_all(seal_first=not no_seal)
        failed = False
        for report in reports:
            head = f"#{report.head_seq} {report.head_hash}"
            self.stdout.write(
                f"{report.chain}: 校验 {report.checked} 条，链头 {head}，检查点 #{report.checkpoint_seq}，"
                f"待封存 {report.unsealed} (checked {report.checked}, head {head}, "
                f"checkpoint #{report.checkpoint_seq}, unsealed {report.unsealed})"
            )
            for problem in report.problems:
                failed = True
                self.stderr.write(self.style.ERROR(str(problem)))
        if failed:
            count = sum(len(r.problems) for r in reports)
            write_event(
                events.AUDIT_VERIFY_FAILED,
                outcome="failed",
                detail={
                    "problems": [
                        {"chain": p.chain, "seq": p.seq, "kind": p.kind}
                        for r in reports
                        for p in r.problems[:100]
                    ]
                },
            )
            raise CommandError(
                f"审计链校验失败：发现 {count} 处问题 (audit chain verification failed: {count} problems)"
            )
        self.stdout.write(self.style.SUCCESS("审计链完整 (audit chains intact)"))

    # --- purge --------------------------------------------------------------------------------
    def do_purge(self, days=None, **options):
        try:
            days = retention_days(days)
            result = purge_all(days)
        except (ImproperlyConfigured, chain.ChainBroken) as exc:
            raise CommandError(str(exc)) from exc
        for name, count in result.items():
            self.stdout.write(
                f"{name}: 删除 {count} 条超过 {days} 天的记录 (purged {count} rows older than {days} days)"
            )

    # --- tail ---------------------------------------------------------------------------------
    def do_tail(self, n=20, follow=False, interval=2.0, **options):
        rows = list(AuditEvent.objects.order_by("-id")[:n])[::-1]
        last = 0
        for event in rows:
            self._print_event(event)
            last = event.pk
        while follow:
            time.sleep(interval)
            for event in AuditEvent.objects.filter(pk__gt=last).order_by("id"):
                self._print_event(event)
                last = event.pk

    def _print_event(self, e: AuditEvent) -> None:
        when = f"{timezone.localtime(e.time):%Y-%m-%d %H:%M:%S}"
        obj = f" {e.object_repr}" if e.object_repr else ""
        purpose = f" 事由={e.purpose}" if e.purpose else ""
        detail = f" {json.dumps(e.detail, ensure_ascii=False, sort_keys=True)}" if e.detail else ""
        self.stdout.write(
            f"{when} {e.event} [{e.outcome}] {e.username or '-'} {e.ip or '-'}{obj}{purpose}{detail}"
        )
