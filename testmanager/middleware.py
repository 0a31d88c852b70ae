"""A lean path for trackers' webhook deliveries.

A tracker is not a browser: a delivery to ``/hooks/<source uuid>/`` has no session, user, CSRF token or
messages, and its signature is what authenticates it (issues.sync.views). So it skips the browser
middleware after this one (sessions, CSRF, authentication, history, messages, social sign-in, framing)
and goes straight to its view, which is all a busy tracker's deliveries should cost."""

from django.urls import Resolver404, resolve

HOOK_PREFIX = "/hooks/"
LEAN_URL_NAMES = frozenset({"webhook"})


class WebhookFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(HOOK_PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:  # the usual path answers it (a missing slash, a 404 page)
            return self.get_response(request)
        if match.url_name not in LEAN_URL_NAMES:
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
