"""The history of internal issues, kept by django-simple-history (``Issue.history``).

Every step is a snapshot of the issue with the acting user and the time; a field change is read by
comparing a snapshot with the one before it. Steps that change no field (a comment, a link, a push)
are snapshots too, marked with their ``event`` and a sentence, so the issue has one timeline, paged
and ordered by the library's own table.

Writers name the actor when they know it (``actor``); a ``save()`` elsewhere (the admin) is recorded
by the library's signal, with the signed-in user from its middleware."""

from django.utils import timezone
from simple_history.signals import pre_create_historical_record

from issues.core.models import Issue, IssueEvent

HistoricalIssue = Issue.history.model

DETAIL_MAX = HistoricalIssue._meta.get_field("detail").max_length
# Steps that change no field yet count as the issue being updated (its "updated" time, the API's
# `updated_at`/`updated_after`): a comment, written here or arriving from its tracker. Links and
# pushes change the test artefacts and the tracker, not the issue.
UPDATING_EVENTS = {IssueEvent.COMMENTED}


def tag_names_of(issue: Issue) -> list[str]:
    # values_list reads the table, not a prefetched (possibly older) list of tags.
    return list(issue.tags.order_by("name").values_list("name", flat=True))


def record(issue: Issue, event: str, *, actor=None, detail: str = "") -> None:
    """Keep a step of ``issue``'s history: its state as now stored, who did it (``actor``; else the
    signed-in user of the request, else nobody: a tracker or a task), and for steps other than field
    changes a sentence saying what happened."""
    if event in UPDATING_EVENTS:
        Issue.objects.filter(pk=issue.pk).update(updated_at=timezone.now())
    stored = Issue.objects.get(pk=issue.pk)  # the state as saved, whatever the caller's copy says
    Issue.history.bulk_history_create(
        [stored],
        update=event != IssueEvent.CREATED,
        default_user=actor,
        custom_historical_attrs={"event": event, "tag_names": tag_names_of(stored), "detail": detail[:DETAIL_MAX]},
    )


def _describe_saved_issue(sender, instance: Issue, history_instance, **kwargs) -> None:
    """A snapshot the library takes on its own (an ``Issue.save()`` outside the services, e.g. the
    admin) gets the tags of the moment and its kind, as the services' own steps do."""
    if instance.pk is not None:
        history_instance.tag_names = tag_names_of(instance)
    if history_instance.history_type == "+":
        history_instance.event = IssueEvent.CREATED


def connect() -> None:
    pre_create_historical_record.connect(
        _describe_saved_issue, sender=HistoricalIssue, dispatch_uid="issues.core.history.describe"
    )
