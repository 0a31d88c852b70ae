"""Every model of the issues app, for Django (which loads ``issues.models``) and for callers that
want a model without knowing its domain. The models live in their domain's package; this module
only re-exports them. Tables, app label and migrations are the app's, whatever the package."""

from issues.core.models import (
    RESOLVED_STATUSES,
    ArtefactAttachment,
    Attachment,
    CommentOrigin,
    Issue,
    IssueComment,
    IssuePriority,
    IssueStatus,
    StatusCategory,
    Tag,
    attachment_path,
)
from issues.filing.models import FilingJob, FilingJobItem, FilingMode, FilingState, TestCaseSync
from issues.links.models import ExternalReference, Link, ReferenceAlias
from issues.pulls.models import BugPullSettings, Coverage, Plan, PlanKind, PulledBug, PulledRequirement, PullSettings
from issues.quality.models import FollowUp, KnownFailure, KnownFailureRule, RecurrencePolicy
from issues.sync.models import DefectSync, WebhookDelivery

__all__ = [
    "RESOLVED_STATUSES",
    "ArtefactAttachment",
    "Attachment",
    "BugPullSettings",
    "CommentOrigin",
    "Coverage",
    "DefectSync",
    "ExternalReference",
    "FilingJob",
    "FilingJobItem",
    "FilingMode",
    "FilingState",
    "FollowUp",
    "Issue",
    "IssueComment",
    "IssuePriority",
    "IssueStatus",
    "KnownFailure",
    "KnownFailureRule",
    "Link",
    "Plan",
    "PlanKind",
    "PulledBug",
    "PulledRequirement",
    "PullSettings",
    "RecurrencePolicy",
    "ReferenceAlias",
    "StatusCategory",
    "Tag",
    "TestCaseSync",
    "WebhookDelivery",
    "attachment_path",  # migration 0001 names it here
]
