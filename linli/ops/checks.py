"""``linli check``: is this deployment fit to serve? One result per check, each with a Chinese and
an English line, so that district IT staff and a monitoring system read the same verdict."""

import json
import os
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core import checks as django_checks
from django.db import DatabaseError, connection

from . import status

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass
class Result:
    name: str
    status: str
    zh: str
    en: str
    detail: dict = field(default_factory=dict)

    @property
    def line(self) -> str:
        return f"[{self.status.upper():4}] {self.name}: {self.zh} ({self.en})"


def check_database() -> Result:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return Result("database", FAIL, f"数据库无法连接：{exc}".strip(), "database unreachable")
    return Result(
        "database", OK, f"数据库可连接（{connection.vendor}）", f"database reachable ({connection.vendor})"
    )


def pending_migrations() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def check_migrations() -> Result:
    pending = pending_migrations()
    if pending:
        return Result("migrations", FAIL, f"有 {len(pending)} 个迁移未执行，请运行 linli init",
                      f"{len(pending)} migrations not applied; run linli init", {"pending": pending[:20]})  # fmt: skip
    return Result("migrations", OK, "迁移已全部执行", "all migrations applied")


def check_keyring() -> Result:
    """The keyring is where settings say, parses, and decrypts the canary and a real record."""
    from linli.core.crypto import Keyring, keyring_path

    from .models import KeyCanary

    raw = os.environ.get("LINLI_KEYRING")
    path = keyring_path()
    if not raw:
        if not path.exists():
            return Result("keyring", FAIL, f"找不到字段加密密钥环 {path}", f"keyring file not found: {path}")
        if path.stat().st_mode & 0o077:
            return Result("keyring", FAIL, f"密钥环文件 {path} 权限过宽，应为 0600",
                          f"keyring file {path} is readable by others; chmod 600")  # fmt: skip
        raw = path.read_text(encoding="utf-8")
    try:
        ring = Keyring(json.loads(raw))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the finding
        return Result("keyring", FAIL, f"密钥环格式错误：{exc}", "keyring is malformed")
    aad = KeyCanary._meta.get_field("value").aad
    table = connection.ops.quote_name(KeyCanary._meta.db_table)
    with connection.cursor() as cursor:
        # Raw SQL: the ORM would decrypt with the keyring settings point to, not the one just read.
        cursor.execute(f"SELECT value FROM {table} ORDER BY id LIMIT 1")  # noqa: S608 - our own table
        row = cursor.fetchone()
    if row is None:
        return Result("keyring", FAIL, "数据库中没有密钥校验值，请运行 linli init",
                      "no key canary in the database; run linli init")  # fmt: skip
    try:
        ok = ring.decrypt(bytes(row[0]), aad) == KeyCanary.PLAINTEXT
    except Exception:  # noqa: BLE001
        ok = False
    if not ok:
        return Result("keyring", FAIL, "密钥环无法解密数据库中的数据（密钥环与数据库不匹配）",
                      "the keyring cannot decrypt this database's data (keyring and database do not match)")  # fmt: skip
    return Result("keyring", OK, f"密钥环可用（{len(ring.keys)} 个密钥，当前 {ring.active_id}）",
                  f"keyring decrypts ({len(ring.keys)} keys, active {ring.active_id})")  # fmt: skip


def check_heartbeats(max_age: int) -> list[Result]:
    results = []
    names = {"worker": ("后台任务进程", "job worker", "linli worker"),
             "sweep": ("时限巡检进程", "deadline sweep", "linli sweep"),
             "sealer": ("审计链封存进程", "audit sealer", "linli audit seal --loop")}  # fmt: skip
    for kind, beat in status.heartbeats().items():
        zh, en, command = names[kind]
        if beat is None:
            results.append(
                Result(f"heartbeat.{kind}", FAIL, f"{zh}从未运行（{command}）", f"{en} never ran ({command})")
            )
        elif beat["age_seconds"] > max_age:
            age = int(beat["age_seconds"])
            results.append(Result(f"heartbeat.{kind}", FAIL, f"{zh} {age} 秒无心跳（上限 {max_age} 秒），可能已停止",
                                  f"{en} silent for {age}s (limit {max_age}s); it may have stopped", beat))  # fmt: skip
        else:
            results.append(Result(f"heartbeat.{kind}", OK, f"{zh}在运行（{int(beat['age_seconds'])} 秒前）",
                                  f"{en} alive ({int(beat['age_seconds'])}s ago)", beat))  # fmt: skip
    return results


def check_disk(min_free_mb: int) -> list[Result]:
    results = []
    for name, usage in status.disk_space().items():
        if usage["free_mb"] < min_free_mb:
            results.append(Result(f"disk.{name}", FAIL,
                                  f"{usage['path']} 所在磁盘仅剩 {usage['free_mb']} MB（下限 {min_free_mb} MB）",
                                  f"{usage['path']}: only {usage['free_mb']} MB free (minimum {min_free_mb} MB)", usage))  # fmt: skip
        else:
            results.append(Result(f"disk.{name}", OK, f"{usage['path']} 剩余 {usage['free_mb']} MB",
                                  f"{usage['path']}: {usage['free_mb']} MB free", usage))  # fmt: skip
    return results


