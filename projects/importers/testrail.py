"""TestRail exports into test cases, a test run and its results.

Three exports are understood: the XML export of a suite (sections nested in sections, cases
with their fields, text or separated steps, custom fields), the CSV export of cases, and the
CSV export of a run's tests with their latest results.

A file is read twice, each time as a stream, so that memory holds a batch and never the file's
cases (a 50,000-case suite is a 34 MB file and would be a gigabyte of objects). `parse_export`
reads and checks the whole file before anything is written and keeps what the preview shows and
the import needs from the whole file: counts per value, custom fields, problems, the first cases.
`import_cases` and `import_results` then read it again and write it batch by batch, each in one
transaction: a file lands completely or not at all. Cases are found again by
`TestCase.import_key` (TestRail's case id, "C123"), so importing a newer export of the same suite
updates the cases instead of duplicating them.

Separated steps stay (action, expected) pairs; a text template's steps and expected result are one
pair. Priority, type (the project's case types, added when missing), estimate and custom fields (the
project's custom fields of the same name, text fields made when missing) land in the case's own
fields, as the preview's mapping says; references are listed as "TestRail fields" below the
preconditions. Defects and references are handed, batch by batch, to a `link` callback as keys per
result or case: turning them into tracker links is the issues app's business, since this app imports
neither integrations nor issues.
"""

import codecs
import csv
import io
import itertools
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from ..batching import batches, chunks
from ..models import (
    CaseField,
    CaseFieldKind,
    CasePriority,
    CaseType,
    Project,
    ResultStatus,
    TestCase,
    TestResult,
    TestRun,
    case_type_key,
)
from ..services import normalize_folder
from . import bounded_xml

MAX_FILE_BYTES = 50 * 1024 * 1024
BATCH = 500
SAMPLE_SIZE = 20  # cases the preview lists
TITLE_MAX = TestCase._meta.get_field("title").max_length
FOLDER_MAX = TestCase._meta.get_field("folder").max_length
RUN_NAME_MAX = TestRun._meta.get_field("name").max_length
LABEL_MAX = 100
LEAVE_OUT = ""
# Sections inside sections: real suites nest a handful of levels, and by a hundred the 500-character
# folder path is normally full, so deeper levels could not be told apart anyway. The bound keeps a
# hostile file (40,000 levels in 2 MB) from holding a web worker while it is read.
MAX_SECTION_DEPTH = 100
# Each section level is two elements (<section><sections>); a case adds up to seven below its section
# (cases, case, custom, steps_separated, step, content; or a field's item and value), with slack.
MAX_XML_DEPTH = 2 * MAX_SECTION_DEPTH + 20

CASES, RESULTS = "cases", "results"


class TestRailError(ValueError):
    """The file cannot be imported; the message tells the uploader why. Nothing was written."""


# --- What a file contains -------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    content: str
    expected: str = ""


@dataclass
class ParsedCase:
    key: str  # TestRail's case id, "C123"
    title: str
    folder: str
    type: str = ""
    priority: str = ""
    estimate: str = ""
    references: str = ""
    preconditions: str = ""
    steps_text: str = ""
    expected_text: str = ""
    steps: list[Step] = field(default_factory=list)
    mission: str = ""
    goals: str = ""
    # Custom field name (XML element or CSV column) -> its value as readable text.
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedResult:
    case_key: str
    status: str  # TestRail's status name, e.g. "Retest"
    comment: str
    elapsed: str
    defects: list[str]  # of every row of the test, when the export lists it more than once
    notes: list[str]  # tested by / on, version: kept in the comment's TestRail line
    where: str


# Slots: an import keeps one entry per case, result and link until the log is stored.
@dataclass(frozen=True, slots=True)
class LogEntry:
    kind: str  # case, result, defect
    action: str  # created, updated, unchanged, skipped
    item: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CustomField:
    name: str
    label: str
    count: int = 0
    sample: str = ""


Opener = Callable[[], BinaryIO]


def _sorted_counts(counts: Counter) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class ParsedExport:
    """What the whole file says, without its cases: they are read again, as a stream, by `items`."""

    kind: str  # CASES or RESULTS
    description: str
    open: Opener = field(repr=False)  # the file's bytes from their start
    encoding: str = "utf-8"
    case_count: int = 0
    result_count: int = 0
    run_name: str = ""  # suggested name of the run the results go into
    problems: list[LogEntry] = field(default_factory=list)  # items skipped while reading, with the reason
    custom_fields: dict[str, CustomField] = field(default_factory=dict)
    counts: dict[str, Counter] = field(default_factory=dict)  # priority, type, folder, status -> value counts
    first_cases: list[ParsedCase] = field(default_factory=list)  # the first SAMPLE_SIZE cases
    # A run's export: case key -> CSV line of its result (the last row of the test), and the
    # defects of every row of the tests that have some.
    result_lines: dict[str, int] = field(default_factory=dict, repr=False)
    defects: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def values_of(self, attribute: str) -> list[tuple[str, int]]:
        """Distinct non-empty values of a case attribute (type, priority) with how often they occur."""
        return _sorted_counts(self.counts.get(attribute, Counter()))

    def statuses(self) -> list[tuple[str, int]]:
        return _sorted_counts(self.counts.get("status", Counter()))

    def folders(self) -> list[tuple[str, int]]:
        return sorted(self.counts.get("folder", Counter()).items())

    @property
    def has_defects(self) -> bool:
        return bool(self.defects)

    def items(self) -> Iterator["ParsedCase | ParsedResult"]:
        """The file read again: each case once (in a run's export, from its first row), and each
        test's result at its last row."""
        text = _Text(self.open(), self.encoding)
        reader = _Reader()
        if self.kind == CASES and text.first_character() == "<":
            yield from _xml_cases(text, reader)
            return
        header, rows = _csv_table(text)
        if self.kind == CASES:
            yield from _csv_cases(header, rows, reader)
        else:
            yield from _csv_results(header, rows, reader, self)

    def cases(self) -> Iterator[ParsedCase]:
        return (item for item in self.items() if isinstance(item, ParsedCase))


# --- Reading the bytes ------------------------------------------------------------------

