"""Read queries on internal issues, shared by pages and the API; each scoped to one project."""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from issues.core.keys import internal_number_in
from issues.core.models import Attachment, Issue, IssueStatus, StatusCategory
from projects.models import Role

UNRESOLVED = "unresolved"


UNASSIGNED = "none"


INTERNAL = "internal"  # the issue list's source filter: internal issues only


# The status category of each internal status, so internal and tracker issues share badges and filters.
CATEGORY_OF_STATUS = {
    IssueStatus.OPEN: StatusCategory.TO_DO,
    IssueStatus.IN_PROGRESS: StatusCategory.IN_PROGRESS,
    IssueStatus.RESOLVED: StatusCategory.DONE,
    IssueStatus.CLOSED: StatusCategory.DONE,
}


def issues_of(project, *, status: str = "", priority: str = "", tag=None, assignee=None, text: str = ""):
    """The project's issues, newest first. `status` may be UNRESOLVED (open or in progress);
    `assignee` is a user id or UNASSIGNED; `text` matches name, description or a number
    ('12', '#12', 'SHOP#12', 'SHOP-12')."""
    issues = Issue.objects.filter(project=project).select_related("project", "assignee").prefetch_related("tags")
    if status == UNRESOLVED:
        issues = issues.filter(status__in=[IssueStatus.OPEN, IssueStatus.IN_PROGRESS])
    elif status:
        issues = issues.filter(status=status)
    if priority:
        issues = issues.filter(priority=priority)
    if tag is not None:
        issues = issues.filter(tags=tag)
    if assignee == UNASSIGNED:
        issues = issues.filter(assignee__isnull=True)
    elif assignee:
        issues = issues.filter(assignee_id=assignee)
    if text:
        matches = Q(name__icontains=text) | Q(description__icontains=text)
        number = internal_number_in(project.key, text)
        if number is not None:
            matches |= Q(number=number)
        issues = issues.filter(matches)
    return issues.order_by("-number")


def attachments_in(project, ids) -> QuerySet:
    """The attachments with these ids of the project's internal issues (others are left out)."""
    return Attachment.objects.filter(issue__project=project, pk__in=list(ids)).select_related("issue__project")


def issue_in(project, number: int) -> Issue:
    issues = Issue.objects.filter(project=project).select_related("project", "assignee", "reporter")
    return get_object_or_404(issues.prefetch_related("tags", "attachments"), number=number)


def members_of(project):
    """Users who may be assigned issues of the project."""
    return get_user_model().objects.filter(memberships__project=project, is_active=True).order_by("username")


def admins_of(project):
    """Who can complete the project's tracker settings: its project admins."""
    return (
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role=Role.ADMIN, is_active=True)
        .order_by("username")
    )
