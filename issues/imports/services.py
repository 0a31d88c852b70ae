"""TestRail imports from the Import page and `manage.py import_testrail`: preview, run, defect links.

They live in the issues app because it is the one that may use all three: the projects importer
reads the file and writes cases, a run and results; integrations knows each tracker's key pattern
and issue URL template; here the defects TestRail recorded become tracker references linked to
the imported results. One file is one transaction: cases, results, references, links and the
job's final state are committed together, or nothing is.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations import selectors as tracker_selectors
from integrations.models import AuditAction, ProjectIntegration
from integrations.services import record_audit
from issues.links.models import ExternalReference, Link
from projects.batching import batches
from projects.importers import testrail
from projects.importers.testrail import BATCH, KeysToLink, LogEntry, ParsedExport
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
    with transaction.atomic():
        job.data = b""  # the row first, then the file in parts (see ImportJob.store_file)
        job.save()
        job.store_file(data)
    job.data = data
    return job


def _export(job: ImportJob) -> ParsedExport:
    """The job's file surveyed again, read from its row a part at a time."""
    return testrail.parse_export(job.open_file, job.filename)


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
    """The defects (or references) of an export sorted for the chosen tracker: how many can be
    linked, and the others with the reason. `sort` adds a batch of them."""

    integration: ProjectIntegration | None
    no_tracker_reason: str = ""
    kind: str = "defect"
    link_count: int = 0
    skipped: list[LogEntry] = field(default_factory=list)

    def sort(self, defects: dict[str, list[str]]) -> dict[str, list[str]]:
        """The linkable keys of these (case key -> tracker keys: RE2 key pattern of the tracker); the
        others are kept in `skipped`."""
        linkable: dict[str, list[str]] = {}
        integration, kind = self.integration, self.kind
        for case_key, keys in defects.items():
            for key in keys:
                if integration is None:
                    self.skipped.append(
                        LogEntry(kind, "skipped", key, f"{case_key}: not linked, {self.no_tracker_reason}.")
                    )
                elif tracker_selectors.key_matches(integration.source, key):
                    linkable.setdefault(case_key, []).append(key)
                    self.link_count += 1
                else:
                    source = integration.source
                    self.skipped.append(
                        LogEntry(
                            kind,
                            "skipped",
                            key,
                            f"{case_key}: “{key}” is not a {source.name} issue key "
                            f"(key pattern {tracker_selectors.key_pattern(source)}), so it was not linked.",
                        )
                    )
        return linkable


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
    case_counts: Counter  # created / updated / unchanged -> how many cases
    sample: list[tuple[testrail.ParsedCase, str]]  # the first cases with what the import does to them
    run: TestRun | None = None  # the existing run results would go into
    results_updated: int = 0
    defects: DefectCheck | None = None

    @property
    def count_created(self) -> int:
        return self.case_counts["created"]

    @property
    def count_updated(self) -> int:
        return self.case_counts["updated"]

    @property
    def count_unchanged(self) -> int:
        return self.case_counts["unchanged"]

    @property
    def has_defects(self) -> bool:
        return self.export.has_defects


def preview(job: ImportJob) -> Preview:
    """What the import would create, update and skip with the job's current options; writes nothing.

    The file is read again batch by batch: what stays are counts and the first cases."""
    export = _export(job)
    project, options = job.project, job.options
    mapping = testrail.Mapping.for_export(export, options.get("mapping"))
    result = Preview(
        job=job,
        export=export,
        mapping=mapping,
        run_name=options.get("run_name") or export.run_name,
        integrations=list(tracker_selectors.pickable_integrations(project)),
        case_counts=Counter(),
        sample=[],
    )
    if export.kind == testrail.CASES:
        cases = testrail.preview_cases(project, export, mapping)
        result.case_counts = cases.counts
        result.sample = [(case, cases.first_actions[case.key]) for case in export.first_cases]
        return result
    result.run = testrail.find_run(project, result.run_name)
    integration, reason = _chosen_integration(project, options)
    result.defects = DefectCheck(integration, reason)
    first_keys, existing_first = {case.key for case in export.first_cases}, set()
    for batch in batches(export.items(), BATCH):
        parsed = [item for item in batch if isinstance(item, testrail.ParsedCase)]
        ids = testrail.case_ids(project, [case.key for case in parsed])
        existing_first |= first_keys & ids.keys()
        result.case_counts.update("unchanged" if case.key in ids else "created" for case in parsed)
        if result.run is not None:
            result.results_updated += TestResult.objects.filter(run=result.run, case_id__in=ids.values()).count()
        defects = [item for item in batch if isinstance(item, testrail.ParsedResult) and item.defects]
        result.defects.sort({item.case_key: item.defects for item in defects})
    result.sample = [(case, "unchanged" if case.key in existing_first else "created") for case in export.first_cases]
    return result