_XML_DECLARED_ENCODING = re.compile(rb"^<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
_CHUNK = 1 << 16


def _encoding(head: bytes) -> str:
    """The file's encoding from its first bytes: UTF-8 (with or without BOM), UTF-16 by its BOM, or
    what an XML declaration names."""
    if head.startswith(b"PK\x03\x04"):
        raise TestRailError(
            "This is a ZIP or Excel file. Export the suite from TestRail as XML, "
            "or the cases or the run's tests as CSV, and upload that file."
        )
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    declared = _XML_DECLARED_ENCODING.match(head)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise TestRailError(
            f"The XML declares the encoding “{encoding}”, which is unknown. "
            "Export the file again from TestRail (it writes UTF-8)."
        ) from None
    return encoding


class _Text:
    """The file's text a chunk at a time: decoded, with its line ends as \\n.

    `read` serves the XML parser, `lines` the CSV reader. A byte that is not text in the encoding
    raises TestRailError naming it, counted from the start of the text (after a UTF-8 BOM).
    """

    def __init__(self, raw: BinaryIO, encoding: str):
        self.raw, self.encoding = raw, encoding
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.decoded = 0  # bytes handed to the decoder so far
        self.bom = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
        self.carried, self.peeked = "", ""

    def _decode(self, data: bytes, final: bool) -> str:
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError as error:
            position = self.decoded - pending + error.start - self.bom
            name = "UTF-8" if self.encoding == "utf-8-sig" else self.encoding.upper()
            raise TestRailError(
                f"The file is not readable as {name} text: byte {position + 1} "
                f"(0x{error.object[error.start]:02X}) is invalid there. TestRail exports are UTF-8; if the file was "
                "edited, save it as UTF-8 (with or without BOM) or UTF-16 with a BOM and upload it again."
            ) from None
        self.decoded += len(data)
        return text

    def read(self, size: int = -1) -> str:
        """The next chunk of text (whatever `size` asks), "" at the end."""
        if self.peeked:
            text, self.peeked = self.peeked, ""
            return text
        while True:
            data = self.raw.read(_CHUNK)
            text = self.carried + self._decode(data, final=not data)
            # A \r at a chunk's end may be the first half of \r\n.
            self.carried = text[-1:] if data and text.endswith("\r") else ""
            text = text[: len(text) - len(self.carried)].replace("\r\n", "\n").replace("\r", "\n")
            if text or not data:
                return text

    def first_character(self) -> str:
        """The first character that is not white space ("" for none), without consuming the text."""
        text = ""
        while not text.strip() and (chunk := self.read()):
            text += chunk
        self.peeked = text
        return text.lstrip()[:1]

    def lines(self) -> Iterator[str]:
        rest = ""
        while chunk := self.read():
            *complete, rest = (rest + chunk).split("\n")
            yield from (line + "\n" for line in complete)
        if rest:
            yield rest


def parse_export(source: bytes | Opener, filename: str = "") -> ParsedExport:
    """What the file would import; raises TestRailError naming the problem.

    `source` is the file's bytes, or a function opening them (a stored job's file, read in parts).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) > MAX_FILE_BYTES:
            raise TestRailError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        data = source

        def source() -> BinaryIO:
            return io.BytesIO(data)

    with source() as raw:
        encoding = _encoding(raw.read(1024))
    text = _Text(source(), encoding)
    first = text.first_character()
    if not first:
        raise TestRailError("The file is empty.")
    if first == "<":
        return _survey_xml(text, source, encoding)
    return _survey_csv(text, source, encoding, default_run_name=PurePath(filename).stem if filename else "")


# --- Shared helpers ---------------------------------------------------------------------

_CASE_ID = re.compile(r"^[Cc]?(\d{1,18})$")


def case_key(raw: str) -> str:
    """'C123', 'c123' or '123' -> 'C123'; '' for anything else."""
    match = _CASE_ID.match(raw.strip())
    return f"C{int(match.group(1))}" if match else ""


def _folder(sections: list[str]) -> str:
    # A slash inside a section's name would otherwise split it into two folders.
    return normalize_folder("/".join(name.replace("/", "-") for name in sections))[:FOLDER_MAX]


def _subsection_path(parent: str, name: str) -> str:
    """The normalized path of a section below `parent` (`_folder` of it is its first FOLDER_MAX characters).

    A path already longer than a folder keeps, so each level costs at most a folder's length
    instead of the whole path above it: linear in the nesting, not quadratic.
    """
    if len(parent) > FOLDER_MAX:
        return parent
    return normalize_folder(f"{parent}/{name.replace('/', '-')}")


def _humanize(name: str) -> str:
    text = name.replace("_", " ").strip()
    return (text[:1].upper() + text[1:])[:LABEL_MAX]


def _numbered(text: str) -> dict[int, str]:
    """'1. Open\\n2. Pay' -> {1: 'Open', 2: 'Pay'}; text without numbers is one step."""
    items: dict[int, list[str]] = {}
    current = None
    for line in text.split("\n"):
        match = re.match(r"^\s*(\d+)[.)]\s+(.*)$", line)
        if match:
            current = int(match.group(1))
            items[current] = [match.group(2)]
        elif current is not None:
            items[current].append(line)
    if not items:
        return {1: text.strip()} if text.strip() else {}
    return {number: "\n".join(lines).strip() for number, lines in items.items()}


class _Reader:
    """What one reading of the file met: duplicate and missing ids are skipped with the reason, and the
    values the preview counts are counted. Cases are not kept: only the title and folder of each
    key's first case, for the message about a later one."""

    def __init__(self):
        self.first_seen: dict[str, tuple[str, str]] = {}
        self.problems: list[LogEntry] = []
        self.custom_fields: dict[str, CustomField] = {}
        self.counts = {name: Counter() for name in ("priority", "type", "folder", "status")}
        self.first_cases: list[ParsedCase] = []
        self.rows = 0  # CSV rows read, blank ones left out
        self.suite, self.sections = None, 0  # XML: the suite's name, how many sections it has

    def skip(self, item: str, message: str, kind: str = "case") -> None:
        self.problems.append(LogEntry(kind, "skipped", item, message))

    def identify(self, raw_id: str, title: str, where: str) -> str:
        """The case's key, or '' after logging why the case is skipped."""
        item = raw_id or title or where
        if not title:
            self.skip(item, f"{where}: the case has no title.")
            return ""
        key = case_key(raw_id)
        if not key:
            reason = (
                f"“{raw_id}” is not a TestRail case id such as C123" if raw_id else "it has no TestRail case id (C123)"
            )
            self.skip(item, f"{where}: {reason}, so a later import could not find it again.")
            return ""
        return key

    def add(self, case: ParsedCase, where: str, labels: dict[str, str]) -> bool:
        """Count the case unless its id came earlier; `labels` names its custom fields for the mapping."""
        earlier = self.first_seen.get(case.key)
        if earlier is not None:
            title, folder = earlier
            self.skip(
                case.key,
                f"{where}: {case.key} appears a second time; the first one "
                f"(“{title}” in {folder or 'no folder'}) is imported.",
            )
            return False
        self.first_seen[case.key] = (case.title, case.folder)
        if len(self.first_cases) < SAMPLE_SIZE:
            self.first_cases.append(case)
        for name in ("priority", "type"):
            if getattr(case, name):
                self.counts[name][sys.intern(getattr(case, name))] += 1
        self.counts["folder"][case.folder] += 1
        for name, value in case.custom.items():
            custom = self.custom_fields.setdefault(name, CustomField(name=name, label=labels[name][:LABEL_MAX]))
            custom.count += 1
            custom.sample = custom.sample or value[:80]
        return True


# --- XML ----------------------------------------------------------------------------------

# Children of <custom> that are TestRail's own fields rather than a team's custom fields.
_XML_BUILTIN_CUSTOM = {"preconds", "steps", "expected", "steps_separated", "mission", "goals"}
_XML_CASE_FIELDS = {"id", "title", "template", "type", "priority", "estimate", "references", "custom"}
_XML_LABELS = {"status": "Case status", "assignedto": "Assigned to", "milestone": "Milestone"}


def _text(element: Element | None) -> str:
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def _child_text(element: Element, tag: str) -> str:
    return _text(element.find(tag))


def _field_value(element: Element) -> str:
    """A custom field's value as text: dropdowns and users carry <id> and <value>, multi-selects <item>s."""
    items = element.findall("item")
    if items:
        return ", ".join(value for value in (_field_value(item) for item in items) if value)
    if element.find("value") is not None:
        return _child_text(element, "value")
    return _text(element)


def _xml_steps(custom: Element) -> list[Step]:
    steps = []
    container = custom.find("steps_separated")
    for step in container.findall("step") if container is not None else ():
        content = _child_text(step, "content")
        extra = _child_text(step, "additional_info")
        if extra:
            content = f"{content}\n\n*Additional info:* {extra}".strip()
        expected = _child_text(step, "expected")
        if content or expected:
            steps.append(Step(content, expected))
    return steps


def _xml_case(reader: _Reader, element: Element, folder: str, position: int) -> ParsedCase | None:
    where = f"Case #{position} in {folder or 'the suite'}"
    title = _child_text(element, "title")
    key = reader.identify(_child_text(element, "id"), title, where)
    if not key:
        return None
    custom = element.find("custom")
    custom = custom if custom is not None else Element("custom")
    extras = [child for child in element if child.tag not in _XML_CASE_FIELDS]
    extras += [child for child in custom if child.tag not in _XML_BUILTIN_CUSTOM]
    fields = {child.tag: _field_value(child) for child in extras}
    fields = {name: value for name, value in fields.items() if value}
    labels = {name: _XML_LABELS.get(name, _humanize(name)) for name in fields}
    case = ParsedCase(
        key=key,
        title=title[:TITLE_MAX],
        folder=folder,
        type=_child_text(element, "type"),
        priority=_child_text(element, "priority"),
        estimate=_child_text(element, "estimate"),
        references=_child_text(element, "references"),
        preconditions=_child_text(custom, "preconds"),
        steps_text=_child_text(custom, "steps"),
        expected_text=_child_text(custom, "expected"),
        steps=_xml_steps(custom),
        mission=_child_text(custom, "mission"),
        goals=_child_text(custom, "goals"),
        custom=fields,
    )
    return case if reader.add(case, where, labels) else None


_TOO_DEEP = (
    f"Sections are nested more than {MAX_SECTION_DEPTH} levels deep, which no TestRail suite does; "
    "the file was not read further. Move the deepest sections up in TestRail and export the suite again."
)


def _xml_root(element: Element) -> "_Open":
    if element.tag not in ("suite", "sections"):
        hint = (
            " It looks like a JUnit report: upload it on a test run instead."
            if element.tag in ("testsuites", "testsuite")
            else ""
        )
        raise TestRailError(f"Expected TestRail's XML export, with <suite> at its root; found <{element.tag}>.{hint}")
    return _Open(element, _TOP if element.tag == "sections" else _SUITE)


# What an element is to the export: the suite, the container of its top sections, a section, a
# section's containers of cases and of subsections, a case; anything else is only text to a case.
_SUITE, _TOP, _SECTION, _CASES, _SUBSECTIONS, _CASE, _OTHER = [
    "suite",
    "top",
    "section",
    "cases",
    "subsections",
    "case",
    "other",
]
# Elements whose finished children are dropped as soon as they are read.
_CONTAINERS = {_SUITE, _TOP, _SECTION, _CASES, _SUBSECTIONS}


@dataclass
class _Open:
    """An element being read, with what the export's structure says about it."""

    element: Element
    role: str
    depth: int = 0  # sections: 1 for a top section; containers of subsections: their section's
    above: str = ""  # sections: the path of the section above; containers: the path of their section
    name: str | None = None  # sections: the text of their <name> once read; the suite: its name
    opened: set[str] = field(default_factory=set)  # roles of the (first) containers already met

    def path(self) -> str:
        """A section's normalized path (its name is read before its cases and subsections, as TestRail writes)."""
        if self.role != _SECTION:
            return self.above
        return _subsection_path(self.above, self.name or "Untitled section")

    def child(self, element: Element) -> "_Open":
        if self.role in (_CASE, _OTHER):
            return _INSIDE  # a case's fields are read when the case closes
        role = _CHILD_ROLES[self.role].get(element.tag, _OTHER)
        if role in (_TOP, _CASES, _SUBSECTIONS):
            if role in self.opened:  # only a section's (or the suite's) first container counts
                return _Open(element, _OTHER)
            self.opened.add(role)
        if role == _SECTION:
            depth = self.depth + 1
            if depth > MAX_SECTION_DEPTH:
                raise TestRailError(_TOO_DEEP)
            return _Open(element, role, depth, self.above)
        return _Open(element, role, self.depth, self.path())


_CHILD_ROLES = {
    _SUITE: {"sections": _TOP},
    _TOP: {"section": _SECTION},
    _SUBSECTIONS: {"section": _SECTION},
    _SECTION: {"cases": _CASES, "sections": _SUBSECTIONS, "case": _CASE},
    _CASES: {"case": _CASE},
}
# Every element inside a case (or inside anything else that is not the export's structure): one
# shared placeholder, since nothing is done when such an element opens or closes.
_INSIDE = _Open(Element("inside"), _OTHER)


def _xml_cases(text: _Text, reader: _Reader) -> Iterator[ParsedCase]:
    """The suite's cases read as a stream: each case is taken when it closes and then dropped, as is
    each finished section, so memory never holds the export's whole tree."""
    stack: list[_Open] = []
    position = 0
    try:
        for event, element in bounded_xml.events(text, max_depth=MAX_XML_DEPTH):
            if event == bounded_xml.START:
                stack.append(stack[-1].child(element) if stack else _xml_root(element))
                reader.sections += stack[-1].role == _SECTION
                continue
            closed = stack.pop()
            if closed is _INSIDE:
                continue
            parent = stack[-1] if stack else None
            if closed.role == _CASE:
                position += 1
                case = _xml_case(reader, element, closed.above[:FOLDER_MAX], position)
                if case is not None:
                    yield case
            elif parent is not None and element.tag == "name" and parent.role in (_SUITE, _SECTION):
                if parent.role == _SUITE and reader.suite is None:
                    reader.suite = _text(element)
                elif parent.role == _SECTION and parent.name is None:
                    parent.name = _text(element)
            if parent is not None and parent.role in _CONTAINERS:
                parent.element.remove(element)
    except bounded_xml.TooDeep:
        raise TestRailError(_TOO_DEEP) from None
    except DefusedXmlException:
        raise TestRailError(
            "The XML declares entities or external references, which are refused: TestRail "
            "exports never contain them, and they are how XML bombs and file theft work."
        ) from None
    except ParseError as error:
        raise TestRailError(f"The file is not well-formed XML: {error}.") from None


def _survey_xml(text: _Text, source: Opener, encoding: str) -> ParsedExport:
    reader = _Reader()
    case_count = sum(1 for _ in _xml_cases(text, reader))
    if not case_count and not reader.problems:
        raise TestRailError("The XML export contains no test cases.")
    name = f" of the suite “{reader.suite}”" if reader.suite else ""
    sections = reader.sections
    return ParsedExport(
        kind=CASES,
        description=f"TestRail XML export{name}: {sections} section{'s' * (sections != 1)}",
        open=source,
        encoding=encoding,
        case_count=case_count,
        problems=reader.problems,
        custom_fields=reader.custom_fields,
        counts=reader.counts,
        first_cases=reader.first_cases,
    )


# --- CSV ----------------------------------------------------------------------------------

# Columns of TestRail's CSV exports that describe the export itself, not the case or result.
_CSV_METADATA = {
    "section depth",
    "section description",
    "suite",
    "suite id",
    "template",
    "created by",
    "created on",
    "updated by",
    "updated on",
    "forecast",
    "steps (shared step id)",
    "id",
    "run config",
    "plan",
    "in progress",
    "assigned to",
    "run",
}
_CSV_CASE_COLUMNS = {
    "title",
    "section",
    "section hierarchy",
    "type",
    "priority",
    "estimate",
    "references",
    "preconditions",
    "steps",
    "expected result",
    "steps (step)",
    "steps (expected result)",
    "steps (additional info)",
    "mission",
    "goals",
}
_CSV_RESULT_COLUMNS = {"case id", "status", "comment", "defects", "elapsed", "tested by", "tested on", "version"}
_STEP_COLUMNS = ("steps (step)", "steps (expected result)", "steps (additional info)")


def _csv_table(text: _Text) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header (as written) and the non-blank rows keyed by lower-case column name, with line numbers."""
    lines = text.lines()
    first_line = next(lines, "")
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=delimiter, strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as error:
        raise TestRailError(f"The file is not valid CSV (line {reader.line_num}): {error}.") from None
    names = [name.lower() for name in header]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for values in reader:
                if not any(value.strip() for value in values):
                    continue
                if len(values) != len(header):
                    raise TestRailError(
                        f"CSV line {reader.line_num} has {len(values)} values but the header has {len(header)} "
                        "columns: the file may be cut off, or it is not a TestRail CSV export."
                    )
                # Same length: the check above refused rows with more or fewer values than the header.
                yield reader.line_num, dict(zip(names, (value.strip() for value in values), strict=True))
        except csv.Error as error:
            raise TestRailError(f"The file is not valid CSV (line {reader.line_num}): {error}.") from None

    return header, rows()


def _csv_case(
    reader: _Reader, header: list[str], row: dict[str, str], where: str, consumed: set[str]
) -> ParsedCase | None:
    raw_id = row.get("case id", row.get("id", ""))
    key = reader.identify(raw_id, row.get("title", ""), where)
    if not key:
        return None
    hierarchy = row.get("section hierarchy", "")
    sections = [part.strip() for part in hierarchy.split(">")] if hierarchy else [row.get("section", "")]
    fields = {
        column: row[column.lower()] for column in header if row[column.lower()] and column.lower() not in consumed
    }
    return ParsedCase(
        key=key,
        title=row["title"][:TITLE_MAX],
        folder=_folder(sections),
        type=row.get("type", ""),
        priority=row.get("priority", ""),
        estimate=row.get("estimate", ""),
        references=row.get("references", ""),
        preconditions=row.get("preconditions", ""),
        steps_text=row.get("steps", ""),
        expected_text=row.get("expected result", ""),
        steps=_csv_steps(row),
        mission=row.get("mission", ""),
        goals=row.get("goals", ""),
        custom=fields,
    )


def _column_labels(case: ParsedCase) -> dict[str, str]:
    return {column: column for column in case.custom}


def _csv_steps(row: dict[str, str]) -> list[Step]:
    contents, expected, extra = (_numbered(row.get(column, "")) for column in _STEP_COLUMNS)
    steps = []
    for number in sorted(set(contents) | set(expected)):
        content = contents.get(number, "")
        if extra.get(number):
            content = f"{content}\n\n*Additional info:* {extra[number]}".strip()
        steps.append(Step(content, expected.get(number, "")))
    return steps


def _survey_csv(text: _Text, source: Opener, encoding: str, *, default_run_name: str) -> ParsedExport:
    header, rows = _csv_table(text)
    names = {name.lower() for name in header}
    if {"case id", "status"} <= names:
        return _survey_results_csv(header, rows, source, encoding, default_run_name)
    if {"id", "title"} <= names:
        return _survey_cases_csv(header, rows, source, encoding)
    raise TestRailError(
        "This does not look like a TestRail CSV export: a cases export has ID and Title columns, a run's "
        f"export has Case ID and Status columns. The header has: {', '.join(header) or 'nothing'}."
    )


def _csv_cases(header: list[str], rows, reader: _Reader) -> Iterator[ParsedCase]:
    consumed = _CSV_CASE_COLUMNS | _CSV_METADATA
    previous = None
    for line, row in rows:
        reader.rows += 1
        if previous is not None and not row["id"] and not row["title"] and any(row.get(c) for c in _STEP_COLUMNS):
            # "One row per step" layout: this row only continues the previous case's steps.
            previous.steps.extend(_csv_steps(row))
            continue
        if previous is not None:
            yield previous
        previous = _csv_case(reader, header, row, f"CSV line {line}", consumed)
        if previous is not None and not reader.add(previous, f"CSV line {line}", _column_labels(previous)):
            previous = None
    if previous is not None:
        yield previous


def _survey_cases_csv(header: list[str], rows, source: Opener, encoding: str) -> ParsedExport:
    reader = _Reader()
    case_count = sum(1 for _ in _csv_cases(header, rows, reader))
    if not case_count and not reader.problems:
        raise TestRailError("The CSV export has a header but no test cases.")
    return ParsedExport(
        kind=CASES,
        description=f"TestRail CSV export of {reader.rows} test case row{'s' * (reader.rows != 1)}",
        open=source,
        encoding=encoding,
        case_count=case_count,
        problems=reader.problems,
        custom_fields=reader.custom_fields,
        counts=reader.counts,
        first_cases=reader.first_cases,
    )


def _csv_tests(header: list[str], rows, reader: _Reader) -> Iterator[tuple[int, dict, str, ParsedCase | None]]:
    """Each row of a run's export that names a case: its line, the row, the case key, and the case when
    this is its first row (which describes it; later rows are more results)."""
    consumed = _CSV_CASE_COLUMNS | _CSV_RESULT_COLUMNS | _CSV_METADATA
    for line, row in rows:
        reader.rows += 1
        case = _csv_case(reader, header, row, f"CSV line {line}", consumed)
        if case is None:
            continue
        first = case.key not in reader.first_seen and reader.add(case, f"CSV line {line}", _column_labels(case))
        yield line, row, case.key, case if first else None


def _csv_results(header: list[str], rows, reader: _Reader, export: ParsedExport) -> Iterator[ParsedCase | ParsedResult]:
    """Each case at its first row, and each test's result at its last row (an export of every result
    lists a test once per result, the latest last), with the defects of all its rows."""
    for line, row, key, case in _csv_tests(header, rows, reader):
        if case is not None:
            yield case
        if export.result_lines[key] == line:
            yield ParsedResult(
                case_key=key,
                status=row["status"] or "Untested",
                comment=row.get("comment", ""),
                elapsed=row.get("elapsed", ""),
                defects=export.defects.get(key, []),
                notes=_result_notes(row),
                where=f"CSV line {line}",
            )


def _result_notes(row: dict[str, str]) -> list[str]:
    """Who tested when, and which version: kept in the comment, since the result is recorded now."""
    tested = row.get("tested by") or row.get("tested on")
    notes = [
        f"tested by {row['tested by']}" if row.get("tested by") else "",
        row.get("tested on", ""),
        f"version {row['version']}" if tested and row.get("version") else "",
    ]
    return [note for note in notes if note]


def _survey_results_csv(header: list[str], rows, source: Opener, encoding: str, default_run_name: str) -> ParsedExport:
    """The run's tests counted: the line of each one's last row, the defects of all its rows, its status
    counted once; only the key, line and status of each test are kept."""
    reader = _Reader()
    latest: dict[str, tuple[int, str]] = {}
    defects: dict[str, list[str]] = {}
    statuses, run_names = Counter(), Counter()
    for line, row, key, _case in _csv_tests(header, rows, reader):
        run_names[row.get("run", "")] += 1
        status = sys.intern(row["status"] or "Untested")
        # TestRail separates defects with commas; a defect id never contains one.
        found = [part.strip() for part in re.split(r"[,;\n]", row.get("defects", "")) if part.strip()]
        if found or key in defects:
            defects[key] = list(dict.fromkeys([*defects.get(key, []), *found]))
        earlier = latest.get(key)
        if earlier is not None:
            reader.skip(
                key,
                f"CSV line {earlier[0]}: an earlier result of {key}; the one on CSV line {line} is "
                "recorded (defects of both are linked).",
                kind="result",
            )
            statuses[earlier[1]] -= 1
        latest[key] = (line, status)
        statuses[status] += 1
    if not latest and not reader.problems:
        raise TestRailError("The CSV export has a header but no tests.")
    run_name = max((name for name in run_names if name), key=run_names.get, default="") or default_run_name
    return ParsedExport(
        kind=RESULTS,
        description=f"TestRail CSV export of a run: {reader.rows} test row{'s' * (reader.rows != 1)}",
        open=source,
        encoding=encoding,
        case_count=len(reader.first_seen),
        result_count=len(latest),
        run_name=(run_name or "Imported from TestRail")[:RUN_NAME_MAX],
        problems=reader.problems,
        custom_fields=reader.custom_fields,
        counts={**reader.counts, "status": +statuses},
        first_cases=reader.first_cases,
        result_lines={key: line for key, (line, _status) in latest.items()},
        defects=defects,
    )


# --- Mapping: how TestRail's values land in a test case -----------------------------------

CUSTOM = "custom"
TO_PROJECT_FIELD = "custom:"  # followed by the name of a project custom field: "custom:browser"
FIELD_TARGETS = {
    CUSTOM: "Custom field of the same name (added when missing)",
    "fields": "TestRail fields list",
    "description": "Description",
    "preconditions": "Preconditions",
    LEAVE_OUT: "Leave out",
}
_PRIORITY_DEFAULTS = {
    "blocker": CasePriority.CRITICAL.value,
    "critical": CasePriority.CRITICAL.value,
    "highest": CasePriority.CRITICAL.value,
    "must test": CasePriority.CRITICAL.value,
    "high": CasePriority.HIGH.value,
    "should test": CasePriority.HIGH.value,
    "medium": CasePriority.MEDIUM.value,
    "normal": CasePriority.MEDIUM.value,
    "test if time": CasePriority.MEDIUM.value,
    "low": CasePriority.LOW.value,
    "lowest": CasePriority.LOW.value,
    "don't test": CasePriority.LOW.value,
}


def default_priority(name: str) -> str:
    """TestRail's default priorities, old ("High") and new ("3 - Should Test") names, to a case priority."""
    plain = re.sub(r"^\d+\s*-\s*", "", name.strip().lower())
    return _PRIORITY_DEFAULTS.get(plain, CasePriority.MEDIUM.value)


