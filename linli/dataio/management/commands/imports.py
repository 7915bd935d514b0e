"""``linli imports cleanup``: retire import jobs nobody will finish, and their stored uploads."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from linli.dataio.models import ImportJob, ImportStatus

STALE_MESSAGE = "已过期：校验通过后 {days} 天未确认导入，文件已删除，请重新上传 (expired; upload again)"
STUCK_MESSAGE = "后台任务中断，未写入任何数据，请重新上传 (the background job stopped; nothing was written)"


class Command(BaseCommand):
    help = "Expire validated-but-unconfirmed imports and jobs whose worker died; delete their files."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["cleanup"])
        parser.add_argument("--days", type=int, default=7, help="validated jobs older than this expire")
        parser.add_argument("--hours", type=int, default=12, help="running jobs older than this are stuck")

    def handle(self, *args, action, days, hours, **options):
        from linli.dataio.jobs import recover_abandoned

        recovered = recover_abandoned()  # jobs of a killed worker: queued again at once, not after hours
        now = timezone.now()
        expired = self._retire(
            ImportJob.objects.filter(
                status=ImportStatus.VALIDATED, validated_at__lt=now - dt.timedelta(days=days)
            ),
            STALE_MESSAGE.format(days=days),
        )
        # An interrupted commit rolled back with its transaction, so these wrote nothing.
        stuck = self._retire(
            ImportJob.objects.filter(
                status__in=ImportJob.RUNNING, created_at__lt=now - dt.timedelta(hours=hours)
            ),
            STUCK_MESSAGE,
        )
        self.stdout.write(
            f"过期 {expired} 个，中断 {stuck} 个，重新排队 {recovered['requeued']} 个 "
            f"(expired {expired}, stuck {stuck}, requeued {recovered['requeued']})"
        )

    @staticmethod
    def _retire(queryset, message: str) -> int:
        count = 0
        for job in queryset:
            # Claim first (compare-and-swap), so a job that moved on meanwhile keeps its file.
            claimed = ImportJob.objects.filter(pk=job.pk, status=job.status).update(
                status=ImportStatus.FAILED, message=message, finished_at=timezone.now()
            )
            if claimed:
                job.discard_file()
                ImportJob.objects.filter(pk=job.pk).update(file="")
                count += 1
        return count
