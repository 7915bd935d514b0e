"""Helpers shared by the operation commands: where passphrases come from."""

import getpass
import os
import sys
from pathlib import Path

from django.core.management.base import CommandError


def read_passphrase(
    option_file: str | None, env_name: str, *, confirm: bool = False, what: str = "备份口令"
) -> str:
    """``--passphrase-file``, else ``$ENV_NAME_FILE`` / ``$ENV_NAME``, else a prompt on a terminal.

    Unattended runs (systemd timers) use a file readable only by the service user; a passphrase
    is never taken from the command line, where other users could read it in the process table.
    """
    file_name = option_file or os.environ.get(f"{env_name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CommandError(f"无法读取口令文件 (cannot read passphrase file) {file_name}: {exc}") from exc
    if os.environ.get(env_name):
        return os.environ[env_name]
    if not sys.stdin.isatty():
        raise CommandError(
            f"未提供{what}：请用 --passphrase-file 或环境变量 {env_name}_FILE "
            f"(no passphrase: use --passphrase-file or {env_name}_FILE)"
        )
    value = getpass.getpass(f"{what} (passphrase): ")
    if confirm and getpass.getpass("再输入一次 (again): ") != value:
        raise CommandError("两次输入不一致 (the passphrases differ)")
    return value


def audit(event: str, *, outcome: str = "ok", stderr=None, **detail) -> None:
    """Record an operation in the audit trail; a database that cannot take it (a machine being
    rebuilt, no schema yet) is reported, not fatal: the operation itself has already happened."""
    from django.db import DatabaseError

    from linli.audit.services import write_event

    try:
        write_event(event, outcome=outcome, detail=detail)
    except DatabaseError as exc:
        if stderr is not None:
            stderr.write(f"未能写入审计记录 (could not write the audit record): {exc}")
