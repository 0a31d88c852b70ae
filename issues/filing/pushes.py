"""Pushing internal issues (defects) to a tracker, one or several, and linking one to an existing
tracker issue: either way the internal issue becomes the synced defect of the tracker issue
(``DefectSync``), so status, priority and comments flow both ways by the defect sync from then on.

A push goes through ``services.file_issue``, the one way a remote issue is created: the draft built
here (title, the description with a link back and the issue's linked artefacts, priority through
the integration's priority mapping, tags as labels, the fields the caller gives, the issue's
attachments) is created once, under a marker derived from the issue and the integration, so
that a push retried after a timeout finds the issue the first try created instead of creating a
second one. Nothing is stored here unless the tracker created (or had) the issue.
"""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from integrations import field_mappings as fm
from integrations import selectors as integration_selectors
from integrations.errors import TrackerError
from integrations.mappings import name_key
from integrations.models import ProjectIntegration
from integrations.providers import provider_class
from integrations.providers.base import IssueDraft, NotConfigured, RemoteField
from issues.core import history
from issues.core.artefacts import inline_markdown
from issues.core.models import Issue, IssueEvent
from issues.filing import drafts, mapped, services
from issues.filing.models import FilingJob, FilingJobItem, FilingMode, FilingState
from issues.links import selectors as links_selectors
from issues.links import services as links_services
from issues.links.models import ExternalReference
from issues.sync import defects, labels
from issues.sync.models import DefectSync


class AlreadyPushed(Exception):
    """The issue is the synced defect of a tracker issue already: pushing it again would file a twin."""

    def __init__(self, issue: Issue, sync: DefectSync):
        reference = sync.reference
        super().__init__(
            f"{issue.key} is already kept in step with {reference.key} in {reference.source_name}: "
            "it is not pushed again."
        )
        self.key, self.url = reference.key, reference.url


@dataclass(frozen=True)
class Pushed:
    """What a push did: the reference of the tracker issue, the defect sync that ties the internal
    issue to it, whether this call created the remote issue, and notes for the member."""

    reference: ExternalReference
    sync: DefectSync
    created: bool
    notes: tuple[str, ...] = ()


def push_targets(project) -> list[ProjectIntegration]:
    """The project's integrations an internal issue can be pushed to: active, enabled, in scope, and
    creating issues through the tracker's API; the primary first."""
    return [
        integration
        for integration in integration_selectors.pickable_integrations(project).order_by("-is_primary", "source__name")
        if integration_selectors.creates_through_api(integration.source)
    ]


def push_target(project, integration_id) -> ProjectIntegration:
    """The push target ``integration_id`` of the project; ValidationError (on ``integration``) otherwise."""
    target = next((item for item in push_targets(project) if str(item.pk) == str(integration_id)), None)
    if target is None:
        names = ", ".join(f"{item.pk} ({item.source.name})" for item in push_targets(project)) or "none"
        raise ValidationError(
            {"integration": f"Choose a tracker of {project.key} that takes new issues from testmanager: {names}."}
        )
    return target


def synced_defect_of(issue: Issue) -> DefectSync | None:
    return DefectSync.objects.filter(issue=issue).select_related("reference").first()


def refuse_if_pushed(issue: Issue) -> None:
    sync = synced_defect_of(issue)
    if sync is not None:
        raise AlreadyPushed(issue, sync)


def push_marker(issue: Issue, integration: ProjectIntegration) -> str:
    """The marker of pushing this issue through this integration: the same for every try, so a retry
    finds what an earlier try created; keyed with the site's secret, so no other site's push shares it."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"push:{issue.pk}:{integration.pk}".encode(), hashlib.sha256)
    return services.MARKER_PREFIX + digest.hexdigest()[:24]


def issue_url(issue: Issue, site_url: str) -> str:
    return urljoin(site_url, reverse("issues:detail", args=[issue.project.key, issue.number]))


def push_description(issue: Issue, site_url: str) -> str:
    """The issue's description (Markdown; providers convert it) followed by a link back to its page and
    the test artefacts it is linked to, each linked to its page."""
    facts = [f"{issue.get_status_display()}, {issue.get_priority_display().lower()} priority"]
    tags = [tag.name for tag in issue.tags.all()]
    if tags:
        facts.append("tags " + ", ".join(inline_markdown(name) for name in tags))
    sections = [
        issue.description.strip(),
        f"Pushed from testmanager: [{issue.key} {inline_markdown(issue.name)}]({issue_url(issue, site_url)}) "
        f"({'; '.join(facts)}).",
    ]
    artefacts = [link.artefact for link in links_selectors.links_of_issue(issue)]
    if artefacts:
        lines = []
        for artefact in artefacts:
            shown = links_selectors.back_link(artefact, site_url)
            status = f" ({shown.status})" if shown.status else ""
            lines.append(f"- [{inline_markdown(shown.title)}]({shown.url}){status}")
        sections.append("**Linked test artefacts:**\n\n" + "\n".join(lines))
    return "\n\n".join(section for section in sections if section)


def _allowed(field: RemoteField, wanted: Sequence[str], *, closed: bool) -> list[str]:
    """Those of ``wanted`` the field takes, as it spells them: only its allowed values when ``closed``,
    else any (a priority field listing no values, a labels field of a tracker that creates labels)."""
    allowed = {name_key(value): value for value in field.allowed_values}
    if closed:
        return [allowed[name_key(name)] for name in wanted if name_key(name) in allowed]
    return [allowed.get(name_key(name), name) for name in wanted]


def mapped_values(integration: ProjectIntegration, fields: Sequence[RemoteField], issue: Issue) -> tuple[dict, list]:
    """Form values by tracker field id for the issue: the priority its priority mapping gives the
    issue's priority, its tags as labels; and notes on what the tracker could not take."""
    provider = provider_class(integration.source.provider)
    fills = provider.draft_field_ids
    values, notes = {}, []
    tags = [tag.name for tag in issue.tags.all()]
    for field in fields:
        part = fills.get(field.id)
        if part == "priority":
            names = _allowed(
                field, defects.tracker_priorities(integration, issue.priority), closed=bool(field.allowed_values)
            )
            if names:
                values[field.id] = names[0]
        elif part == "labels" and tags:
            taken = _allowed(field, tags, closed=not provider.creates_missing_labels)
            values[field.id] = taken if field.kind in ("labels", "multi_select") else ", ".join(taken)
            kept = {name_key(name) for name in taken}
            left_out = [name for name in tags if name_key(name) not in kept]
            if left_out:
                notes.append(
                    f"{integration.source.name} has no label {', '.join(left_out)}: create it there to carry it."
                )
    return values, notes


