"""Filing test failures in trackers: create a remote issue from a failure or link an existing
one, show the failing test on the remote issue (a link back), and file many failed results of a
run in a background job.

The tracker's answer decides what is written here: no reference, link or audit row is stored
unless the remote issue was created (or found). Creating is safe to retry: the description
carries a marker, and when an earlier attempt with the same marker may have reached the tracker
(a timeout, a 5xx), the tracker is searched for the marker before anything is created again.

Everything tracker-specific comes from the provider: its discovery (issue types, fields), which
form fields fill which part of an ``IssueDraft`` (``draft_field_ids``), how it links back.
"""

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeVar
from urllib.parse import urljoin

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations import field_mappings as fm
from integrations import selectors as integration_selectors
from integrations import services as integration_services
from integrations.errors import TrackerError, Unreachable, UpstreamError
from integrations.mappings import name_key, tracker_priorities_for
from integrations.models import AuditAction, ProjectIntegration
from integrations.providers import provider_class
from integrations.providers.base import (
    Capability,
    DraftAttachment,
    IssueDraft,
    NotConfigured,
    Person,
    RemoteField,
    RemoteIssue,
    RemoteIssueType,
    TrackerProvider,
)
from issues.core import selectors as core_selectors
from issues.core.models import ArtefactAttachment, Attachment
from issues.filing import drafts, mapped
from issues.filing.models import FilingJob, FilingJobItem, FilingMode, FilingState
from issues.links import selectors, services
from issues.links.key_moves import follow_move
from issues.links.models import ExternalReference, Link
from projects.models import Requirement, TestRun

# How long a marker sent to a tracker is remembered, to look it up before creating again; while a
# request is filing it, at most SENDING_SECONDS (longer than any tracker request may take).
ATTEMPT_MEMORY_SECONDS = 24 * 3600


SENDING_SECONDS = 300


SENDING, UNCERTAIN = "sending", "uncertain"


MARKER_PREFIX = "tm"


DEFAULT_DEFECT_PRIORITY = "major"  # what a new defect filed from a failure starts as


MARKER_PATTERN = r"^tm[0-9a-z]{8,38}\Z"  # what a marker from a form or an API client may be


T = TypeVar("T")


# Unreachable reasons after which the tracker may have received (and carried out) the request.
_MAYBE_RECEIVED = frozenset({"read_timeout", "connection_lost"})


def new_marker() -> str:
    """A word no text contains by chance: every tracker's search finds it as a whole word."""
    return MARKER_PREFIX + secrets.token_hex(12)


def marked(description: str, marker: str) -> str:
    return f"{description.rstrip()}\n\nFiled from testmanager, ref {marker}".lstrip()


def may_have_been_created(error: TrackerError) -> bool:
    """Whether a failed create may still have created the issue (the answer was lost or broken)."""
    if isinstance(error, Unreachable):
        return error.reason in _MAYBE_RECEIVED
    return isinstance(error, UpstreamError) and (error.status is None or error.status >= 500)


def as_member(integration: ProjectIntegration, user, operation: Callable[[TrackerProvider], T]) -> T:
    """Run ``operation`` with the provider acting as the member: their own token (renewed when it
    expires or the tracker refuses it once), else the source's credentials. ``AuthorizationRequired``
    when the source acts as each member and this one has not authorized (or no longer can)."""
    return integration_services.with_member_token(user or AnonymousUser(), integration.source, operation)


def search(integration: ProjectIntegration, user, text: str) -> list[RemoteIssue]:
    """The tracker's issues matching ``text`` (a key, or words), as the member sees them; a person
    waits on it: ``Unreachable`` (reason "deadline") when the tracker does not answer in time."""
    within = integration_selectors.searchable_projects(integration)
    with integration_services.interactive(integration.source, "try again later, or link the issue by its key"):
        return as_member(integration, user, lambda provider: provider.search(text[:200], within=within))


def users(integration: ProjectIntegration, user, text: str) -> list:
    """Tracker accounts matching ``text`` for a filing form's user fields; a person waits on it."""
    with integration_services.interactive(integration.source, "try again later, or type the account's id"):
        return as_member(integration, user, lambda provider: provider.users(integration.external_project, text))


