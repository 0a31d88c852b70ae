"""Writes on internal issues, references and links. Every write with side effects lives here."""

from django.db import transaction
from django.db.models import F

from projects.models import Project

from .models import Issue, IssuePriority, IssueStatus


@transaction.atomic
def create_issue(*, project: Project, name: str, reporter=None, description: str = "",
                 status: str = IssueStatus.OPEN, priority: str = IssuePriority.MAJOR, assignee=None,
                 tags=()) -> Issue:
    """Create an issue with the project's next number.

    The UPDATE takes a row lock on the project until the transaction commits, so
    concurrent creators on PostgreSQL queue up instead of reading the same number.
    """
    Project.objects.filter(pk=project.pk).update(last_issue_number=F("last_issue_number") + 1)
    number = Project.objects.values_list("last_issue_number", flat=True).get(pk=project.pk)
    issue = Issue.objects.create(
        project=project, number=number, name=name, description=description, status=status,
        priority=priority, assignee=assignee, reporter=reporter,
    )
    if tags:
        issue.tags.set(tags)
    return issue
