"""The JUnit XML importer: reports of real tools parsed, recorded all-or-nothing, hostile XML refused."""

from datetime import timedelta

import pytest
from django.db import DatabaseError

from projects.importers import junit
from projects.importers.junit import JUnitError, ReportedCase, import_junit, parse_report
from projects.models import TestCase, TestResult
from tests.api.helpers import database_state, junit_fixture
from tests.factories import TestCaseFactory, TestResultFactory, TestRunFactory, UserFactory


def summary_of(cases):
    return [(case.automation_key, case.folder, case.status) for case in cases]


def test_pytest_report():
    cases = parse_report(junit_fixture("pytest.xml"))
    assert summary_of(cases) == [
        ("tests.test_checkout.TestCart.test_total_adds_prices", "tests/test_checkout/TestCart", "passed"),
        ("tests.test_checkout.TestCart.test_discount_applies", "tests/test_checkout/TestCart", "failed"),
        ("tests.test_checkout.TestCart.test_converts_currency", "tests/test_checkout/TestCart", "skipped"),
        ("tests.test_checkout.test_pays_by_card", "tests/test_checkout", "failed"),  # a setup error
        ("tests.test_checkout.test_voucher_codes[SAVE10]", "tests/test_checkout", "passed"),
        ("tests.test_checkout.test_voucher_codes[SAVE20]", "tests/test_checkout", "passed"),
    ]
    failed = cases[1]
    assert failed.title == "test_discount_applies"
    assert failed.comment.startswith("assert 9.0 == 8.0\n +  where 9.0 = cart_total([10.0], discount=0.1)\n\n")
    assert "tests/test_checkout.py:13: AssertionError" in failed.comment
    assert failed.duration == timedelta(milliseconds=1)
    assert cases[2].comment.startswith("currency service not available")
    assert cases[3].comment.startswith('failed on setup with "ConnectionError: payment sandbox unreachable"')


def test_maven_surefire_report():
    cases = parse_report(junit_fixture("surefire-TEST-com.example.shop.CartTest.xml"))
    assert summary_of(cases) == [
        ("com.example.shop.CartTest.appliesDiscount", "com/example/shop/CartTest", "failed"),
        ("com.example.shop.CartTest.rejectsNegativePrices", "com/example/shop/CartTest", "failed"),  # <error>
        ("com.example.shop.CartTest.convertsCurrency", "com/example/shop/CartTest", "skipped"),
        ("com.example.shop.CartTest.addsPrices", "com/example/shop/CartTest", "passed"),
    ]
    assert cases[0].comment.startswith(
        "10% discount expected ==> expected: <900> but was: <1000>\n\norg.opentest4j.AssertionFailedError"
    )
    assert cases[0].duration == timedelta(milliseconds=84)
    assert cases[1].comment.startswith("negative price\n\njava.lang.IllegalArgumentException: negative price")
    assert cases[2].comment == "waiting for the currency service"


def test_jest_junit_report():
    cases = parse_report(junit_fixture("jest-junit.xml"))
    # jest-junit names classname and name both after the full title: the key is the title, the folder the suite.
    assert summary_of(cases) == [
        ("Cart adds prices", "Cart", "passed"),
        ("Cart applies a discount", "Cart", "failed"),
        ("Cart converts currency", "Cart", "skipped"),
        ("Cart vouchers accepts SAVE10", "Cart", "passed"),
    ]
    assert cases[1].comment.startswith("Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 8")
    assert cases[0].duration == timedelta(milliseconds=4)


def test_go_junit_report():
    cases = parse_report(junit_fixture("go-junit-report.xml"))
    assert summary_of(cases) == [
        ("example.com/shop/cart.TestAdd", "example.com/shop/cart", "passed"),
        ("example.com/shop/cart.TestDiscount", "example.com/shop/cart", "failed"),
        ("example.com/shop/cart.TestCurrency", "example.com/shop/cart", "skipped"),
        ("example.com/shop/cart.TestVoucher/SAVE10", "example.com/shop/cart", "passed"),
        ("example.com/shop/cart.TestVoucher/SAVE20", "example.com/shop/cart", "passed"),
    ]
    assert cases[1].comment == "Failed\n\ncart_test.go:21: total = 9.00, want 8.00"


