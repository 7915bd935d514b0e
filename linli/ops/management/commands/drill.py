"""``linli drill``: restore a backup into a scratch database, prove it complete, time it, drop it."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from linli.audit import events
from linli.core import context
from linli.ops import backup
from linli.ops.cli import audit, read_passphrase


class Command(BaseCommand):
    requires_system_checks = []
    help = (
        "恢复演练：恢复到临时库，核对行数、校验和与审计链，报告耗时后删除临时库 "
        "(restore drill: scratch restore, verify counts, checksums and audit chains, time it, drop it)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", help="备份文件，默认最新一份 (backup file; default: the newest)"
        )
        parser.add_argument("--passphrase-file", help="口令文件 (passphrase file)")
        parser.add_argument(
            "--jobs", type=int, default=2, help="pg_restore 并行数 (parallel pg_restore jobs)"
        )
        parser.add_argument(
            "--keep", action="store_true", help="保留临时库以便检查 (keep the scratch database)"
        )
        parser.add_argument("--json", action="store_true", help="输出 JSON (machine-readable result)")

    def handle(self, *args, file=None, passphrase_file=None, jobs=2, keep=False, json=False, **options):
        if not file:
            newest = sorted(backup.backup_dir().glob("linli-*.lbk"), key=lambda p: p.stat().st_mtime)
            if not newest:
                raise CommandError("没有找到备份文件 (no backup found)")
            file = newest[-1]
        passphrase = read_passphrase(passphrase_file, "LINLI_BACKUP_PASSPHRASE")
        say = None if json else self.stdout.write
        try:
            result = backup.drill(Path(file), passphrase, keep=keep, jobs=jobs, out=say)
        except backup.BackupError as exc:
            if json:
                self.stdout.write(_json({"ok": False, "problems": [str(exc)], "file": str(file)}))
            raise CommandError(f"演练失败 (drill failed): {exc}") from exc
        report = {"file": str(file), **result.as_dict()}
        with context.acting(None, channel=context.Channel.CLI):
            audit(events.OPS_DRILL, outcome="ok" if result.ok else "failed", stderr=self.stderr, file=str(file),
                  rows=report["rows"], timings=report["timings_seconds"], problems=len(result.problems))  # fmt: skip
        if json:
            self.stdout.write(_json(report))
        else:
            self._print(report, result)
        if not result.ok:
            raise CommandError(
                "演练失败 (drill failed): " + "; ".join(p.splitlines()[0] for p in result.problems)
            )

    def _print(self, report, result):
        t = report["timings_seconds"]
        self.stdout.write(
            f"备份 (backup): {report['file']}  创建于 (created) {report['backup_created_at']}  {report['engine']}\n"
            f"  {report['tables']} 张表 tables, {report['rows']:,} 行 rows; 备份文件 archive "
            f"{report['archive_bytes'] / 1e6:,.1f} MB; 恢复后数据库 restored database {report['restored_database_bytes'] / 1e6:,.1f} MB\n"
            f"  解密校验 decrypt+verify {t['decrypt_verify_files']} s · 恢复 restore {t['restore_database']} s · "
            f"核对 verify rows {t['verify_rows_checksums']} s · 审计链 audit chains {t['verify_audit_chains']} s · "
            f"总计 total {t['total']} s\n"
            f"  密钥校验值 key canary: {report['key_canary']}"
        )  # fmt: skip
        if result.chain_output:
            self.stdout.write("  " + result.chain_output.replace("\n", "\n  "))
        for problem in result.problems:
            self.stderr.write(self.style.ERROR(problem))
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS("演练通过：备份可完整恢复 (drill passed: the backup restores completely)")
            )


def _json(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
