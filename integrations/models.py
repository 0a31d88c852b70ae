"""Tracker configuration: sources, their assignment to projects, per-user tokens, the audit log.

Imports projects, never issues.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from projects.models import Project

from .fields import EncryptedJSONField, EncryptedSecretField
from .signin.models import SignInProvider  # noqa: F401  (every model of the app is importable from here)


class Provider(models.TextChoices):
    JIRA_CLOUD = "jira_cloud", "Jira Cloud"
    JIRA_SERVER = "jira_server", "Jira Server / Data Center"
    GITHUB = "github", "GitHub Issues"
    GITLAB = "gitlab", "GitLab Issues"
    AZURE_DEVOPS = "azure_devops", "Azure DevOps"
    LINEAR = "linear", "Linear"
    REDMINE = "redmine", "Redmine"
    CUSTOM = "custom", "Custom tracker"


class TextFormatting(models.TextChoices):
    """The markup a Redmine server renders descriptions and notes in: its own setting, which its API does not
    expose, so the source records it. Markdown covers Redmine's "Markdown" and "CommonMark Markdown"."""

    TEXTILE = "textile", "Textile"
    MARKDOWN = "markdown", "Markdown"


class AuthType(models.TextChoices):
    API_TOKEN = "api_token", "API token (email + token)"
    PAT = "pat", "Personal access token"
    OAUTH2 = "oauth2", "OAuth 2.0"
    BASIC = "basic", "Basic (username + password)"
    API_KEY = "api_key", "API key (header name + value)"
    NONE = "none", "None"


# The auth types each tracker really supports; also enforced by a database constraint.
AUTH_TYPES_BY_PROVIDER = {
    Provider.JIRA_CLOUD: [AuthType.API_TOKEN, AuthType.OAUTH2],
    Provider.JIRA_SERVER: [AuthType.PAT, AuthType.BASIC],
    Provider.GITHUB: [AuthType.PAT, AuthType.OAUTH2],
    Provider.GITLAB: [AuthType.PAT, AuthType.OAUTH2],
    # Basic: Azure DevOps Server takes a personal access token as the password.
    Provider.AZURE_DEVOPS: [AuthType.PAT, AuthType.OAUTH2, AuthType.BASIC],
    Provider.LINEAR: [AuthType.PAT, AuthType.OAUTH2],
    # PAT: the account's API access key, sent in X-Redmine-API-Key; Basic: login and password.
    Provider.REDMINE: [AuthType.PAT, AuthType.BASIC],
    # The credentials of a custom tracker are sent only when checking that its URLs answer.
    Provider.CUSTOM: [AuthType.NONE, AuthType.API_KEY, AuthType.BASIC],
}


def _auth_type_matches_provider():
    condition = Q()
    for provider, auth_types in AUTH_TYPES_BY_PROVIDER.items():
        condition |= Q(provider=provider, auth_type__in=auth_types)
    return condition


