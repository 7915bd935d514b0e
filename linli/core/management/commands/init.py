from django.core.management import call_command
from django.core.management.base import BaseCommand

from linli.core.crypto import ensure_keyring_file


class Command(BaseCommand):
    help = "Prepare a Linli installation: keys, database schema, code tables. Safe to run again."

    def handle(self, *args, **options):
        path, created = ensure_keyring_file()
        if created:
            self.stdout.write(f"已生成加密密钥 keyring created: {path} (请单独备份 back it up separately)")
        call_command("migrate", interactive=False, verbosity=0)
        # Keep reference data (code tables, roles, categories …) in step with this version's files.
        from linli.reference import load_reference_data

        load_reference_data()
        # A known value encrypted with this keyring: `linli check` proves keyring and database match.
        from linli.ops.services import ensure_canary

        ensure_canary()
        self.stdout.write(self.style.SUCCESS("数据库已就绪 database ready"))
