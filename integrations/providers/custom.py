"""A tracker known only by its URLs: links and "create" open pages, nothing calls an API.

The connection check is a HEAD of the base URL (the base class's ``check_reachable``), rather
than reporting that there is nothing to check: a custom source's links are only as good as its
base URL, and the check catches what breaks them (a typo in the host, DNS, TLS, a refused or
private address). HEAD, because only the status matters; any HTTP answer, even 404 or 405,
proves the server is there. A tracker behind an API key (header name and value) or basic
authentication gets them with the check, and then a 401 or 403 means they are refused.
"""

from integrations.errors import AuthenticationFailed
from integrations.models import AUTH_TYPES_BY_PROVIDER, AuthType, Provider

from .base import ConnectionReport, TrackerProvider

REFUSED = (401, 403)


class CustomTracker(TrackerProvider):
    key = Provider.CUSTOM
    label = Provider.CUSTOM.label
    auth_types = AUTH_TYPES_BY_PROVIDER[Provider.CUSTOM]
    default_key_pattern = r"^\S+$"
    external_project_hint = "project or space name, used by {project} in the URL templates (optional)"
    base_url_hint = "The tracker's address, e.g. https://tracker.example.com."

    def check_connection(self) -> ConnectionReport:
        """Whether the base URL answers, with the source's API key or basic credentials when it has them."""
        if self.source.auth_type == AuthType.NONE:
            return self.check_reachable()
        what = "API key" if self.source.auth_type == AuthType.API_KEY else "user name and password"
        with self.client() as http:
            response = http.request("HEAD", self.source.base_url, accept=range(300, 600))
        if response.status in REFUSED:
            raise AuthenticationFailed(
                f"{response.host} refused the source's {what} (HTTP {response.status}): check them.",
                status=response.status,
            )
        return ConnectionReport(user="", detail=f"{response.host} answers (HTTP {response.status}) with the {what}.")
