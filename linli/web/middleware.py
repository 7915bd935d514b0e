"""Language selection: Chinese for everyone unless the user picked English.

Django's ``LocaleMiddleware`` follows the browser's ``Accept-Language``; Linli runs on government
intranets where the browser's setting says little about the reader, so only the language cookie
(set by the switcher through ``/i18n/setlang/``) changes the language, and nothing else does.
"""

from django.conf import settings
from django.utils import translation


def chosen_language(request) -> str:
    """The cookie's language if it is one of ``LANGUAGES``, otherwise ``LANGUAGE_CODE``."""
    code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    supported = {c.lower() for c, _ in settings.LANGUAGES}
    return code.lower() if code.lower() in supported else settings.LANGUAGE_CODE


class CookieLocaleMiddleware:
    """Activate the cookie's language for the request (in place of ``LocaleMiddleware``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        previous = translation.get_language()
        translation.activate(chosen_language(request))
        request.LANGUAGE_CODE = translation.get_language()
        try:
            response = self.get_response(request)
        finally:
            # The thread serves the next request (or test) in the default language again.
            translation.activate(previous)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
