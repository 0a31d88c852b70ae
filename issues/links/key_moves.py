"""Issues that moved in their tracker and took a new key: a GitHub transfer to another repository, a
Jira or GitLab move to another project, a Linear team move.

The issue stays the same one, so its reference does too: ``follow_move`` gives the reference the new
key and keeps the old one as a ``ReferenceAlias``, so that links, searches, lookups and deliveries
naming either key find it (``references_by_key``). When the source already has a reference of the
new key (someone linked the issue under it), the two are one issue: the moved reference is merged
into that one, as a source move merges (issues.links.source_moves). Both the refresh (the tracker
answers a key with another) and the webhooks (a delivery says the issue moved, or names a new key
with the tracker's own id of a known issue: ``references_by_remote_id``) call this, and nothing else
renames a reference's key.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models.functions import Lower

from issues.links.models import ExternalReference, ReferenceAlias
from issues.links.source_moves import keep_best_values, merge_into


def is_move(key: str, answered_key: str) -> bool:
    """Whether the tracker answering ``key`` with ``answered_key`` means the issue moved: another key,
    not the same one spelled in another case (trackers' keys ignore case)."""
    return bool(answered_key.strip()) and answered_key.strip().lower() != key.strip().lower()


@transaction.atomic
def follow_move(reference: ExternalReference, new_key: str) -> ExternalReference:
    """The reference of an issue the tracker now calls ``new_key``: ``reference`` under the new key with
    its old key as an alias, or the source's reference of the new key when there is one, with
    ``reference`` merged into it (links, aliases, defects, pulls). Nothing changes unless it moved."""
    new_key = new_key.strip()[:200]
    if reference.source_id is None or not is_move(reference.key, new_key):
        return reference
    old_key = reference.key
    keeper = (
        ExternalReference.objects.select_for_update()
        .filter(source_id=reference.source_id, key__iexact=new_key)
        .exclude(pk=reference.pk)
        .first()
    )
    if keeper is None:
        # An issue that moves back takes a key it had before: that is no alias any more.
        ReferenceAlias.objects.filter(source_id=reference.source_id, key__iexact=new_key).delete()
        ExternalReference.objects.filter(pk=reference.pk).update(key=new_key)
        reference.key = new_key
        keeper = reference
    else:
        merge_into(keeper, reference)
        if keep_best_values(keeper, [keeper, reference]):
            keeper.save()
        reference.delete()
    ReferenceAlias.objects.update_or_create(source_id=keeper.source_id, key=old_key, defaults={"reference": keeper})
    return keeper


def references_by_key(source_id: int, keys: Iterable[str]) -> dict[str, list[ExternalReference]]:
    """The source's references of ``keys``, by lower-cased key (trackers' keys ignore case): exact
    spellings first, then the others compared case-insensitively, then the keys the issues had
    before they moved (their aliases)."""
    keys = set(keys)
    found: dict[str, list[ExternalReference]] = defaultdict(list)
    for reference in ExternalReference.objects.filter(source_id=source_id, key__in=keys):
        found[reference.key.lower()].append(reference)
    others = {key.lower() for key in keys} - set(found)
    if others:
        spelled = ExternalReference.objects.filter(source_id=source_id).annotate(lower_key=Lower("key"))
        for reference in spelled.filter(lower_key__in=others):
            found[reference.key.lower()].append(reference)
    others -= set(found)
    if others:
        aliases = ReferenceAlias.objects.filter(source_id=source_id).annotate(lower_key=Lower("key"))
        for alias in aliases.filter(lower_key__in=others).select_related("reference"):
            found[alias.key.lower()].append(alias.reference)
    return found


def references_by_remote_id(source_id: int, remote_ids: Iterable[str]) -> dict[str, ExternalReference]:
    """The source's references by the tracker's own issue id (Linear's UUID, which a team move keeps while
    the identifier changes): a delivery naming an unknown key with one of these ids is about that issue,
    moved."""
    wanted = {remote_id for remote_id in remote_ids if remote_id}
    if not wanted:
        return {}
    return {
        reference.remote_id: reference
        for reference in ExternalReference.objects.filter(source_id=source_id, remote_id__in=wanted).order_by("pk")
    }
