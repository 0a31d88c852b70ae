"""Login with a brute-force lockout, on the login page and the admin's: after MAX_FAILURES failed
attempts for one username from one address within WINDOW, that pair is refused, even with the right
password, until the oldest failure leaves the window. A successful login clears the pair's failures.

Failures are kept in the Django cache (Redis when configured, so every web process shares them).
Counting per username and address, not per username alone, keeps an attacker from locking a
colleague out from elsewhere.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKED_OUT = "Too many failed login attempts for this username. Try again in 15 minutes."


def _cache_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().casefold()}\n{address}".encode()).hexdigest()
    return f"projects:login-failures:{digest}"


def _recent_failures(key: str) -> list[float]:
    cutoff = (timezone.now() - WINDOW).timestamp()
    return [moment for moment in cache.get(key, []) if moment > cutoff]


def client_address(request) -> str:
    """The address the request came from: the connection's, or behind TRUSTED_PROXY_COUNT proxies
    the one the outermost trusted proxy saw (the Nth entry from the right of X-Forwarded-For)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "")


class LoginThrottle:
    """Mixin for an AuthenticationForm: refuses a username+address pair with too many recent failures."""

    def clean(self):
        address = client_address(self.request) if self.request else ""
        key = _cache_key(self.cleaned_data.get("username") or "", address)
        failures = _recent_failures(key)
        if len(failures) >= MAX_FAILURES:
            raise ValidationError(LOCKED_OUT, code="locked_out")
        try:
            cleaned = super().clean()
        except ValidationError:
            failures.append(timezone.now().timestamp())
            cache.set(key, failures, int(WINDOW.total_seconds()))
            raise
        cache.delete(key)
        return cleaned

    @property
    def locked_out(self) -> bool:
        return any(error.code == "locked_out" for error in self.errors.as_data().get("__all__", []))


class ThrottledAuthenticationForm(LoginThrottle, AuthenticationForm):
    """The login page's form."""


class ThrottledAdminAuthenticationForm(LoginThrottle, AdminAuthenticationForm):
    """The admin's login form (staff only), counted with the login page's failures."""


login_view = LoginView.as_view(authentication_form=ThrottledAuthenticationForm)
