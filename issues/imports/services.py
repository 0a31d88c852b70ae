"""TestRail imports from the Import page and `manage.py import_testrail`: preview, run, defect links.

They live in the issues app because it is the one that may use all three: the projects importer
reads the file and writes cases, a run and results; integrations knows each tracker's key pattern
and issue URL template; here the defects TestRail recorded become tracker references linked to
the imported results. One file is one transaction: cases, results, references, links and the
job's final state are committed together, or nothing is.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations import selectors as tracker_selectors
from integrations.models import AuditAction, ProjectIntegration
from integrations.services import record_audit
from issues.links.models import ExternalReference, Link
from projects.batching import chunks
from projects.importers import testrail
from projects.importers.testrail import BATCH, LogEntry, ParsedExport, RecordedResult, ReferencedCase
from projects.models import ImportJob, ImportStatus, Project, TestResult, TestRun

logger = logging.getLogger(__name__)


LOG_ACTIONS = ("created", "updated", "unchanged", "skipped")


KIND_LABELS = {"case": "Test cases", "result": "Results", "defect": "Defect links", "reference": "Reference links"}


UNEXPECTED_ERROR = (
    "The import stopped on an unexpected error and changed nothing. "
    "The error is in the server log for the administrators."
)


def primary_integration(project: Project) -> ProjectIntegration | None:
    return tracker_selectors.pickable_integrations(project).filter(is_primary=True).first()


def new_job(project: Project, user, filename: str, data: bytes) -> ImportJob:
    """An unsaved job for the file, with the preview's defaults; raises TestRailError for a file it refuses."""
    export = testrail.parse_export(data, filename)
    primary = primary_integration(project)
    options = {
        "mapping": testrail.Mapping.for_export(export).as_dict(),
        "run_name": export.run_name,
        "integration": primary.pk if primary else None,
    }
    return ImportJob(
        project=project, created_by=user, filename=filename[:255], size=len(data), data=data, options=options
    )


def upload(project: Project, user, filename: str, data: bytes) -> ImportJob:
    """Check the file and keep it for its preview; raises TestRailError and then stores nothing.

    The user's earlier previews in the project that were never confirmed are dropped: a
    preview is a step of one import, not a draft to come back to.
    """
    job = new_job(project, user, filename, data)
    ImportJob.objects.filter(project=project, created_by=user, status=ImportStatus.PREVIEW).delete()
    job.save()
    return job


def summary(job: ImportJob) -> list[tuple[str, list[tuple[str, int]]]]:
    """The counts of a finished job per kind of item, actions in a fixed order."""
    return [
        (label, [(action, job.counts[kind][action]) for action in LOG_ACTIONS if action in job.counts[kind]])
        for kind, label in KIND_LABELS.items()
        if kind in job.counts
    ]


def discard(job: ImportJob) -> None:
    if job.status != ImportStatus.PREVIEW:
        raise ValidationError("Only an import that has not started can be cancelled.")
    job.delete()


def save_options(job: ImportJob, options: dict) -> None:
    job.options = options
    job.save(update_fields=["options"])


def confirm(job: ImportJob, options: dict) -> None:
    """Fix the preview's choices; `run_job` (the task, or the command directly) then imports the file."""
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEW).update(
        options=options,
        status=ImportStatus.QUEUED,
    )
    if not updated:
        raise ValidationError("This import has already been started.")
    job.options, job.status = options, ImportStatus.QUEUED


def queue(job: ImportJob, options: dict) -> None:
    """Confirm the job and hand it to a worker once that is committed (the Import page)."""
    with transaction.atomic():
        confirm(job, options)
        from issues.imports.tasks import import_testrail  # imported here: the task imports this module's callers

        transaction.on_commit(lambda: import_testrail.delay(job.pk))


@dataclass
class DefectCheck:
    """The defects of a run's export, sorted for the chosen tracker."""

    integration: ProjectIntegration | None
    linkable: dict[str, list[str]]  # case key -> tracker keys
    skipped: list[LogEntry]

    @property
    def link_count(self) -> int:
        return sum(len(keys) for keys in self.linkable.values())


