from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run Linli on one machine for evaluation (production: gunicorn, see docs/deployment.md)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        self.stdout.write(f"Linli 已启动 running at http://{addrport}/")
        call_command("runserver", addrport, use_reloader=False, use_threading=True)