def custom_field_name(name: str) -> str:
    """The project custom field a TestRail field lands in: "Automation Type" -> "automation_type"."""
    return (slugify(name).replace("-", "_") or "field")[:50]


def project_field_target(field_name: str) -> str:
    """The mapping target that puts a TestRail field into the project's field of another name."""
    return f"{TO_PROJECT_FIELD}{field_name}"


def target_field(name: str, rule: dict) -> str | None:
    """The project custom field a TestRail field goes to under this rule; None when it goes elsewhere."""
    if rule["target"] == CUSTOM:
        return custom_field_name(name)
    if rule["target"].startswith(TO_PROJECT_FIELD):
        return rule["target"].removeprefix(TO_PROJECT_FIELD)
    return None


def _is_target(target) -> bool:
    if not isinstance(target, str):
        return False
    if target.startswith(TO_PROJECT_FIELD):
        name = target.removeprefix(TO_PROJECT_FIELD)
        return bool(name) and custom_field_name(name) == name
    return target in FIELD_TARGETS


def default_status(name: str) -> str:
    """TestRail's built-in statuses (Passed, Failed, Blocked, Untested, Retest) are testmanager's own; the
    others default to untested."""
    plain = name.strip().lower()
    return plain if plain in ResultStatus.values else ResultStatus.UNTESTED.value


