"""JUnit XML reports (pytest, Maven Surefire, jest-junit, go-junit-report, node --test, ctest, ...) into a run.

`parse_report` reads the whole report before anything is written, as a stream (one test case's
elements in memory at a time, never the report's tree); `import_junit` then records it batch by
batch in one transaction: a report either lands completely or not at all. Test cases
are matched by `TestCase.automation_key` ("classname.name") and created when missing, so
uploading the next build's report updates the same cases instead of duplicating them.

Node's junit reporter writes the same classname ("test") for every test and nests a
`<testsuite>` per describe block, so for its tests the describe path is part of the key
("Cart › vouchers › test.accepts SAVE10"). Every other report keeps the key it always had.
"""

import hashlib
from collections import Counter
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
# A `status` attribute (ctest, googletest) that says a test ran; any other value ("notrun",
# "disabled", ...) means it did not, even without a <skipped> element.
RAN_STATUSES = frozenset({"run", "pass", "passed", "success", "ok", "completed"})
FAILED_STATUSES = frozenset({"fail", "failed", "error"})
OUTPUT_ELEMENTS = ("system-out", "system-err")
# The classname node's junit reporter writes on every test: it tells tests apart by nothing.
NODE_CLASSNAME = "test"
SUITE_PATH_SEPARATOR = " › "
QUERY_BATCH = 500
# Suites inside suites (node's describe blocks, ctest labels) nest a few levels, a test case adds
# two (<testcase><failure>); a report nested deeper is refused while it is read (bounded_xml).
MAX_DEPTH = 100


class JUnitError(ValueError):
    """The report cannot be imported; the message tells the uploader why."""


# Slots: a 100,000-case report keeps one of these per test until it is written.
@dataclass(frozen=True, slots=True)
class ReportedCase:
    automation_key: str
    title: str
    folder: str
    status: str
    comment: str
    duration: timedelta | None
    # The key this test had before suite paths counted (node reports), so cases recorded by
    # older uploads are found and take the new key; empty when the key never changed.
    former_key: str = ""


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


def _truncated(comment: str) -> str:
    if len(comment) > MAX_COMMENT_CHARS:
        return comment[:MAX_COMMENT_CHARS] + "\n… (truncated)"
    return comment


def _captured_output(testcase: Element) -> str:
    streams = (child.text or "" for child in testcase if _local_name(child.tag) in OUTPUT_ELEMENTS)
    return "\n\n".join(text.strip() for text in streams if text.strip())


def _element_comment(testcase: Element, child: Element) -> str:
    head = (child.get("message") or child.get("type") or "").strip()
    body = (child.text or "").strip()
    if not body and _local_name(child.tag) != "skipped":
        # ctest writes an empty <failure/> and the test's output in <system-out>.
        body = _captured_output(testcase)
    # Some tools repeat the message as the first line of the details.
    return body if head and body.startswith(head) else "\n\n".join(p for p in (head, body) if p)


def _status_attribute_outcome(testcase: Element) -> tuple[str, str]:
    status = (testcase.get("status") or "").strip()
    if not status or status.lower() in RAN_STATUSES:
        return ResultStatus.PASSED, ""
    if status.lower() in FAILED_STATUSES:
        return ResultStatus.FAILED, _captured_output(testcase)
    return ResultStatus.SKIPPED, f"Not run ({status})."


def _outcome(testcase: Element) -> tuple[str, str]:
    for child in testcase:
        status = OUTCOME_ELEMENTS.get(_local_name(child.tag))
        if status is not None:
            return status, _truncated(_element_comment(testcase, child))
    status, comment = _status_attribute_outcome(testcase)
    return status, _truncated(comment)


@dataclass
class _Open:
    """An element being read; `suite` when it is the root or a suite inside suites (its test cases count)."""

    element: Element
    suite: bool
    suite_name: str = ""
    suite_path: tuple[str, ...] = ()


def _root(element: Element) -> _Open:
    root_tag = _local_name(element.tag)
    if root_tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"Expected a JUnit report with <testsuites> or <testsuite> at its root, found <{root_tag}>.")
    name = element.get("name") or ""
    return _Open(element, True, name, (name,) if root_tag == "testsuite" and name else ())


def _opened(parent: _Open, element: Element) -> _Open:
    tag = _local_name(element.tag)
    if not parent.suite or tag not in ("testsuite", "testsuites"):
        return _Open(element, False)
    name = element.get("name") or ""
    path = (*parent.suite_path, name) if tag == "testsuite" and name else parent.suite_path
    return _Open(element, True, name or parent.suite_name, path)


def _testcases(data: bytes):
    """Each <testcase> of the suites with the name of its innermost suite and the names of its <testsuite>s.

    Read as a stream: a test case is handed over when it closes and then dropped from its suite,
    as is anything else a suite holds, so memory holds one test case, not the report's tree.
    """
    stack: list[_Open] = []
    for event, element in bounded_xml.events(data, max_depth=MAX_DEPTH):
        if event == bounded_xml.START:
            stack.append(_opened(stack[-1], element) if stack else _root(element))
            continue
        stack.pop()
        parent = stack[-1] if stack else None
        if parent is None or not parent.suite:
            continue  # the root, or inside a test case (or other element) that is dropped as a whole
        if _local_name(element.tag) == "testcase":
            yield element, parent.suite_name, parent.suite_path
        parent.element.remove(element)


def ensure_size(size: int) -> None:
    if size > MAX_REPORT_BYTES:
        raise JUnitError(f"The report is larger than {filesizeformat(MAX_REPORT_BYTES)}.")


