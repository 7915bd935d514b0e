from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background jobs (imports, exports, reports). Run one or more beside the web processes."

    def add_arguments(self, parser):
        parser.add_argument("--queue-name", default="*", help="queues to take jobs from (default: all)")
        parser.add_argument(
            "--batch", action="store_true", help="exit when no job is left (for drills and tests)"
        )

    def handle(self, *args, queue_name, batch, **options):
        # Jobs a killed worker left "running" are queued again before this one starts taking work.
        from linli.dataio.jobs import recover_abandoned

        recovered = recover_abandoned()
        if any(recovered.values()):
            self.stdout.write(f"恢复中断的导入任务 recovered imports: {recovered}")
        worker_args = ["--queue-name", queue_name]
        if batch:
            worker_args.append("--batch")
        from linli.ops.heartbeat import Beating

        # The heartbeat lets `linli check` and the operations page tell a stopped worker from an idle one.
        with Beating("worker"):
            call_command("db_worker", *worker_args)
