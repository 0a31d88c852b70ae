"""TestRail exports into test cases, a run and results (projects.importers.testrail).

The fixtures are TestRail's suite XML export and its CSV exports of cases and of a run's tests
(see fixtures/testrail/README.md). Linking defects to trackers is tested in test_testrail_defects.
"""

from datetime import timedelta

import pytest

from projects.importers import testrail
from projects.importers.testrail import LEAVE_OUT, TestRailError
from projects.models import CaseField, CaseFieldKind, ResultStatus, TestCase, TestResult, TestRun
from tests.factories import ProjectFactory, TestCaseFactory, TestResultFactory
from tests.projects.testrail_support import fixture, nested_suite

pytestmark = pytest.mark.django_db


def run_import(project, name="", *, data=None, mapping=None, run_name=None, progress=None, linked=None):
    """Parse and import; `linked` collects what the import hands over for linking, batch by batch."""
    export = testrail.parse_export(fixture(name) if data is None else data, name or "upload.csv")
    chosen = testrail.Mapping.for_export(export, mapping)
    options = {"user": None, **({"progress": progress} if progress else {})}
    if linked is not None:
        options["link"] = lambda items: linked.extend(items) or []
    if export.kind == testrail.CASES:
        return testrail.import_cases(project, export, chosen, **options)
    return testrail.import_results(project, export, chosen, run_name=run_name or export.run_name, **options)


def actions(outcome, kind="case") -> dict[str, str]:
    return {entry.item: entry.action for entry in outcome.log if entry.kind == kind and entry.action != "skipped"}


def skipped(outcome) -> list[tuple[str, str]]:
    return [(entry.item, entry.message) for entry in outcome.log if entry.action == "skipped"]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


def case(project, key) -> TestCase:
    return TestCase.objects.get(project=project, import_key=key)


