"""Importing TestRail exports in a real browser: upload, preview and mapping, confirm, progress, log."""

import pytest
from playwright.sync_api import expect

from issues.imports import services
from projects.models import ImportJob, ImportStatus, Role, TestCase, TestResult
from tests.factories import MembershipFactory, ProjectFactory, ProjectIntegrationFactory, SourceFactory
from tests.projects.testrail_support import FIXTURES, fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(project):
    return MembershipFactory(project=project, role=Role.MEMBER).user


def test_member_imports_a_suite_with_a_changed_priority_mapping_and_reads_the_log(page, log_in, project, member):
    log_in(member)
    page.goto("/projects/SHOP/")
    page.locator("#import-link").click()
    page.set_input_files("#id_file", str(FIXTURES / "suite.xml"))
    page.get_by_role("button", name="Preview").click()

    assert page.locator("h1").inner_text() == "Preview: suite.xml"
    assert "Create 5 test cases, update 0, leave 0 unchanged" in page.locator("#import-summary").inner_text()
    assert "C105 appears a second time" in page.locator("#skipped").inner_text()
    page.locator("#priority-mapping").get_by_label("High", exact=True).select_option("critical")
    page.get_by_role("button", name="Update preview").click()
    expect(page.locator("#priority-mapping").get_by_label("High", exact=True)).to_have_value("critical")
    assert not TestCase.objects.exists()

    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.locator("#import-status")).to_have_text("Done")
    progress = page.locator("#import-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == "5"
    assert "Test cases: 5 created, 2 skipped" in page.locator("#import-counts").inner_text()
    log = page.locator("#import-log")
    assert "Pay with a saved card" in log.locator("tr", has_text="C101").first.inner_text()
    page.locator("#log-filter").get_by_role("link", name="Skipped").click()
    # Two cases, and the three references no tracker could take.
    assert page.locator("#import-log tbody tr").count() == 5

    page.goto(f"/projects/SHOP/cases/{TestCase.objects.get(import_key='C101').pk}/")
    facts = page.locator("dl.facts")
    assert "Critical" in facts.inner_text() and "Functional" in facts.inner_text() and "5m" in facts.inner_text()
    assert "References: REQ-7, REQ-9" in page.locator(".prose").first.inner_text()


def test_separated_steps_survive_as_pairs_on_the_case_page(page, log_in, project, member):
    """TestRail's separated steps (custom_steps_separated: content + expected) stay paired after an import."""
    log_in(member)
    page.goto("/projects/SHOP/import/")
    page.set_input_files("#id_file", str(FIXTURES / "suite.xml"))
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-status")).to_have_text("Done")

    page.goto(f"/projects/SHOP/cases/{TestCase.objects.get(import_key='C101').pk}/")

    rows = page.locator("table#steps tbody tr")
    expect(rows).to_have_count(3)
    pairs = [
        (rows.nth(n).locator(".step-action").inner_text(), rows.nth(n).locator(".step-expected").inner_text())
        for n in range(3)
    ]
    assert pairs[0] == ("Open the cart", "The cart lists the item")
    assert pairs[1][0].startswith("Choose the saved card") and "Use the sandbox gateway" in pairs[1][0]
    assert pairs[1][1] == "The order confirmation shows an order number"
    assert pairs[2] == ("Open the order history", "—")
    assert rows.nth(1).locator(".step-action strong").inner_text() == "Pay"  # the action's Markdown is rendered


def test_member_imports_a_run_and_its_defects_are_linked_to_the_primary_tracker(page, log_in, project, member):
    ProjectIntegrationFactory(project=project, source=SourceFactory(name="Jira", key_pattern=""), is_primary=True)
    log_in(member)
    page.goto("/projects/SHOP/import/")
    page.set_input_files("#id_file", str(FIXTURES / "run-results.csv"))
    page.get_by_role("button", name="Preview").click()

    assert page.locator("#id_run_name").input_value() == "Release 2.4 regression"
    assert page.locator("#id_integration option:checked").inner_text() == "Jira → SHOP (primary)"
    assert "Link 3 defects to Jira; skip 2." in page.locator("#defects-summary").inner_text()
    page.fill("#id_run_name", "Release 2.4 regression (TestRail)")
    page.get_by_role("button", name="Import", exact=True).click()

    expect(page.locator("#import-status")).to_have_text("Done")
    assert "Defect links: 3 created, 2 skipped" in page.locator("#import-counts").inner_text()
    page.locator("#import-counts").get_by_role("link", name="the run").click()
    assert page.locator("h1").inner_text().startswith("Release 2.4 regression (TestRail)")
    failed = TestResult.objects.get(case__import_key="C102")
    assert "SHOP-12" in page.locator(f"#result-{failed.pk}").inner_text()


def test_the_progress_bar_follows_a_running_import_until_it_is_done(page, log_in, project, member):
    job = services.upload(project, member, "suite.xml", fixture("suite.xml"))
    services.confirm(job, job.options)
    job.start(total=5)
    job.report_progress(2)
    log_in(member)

    page.goto(f"/projects/SHOP/import/{job.pk}/")
    expect(page.locator("#import-status")).to_have_text("Running")
    expect(page.locator("#import-processed")).to_have_text("2")

    job.report_progress(4)
    expect(page.locator("#import-processed")).to_have_text("4")
    assert page.locator("#import-progress").get_attribute("value") == "4"

    services.run_job(job.pk)  # the worker finishes; the page notices and shows the outcome

    expect(page.locator("#import-status")).to_have_text("Done")
    expect(page.locator("#import-counts")).to_contain_text("Test cases: 5 created, 2 skipped")
    assert ImportJob.objects.get().status == ImportStatus.DONE