@dataclass
class Mapping:
    priorities: dict[str, str]  # TestRail priority -> a CasePriority (LEAVE_OUT: the default, medium)
    types: dict[str, str]  # TestRail type -> the project's case type of that name (made when missing), or LEAVE_OUT
    # custom field -> {"label": ..., "target": one of FIELD_TARGETS, or project_field_target(a project field)}
    fields: dict[str, dict[str, str]]
    statuses: dict[str, str]  # TestRail status -> ResultStatus

    @classmethod
    def for_export(cls, export: ParsedExport, saved: dict | None = None) -> "Mapping":
        """The defaults for the values in the file, overridden by valid choices saved from the preview."""
        saved = saved or {}

        def choose(group: str, value: str, default, valid):
            chosen = (saved.get(group) or {}).get(value, default)
            return chosen if valid(chosen) else default

        def valid_field(rule):
            return (
                isinstance(rule, dict)
                and _is_target(rule.get("target"))
                and isinstance(rule.get("label"), str)
                and 0 < len(rule["label"].strip()) <= LABEL_MAX
            )

        return cls(
            priorities={
                value: choose(
                    "priorities", value, default_priority(value), lambda p: p in (*CasePriority.values, LEAVE_OUT)
                )
                for value, _ in export.values_of("priority")
            },
            types={
                value: choose(
                    "types", value, value[:LABEL_MAX], lambda label: isinstance(label, str) and len(label) <= LABEL_MAX
                )
                for value, _ in export.values_of("type")
            },
            fields={
                name: choose("fields", name, {"label": custom.label, "target": CUSTOM}, valid_field)
                for name, custom in export.custom_fields.items()
            },
            statuses={
                value: choose("statuses", value, default_status(value), lambda s: s in ResultStatus.values)
                for value, _ in export.statuses()
            },
        )

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CaseContent:
    """What a TestRail case becomes here: the case's own fields, and references for the issues app."""

    description: str
    preconditions: str
    steps: list[dict]
    priority: str
    type_name: str  # a case type of the project, made by the import when missing; "" for none
    estimate: timedelta | None
    custom: dict[str, str]  # project custom field name -> TestRail's value as text
    references: list[str]

    def fields(self) -> tuple:
        """What tells an unchanged case from a changed one (the type and custom fields compared by name)."""
        return (self.description, self.preconditions, self.steps, self.priority, self.type_name, self.estimate)