class SuiteXmlTests:
    def test_sections_become_folders_and_cases_keep_their_testrail_id(self, project):
        outcome = run_import(project, "suite.xml")

        cases = {c.import_key: (c.folder, c.title) for c in TestCase.objects.filter(project=project)}
        assert cases == {
            "C101": ("Checkout", "Pay with a saved card"),
            "C102": ("Checkout", "Apply a discount code"),
            "C103": ("Checkout/Payment providers", "Bezahlen mit Überweisung – Prüfung der IBAN “DE89…”"),
            "C104": ("Checkout/Payment providers/PayPal - Wallets", "支付宝付款"),
            "C105": ("Accounts", "Sign up with email"),
        }
        assert actions(outcome) == dict.fromkeys(cases, "created")

    def test_separated_steps_keep_each_action_with_its_expected_result(self, project):
        run_import(project, "suite.xml")

        assert case(project, "C101").steps == [
            {"action": "Open the cart", "expected": "The cart lists the item"},
            {
                "action": "Choose the saved card\nand press **Pay**\n\n*Additional info:* Use the sandbox gateway",
                "expected": "The order confirmation shows an order number",
            },
            {"action": "Open the order history", "expected": ""},
        ]

    def test_text_template_is_one_step_with_its_texts_as_written(self, project):
        run_import(project, "suite.xml")

        assert case(project, "C102").steps == [
            {"action": "1. Open the cart\n2. Enter SAVE10 and press Apply", "expected": "The total is reduced by 10%"}
        ]

    def test_priority_type_and_estimate_land_in_their_own_fields(self, project):
        run_import(project, "suite.xml")

        paid, discount, wallet = case(project, "C101"), case(project, "C102"), case(project, "C104")
        assert (paid.priority, paid.case_type.name, paid.estimate) == ("high", "Functional", timedelta(minutes=5))
        assert (discount.priority, discount.case_type.name, discount.estimate) == ("critical", "Regression", None)
        assert (wallet.priority, wallet.case_type.name, wallet.estimate) == ("low", "Other", timedelta(seconds=30))
        # TestRail's default types are the project's own from the start: none was added.
        assert project.case_types.count() == 12

    def test_custom_fields_become_the_projects_custom_fields(self, project):
        CaseField.objects.create(project=project, name="automation_type", label="Tool", kind=CaseFieldKind.SELECT)

        run_import(project, "suite.xml")

        fields = {field.name: (field.label, field.kind) for field in project.case_fields.all()}
        assert fields == {
            "automation_type": ("Tool", "select"),  # the project's own field, its options grown by the values
            "browsers": ("Browsers", "text"),
            "status": ("Case status", "text"),
        }
        assert project.case_fields.get(name="automation_type").options == ["None", "Ranorex"]
        assert case(project, "C101").custom_fields == {"automation_type": "Ranorex"}
        assert case(project, "C102").custom_fields == {"automation_type": "None", "browsers": "Chrome, Firefox"}
        assert case(project, "C105").custom_fields == {"automation_type": "Ranorex", "status": "Approved"}

    def test_references_are_listed_as_testrail_fields_after_the_preconditions(self, project):
        linked = []
        run_import(project, "suite.xml", linked=linked)

        assert case(project, "C101").preconditions == (
            "A customer with a saved Visa card\nand one item in the cart\n\n"
            "### TestRail fields\n\n"
            "- **References:** REQ-7, REQ-9"
        )
        # ... and handed to the issues app, which links them when a tracker knows the keys.
        assert [(c.case_key, c.keys) for c in linked] == [("C101", ["REQ-7", "REQ-9"]), ("C105", ["REQ-1"])]
        assert linked[0].artefact_id == case(project, "C101").pk

    def test_unicode_text_arrives_intact(self, project):
        run_import(project, "suite.xml")

        german = case(project, "C103")
        assert german.preconditions.startswith("Kunde in München 🇩🇪")
        assert german.steps[0]["expected"] == "Die IBAN wird akzeptiert ✓"
        assert case(project, "C104").steps == [{"action": "扫描二维码", "expected": "付款成功"}]

    def test_cases_without_an_id_and_repeated_ids_are_skipped_with_the_reason(self, project):
        outcome = run_import(project, "suite.xml")

        assert skipped(outcome) == [
            (
                "A case written by hand, without an id",
                "Case #6 in Accounts: it has no TestRail case id (C123), so a later import could not find it again.",
            ),
            (
                "C105",
                "Case #7 in Accounts: C105 appears a second time; the first one (“Sign up with email” in "
                "Accounts) is imported.",
            ),
        ]
        assert case(project, "C105").title == "Sign up with email"

    def test_the_mapping_renames_moves_and_leaves_out_fields(self, project):
        run_import(
            project,
            "suite.xml",
            mapping={
                "priorities": {"High": "critical"},
                "types": {"Functional": "", "Regression": "Nightly regression"},
                "fields": {
                    "automation_type": {"label": "Tool", "target": "description"},
                    "browsers": {"label": "Browsers", "target": LEAVE_OUT},
                    "status": {"label": "State", "target": "fields"},
                },
            },
        )

        paid, discount = case(project, "C101"), case(project, "C102")
        assert (paid.priority, paid.case_type) == ("critical", None)
        assert paid.description == "**Tool:** Ranorex"
        assert discount.case_type.name == "Nightly regression"  # a type the import added to the project's list
        assert "- **State:** Approved" in case(project, "C105").preconditions
        assert "Chrome" not in str(discount.custom_fields) and not project.case_fields.exists()

    def test_a_custom_field_can_go_into_a_project_field_of_another_name(self, project):
        CaseField.objects.create(
            project=project, name="tool", label="Tool", kind=CaseFieldKind.SELECT, options=["None"]
        )

        run_import(
            project,
            "suite.xml",
            mapping={"fields": {"automation_type": {"label": "Tool", "target": testrail.project_field_target("tool")}}},
        )

        assert case(project, "C101").custom_fields == {"tool": "Ranorex"}
        assert case(project, "C102").custom_fields == {"tool": "None", "browsers": "Chrome, Firefox"}
        assert project.case_fields.get(name="tool").options == ["None", "Ranorex"]
        assert not project.case_fields.filter(name="automation_type").exists()

    @pytest.mark.parametrize("spelling", ["Smoke and Sanity", "smoke &amp; sanity", "SMOKE  &amp;  SANITY"])
    def test_testrails_spellings_of_a_type_are_the_projects_own_type(self, project, spelling):
        data = fixture("suite.xml").replace(b"<type>Functional</type>", f"<type>{spelling}</type>".encode(), 1)

        run_import(project, "suite.xml", data=data)

        assert case(project, "C101").case_type.name == "Smoke & Sanity"
        assert project.case_types.count() == 12

    def test_saved_choices_that_are_not_valid_fall_back_to_the_defaults(self, project):
        run_import(
            project,
            "suite.xml",
            mapping={
                "priorities": {"High": "P9"},
                "fields": {"automation_type": {"label": "", "target": "steps"}},
            },
        )

        assert case(project, "C101").priority == "high"
        assert case(project, "C101").custom_fields == {"automation_type": "Ranorex"}

    def test_an_estimate_that_is_no_time_span_is_left_empty_and_logged(self, project):
        data = fixture("suite.xml").replace(b"<estimate>5m</estimate>", b"<estimate>a while</estimate>")

        outcome = run_import(project, "suite.xml", data=data)

        assert case(project, "C101").estimate is None
        assert (
            "C101",
            "estimate “a while” is not a TestRail time span such as 1m 30s; the case is imported without an estimate.",
        ) in skipped(outcome)

    def test_progress_is_reported_until_every_case_is_done(self, project):
        reported = []
        run_import(project, "suite.xml", progress=reported.append)
        assert reported[-1] == 5 and reported == sorted(reported)


