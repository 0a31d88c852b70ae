"""Comments of synced defects, both ways: one written here is posted on the tracker issue (and its
id kept, so it never comes back as a new one); a tracker's comment is added to the defects of the
issue, unless its id is known, and follows the tracker's edits and deletion of it."""

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.errors import TrackerError
from integrations.providers.base import (
    EventKind,
    RemoteComment,
    TrackerProvider,
)
from integrations.services import source_excerpt, with_own_token_if_any
from issues.core import history
from issues.core.models import CommentOrigin, Issue, IssueComment, IssueEvent
from issues.links.models import ExternalReference
from issues.sync.cache_keys import once_key
from issues.sync.models import DefectSync
from issues.sync.selectors import defect_syncs

PUSH_GRACE = timedelta(minutes=1)  # a comment this young is being sent by its own task


PUSH_LOCK_SECONDS = 300


def add_comment(issue: Issue, *, author, body: str) -> IssueComment:
    """A comment written here; on a defect whose integration syncs comments it is sent to the tracker."""
    comment = IssueComment.objects.create(
        issue=issue,
        author=author,
        author_name=author.get_username(),
        body=body.strip(),
        origin=CommentOrigin.TESTMANAGER,
    )
    # The history says that a comment was written, never what it said: a comment deleted later (in its
    # tracker) must not live on here.
    history.record(issue, IssueEvent.COMMENTED, actor=author, detail="Added a comment")
    if _comment_sync(issue.pk) is not None:
        from issues.sync.tasks import (
            push_comment as push_comment_task,  # imported here: the task imports this module's callers
        )

        transaction.on_commit(partial(push_comment_task.delay, comment.pk))
    return comment


def _comment_sync(issue_id: int) -> DefectSync | None:
    sync = defect_syncs().filter(issue_id=issue_id, integration__sync_comments=True).first()
    return sync if sync is not None and sync.reference.source is not None and sync.reference.source.syncs else None


def push_comment(comment_id: int) -> bool:
    """Post a comment written here on the tracker issue and keep the tracker's id of it; a copy that
    came back through a webhook before the id was known is dropped. Returns whether it was posted."""
    comment = IssueComment.objects.filter(pk=comment_id, origin=CommentOrigin.TESTMANAGER, remote_id="").first()
    sync = _comment_sync(comment.issue_id) if comment is not None else None
    if sync is None or not cache.add(once_key("posting", comment), 1, PUSH_LOCK_SECONDS):
        return False
    try:
        # Posted by the author's own account when they have a token for the tracker, so that it shows them.
        remote_id = with_own_token_if_any(
            comment.author, sync.reference.source, partial(_post_once, comment, sync.reference.key)
        )
    except TrackerError as error:
        DefectSync.objects.filter(pk=sync.pk).update(last_error=source_excerpt(sync.reference.source, str(error), 500))
        cache.delete(once_key("posting", comment))
        return False
    with transaction.atomic():
        IssueComment.objects.filter(
            issue_id=comment.issue_id, remote_id=remote_id, origin=CommentOrigin.TRACKER
        ).delete()
        IssueComment.objects.filter(pk=comment.pk).update(remote_id=remote_id[:100])
    return True


def _post_once(comment: IssueComment, key: str, provider: TrackerProvider) -> str:
    """The tracker's id of the comment, posted now unless an earlier attempt posted it: a worker that
    died after the tracker took the comment, before its id was kept, left it there (the task is
    delivered again, or the refresh sends it), and posting again would show it twice on both sides.
    The attempt is recorded (committed) before the post, so only a comment that may be there is looked for."""
    text = _attributed(comment)
    if comment.post_attempted_at is not None:
        known = IssueComment.objects.filter(issue_id=comment.issue_id, origin=CommentOrigin.TESTMANAGER)
        taken = set(known.exclude(remote_id="").values_list("remote_id", flat=True))
        posted = next(
            (
                remote.id
                for remote in provider.comments(key)
                if remote.id not in taken and not remote.deleted and remote.body.strip() == text.strip()
            ),
            None,
        )
        if posted is not None:
            return posted
    comment.post_attempted_at = timezone.now()
    IssueComment.objects.filter(pk=comment.pk).update(post_attempted_at=comment.post_attempted_at)
    return provider.add_comment(key, text)


def _attributed(comment: IssueComment) -> str:
    return f"{comment.body}\n\n— {comment.author_name or 'someone'} in testmanager"


