"""The one place the integration's field mappings become tracker field values: ``fields_for`` is read
by the filing form (one failure, a run's failures), bulk filing jobs, pushing an internal issue and
syncing a test case. What a placeholder stands for is the artefact's (``facts_of``); user fields
mapped to a testmanager user take the tracker account matched to them (``match_user``).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser

from integrations import field_mappings as fm
from integrations import services as integration_services
from integrations.errors import TrackerError
from integrations.mappings import name_key, same_name
from integrations.models import ProjectIntegration
from integrations.providers import provider_class
from integrations.providers.base import RemoteUser
from issues.core.models import Issue
from projects.models import TestCase, TestResult, TestRun

_USER_KINDS = ("user", "multi_user")
WHO_IS = {"issue.assignee": "the issue's assignee", "issue.reporter": "the issue's reporter"}


def _case_facts(case: TestCase) -> dict:
    facts = {
        "case.title": case.title,
        "case.description": case.description,
        "case.steps": case.steps_markdown(),
        # Each step's expected result: the pairs' right-hand sides, one per line.
        "case.expected_result": "\n".join(step["expected"] for step in case.steps if step.get("expected")),
        "case.preconditions": case.preconditions,
        "case.priority": case.get_priority_display(),
        "case.type": case.case_type.name if case.case_type else "",
        "case.folder": case.folder,
    }
    for name, value in case.custom_fields.items():
        facts[f"custom.{name}"] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    return facts


def _run_facts(run: TestRun) -> dict:
    return {"run.name": run.name, "run.environment": run.environment}


def facts_of(artefact) -> dict[str, str]:
    """What each placeholder stands for, for an issue about ``artefact`` (a result, run, case or
    internal issue); placeholders the artefact has nothing for are absent (filled as "")."""
    if isinstance(artefact, TestResult):
        return {
            **_case_facts(artefact.case),
            **_run_facts(artefact.run),
            "result.comment": artefact.comment,
            "result.status": artefact.get_status_display(),
        }
    if isinstance(artefact, TestRun):
        return _run_facts(artefact)
    if isinstance(artefact, TestCase):
        return _case_facts(artefact)
    if isinstance(artefact, Issue):
        return {
            "issue.title": artefact.name,
            "issue.description": artefact.description,
            "issue.priority": artefact.get_priority_display(),
            "issue.tags": ", ".join(tag.name for tag in artefact.tags.all()),
        }
    return {}


def _users_of(artefact) -> dict:
    if isinstance(artefact, Issue):
        return {"issue.assignee": artefact.assignee, "issue.reporter": artefact.reporter}
    return {}


@dataclass(frozen=True)
class Mapped:
    """Values by tracker field id, notes for the member (a user matched by fallback), and what the remote
    issue itself is told in a comment (a user field that names the credentials' account instead)."""

    values: dict
    notes: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """A tracker account for a testmanager user, and how it was found: ``by_owner`` when no account of
    theirs matched and the field names the credentials' account; ``note`` says what happened."""

    account: RemoteUser | None
    note: str = ""
    by_owner: bool = False


def match_user(integration: ProjectIntegration, actor, person) -> Match:
    """The tracker account of a testmanager user: the one whose e-mail address, else display name, else
    user name (a GitHub login) the tracker's user search finds; else the credential's owner (the account
    filing, ``owner_account``), with a note saying so. No account when the tracker can do neither."""
    project, source = integration.external_project, integration.source
    who = person.get_full_name() or person.get_username()

    def ask(operation):
        return integration_services.with_member_token(actor or AnonymousUser(), source, operation)

    for term in dict.fromkeys((person.email, person.get_full_name(), person.get_username())):
        if not term.strip():
            continue
        try:
            found = ask(lambda provider, term=term: provider.users(project, term))
        except TrackerError as error:
            return Match(None, f"{who} was not matched to a {source.name} account: {error}")
        exact = [user for user in found if same_name(user.name, term) or same_name(user.id, term)]
        if len(found) == 1 or len(exact) == 1:
            return Match((exact or found)[0])
    unmatched = f"{who} has no {source.name} account testmanager could match by e-mail address or name"
    try:
        owner = ask(lambda provider: provider.owner_account())
    except TrackerError as error:
        return Match(None, f"{unmatched}: the field was left to the account filing the issue ({error}).")
    return Match(owner, f"{unmatched}: the field names the account filing the issue, {owner.name}, instead.", True)


def _severity_choice(field, names: Sequence[str]) -> str:
    """The first of ``names`` the field takes, as it spells it ("2 - High" is taken for "High" too);
    the first name when the field lists no values; "" when it takes none of them."""
    if not field.allowed_values:
        return names[0] if names else ""
    allowed = {}
    for value in field.allowed_values:
        allowed.setdefault(name_key(value), value)
        allowed.setdefault(name_key(value.split(" - ", 1)[-1]), value)  # Azure DevOps's "2 - High"
    return next((allowed[name_key(name)] for name in names if name_key(name) in allowed), "")


def severity_values(integration: ProjectIntegration, fields: Sequence, priority: str, values: dict) -> list[str]:
    """Add the severity a defect of ``priority`` has, through the integration's severity table, to the
    form ``values`` (by tracker field id): into the tracker's severity field (Azure DevOps, a Jira project's
    "Severity" custom field) unless a field mapping set it, else as a ``severity:<name>`` label on trackers
    without one (GitHub, GitLab, Linear). Returns notes on what the tracker could not take."""
    provider = provider_class(integration.source.provider)
    names = fm.tracker_severities(integration.field_mappings, priority)
    field = next((field for field in fields if provider.is_severity_field(field)), None)
    if field is not None:
        if values.get(field.id) in (None, "", []):
            chosen = _severity_choice(field, names)
            if chosen:
                values[field.id] = chosen
            else:
                offered, wanted = ", ".join(field.allowed_values), ", ".join(names)
                return [f"{field.name}: none of {wanted} is one of its values ({offered}); its default applies."]
        return []
    labels = next((f for f in fields if provider.draft_field_ids.get(f.id) == "labels"), None)
    if not provider.severity_as_label or labels is None or not names:
        return []
    label = f"severity:{provider.label_for(names[0]).casefold()}"
    if not provider.creates_missing_labels:  # only a label the tracker has
        offered = {name_key(value): value for value in labels.allowed_values}
        if name_key(label) not in offered:
            return [f"{integration.source.name} has no label {label}: create it there to carry the severity."]
        label = offered[name_key(label)]
    current = values.get(labels.id) or []
    current = [part.strip() for part in current.split(",")] if isinstance(current, str) else list(current)
    values[labels.id] = [*[name for name in current if name and not name.casefold().startswith("severity:")], label]
    return []


def fields_for(integration: ProjectIntegration, purpose: str, artefact, fields: Sequence, actor=None) -> Mapped:
    """The values the mappings of ``purpose`` give an issue about ``artefact``, by tracker field id,
    for the ``fields`` the tracker reports (``RemoteField``); user fields mapped to a testmanager user
    are matched to a tracker account (a note when no account matches)."""
    document = integration.field_mappings
    values = fm.resolve(document, purpose, [f for f in fields if f.kind not in _USER_KINDS], facts_of(artefact))
    notes, remarks = [], []
    people = _users_of(artefact)
    for field in fields:
        if field.kind in _USER_KINDS:
            placeholder = fm.user_placeholder(document, purpose, field)
            if not placeholder:
                values.update(fm.resolve(document, purpose, [field], {}))
                continue
            person = people.get(placeholder)
            if person is None:
                continue
            match = match_user(integration, actor, person)
            if match.account is not None:
                values[field.id] = [match.account.id] if field.kind == "multi_user" else match.account.id
            if match.note:
                notes.append(f"{field.name}: {match.note}")
            if match.by_owner:
                remarks.append(
                    f"{field.name}: testmanager found no {integration.source.name} account of {WHO_IS[placeholder]} "
                    f"{person.get_full_name() or person.get_username()} (by e-mail address or name), so the field "
                    f"names the account that filed the issue, {match.account.name}, instead."
                )
    return Mapped(values=values, notes=tuple(notes), remarks=tuple(remarks))
