"""``linli check``: verify a deployment — database, migrations, keyring, background processes,
disk space, audit sealing, production settings. Exit status 1 when any check fails.

With Django's own options (``--deploy``, ``--tag``, ``--list-tags``, ``--fail-level``,
``--database`` or app labels) it is Django's ``check`` command unchanged.
"""

import sys

from django.core.management.commands.check import Command as DjangoCheck

from linli.ops import checks


class Command(DjangoCheck):
    help = (
        "检查部署：数据库、迁移、密钥、后台进程心跳、磁盘空间、审计封存、生产配置；任一失败则退出码为 1 "
        "(verify a deployment; exit 1 on any failure). With --deploy/--tag: Django's system checks."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--json", action="store_true", help="JSON 输出，供监控系统读取 (JSON for monitoring)"
        )
        parser.add_argument("--skip", action="append", default=[], metavar="CHECK",
                            help="跳过某项：migrations keyring heartbeats disk audit.sealing backup settings")  # fmt: skip
        parser.add_argument(
            "--min-free-mb", type=int, help="磁盘剩余下限 MB (default LINLI_CHECK_MIN_FREE_MB, 2048)"
        )
        parser.add_argument("--heartbeat-max-age", type=int,
                            help="心跳最长间隔秒数 (default LINLI_CHECK_HEARTBEAT_MAX_AGE, 300)")  # fmt: skip
        parser.add_argument(
            "--seal-max-lag", type=int, help="封存最大滞后秒数 (default LINLI_CHECK_SEAL_MAX_LAG, 600)"
        )

    def handle(self, *app_labels, **options):
        django_mode = (
            app_labels or options["deploy"] or options["tags"] or options["list_tags"]
            or options["fail_level"] != "ERROR" or options["databases"]
        )  # fmt: skip
        if django_mode:
            return super().handle(*app_labels, **options)
        results = checks.run_all(
            min_free_mb=options["min_free_mb"], heartbeat_max_age=options["heartbeat_max_age"],
            seal_max_lag=options["seal_max_lag"], skip=set(options["skip"]),
        )  # fmt: skip
        failed = [r for r in results if r.status == checks.FAIL]
        if options["json"]:
            self.stdout.write(checks.as_json(results))
        else:
            style = {
                checks.OK: self.style.SUCCESS,
                checks.WARN: self.style.WARNING,
                checks.FAIL: self.style.ERROR,
            }
            for result in results:
                self.stdout.write(style.get(result.status, str)(result.line))
            if failed:
                self.stdout.write(
                    self.style.ERROR(f"{len(failed)} 项检查未通过 ({len(failed)} checks failed)")
                )
            else:
                self.stdout.write(self.style.SUCCESS("部署检查通过 (deployment checks passed)"))
        if failed:
            sys.exit(1)