def check_sealing(max_lag: int) -> Result:
    lag = status.sealing_lag()
    worst = max((c["oldest_unsealed_age_seconds"] or 0 for c in lag.values()), default=0)
    pending = sum(c["unsealed"] for c in lag.values())
    if worst > max_lag:
        return Result("audit.sealing", FAIL, f"审计链封存滞后 {int(worst)} 秒（上限 {max_lag} 秒，待封存 {pending} 条）",
                      f"audit sealing lags {int(worst)}s (limit {max_lag}s, {pending} rows pending)", lag)  # fmt: skip
    return Result(
        "audit.sealing",
        OK,
        f"审计链封存及时（待封存 {pending} 条）",
        f"audit sealing current ({pending} pending)",
        lag,
    )


def check_backup(max_age_hours: int) -> Result:
    last = status.last_backup()
    if last is None:
        return Result("backup", WARN, "尚无备份记录（linli backup）", "no backup recorded yet (linli backup)")
    hours = last["age_seconds"] / 3600
    if hours > max_age_hours:
        return Result("backup", WARN, f"最近一次备份在 {hours:.0f} 小时前（上限 {max_age_hours} 小时）",
                      f"last backup {hours:.0f}h ago (limit {max_age_hours}h)", last)  # fmt: skip
    return Result("backup", OK, f"最近一次备份在 {hours:.1f} 小时前", f"last backup {hours:.1f}h ago", last)


#: Chinese lines for the deployment checks an installation is most likely to trip.
DJANGO_CHECKS_ZH = {
    "security.W004": "未启用 HSTS：请设置 LINLI_BEHIND_HTTPS_PROXY=1（经 HTTPS 反向代理）",
    "security.W008": "未强制跳转 HTTPS：请设置 LINLI_BEHIND_HTTPS_PROXY=1 并在 nginx 上启用 HTTPS",
    "security.W009": "SECRET_KEY 太短或不够随机：请设置 LINLI_SECRET_KEY_FILE",
    "security.W012": "会话 Cookie 未限定 HTTPS：请设置 LINLI_SECURE_COOKIES=1 或 LINLI_BEHIND_HTTPS_PROXY=1",
    "security.W016": "CSRF Cookie 未限定 HTTPS：请设置 LINLI_SECURE_COOKIES=1 或 LINLI_BEHIND_HTTPS_PROXY=1",
    "security.W018": "生产环境必须关闭 DEBUG",
    "security.W020": "ALLOWED_HOSTS 为空：请设置 LINLI_ALLOWED_HOSTS",
}


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def check_settings() -> list[Result]:
    """DEBUG off, SQLite only on one machine, and Django's own deployment checks (``check --deploy``)."""
    results = []
    if settings.DEBUG:
        results.append(Result("settings.debug", FAIL, "生产环境必须关闭 DEBUG（LINLI_DEBUG=0）",
                              "DEBUG must be off in production (LINLI_DEBUG=0)"))  # fmt: skip
    if connection.vendor == "sqlite":
        results.append(Result("settings.database", WARN, "使用 SQLite：仅适合单机、小规模；生产请用 PostgreSQL",
                              "SQLite: fine for one small machine; use PostgreSQL in production"))  # fmt: skip
    messages = django_checks.run_checks(include_deployment_checks=True)
    silenced = set(settings.SILENCED_SYSTEM_CHECKS)
    for message in messages:
        if message.level < django_checks.WARNING or message.id in silenced:
            continue
        serious = message.level >= django_checks.ERROR or (message.id or "").startswith("security.")
        english = str(message.msg).split(". ")[0].rstrip(".")
        chinese = DJANGO_CHECKS_ZH.get(message.id, str(message.msg) if _has_cjk(str(message.msg)) else
                                       f"Django 部署检查 {message.id} 未通过")  # fmt: skip
        results.append(Result(f"settings.{message.id}", FAIL if serious else WARN, chinese.splitlines()[0],
                              message.id if _has_cjk(english) else f"{message.id}: {english}"))  # fmt: skip
    if not results:
        results.append(
            Result("settings", OK, "生产配置检查通过", "production settings pass Django's deployment checks")
        )
    return results


def run_all(
    *, min_free_mb: int | None = None, heartbeat_max_age: int | None = None, seal_max_lag: int | None = None,
    skip: set[str] | None = None,
) -> list[Result]:  # fmt: skip
    skip = skip or set()
    results = [check_database()]
    if results[0].status == FAIL:
        # Nothing else can be read; say so rather than stack up follow-on failures.
        return results + [Result(n, SKIP, "因数据库不可用而跳过", "skipped: database unreachable")
                          for n in ("migrations", "keyring", "heartbeats", "disk", "audit.sealing", "settings")]  # fmt: skip
    plan = [
        ("migrations", check_migrations),
        ("keyring", check_keyring),
        ("heartbeats", lambda: check_heartbeats(heartbeat_max_age or status.HEARTBEAT_MAX_AGE)),
        ("disk", lambda: check_disk(min_free_mb if min_free_mb is not None else status.MIN_FREE_MB)),
        ("audit.sealing", lambda: check_sealing(seal_max_lag or status.SEAL_MAX_LAG)),
        ("backup", lambda: check_backup(status.BACKUP_MAX_AGE_HOURS)),
        ("settings", check_settings),
    ]
    for name, check in plan:
        if name in skip:
            results.append(Result(name, SKIP, "已跳过（--skip）", "skipped (--skip)"))
            continue
        try:
            found = check()
        except DatabaseError as exc:
            found = Result(name, FAIL, f"检查时数据库出错：{exc}", "database error during the check")
        results += found if isinstance(found, list) else [found]
    return results


def as_json(results: list[Result]) -> str:
    return json.dumps(
        {"ok": not any(r.status == FAIL for r in results), "checks": [asdict(r) for r in results]},
        ensure_ascii=False, indent=2, default=str,
    )  # fmt: skip
