"""`manage.py import_testrail`: the same import as the page, one transaction per file."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.models import AuthType, Provider
from issues.links.models import Link
from projects.models import ImportJob, TestCase, TestResult, TestRun
from tests.factories import ProjectFactory, ProjectIntegrationFactory, SourceFactory, UserFactory
from tests.projects.testrail_support import FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def jira(project):
    source = SourceFactory(name="Jira", key_pattern="")
    return ProjectIntegrationFactory(project=project, source=source, is_primary=True)


def import_testrail(*args):
    out, err = StringIO(), StringIO()
    call_command("import_testrail", *[str(arg) for arg in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_each_file_is_imported_and_the_output_says_what_happened(project, jira):
    out, err = import_testrail("SHOP", FIXTURES / "suite.xml", FIXTURES / "run-results.csv")

    assert TestCase.objects.filter(project=project).count() == 6
    assert TestRun.objects.get().name == "Release 2.4 regression" and TestResult.objects.count() == 6
    # Three defects link to the results, the cases' three references (refs) to the cases.
    assert Link.objects.filter(test_result__isnull=False).count() == 3
    assert sorted(Link.objects.filter(test_case__isnull=False).values_list("external_reference__key", flat=True)) == [
        "REQ-1",
        "REQ-7",
        "REQ-9",
    ]
    assert f"{FIXTURES / 'suite.xml'}: imported\n  Test cases: 5 created, 2 skipped\n" in out
    assert "  Reference links: 3 created\n" in out
    assert f"{FIXTURES / 'run-results.csv'}: imported into run “Release 2.4 regression”" in out
    assert "  Defect links: 3 created, 2 skipped\n" in out
    assert "  skipped defect shop-99: C106: “shop-99” is not a Jira issue key" in out
    assert err == ""


def test_a_broken_file_changes_nothing_and_the_other_files_are_still_imported(project):
    with pytest.raises(CommandError, match=r"1 of 2 files not imported: .*broken\.xml$"):
        call_command(
            "import_testrail",
            "SHOP",
            str(FIXTURES / "broken.xml"),
            str(FIXTURES / "cases.csv"),
            stdout=StringIO(),
            stderr=(err := StringIO()),
        )
    assert "broken.xml: The file is not well-formed XML: mismatched tag: line 17, column 5." in err.getvalue()
    assert set(TestCase.objects.values_list("import_key", flat=True)) == {"C201", "C202", "C203"}
    assert not ImportJob.objects.filter(filename="broken.xml").exists()


def test_importing_again_updates_instead_of_duplicating(project):
    import_testrail("SHOP", FIXTURES / "suite.xml")
    out, _ = import_testrail("SHOP", FIXTURES / "suite.xml")
    assert "Test cases: 5 unchanged, 2 skipped" in out
    assert TestCase.objects.count() == 5


def test_run_tracker_and_user_can_be_chosen(project, jira):
    bugzilla = ProjectIntegrationFactory(
        project=project,
        external_project="",
        source=SourceFactory(
            provider=Provider.CUSTOM,
            name="Bugzilla",
            auth_type=AuthType.NONE,
            credentials={},
            base_url="https://bugs.example.com",
            issue_url_template="{baseUrl}/show_bug.cgi?id={key}",
            key_pattern="",
        ),
    )
    migrator = UserFactory(username="migrator")

    import_testrail(
        "SHOP", FIXTURES / "run-results.csv", "--run", "Nightly 12", "--tracker", "bugzilla", "--user", "migrator"
    )

    run = TestRun.objects.get()
    assert (run.name, run.created_by) == ("Nightly 12", migrator)
    assert {link.external_reference.source_id for link in Link.objects.all()} == {bugzilla.source_id}
    assert set(TestResult.objects.values_list("recorded_by", flat=True)) == {migrator.pk}


def test_defects_can_be_left_unlinked(project, jira):
    out, _ = import_testrail("SHOP", FIXTURES / "run-results.csv", "--tracker", "none")
    assert not Link.objects.exists()
    assert "not linked, because no tracker was chosen for defects" in out


def test_a_dry_run_describes_the_import_and_changes_nothing(project, jira):
    out, _ = import_testrail("SHOP", FIXTURES / "run-results.csv", "--dry-run")

    assert "TestRail CSV export of a run: 6 test rows (dry run, nothing changed)" in out
    assert "  Test cases: 6 to create, 0 to update, 0 unchanged or existing" in out
    assert "  Results: 6 into the new run “Release 2.4 regression”" in out
    assert "  Defect links: 3, skipped 2" in out
    assert not (ImportJob.objects.exists() or TestCase.objects.exists() or TestRun.objects.exists())


@pytest.mark.parametrize(
    "args, message",
    [
        (["NOPE", FIXTURES / "suite.xml"], "No project with that key."),
        (["SHOP", FIXTURES / "suite.xml", "--user", "ghost"], "No user named ghost."),
        (
            ["SHOP", FIXTURES / "suite.xml", "--tracker", "GitHub"],
            "SHOP has no active tracker named GitHub (available: Jira).",
        ),
        (["SHOP", FIXTURES / "missing.xml"], "1 of 1 file not imported"),
    ],
)
def test_mistakes_on_the_command_line_are_named_and_change_nothing(project, jira, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        import_testrail(*args)
    assert not TestCase.objects.exists()
