"""Syncing a test case with a tracker: the first sync creates the remote issue (the integration's test
issue type, or its label where the tracker types tests by label), every later sync edits that same
issue (title, description with steps and expected result, priority, labels) instead of filing again;
"Refresh" reads its status and comments.

The tracker's answer decides what is written here: when it fails, nothing is stored or changed. The
fields come from the integration's test-case field mappings (``mapped.fields_for``).
"""

import hashlib
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import field_mapping_services
from integrations import field_mappings as fm
from integrations import selectors as integration_selectors
from integrations.models import ProjectIntegration
from integrations.providers.base import Capability, IssueDraft, NotConfigured, Unsupported
from issues.filing import drafts, mapped
from issues.filing.models import TestCaseSync
from issues.filing.services import MARKER_PREFIX, as_member, build_draft, file_issue, marked
from issues.links import services as link_services
from projects.models import TestCase

COMMENTS_KEPT = 50  # the latest comments a refresh keeps for the case page


@dataclass(frozen=True)
class CaseSynced:
    sync: TestCaseSync
    created: bool
    notes: tuple[str, ...] = ()


def marker_for(case: TestCase, integration: ProjectIntegration) -> str:
    """The marker of a case's issue in a tracker: the same for every attempt of the first sync, so a
    retry after a lost answer finds the issue instead of creating another; no text has it by chance."""
    digest = hashlib.sha256(f"case-sync:{case.pk}:{integration.pk}:{settings.SECRET_KEY}".encode()).hexdigest()
    return MARKER_PREFIX + digest[:24]


def case_draft(integration: ProjectIntegration, case: TestCase, actor, site_url: str) -> tuple[IssueDraft, list[str]]:
    """The issue a test case becomes: its title, a description with preconditions, steps and expected
    result, the test-case field mappings, and the test label where the test type is a label."""
    if not integration_selectors.creates_through_api(integration.source):
        raise Unsupported(f"{integration.source.name} does not take issues from testmanager's API.")
    found = field_mapping_services.discover(integration, actor, fm.TEST_CASE)
    if found.choice is None or found.choice.issue_type is None:
        raise NotConfigured(
            f"Choose the test issue type of {integration.source.name} on the project's Trackers page first."
        )
    values = mapped.fields_for(integration, fm.TEST_CASE, case, found.fields, actor)
    text = drafts.draft_of_test_case(case, site_url)
    draft = build_draft(
        integration,
        issue_type=found.choice.issue_type.id,
        title=text["name"],
        description=text["description"],
        values=values.values,
        kinds={field.id: field.kind for field in found.fields},
        reporter=actor,
    )
    if found.choice.label:
        draft = replace(draft, labels=tuple(dict.fromkeys([*draft.labels, found.choice.label])))
    return draft, list(values.notes)


def sync_case(case: TestCase, integration: ProjectIntegration, *, actor, site_url: str) -> CaseSynced:
    """Create the case's issue in the tracker, or edit the one an earlier sync created. TrackerError as
    the tracker raised it, with nothing stored."""
    draft, notes = case_draft(integration, case, actor, site_url)
    existing = TestCaseSync.objects.filter(case=case, integration=integration).select_related("reference").first()
    if existing is None:
        return _create(case, integration, draft, notes, actor=actor, site_url=site_url)
    key, edited = existing.reference.key, replace(draft, description=marked(draft.description, existing.marker))
    as_member(integration, actor, lambda provider: provider.update_issue(key, edited))
    remote = _read(integration, actor, key)
    with transaction.atomic():
        if remote is not None:
            link_services.store_reference(integration.source, replace(remote, url=remote.url or existing.reference.url))
        existing.synced_at, existing.synced_by = timezone.now(), actor
        existing.save(update_fields=["synced_at", "synced_by"])
    existing.reference.refresh_from_db()
    return CaseSynced(sync=existing, created=False, notes=tuple(notes))


def _create(case, integration, draft, notes, *, actor, site_url) -> CaseSynced:
    marker = marker_for(case, integration)
    filed = file_issue(
        integration=integration, actor=actor, draft=draft, artefacts=[case], marker=marker, site_url=site_url
    )
    sync, _ = TestCaseSync.objects.update_or_create(
        case=case,
        integration=integration,
        defaults={"reference": filed.reference, "marker": marker, "synced_at": timezone.now(), "synced_by": actor},
    )
    return CaseSynced(sync=sync, created=True, notes=tuple(notes) + filed.notes)


def _read(integration: ProjectIntegration, actor, key: str):
    """The issue as the tracker shows it now; None where the source does not read details."""
    if not integration_selectors.can(integration.source, Capability.READ_DETAILS):
        return None
    return as_member(integration, actor, lambda provider: provider.fetch_many([key])).issues.get(key)


def refresh_case_sync(sync: TestCaseSync, *, actor) -> TestCaseSync:
    """Read the issue's status and comments from the tracker and keep them; TrackerError with nothing
    changed. A tracker that does not list comments keeps none."""
    integration, key = sync.integration, sync.reference.key
    remote = _read(integration, actor, key)
    try:
        comments = as_member(integration, actor, lambda provider: provider.comments(key))
    except Unsupported:
        comments = []
    kept = [
        {
            "author": comment.author,
            "body": comment.body,
            "created_at": comment.created_at.isoformat() if comment.created_at else "",
        }
        for comment in comments
        if not comment.deleted
    ][-COMMENTS_KEPT:]
    with transaction.atomic():
        if remote is not None:
            link_services.store_reference(integration.source, replace(remote, url=remote.url or sync.reference.url))
        sync.comments, sync.refreshed_at = kept, timezone.now()
        sync.save(update_fields=["comments", "refreshed_at"])
    sync.reference.refresh_from_db()
    return sync