@dataclass(frozen=True)
class Discovery:
    """What a filing form is built from: the issue types offered, the chosen one, its fields."""

    issue_types: list[RemoteIssueType]
    issue_type: RemoteIssueType | None
    fields: list[RemoteField]
    default_missing: str = ""  # the integration's default issue type when the tracker does not offer it


def issue_types(integration: ProjectIntegration, user) -> list[RemoteIssueType]:
    """The issue types testmanager can create through the integration. ``NotConfigured`` when the
    integration lacks what creating needs, or the tracker offers none; TrackerError as raised."""
    gaps = integration_selectors.missing_for_filing(integration)
    if gaps:
        raise NotConfigured(" ".join(gaps))
    offered = as_member(integration, user, lambda provider: provider.issue_types(integration.external_project))
    if not offered:
        raise NotConfigured(
            f"{integration.source.name} offers no issue type testmanager can create in "
            f"{integration.external_project or 'this project'}."
        )
    return offered


def discover(integration: ProjectIntegration, user, wanted: str = "") -> Discovery:
    """Issue types of the integration's project and the fields of ``wanted`` (else of the default
    type, else of the only one); ``issue_type`` None when the member must choose."""
    offered = issue_types(integration, user)
    default = integration.default_issue_type.strip()
    only = offered[0] if len(offered) == 1 else None
    chosen = find_issue_type(offered, wanted) or find_issue_type(offered, default) or only
    fields = []
    if chosen is not None:
        fields = as_member(integration, user, lambda provider: provider.fields(integration.external_project, chosen.id))
    missing = default if default and find_issue_type(offered, default) is None else ""
    return Discovery(issue_types=offered, issue_type=chosen, fields=fields, default_missing=missing)


def find_issue_type(offered: Sequence[RemoteIssueType], wanted: str) -> RemoteIssueType | None:
    """The offered type ``wanted`` names by id or name (case and spacing aside)."""
    wanted = name_key(wanted)
    if not wanted:
        return None
    return next((t for t in offered if wanted in (t.id.casefold(), name_key(t.name))), None)


def typed_value(value, kind: str):
    """A form value as stored in a job (JSON) back in the type a provider takes."""
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if kind == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def build_draft(
    integration: ProjectIntegration,
    *,
    issue_type: str,
    title: str,
    description: str,
    values: Mapping,
    kinds: Mapping[str, str],
    reporter,
) -> IssueDraft:
    """The draft of a new remote issue: each value goes to the IssueDraft attribute the provider
    says its field fills, every other value to ``fields`` under the field's id."""
    fills = provider_class(integration.source.provider).draft_field_ids
    attributes: dict = {}
    fields: dict = {}
    for field_id, value in values.items():
        if value in (None, "", [], ()):
            continue
        value = typed_value(value, kinds.get(field_id, ""))
        attribute = fills.get(field_id)
        if attribute in ("title", "description"):
            continue  # the form's own title and description are these fields
        if attribute in ("labels", "components"):
            attributes[attribute] = tuple(value) if isinstance(value, (list, tuple)) else (str(value),)
        elif attribute:
            attributes[attribute] = value
        else:
            fields[field_id] = value
    person = None
    if reporter is not None and reporter.is_authenticated:
        person = Person(name=reporter.get_full_name() or reporter.get_username(), email=reporter.email or "")
    return IssueDraft(
        project=integration.external_project,
        issue_type=issue_type,
        title=title,
        description=description,
        reporter=person,
        fields=fields,
        **attributes,
    )


def mapped_priority(integration: ProjectIntegration, field: RemoteField, artefact) -> str:
    """The tracker priority the integration's priority mapping gives an issue about ``artefact``:
    the one mapped to a requirement's priority, else to the default defect priority (major)."""
    side, wanted = (
        ("requirement", artefact.priority) if isinstance(artefact, Requirement) else ("defect", DEFAULT_DEFECT_PRIORITY)
    )
    allowed = {name_key(value): value for value in field.allowed_values}
    for tracker_priority in tracker_priorities_for(integration.priority_mapping, side, wanted):
        if not allowed or name_key(tracker_priority) in allowed:
            return allowed.get(name_key(tracker_priority), tracker_priority)
    return ""