def test_nested_suites_namespaces_and_missing_classnames():
    report = b"""<?xml version="1.0"?>
    <testsuites xmlns="urn:example:junit">
      <testsuite name="outer">
        <testsuite name="Api.Orders">
          <testcase name="lists orders" time="1,234.5"/>
          <testcase name="creates orders" time="soon"/>
        </testsuite>
      </testsuite>
    </testsuites>"""
    first, second = parse_report(report)
    assert (first.automation_key, first.folder, first.duration) == (
        "Api.Orders.lists orders",
        "Api/Orders",
        timedelta(seconds=1234.5),
    )
    assert second.duration is None


def test_a_test_reported_twice_keeps_its_worst_outcome():
    report = b"""<testsuite name="s">
      <testcase classname="t" name="flaky"><failure message="first try"/></testcase>
      <testcase classname="t" name="flaky"/>
      <testcase classname="t" name="stable"/>
    </testsuite>"""
    assert [(c.automation_key, c.status, c.comment) for c in parse_report(report)] == [
        ("t.flaky", "failed", "first try"),
        ("t.stable", "passed", ""),
    ]


def test_very_long_names_keep_distinct_keys_within_the_column():
    long_name = "test_" + "x" * 600
    report = f"""<testsuite name="s">
      <testcase classname="t" name="{long_name}a"/><testcase classname="t" name="{long_name}b"/>
    </testsuite>""".encode()
    first, second = parse_report(report)
    assert len(first.automation_key) == len(second.automation_key) == 500
    assert first.automation_key != second.automation_key
    assert len(first.title) == 300


def test_a_huge_failure_message_is_truncated():
    report = f"""<testsuite name="s"><testcase classname="t" name="n">
      <failure>{"x" * 50_000}</failure></testcase></testsuite>""".encode()
    (case,) = parse_report(report)
    assert len(case.comment) < 20_100 and case.comment.endswith("… (truncated)")


@pytest.mark.parametrize(
    "report, message",
    [
        (junit_fixture("malformed.xml"), "The report is not well-formed XML: mismatched tag: line 6, column 4."),
        (
            junit_fixture("billion-laughs.xml"),
            "The report declares XML entities or external references, which are refused "
            "(JUnit reports never need them; they are how XML bombs work).",
        ),
        (
            b"""<?xml version="1.0"?><!DOCTYPE testsuite [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <testsuite name="&xxe;"><testcase name="n"/></testsuite>""",
            "The report declares XML entities or external references, which are refused "
            "(JUnit reports never need them; they are how XML bombs work).",
        ),
        (
            b"<html><body>Bad gateway</body></html>",
            "Expected a JUnit report with <testsuites> or <testsuite> at its root, found <html>.",
        ),
        (b"  \n", "The report is empty."),
        (
            b'<testsuite name="api"><testcase classname="t"/></testsuite>',
            "Test case #1 (suite api) has no name attribute.",
        ),
    ],
)
def test_unusable_reports_are_refused_with_a_clear_message(report, message):
    with pytest.raises(JUnitError) as refused:
        parse_report(report)
    assert str(refused.value) == message


def nested_report(levels: int) -> bytes:
    """A report whose suites nest `levels` deep (as node's junit reporter nests describe blocks), one test inside."""
    opening = "".join(f'<testsuite name="level {level}">' for level in range(1, levels + 1))
    closing = "</testsuite>" * levels
    return f'<testsuites>{opening}<testcase classname="deep" name="reaches the bottom"/>{closing}</testsuites>'.encode()


def test_suites_nested_to_the_limit_are_read():
    (case,) = parse_report(nested_report(junit.MAX_DEPTH - 2))
    assert (case.automation_key, case.status) == ("deep.reaches the bottom", "passed")


@pytest.mark.parametrize("levels", [junit.MAX_DEPTH, 200_000], ids=["one-too-many", "hostile"])
def test_a_report_nested_deeper_than_any_tool_writes_is_refused(levels):
    with pytest.raises(JUnitError) as refused:
        parse_report(nested_report(levels))
    assert str(refused.value) == (
        "The report nests elements more than 100 levels deep, which no test tool writes; it was not read."
    )


def test_a_report_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(junit, "MAX_REPORT_BYTES", 100)
    with pytest.raises(JUnitError, match="The report is larger than"):
        parse_report(b"<testsuite>" + b" " * 100 + b"</testsuite>")


