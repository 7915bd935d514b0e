"""Import jobs: one uploaded file, its checks, its dry-run report and its commit."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.fields import PathField


def import_storage() -> FileSystemStorage:
    """Uploads and error reports live under MEDIA_ROOT/imports, which is never served directly."""
    # Owner-only permissions: these files hold residents' personal data.
    return FileSystemStorage(
        location=Path(settings.MEDIA_ROOT) / "imports",
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
    )


def upload_name(instance, filename: str) -> str:
    # The stored name is random: the original name is kept only as data, never as a path.
    suffix = Path(filename).suffix.lower()[:8]
    return f"uploads/{timezone.now():%Y%m}/{uuid.uuid4().hex}{suffix}"


def report_name(instance, filename: str) -> str:
    return f"reports/{timezone.now():%Y%m}/{uuid.uuid4().hex}.csv"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("已上传")
    VALIDATING = "validating", _("校验中")
    VALIDATED = "validated", _("校验通过")
    FAILED = "failed", _("未通过")
    IMPORTING = "importing", _("导入中")
    DONE = "done", _("已导入")


class ImportJob(models.Model):
    """An upload and what became of it.

    The stored file is deleted as soon as the job can no longer be committed (failed or done); the
    dry-run summary and the error report (row, column, reason — no cell values) remain.
    """

    RUNNING = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.IMPORTING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("导入人"),
    )
    kind = models.CharField(_("导入类型"), max_length=32)
    original_name = models.CharField(_("原文件名"), max_length=255)
    file = models.FileField(
        _("文件"), storage=import_storage, upload_to=upload_name, max_length=255, blank=True
    )
    file_size = models.PositiveBigIntegerField(_("文件大小"), default=0)
    file_type = models.CharField(_("文件类型"), max_length=8, blank=True)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    area = models.ForeignKey(
        "areas.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("导入范围"),
    )
    area_path = PathField(blank=True, db_index=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED, db_index=True
    )
    message = models.TextField(_("说明"), blank=True)
    dry_run = models.JSONField(_("校验结果"), default=dict, blank=True)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    error_report = models.FileField(
        _("错误报告"), storage=import_storage, upload_to=report_name, max_length=255, blank=True
    )
    phase = models.CharField(_("阶段"), max_length=16, blank=True)
    rows_total = models.PositiveIntegerField(_("总行数"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("已处理行数"), default=0)
    created_count = models.PositiveIntegerField(_("新增"), default=0)
    updated_count = models.PositiveIntegerField(_("更新"), default=0)
    unchanged_count = models.PositiveIntegerField(_("未变"), default=0)
    counts = models.JSONField(_("导入计数"), default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    validated_at = models.DateTimeField(_("校验完成时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导入任务 import job")
        verbose_name_plural = _("导入任务 import jobs")

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def can_commit(self) -> bool:
        return self.status == ImportStatus.VALIDATED and bool(self.file)

    @property
    def percent(self) -> int:
        if self.status in (ImportStatus.VALIDATED, ImportStatus.DONE, ImportStatus.FAILED):
            return 100
        if not self.rows_total:
            return 0
        share = min(self.rows_done / self.rows_total, 1.0)
        # A commit checks the file again before writing it: the check is the first half.
        if self.status == ImportStatus.IMPORTING:
            share = share / 2 + (0.5 if self.phase == "write" else 0)
        return int(share * 100)

    @property
    def shown_errors(self) -> list:
        return self.dry_run.get("errors", [])

    def discard_file(self) -> None:
        """Delete the stored upload; the job keeps its name, size and results."""
        if self.file:
            self.file.delete(save=False)
            self.file = ""


class CommunityStats(models.Model):
    """Precomputed figures of one community for the survey table and the population overview.

    One row per community path (the first three levels of ``area_path``; rows attached above the
    communities get a row of their own, shorter path). :mod:`linli.dataio.stats` recomputes them
    in the background and on demand; a reader only ever sums the rows under their own area paths.
    The columns are the keys of :data:`linli.dataio.survey.COLUMNS`.
    """

    path = PathField(unique=True)
    on = models.DateField(_("统计日期"))
    computed_at = models.DateTimeField(_("数据截至"))
    buildings = models.PositiveIntegerField(default=0)
    households = models.PositiveIntegerField(default=0)
    people = models.PositiveIntegerField(default=0)
    poverty_households = models.PositiveIntegerField(default=0)
    party_members = models.PositiveIntegerField(default=0)
    floating = models.PositiveIntegerField(default=0)
    aged_60 = models.PositiveIntegerField(default=0)
    aged_80 = models.PositiveIntegerField(default=0)
    disabled = models.PositiveIntegerField(default=0)
    special = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("社区统计 community statistics")
        verbose_name_plural = _("社区统计 community statistics")

    def __str__(self):
        return f"{self.path} @ {self.computed_at:%Y-%m-%d %H:%M}"