class IdempotencyTests:
    def test_importing_the_same_export_twice_changes_and_duplicates_nothing(self, project):
        run_import(project, "suite.xml")
        before = {c.import_key: (c.pk, c.updated_at) for c in TestCase.objects.filter(project=project)}

        again = run_import(project, "suite.xml")

        assert actions(again) == dict.fromkeys(before, "unchanged")
        assert {c.import_key: (c.pk, c.updated_at) for c in TestCase.objects.filter(project=project)} == before

    def test_a_newer_export_updates_the_changed_cases_in_place(self, project):
        run_import(project, "suite.xml")
        original = case(project, "C102")
        result = TestResultFactory(run__project=project, case=original)
        newer = (
            fixture("suite.xml")
            .replace(b"Apply a discount code", b"Apply a coupon code")
            .replace(b"<name>Accounts</name>", b"<name>Customer accounts</name>")
        )

        outcome = run_import(project, "suite.xml", data=newer)

        assert actions(outcome) == {
            "C101": "unchanged",
            "C102": "updated",
            "C103": "unchanged",
            "C104": "unchanged",
            "C105": "updated",
        }
        renamed = case(project, "C102")
        assert (renamed.pk, renamed.title) == (original.pk, "Apply a coupon code")
        assert renamed.updated_at > original.updated_at and renamed.created_at == original.created_at
        assert TestResult.objects.get(case=renamed) == result
        assert case(project, "C105").folder == "Customer accounts"
        assert TestCase.objects.filter(project=project).count() == 5

    def test_a_changed_mapping_counts_as_an_update(self, project):
        run_import(project, "suite.xml")
        outcome = run_import(project, "suite.xml", mapping={"priorities": {"Low": "high"}})
        assert actions(outcome)["C104"] == "updated"
        assert case(project, "C104").priority == "high"

    def test_the_same_testrail_id_in_another_project_is_another_case(self, project):
        other = TestCaseFactory(project=ProjectFactory(key="OTHER"), import_key="C101", title="Elsewhere")

        run_import(project, "suite.xml")

        other.refresh_from_db()
        assert other.title == "Elsewhere"
        assert case(project, "C101").title == "Pay with a saved card"