def check_defects(
    integration: ProjectIntegration | None, defects: dict[str, list[str]], no_tracker_reason: str, kind="defect"
) -> DefectCheck:
    """Which defects (or a case's references: `kind`) are keys of the integration's tracker (RE2 key
    pattern); the others with the reason."""
    check = DefectCheck(integration=integration, linkable={}, skipped=[])
    for case_key, keys in defects.items():
        for key in keys:
            if integration is None:
                check.skipped.append(LogEntry(kind, "skipped", key, f"{case_key}: not linked, {no_tracker_reason}."))
            elif tracker_selectors.key_matches(integration.source, key):
                check.linkable.setdefault(case_key, []).append(key)
            else:
                source = integration.source
                check.skipped.append(
                    LogEntry(
                        kind,
                        "skipped",
                        key,
                        f"{case_key}: “{key}” is not a {source.name} issue key "
                        f"(key pattern {tracker_selectors.key_pattern(source)}), so it was not linked.",
                    )
                )
    return check


def _chosen_integration(project: Project, options: dict) -> tuple[ProjectIntegration | None, str]:
    """The tracker defects link to, or None with the reason written in the log."""
    chosen = options.get("integration")
    if chosen is None:
        if not tracker_selectors.pickable_integrations(project).exists():
            return None, "because the project has no tracker (assign one on its Integrations page and import again)"
        return None, "because no tracker was chosen for defects"
    integration = tracker_selectors.pickable_integrations(project).filter(pk=chosen).first()
    if integration is None:
        return None, "because the tracker chosen for defects is no longer available to this project"
    return integration, ""


@dataclass
class Preview:
    job: ImportJob
    export: ParsedExport
    mapping: testrail.Mapping
    integrations: list[ProjectIntegration]
    run_name: str
    case_actions: dict[str, str]  # case key -> created / updated / unchanged
    run: TestRun | None = None  # the existing run results would go into
    results_updated: int = 0
    defects: DefectCheck | None = None

    def _count(self, action: str) -> int:
        return sum(1 for value in self.case_actions.values() if value == action)

    @property
    def count_created(self) -> int:
        return self._count("created")

    @property
    def count_updated(self) -> int:
        return self._count("updated")

    @property
    def count_unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def has_defects(self) -> bool:
        return any(result.defects for result in self.export.results)


def preview(job: ImportJob) -> Preview:
    """What the import would create, update and skip with the job's current options; writes nothing."""
    export = testrail.parse_export(bytes(job.data), job.filename)
    project, options = job.project, job.options
    mapping = testrail.Mapping.for_export(export, options.get("mapping"))
    result = Preview(
        job=job,
        export=export,
        mapping=mapping,
        run_name=options.get("run_name") or export.run_name,
        integrations=list(tracker_selectors.pickable_integrations(project)),
        case_actions={},
    )
    if export.kind == testrail.CASES:
        result.case_actions = testrail.plan_cases(project, export, mapping).action_of()
        return result
    existing = testrail.cases_by_key(project, [case.key for case in export.cases])
    result.case_actions = {case.key: "unchanged" if case.key in existing else "created" for case in export.cases}
    result.run = testrail.find_run(project, result.run_name)
    if result.run is not None:
        case_ids = [case.pk for case in existing.values()]
        result.results_updated = sum(
            TestResult.objects.filter(run=result.run, case_id__in=chunk).count() for chunk in chunks(case_ids, BATCH)
        )
    integration, reason = _chosen_integration(project, options)
    result.defects = check_defects(integration, {r.case.key: r.defects for r in export.results if r.defects}, reason)
    return result


@dataclass(frozen=True)
class KeysToLink:
    """Tracker keys TestRail gave one artefact: a result's defects or a case's references."""

    artefact_id: int
    case_key: str
    keys: list[str]


def link_defects(
    project: Project, run: TestRun, recorded: list[RecordedResult], options: dict, actor=None
) -> list[LogEntry]:
    """Link each result's defects to the chosen tracker's references, created when new; in bulk."""
    items = [KeysToLink(result.result_id, result.case_key, result.defects) for result in recorded]
    where = f"its result in “{run.name}”"
    details = {"run": run.name[:200]}
    return _link_keys(project, items, options, actor, side="test_result", kind="defect", where=where, details=details)


def link_references(project: Project, referenced: list[ReferencedCase], options: dict, actor=None) -> list[LogEntry]:
    """Link each imported case to the tracker issues its TestRail references name (refs), in bulk;
    references that are not keys of the chosen tracker stay in the case's TestRail fields only."""
    items = [KeysToLink(case.case_id, case.case_key, case.references) for case in referenced]
    details = {"artefact": "test cases"}
    return _link_keys(
        project, items, options, actor, side="test_case", kind="reference", where="its test case", details=details
    )


