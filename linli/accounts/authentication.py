import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions

from .models import ApiToken

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer ll_…``: the token acts as its owner, with the owner's scope."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        key = header[len(self.keyword) + 1 :].strip()
        try:
            token = ApiToken.objects.select_related("user").get(key_hash=ApiToken.hash_key(key))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed(gettext("令牌无效 (invalid token)")) from None
        if not token.usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                gettext("令牌已失效 (token revoked, expired or user disabled)")
            )
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            # At most one write a minute per token: a write (and its WAL flush) on every API call
            # cost more than most of the calls themselves under load.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
