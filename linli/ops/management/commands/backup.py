"""``linli backup``: an encrypted backup of the database and uploaded files; ``--keys`` exports the
field-encryption keyring on its own, under another passphrase, to be kept apart."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from linli.audit import events
from linli.core import context
from linli.ops import backup
from linli.ops.cli import audit, read_passphrase


class Command(BaseCommand):
    requires_system_checks = []
    help = (
        "加密备份数据库与上传文件；--keys 单独导出字段加密密钥 "
        "(encrypted backup of the database and uploads; --keys exports the keyring separately)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-o", "--output", help="备份文件路径，默认 LINLI_BACKUP_DIR/linli-<时间>.lbk (output file)"
        )
        parser.add_argument(
            "--passphrase-file", help="口令文件，默认 LINLI_BACKUP_PASSPHRASE_FILE (passphrase file)"
        )
        parser.add_argument("--no-media", action="store_true", help="不含上传文件 (database only)")
        parser.add_argument("--keep", type=int, help="只保留最新 N 份备份 (keep only the newest N backups)")
        parser.add_argument(
            "--keys", action="store_true",
            help="导出密钥环（口令取 LINLI_KEYS_PASSPHRASE_FILE，须与备份口令不同）(export the keyring instead)",
        )  # fmt: skip

    def handle(
        self, *args, output=None, passphrase_file=None, no_media=False, keep=None, keys=False, **options
    ):
        with context.acting(None, channel=context.Channel.CLI):
            try:
                if keys:
                    self._keys(output, passphrase_file)
                else:
                    self._data(output, passphrase_file, not no_media, keep)
            except backup.BackupError as exc:
                raise CommandError(str(exc)) from exc

    def _data(self, output, passphrase_file, media, keep):
        passphrase = read_passphrase(passphrase_file, "LINLI_BACKUP_PASSPHRASE", confirm=True)
        result = backup.create_backup(
            passphrase, Path(output) if output else None, media=media, out=self.stdout.write
        )
        totals = result.manifest["totals"]
        audit(events.OPS_BACKUP, stderr=self.stderr, file=str(result.path), size=result.size,
              tables=totals["tables"], rows=totals["rows"], seconds=round(result.seconds, 1))  # fmt: skip
        self.stdout.write(self.style.SUCCESS(
            f"备份完成 (backup written): {result.path}\n"
            f"  {totals['tables']} 张表 tables, {totals['rows']:,} 行 rows, {len(result.manifest['files'])} 个文件 files, "
            f"{result.size / 1e6:,.1f} MB, {result.seconds:.1f} s"
        ))  # fmt: skip
        self.stdout.write("  字段加密密钥不在备份中，请用 `linli backup --keys` 另行导出并分开保管 "
                          "(the keyring is not in the backup: export it with --keys and store it apart)")  # fmt: skip
        if keep:
            for old in backup.prune(result.path.parent, keep):
                self.stdout.write(f"  已删除旧备份 (pruned): {old}")

    def _keys(self, output, passphrase_file):
        if not output:
            raise CommandError("请用 -o 指定导出文件 (give the output file with -o)")
        passphrase = read_passphrase(
            passphrase_file, "LINLI_KEYS_PASSPHRASE", confirm=True, what="密钥导出口令"
        )
        configured = os.environ.get("LINLI_BACKUP_PASSPHRASE") or os.environ.get(
            "LINLI_BACKUP_PASSPHRASE_FILE"
        )
        backup_passphrase = read_passphrase(None, "LINLI_BACKUP_PASSPHRASE") if configured else None
        if backup_passphrase and backup_passphrase == passphrase:
            raise CommandError(
                "密钥导出口令不能与数据备份口令相同 (the keyring passphrase must differ from the backup passphrase)"
            )
        path = backup.export_keys(passphrase, Path(output))
        audit(events.OPS_KEYS_EXPORT, stderr=self.stderr, file=str(path))
        self.stdout.write(self.style.SUCCESS(
            f"密钥环已加密导出 (keyring exported): {path}\n"
            "  请与数据备份分开保存（不同介质、不同保管人）(store it apart from the data backups)"
        ))  # fmt: skip