class CasesCsvTests:
    def test_the_csv_export_of_cases_becomes_the_same_kind_of_cases(self, project):
        outcome = run_import(project, "cases.csv")

        assert actions(outcome) == {"C201": "created", "C202": "created", "C203": "created"}
        search = case(project, "C201")
        assert search.folder == "Search"
        assert search.steps == [
            {"action": "Type “lamp” in the search box", "expected": "A list of lamps"},
            {
                "action": "Filter by colour: red\n\n*Additional info:* Colour filter is on the left",
                "expected": "Only red lamps remain",
            },
        ]
        assert search.preconditions == (
            "The catalogue has red and blue lamps\n\n### TestRail fields\n\n- **References:** REQ-21"
        )
        assert (search.priority, search.case_type.name, search.estimate) == ("high", "Functional", timedelta(minutes=2))
        assert search.custom_fields == {"automation_type": "None"}
        # Who created the case when is TestRail's bookkeeping, not part of the case.
        assert "Ada Lovelace" not in search.preconditions
        unicode = case(project, "C203")
        assert unicode.folder == "Search/Edge cases/Ünïcödé"
        assert unicode.title == "Recherche accentuée « éléphant »"

    def test_the_one_row_per_step_layout_collects_the_steps_of_a_case(self, project):
        data = (
            b'"ID","Title","Section","Steps (Step)","Steps (Expected Result)"\n'
            b'"C7","Checkout","Cart","Open the cart","The cart opens"\n'
            b'"","","","Press Pay","A receipt"\n'
            b'"C8","Search","Search","Type lamp","Lamps"\n'
        )

        run_import(project, data=data)

        assert case(project, "C7").steps == [
            {"action": "Open the cart", "expected": "The cart opens"},
            {"action": "Press Pay", "expected": "A receipt"},
        ]
        assert case(project, "C8").steps == [{"action": "Type lamp", "expected": "Lamps"}]

    def test_semicolon_separated_csv_from_a_spreadsheet_is_read(self, project):
        run_import(project, data=b'"ID";"Title";"Section"\n"C9";"Saved by Excel";"Imports"\n')
        assert case(project, "C9").folder == "Imports"


class EncodingTests:
    def test_utf16_with_a_byte_order_mark_is_read(self, project):
        text = fixture("cases.csv").decode("utf-8-sig")
        run_import(project, data=text.encode("utf-16"))
        assert case(project, "C203").title == "Recherche accentuée « éléphant »"

    def test_xml_in_the_encoding_it_declares_is_read(self, project):
        data = (
            '<?xml version="1.0" encoding="ISO-8859-1"?><suite><name>S</name><sections><section>'
            "<name>Café</name><cases><case><id>C1</id><title>Crème brûlée</title></case></cases>"
            "</section></sections></suite>".encode("latin-1")
        )
        run_import(project, data=data)
        assert (case(project, "C1").folder, case(project, "C1").title) == ("Café", "Crème brûlée")

    def test_text_in_another_encoding_is_refused_naming_the_byte(self):
        windows = fixture("cases.csv").decode("utf-8-sig").encode("cp1252")
        with pytest.raises(TestRailError, match=r"not readable as UTF-8 text: byte \d+ \(0x93\) is invalid"):
            testrail.parse_export(windows, "cases.csv")

    def test_an_unknown_declared_encoding_is_named(self):
        with pytest.raises(TestRailError, match="declares the encoding “klingon”, which is unknown"):
            testrail.parse_export(b'<?xml version="1.0" encoding="klingon"?><suite/>', "suite.xml")


