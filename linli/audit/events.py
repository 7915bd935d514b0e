"""Audit event names: dotted constants, ``<area>.<what>``, with the labels the auditor UI shows.

Callers use the constants (``record(events.EXPORT, …)``), never string literals, so a typo is an
import error rather than a record nobody can find.
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# Authentication and sessions
LOGIN_OK = "auth.login"
LOGIN_FAILED = "auth.login_failed"
LOGOUT = "auth.logout"
LOCKOUT = "auth.lockout"
PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 (an event name, not a password)
OTP_FAILED = "auth.otp_failed"
SESSION_KILLED = "auth.session_killed"
TOKEN_ISSUED = "auth.token_issued"  # noqa: S105
TOKEN_REVOKED = "auth.token_revoked"  # noqa: S105

# Permissions (role assignments and account status are recorded automatically by signals)
ROLE_GRANTED = "perm.role_granted"
ROLE_REVOKED = "perm.role_revoked"
USER_DISABLED = "perm.user_disabled"
USER_ENABLED = "perm.user_enabled"

# Personal data
REVEAL = "data.reveal"
SENSITIVE_READ = "data.sensitive_read"
EXPORT = "data.export"
IMPORT = "data.import"

# Configuration and the audit trail itself
CONFIG_CHANGED = "config.change"
AUDIT_PURGE = "audit.purge"
AUDIT_VERIFY_FAILED = "audit.verify_failed"

# Operation: backups hold everyone's data, the keyring export opens it
OPS_BACKUP = "ops.backup"
OPS_RESTORE = "ops.restore"
OPS_DRILL = "ops.drill"
OPS_KEYS_EXPORT = "ops.keys_export"
OPS_KEYS_IMPORT = "ops.keys_import"

LABELS = {
    LOGIN_OK: _("登录成功"),
    LOGIN_FAILED: _("登录失败"),
    LOGOUT: _("退出登录"),
    LOCKOUT: _("账号锁定"),
    PASSWORD_CHANGED: _("修改密码"),
    OTP_FAILED: _("动态口令错误"),
    SESSION_KILLED: _("强制下线"),
    TOKEN_ISSUED: _("签发接口令牌"),
    TOKEN_REVOKED: _("吊销接口令牌"),
    ROLE_GRANTED: _("授予角色"),
    ROLE_REVOKED: _("撤销角色"),
    USER_DISABLED: _("停用账号"),
    USER_ENABLED: _("启用账号"),
    REVEAL: _("查看完整信息"),
    SENSITIVE_READ: _("查阅敏感信息"),
    EXPORT: _("导出数据"),
    IMPORT: _("导入数据"),
    CONFIG_CHANGED: _("修改配置"),
    AUDIT_PURGE: _("清理过期审计记录"),
    AUDIT_VERIFY_FAILED: _("审计链校验失败"),
    OPS_BACKUP: _("数据备份"),
    OPS_RESTORE: _("数据恢复"),
    OPS_DRILL: _("恢复演练"),
    OPS_KEYS_EXPORT: _("导出加密密钥"),
    OPS_KEYS_IMPORT: _("恢复加密密钥"),
}

CHOICES = [(name, format_lazy("{} {}", label, name)) for name, label in LABELS.items()]


def label(event: str) -> str:
    return LABELS.get(event, event)
