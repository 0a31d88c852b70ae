"""A defect's tags and its tracker issue's labels, kept in step both ways (``ProjectIntegration.sync_labels``).

Both sides change independently, so each merge is three-way against the labels both sides last agreed
on (``DefectSync.synced_labels``): a label added on either side is added on the other, a label removed
on either side is removed on the other, and what neither side touched stays. Nothing is lost to a
stale copy and nothing ping-pongs: once both sides hold the merge, the next merge changes nothing.

Labels are compared as the tracker spells a tag (``label_for``: Jira's ``ui-bug`` is the tag "ui bug"),
case aside. A tracker label that cannot be a tag (longer than a tag name) is left alone on the tracker.
A tag the tracker refuses as a label (Linear creates none) stays here (``unsent_labels``) and is not
offered again until the defect's tags are edited.
"""

from functools import partial

from django.db import transaction

from integrations.errors import TrackerError, UnknownLabels
from integrations.providers import provider_class
from integrations.providers.base import TrackerProvider, Unsupported
from integrations.services import source_excerpt
from issues.core import history
from issues.core.models import IssueEvent, Tag
from issues.core.services import tags_by_name
from issues.links.models import ExternalReference
from issues.sync.models import DefectSync

TAG_NAME_MAX = 50


def _key(label: str) -> str:
    return " ".join(label.split()).casefold()


def three_way(base: list[str] | None, remote: list[str], local: list[str]) -> list[str]:
    """The labels both sides should hold: each kept by both or added by either since ``base``, minus those
    either removed since. Without a base (the first merge) nothing counts as removed: the union. The
    tracker's spelling and order first, then the labels added here."""
    remote_keys, local_keys = {_key(x) for x in remote}, {_key(x) for x in local}
    base_keys = remote_keys & local_keys if base is None else {_key(x) for x in base}
    merged, seen = [], set()
    for label in [*remote, *local]:
        key = _key(label)
        if key in seen:
            continue
        seen.add(key)
        if (key in remote_keys and key in local_keys) or key not in base_keys:
            merged.append(label)
    return merged


def _fits(label: str) -> bool:
    return 0 < len(" ".join(label.split())) <= TAG_NAME_MAX


def _tags_as_labels(sync: DefectSync) -> dict[str, Tag]:
    """The defect's tags by the key of the label each is on the tracker, those the tracker refused aside."""
    provider = provider_class(sync.integration.source.provider)
    refused = {_key(name) for name in sync.unsent_labels or []}
    tags = {_key(provider.label_for(tag.name)): tag for tag in sync.issue.tags.all()}
    return {key: tag for key, tag in tags.items() if key not in refused}


def follow_labels(sync: DefectSync) -> bool:
    """Merge the tracker issue's labels and the defect's tags: the defect takes the merge now; returns
    whether the tracker still has to (``labels_pending``, sent by ``push_labels``). Nothing happens while
    the tracker's labels are unknown (never read) or the integration does not sync labels."""
    reference = sync.reference
    if sync.integration is None or not sync.integration.sync_labels or reference.labels is None:
        return False
    provider = provider_class(sync.integration.source.provider)
    remote = [label for label in reference.labels if _fits(label)]
    tags = _tags_as_labels(sync)
    local = [provider.label_for(tag.name) for tag in tags.values()]
    merged = three_way(sync.synced_labels, remote, local)
    merged_keys = {_key(label) for label in merged}
    added = [label for label in merged if _key(label) not in tags]
    removed = [tag for key, tag in tags.items() if key not in merged_keys]
    if added or removed:
        issue = sync.issue
        issue.tags.add(*tags_by_name(issue.project, added))
        issue.tags.remove(*removed)
        changes = [*(f"+{label}" for label in added), *(f"-{tag.name}" for tag in removed)]
        where = f"{reference.key} in {reference.source_name}"
        history.record(issue, IssueEvent.SYNCED, detail=f"Tags from {where}: {' '.join(changes)}")
    pending = merged_keys != {_key(label) for label in remote}
    # While the tracker lacks the merge, what both sides agree on is the tracker's side: the defect
    # holds the merge, so the next merge sends the defect's additions and removals again.
    sync.synced_labels = list(remote) if pending else merged
    sync.labels_pending = pending
    sync.save(update_fields=["synced_labels", "labels_pending"])
    return pending


def push_labels(sync: DefectSync, provider: TrackerProvider) -> bool:
    """Send the merge to the tracker when it lacks it; returns whether anything was sent. A failure is kept
    on the sync (and retried by the source's next refresh); labels the tracker refuses stay tags here."""
    if not follow_labels(sync):
        return False
    reference = sync.reference
    # The defect holds the merge now: its tags, as the tracker spells those it has, and the tracker's
    # labels that cannot be tags, which stay.
    spelled = {_key(label): label for label in reference.labels or []}
    names = provider_class(sync.integration.source.provider).label_for
    wanted = [spelled.get(key, names(tag.name)) for key, tag in _tags_as_labels(sync).items()]
    target = [*wanted, *(label for label in reference.labels or [] if not _fits(label))]
    try:
        provider.set_labels(reference.key, target)
    except Unsupported:
        DefectSync.objects.filter(pk=sync.pk).update(labels_pending=False)
        return False
    except UnknownLabels as refused:
        sync.unsent_labels = list(dict.fromkeys([*(sync.unsent_labels or []), *refused.labels]))
        sync.last_error = source_excerpt(reference.source, f"{refused} They stay tags of {sync.issue.key}.", 500)
        sync.save(update_fields=["unsent_labels", "last_error"])
        if follow_labels(sync):  # the rest of the merge, without the refused labels
            return push_labels(sync, provider)
        return False
    except TrackerError as error:
        DefectSync.objects.filter(pk=sync.pk).update(last_error=source_excerpt(reference.source, str(error), 500))
        return False
    ExternalReference.objects.filter(pk=reference.pk).update(labels=target)
    reference.labels = target
    sync.synced_labels, sync.labels_pending = wanted, False
    sync.save(update_fields=["synced_labels", "labels_pending"])
    history.record(
        sync.issue, IssueEvent.PUSHED, detail=f"Tags sent to {reference.key} in {reference.source_name} as labels"
    )
    return True


def tags_edited_here(issue) -> None:
    """The defect's tags changed here: offer every tag to the tracker again, and send the merge."""
    if DefectSync.objects.filter(issue=issue, integration__sync_labels=True).update(
        labels_pending=True, unsent_labels=[]
    ):
        from issues.sync.tasks import push_defect_changes  # tasks import this module's callers

        transaction.on_commit(partial(push_defect_changes.delay, issue.pk))