def prefill(integration: ProjectIntegration, fields: Sequence[RemoteField], artefact) -> dict:
    """Values the form starts with, by tracker field id: what the integration's defect field mappings
    give (``mapped.fields_for``), then the priority its priority mapping gives."""
    fills = provider_class(integration.source.provider).draft_field_ids
    values = mapped.fields_for(integration, fm.DEFECT, artefact, fields).values
    for field in fields:
        if fills.get(field.id) == "priority" and field.id not in values:
            priority = mapped_priority(integration, field, artefact)
            if priority:
                values[field.id] = priority
    if not isinstance(artefact, Requirement):  # a defect: the default defect priority's severity
        mapped.severity_values(integration, fields, DEFAULT_DEFECT_PRIORITY, values)
    return values


@dataclass(frozen=True)
class Filed:
    """What filing did: the reference and links stored, whether this call created the remote
    issue, notes on what did not go as drafted (for the member to read) and the names of the
    attached files the tracker does not have (the notes say why)."""

    reference: ExternalReference
    links: list[Link]
    created: bool
    notes: tuple[str, ...] = ()
    unsent_files: tuple[str, ...] = ()


def stored_files(attachments: Iterable[Attachment | ArtefactAttachment], site_url: str) -> tuple[DraftAttachment, ...]:
    """Attachments stored here (an internal issue's, a test result's) as files to send: their bytes,
    and the address of their permission-checked download here, which trackers that take no files
    (GitHub) link to. One whose stored file is gone is kept with its problem, so the filing names it
    instead of failing."""
    files = []
    for attachment in attachments:
        content, problem = b"", ""
        try:
            with attachment.file.open("rb") as stored:
                content = stored.read()
        except FileNotFoundError:
            problem = "its file is missing from this installation's storage"
        files.append(
            DraftAttachment(
                filename=attachment.original_name,
                content=content,
                content_type=attachment.content_type or "application/octet-stream",
                download_url=urljoin(site_url, core_selectors.download_path(attachment)),
                problem=problem,
            )
        )
    return tuple(files)


def files_of_results(artefacts: Iterable, site_url: str) -> tuple[DraftAttachment, ...]:
    """What an issue filed about ``artefacts`` takes along of its own accord: the files attached to
    the test results among them (the filing form lists them; the form's uploads come on top)."""
    return stored_files(core_selectors.attachments_of_results(artefacts), site_url)


def uploaded_files(uploads: Iterable) -> tuple[DraftAttachment, ...]:
    """Files uploaded with a filing form, to send as they are (they are not kept here)."""
    return tuple(
        DraftAttachment(
            filename=upload.name,
            content=upload.read(),
            content_type=upload.content_type or "application/octet-stream",
        )
        for upload in uploads
    )


class FilingInProgress(TrackerError):
    """The same form (same marker) is being filed by another request right now."""

    code = "in_progress"
    default_message = "This issue is being filed right now (the form was sent twice): reload the page in a moment."


def _attempt_key(integration: ProjectIntegration, marker: str) -> str:
    return f"issues:filing:{integration.source_id}:{marker}"


def _create_once(
    provider: TrackerProvider,
    integration: ProjectIntegration,
    draft: IssueDraft,
    marker: str,
    retrying: bool,
    resuming: bool,
) -> tuple[RemoteIssue, bool]:
    """(the remote issue, whether it was found by its marker rather than created now). The cache
    remembers each marker: SENDING while a request files it, UNCERTAIN when an attempt may have
    created it, then the key; a marker seen before is searched for before creating again."""
    attempt = _attempt_key(integration, marker)
    if not cache.add(attempt, SENDING, SENDING_SECONDS):
        if cache.get(attempt) == SENDING and not resuming:
            raise FilingInProgress()
        retrying = True
        cache.set(attempt, SENDING, SENDING_SECONDS)
    unsure = retrying  # until the search says the tracker has nothing with this marker
    try:
        if retrying:
            found = provider.find_marked(marker)
            if found is not None:
                cache.set(attempt, found.key, ATTEMPT_MEMORY_SECONDS)
                return found, True
            unsure = False
        remote = provider.create_issue(replace(draft, description=marked(draft.description, marker)))
    except TrackerError as error:
        if unsure or may_have_been_created(error):
            cache.set(attempt, UNCERTAIN, ATTEMPT_MEMORY_SECONDS)
        else:
            cache.delete(attempt)
        raise
    cache.set(attempt, remote.key, ATTEMPT_MEMORY_SECONDS)
    return remote, False