def _references_for(integration: ProjectIntegration, keys: list[str]) -> dict[str, ExternalReference]:
    """The source's references with these keys, created (without a title yet) when new."""
    source = integration.source
    references = {}
    for chunk in chunks(keys, BATCH):
        references.update((ref.key, ref) for ref in ExternalReference.objects.filter(source=source, key__in=chunk))
    missing = [key for key in keys if key not in references]
    ExternalReference.objects.bulk_create(
        [
            ExternalReference(
                source=source,
                source_name=source.name,
                key=key,
                url=tracker_selectors.issue_url(source, key, external_project=integration.external_project)[:1000],
            )
            for key in missing
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )  # a reference created meanwhile by someone else is reused
    for chunk in chunks(missing, BATCH):
        references.update((ref.key, ref) for ref in ExternalReference.objects.filter(source=source, key__in=chunk))
    return references


def _link_keys(
    project: Project,
    items: list[KeysToLink],
    options: dict,
    actor,
    *,
    side: str,
    kind: str,
    where: str,
    details: dict,
) -> list[LogEntry]:
    """Link each artefact (`side`: the Link field naming it) to the chosen tracker's issues by key."""
    integration, reason = _chosen_integration(project, options)
    check = check_defects(integration, {item.case_key: item.keys for item in items}, reason, kind=kind)
    log = list(check.skipped)
    if not check.linkable:
        return log
    source = integration.source
    references = _references_for(integration, sorted({key for keys in check.linkable.values() for key in keys}))
    artefact_ids = [item.artefact_id for item in items if item.case_key in check.linkable]
    existing = set()
    for chunk in chunks(artefact_ids, BATCH):
        existing.update(
            Link.objects.filter(**{f"{side}_id__in": chunk}, external_reference__source=source).values_list(
                f"{side}_id", "external_reference_id"
            )
        )
    new_links = []
    for item in items:
        for key in check.linkable.get(item.case_key, []):
            reference = references[key]
            if (item.artefact_id, reference.pk) in existing:
                log.append(LogEntry(kind, "unchanged", key, f"{item.case_key}: already linked to {where}"))
                continue
            new_links.append(
                Link(
                    project=project, external_reference=reference, created_by=actor, **{f"{side}_id": item.artefact_id}
                )
            )
            log.append(LogEntry(kind, "created", key, f"{item.case_key}: linked to {where} ({source.name})"))
    Link.objects.bulk_create(new_links, batch_size=BATCH, ignore_conflicts=True)
    if new_links:
        linked = sorted({link.external_reference.key for link in new_links})
        record_audit(
            AuditAction.ISSUE_LINKED,
            actor=actor,
            source=source,
            project=project,
            target=f"{len(new_links)} {kind} link{'s' * (len(new_links) != 1)} from a TestRail import",
            details={**details, "keys": linked[:500]},
        )
    return log


def _run_name(options: dict, export: ParsedExport) -> str:
    return (options.get("run_name") or export.run_name).strip()[: testrail.RUN_NAME_MAX]


@transaction.atomic
def _import(job: ImportJob, export: ParsedExport) -> None:
    mapping = testrail.Mapping.for_export(export, job.options.get("mapping"))
    if export.kind == testrail.CASES:
        outcome = testrail.import_cases(job.project, export, mapping, user=job.created_by, progress=job.report_progress)
        log = outcome.log + link_references(job.project, outcome.referenced, job.options, actor=job.created_by)
    else:
        outcome = testrail.import_results(
            job.project,
            export,
            mapping,
            run_name=_run_name(job.options, export),
            user=job.created_by,
            progress=job.report_progress,
        )
        log = outcome.log + link_defects(job.project, outcome.run, outcome.recorded, job.options, actor=job.created_by)
    job.finish(log=[entry.as_dict() for entry in log], run=outcome.run)


def run_job(job_id: int) -> ImportJob:
    """Import a queued job's file. Ends done (everything committed) or failed (nothing changed)."""
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    try:
        export = testrail.parse_export(bytes(job.data), job.filename)
    except testrail.TestRailError as error:
        job.fail(str(error))
        return job
    if not job.start(len(export.cases) if export.kind == testrail.CASES else len(export.results)):
        return job
    try:
        _import(job, export)
    except Exception:
        # The transaction rolled back; the job must still end, saying so, rather than spin forever.
        logger.exception("TestRail import %s of project %s failed", job.pk, job.project.key)
        job.fail(UNEXPECTED_ERROR)
    return job