def _steps(case: ParsedCase) -> list[dict]:
    """Separated steps keep each action with its expected result; a text template is one step."""
    if case.steps:
        return [{"action": step.content, "expected": step.expected} for step in case.steps]
    if case.steps_text or case.expected_text:
        return [{"action": case.steps_text, "expected": case.expected_text}]
    return []


def references_of(text: str) -> list[str]:
    """TestRail's references field: keys separated by commas (or spaces), in order, without repeats."""
    return list(dict.fromkeys(part for part in re.split(r"[,;\s]+", text) if part))


def case_content(case: ParsedCase, mapping: Mapping) -> CaseContent:
    """The case's fields as TestRail's values map to them (see Mapping)."""
    parts = {"description": [], "preconditions": [case.preconditions]}
    if case.mission:
        parts["description"].append(f"**Mission:** {case.mission}")
    if case.goals:
        parts["description"].append(f"**Goals:** {case.goals}")
    facts, custom = [], {}
    if case.references:
        facts.append(("References", case.references))
    for name, value in case.custom.items():
        rule = mapping.fields.get(name, {"label": _humanize(name), "target": CUSTOM})
        if target_field(name, rule) is not None:
            custom[target_field(name, rule)] = value
        elif rule["target"] == "fields":
            facts.append((rule["label"], value))
        elif rule["target"] != LEAVE_OUT:
            parts[rule["target"]].append(f"**{rule['label']}:** {value}")
    if facts:
        parts["preconditions"].append(
            "### TestRail fields\n\n" + "\n".join(f"- **{label}:** {_indented(value, 2)}" for label, value in facts)
        )
    priority = mapping.priorities.get(case.priority, default_priority(case.priority)) if case.priority else ""
    try:
        estimate = parse_elapsed(case.estimate)
    except ValueError:
        estimate = None
    return CaseContent(
        **{name: "\n\n".join(part for part in texts if part) for name, texts in parts.items()},
        steps=_steps(case),
        priority=priority or CasePriority.MEDIUM.value,
        type_name=mapping.types.get(case.type, case.type)[:LABEL_MAX] if case.type else "",
        estimate=estimate,
        custom=custom,
        references=references_of(case.references),
    )