def file_issue(
    *,
    integration: ProjectIntegration,
    actor,
    draft: IssueDraft,
    artefacts: Sequence,
    marker: str,
    site_url: str,
    retrying: bool = False,
    resuming: bool = False,
    attachments: Sequence[DraftAttachment] = (),
    back_to: Sequence | None = None,
) -> Filed:
    """Create the remote issue with ``attachments`` (see ``stored_files``, ``uploaded_files``), then
    store its reference, link it to ``artefacts``, audit, and link back to ``back_to`` (the pages shown
    on the remote issue; the artefacts' when None). This is the one way a remote issue is created
    (filing, bulk jobs, pushing internal issues). A file the tracker does not take is named in the
    notes and ``unsent_files``; the issue is created all the same.

    ``retrying`` says an earlier attempt with this marker may have reached the tracker (the cache
    remembers that too, for attempts from pages and API clients). ``resuming`` says that attempt died
    on the way (its worker was killed and the task is delivered again): the marker it left "sending"
    is no request in flight but an attempt that may have created the issue."""
    source = integration.source
    earlier = cache.get(_attempt_key(integration, marker))
    if earlier not in (None, SENDING, UNCERTAIN):  # filed with this marker: the same form was submitted again
        reference = ExternalReference.objects.filter(source=source, key=earlier).first()
        if reference is not None:
            with transaction.atomic():
                links = [services.link(artefact=artefact, reference=reference, actor=actor) for artefact in artefacts]
            return Filed(reference=reference, links=links, created=False)
    if attachments:
        draft = replace(draft, attachments=(*draft.attachments, *attachments))
    remote, found = as_member(
        integration, actor, lambda provider: _create_once(provider, integration, draft, marker, retrying, resuming)
    )
    notes = list(getattr(remote, "notes", ()))
    unsent = tuple(getattr(remote, "unsent_files", ()))
    if found and draft.attachments:
        unsent = tuple(file.filename for file in draft.attachments)
        notes.append(
            f"{remote.key} was found from an earlier attempt, so {', '.join(unsent)} were not sent again: "
            "check that the issue has them."
        )
    remote, synced = _read_back(integration, actor, remote)
    notes += _link_back(integration, actor, remote.key, artefacts if back_to is None else back_to, site_url)
    with transaction.atomic():
        reference = services.store_reference(source, remote, synced=synced)
        links = [services.link(artefact=artefact, reference=reference, actor=actor) for artefact in artefacts]
        integration_services.record_audit(
            AuditAction.ISSUE_CREATED,
            actor=actor,
            source=source,
            project=integration.project,
            target=reference.key,
            details={
                "integration": integration.pk,
                "artefacts": [str(artefact)[:200] for artefact in artefacts],
                "found_by_marker": found,
                "notes": notes,
                "files_sent": [file.filename for file in draft.attachments if file.filename not in unsent],
                "files_not_sent": list(unsent),
            },
        )
    return Filed(reference=reference, links=links, created=True, notes=tuple(notes), unsent_files=unsent)


def _read_back(integration: ProjectIntegration, actor, remote: RemoteIssue) -> tuple[RemoteIssue, bool]:
    """The issue as the tracker shows it now, when what creating answered lacks its status (Jira
    answers only the key); the answer itself when reading fails or is not allowed."""
    source = integration.source
    if not remote.url:
        remote = replace(
            remote,
            url=integration_selectors.issue_url(source, remote.key, external_project=integration.external_project),
        )
    if remote.status or not integration_selectors.can(source, Capability.READ_DETAILS):
        return remote, bool(remote.status)
    try:
        read = as_member(integration, actor, lambda provider: provider.fetch_many([remote.key]))
        current = read.issues.get(remote.key)
    except TrackerError:
        return remote, False
    if current is None:
        return remote, False
    return replace(current, url=current.url or remote.url), True


def _link_back(integration: ProjectIntegration, actor, key: str, artefacts: Sequence, site_url: str) -> list[str]:
    """Put a link to each artefact's page on the remote issue; a failure is a note, not an error:
    the issue exists and is linked here either way."""
    if not integration_selectors.can_link_back(integration.source):
        return []
    notes = []
    for artefact in artefacts:
        link = selectors.back_link(artefact, site_url)
        try:
            as_member(integration, actor, lambda provider, link=link: provider.link_back(key, link))
        except TrackerError as error:
            notes.append(f"{key} does not show the link to “{artefact}”: {error}")
    return notes


