"""Field mappings as a project admin edits them: discovering the fields of each purpose's issue type from
the tracker, the document the page, admin and API show, and saving a new one (all or nothing).

The rule of what a mapping means is ``field_mappings``; this module talks to the tracker and the
database around it.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from . import field_mappings as fm
from . import mappings
from .errors import TrackerError
from .models import AuditAction, ProjectIntegration
from .providers import provider_class
from .providers.base import NotConfigured, RemoteIssueType
from .services import record_audit, with_member_token

ISSUE_TYPE_SETTINGS = {fm.DEFECT: "default_issue_type", fm.TEST_CASE: "test_issue_type"}


@dataclass(frozen=True)
class IssueTypeChoice:
    """What an issue of a purpose is created as: the tracker's issue type, and a label to add where the
    purpose's type is a label (GitHub, GitLab, Linear)."""

    issue_type: RemoteIssueType | None
    label: str = ""


@dataclass(frozen=True)
class PurposeFields:
    """A purpose's issue type and its fields as the tracker reports them; ``error`` when discovery
    failed (the tracker is down, the type is not offered)."""

    purpose: str
    issue_type: str  # as set on the integration
    choice: IssueTypeChoice | None
    fields: list = field(default_factory=list)
    error: str = ""


def choose_issue_type(integration: ProjectIntegration, purpose: str, offered) -> IssueTypeChoice:
    """The offered type the purpose's setting names (a test case falls back to the defect's type with
    the setting as a label, where the tracker types tests by label); the only type when one is
    offered. ``NotConfigured`` when the setting names a type the tracker does not offer."""
    setting = getattr(integration, ISSUE_TYPE_SETTINGS[purpose]).strip()
    only = offered[0] if len(offered) == 1 else None
    found = mappings.find_type(offered, setting)
    if found is not None or (not setting and purpose == fm.DEFECT):
        return IssueTypeChoice(found or only)
    if purpose == fm.TEST_CASE:
        defect_type = mappings.find_type(offered, integration.default_issue_type) or only
        if not setting:
            return IssueTypeChoice(defect_type)
        if provider_class(integration.source.provider).test_type_as_label:
            # The tracker's first type (a GitLab "Issue") when no defect type is set either.
            return IssueTypeChoice(defect_type or (offered[0] if offered else None), label=setting)
    names = ", ".join(t.name for t in offered) or "none"
    raise NotConfigured(
        f"{integration.source.name} offers no issue type “{setting}” in "
        f"{integration.external_project or 'this project'} (it offers {names}): a project admin must choose one."
    )


def discover(integration: ProjectIntegration, user, purpose: str) -> PurposeFields:
    """The fields the tracker reports for the purpose's issue type; TrackerError as raised."""
    source = integration.source
    project = integration.external_project
    offered = with_member_token(user, source, lambda provider: provider.issue_types(project))
    choice = choose_issue_type(integration, purpose, offered)
    fields = []
    if choice.issue_type is not None:
        type_id = choice.issue_type.id
        fields = with_member_token(user, source, lambda provider: provider.fields(project, type_id))
    setting = getattr(integration, ISSUE_TYPE_SETTINGS[purpose])
    return PurposeFields(purpose=purpose, issue_type=setting, choice=choice, fields=fields)


def discover_or_saved(integration: ProjectIntegration, user, purpose: str) -> PurposeFields:
    """``discover``, or when the tracker cannot be asked, the fields the saved mappings name (with
    nothing known of them) and why discovery failed."""
    try:
        return discover(integration, user, purpose)
    except TrackerError as error:
        saved = fm.stored(integration.field_mappings)[purpose]["fields"]
        fields = [fm.Field(id=key, name=key, required=False, kind="unsupported") for key in saved]
        setting = getattr(integration, ISSUE_TYPE_SETTINGS[purpose])
        return PurposeFields(purpose=purpose, issue_type=setting, choice=None, fields=fields, error=str(error))


def document(integration: ProjectIntegration, user) -> dict:
    """The field mappings as the API shows them: per purpose the issue type and each field with its
    mapping, the required ones left unset, whether discovery worked; the status, priority and
    severity tables."""
    body = {}
    for purpose in fm.PURPOSES:
        found = discover_or_saved(integration, user, purpose)
        body[purpose] = {
            "issue_type": found.issue_type,
            "discovery": {"ok": not found.error, "message": found.error},
            "fields": [
                {
                    "id": remote.id,
                    "name": remote.name,
                    "required": remote.required,
                    "kind": remote.kind,
                    "allowed_values": list(remote.allowed_values),
                    "mapping": fm.mapping_of(integration.field_mappings, purpose, remote),
                }
                for remote in found.fields
            ],
            "unmapped_required": fm.unmapped_required(integration.field_mappings, purpose, found.fields),
        }
    body["status"] = integration.status_mapping
    body["priority"] = integration.priority_mapping
    body["severity"] = fm.stored(integration.field_mappings)["severity"]
    body["placeholders"] = fm.PLACEHOLDERS
    return body


def _issue_type_setting(purpose: str, part: dict) -> str:
    value = part.get("issue_type", "")
    if not isinstance(value, str) or len(value.strip()) > 100:
        raise ValidationError({f"{purpose}.issue_type": "The issue type is a name of at most 100 characters."})
    return value.strip()


@transaction.atomic
def save(integration: ProjectIntegration, new: dict, *, actor) -> ProjectIntegration:
    """Check the whole document against the tracker's fields, then store it; ``ValidationError`` naming
    the first field at fault, nothing saved. The tracker's fields are those of the issue types the
    document names; TrackerError when it cannot be asked (nothing saved either)."""
    if not isinstance(new, dict):
        raise ValidationError("Send the field mappings document.")
    changes = {}
    for purpose in fm.PURPOSES:
        part = new.get(purpose, {})
        if not isinstance(part, dict):
            raise ValidationError({purpose: "Give the issue type and the fields."})
        if "issue_type" in part:
            changes[ISSUE_TYPE_SETTINGS[purpose]] = _issue_type_setting(purpose, part)
    if "status" in new:
        changes["status_mapping"] = _table(mappings.validate_status_mapping, new["status"], "status")
    if "priority" in new:
        changes["priority_mapping"] = _table(mappings.validate_priority_mapping, new["priority"], "priority")
    before = {name: getattr(integration, name) for name in changes}
    for name, value in changes.items():
        setattr(integration, name, value)
    saved = fm.stored(integration.field_mappings)
    stored_document = {"severity": saved["severity"]}
    try:
        for purpose in fm.PURPOSES:
            part = new.get(purpose, {})
            if "fields" in part:
                fields = discover(integration, actor, purpose).fields
                stored_document[purpose] = {"fields": fm.validate_fields(purpose, part["fields"], fields)}
            else:
                stored_document[purpose] = saved[purpose]
        if "severity" in new:
            stored_document["severity"] = fm.validate_severity(new["severity"])
    except (ValidationError, TrackerError):
        for name, value in before.items():
            setattr(integration, name, value)
        raise
    integration.field_mappings = stored_document
    integration.save()
    record_audit(
        AuditAction.PROJECT_INTEGRATION_CHANGED,
        actor=actor,
        source=integration.source,
        project=integration.project,
        target=str(integration),
        details={"fields": ["field_mappings", *changes]},
    )
    return integration


def _table(validate, value, name: str):
    try:
        return validate(value)
    except ValidationError as error:
        raise ValidationError({name: error.messages}) from None
