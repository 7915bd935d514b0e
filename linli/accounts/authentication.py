from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions

from .models import ApiToken


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
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