class RefusedFileTests:
    @pytest.mark.parametrize(
        "data, message",
        [
            (fixture("broken.xml"), "The file is not well-formed XML: mismatched tag: line 17, column 5."),
            (fixture("broken.csv"), "The file is not valid CSV (line 3): ',' expected after '\"'."),
            (fixture("billion-laughs.xml"), "The XML declares entities or external references, which are refused"),
            (fixture("external-entity.xml"), "The XML declares entities or external references, which are refused"),
            (b"", "The file is empty."),
            (b"PK\x03\x04\x14\x00", "This is a ZIP or Excel file."),
            (b'<testsuites><testsuite name="x"/></testsuites>', "found <testsuites>. It looks like a JUnit report"),
            (b"<suite><name>Empty</name><sections/></suite>", "The XML export contains no test cases."),
            (b'"Name","Result"\n"a","b"\n', "does not look like a TestRail CSV export"),
            (b'"ID","Title"\n"C1","One","surplus"\n', "CSV line 2 has 3 values but the header has 2 columns"),
            (b'"Case ID","Status"\n', "The CSV export has a header but no tests."),
        ],
        ids=[
            "broken-xml",
            "broken-csv",
            "billion-laughs",
            "external-entity",
            "empty",
            "zip",
            "junit",
            "no-cases",
            "other-csv",
            "ragged-csv",
            "header-only",
        ],
    )
    def test_the_file_is_refused_with_a_clear_reason(self, data, message):
        with pytest.raises(TestRailError) as refused:
            testrail.parse_export(data, "upload")
        assert message in str(refused.value)

    def test_an_entity_is_never_expanded_into_a_case(self, project):
        with pytest.raises(TestRailError):
            run_import(project, "external-entity.xml")
        assert not TestCase.objects.exists()


class NestingTests:
    def test_a_hundred_nested_sections_import_with_the_folder_cut_at_its_length(self, project):
        run_import(project, data=nested_suite(testrail.MAX_SECTION_DEPTH))

        imported = case(project, "C1")
        assert imported.folder == "/".join(f"Area {level}" for level in range(1, 101))[:500]
        assert len(imported.folder) == 500
        assert imported.steps == [{"action": "Open", "expected": "Open"}]

    @pytest.mark.parametrize("levels", [testrail.MAX_SECTION_DEPTH + 1, 40_000], ids=["one-too-many", "hostile"])
    def test_deeper_sections_are_refused_with_the_reason_and_nothing_is_written(self, project, levels):
        with pytest.raises(TestRailError) as refused:
            run_import(project, data=nested_suite(levels))

        assert str(refused.value).startswith("Sections are nested more than 100 levels deep")
        assert not TestCase.objects.exists()