@dataclass(frozen=True)
class PushDraft:
    """What a push sends (``draft``), the name of its issue type, and notes on what the tracker cannot take."""

    draft: IssueDraft
    issue_type: str
    notes: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()  # comments for the remote issue (a user field naming the account filing)


def push_draft(
    integration: ProjectIntegration, issue: Issue, actor, site_url: str, fields: Mapping | None = None
) -> PushDraft:
    """The remote issue a push files, of the integration's default issue type; ``fields`` (tracker field
    id -> value) are set on top of what the mappings give."""
    discovery = services.discover(integration, actor)
    if discovery.issue_type is None:
        offered = ", ".join(kind.name for kind in discovery.issue_types)
        raise NotConfigured(
            f"{integration.source.name} offers several issue types ({offered}) and the project's tracker settings "
            "name none as the one defects are filed as: a project administrator sets its default issue type."
        )
    # The project's defect field mappings first (constants, {issue.*} values, matched users), then the
    # issue's own priority and tags, then what the caller gives.
    by_mapping = mapped.fields_for(integration, fm.DEFECT, issue, discovery.fields, actor)
    values, notes = mapped_values(integration, discovery.fields, issue)
    values = {**by_mapping.values, **values}
    notes = [*by_mapping.notes, *notes, *mapped.severity_values(integration, discovery.fields, issue.priority, values)]
    values.update(fields or {})
    draft = services.build_draft(
        integration,
        issue_type=discovery.issue_type.id,
        title=issue.name[: drafts.TITLE_MAX],
        description=push_description(issue, site_url),
        values=values,
        kinds={field.id: field.kind for field in discovery.fields},
        reporter=actor,
    )
    return PushDraft(draft=draft, issue_type=discovery.issue_type.name, notes=tuple(notes), remarks=by_mapping.remarks)


def make_synced_defect(issue: Issue, reference: ExternalReference, integration: ProjectIntegration) -> DefectSync:
    """Tie the issue to the tracker issue as its synced defect. The tracker's state (through the mappings)
    is what was synced; where the issue's own status or priority differs it counts as changed here, so the
    defect sync sends it (with push_defect_changes) rather than the tracker's state undoing it."""
    synced_status = defects.defect_status(integration, reference.status, reference.status_category) or issue.status
    synced_priority = defects.defect_priority(integration, reference.priority) or issue.priority
    differs = (synced_status, synced_priority) != (issue.status, issue.priority)
    try:
        with transaction.atomic():
            refuse_if_pushed(issue)
            sync = DefectSync.objects.create(
                issue=issue,
                reference=reference,
                integration=integration,
                synced_status=synced_status,
                synced_priority=synced_priority,
                changed_here_at=timezone.now() if differs else None,
            )
    except IntegrityError:
        other = DefectSync.objects.filter(reference=reference, integration=integration).select_related("issue").first()
        if other is None:  # the issue itself was tied by a concurrent request
            refuse_if_pushed(issue)
            raise
        raise ValidationError(
            f"{reference.key} is already kept in step with {other.issue.key}: link that issue instead."
        ) from None
    labels_pending = labels.follow_labels(sync)  # the first merge: the union of the issue's labels and tags
    if (differs and integration.push_defect_changes) or labels_pending:
        from issues.sync.tasks import push_defect_changes  # tasks import this module's callers

        transaction.on_commit(partial(push_defect_changes.delay, issue.pk))
    return sync