def _indented(text: str, indent: int) -> str:
    """Continuation lines of a list item, indented so Markdown keeps them in the item."""
    first, *rest = text.split("\n")
    return "\n".join([first, *((" " * indent + line) if line.strip() else "" for line in rest)])


# --- Writing ----------------------------------------------------------------------------------

Progress = Callable[[int], None]


def _ignore_progress(processed: int) -> None:
    """Callers that show no progress."""


def cases_by_key(project: Project, keys) -> dict[str, TestCase]:
    found = {}
    for chunk in chunks(list(keys), BATCH):
        cases = TestCase.objects.filter(project=project, import_key__in=chunk).select_related("case_type")
        found.update((case.import_key, case) for case in cases)
    return found


_TRUE = {"true", "1", "yes", "x", "checked", "on"}


class Vocabulary:
    """The project's case types and custom fields as an import uses them.

    `make_missing` (an import, not a preview) adds, batch by batch, the types and custom fields (text)
    the cases need and the project lacks, and the values a select field lacks to its options.
    """

    def __init__(self, project: Project, mapping: Mapping, *, make_missing: bool):
        self.project, self.mapping, self.make_missing = project, mapping, make_missing
        self.types = {case_type_key(kind.name): kind for kind in project.case_types.all()}
        self.fields = {field.name: field for field in project.case_fields.all()}
        if make_missing:
            self._make_fields(
                {
                    target_field(name, rule): rule["label"]
                    for name, rule in mapping.fields.items()
                    if target_field(name, rule) is not None
                }
            )

    def prepare(self, contents: list["CaseContent"]) -> None:
        """Make what this batch of cases needs (an import only)."""
        if self.make_missing:
            self._make_types(sorted({c.type_name for c in contents if c.type_name}))
            self._add_options(contents)

    def _make_types(self, names: list[str]) -> None:
        missing = list({case_type_key(name): name for name in names if case_type_key(name) not in self.types}.values())
        if not missing:
            return
        start = max((kind.position for kind in self.types.values()), default=-1) + 1
        made = CaseType.objects.bulk_create(
            [CaseType(project=self.project, name=name, position=start + n) for n, name in enumerate(missing)]
        )
        self.types.update((case_type_key(kind.name), kind) for kind in made)

    def _make_fields(self, labels: dict[str, str]) -> None:
        start = max((field.position for field in self.fields.values()), default=-1) + 1
        missing = [name for name in labels if name not in self.fields]
        made = CaseField.objects.bulk_create(
            [
                CaseField(
                    project=self.project, name=name, label=labels[name], kind=CaseFieldKind.TEXT, position=start + n
                )
                for n, name in enumerate(missing)
            ]
        )
        self.fields.update((made_field.name, made_field) for made_field in made)

    def _add_options(self, contents: list["CaseContent"]) -> None:
        for select in self.fields.values():
            if select.kind == CaseFieldKind.SELECT:
                new_options = {c.custom[select.name] for c in contents if c.custom.get(select.name)} - set(
                    select.options
                )
                if new_options:
                    select.options = [*select.options, *sorted(new_options)]
                    select.save(update_fields=["options"])

    def case_type(self, name: str) -> CaseType | None:
        return self.types.get(case_type_key(name)) if name else None

    def value(self, name: str, text: str):
        """TestRail's value as the project's field of that name stores it; None when it cannot."""
        field = self.fields.get(name)
        kind = field.kind if field else CaseFieldKind.TEXT
        if kind == CaseFieldKind.CHECKBOX:
            return text.strip().lower() in _TRUE
        if kind == CaseFieldKind.NUMBER:
            try:
                number = float(text.replace(",", "."))
            except ValueError:
                return None
            return int(number) if number.is_integer() else number
        return text

    def custom_fields(self, content: CaseContent, current: dict) -> dict:
        values = dict(current)
        for name, text in content.custom.items():
            value = self.value(name, text)
            if value is not None:
                values[name] = value
        return values


