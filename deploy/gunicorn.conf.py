"""gunicorn configuration for Linli in production (``gunicorn -c deploy/gunicorn.conf.py``).

Sized from the machine: (2 × cores) + 1 synchronous worker processes by default, the usual
starting point for a Django app whose requests wait on the database; each worker is an
independent process with its own database connection, so the app tier is stateless and more
machines can run the same file behind a load balancer. Every value can be set in the
environment file (``/etc/linli/linli.env``) without editing this file.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


wsgi_app = "linli.wsgi:application"
bind = os.environ.get("LINLI_WEB_BIND", "127.0.0.1:8000").split(",")
workers = _int("LINLI_WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1)
# Threads per worker: 1 keeps Django's per-thread connections simple; raise for I/O-heavy loads.
threads = _int("LINLI_WEB_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
# Exports stream and imports upload large files: allow a slow client, but not forever.
timeout = _int("LINLI_WEB_TIMEOUT", 120)
graceful_timeout = _int("LINLI_WEB_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then so a slow leak in any library cannot grow without bound.
max_requests = _int("LINLI_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# Load the app in the master once: workers fork with the code already imported (faster restarts,
# shared memory pages); each worker opens its own database connection after the fork.
preload_app = True
# nginx is the only client: trust its X-Forwarded-* headers (Django reads X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("LINLI_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips
# Linli writes one structured line per request itself (linli.request, with user and request id);
# gunicorn's access log would repeat it without them.
accesslog = os.environ.get("LINLI_WEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LINLI_WEB_LOG_LEVEL", "info")
proc_name = "linli-web"
# Temporary request bodies on a RAM-backed directory when there is one (systemd PrivateTmp else).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
limit_request_line = 8190
