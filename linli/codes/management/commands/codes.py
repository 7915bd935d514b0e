from django.core.management.base import BaseCommand
from django.db import transaction

from linli.codes import loader, lookup
from linli.registry.groups import load_group_types


class Command(BaseCommand):
    help = "Reload the code tables and group types from the data files (upsert; nothing is deleted)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["load", "list"])

    def handle(self, *args, action, **options):
        if action == "load":
            with transaction.atomic():
                counts = loader.load_all()
                groups = load_group_types()
            lookup.clear_cache()
            for key, n in counts.items():
                self.stdout.write(f"{key}: {n}")
            self.stdout.write(f"group types: {groups}")
        else:
            from linli.codes.models import CodeTable

            for table in CodeTable.objects.all():
                self.stdout.write(f"{table.key:24} {table.codes.filter(active=True).count():5}  {table}")
