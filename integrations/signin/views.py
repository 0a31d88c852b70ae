"""The sign-in endpoints: social-auth's begin and complete views, for configured providers only."""

from django.http import Http404
from django.views.decorators.cache import never_cache
from social_django import views as social_views

from . import selectors


def _configured_or_404(backend: str) -> None:
    # An unconfigured provider would send people to its authorize page with no client id.
    if not selectors.is_configured(backend):
        raise Http404("No such sign-in provider.")


@never_cache
def begin(request, backend):
    _configured_or_404(backend)
    return social_views.auth(request, backend)


@never_cache
def complete(request, backend):
    _configured_or_404(backend)
    return social_views.complete(request, backend)
