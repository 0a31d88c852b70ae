"""How the sync hears of what happens elsewhere: every receiver it connects, and nothing else.

- an internal issue edited here (core.signals.issue_updated): a defect's changes go to its tracker;
- a link to a tracker issue created: the project's defect for it, when it is a defect there (linked to
  a test result, run or case; ``defects.is_defect``) and its integration keeps defects;
- "Refresh now" in the sources admin and on a project's Trackers page (integrations.signals.refresh_requested):
  their references are refreshed and the outcome told; references moved to another source
  (links.signals.references_moved) are queued for refreshing.
"""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_save

from integrations.models import Source
from integrations.signals import RefreshOutcome, refresh_requested
from issues.core.models import Issue
from issues.core.signals import issue_updated
from issues.links.models import ExternalReference, Link
from issues.links.signals import references_moved
from issues.sync.defects import defect_edited_here, mirror_defect
from issues.sync.refresh import refresh_and_report, refresh_now
from issues.sync.selectors import reads_details


def _issue_updated(sender, issue: Issue, changed: frozenset, **kwargs) -> None:
    defect_edited_here(issue, changed)


def _link_saved(sender, instance: Link, created: bool, **kwargs) -> None:
    if created and instance.external_reference_id is not None and instance.requirement_id is None:
        transaction.on_commit(
            partial(mirror_defect, instance.external_reference, instance.project, instance.created_by)
        )


def _refresh_requested(sender, source: Source, actor, project=None, **kwargs) -> RefreshOutcome:
    references = ExternalReference.objects.filter(source=source)
    if project is not None:
        references = references.filter(links__project=project).distinct()
    return refresh_and_report(references.only("pk", "source_id"))


def _references_moved(sender, target: Source, references, **kwargs) -> int:
    return refresh_now(references) if reads_details(target) else 0


def connect() -> None:
    """Connect the receivers (IssuesConfig.ready)."""
    issue_updated.connect(_issue_updated, sender=Issue, dispatch_uid="issues.sync.issue_updated")
    post_save.connect(_link_saved, sender=Link, dispatch_uid="issues.sync.link_saved")
    refresh_requested.connect(_refresh_requested, sender=Source, dispatch_uid="issues.sync.refresh_requested")
    references_moved.connect(_references_moved, sender=Source, dispatch_uid="issues.sync.references_moved")