class RunResultsTests:
    def test_each_test_of_the_run_becomes_a_result_in_a_run_named_as_in_the_export(self, project):
        outcome = run_import(project, "run-results.csv")

        run = TestRun.objects.get(project=project)
        assert run == outcome.run and run.name == "Release 2.4 regression"
        results = {r.case.import_key: (r.status, r.duration) for r in TestResult.objects.filter(run=run)}
        assert results == {
            "C101": (ResultStatus.PASSED, timedelta(seconds=90)),
            "C102": (ResultStatus.FAILED, timedelta(seconds=45)),
            "C103": (ResultStatus.BLOCKED, None),
            "C104": (ResultStatus.RETEST, timedelta(hours=2, minutes=5)),
            "C105": (ResultStatus.UNTESTED, None),
            "C106": (ResultStatus.FAILED, None),
        }
        assert actions(outcome, "result") == dict.fromkeys(results, "created")

    def test_the_comment_keeps_who_tested_and_when(self, project):
        run_import(project, "run-results.csv")

        comments = {r.case.import_key: r.comment for r in TestResult.objects.all()}
        assert comments["C102"] == (
            "Total not reduced: 100 € instead of 90 €\n\n"
            "*TestRail: tested by Grace Hopper, 11/20/2025 2:09 PM, version 2.4.0.*"
        )
        assert comments["C104"] == (
            "Fixed in 2.4.1, please retest\n\n*TestRail: tested by Grace Hopper, 11/20/2025 3:00 PM, version 2.4.0.*"
        )
        assert comments["C105"] == ""

    def test_an_elapsed_time_that_is_not_a_time_span_is_skipped_with_the_reason(self, project):
        outcome = run_import(project, "run-results.csv")
        assert skipped(outcome) == [
            (
                "C106",
                "CSV line 7: elapsed “a while” is not a TestRail time span such as 1m 30s; the result is "
                "recorded without a duration.",
            )
        ]

    def test_cases_the_project_lacks_are_created_and_existing_cases_are_left_as_they_are(self, project):
        run_import(project, "suite.xml")
        paid_steps = case(project, "C101").steps

        outcome = run_import(project, "run-results.csv")

        assert actions(outcome) == {"C106": "created"}
        assert case(project, "C101").steps == paid_steps
        created = case(project, "C106")
        assert (created.title, created.folder, created.steps) == ("Reset a forgotten password", "Accounts", [])
        assert created.priority == "high"

    def test_importing_the_run_again_updates_its_results(self, project):
        run_import(project, "run-results.csv")
        passed = fixture("run-results.csv").replace(b'"C102","Failed"', b'"C102","Passed"')

        outcome = run_import(project, data=passed)

        assert TestRun.objects.filter(project=project).count() == 1
        assert TestResult.objects.count() == 6 and TestCase.objects.count() == 6
        assert set(actions(outcome, "result").values()) == {"updated"}
        assert TestResult.objects.get(case__import_key="C102").status == ResultStatus.PASSED

    def test_another_run_name_records_another_run(self, project):
        run_import(project, "run-results.csv")
        run_import(project, "run-results.csv", run_name="Release 2.5 regression")
        assert sorted(TestRun.objects.values_list("name", flat=True)) == [
            "Release 2.4 regression",
            "Release 2.5 regression",
        ]
        assert TestCase.objects.count() == 6

    def test_the_status_mapping_is_applied(self, project):
        run_import(project, "run-results.csv", mapping={"statuses": {"Retest": "failed", "Blocked": "skipped"}})
        statuses = dict(TestResult.objects.values_list("case__import_key", "status"))
        assert (statuses["C104"], statuses["C103"]) == (ResultStatus.FAILED, ResultStatus.SKIPPED)

    def test_defects_are_handed_back_per_recorded_result(self, project):
        linked = []
        run_import(project, "run-results.csv", linked=linked)

        result_of = dict(TestResult.objects.values_list("case__import_key", "pk"))
        assert {(r.case_key, r.artefact_id, tuple(r.keys)) for r in linked} == {
            ("C102", result_of["C102"], ("SHOP-12", "SHOP-13")),
            ("C103", result_of["C103"], ("gateway outage",)),
            ("C104", result_of["C104"], ("SHOP-12",)),
            ("C106", result_of["C106"], ("shop-99",)),
        }

    def test_a_later_row_of_the_same_test_is_its_result_and_the_defects_of_both_count(self, project):
        data = (
            b'"Case ID","Title","Status","Defects","Run"\n'
            b'"C1","Pay","Failed","SHOP-1","Nightly"\n'
            b'"C1","Pay","Passed","SHOP-2","Nightly"\n'
        )

        linked = []
        outcome = run_import(project, data=data, linked=linked)

        assert TestResult.objects.get().status == ResultStatus.PASSED
        assert linked[0].keys == ["SHOP-1", "SHOP-2"]
        assert skipped(outcome) == [
            (
                "C1",
                "CSV line 2: an earlier result of C1; the one on CSV line 3 is recorded (defects of both are linked).",
            )
        ]

    def test_without_a_run_column_the_run_is_named_after_the_file(self, project):
        export = testrail.parse_export(b'"Case ID","Title","Status"\n"C1","Pay","Passed"\n', "R12 sprint 3.csv")
        assert export.run_name == "R12 sprint 3"


@pytest.mark.parametrize(
    "text, duration",
    [
        ("45s", timedelta(seconds=45)),
        ("1m 30s", timedelta(seconds=90)),
        ("2h 5m", timedelta(hours=2, minutes=5)),
        ("1d 1h", timedelta(hours=25)),
        ("1w", timedelta(days=7)),
        ("90", timedelta(seconds=90)),
        ("0.5s", timedelta(milliseconds=500)),
        ("", None),
    ],
)
def test_testrail_time_spans(text, duration):
    assert testrail.parse_elapsed(text) == duration


@pytest.mark.parametrize("text", ["a while", "5 minutes", "1m30", "-5s", "999999999s"])
def test_what_is_not_a_testrail_time_span(text):
    with pytest.raises(ValueError):
        testrail.parse_elapsed(text)
