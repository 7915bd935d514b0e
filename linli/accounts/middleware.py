"""Session rules of issue 3: absolute lifetime, password expiry, two-factor for wide scopes."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from linli.core import permissions

LOGIN_AT = "linli_login_at"
RENEWED_AT = "linli_renewed_at"
# Paths a user may reach while a password change or two-factor step is pending.
OPEN_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/healthz")


class SessionPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            login_at = request.session.get(LOGIN_AT)
            if login_at is None:
                request.session[LOGIN_AT] = now
            elif now - login_at > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                return redirect(f"{reverse('login')}?expired=1")
            if now - request.session.get(RENEWED_AT, 0) >= settings.SESSION_RENEW_SECONDS:
                # A changed session is saved with a fresh expiry (the idle timeout restarts).
                request.session[RENEWED_AT] = now
            if not request.path.startswith(OPEN_PREFIXES):
                if password_expired(user):
                    return redirect("password_change")
                if permissions.requires_two_factor(user) and not user.is_verified():
                    return redirect("otp_setup" if not has_device(user) else "otp_verify")
        return self.get_response(request)


def password_expired(user) -> bool:
    from .models import PASSWORD_MUST_CHANGE

    if user.password_changed_at is not None and user.password_changed_at <= PASSWORD_MUST_CHANGE:
        return True  # set by an administrator: change at first login, whatever the expiry policy
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    if not max_age or user.password_changed_at is None:
        return False
    return (timezone.now() - user.password_changed_at).days >= max_age


def has_device(user) -> bool:
    from django_otp import devices_for_user

    return any(True for _ in devices_for_user(user, confirmed=True))