CASE_UPDATE_FIELDS = [
    "title",
    "folder",
    "description",
    "preconditions",
    "steps",
    "priority",
    "case_type",
    "estimate",
    "custom_fields",
]


def case_values(parsed: ParsedCase, content: CaseContent, vocabulary: Vocabulary, current: dict) -> dict:
    """The fields of the case as the import writes them; `current` holds its custom values kept."""
    return {
        "title": parsed.title,
        "folder": parsed.folder,
        "description": content.description,
        "preconditions": content.preconditions,
        "steps": content.steps,
        "priority": content.priority,
        "case_type": vocabulary.case_type(content.type_name),
        "estimate": content.estimate,
        "custom_fields": vocabulary.custom_fields(content, current),
    }


def _same(case: TestCase, values: dict, content: CaseContent) -> bool:
    type_key = case_type_key(case.case_type.name) if case.case_type_id else ""
    plain = {name: value for name, value in values.items() if name != "case_type"}
    return type_key == case_type_key(content.type_name) and all(getattr(case, n) == v for n, v in plain.items())


@dataclass
class CasePlan:
    """What importing a batch of cases would do: create some, change some, leave some as they are."""

    new: list[tuple[ParsedCase, dict]]
    changed: list[tuple[TestCase, ParsedCase, dict]]
    unchanged: list[tuple[TestCase, ParsedCase]]
    contents: dict[str, CaseContent] = field(default_factory=dict)  # by case key

    def action_of(self) -> dict[str, str]:
        actions = {parsed.key: "created" for parsed, _ in self.new}
        actions.update((parsed.key, "updated") for _, parsed, _ in self.changed)
        actions.update((parsed.key, "unchanged") for _, parsed in self.unchanged)
        return actions


def plan_batch(project: Project, cases: list[ParsedCase], mapping: Mapping, vocabulary: Vocabulary) -> CasePlan:
    """Which of `cases` (a batch) are new, changed or unchanged; an import's vocabulary makes missing types."""
    existing = cases_by_key(project, [case.key for case in cases])
    contents = {case.key: case_content(case, mapping) for case in cases}
    vocabulary.prepare(list(contents.values()))
    plan = CasePlan(new=[], changed=[], unchanged=[], contents=contents)
    for parsed in cases:
        content, case = contents[parsed.key], existing.get(parsed.key)
        values = case_values(parsed, content, vocabulary, case.custom_fields if case else {})
        if case is None:
            plan.new.append((parsed, values))
        elif _same(case, values, content):
            plan.unchanged.append((case, parsed))
        else:
            plan.changed.append((case, parsed, values))
    return plan


@dataclass
class CasesPreview:
    """What importing the export's cases would do: counts per action, and the action of the first cases."""

    counts: Counter
    first_actions: dict[str, str]


def preview_cases(project: Project, export: ParsedExport, mapping: Mapping) -> CasesPreview:
    """Plan the cases batch by batch without writing; only the counts and the first cases' actions stay."""
    vocabulary = Vocabulary(project, mapping, make_missing=False)
    preview = CasesPreview(counts=Counter(), first_actions={})
    first_keys = {case.key for case in export.first_cases}
    for batch in batches(export.cases(), BATCH):
        actions = plan_batch(project, batch, mapping, vocabulary).action_of()
        preview.counts.update(actions.values())
        preview.first_actions.update((key, actions[key]) for key in first_keys & actions.keys())
    return preview


@dataclass(slots=True)
class KeysToLink:
    """Tracker keys TestRail gave one imported artefact: a result's defects or a case's references."""

    artefact_id: int  # the TestResult's or the TestCase's
    case_key: str
    keys: list[str]


# Called once per batch with its results' defects or its cases' references; returns the log entries
# of the links it made or skipped (the issues app links them, see the module docstring).
Link = Callable[[list[KeysToLink]], list[LogEntry]]


def _link_nothing(items: list[KeysToLink]) -> list[LogEntry]:
    """Callers that link nothing."""
    return []


@dataclass
class ImportOutcome:
    log: list[LogEntry]
    run: TestRun | None = None


def _create_cases(project, new: list[tuple[ParsedCase, dict]], user) -> list[TestCase]:
    return TestCase.objects.bulk_create(
        [TestCase(project=project, import_key=parsed.key, created_by=user, **values) for parsed, values in new]
    )


def _update_cases(changed: list[tuple[TestCase, ParsedCase, dict]]) -> None:
    now = timezone.now()
    for case, _parsed, values in changed:
        for name, value in values.items():
            setattr(case, name, value)
        case.updated_at = now
    # An upsert on the primary key: one plain INSERT per batch, where bulk_update's CASE
    # expressions cost seconds of Python per thousand rows.
    TestCase.objects.bulk_create(
        [case for case, _, _ in changed],
        update_conflicts=True,
        unique_fields=["pk"],
        update_fields=[*CASE_UPDATE_FIELDS, "updated_at"],
    )


def _estimate_problems(cases: list[ParsedCase]) -> list[LogEntry]:
    problems = []
    for case in cases:
        try:
            parse_elapsed(case.estimate)
        except ValueError:
            problems.append(
                LogEntry(
                    "case",
                    "skipped",
                    case.key,
                    f"estimate “{case.estimate}” is not a TestRail time span such as 1m 30s; "
                    "the case is imported without an estimate.",
                )
            )
    return problems


def _lock(project: Project) -> None:
    """Imports into one project queue up: two at once could both create the same case."""
    Project.objects.select_for_update().filter(pk=project.pk).exists()


def _where(parsed: ParsedCase) -> str:
    return parsed.folder or "no folder"