@dataclass(frozen=True)
class Linked:
    reference: ExternalReference
    link: Link
    notes: tuple[str, ...] = ()


def check_key(integration: ProjectIntegration, typed: str) -> str:
    """The key to store for what the member typed; ValidationError (on ``key``) when the source's
    key pattern refuses it."""
    source = integration.source
    typed = typed.strip()
    if not typed:
        raise ValidationError({"key": "Enter the issue's key."})
    if not integration_selectors.key_matches(source, typed):
        pattern = integration_selectors.key_pattern(source)
        raise ValidationError({"key": f"“{typed}” is not an issue key of {source.name} (keys match {pattern})."})
    return provider_class(source.provider).qualify_key(typed, integration.external_project)


def look_up(integration: ProjectIntegration, actor, key: str) -> RemoteIssue | None:
    """The remote issue behind ``key`` when the source reads details; None when it does not, or the
    credentials may not see it. ValidationError (on ``key``) when the tracker says it does not exist."""
    source = integration.source
    if not integration_selectors.can(source, Capability.READ_DETAILS):
        return None
    with integration_services.interactive(source, "try again later"):
        result = as_member(integration, actor, lambda provider: provider.fetch_many([key]))
    if key in result.missing:
        raise ValidationError({"key": f"{source.name} has no issue {key}."})
    return result.issues.get(key)


def link_existing(
    *, integration: ProjectIntegration, actor, typed_key: str, artefact, site_url: str, title: str = ""
) -> Linked:
    """Link the remote issue ``typed_key`` to ``artefact``; a key referenced before reuses its
    reference. ``title`` names the issue where the tracker cannot be read (a custom tracker)."""
    source = integration.source
    key = check_key(integration, typed_key)
    remote = look_up(integration, actor, key)
    notes = []
    if remote is None and integration_selectors.can(source, Capability.READ_DETAILS):
        notes.append(
            f"{source.name} does not let testmanager read {key}, so its title and status stay empty until it can."
        )
    if remote is not None:
        notes += _link_back(integration, actor, remote.key, [artefact], site_url)
    with transaction.atomic():
        reference = selectors.reference_of(source, key)  # also under a key the issue had before it moved
        if remote is None and reference is not None and selectors.reference_for(integration, key) is None:
            if reference.links.exists():  # only another project's words stand behind it: answered as unknown
                raise ValidationError({"key": f"{source.name} has no issue {key} this project can link."})
            reference = None  # linked nowhere any more: stored again below with this project's words
        if remote is not None:
            if reference is not None:
                follow_move(reference, remote.key)  # the tracker answers the key with another: the issue moved
            reference = services.store_reference(source, remote)
        elif reference is None:
            url = integration_selectors.issue_url(source, key, external_project=integration.external_project)
            reference = services.store_reference(
                source,
                RemoteIssue(
                    key=key,
                    title=title.strip(),
                    status="",
                    status_category="unknown",
                    assignee="",
                    priority="",
                    url=url,
                    updated_at=None,
                ),
                synced=False,
            )
        created = services.link(artefact=artefact, reference=reference, actor=actor)
    return Linked(reference=reference, link=created, notes=tuple(notes))


def start_job(
    *,
    integration: ProjectIntegration,
    run: TestRun,
    results: Sequence,
    mode: str,
    issue_type: str,
    values: Mapping,
    kinds: Mapping[str, str],
    actor,
    site_url: str,
    marker: str,
) -> FilingJob:
    """Record the job and queue it once committed; the page follows its progress. The form's
    ``marker`` names the job: the same form submitted twice finds the job it started."""
    with transaction.atomic():
        existing = FilingJob.objects.filter(project=run.project, marker=marker).first()
        if existing is not None:
            return existing
        job = FilingJob.objects.create(
            project=run.project,
            run=run,
            integration=integration,
            mode=mode,
            site_url=site_url,
            values={"issue_type": issue_type, "values": dict(values), "kinds": dict(kinds)},
            marker=marker,
            created_by=actor,
        )
        FilingJobItem.objects.bulk_create(
            [FilingJobItem(job=job, result=result, marker=new_marker()) for result in results]
        )
        from issues.filing.tasks import run_filing_job  # imported here: the task imports this module's callers

        transaction.on_commit(lambda: run_filing_job.delay(job.pk))
    return job


