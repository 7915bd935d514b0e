"""``linli restore``: restore an encrypted backup into an empty database (``--drill``: into a
scratch database, verified and dropped); ``--keys`` installs an exported keyring."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from linli.audit import events
from linli.core import context
from linli.ops import backup
from linli.ops.cli import audit, read_passphrase


class Command(BaseCommand):
    requires_system_checks = []
    help = (
        "从加密备份恢复到空数据库；--drill 为恢复演练；--keys 恢复密钥环 "
        "(restore a backup into an empty database; --drill rehearses; --keys installs a keyring)"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件 (backup file)")
        parser.add_argument("--passphrase-file", help="口令文件 (passphrase file)")
        parser.add_argument(
            "--target-url", help="恢复到此数据库，默认为当前配置的数据库 (target database URL)"
        )
        parser.add_argument(
            "--force", action="store_true", help="目标不空也覆盖 (overwrite a non-empty target)"
        )
        parser.add_argument("--no-media", action="store_true", help="不恢复上传文件 (skip uploaded files)")
        parser.add_argument(
            "--jobs", type=int, default=2, help="pg_restore 并行数 (parallel pg_restore jobs)"
        )
        parser.add_argument("--drill", action="store_true", help="恢复演练，同 `linli drill` (restore drill)")
        parser.add_argument("--json", action="store_true", help="演练结果输出 JSON (drill: JSON output)")
        parser.add_argument(
            "--keys", action="store_true", help="文件是导出的密钥环 (the file is a keyring export)"
        )

    def handle(self, *args, file, passphrase_file=None, target_url=None, force=False, no_media=False, jobs=2,
               drill=False, keys=False, **options):  # fmt: skip
        if drill:
            call_command("drill", file, passphrase_file=passphrase_file, jobs=jobs, json=options.get("json"),
                         stdout=self.stdout, stderr=self.stderr)  # fmt: skip
            return
        try:
            if keys:
                passphrase = read_passphrase(passphrase_file, "LINLI_KEYS_PASSPHRASE", what="密钥导出口令")
                path = backup.import_keys(Path(file), passphrase, force=force)
                with context.acting(None, channel=context.Channel.CLI):
                    audit(events.OPS_KEYS_IMPORT, stderr=self.stderr, file=str(file), keyring=str(path))
                self.stdout.write(self.style.SUCCESS(f"密钥环已恢复 (keyring restored): {path}"))
                return
            passphrase = read_passphrase(passphrase_file, "LINLI_BACKUP_PASSPHRASE")
            target = backup.Target.from_url(target_url) if target_url else None
            media_root = None if no_media or target_url else Path(settings.MEDIA_ROOT)
            result = backup.restore(
                Path(file), passphrase, target=target, media_root=media_root, force=force, jobs=jobs,
                out=self.stdout.write,
            )  # fmt: skip
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        for problem in result.problems:
            self.stderr.write(self.style.ERROR(problem))
        with context.acting(None, channel=context.Channel.CLI):
            # Into the database restored into when it is the configured one: it records its own restore.
            audit(events.OPS_RESTORE, outcome="failed" if result.problems else "ok", stderr=self.stderr,
                  file=str(file), target=target_url or "configured database",
                  rows=result.manifest["totals"]["rows"], seconds=round(result.timings["total"], 1))  # fmt: skip
        if result.problems:
            raise CommandError("恢复后的数据与清单不符 (the restored data does not match the manifest)")
        totals = result.manifest["totals"]
        self.stdout.write(self.style.SUCCESS(
            f"恢复完成并已核对 (restored and verified): {totals['tables']} 张表 tables, {totals['rows']:,} 行 rows, "
            f"{result.media_files} 个上传文件 media files, {result.timings['total']:.1f} s"
        ))  # fmt: skip
        for problem in backup.check_keyring(result.manifest):
            self.stderr.write(self.style.WARNING(problem + "；请用 `linli restore --keys` 恢复密钥环"))
        self.stdout.write(
            "下一步 (next): `linli init` 完成迁移，再运行 `linli check` (then run linli init and linli check)"
        )