class Health(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ERROR = "error", "Error"


# Requests a minute a new source may send when its admin sets none: twice what one refresh run of 10,000
# references needs (a run spends half the budget; 100 issues a request, Azure DevOps 200 plus its states),
# within each tracker's documented limits (the README's "Request budgets" says which).
DEFAULT_REQUESTS_PER_MINUTE = {
    Provider.JIRA_CLOUD: 200,
    Provider.JIRA_SERVER: 200,
    Provider.GITHUB: 200,
    Provider.GITLAB: 200,
    Provider.AZURE_DEVOPS: 120,
    Provider.LINEAR: 200,
    # Redmine documents no rate limit; 100 issues a request plus one read of the statuses, as Azure DevOps.
    Provider.REDMINE: 210,
    Provider.CUSTOM: 120,
}


class Source(models.Model):
    """One configured tracker instance (a Jira site, a GitHub host, a custom URL pattern)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Used in the webhook URL.")
    provider = models.CharField(max_length=20, choices=Provider.choices)
    name = models.CharField("display name", max_length=50, unique=True)
    description = models.CharField(max_length=255, blank=True)
    base_url = models.URLField(max_length=500, help_text="No trailing slash; https unless http is allowed.")
    allow_http = models.BooleanField(default=False, help_text="Allow a plain-http base URL (internal servers only).")
    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.NONE)
    # Write-only: never rendered back, logged or returned by the API.
    credentials = EncryptedJSONField(default=dict, blank=True)
    webhook_secret = EncryptedSecretField(null=True, blank=True)
    issue_url_template = models.CharField(max_length=500, blank=True)
    create_url_template = models.CharField(max_length=500, blank=True)
    key_pattern = models.CharField(
        max_length=200, blank=True, help_text="RE2 regular expression; blank: provider default."
    )
    text_formatting = models.CharField(
        max_length=10,
        choices=TextFormatting.choices,
        default=TextFormatting.TEXTILE,
        help_text="Redmine only: the server's text formatting, as set in Redmine under Administration › Settings › "
        "General › Text formatting (“Markdown” and “CommonMark Markdown” are both Markdown). Descriptions and "
        "notes are written in it.",
    )
    enabled = models.BooleanField(default=True)
    connected = models.BooleanField(
        default=True, help_text="Disconnected sources make no requests: no sync, no health checks, until reconnected."
    )
    can_read_details = models.BooleanField("read issue details", default=True)
    can_create_issues = models.BooleanField("create issues", default=False)
    can_add_comments = models.BooleanField("add comments", default=False)
    can_process_webhooks = models.BooleanField("process webhooks", default=False)
    all_projects = models.BooleanField(default=True, help_text="Available to every project, including future ones.")
    projects = models.ManyToManyField(Project, blank=True, related_name="scoped_sources")
    refresh_interval_minutes = models.PositiveIntegerField(default=15)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=None,
        help_text="Most requests a minute sent to this tracker, shared by every worker. "
        "Blank: the tracker's documented default.",
    )
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.INACTIVE)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    health_error = models.CharField(max_length=500, blank=True, help_text="Last error, with secrets redacted.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(provider__in=Provider.values), name="source_provider_valid"),
            models.CheckConstraint(condition=_auth_type_matches_provider(), name="source_auth_type_valid_for_provider"),
            models.CheckConstraint(condition=~Q(name=""), name="source_name_not_empty"),
            models.CheckConstraint(
                condition=Q(text_formatting=TextFormatting.TEXTILE)
                | Q(provider=Provider.REDMINE, text_formatting__in=TextFormatting.values),
                name="source_text_formatting_redmine_only",
            ),
            models.CheckConstraint(condition=Q(health__in=Health.values), name="source_health_valid"),
            models.CheckConstraint(
                condition=Q(refresh_interval_minutes__gte=1), name="source_refresh_interval_positive"
            ),
            models.CheckConstraint(condition=Q(rate_limit_per_minute__gte=1), name="source_rate_limit_positive"),
            models.CheckConstraint(
                condition=Q(base_url__startswith="https://") | Q(allow_http=True, base_url__startswith="http://"),
                name="source_base_url_https_unless_allowed",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_provider_display()})"

    @property
    def requests_per_minute(self) -> int:
        """The source's request budget: the one set, or (not saved yet, left blank) its tracker's default."""
        return self.rate_limit_per_minute or DEFAULT_REQUESTS_PER_MINUTE.get(self.provider, 120)

    def save(self, *args, **kwargs):
        self.rate_limit_per_minute = self.requests_per_minute
        super().save(*args, **kwargs)

    @property
    def syncs(self) -> bool:
        """Whether background work (refresh, webhooks, health checks) may talk to the tracker."""
        return self.enabled and self.connected

    def clean(self):
        allowed = AUTH_TYPES_BY_PROVIDER.get(self.provider, [])
        if self.provider and self.auth_type not in allowed:
            raise ValidationError(
                {
                    "auth_type": f"{self.get_provider_display()} supports: "
                    + ", ".join(AuthType(a).label for a in allowed)
                    + "."
                }
            )


class IntegrationState(models.TextChoices):
    ACTIVE = "active", "Active"
    DISCONNECTED = "disconnected", "Disconnected"
    ARCHIVED = "archived", "Archived"


class ProjectIntegration(models.Model):
    """A source assigned to a project, with where to file and how to map values."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="integrations")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="project_integrations")
    external_project = models.CharField(
        max_length=300,
        blank=True,
        help_text="Jira project key, owner/repo, GitLab project path, Azure DevOps org/project, Linear team key.",
    )
    default_issue_type = models.CharField(max_length=100, blank=True)
    test_issue_type = models.CharField(
        max_length=100,
        blank=True,
        help_text="What a synced test case becomes: an issue type the tracker offers (Jira “Test” or “Task”, "
        "Azure DevOps “Test Case”), or a label on trackers without types (GitHub, GitLab, Linear).",
    )
    board = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=255, blank=True)
    field_mappings = models.JSONField(default=dict, blank=True)
    priority_mapping = models.JSONField(default=dict, blank=True)
    status_mapping = models.JSONField(default=dict, blank=True)
    is_primary = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=IntegrationState.choices, default=IntegrationState.ACTIVE)
    pull_requirements = models.BooleanField(default=False)
    requirements_filter = models.TextField(blank=True, help_text="JQL, WIQL or label/milestone query.")
    pull_bugs = models.BooleanField(default=False)
    bugs_filter = models.TextField(blank=True)
    comment_linked_tests = models.BooleanField(default=False)
    update_test_status_on_resolve = models.BooleanField(default=False)
    # Two-way defect sync of the tracker issues linked in the project (issues.sync).
    sync_defects = models.BooleanField(
        default=False,
        help_text="Tracker issues linked in the project get an internal defect whose status and "
        "priority follow the tracker through the mappings.",
    )
    push_defect_changes = models.BooleanField(
        default=False,
        help_text="Status and priority changes of those defects are sent to the tracker.",
    )
    sync_comments = models.BooleanField(
        default=False,
        help_text="Comments on those defects and on the tracker issues flow both ways.",
    )
    sync_labels = models.BooleanField(
        default=False,
        help_text="The tracker issue's labels (Azure DevOps tags) and those defects' tags follow each other "
        "both ways: a label added or removed on either side is added or removed on the other.",
    )
    # What the last check of the external project, issue types and board against the tracker found
    # (services.verify_target): checked when saved, and again when a project admin asks.
    verification_checked_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the tracker last confirmed the external project, issue types and board."
    )
    verification_error = models.CharField(
        max_length=500, blank=True, help_text="Why the last check could not confirm them (redacted); blank: it did."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project__key", "-is_primary", "source__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_primary=True), name="projectintegration_one_primary_per_project"
            ),
            models.UniqueConstraint(
                fields=["project", "source", "external_project"], name="projectintegration_unique_target"
            ),
            models.CheckConstraint(
                condition=Q(state__in=IntegrationState.values), name="projectintegration_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(is_primary=False) | Q(state=IntegrationState.ACTIVE),
                name="projectintegration_primary_is_active",
            ),
        ]

    @property
    def unverified(self) -> bool:
        """Saved while the tracker could not confirm its choices (down, refusing): shown as "not verified"."""
        return bool(self.verification_error)

    @property
    def verification_state(self) -> str:
        """ "verified", "not_verified", or "not_checked" (saved before checks existed, or nothing to check)."""
        if self.verification_error:
            return "not_verified"
        return "verified" if self.verified_at else "not_checked"

    def __str__(self):
        target = f" → {self.external_project}" if self.external_project else ""
        return f"{self.project.key}: {self.source.name}{target}"


