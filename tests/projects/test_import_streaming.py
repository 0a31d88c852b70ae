"""Large JUnit reports and TestRail exports are read as streams: memory holds what is imported, not the tree.

The bounds come from measurement (tracemalloc, Python 3.11). What a parse keeps is its result
(about 340 bytes per JUnit case); what it allocates on top of that while reading is the cost of
the reading itself. Building the whole tree of a 100,000-case report costs about 50 MiB on top
of the result, reading it as a stream under 4 MiB; the bound of 12 MiB sits far from both.

A TestRail export is read twice as a stream of text decoded chunk by chunk (its encoding checked,
with the byte that breaks it named): once to survey it (counts, problems, the first cases), once
more to import it batch by batch. Neither the decoded text, nor the tree, nor the parsed cases
are ever held whole; the bounds below sit between what streaming measures and what holding the
cases or rows would cost.
"""

import tracemalloc

import pytest

from projects.importers import testrail
from projects.importers.junit import parse_report

MiB = 1024 * 1024
# What reading may allocate beyond the result it returns (see the module docstring).
READING_OVERHEAD_BOUND = 12 * MiB


def junit_report(cases: int, per_suite: int = 1_000) -> bytes:
    """`cases` tests in suites of `per_suite`, every tenth failed with a message and a stack trace."""
    parts = ["<testsuites>"]
    for suite in range(0, cases, per_suite):
        parts.append(f'<testsuite name="suite {suite // per_suite}"><properties><property name="os" value="linux"/>')
        parts.append("</properties>")
        for number in range(suite, min(suite + per_suite, cases)):
            module = number // per_suite
            opening = f'<testcase classname="shop.module{module}.Checkout" name="test_{number}" time="0.01"'
            if number % 10:
                parts.append(opening + "/>")
            else:
                parts.append(f'{opening}><failure message="boom">Traceback {number}\n  line 1</failure></testcase>')
        parts.append("</testsuite>")
    parts.append("</testsuites>")
    return "".join(parts).encode()


def traced(action):
    """The action's result, the bytes still allocated by it afterwards, and the peak while it ran."""
    tracemalloc.start()
    try:
        result = action()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, kept, peak


def test_a_100000_case_junit_report_is_read_without_building_its_tree():
    report = junit_report(100_000)
    cases, kept, peak = traced(lambda: parse_report(report))
    assert len(cases) == 100_000
    assert (cases[0].automation_key, cases[0].status) == ("shop.module0.Checkout.test_0", "failed")
    assert cases[-1].automation_key == "shop.module99.Checkout.test_99999"
    assert peak - kept < READING_OVERHEAD_BOUND, f"reading allocated {(peak - kept) / MiB:.1f} MiB beyond its result"


def test_streaming_counts_only_test_cases_of_suites():
    """Test cases inside other elements (properties, a test case) were never tests of the report; they still are not."""
    report = (
        b'<testsuites name="all"><testsuite name="s">'
        b'<properties><testcase classname="x" name="in properties"/></properties>'
        b'<testcase classname="c" name="real"><system-out><testcase name="in output"/></system-out></testcase>'
        b'<testsuite name="inner"><testcase classname="c" name="nested"/></testsuite>'
        b"</testsuite></testsuites>"
    )
    assert [(case.automation_key, case.folder) for case in parse_report(report)] == [("c.real", "c"), ("c.nested", "c")]


@pytest.mark.parametrize("broken_at", ["start", "end"])
def test_a_report_broken_after_many_cases_is_refused_as_a_whole(broken_at):
    report = junit_report(2_000)
    report = report[:-20] if broken_at == "end" else b"<testsuites><testsuite>" + report
    with pytest.raises(ValueError, match="not well-formed XML"):
        parse_report(report)


def suite_export(cases: int, per_section: int = 100) -> bytes:
    """A suite export: sections of `per_section` cases inside top sections, separated steps, a custom field."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><suite><id>S1</id><name>Shop</name><sections>']
    for top in range(0, cases, per_section * 10):
        parts.append(f"<section><name>Area {top}</name><cases></cases><sections>")
        for first in range(top, min(top + per_section * 10, cases), per_section):
            parts.append(f"<section><name>Feature {first}</name><description>Ü</description><cases>")
            for number in range(first + 1, min(first + per_section, cases) + 1):
                steps = "".join(
                    f"<step><index>{i}</index><content>Do {i} – überprüfen</content><expected>Works</expected></step>"
                    for i in range(1, 4)
                )
                parts.append(
                    f"<case><id>C{number}</id><title>Case {number}</title><type>Functional</type>"
                    f"<priority>High</priority><estimate>1m</estimate><custom><preconds>Logged in</preconds>"
                    f"<automation_type><id>1</id><value>Selenium</value></automation_type>"
                    f"<steps_separated>{steps}</steps_separated></custom></case>"
                )
            parts.append("</cases></section>")
        parts.append("</sections></section>")
    parts.append("</sections></suite>")
    return "".join(parts).encode()


def run_export(tests: int) -> bytes:
    """A run's CSV export: one row per test, every fifth with a defect."""
    lines = ['"ID","Title","Case ID","Status","Comment","Defects","Elapsed","Section Hierarchy","Run"']
    for number in range(1, tests + 1):
        defect = f"SHOP-{number}" if number % 5 == 0 else ""
        lines.append(
            f'"T{number}","Case {number}","C{number}","Passed","Comment {number}","{defect}","{number % 90}s",'
            '"Area 1 > Feature 1.1","Nightly"'
        )
    return ("\n".join(lines) + "\n").encode()


def read_twice(data: bytes, filename: str):
    """What an import reads: the survey of the whole file, then every case and result again."""
    export = testrail.parse_export(data, filename)
    return export, sum(1 for _ in export.items())


def test_a_large_testrail_suite_is_surveyed_and_read_again_without_holding_its_cases():
    """Beyond the file, only counts and the key, title and folder of each case stay (about 200 bytes
    a case, for the message about a repeated id). Keeping the 20,000 parsed cases (steps, fields)
    would take over 30 MiB, the decoded text of the file 2 bytes per byte more."""
    export_file = suite_export(20_000)
    (export, items), kept, peak = traced(lambda: read_twice(export_file, "suite.xml"))
    assert (export.case_count, items, export.problems) == (20_000, 20_000, [])
    first = export.first_cases[0]
    assert (first.key, first.folder, first.steps[0].content) == ("C1", "Area 0/Feature 0", "Do 1 – überprüfen")
    assert len(export.first_cases) == testrail.SAMPLE_SIZE
    assert export.values_of("priority") == [("High", 20_000)]
    assert peak < 10 * MiB, f"reading twice took {peak / MiB:.1f} MiB at its peak"


def test_a_large_run_export_is_surveyed_and_read_again_without_holding_its_rows():
    """A run's export keeps, beyond the file, each test's key and the line of its result, and the
    defects: about 300 bytes a test. Its 30,000 rows as dictionaries alone would be over 40 MiB."""
    export_file = run_export(30_000)
    (export, items), kept, peak = traced(lambda: read_twice(export_file, "run.csv"))
    assert (export.case_count, export.result_count, items) == (30_000, 30_000, 60_000)
    assert export.statuses() == [("Passed", 30_000)] and len(export.defects) == 6_000
    assert peak < 20 * MiB, f"reading twice took {peak / MiB:.1f} MiB at its peak"