def parse_report(data: bytes) -> list[ReportedCase]:
    """Every test case of the report, one per automation key; raises JUnitError."""
    ensure_size(len(data))
    if not data.strip():
        raise JUnitError("The report is empty.")
    cases: dict[str, ReportedCase] = {}
    try:
        for position, (testcase, suite_name, suite_path) in enumerate(_testcases(data), start=1):
            case = _reported_case(testcase, suite_name, suite_path, position)
            earlier = cases.get(case.automation_key)
            if earlier is None or SEVERITY[case.status] >= SEVERITY[earlier.status]:
                cases[case.automation_key] = case
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
    return list(cases.values())


def _identity(classname: str, name: str, suite_name: str, suite_path: tuple[str, ...]) -> tuple[str, str, str]:
    """Automation key, folder and former key (see ReportedCase) of one test."""
    if classname == name:
        # jest-junit's default names both after the full test title; its suite is the better folder.
        return _automation_key("", name), suite_name[:FOLDER_MAX], ""
    key = _automation_key(classname, name)
    if classname == NODE_CLASSNAME and suite_path:
        scoped = _automation_key(SUITE_PATH_SEPARATOR.join((*suite_path, classname)), name)
        return scoped, "/".join(suite_path)[:FOLDER_MAX], key
    return key, _folder(classname), ""


def _reported_case(testcase: Element, suite_name: str, suite_path: tuple[str, ...], position: int) -> ReportedCase:
    name = (testcase.get("name") or "").strip()
    if not name:
        raise JUnitError(f"Test case #{position} (suite {suite_name or 'without a name'}) has no name attribute.")
    classname = (testcase.get("classname") or suite_name).strip()
    key, folder, former_key = _identity(classname, name, suite_name, suite_path)
    status, comment = _outcome(testcase)
    return ReportedCase(
        automation_key=key,
        title=name[:TITLE_MAX],
        folder=folder,
        status=status,
        comment=comment,
        duration=_duration(testcase.get("time")),
        former_key=former_key,
    )


def _cases_by_key(run: TestRun, keys) -> dict[str, TestCase]:
    found = {}
    for chunk in chunks(keys, QUERY_BATCH):
        found.update(
            (case.automation_key, case)
            for case in TestCase.objects.filter(project_id=run.project_id, automation_key__in=chunk)
        )
    return found


def _adoptable_former_keys(reported: list[ReportedCase]) -> set[str]:
    """The former keys whose cases may take a new key (see `_adopt_former_cases`), decided for the whole report.

    Only a former key that exactly one test of the report claims, and that no test has as its
    own key, is taken over: tests of one name in two describe blocks were one case before, and
    that case cannot become both.
    """
    claims = Counter(case.former_key for case in reported if case.former_key)
    own_keys = {case.automation_key for case in reported}
    return {key for key, count in claims.items() if count == 1 and key not in own_keys}


def _adopt_former_cases(
    run: TestRun, batch: list[ReportedCase], found: dict[str, TestCase], adoptable: set[str]
) -> dict[str, TestCase]:
    """Cases recorded under a test's former key take its new key, so its history continues."""
    former = _cases_by_key(run, [case.former_key for case in batch if case.former_key in adoptable])
    adopted = {}
    for case in batch:
        existing = former.get(case.former_key)
        if existing is not None and case.automation_key not in found:
            existing.automation_key = case.automation_key
            adopted[case.automation_key] = existing
    TestCase.objects.bulk_update(adopted.values(), ["automation_key"])
    return adopted


@dataclass
class _Recorded:
    case_ids: list[int]
    cases_created: int
    results_updated: int


def _record_batch(run: TestRun, batch: list[ReportedCase], adoptable: set[str], user, now) -> _Recorded:
    """One batch of the report into the run: its cases found, adopted or created, its results upserted.

    Batches keep the model objects of a few hundred tests alive at a time, whatever the report's size.
    """
    keys = [case.automation_key for case in batch]
    cases = _cases_by_key(run, keys)
    cases.update(_adopt_former_cases(run, batch, cases, adoptable))
    missing = [
        TestCase(
            project_id=run.project_id,
            automation_key=case.automation_key,
            title=case.title,
            folder=case.folder,
            created_by=user,
        )
        for case in batch
        if case.automation_key not in cases
    ]
    # A concurrent upload may create the same case first; the re-read below picks it up.
    TestCase.objects.bulk_create(missing, ignore_conflicts=True)
    cases.update(_cases_by_key(run, [case.automation_key for case in missing]))
    case_ids = [cases[key].pk for key in keys]
    already_recorded = TestResult.objects.filter(run=run, case_id__in=case_ids).count()
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
            for case in batch
        ],
        update_conflicts=True,
        unique_fields=["run", "case"],
        update_fields=["status", "comment", "duration", "recorded_by", "recorded_at"],
    )
    return _Recorded(case_ids, len(missing), already_recorded)


def import_junit(run: TestRun, data: bytes, *, user=None) -> ImportSummary:
    """Record a JUnit report into the run, creating missing test cases; all or nothing, in batches."""
    reported = parse_report(data)
    adoptable = _adoptable_former_keys(reported)
    now = timezone.now()
    case_ids: list[int] = []
    summary = ImportSummary()
    with transaction.atomic():
        for batch in chunks(reported, QUERY_BATCH):
            recorded = _record_batch(run, batch, adoptable, user, now)
            case_ids.extend(recorded.case_ids)
            summary.cases_created += recorded.cases_created
            summary.results_updated += recorded.results_updated
        results_recorded.send(sender=TestResult, run=run, case_ids=case_ids)
    summary.results_created = len(reported) - summary.results_updated
    summary.statuses = dict(Counter(case.status for case in reported))
    return summary