class TokenKind(models.TextChoices):
    OAUTH2 = "oauth2", "OAuth 2.0"
    PAT = "pat", "Personal access token"


class UserToken(models.Model):
    """A member's own credential for a source. Encrypted; never shown."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracker_tokens")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="user_tokens")
    kind = models.CharField(max_length=10, choices=TokenKind.choices)
    access_token = EncryptedSecretField()
    refresh_token = EncryptedSecretField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True)
    remote_account = models.CharField(max_length=200, blank=True, help_text="Who the tracker says this token is.")
    resource_id = models.CharField(
        max_length=100, blank=True, help_text="The tracker's id of the site the token reaches (Jira Cloud's cloudId)."
    )
    resource_url = models.URLField(max_length=500, blank=True, help_text="The address of that site.")
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "source"], name="usertoken_one_per_user_and_source"),
            models.CheckConstraint(condition=Q(kind__in=TokenKind.values), name="usertoken_kind_valid"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.source.name} ({self.get_kind_display()})"


# The kinds of member token each auth type of a source uses; a member token of another kind no longer
# reaches the tracker once the source switches to that auth type.
MEMBER_TOKEN_KINDS_BY_AUTH_TYPE = {
    AuthType.OAUTH2: {TokenKind.OAUTH2},
    AuthType.PAT: {TokenKind.PAT},
    AuthType.BASIC: {TokenKind.PAT},
}
# The auth types of a source on whose shared credential a member may use their own personal access token
# instead (where the tracker takes them: ``TrackerProvider.member_pats``).
MEMBER_PAT_AUTH_TYPES = frozenset(
    auth for auth, kinds in MEMBER_TOKEN_KINDS_BY_AUTH_TYPE.items() if TokenKind.PAT in kinds
)


class ReauthorizationNotice(models.Model):
    """Tells a member, on every page until they authorize again or dismiss it, that a source changed
    how it authenticates (``services.switch_authentication``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reauthorization_notices")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="reauthorization_notices")
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "source"], name="reauthorizationnotice_one_per_user_and_source"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.source.name}: {self.message}"