def import_cases(
    project: Project,
    export: ParsedExport,
    mapping: Mapping,
    *,
    user=None,
    progress: Progress = _ignore_progress,
    link: Link = _link_nothing,
) -> ImportOutcome:
    """Create and update the export's cases, found again by their TestRail id, a batch at a time; all
    or nothing. `link` gets each batch's cases that carry references."""
    estimates, entries, link_log = [], [], []
    with transaction.atomic():
        _lock(project)
        vocabulary = Vocabulary(project, mapping, make_missing=True)
        done = 0
        for batch in batches(export.cases(), BATCH):
            plan = plan_batch(project, batch, mapping, vocabulary)
            _create_cases(project, plan.new, user)
            _update_cases(plan.changed)
            estimates += _estimate_problems(batch)
            actions = plan.action_of()
            entries += [LogEntry("case", actions[p.key], p.key, f"“{p.title}” in {_where(p)}") for p in batch]
            link_log += link(_referenced(project, plan))
            done += len(batch)
            progress(done)
    return ImportOutcome(log=[*export.problems, *estimates, *entries, *link_log])


def _referenced(project: Project, plan: CasePlan) -> list[KeysToLink]:
    """The batch's cases that carry references, with their ids (new cases have theirs now)."""
    keys = [key for key, content in plan.contents.items() if content.references]
    ids = dict(TestCase.objects.filter(project=project, import_key__in=keys).values_list("import_key", "pk"))
    return [KeysToLink(ids[key], key, plan.contents[key].references) for key in keys if key in ids]


_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
_SPAN_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_elapsed(text: str) -> timedelta | None:
    """TestRail's time spans: '45s', '1m 30s', '2h 5m', '1d'; a bare number is seconds. ValueError otherwise."""
    text = text.strip().lower().replace(",", ".")
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
    elif re.fullmatch(r"(?:\s*\d+(?:\.\d+)?\s*[wdhms])+\s*", text):
        seconds = sum(float(number) * _SPAN_SECONDS[unit] for number, unit in _SPAN.findall(text))
    else:
        raise ValueError(text)
    if seconds >= 10**8:
        raise ValueError(text)
    return timedelta(seconds=seconds)


def find_run(project: Project, name: str) -> TestRun | None:
    """The run results with this name go into: the newest of that name, so importing again updates it."""
    return TestRun.objects.filter(project=project, name=name).order_by("-created_at", "-id").first()


def _result_comment(result: ParsedResult, status: str) -> str:
    notes = list(result.notes)
    if result.status.lower() != ResultStatus(status).label.lower():
        notes.insert(0, f"status {result.status}")
    footer = f"*TestRail: {', '.join(notes)}.*" if notes else ""
    return "\n\n".join(part for part in (result.comment, footer) if part)


def case_ids(project: Project, keys: list[str]) -> dict[str, int]:
    """The ids of the project's cases with these TestRail keys (a batch), by key."""
    return dict(TestCase.objects.filter(project=project, import_key__in=keys).values_list("import_key", "pk"))


class _ResultWriter:
    """Records a run's results a batch at a time; keeps only the ids of the cases met, by key."""

    def __init__(self, project: Project, run: TestRun, mapping: Mapping, user):
        self.project, self.run, self.mapping, self.user = project, run, mapping, user
        self.vocabulary = Vocabulary(project, mapping, make_missing=True)
        self.case_ids: dict[str, int] = {}
        self.created: list[LogEntry] = []
        self.recorded: list[LogEntry] = []

    def add_cases(self, parsed: list[ParsedCase]) -> None:
        """Cases the project lacks are created from what the export says; the others stay as they are."""
        self.case_ids.update(case_ids(self.project, [case.key for case in parsed]))
        missing = [case for case in parsed if case.key not in self.case_ids]
        plan = plan_batch(self.project, missing, self.mapping, self.vocabulary)
        made = _create_cases(self.project, plan.new, self.user)
        self.case_ids.update((case.import_key, case.pk) for case in made)
        self.created += [
            LogEntry(
                "case",
                "created",
                case.key,
                f"“{case.title}” in {_where(case)} (from the run's export, which has no steps)",
            )
            for case in missing
        ]

    def add_results(self, results: list[ParsedResult]) -> list[KeysToLink]:
        ids = [self.case_ids[result.case_key] for result in results]
        recorded_before = set(
            TestResult.objects.filter(run=self.run, case_id__in=ids).values_list("case_id", flat=True)
        )
        now = timezone.now()
        rows = [self._row(result, case_id, now) for result, case_id in zip(results, ids, strict=True)]
        # Upserts report the id of every row, inserted or updated (PostgreSQL, SQLite >= 3.35).
        saved = TestResult.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["run", "case"],
            update_fields=["status", "comment", "duration", "recorded_by", "recorded_at"],
        )
        for result, row in zip(results, saved, strict=True):  # bulk_create returns the rows it was given
            action = "updated" if row.case_id in recorded_before else "created"
            self.recorded.append(
                LogEntry("result", action, result.case_key, f"{ResultStatus(row.status).label} in “{self.run.name}”")
            )
        return [
            KeysToLink(row.pk, result.case_key, result.defects)
            for result, row in zip(results, saved, strict=True)
            if result.defects
        ]

    def _row(self, result: ParsedResult, case_id: int, now) -> TestResult:
        status = self.mapping.statuses.get(result.status, default_status(result.status))
        try:
            duration = parse_elapsed(result.elapsed)
        except ValueError:
            duration = None
            self.recorded.append(
                LogEntry(
                    "result",
                    "skipped",
                    result.case_key,
                    f"{result.where}: elapsed “{result.elapsed}” is not a TestRail time span "
                    "such as 1m 30s; the result is recorded without a duration.",
                )
            )
        return TestResult(
            run=self.run,
            case_id=case_id,
            status=status,
            recorded_by=self.user,
            comment=_result_comment(result, status),
            duration=duration,
            recorded_at=now,
        )


def import_results(
    project: Project,
    export: ParsedExport,
    mapping: Mapping,
    *,
    run_name: str,
    user=None,
    progress: Progress = _ignore_progress,
    link: Link = _link_nothing,
) -> ImportOutcome:
    """Record a run's results into the run named `run_name` (created when missing), a batch at a time;
    all or nothing. `link` gets each batch's results that carry defects.

    Cases the project does not have yet are created from what the export says about them;
    cases it has are left as they are (a run's export carries no steps).
    """
    link_log = []
    with transaction.atomic():
        _lock(project)
        run = find_run(project, run_name)
        if run is None:
            run = TestRun.objects.create(
                project=project, name=run_name, created_by=user, description="Imported from TestRail."
            )
        writer = _ResultWriter(project, run, mapping, user)
        done = 0
        for batch in batches(export.items(), BATCH):
            writer.add_cases([item for item in batch if isinstance(item, ParsedCase)])
            results = [item for item in batch if isinstance(item, ParsedResult)]
            link_log += link(writer.add_results(results))
            done += len(results)
            progress(done)
    return ImportOutcome(log=[*export.problems, *writer.created, *writer.recorded, *link_log], run=run)
