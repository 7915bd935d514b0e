import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from linli.core.views import policy

from .middleware import has_device


def _verify_token(user, token: str):
    for device in TOTPDevice.objects.filter(user=user):
        if device.verify_token(token.strip()):
            return device
    return None


@policy("login")
@login_required
def otp_setup(request):
    """Enrol a TOTP authenticator: show the QR code (rendered here, offline) and confirm one code."""
    if has_device(request.user):
        return redirect("otp_verify")
    device, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "default"}
    )
    if request.method == "POST":
        if device.verify_token(request.POST.get("token", "").strip()):
            device.confirmed = True
            device.save()
            otp_login(request, device)
            messages.success(request, gettext("已启用双因素认证 (two-factor enabled)"))
            return redirect("home")
        messages.error(request, gettext("验证码不正确 (wrong code)"))
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(request, "accounts/otp_setup.html", {"qr_svg": qr_svg, "secret": device.bin_key.hex()})


@policy("login")
@login_required
def otp_verify(request):
    if request.method == "POST":
        device = _verify_token(request.user, request.POST.get("token", ""))
        if device is not None and device.confirmed:
            otp_login(request, device)
            return redirect(request.GET.get("next") or "home")
        messages.error(request, gettext("验证码不正确 (wrong code)"))
    return render(request, "accounts/otp_verify.html")


@method_decorator(policy("public"), name="dispatch")
class LoginView(auth_views.LoginView):
    linli_policy = "public"


class LogoutView(auth_views.LogoutView):
    linli_policy = "login"


class PasswordChangeView(auth_views.PasswordChangeView):
    linli_policy = "login"


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    linli_policy = "login"