def retry_job(job: FilingJob) -> int:
    """Queue the failed results again; returns how many. A job still running is left alone."""
    with transaction.atomic():
        if job.items.filter(state=FilingState.PENDING).exists():
            return 0
        count = job.items.filter(state=FilingState.FAILED).update(state=FilingState.PENDING, error="")
        if count:
            FilingJob.objects.filter(pk=job.pk).update(finished_at=None)
            from issues.filing.tasks import run_filing_job  # imported here: the task imports this module's callers

            transaction.on_commit(lambda: run_filing_job.delay(job.pk))
    return count


def run_job(job: FilingJob, *, redelivered: bool = False) -> None:
    """File the job's waiting results, one issue each or one for all; each outcome is stored on its item.
    ``redelivered``: an earlier run of this job died (its worker was killed) and left results waiting,
    one of them perhaps created in the tracker already: each is looked for by its marker first."""
    pending = list(job.items.filter(state=FilingState.PENDING).select_related("result__case", "result__run"))
    if pending:
        if job.integration is None:
            _fail(pending, "The tracker was removed from the project before these issues were filed.")
        elif job.mode == FilingMode.COMBINED:
            _file_combined(job, pending, redelivered)
        else:
            for item in pending:
                _file_each(job, item, redelivered)
    FilingJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())


def _draft_for(job: FilingJob, results: Sequence) -> IssueDraft:
    """The draft of one issue of a job: the form's values, and for an issue about one result what the
    defect field mappings give that result where the form (filled for the whole run) left a field empty."""
    chosen = job.values
    text = drafts.draft_from_results(results, job.site_url)
    kinds = chosen.get("kinds", {})
    values = dict(chosen.get("values", {}))
    if len(results) == 1:
        fields = [fm.Field(id=field_id, name=field_id, required=False, kind=kind) for field_id, kind in kinds.items()]
        own = mapped.fields_for(job.integration, fm.DEFECT, results[0], fields, job.created_by).values
        values.update({field_id: value for field_id, value in own.items() if values.get(field_id) in (None, "", [])})
    return build_draft(
        job.integration,
        issue_type=chosen.get("issue_type", ""),
        title=text["name"],
        description=text["description"],
        values=values,
        kinds=kinds,
        reporter=job.created_by,
    )


def _file_each(job: FilingJob, item: FilingJobItem, redelivered: bool) -> None:
    FilingJobItem.objects.filter(pk=item.pk).update(attempts=F("attempts") + 1)
    try:
        filed = file_issue(
            integration=job.integration,
            actor=job.created_by,
            draft=_draft_for(job, [item.result]),
            artefacts=[item.result],
            marker=item.marker,
            site_url=job.site_url,
            retrying=item.attempts > 0,
            resuming=redelivered,
            attachments=files_of_results([item.result], job.site_url),
        )
    except TrackerError as error:
        _fail([item], _describe(job, error))
    else:
        _done([item], filed)


def _file_combined(job: FilingJob, items: Sequence[FilingJobItem], redelivered: bool) -> None:
    FilingJob.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1)
    results = [item.result for item in items]
    try:
        filed = file_issue(
            integration=job.integration,
            actor=job.created_by,
            draft=_draft_for(job, results),
            artefacts=results,
            marker=job.marker,
            site_url=job.site_url,
            retrying=job.attempts > 0,
            resuming=redelivered,
            attachments=files_of_results(results, job.site_url),
        )
    except TrackerError as error:
        _fail(items, _describe(job, error))
    else:
        _done(items, filed)


def _describe(job: FilingJob, error: TrackerError) -> str:
    problems = " ".join(
        f"{name}: {problem}" for name, problem in error.field_errors.items() if problem not in str(error)
    )
    text = " ".join(filter(None, [str(error), problems]))
    if may_have_been_created(error):
        text += " The issue may have been created anyway: retrying looks for it first and never files it twice."
    return integration_services.source_excerpt(job.integration.source, text, 1000)


def _fail(items: Sequence[FilingJobItem], message: str) -> None:
    FilingJobItem.objects.filter(pk__in=[item.pk for item in items]).update(state=FilingState.FAILED, error=message)


def _done(items: Sequence[FilingJobItem], filed: Filed) -> None:
    FilingJobItem.objects.filter(pk__in=[item.pk for item in items]).update(
        state=FilingState.FILED,
        reference=filed.reference,
        error="",
        notes=list(filed.notes),
    )
