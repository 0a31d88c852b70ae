"""Load a small demo project so a newcomer sees real data: `manage.py seed_demo`.

Idempotent: running it again leaves one demo project, one demo admin, one demo source.
It lives in the issues app because it touches all three apps (imports point issues -> others).
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.models import AuthType, Provider, Source
from issues.core.models import IssuePriority, IssueStatus, Tag
from issues.core.services import create_issue
from issues.links.services import link
from projects.models import Membership, Project, ResultStatus, Role, TestCase, TestResult, TestRun

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"

CASES = [
    (
        "Checkout",
        "Pay with a saved card",
        "1. Open the cart\n2. Choose the saved Visa card\n3. Press Pay",
        "Order confirmation page with order number",
    ),
    (
        "Checkout",
        "Apply a discount code",
        "1. Open the cart\n2. Enter SAVE10\n3. Press Apply",
        "Total is reduced by 10%",
    ),
    (
        "Checkout",
        "Pay with an expired card",
        "1. Open the cart\n2. Enter an expired card\n3. Press Pay",
        "Clear error: the card has expired",
    ),
    (
        "Accounts",
        "Sign up with email",
        "1. Open /signup\n2. Fill the form\n3. Confirm the email",
        "Account is active and the user is logged in",
    ),
    (
        "Accounts",
        "Reset a forgotten password",
        "1. Open /login\n2. Press Forgot password\n3. Follow the emailed link",
        "New password works, old one does not",
    ),
    ("Search", "Search by product name", "1. Type 'lamp' in the search box", "Lamps are listed first"),
]


def _pairs(numbered: str, expected: str) -> list[dict]:
    """'1. Open\n2. Pay' and what the last step should show -> the case's (action, expected) steps."""
    actions = [line.split(". ", 1)[-1] for line in numbered.splitlines()]
    return [
        {"action": action, "expected": expected if n == len(actions) else ""} for n, action in enumerate(actions, 1)
    ]


class Command(BaseCommand):
    help = "Create the demo admin, a demo project with cases, a run with failures, issues and a custom source."

    @transaction.atomic
    def handle(self, *args, **options):
        user = self._demo_admin()
        project, created = Project.objects.get_or_create(
            key="SHOP", defaults={"name": "Web shop", "description": "Demo project: the checkout of an online shop."}
        )
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ADMIN})
        Source.objects.get_or_create(
            name="Demo tracker",
            defaults={
                "provider": Provider.CUSTOM,
                "auth_type": AuthType.NONE,
                "base_url": "https://tracker.example.com",
                "issue_url_template": "{baseUrl}/issues/{key}",
                "create_url_template": "{baseUrl}/issues/new",
                "key_pattern": r"^DEMO-\d+$",
                "description": "A URL-pattern tracker: links open tracker.example.com.",
            },
        )
        if created:
            self._demo_content(project, user)
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready: project {project.key}, login {DEMO_USERNAME} / {DEMO_PASSWORD}")
        )

    def _demo_admin(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com", "is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _demo_content(self, project, user):
        cases = [
            TestCase.objects.create(
                project=project, folder=folder, title=title, steps=_pairs(steps, expected), created_by=user
            )
            for folder, title, steps, expected in CASES
        ]
        run = TestRun.objects.create(
            project=project, name="Release 2.4 regression", environment="staging, Chrome 131", created_by=user
        )
        outcomes = {
            2: (ResultStatus.FAILED, "Generic 'Something went wrong' instead of the expiry message."),
            4: (ResultStatus.FAILED, "The reset email never arrives (SMTP timeout in the logs)."),
            5: (ResultStatus.SKIPPED, "Search index rebuilding."),
        }
        results = []
        for index, case in enumerate(cases):
            status, comment = outcomes.get(index, (ResultStatus.PASSED, ""))
            results.append(
                TestResult.objects.create(
                    run=run,
                    case=case,
                    status=status,
                    comment=comment,
                    duration=timedelta(seconds=12 + index * 3),
                    recorded_by=user,
                )
            )
        ui = Tag.objects.create(project=project, name="ui", color="#2563eb")
        email = Tag.objects.create(project=project, name="email", color="#d97706")
        expiry = create_issue(
            project=project,
            reporter=user,
            name="Expired card shows a generic error",
            priority=IssuePriority.MAJOR,
            description="**Steps**\n\n1. Pay with an expired card\n\n**Expected**: a clear expiry message.",
            tags=[ui],
        )
        reset = create_issue(
            project=project,
            reporter=user,
            assignee=user,
            name="Password reset email not sent",
            priority=IssuePriority.CRITICAL,
            status=IssueStatus.IN_PROGRESS,
            description="SMTP times out after 30 s; see the run *Release 2.4 regression*.",
            tags=[email],
        )
        create_issue(
            project=project, reporter=user, name="Search results flicker while typing", priority=IssuePriority.MINOR
        )
        link(issue=expiry, artefact=results[2], actor=user)
        link(issue=reset, artefact=results[4], actor=user)