def push_issue(
    *,
    issue: Issue,
    integration: ProjectIntegration,
    actor,
    site_url: str,
    fields: Mapping | None = None,
    retrying: bool = False,
    resuming: bool = False,
) -> Pushed:
    """Create the issue in the integration's tracker and make it its synced defect. ``AlreadyPushed``
    when it is the synced defect of a tracker issue already; TrackerError as the tracker answers, with
    nothing written here."""
    refuse_if_pushed(issue)
    drafted = push_draft(integration, issue, actor, site_url, fields)
    filed = services.file_issue(
        integration=integration,
        actor=actor,
        draft=drafted.draft,
        artefacts=[],  # the internal issue keeps its links; the tracker issue is its defect, not a second link
        marker=push_marker(issue, integration),
        site_url=site_url,
        retrying=retrying,
        resuming=resuming,
        back_to=[issue],
        attachments=services.stored_files(issue.attachments.all(), site_url),
    )
    sync = make_synced_defect(issue, filed.reference, integration)
    remarked = _remark(integration, actor, filed.reference.key, drafted.remarks)
    history.record(
        issue, IssueEvent.PUSHED, actor=actor, detail=f"Pushed to {integration.source.name} as {filed.reference.key}."
    )
    notes = (*drafted.notes, *filed.notes, *remarked)
    return Pushed(reference=filed.reference, sync=sync, created=filed.created, notes=notes)


def _remark(integration: ProjectIntegration, actor, key: str, remarks: Sequence[str]) -> list[str]:
    """Tell the remote issue, in a comment, what it should know of how it was filled (a user field that names
    the account filing because the person has no account there); notes on what could not be said."""
    notes = []
    for remark in remarks:
        try:
            services.as_member(integration, actor, lambda provider, remark=remark: provider.add_comment(key, remark))
        except TrackerError as error:
            notes.append(f"{key} does not say why a user field names the account filing: {error}")
    return notes


def link_to_tracker(*, issue: Issue, integration: ProjectIntegration, actor, typed_key: str, site_url: str) -> Pushed:
    """Make the issue the synced defect of an existing tracker issue (by key, as artefacts link them):
    the tracker issue must exist where the tracker is read, and shows a link back to the issue."""
    refuse_if_pushed(issue)
    key = services.check_key(integration, typed_key)
    remote = services.look_up(integration, actor, key)
    if remote is None:
        raise ValidationError(
            {"key": f"{integration.source.name} does not let testmanager read {key}, so it cannot be kept in step."}
        )
    notes = services._link_back(integration, actor, remote.key, [issue], site_url)
    with transaction.atomic():
        reference = links_services.store_reference(integration.source, remote)
        sync = make_synced_defect(issue, reference, integration)
    return Pushed(reference=reference, sync=sync, created=False, notes=tuple(notes))


# --- Several issues in the background ------------------------------------------------------------


def start_push_job(
    *, integration: ProjectIntegration, issues: Sequence[Issue], actor, site_url: str, fields: Mapping | None = None
) -> FilingJob:
    """Record a job pushing each issue through the integration and queue it once committed."""
    with transaction.atomic():
        job = FilingJob.objects.create(
            project=integration.project,
            run=None,
            integration=integration,
            mode=FilingMode.EACH,
            site_url=site_url,
            values={"fields": dict(fields or {})},
            marker=services.new_marker(),
            created_by=actor,
        )
        FilingJobItem.objects.bulk_create(
            [FilingJobItem(job=job, issue=issue, marker=push_marker(issue, integration)) for issue in issues]
        )
        from issues.filing.tasks import run_filing_job  # imported here: the task imports this module's callers

        transaction.on_commit(partial(run_filing_job.delay, job.pk))
    return job


def run_push_job(job: FilingJob, *, redelivered: bool = False) -> None:
    """Push the job's waiting issues, one after the other; each outcome is stored on its item."""
    pending = job.items.filter(state=FilingState.PENDING).select_related("issue__project")
    for item in pending:
        if job.integration is None:
            services._fail([item], "The tracker was removed from the project before this issue was pushed.")
            continue
        _push_item(job, item, redelivered)
    FilingJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())


def _push_item(job: FilingJob, item: FilingJobItem, redelivered: bool) -> None:
    FilingJobItem.objects.filter(pk=item.pk).update(attempts=F("attempts") + 1)
    try:
        pushed = push_issue(
            issue=item.issue,
            integration=job.integration,
            actor=job.created_by,
            site_url=job.site_url,
            fields=job.values.get("fields") or {},
            retrying=item.attempts > 0,
            resuming=redelivered,
        )
    except AlreadyPushed as refused:
        services._fail([item], str(refused))
    except ValidationError as invalid:
        services._fail([item], " ".join(invalid.messages)[:1000])
    except TrackerError as error:
        services._fail([item], services._describe(job, error))
    else:
        FilingJobItem.objects.filter(pk=item.pk).update(
            state=FilingState.FILED, reference=pushed.reference, error="", notes=list(pushed.notes)
        )


def job_state(job: FilingJob) -> str:
    """queued (nothing tried yet), running, or done."""
    if job.finished_at is not None and not job.items.filter(state=FilingState.PENDING).exists():
        return "done"
    return "running" if job.items.filter(attempts__gt=0).exists() else "queued"
