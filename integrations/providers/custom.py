"""A tracker known only by its URLs: links and "create" open pages, nothing calls an API.

The connection check is a HEAD of the base URL without credentials (the base class's
``check_reachable``), rather than reporting that there is nothing to check: a custom
source's links are only as good as its base URL, and the check catches what breaks them
(a typo in the host, DNS, TLS, a refused or private address). HEAD, because only the
status matters; any HTTP answer, even 404 or 405, proves the server is there.
"""

from integrations.models import AUTH_TYPES_BY_PROVIDER, Provider

from .base import TrackerProvider


class CustomTracker(TrackerProvider):
    key = Provider.CUSTOM
    label = Provider.CUSTOM.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.CUSTOM]
    default_key_pattern = r"^\S+$"
    external_project_hint = "project or space name, used by {project} in the URL templates (optional)"
    base_url_hint = "The tracker's address, e.g. https://tracker.example.com."
