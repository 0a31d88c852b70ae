"""Known-failure rules and the failures they recognized; recurring-failure policy and follow-ups."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from issues.core.models import Issue
from issues.links.models import ISSUE_SIDES, ExternalReference, Link, _exactly_one
from projects.models import Project, TestResult


class KnownFailureRule(models.Model):
    """Failures whose message or stack trace match ``pattern`` (RE2), of tests whose name matches
    ``test_pattern`` when given, are a known issue: recording one links it to that issue."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="known_failure_rules")
    pattern = models.CharField(max_length=500, help_text="RE2 regular expression searched in the failure message.")
    test_pattern = models.CharField(max_length=500, blank=True, help_text="RE2 regular expression on the test's name.")
    issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="known_failure_rules"
    )
    external_reference = models.ForeignKey(
        ExternalReference, null=True, blank=True, on_delete=models.CASCADE, related_name="known_failure_rules"
    )
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(condition=_exactly_one(ISSUE_SIDES), name="knownfailurerule_exactly_one_issue_side"),
            models.CheckConstraint(condition=~Q(pattern=""), name="knownfailurerule_pattern_not_empty"),
        ]

    @property
    def issue_side(self):
        return self.issue or self.external_reference

    def __str__(self):
        return f"/{self.pattern}/ → {self.issue_side}"


class KnownFailure(models.Model):
    """A link a known-failure rule made from a failed result to its issue; removing the link
    removes the mark."""

    link = models.OneToOneField(Link, on_delete=models.CASCADE, related_name="known_failure")
    rule = models.ForeignKey(KnownFailureRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches")
    matched_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Known failure: {self.link}"


class RecurrencePolicy(models.Model):
    """Whether a project files a follow-up issue by itself when a test fails again after the issue
    linked to it was resolved (otherwise the follow-up is only offered)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="recurrence_policy")
    create_follow_ups = models.BooleanField(default=False)

    def __str__(self):
        return f"Recurrence policy of {self.project.key}"


class FollowUp(models.Model):
    """An issue filed because a test failed again after ``original_issue`` (internal) or
    ``original_reference`` (a tracker issue) had been resolved: the link from the new issue to the first."""

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="follow_up_of")
    original_issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    original_reference = models.ForeignKey(
        ExternalReference, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    result = models.ForeignKey(TestResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.issue.key} follows up {self.original_issue or self.original_reference}"
