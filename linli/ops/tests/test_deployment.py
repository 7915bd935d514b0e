"""The shipped deployment files work: gunicorn with deploy/gunicorn.conf.py serves the app behind
nginx with deploy/nginx/linli.conf (HTTPS, redirect, static files, proxy headers that match the
settings), and the systemd units pass ``systemd-analyze verify``.

nginx and systemd-analyze come from Debian (``.ci/run`` installs nginx-light); without them the
parts that need them are skipped, and say so.
"""

import contextlib
import datetime as dt
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest
from django.conf import settings

from linli.core.testing import make_user
from linli.ops.backup import Target

ROOT = Path(settings.BASE_DIR)
DEPLOY = ROOT / "deploy"
PASSWORD = "Linli@deploy2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(port: int, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            proc_wait = 0.2
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(proc_wait)
    raise AssertionError(f"{what} did not listen on {port} within {timeout}s")


def request(port, method, path, *, tls=False, headers=None, body=None, source="127.0.0.1"):
    source_address = (source, 0)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30,
                                           source_address=source_address)  # fmt: skip
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=source_address)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def cookies_of(response) -> dict[str, str]:
    jar = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie = SimpleCookie(header)
        for name, morsel in cookie.items():
            jar[name] = morsel.value
            jar[f"{name}:secure"] = "secure" in header.lower()
    return jar


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with the shipped config against the suite's database, production-like proxy settings."""
    port = free_port()
    static = tmp_path / "static"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "LINLI_TEST_DB"))},
        "DATABASE_URL": Target.default().url,
        "LINLI_WEB_BIND": f"127.0.0.1:{port}",
        "LINLI_WEB_WORKERS": "2",
        "LINLI_BEHIND_HTTPS_PROXY": "1",
        "LINLI_SECURE_COOKIES": "1",
        "LINLI_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LINLI_STATIC_ROOT": str(static),
        "LINLI_LOG_FORMAT": "json",
    }
    static.mkdir()
    (static / "probe.css").write_text("body{}")
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "--config", str(DEPLOY / "gunicorn.conf.py")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until_listening(port, proc, "gunicorn")
        yield {"port": port, "proc": proc, "static": static}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def log_in(port, *, tls, extra_headers, source="127.0.0.1") -> dict:
    """Log in through the real login form (CSRF token, Referer check), return the cookies."""
    response, body = request(port, "GET", "/accounts/login/", tls=tls, headers=extra_headers, source=source)
    assert response.status == 200, body[:500]
    jar = cookies_of(response)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"username": "deployer", "password": PASSWORD, "csrfmiddlewaretoken": token})
    host = f"127.0.0.1:{port}"
    response, body = request(port, "POST", "/accounts/login/", tls=tls, body=form, source=source, headers={
        **extra_headers, "Content-Type": "application/x-www-form-urlencoded", "Host": host,
        "Referer": f"https://{host}/accounts/login/", "Cookie": f"csrftoken={jar['csrftoken']}",
    })  # fmt: skip
    assert response.status == 302, body[:2000]
    jar.update(cookies_of(response))
    assert jar["sessionid:secure"] is True  # Secure cookies: Django saw HTTPS through the proxy header
    return jar


@pytest.mark.django_db(transaction=True)
def test_gunicorn_with_the_shipped_config_serves_health_and_a_logged_in_page(gunicorn, area_tree):
    user = make_user("deployer", "community_staff", area_tree["communities"][0], password=PASSWORD)
    user.password_changed_at = dt.datetime.now(tz=dt.UTC)
    user.save()
    port = gunicorn["port"]

    # Several worker processes under one master.
    workers = psutil.Process(gunicorn["proc"].pid).children()
    assert len(workers) == 2

    # Probes speak plain HTTP and are not redirected; everything else is sent to HTTPS.
    response, body = request(port, "GET", "/healthz")
    assert response.status == 200 and b'"ok"' in body
    response, body = request(port, "GET", "/readyz")
    assert response.status == 200 and b'"ready"' in body
    response, _ = request(port, "GET", "/")
    assert response.status == 301 and response.getheader("Location").startswith("https://")

    https = {"X-Forwarded-Proto": "https"}
    jar = log_in(port, tls=False, extra_headers=https)
    response, body = request(port, "GET", "/", headers={**https, "Cookie": f"sessionid={jar['sessionid']}"})
    assert response.status == 200
    assert b"deployer" in body
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=")


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def tls_pair(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linli.test")])
    now = dt.datetime.now(tz=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))  # fmt: skip
    crt, pem = directory / "linli.crt", directory / "linli.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))  # fmt: skip
    return crt, pem


