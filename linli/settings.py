"""Django settings for Linli.

Every setting comes from the environment, with defaults that are safe for one machine:
no ``DATABASE_URL`` means SQLite under ``var/`` (WAL mode, busy timeout). Secrets may be
given directly or through a ``*_FILE`` variable naming a file that holds them.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LINLI_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    """Read a setting; ``NAME_FILE`` (a path) takes precedence so secrets stay out of the process table."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


DEBUG = env_bool("LINLI_DEBUG", False)
TESTING = env_bool("LINLI_TESTING", False)


def _secret_key() -> str:
    """A configured key, or one generated once and kept under var/ (never in the repository)."""
    configured = env("LINLI_SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "keys" / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in env("LINLI_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("LINLI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "treebeard",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "linli.core",
    "linli.accounts",
    "linli.codes",
    "linli.areas",
    "linli.registry",
    "linli.audit",
    "linli.events",
    "linli.grid",
    "linli.dataio",
    "linli.web",
    "linli.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "linli.ops.proxy.TrustedProxyMiddleware",
    "linli.ops.logs.RequestLogMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chinese unless the language cookie says English (Accept-Language is ignored on purpose).
    "linli.web.middleware.CookieLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "linli.accounts.middleware.SessionPolicyMiddleware",
    "linli.core.middleware.RequestContextMiddleware",
    # Last, as django-axes requires: it turns lockouts into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Widgets render through Jinja2 (Django's own widget templates for it): a select of a few dozen
# options renders 2-3x faster than through the template language, and list pages render a filter
# form on every view (docs/performance.md).
FORM_RENDERER = "django.forms.renderers.Jinja2"

# --- Database -------------------------------------------------------------------------------
# SQLite: WAL lets readers run beside the writer; IMMEDIATE transactions take the write lock at
# BEGIN so two writers queue on the busy timeout instead of failing with "database is locked".
VAR_DIR.mkdir(parents=True, exist_ok=True)
_SQLITE = {
    "ENGINE": "django.db.backends.sqlite3",
    # LINLI_SQLITE_PATH: another database file (the robustness suite points subprocesses at the test one).
    "NAME": env("LINLI_SQLITE_PATH", str(VAR_DIR / "linli.sqlite3")),
    "OPTIONS": {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    },
    "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
}
_database_url = env("DATABASE_URL")
if _database_url:
    DATABASES = {
        "default": dj_database_url.parse(_database_url, conn_max_age=env_int("LINLI_DB_CONN_MAX_AGE", 60))
    }
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
else:
    DATABASES = {"default": _SQLITE}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Tests create many users; argon2's deliberate cost would dominate the run.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "linli.accounts.validators.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses locked-out accounts before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: 5 failures lock the account for 15 minutes (django-axes counts failures with
# SELECT … FOR UPDATE and F() increments, so concurrent attempts are all counted).
AXES_FAILURE_LIMIT = env_int("LINLI_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LINLI_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False
# Locking by account alone is deliberate: a password-guessing run against one account is stopped
# whatever addresses it comes from (axes warns because it assumes IP-based limits are wanted).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
PASSWORD_MAX_AGE_DAYS = env_int("LINLI_PASSWORD_MAX_AGE_DAYS", 90)
SESSION_ABSOLUTE_SECONDS = env_int("LINLI_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
OTP_TOTP_ISSUER = "Linli 邻里"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sessions and cookies -------------------------------------------------------------------
SESSION_COOKIE_AGE = env_int("LINLI_SESSION_IDLE_SECONDS", 30 * 60)
# Idle timeout: a signed-in user's requests push the expiry forward, at most once a minute
# (linli.accounts.middleware) — saving the session on every request cost a database write per page.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_SECONDS = env_int("LINLI_SESSION_RENEW_SECONDS", 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("LINLI_SECURE_COOKIES", not DEBUG and not TESTING and bool(_database_url))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("LINLI_BEHIND_HTTPS_PROXY", False):
    # Production: TLS ends at the reverse proxy (nginx), which sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("LINLI_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load-balancer probes may speak plain HTTP
    SECURE_HSTS_SECONDS = env_int("LINLI_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LINLI_HSTS_INCLUDE_SUBDOMAINS", False)
    # Deliberate on a government intranet: browser preload lists only concern public sites, and
    # other services on sibling intranet hostnames may not speak HTTPS (opt in with the variable).
    SILENCED_SYSTEM_CHECKS += ["security.W021"] + (
        [] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]
    )

# Reverse proxies whose X-Real-IP header names the client (linli.ops.proxy); nginx on this machine
# by default when behind an HTTPS proxy.
LINLI_TRUSTED_PROXIES = [
    p
    for p in env(
        "LINLI_TRUSTED_PROXIES", "127.0.0.1,::1" if env_bool("LINLI_BEHIND_HTTPS_PROXY", False) else ""
    ).split(",")
    if p
]

# Content-Security-Policy: no inline script, nothing from outside this server.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "linli" / "locale"]
# The switcher's choice is kept for a year (set_language writes the cookie).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = env("LINLI_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
# Front-end libraries come from node_modules (installed from package-lock.json) and are served
# by the app itself: no CDN, the intranet needs nothing from outside.
STATIC_URL = "static/"
STATIC_ROOT = Path(env("LINLI_STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/tabler", NODE_MODULES / "@tabler" / "core" / "dist"),
    ("vendor/tabler-icons", NODE_MODULES / "@tabler" / "icons-webfont" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/swagger-ui", NODE_MODULES / "swagger-ui-dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("LINLI_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Field encryption -----------------------------------------------------------------------
# The keyring lives outside the database: a file under var/keys/ by default (created by
# `linli init`), or a path in LINLI_KEYRING_FILE, or the JSON itself in LINLI_KEYRING.
LINLI_KEYRING_FILE = Path(env("LINLI_KEYRING_FILE", str(VAR_DIR / "keys" / "keyring.json")))

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "linli.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["linli.core.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "linli.core.pagination.Pagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Linli 邻里 API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "PersonStatusEnum": "linli.registry.choices.PersonStatus",
        "HouseholdStatusEnum": "linli.registry.choices.HouseholdStatus",
        "EventStatusEnum": "linli.events.choices.EventStatus",
    },
}

# --- Background jobs ------------------------------------------------------------------------
# django-tasks with its database backend: jobs live in the same database, a `linli worker`
# process runs them; no broker to install. Tests run jobs in-process unless they opt out.
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"
        if TESTING and not env_bool("LINLI_TEST_DB_TASKS", False)
        else "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "imports", "exports"],
    }
}

# --- Logging --------------------------------------------------------------------------------
# Plain lines by default; LINLI_LOG_FORMAT=json for a log collector. Every record carries the
# request id and user id, and ID and phone numbers are masked before any handler writes them.
LOG_FORMAT = env("LINLI_LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "linli.ops.logs.ContextFilter"},
        "mask": {"()": "linli.ops.logs.MaskPersonalData"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "linli.ops.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context", "mask"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One line per request from linli.ops.logs.RequestLogMiddleware; Django's own would repeat it.
        "django.server": {"level": "WARNING"},
        "linli.request": {"level": env("LINLI_REQUEST_LOG_LEVEL", "INFO")},
    },
}

# --- Linli ----------------------------------------------------------------------------------
# Grid code scheme: "cjt349" (CJ/T 349-2010, 20 digits) or "custom" (the area's own code).
LINLI_GRID_CODE_SCHEME = env("LINLI_GRID_CODE_SCHEME", "cjt349")
# Households per grid worker that the grid-assignment norm measures load against (seed 004).
LINLI_HOUSEHOLDS_PER_WORKER = env_int("LINLI_HOUSEHOLDS_PER_WORKER", 300)
# Daily patrol target in minutes (seed 003: 每天巡查一小时).
LINLI_PATROL_MINUTES_PER_DAY = env_int("LINLI_PATROL_MINUTES_PER_DAY", 60)
