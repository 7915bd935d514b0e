"""The ``linli`` command: the operator's entry point, wrapping Django's management commands.

``linli init``, ``linli demo``, ``linli serve`` and the rest are management commands of the
Linli apps; anything else (``linli migrate``, ``linli shell`` …) is passed to Django as is.
"""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    execute_from_command_line(["linli", *(args or ["help"])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
