from django.utils.deprecation import MiddlewareMixin

from . import context


class RequestContextMiddleware(MiddlewareMixin):
    """Bind the request's user, channel and a request id to the action context."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        channel = context.Channel.API if request.path.startswith("/api/") else context.Channel.WEB
        user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
        ctx = context.ActionContext(user=user, channel=channel, ip=request.META.get("REMOTE_ADDR"))
        request.linli_context = ctx
        request._linli_context_token = context._current.set(ctx)

    def process_response(self, request, response):
        token = getattr(request, "_linli_context_token", None)
        if token is not None:
            context._current.reset(token)
            response.headers.setdefault("X-Request-ID", str(request.linli_context.request_id))
        return response
