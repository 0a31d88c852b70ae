"""Sources on the fake trackers and deliveries to the hook, for the sync tests."""

import json

from django.test import RequestFactory

from integrations.models import AuthType, Provider
from tests.factories import SourceFactory
from tests.fakes.fixtures import (
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_TOKEN,
    GITLAB_PAT,
    LINEAR_API_KEY,
    SERVER_PAT,
)
from tests.fakes.webhooks import Delivery

SECRET = "whsec-0123456789-the-webhook-secret"


def jira_cloud_source(fake, **fields):
    return SourceFactory(
        **{
            "provider": Provider.JIRA_CLOUD,
            "name": "Jira",
            "base_url": fake.base_url,
            "allow_http": True,
            "auth_type": AuthType.API_TOKEN,
            "credentials": {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
            "webhook_secret": SECRET,
            "can_process_webhooks": True,
            **fields,
        }
    )


def jira_server_source(fake, **fields):
    return SourceFactory(
        **{
            "provider": Provider.JIRA_SERVER,
            "name": "Jira DC",
            "base_url": fake.base_url,
            "allow_http": True,
            "auth_type": AuthType.PAT,
            "credentials": {"token": SERVER_PAT},
            "webhook_secret": SECRET,
            "can_process_webhooks": True,
            **fields,
        }
    )


def github_source(fake, **fields):
    return SourceFactory(
        **{
            "provider": Provider.GITHUB,
            "name": "GitHub",
            "base_url": fake.web_url,
            "allow_http": True,
            "auth_type": AuthType.PAT,
            "credentials": {"token": GITHUB_TOKEN},
            "issue_url_template": "",
            "webhook_secret": SECRET,
            "can_process_webhooks": True,
            **fields,
        }
    )


def gitlab_source(fake, **fields):
    return SourceFactory(
        **{
            "provider": Provider.GITLAB,
            "name": "GitLab",
            "base_url": fake.web_url,
            "allow_http": True,
            "auth_type": AuthType.PAT,
            "credentials": {"token": GITLAB_PAT},
            "issue_url_template": "",
            "webhook_secret": SECRET,
            "can_process_webhooks": True,
            **fields,
        }
    )


def azure_devops_source(fake, **fields):
    return SourceFactory(
        **{
            "provider": Provider.AZURE_DEVOPS,
            "name": "Azure DevOps",
            "base_url": fake.base_url,
            "allow_http": True,
            "auth_type": AuthType.PAT,
            "credentials": {"token": ADO_PAT},
            "issue_url_template": "",
            "webhook_secret": SECRET,
            "can_process_webhooks": True,
            **fields,
        }
    )


def linear_source(fake, **fields):
    return SourceFactory(
        **{
            "provider": Provider.LINEAR,
            "name": "Linear",
            "base_url": fake.base_url,
            "allow_http": True,
            "auth_type": AuthType.PAT,
            "credentials": {"token": LINEAR_API_KEY},
            "issue_url_template": "",
            "webhook_secret": SECRET,
            "can_process_webhooks": True,
            **fields,
        }
    )


def hook_request(delivery: Delivery):
    """The delivery as the Django request the hook receives."""
    return RequestFactory().post(
        "/hooks/", data=delivery.body, content_type="application/json", headers=delivery.headers
    )


def post(client, source, delivery: Delivery):
    """Post a delivery to the source's hook, as the tracker does."""
    return client.post(
        f"/hooks/{source.uuid}/", data=delivery.body, content_type="application/json", headers=delivery.headers
    )


def stripped(delivery: Delivery, path: tuple[str, ...], *names: str) -> bytes:
    """The delivery's body without the keys ``names`` of the object at ``path``: a payload that does not
    carry them (parsed directly, so the signature does not matter)."""
    payload = delivery.json()
    target = payload
    for step in path:
        target = target[step]
    for name in names:
        target.pop(name, None)
    return json.dumps(payload).encode()
