"""Large JUnit reports and TestRail exports are read as streams: memory holds what is imported, not the tree.

The bounds come from measurement (tracemalloc, Python 3.11). What a parse keeps is its result
(about 340 bytes per JUnit case); what it allocates on top of that while reading is the cost of
the reading itself. Building the whole tree of a 100,000-case report costs about 50 MiB on top
of the result, reading it as a stream under 4 MiB; the bound of 12 MiB sits far from both.

A TestRail export is decoded to text first (its encoding is checked, with the byte that breaks it
named), which costs up to two bytes per byte of the file for text that is not all ASCII; reading
that text as a stream adds under 3 MiB. Before, io.StringIO copied the text at four bytes per
character and the tree of 10,000 cases added about 15 MiB more.
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


def test_a_large_testrail_export_is_read_without_building_its_tree():
    export_file = suite_export(10_000)
    export, kept, peak = traced(lambda: testrail.parse_export(export_file, "suite.xml"))
    assert len(export.cases) == 10_000
    first, last = export.cases[0], export.cases[-1]
    assert (first.key, first.folder, first.steps[0].content) == ("C1", "Area 0/Feature 0", "Do 1 – überprüfen")
    assert (last.key, last.folder, export.problems) == ("C10000", "Area 9000/Feature 9900", [])
    decoded_text = 2 * len(export_file)
    overhead = peak - kept - decoded_text
    assert overhead < READING_OVERHEAD_BOUND, f"reading allocated {overhead / MiB:.1f} MiB beyond result and text"
