"""The client's address behind a reverse proxy.

Behind nginx every request comes from 127.0.0.1; the audit trail and the portal's throttle need
the real client. nginx *sets* ``X-Real-IP`` to the address it sees (deploy/nginx/linli_proxy_params),
so when the peer is one of ``LINLI_TRUSTED_PROXIES`` that header becomes ``REMOTE_ADDR``. From any
other peer the header is ignored: a client cannot choose its own address.
"""

import contextlib
import ipaddress

from django.conf import settings


class TrustedProxyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.trusted = {p.strip() for p in getattr(settings, "LINLI_TRUSTED_PROXIES", []) if p.strip()}

    def __call__(self, request):
        real = request.META.get("HTTP_X_REAL_IP", "").strip()
        if real and request.META.get("REMOTE_ADDR") in self.trusted:
            with contextlib.suppress(ValueError):
                request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(real))
        return self.get_response(request)