@pytest.mark.django_db
def test_import_creates_missing_cases_and_records_results():
    run = TestRunFactory()
    user = UserFactory()
    existing = TestCaseFactory(
        project=run.project, title="Hand-written", automation_key="com.example.shop.CartTest.addsPrices"
    )

    summary = import_junit(run, junit_fixture("surefire-TEST-com.example.shop.CartTest.xml"), user=user)

    assert (summary.cases_created, summary.results_created, summary.results_updated) == (3, 4, 0)
    assert summary.statuses == {"failed": 2, "skipped": 1, "passed": 1}
    assert TestCase.objects.filter(project=run.project).count() == 4
    assert TestCase.objects.get(pk=existing.pk).title == "Hand-written"
    recorded = TestResult.objects.filter(run=run).select_related("case", "recorded_by")
    results = {result.case.automation_key: result for result in recorded}
    assert results["com.example.shop.CartTest.addsPrices"].case == existing
    failed = results["com.example.shop.CartTest.appliesDiscount"]
    assert (failed.status, failed.duration, failed.recorded_by) == ("failed", timedelta(milliseconds=84), user)
    assert failed.case.title == "appliesDiscount" and failed.case.created_by == user


@pytest.mark.django_db
def test_importing_again_updates_the_runs_results_and_reuses_the_cases():
    run = TestRunFactory()
    import_junit(run, junit_fixture("pytest.xml"))
    case = TestCase.objects.get(automation_key="tests.test_checkout.TestCart.test_discount_applies")
    TestResult.objects.filter(run=run, case=case).update(status="blocked")

    again = import_junit(run, junit_fixture("pytest.xml"))
    next_build = import_junit(TestRunFactory(project=run.project), junit_fixture("pytest.xml"))

    assert (again.cases_created, again.results_created, again.results_updated) == (0, 0, 6)
    assert TestResult.objects.get(run=run, case=case).status == "failed"
    assert (next_build.cases_created, next_build.results_created) == (0, 6)
    assert TestCase.objects.filter(project=run.project).count() == 6


@pytest.mark.django_db
def test_the_same_report_in_another_project_creates_that_projects_own_cases():
    import_junit(TestRunFactory(), junit_fixture("jest-junit.xml"))
    other = import_junit(TestRunFactory(), junit_fixture("jest-junit.xml"))
    assert other.cases_created == 4


