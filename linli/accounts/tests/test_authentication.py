import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from linli.accounts.models import ApiToken
from linli.accounts.validators import CharacterClassesValidator
from linli.core.testing import make_user

PASSWORD = "Linli@test2026"


def login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.mark.parametrize("password", ["alllowercase1", "ALLUPPER123", "abcdefgh!!"])
def test_password_needs_three_character_classes(password):
    with pytest.raises(ValidationError) as exc:
        CharacterClassesValidator(3).validate(password)
    assert "至少 3 类" in exc.value.messages[0]
    CharacterClassesValidator(3).validate("Abcdefg1")


@pytest.mark.django_db
def test_lockout_after_five_failures(client, area_tree):
    make_user("gw", "grid_worker", area_tree["grids"][0])
    for _ in range(4):
        assert login(client, "gw", "wrong").status_code == 200
    assert login(client, "gw", "wrong").status_code == 429  # the fifth failure locks the account
    response = login(client, "gw")  # the right password no longer helps
    assert response.status_code == 429
    assert "锁定" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_lockout_holds_under_50_concurrent_wrong_passwords(area_tree):
    make_user("target", "grid_worker", area_tree["grids"][0])
    start = threading.Barrier(50)

    def attempt(_):
        try:
            start.wait()
            return login(Client(), "target", "wrong-password").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(attempt, range(50)))
    assert set(codes) <= {200, 429}
    from axes.models import AccessAttempt

    attempt_row = AccessAttempt.objects.get(username="target")
    assert attempt_row.failures_since_start >= 5
    assert login(Client(), "target").status_code == 429  # still locked for the right password


@pytest.mark.django_db
def test_disabling_a_user_ends_their_session_at_once(client, area_tree):
    user = make_user("gw", "grid_worker", area_tree["grids"][0])
    assert login(client, "gw").status_code == 302
    assert client.get(reverse("home")).status_code == 200
    user.is_active = False
    user.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_absolute_session_lifetime(client, area_tree):
    make_user("gw", "grid_worker", area_tree["grids"][0])
    login(client, "gw")
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    session["linli_login_at"] = time.time() - 13 * 3600
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302 and "expired=1" in response["Location"]


@pytest.mark.django_db
def test_idle_timeout_is_30_minutes_and_renewed_by_use_at_most_once_a_minute(client, area_tree):
    from unittest import mock

    from django.contrib.sessions.models import Session

    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_RENEW_SECONDS == 60
    make_user("gw", "grid_worker", area_tree["grids"][0])
    login(client, "gw")
    key = client.session.session_key

    def expiry_after_request(at: float):
        with mock.patch("linli.accounts.middleware.time.time", return_value=at):
            assert client.get(reverse("home")).status_code == 200
        return Session.objects.get(session_key=key).expire_date

    start = time.time()
    first = expiry_after_request(start)
    assert first > timezone.now() + dt.timedelta(minutes=29)
    # Within the minute the session is not written again: the expiry stays where it was.
    Session.objects.filter(session_key=key).update(expire_date=first - dt.timedelta(minutes=5))
    assert expiry_after_request(start + 30) == first - dt.timedelta(minutes=5)
    # After it, a request renews the idle timeout.
    assert expiry_after_request(start + 61) > timezone.now() + dt.timedelta(minutes=29)


@pytest.mark.django_db
def test_expired_password_must_be_changed(client, area_tree):
    user = make_user("gw", "grid_worker", area_tree["grids"][0])
    login(client, "gw")
    from datetime import timedelta

    from django.utils import timezone

    type(user).objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")


@pytest.mark.django_db
def test_wide_scope_needs_totp(client, area_tree):
    make_user("so", "subdistrict_officer", area_tree["subdistricts"][0])
    login(client, "so")
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("otp_setup")
    page = client.get(reverse("otp_setup"))
    assert "<svg" in page.content.decode()  # QR code rendered on the server, no external service
    device = TOTPDevice.objects.get(user__username="so")
    assert client.post(reverse("otp_setup"), {"token": "000000"}).status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows down code guessing too
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    assert client.post(reverse("otp_setup"), {"token": code}).status_code == 302
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_narrow_scope_needs_no_totp(client, area_tree):
    make_user("gw", "grid_worker", area_tree["grids"][0])
    login(client, "gw")
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_content_security_policy_forbids_inline_script(client):
    header = client.get(reverse("login"))["Content-Security-Policy"]
    script_src = next(part for part in header.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src
    assert "frame-ancestors 'none'" in header


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="linli.accounts.tests.token_urls")
def test_api_token_acts_as_its_owner_until_revoked(client, area_tree):
    user = make_user("api", "grid_worker", area_tree["grids"][0])
    token, key = ApiToken.issue(user, "对接系统")
    assert token.key_hash != key and key not in token.key_hash
    ok = client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ok.status_code == 200 and ok.json() == {"user": "api"}
    assert client.get("/whoami", HTTP_AUTHORIZATION="Bearer ll_nonsense").status_code == 401
    user.is_active = False
    user.save()
    assert client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    user.is_active = True
    user.save()
    token.revoked = True
    token.save()
    assert client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="linli.accounts.tests.token_urls")
def test_api_token_last_use_is_written_at_most_once_a_minute(client, area_tree):
    import datetime as dt

    from django.utils import timezone

    user = make_user("api", "grid_worker", area_tree["grids"][0])
    token, key = ApiToken.issue(user, "对接系统")
    assert client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    assert client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first  # within the minute: no write
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    assert client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first - dt.timedelta(minutes=1) and token.last_used_at <= timezone.now()


@pytest.mark.django_db
def test_password_change_page_enforces_the_policy(client, area_tree):
    make_user("gw", "grid_worker", area_tree["grids"][0])
    login(client, "gw")
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and "修改密码" in page.content.decode()
    weak = client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "abcdefgh",
                                                    "new_password2": "abcdefgh"})  # fmt: skip
    assert weak.status_code == 200 and "至少 3 类" in weak.content.decode()
    ok = client.post(reverse("password_change"), {"old_password": PASSWORD, "new_password1": "Xin@mima2026",
                                                  "new_password2": "Xin@mima2026"})  # fmt: skip
    assert ok.status_code == 302