class AuditAction(models.TextChoices):
    SOURCE_CREATED = "source_created", "Source created"
    SOURCE_CHANGED = "source_changed", "Source changed"
    SOURCE_DELETED = "source_deleted", "Source deleted"
    SOURCE_ENABLED = "source_enabled", "Source enabled"
    SOURCE_DISABLED = "source_disabled", "Source disabled"
    SOURCE_DISCONNECTED = "source_disconnected", "Source disconnected"
    SOURCE_RECONNECTED = "source_reconnected", "Source reconnected"
    HEALTH_CHANGED = "health_changed", "Health changed"
    CREDENTIALS_CHANGED = "credentials_changed", "Credentials changed"
    CONNECTION_TESTED = "connection_tested", "Connection tested"
    PROJECT_ASSIGNED = "project_assigned", "Assigned to project"
    PROJECT_INTEGRATION_CHANGED = "project_integration_changed", "Project integration changed"
    PROJECT_INTEGRATION_ARCHIVED = "project_integration_archived", "Project integration archived"
    PROJECT_INTEGRATION_UNARCHIVED = "project_integration_unarchived", "Project integration unarchived"
    PROJECT_INTEGRATION_DISCONNECTED = "project_integration_disconnected", "Project integration disconnected"
    PROJECT_INTEGRATION_RECONNECTED = "project_integration_reconnected", "Project integration reconnected"
    PROJECT_INTEGRATION_REMOVED = "project_integration_removed", "Project integration removed"
    ISSUE_CREATED = "issue_created", "Issue created"
    ISSUE_LINKED = "issue_linked", "Issue linked"
    ISSUE_UNLINKED = "issue_unlinked", "Issue unlinked"
    TOKEN_AUTHORIZED = "token_authorized", "Token authorized"
    TOKEN_REVOKED = "token_revoked", "Token revoked"
    TOKEN_REFRESHED = "token_refreshed", "Token refreshed"
    TOKEN_REFRESH_FAILED = "token_refresh_failed", "Token refresh failed"
    WEBHOOK_ACCEPTED = "webhook_accepted", "Webhook accepted"
    WEBHOOK_REGISTERED = "webhook_registered", "Webhook registered"
    WEBHOOK_REJECTED = "webhook_rejected", "Webhook rejected"
    LINKS_MOVED = "links_moved", "Links moved to another source"
    AUTH_SWITCHED = "auth_switched", "Authentication switched"


class AppendOnlyError(Exception):
    """Audit rows are evidence: they are written once and never changed or removed."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """Append-only record of an integration action. Never holds a secret.

    References are soft (no database foreign key, names snapshotted) so that deleting a
    user, project or source neither removes nor rewrites its history.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    source_name = models.CharField(max_length=50, blank=True)
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    project_key = models.CharField(max_length=10, blank=True)
    target = models.CharField(max_length=300, blank=True, help_text="What the action was about, e.g. an issue key.")
    success = models.BooleanField(default=True)
    message = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="auditevent_action_valid")
        ]

    def __str__(self):
        who = self.actor_name or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who}: {self.get_action_display()} {self.target}".rstrip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