@pytest.mark.django_db
def test_a_failure_while_recording_leaves_nothing_behind(monkeypatch):
    run = TestRunFactory()
    TestResultFactory(run=run)
    before = database_state()

    def broken_bulk_create(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(TestResult.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(DatabaseError):
        import_junit(run, junit_fixture("pytest.xml"))
    assert database_state() == before


def test_parsed_cases_are_plain_values():
    (case,) = parse_report(b'<testsuite><testcase classname="a.B" name="c" time="0.5"/></testsuite>')
    assert case == ReportedCase(
        automation_key="a.B.c", title="c", folder="a/B", status="passed", comment="", duration=timedelta(seconds=0.5)
    )


def test_node_test_runner_report_keeps_same_named_tests_of_different_describe_blocks_apart():
    # node --test --test-reporter=junit: classname="test" on every test, a <testsuite> per describe block.
    cases = parse_report(junit_fixture("node-test.xml"))
    assert summary_of(cases) == [
        ("Cart › test.adds prices", "Cart", "passed"),
        ("Cart › vouchers › test.accepts SAVE10", "Cart/vouchers", "passed"),
        ("Cart › vouchers › test.rejects expired codes", "Cart/vouchers", "failed"),
        ("Checkout › test.adds prices", "Checkout", "passed"),
        ("Checkout › test.charges the card", "Checkout", "skipped"),
        ("test.loads the config", "test", "passed"),  # a top-level test() has no describe path
    ]
    titles = ["adds prices", "accepts SAVE10", "rejects expired codes", "adds prices"]
    assert [case.title for case in cases[:4]] == titles
    failure = "Expected values to be strictly equal:\n\ntrue !== false\n\n[Error [ERR_TEST_FAILURE]"
    assert cases[2].comment.startswith(failure)
    assert cases[4].comment == "payment sandbox is down"
    assert [case.former_key for case in cases] == [
        "test.adds prices",
        "test.accepts SAVE10",
        "test.rejects expired codes",
        "test.adds prices",
        "test.charges the card",
        "",
    ]


@pytest.mark.parametrize(
    "fixture", ["pytest.xml", "surefire-TEST-com.example.shop.CartTest.xml", "jest-junit.xml", "go-junit-report.xml"]
)
def test_flat_reports_keep_the_keys_they_always_had(fixture):
    assert all(case.former_key == "" for case in parse_report(junit_fixture(fixture)))


@pytest.mark.django_db
def test_node_tests_map_to_the_same_cases_on_the_next_upload():
    run = TestRunFactory()
    first = import_junit(run, junit_fixture("node-test.xml"))
    next_build = import_junit(TestRunFactory(project=run.project), junit_fixture("node-test.xml"))

    assert (first.cases_created, next_build.cases_created, next_build.results_created) == (6, 0, 6)
    keys = set(TestCase.objects.filter(project=run.project).values_list("automation_key", flat=True))
    assert {"Cart › test.adds prices", "Checkout › test.adds prices"} <= keys


@pytest.mark.django_db
def test_a_node_case_recorded_before_describe_paths_counted_takes_its_new_key():
    run = TestRunFactory()
    recorded = TestCaseFactory(project=run.project, automation_key="test.accepts SAVE10")
    merged = TestCaseFactory(project=run.project, automation_key="test.adds prices")

    import_junit(run, junit_fixture("node-test.xml"))
    import_junit(TestRunFactory(project=run.project), junit_fixture("node-test.xml"))

    recorded.refresh_from_db()
    assert recorded.automation_key == "Cart › vouchers › test.accepts SAVE10"
    assert TestResult.objects.filter(case=recorded).count() == 2
    # Two describe blocks' "adds prices" were one case before; it cannot become both, so both start afresh.
    merged.refresh_from_db()
    assert merged.automation_key == "test.adds prices"
    assert not TestResult.objects.filter(case=merged).exists()
    assert TestCase.objects.filter(project=run.project).count() == 7


def test_ctest_report_counts_disabled_and_not_run_tests_as_skipped():
    # ctest --output-junit: one <testsuite>, classname = name, a status attribute on every test.
    cases = {case.automation_key: case for case in parse_report(junit_fixture("ctest.xml"))}
    assert {key: (case.folder, case.status) for key, case in cases.items()} == {
        "cart_totals": ("Linux-c++", "passed"),
        "cart_discounts": ("Linux-c++", "failed"),
        "payment_gateway": ("Linux-c++", "failed"),
        "currency_rates": ("Linux-c++", "skipped"),
        "legacy_import": ("Linux-c++", "skipped"),
    }
    assert cases["currency_rates"].comment == "Not run (disabled)."
    assert cases["legacy_import"].comment == "Unable to find executable: /builds/shop/build/legacy_import"
    assert cases["cart_totals"].comment == ""


def test_ctest_failure_without_a_message_takes_the_tests_output():
    cases = {case.automation_key: case for case in parse_report(junit_fixture("ctest.xml"))}
    output = "cart_discounts.cpp:42: expected total 8.00, got 9.00\n1 of 3 checks failed"
    assert cases["cart_discounts"].comment == output
    assert cases["payment_gateway"].comment == "Timeout"


@pytest.mark.parametrize(
    "attributes, children, expected",
    [
        ('status="notrun"', "", ("skipped", "Not run (notrun).")),
        ('status="suppressed"', "", ("skipped", "Not run (suppressed).")),
        ('status="run"', "", ("passed", "")),
        ('status="fail"', "<system-err>segfault in main</system-err>", ("failed", "segfault in main")),
        ("", "<system-out>all good</system-out>", ("passed", "")),
        ('status="run"', '<skipped message="GTEST_SKIP: no GPU"/>', ("skipped", "GTEST_SKIP: no GPU")),
        (
            'status="fail"',
            '<error message="" /><system-out>out</system-out><system-err>err</system-err>',
            ("failed", "out\n\nerr"),
        ),
    ],
)
def test_status_attributes_and_captured_output(attributes, children, expected):
    report = f'<testsuite name="s"><testcase classname="c" name="n" {attributes}>{children}</testcase></testsuite>'
    (case,) = parse_report(report.encode())
    assert (case.status, case.comment) == expected
