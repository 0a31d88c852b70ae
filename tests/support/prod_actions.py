"""Steps of the production smoke test run inside the stack's own Django (`ProdStack.run`):
who the people are, and refreshing a linked issue, which no page or committed task offers yet
(the webhook endpoint and the refresh schedule are being built alongside this test): it reads
the issue through the provider and stores it with `store_reference`, as a refresh does.
"""

from django.contrib.auth import get_user_model

from integrations.models import ProjectIntegration
from integrations.providers import provider_for
from issues.services import store_reference
from projects.models import Membership, Project, Role


def seed(password: str) -> None:
    """A system admin `root`, and project SHOP with its admin `lead` and member `mia`."""
    users = get_user_model().objects
    users.create_superuser("root", "root@example.com", password)
    project = Project.objects.create(key="SHOP", name="Web shop")
    for username, role in (("lead", Role.ADMIN), ("mia", Role.MEMBER)):
        Membership.objects.create(project=project, user=users.create_user(username, password=password), role=role)


def refresh(key: str) -> None:
    """Read the linked issue's current state from its tracker into the cached reference."""
    integration = ProjectIntegration.objects.select_related("source").get(is_primary=True)
    fetched = provider_for(integration.source).fetch_many([key])
    store_reference(integration.source, fetched.issues[key])
