"""Password guessing is capped per username and address, on every door that checks a password: the
login page, the admin's login and `POST /api/auth/token`. Each attempt takes a numbered slot from
one counter shared by all three before its password is checked; once MAX_FAILURES slots are taken,
the pair is refused (even with the right password) and no password is checked, until WINDOW has
passed since the first counted attempt. A successful login clears the pair's counter.

The counter lives in the Django cache (Redis when configured, so every web process shares it) and is
taken with `cache.add` + `cache.incr`, both atomic: thirty parallel guesses get thirty different
numbers, so at most MAX_FAILURES passwords are ever checked, however many requests race. Counting per
username and address, not per username alone, keeps an attacker from locking a colleague out from
elsewhere.
"""

import hashlib
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKED_OUT = "Too many failed login attempts for this username. Try again in 15 minutes."


class LockedOut(Exception):
    """The username+address pair has used up its attempts; no password was checked."""


def _cache_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().casefold()}\n{address}".encode()).hexdigest()
    return f"projects:login-attempts:{digest}"


def client_address(request) -> str:
    """The address the request came from: the connection's, or behind TRUSTED_PROXY_COUNT proxies
    the one the outermost trusted proxy saw (the Nth entry from the right of X-Forwarded-For)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "")


def _take_attempt(key: str) -> int:
    """This attempt's number within the pair's window, taken atomically. The window starts with the
    first attempt (`add` sets the expiry only when it creates the counter; `incr` keeps it). A cache
    that loses the counter twice in a row between add and incr counts as locked: refusing is safe."""
    for _ in range(2):
        cache.add(key, 0, int(WINDOW.total_seconds()))
        try:
            return cache.incr(key)
        except ValueError:  # the window ended between add and incr: start a new one
            continue
    return MAX_FAILURES + 1


@contextmanager
def login_attempt(request, username: str):
    """Guards a password check: enters only if the pair has an attempt left (else raises LockedOut,
    no password checked). A body that ends normally clears the pair's counter; one that raises (wrong
    password, inactive user) leaves its attempt counted."""
    key = _cache_key(username or "", client_address(request) if request else "")
    if _take_attempt(key) > MAX_FAILURES:
        raise LockedOut(LOCKED_OUT)
    yield
    cache.delete(key)


class LoginThrottle:
    """Mixin for an AuthenticationForm: its password check counts on the shared counter."""

    def clean(self):
        try:
            with login_attempt(self.request, self.cleaned_data.get("username") or ""):
                return super().clean()
        except LockedOut:
            raise ValidationError(LOCKED_OUT, code="locked_out") from None

    @property
    def locked_out(self) -> bool:
        return any(error.code == "locked_out" for error in self.errors.as_data().get("__all__", []))


class ThrottledAuthenticationForm(LoginThrottle, AuthenticationForm):
    """The login page's form."""


class ThrottledAdminAuthenticationForm(LoginThrottle, AdminAuthenticationForm):
    """The admin's login form (staff only), counted with the login page's failures."""


login_view = LoginView.as_view(authentication_form=ThrottledAuthenticationForm)