def receive_comment(reference: ExternalReference, comment: RemoteComment) -> bool:
    """A tracker comment on the defects of ``reference`` that sync comments, unless its id is known
    there (a comment sent from here, or received before). Returns whether it was added anywhere."""
    if not comment.id or not comment.body.strip():
        return False
    added = False
    for sync in _comment_syncs(reference):
        if IssueComment.objects.filter(issue_id=sync.issue_id, remote_id=comment.id[:100]).exists():
            continue
        try:
            with transaction.atomic():
                IssueComment.objects.create(
                    issue_id=sync.issue_id,
                    author_name=comment.author[:200],
                    body=comment.body.strip(),
                    origin=CommentOrigin.TRACKER,
                    remote_id=comment.id[:100],
                    created_at=comment.created_at or timezone.now(),
                    remote_updated_at=comment.updated_at or comment.created_at,
                )
        except IntegrityError:  # the same comment arrived concurrently
            continue
        detail = f"A comment by {comment.author or 'someone'} arrived from the tracker"
        history.record(sync.issue, IssueEvent.COMMENTED, detail=detail)
        added = True
    return added


def follow_comment(reference: ExternalReference, kind: EventKind, comment: RemoteComment, when: datetime) -> bool:
    """A webhook's comment event on the defects of ``reference``: a new comment is added, an edited one
    takes its new text, a deleted one is marked deleted. Returns whether any defect changed."""
    if kind == EventKind.COMMENT_DELETED:
        return delete_comment(reference, comment.id, when)
    if kind == EventKind.COMMENT_EDITED:
        return edit_comment(reference, comment, comment.updated_at or when)
    return receive_comment(reference, comment)


def edit_comment(reference: ExternalReference, comment: RemoteComment, when: datetime) -> bool:
    """An edited tracker comment: its copies here take the new text unless they hold a newer one or were
    deleted; a defect that has no copy (the comment predates the sync, or its creation was missed)
    gets one. Comments written here keep their text: the tracker's copy carries an attribution line."""
    if not comment.id or not comment.body.strip():
        return False
    edited = (
        _tracker_copies(reference, comment.id)
        .filter(Q(remote_updated_at__isnull=True) | Q(remote_updated_at__lt=when))
        .update(body=comment.body.strip(), remote_updated_at=when)
    )
    added = receive_comment(reference, dataclasses.replace(comment, updated_at=when))
    return bool(edited) or added


def delete_comment(reference: ExternalReference, comment_id: str, when: datetime) -> bool:
    """A tracker comment deleted there: its copies stay in the thread, marked deleted with the time,
    and lose their text (whoever deleted it meant it to be gone, often for what it said; the mark tells
    readers a comment was there and why replies may refer to it). A deletion is final: no later edit
    or redelivered creation brings the text back."""
    if not comment_id:
        return False
    copies = _tracker_copies(reference, comment_id)
    return bool(copies.update(body="", deleted_remotely_at=when))


def _tracker_copies(reference: ExternalReference, comment_id: str):
    """The copies, on the defects of ``reference`` that sync comments, of the tracker's comment ``comment_id``
    that came from the tracker and are not deleted."""
    return IssueComment.objects.filter(
        issue_id__in=_comment_syncs(reference).values("issue_id"),
        remote_id=comment_id[:100],
        origin=CommentOrigin.TRACKER,
        deleted_remotely_at__isnull=True,
    )


def _comment_syncs(reference: ExternalReference):
    return defect_syncs().filter(reference=reference, integration__sync_comments=True)


def pull_comments(provider: TrackerProvider, reference_ids: Sequence[int]) -> None:
    """Read the comments of changed issues whose defects sync comments (a refresh, or a webhook that
    does not carry comments); a failure is kept on the defect's sync. The tracker lists every comment
    of the issue: a copy of one it no longer lists was deleted there (its deletion's delivery was lost)."""
    syncs = defect_syncs().filter(reference_id__in=reference_ids, integration__sync_comments=True)
    for reference in {sync.reference for sync in syncs}:
        try:
            comments = provider.comments(reference.key)
        except TrackerError as error:
            DefectSync.objects.filter(reference=reference).update(
                last_error=source_excerpt(reference.source, str(error), 500)
            )
            continue
        for comment in comments:
            follow_read_comment(reference, comment)
        _follow_unlisted(reference, {comment.id[:100] for comment in comments})


def _follow_unlisted(reference: ExternalReference, listed: set[str]) -> int:
    """Mark deleted the tracker copies of comments the tracker's complete listing no longer has."""
    copies = IssueComment.objects.filter(
        issue_id__in=_comment_syncs(reference).values("issue_id"),
        origin=CommentOrigin.TRACKER,
        deleted_remotely_at__isnull=True,
    ).exclude(remote_id="")
    return copies.exclude(remote_id__in=listed).update(body="", deleted_remotely_at=timezone.now())


def follow_read_comment(reference: ExternalReference, comment: RemoteComment) -> bool:
    """A comment as the tracker lists it now: deleted, edited since its copies' text (when the tracker
    dates edits), or new to the defects."""
    if comment.deleted:
        return delete_comment(reference, comment.id, comment.updated_at or timezone.now())
    if comment.updated_at is not None:
        return edit_comment(reference, comment, comment.updated_at)
    return receive_comment(reference, comment)
