"""Steps of the production smoke test run inside the stack's own Django (`ProdStack.run`):
who the people are, which no page creates.
"""

from django.contrib.auth import get_user_model

from projects.models import Membership, Project, Role


def seed(password: str) -> None:
    """A system admin `root`, and project SHOP with its admin `lead` and member `mia`."""
    users = get_user_model().objects
    users.create_superuser("root", "root@example.com", password)
    project = Project.objects.create(key="SHOP", name="Web shop")
    for username, role in (("lead", Role.ADMIN), ("mia", Role.MEMBER)):
        Membership.objects.create(project=project, user=users.create_user(username, password=password), role=role)
