"""JUnit XML reports (pytest, Maven Surefire, jest-junit, go-junit-report, ...) into a test run.

`parse_report` reads the whole report before anything is written; `import_junit` then
records it in one transaction: a report either lands completely or not at all. Test cases
are matched by `TestCase.automation_key` ("classname.name") and created when missing, so
uploading the next build's report updates the same cases instead of duplicating them.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from ..batching import chunks
from ..models import ResultStatus, TestCase, TestResult, TestRun
from ..signals import results_recorded
from . import bounded_xml

MAX_REPORT_BYTES = 50 * 1024 * 1024
MAX_COMMENT_CHARS = 20_000
KEY_MAX = TestCase._meta.get_field("automation_key").max_length
TITLE_MAX = TestCase._meta.get_field("title").max_length
FOLDER_MAX = TestCase._meta.get_field("folder").max_length
# When one test appears more than once (reruns, merged reports) its worst outcome counts.
SEVERITY = {ResultStatus.PASSED: 0, ResultStatus.SKIPPED: 1, ResultStatus.FAILED: 2}
OUTCOME_ELEMENTS = {"failure": ResultStatus.FAILED, "error": ResultStatus.FAILED, "skipped": ResultStatus.SKIPPED}
QUERY_BATCH = 500
# Suites inside suites (node's describe blocks, ctest labels) nest a few levels, a test case adds
# two (<testcase><failure>); a report nested deeper is refused while it is read (bounded_xml).
MAX_DEPTH = 100


class JUnitError(ValueError):
    """The report cannot be imported; the message tells the uploader why."""


@dataclass(frozen=True)
class ReportedCase:
    automation_key: str
    title: str
    folder: str
    status: str
    comment: str
    duration: timedelta | None


@dataclass
class ImportSummary:
    cases_created: int = 0
    results_created: int = 0
    results_updated: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


def _local_name(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _automation_key(classname: str, name: str) -> str:
    key = f"{classname}.{name}" if classname else name
    if len(key) <= KEY_MAX:
        return key
    # Still unique and stable for absurdly long parametrized names.
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: KEY_MAX - 17]}#{digest}"


def _folder(classname: str) -> str:
    # Dotted class names (Java, Python) become folders; Go package paths already are paths.
    return (classname if "/" in classname else classname.replace(".", "/"))[:FOLDER_MAX]


def _duration(value: str | None) -> timedelta | None:
    try:
        seconds = float((value or "").replace(",", ""))
    except ValueError:
        return None
    return timedelta(seconds=seconds) if 0 <= seconds < 10**8 else None


def _outcome(testcase: Element) -> tuple[str, str]:
    for child in testcase:
        status = OUTCOME_ELEMENTS.get(_local_name(child.tag))
        if status is not None:
            head = (child.get("message") or child.get("type") or "").strip()
            body = (child.text or "").strip()
            # Some tools repeat the message as the first line of the details.
            comment = body if head and body.startswith(head) else "\n\n".join(p for p in (head, body) if p)
            if len(comment) > MAX_COMMENT_CHARS:
                comment = comment[:MAX_COMMENT_CHARS] + "\n… (truncated)"
            return status, comment
    return ResultStatus.PASSED, ""


def _testcases(element: Element, suite_name: str):
    for child in element:
        tag = _local_name(child.tag)
        if tag in ("testsuite", "testsuites"):
            yield from _testcases(child, child.get("name") or suite_name)
        elif tag == "testcase":
            yield child, suite_name


def ensure_size(size: int) -> None:
    if size > MAX_REPORT_BYTES:
        raise JUnitError(f"The report is larger than {filesizeformat(MAX_REPORT_BYTES)}.")


def parse_report(data: bytes) -> list[ReportedCase]:
    """Every test case of the report, one per automation key; raises JUnitError."""
    ensure_size(len(data))
    if not data.strip():
        raise JUnitError("The report is empty.")
    try:
        root = bounded_xml.parse(data, max_depth=MAX_DEPTH)
    except bounded_xml.TooDeep as exc:
        raise JUnitError(
            f"The report nests elements more than {MAX_DEPTH} levels deep, which no test tool writes; it was not read."
        ) from exc
    except DefusedXmlException as exc:
        raise JUnitError(
            "The report declares XML entities or external references, which are refused "
            "(JUnit reports never need them; they are how XML bombs work)."
        ) from exc
    except ParseError as exc:
        raise JUnitError(f"The report is not well-formed XML: {exc}.") from exc
    root_tag = _local_name(root.tag)
    if root_tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"Expected a JUnit report with <testsuites> or <testsuite> at its root, found <{root_tag}>.")

    cases: dict[str, ReportedCase] = {}
    for position, (testcase, suite_name) in enumerate(_testcases(root, root.get("name") or ""), start=1):
        name = (testcase.get("name") or "").strip()
        if not name:
            raise JUnitError(f"Test case #{position} (suite {suite_name or 'without a name'}) has no name attribute.")
        classname = (testcase.get("classname") or suite_name).strip()
        if classname == name:
            # jest-junit's default names both after the full test title; its suite is the better folder.
            key, folder = _automation_key("", name), suite_name[:FOLDER_MAX]
        else:
            key, folder = _automation_key(classname, name), _folder(classname)
        status, comment = _outcome(testcase)
        case = ReportedCase(
            automation_key=key,
            title=name[:TITLE_MAX],
            folder=folder,
            status=status,
            comment=comment,
            duration=_duration(testcase.get("time")),
        )
        earlier = cases.get(case.automation_key)
        if earlier is None or SEVERITY[case.status] >= SEVERITY[earlier.status]:
            cases[case.automation_key] = case
    return list(cases.values())


def _cases_by_key(run: TestRun, keys) -> dict[str, TestCase]:
    found = {}
    for chunk in chunks(keys, QUERY_BATCH):
        found.update(
            (case.automation_key, case)
            for case in TestCase.objects.filter(project_id=run.project_id, automation_key__in=chunk)
        )
    return found


def import_junit(run: TestRun, data: bytes, *, user=None) -> ImportSummary:
    """Record a JUnit report into the run, creating missing test cases; all or nothing."""
    reported = parse_report(data)
    keys = [case.automation_key for case in reported]
    with transaction.atomic():
        cases = _cases_by_key(run, keys)
        missing = [
            TestCase(
                project_id=run.project_id,
                automation_key=case.automation_key,
                title=case.title,
                folder=case.folder,
                created_by=user,
            )
            for case in reported
            if case.automation_key not in cases
        ]
        # A concurrent upload may create the same case first; the re-read below picks it up.
        TestCase.objects.bulk_create(missing, ignore_conflicts=True)
        cases_created = len(missing)
        cases.update(_cases_by_key(run, [case.automation_key for case in missing]))

        case_ids = [cases[key].pk for key in keys]
        already_recorded = set()
        for chunk in chunks(case_ids, QUERY_BATCH):
            recorded = TestResult.objects.filter(run=run, case_id__in=chunk)
            already_recorded.update(recorded.values_list("case_id", flat=True))
        now = timezone.now()
        TestResult.objects.bulk_create(
            [
                TestResult(
                    run=run,
                    case=cases[case.automation_key],
                    status=case.status,
                    comment=case.comment,
                    duration=case.duration,
                    recorded_by=user,
                    recorded_at=now,
                )
                for case in reported
            ],
            update_conflicts=True,
            unique_fields=["run", "case"],
            update_fields=["status", "comment", "duration", "recorded_by", "recorded_at"],
        )
        results_recorded.send(sender=TestResult, run=run, case_ids=case_ids)
    statuses: dict[str, int] = {}
    for case in reported:
        statuses[case.status] = statuses.get(case.status, 0) + 1
    return ImportSummary(
        cases_created=cases_created,
        results_created=len(reported) - len(already_recorded),
        results_updated=len(already_recorded),
        statuses=statuses,
    )