def nginx_config(tmp_path: Path, app_port: int, http_port: int, https_port: int, static: Path) -> Path:
    """The shipped site file with only ports and paths changed, inside a minimal nginx.conf."""
    crt, key = tls_pair(tmp_path)
    site = (DEPLOY / "nginx" / "linli.conf").read_text()
    replacements = {
        "server 127.0.0.1:8000": f"server 127.0.0.1:{app_port}",
        "listen 80;": f"listen 127.0.0.1:{http_port};", "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;", "listen [::]:443 ssl http2;": "",
        "/etc/nginx/tls/linli.crt": str(crt), "/etc/nginx/tls/linli.key": str(key),
        "/etc/nginx/linli_proxy_params": str(DEPLOY / "nginx" / "linli_proxy_params"),
        "alias /var/lib/linli/static/;": f"alias {static}/;",
    }  # fmt: skip
    for old, new in replacements.items():
        assert old in site, f"{old!r} not in deploy/nginx/linli.conf"
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(
        f"{k}_temp_path {tmp_path}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ include /etc/nginx/mime.types; access_log off; {temp} include {tmp_path}/site.conf; }}\n"
    )
    return conf


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (CI installs nginx-light)")
@pytest.mark.django_db(transaction=True)
def test_nginx_example_in_front_of_gunicorn(gunicorn, area_tree, tmp_path):
    user = make_user("deployer", "community_staff", area_tree["communities"][0], password=PASSWORD)
    user.password_changed_at = dt.datetime.now(tz=dt.UTC)
    user.save()
    http_port, https_port = free_port(), free_port()
    conf = nginx_config(tmp_path, gunicorn["port"], http_port, https_port, gunicorn["static"])
    check = subprocess.run(  # noqa: S603 - fixed argv
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],  # noqa: S603
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_until_listening(https_port, proc, "nginx")
        # HTTP → HTTPS, except the probes.
        response, _ = request(http_port, "GET", "/registry/persons/")
        assert (
            response.status == 301 and response.getheader("Location") == "https://127.0.0.1/registry/persons/"
        )
        response, body = request(http_port, "GET", "/readyz")
        assert response.status == 200 and b"ready" in body
        # Static files from disk with a long cache lifetime.
        response, body = request(https_port, "GET", "/static/probe.css", tls=True)
        assert response.status == 200 and body == b"body{}"
        assert "public" in response.getheader("Cache-Control") and response.getheader("Expires")
        # Uploaded files are never served by nginx.
        response, _ = request(https_port, "GET", "/media/imports/x.csv", tls=True)
        assert response.status == 404
        # The app behind it sees HTTPS (no redirect loop, Secure cookies) and the client's address.
        # The client connects from 127.0.0.5; nginx reaches gunicorn from 127.0.0.1.
        jar = log_in(https_port, tls=True, extra_headers={}, source="127.0.0.5")
        response, body = request(
            https_port, "GET", "/", tls=True, headers={"Cookie": f"sessionid={jar['sessionid']}"}
        )
        assert response.status == 200 and b"deployer" in body
        from linli.audit.models import AuditEvent

        login = AuditEvent.objects.filter(event="auth.login", username="deployer").latest("id")
        assert login.ip == "127.0.0.5"  # X-Real-IP from nginx ($remote_addr), trusted from 127.0.0.1
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed on this machine")
def test_systemd_units_verify(tmp_path):
    units = sorted((DEPLOY / "systemd").iterdir())
    assert {u.name for u in units} >= {"linli-web.service", "linli-worker.service", "linli-sweep.service",
                                       "linli-seal.service", "linli-backup.service", "linli-backup.timer",
                                       "linli.target"}  # fmt: skip
    venv = Path(sys.executable).parent.parent
    for unit in units:
        text = unit.read_text()
        if unit.suffix == ".service":
            for directive in ("User=linli", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                              "EnvironmentFile=/etc/linli/linli.env"):  # fmt: skip
                assert directive in text, (unit.name, directive)
        if unit.name in {
            "linli-web.service",
            "linli-worker.service",
            "linli-sweep.service",
            "linli-seal.service",
        }:
            assert "Restart=always" in text
        # Installed paths → this checkout, so the executables exist for verify.
        text = text.replace("/opt/linli/.venv", str(venv)).replace("/opt/linli", str(ROOT))
        text = text.replace("/etc/linli/linli.env", str(DEPLOY / "linli.env.example"))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(  # noqa: S603
        [SYSTEMD_ANALYZE, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    ours = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "linli" in line]
    assert result.returncode == 0 and ours == [], result.stderr


def test_env_example_names_only_settings_that_exist():
    """Every LINLI_* variable in the example is read somewhere, so the example cannot drift."""
    names = set(re.findall(r"^#?(LINLI_\w+)=", (DEPLOY / "linli.env.example").read_text(), re.M))
    sources = "\n".join(p.read_text(errors="ignore") for p in list((ROOT / "linli").rglob("*.py")) +
                        [DEPLOY / "gunicorn.conf.py"]) + (DEPLOY / "systemd" / "linli-backup.service").read_text()  # fmt: skip
    missing = sorted(n for n in names if n not in sources)
    assert missing == []


def test_client_address_is_taken_from_a_trusted_proxy_only(settings):
    from django.test import RequestFactory

    from linli.ops.proxy import TrustedProxyMiddleware

    settings.LINLI_TRUSTED_PROXIES = ["127.0.0.1"]
    middleware = TrustedProxyMiddleware(lambda request: request.META["REMOTE_ADDR"])
    factory = RequestFactory()
    assert middleware(factory.get("/", HTTP_X_REAL_IP="10.1.2.3", REMOTE_ADDR="127.0.0.1")) == "10.1.2.3"
    assert middleware(factory.get("/", HTTP_X_REAL_IP="10.1.2.3", REMOTE_ADDR="10.9.9.9")) == "10.9.9.9"
    assert middleware(factory.get("/", HTTP_X_REAL_IP="not-an-ip", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"


def test_linli_admin_runs_commands_with_the_service_environment(tmp_path):
    env_file = tmp_path / "linli.env"
    var = tmp_path / "var"
    env_file.write_text(f"# comment\nLINLI_VAR_DIR={var}\nLINLI_LOG_FORMAT=json\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINLI_VAR_DIR", "DATABASE_URL"))}
    env.update(LINLI_ENV_FILE=str(env_file), LINLI_VENV=str(Path(sys.executable).parent.parent))
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(DEPLOY / "linli-admin"), "check", "--tag", "models"], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (var / "keys" / "secret_key").exists()  # settings read LINLI_VAR_DIR from the env file
