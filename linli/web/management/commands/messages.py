"""Refresh the English catalogue: ``linli messages`` (``./dev messages``).

1. ``makemessages -l en`` collects every msgid (Chinese) from templates and Python into
   ``linli/locale/en/LC_MESSAGES/django.po``; new msgids arrive with an empty msgstr.
2. The ``.mo`` is compiled with polib, so neither this step nor the running site needs GNU gettext.

Translate the new entries (empty or ``fuzzy``), then run the command again to compile. With
``--check`` nothing is written: the command fails when an entry is untranslated or the ``.mo``
is stale (the test suite checks the same).
"""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from linli.web import catalogue


class Command(BaseCommand):
    help = "Collect msgids into the English catalogue and compile it (polib)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only check: complete and compiled")
        parser.add_argument("--compile-only", action="store_true", help="skip makemessages")

    def handle(self, *args, check=False, compile_only=False, **options):
        if check:
            problems = catalogue.problems()
            for problem in problems:
                self.stderr.write(problem)
            if problems:
                raise CommandError(catalogue.FIX_HINT)
            self.stdout.write("English catalogue complete and compiled.")
            return
        if not compile_only:
            # makemessages reads the current directory: run it from the project root.
            os.chdir(settings.BASE_DIR)
            call_command(
                "makemessages",
                locale=["en"],
                domain="django",
                ignore_patterns=catalogue.IGNORE,
                no_obsolete=True,
                add_location="file",
                verbosity=0,
            )
        catalogue.compile_mo()
        untranslated = catalogue.untranslated()
        self.stdout.write(f"{catalogue.PO} compiled; {len(untranslated)} entries to translate.")
        for entry in untranslated[:50]:
            self.stdout.write(f"  msgid {entry.msgid!r}")