def _references_for(integration: ProjectIntegration, keys: list[str]) -> dict[str, int]:
    """The ids of the source's references with these keys (a batch), created (without a title yet) when new."""
    source = integration.source
    references = dict(ExternalReference.objects.filter(source=source, key__in=keys).values_list("key", "pk"))
    missing = [key for key in keys if key not in references]
    if missing:
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
            ignore_conflicts=True,
        )  # a reference created meanwhile by someone else is reused
        references.update(ExternalReference.objects.filter(source=source, key__in=missing).values_list("key", "pk"))
    return references


class _Linker:
    """Links imported artefacts to the chosen tracker's issues by the keys TestRail gave them, a batch
    at a time (the importer's `link` callback), and audits the links made once, at the end.

    `side` is the Link field naming the artefact: test_result for a result's defects, test_case for a
    case's references; keys that are not the tracker's are logged as skipped. Only the keys linked
    so far are kept between batches, for the audit.
    """

    def __init__(self, job: ImportJob, *, side: str, kind: str, where: str, details: dict):
        integration, reason = _chosen_integration(job.project, job.options)
        self.check = DefectCheck(integration, reason, kind)
        self.project, self.actor = job.project, job.created_by
        self.side, self.kind, self.where, self.details = side, kind, where, details
        self.linked_keys: set[str] = set()
        self.link_count = 0

    def __call__(self, items: list[KeysToLink]) -> list[LogEntry]:
        skipped_before = len(self.check.skipped)
        linkable = self.check.sort({item.case_key: item.keys for item in items})
        log = self.check.skipped[skipped_before:]
        del self.check.skipped[skipped_before:]  # they are in this batch's log
        if linkable:
            log += self._link(items, linkable)
        return log

    def _link(self, items: list[KeysToLink], linkable: dict[str, list[str]]) -> list[LogEntry]:
        side, kind, integration = self.side, self.kind, self.check.integration
        source = integration.source
        references = _references_for(integration, sorted({key for keys in linkable.values() for key in keys}))
        artefact_ids = [item.artefact_id for item in items if item.case_key in linkable]
        existing = set(
            Link.objects.filter(**{f"{side}_id__in": artefact_ids}, external_reference__source=source).values_list(
                f"{side}_id", "external_reference_id"
            )
        )
        log, new_links = [], []
        for item in items:
            artefact_id, case_key = item.artefact_id, item.case_key
            for key in linkable.get(case_key, []):
                if (artefact_id, references[key]) in existing:
                    log.append(LogEntry(kind, "unchanged", key, f"{case_key}: already linked to {self.where}"))
                    continue
                new_links.append(
                    Link(
                        project=self.project,
                        external_reference_id=references[key],
                        created_by=self.actor,
                        **{f"{side}_id": artefact_id},
                    )
                )
                self.linked_keys.add(key)
                log.append(LogEntry(kind, "created", key, f"{case_key}: linked to {self.where} ({source.name})"))
        Link.objects.bulk_create(new_links, ignore_conflicts=True)
        self.link_count += len(new_links)
        return log

    def audit(self) -> None:
        if not self.link_count:
            return
        count, kind = self.link_count, self.kind
        record_audit(
            AuditAction.ISSUE_LINKED,
            actor=self.actor,
            source=self.check.integration.source,
            project=self.project,
            target=f"{count} {kind} link{'s' * (count != 1)} from a TestRail import",
            details={**self.details, "keys": sorted(self.linked_keys)[:500]},
        )


def _run_name(options: dict, export: ParsedExport) -> str:
    return (options.get("run_name") or export.run_name).strip()[: testrail.RUN_NAME_MAX]


@transaction.atomic
def _import(job: ImportJob, export: ParsedExport) -> None:
    mapping = testrail.Mapping.for_export(export, job.options.get("mapping"))
    options = {"user": job.created_by, "progress": job.report_progress}
    if export.kind == testrail.CASES:
        linker = _Linker(
            job, side="test_case", kind="reference", where="its test case", details={"artefact": "test cases"}
        )
        outcome = testrail.import_cases(job.project, export, mapping, link=linker, **options)
    else:
        run_name = _run_name(job.options, export)
        linker = _Linker(
            job, side="test_result", kind="defect", where=f"its result in “{run_name}”", details={"run": run_name[:200]}
        )
        outcome = testrail.import_results(job.project, export, mapping, run_name=run_name, link=linker, **options)
    linker.audit()
    job.finish(log=[entry.as_dict() for entry in outcome.log], run=outcome.run)


def run_job(job_id: int) -> ImportJob:
    """Import a queued job's file. Ends done (everything committed) or failed (nothing changed)."""
    job = ImportJob.objects.select_related("project", "created_by").defer("data").get(pk=job_id)
    if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return job
    try:
        export = _export(job)
    except testrail.TestRailError as error:
        job.fail(str(error))
        return job
    if not job.start(export.case_count if export.kind == testrail.CASES else export.result_count):
        return job
    try:
        _import(job, export)
    except Exception:
        # The transaction rolled back; the job must still end, saying so, rather than spin forever.
        logger.exception("TestRail import %s of project %s failed", job.pk, job.project.key)
        job.fail(UNEXPECTED_ERROR)
    return job
