import os

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
        # Keep code tables and group types in step with the data files shipped with this version.
        call_command("codes", "load", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        from linli.accounts.roles import load_roles

        load_roles()
        self.stdout.write(self.style.SUCCESS("数据库已就绪 database ready"))
