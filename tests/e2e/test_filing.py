"""Filing and linking tracker issues in a real browser, against the fake Jira Cloud: a failure filed
with a required field first left empty, a run's failures filed in bulk with one forced failure and
its retry, existing issues linked by search and by key, and a custom tracker's issue linked by key."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from integrations.models import AuditAction, AuditEvent, AuthType, Provider
from issues.filing import tasks
from issues.filing.models import FilingJob
from issues.links.models import ExternalReference, Link
from projects.models import ResultStatus, Role
from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestResultFactory,
    TestRunFactory,
)
from tests.issues.filing_support import CREATE_PATH, jira_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.e2e,
    pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache"),
]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(project):
    return MembershipFactory(project=project, role=Role.MEMBER).user


@pytest.fixture
def jira(fake_jira_cloud, project):
    return jira_world(fake_jira_cloud, project)


def failed_result(project, title="Pay with card", run=None):
    run = run or TestRunFactory(project=project, name="Nightly", environment="Chrome 120")
    return TestResultFactory(
        run=run,
        case__project=project,
        case__title=title,
        case__steps=[{"action": "Open the cart", "expected": ""}],
        comment=f"{title}: spinner forever",
        status=ResultStatus.FAILED,
    )


def test_a_failure_is_filed_once_the_required_field_is_filled(page, log_in, project, member, jira):
    result = failed_result(project)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")
    page.click("#create-issue")

    assert page.locator("#filing-targets [aria-current]").inner_text() == "Acme Jira · SHOP"
    assert page.locator("#id_title").input_value() == "Pay with card failed in Nightly"
    assert "Pay with card: spinner forever" in page.locator("#id_description").input_value()
    environment = f"#id_field_{jira.environment}"
    # Another issue type reloads the form with its fields; back to Bug.
    page.select_option("#id_issue_type", label="Task")
    expect(page.locator(environment)).to_have_count(0)
    page.select_option("#id_issue_type", label="Bug")
    expect(page.locator(environment)).to_have_count(1)

    page.get_by_role("button", name="Create in Acme Jira").click()
    expect(page.locator(f"#row-field_{jira.environment} .errorlist")).to_have_text("This field is required.")
    assert jira.creates() == [] and not ExternalReference.objects.exists() and not Link.objects.exists()

    page.select_option(environment, "Production")
    page.get_by_role("button", name="Create in Acme Jira").click()

    badge = page.locator("#linked-issues a.issue-key")
    expect(badge).to_have_text("SHOP-1 · Acme Jira")
    assert badge.get_attribute("href") == f"{jira.fake.base_url}/browse/SHOP-1"
    assert badge.get_attribute("target") == "_blank"
    assert "SHOP-1 is filed in Acme Jira" in page.locator(".messages").inner_text()
    assert jira.fake.issue("SHOP-1").custom_fields[jira.environment]["value"] == "Production"
    assert Link.objects.get().test_result_id == result.pk
    assert AuditEvent.objects.filter(action=AuditAction.ISSUE_CREATED, target="SHOP-1", actor=member).exists()


def test_an_issue_type_chosen_before_the_page_script_ran_still_brings_its_fields(page, log_in, project, member, jira):
    # The CI failure of the test above: Playwright (or a quick hand on a slow connection) chose
    # "Task" before the deferred filing.js had attached its change listener, and the Bug's
    # required field stayed. Here the script is held back until after the choice.
    result = failed_result(project)
    log_in(member)
    held, released = [], []

    def hold_until_released(route):
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/issues/filing.js", hold_until_released)
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")
    page.click("#create-issue")
    page.select_option("#id_issue_type", label="Task")
    expect(page.locator(f"#id_field_{jira.environment}")).to_have_count(1)  # nothing has run yet

    released.append(True)
    for route in held:
        route.continue_()

    expect(page.locator(f"#id_field_{jira.environment}")).to_have_count(0)
    assert page.locator("#id_issue_type option:checked").inner_text() == "Task"
    assert "issue_type=" in page.url


def test_five_failures_filed_in_bulk_one_fails_and_its_retry_succeeds(page, log_in, project, member, jira, monkeypatch):
    run = TestRunFactory(project=project, name="Nightly")
    results = [failed_result(project, title, run) for title in ("Cart", "Checkout", "Coupon", "Pay", "Refund")]
    queued = []
    monkeypatch.setattr(tasks.run_filing_job, "delay", queued.append)  # the worker starts later, below
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{run.pk}/")
    for result in results:
        page.check(f"#result-{result.pk} input[name=result]")
    page.click("#file-selected")

    expect(page.locator("#id_results input:checked")).to_have_count(5)
    page.select_option(f"#id_field_{jira.environment}", "Staging")
    page.check("input[name=mode][value=each]")
    jira.fake.fail_next(500, {"errorMessages": ["Jira had a hiccup"], "errors": {}}, method="POST", path=CREATE_PATH)
    page.get_by_role("button", name="Create issues in Acme Jira").click()

    expect(page.locator("[data-count=pending]")).to_have_text("5")
    tasks.run_filing_job(*queued)  # the worker: the page follows its progress
    expect(page.locator("[data-count=filed]")).to_have_text("4")
    expect(page.locator("[data-count=failed]")).to_have_text("1")
    failed = page.locator("#job-items tr[data-state=failed]")
    expect(failed).to_have_count(1)
    assert "Jira had a hiccup" in failed.inner_text()
    assert Link.objects.filter(test_result__in=results).count() == 4

    monkeypatch.undo()  # retries run at once again (eager)
    page.get_by_role("button", name="Retry failed results").click()
    expect(page.locator("[data-count=filed]")).to_have_text("5")
    expect(page.locator("#retry-form")).to_be_hidden()
    assert len(jira.fake.issues) == 5 and Link.objects.filter(test_result__in=results).count() == 5
    assert FilingJob.objects.get().items.filter(reference__isnull=True).count() == 0


def test_existing_issues_are_linked_by_search_and_by_key(page, log_in, project, member, jira):
    result = failed_result(project)
    jira.fake.add_issue("SHOP", "Card payments time out", issue_type="Bug", description="The spinner never stops")
    jira.fake.add_issue("SHOP", "Refunds are slow", issue_type="Bug", status="In Progress")
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")

    page.click("#link-existing-issue")
    page.fill("#search-text", "spinner")
    found = page.locator("#search-results li")
    expect(found).to_have_count(1)
    assert "SHOP-1" in found.inner_text() and "Card payments time out" in found.inner_text()
    found.get_by_role("button", name="Link").click()
    expect(page.locator("#linked-issues a.issue-key")).to_have_text(["SHOP-1 · Acme Jira"])

    page.click("#link-existing-issue")
    page.fill("#id_key", "shop-2")
    expect(page.locator("#key-check .key-error")).to_contain_text("“shop-2” is not an issue key of Acme Jira")
    page.fill("#id_key", "SHOP-2")
    expect(page.locator("#key-check")).to_have_text(re.compile(r"Links SHOP-2"))
    page.get_by_role("button", name="Link issue").click()

    # Both open: the most recently updated first.
    expect(page.locator("#linked-issues a.issue-key")).to_have_text(["SHOP-2 · Acme Jira", "SHOP-1 · Acme Jira"])
    assert "In Progress" in page.locator("#linked-issues").inner_text()
    assert ExternalReference.objects.count() == 2 and Link.objects.filter(test_result=result).count() == 2


def test_a_custom_trackers_issue_is_filed_there_and_linked_by_key(page, log_in, project, member):
    source = SourceFactory(
        provider=Provider.CUSTOM,
        name="Bugzilla",
        auth_type=AuthType.NONE,
        credentials={},
        base_url="https://bugs.example.com",
        key_pattern=r"^\d+$",
        issue_url_template="{baseUrl}/show_bug.cgi?id={key}",
        can_create_issues=True,
        create_url_template="{baseUrl}/enter_bug.cgi?short_desc={title}",
    )
    ProjectIntegrationFactory(
        project=project, source=source, external_project="", default_issue_type="", is_primary=True
    )
    result = failed_result(project)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")
    page.click("#create-issue")

    opener = page.locator("#open-tracker-form")
    assert opener.get_attribute("href") == (
        "https://bugs.example.com/enter_bug.cgi?short_desc=Pay%20with%20card%20failed%20in%20Nightly"
    )
    assert opener.get_attribute("target") == "_blank"
    page.click("#then-link")
    assert page.locator("#issue-search").count() == 0
    page.fill("#id_key", "BUG-1")
    expect(page.locator("#key-check .key-error")).to_contain_text("is not an issue key of Bugzilla")
    page.fill("#id_key", "4711")
    page.fill("#id_title", "Crash when paying")
    page.get_by_role("button", name="Link issue").click()

    badge = page.locator("#linked-issues a.issue-key")
    expect(badge).to_have_text("4711 · Bugzilla")
    assert badge.get_attribute("href") == "https://bugs.example.com/show_bug.cgi?id=4711"
    assert "Crash when paying" in page.locator("#linked-issues").inner_text()


def test_a_failure_is_filed_with_its_files_and_a_too_large_one_is_named(page, log_in, project, member, jira, tmp_path):
    jira.fake.max_attachment_bytes = 1024
    screenshot, dump = tmp_path / "screen.png", tmp_path / "heap.bin"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    dump.write_bytes(b"0" * 2048)
    result = failed_result(project)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")
    page.click("#create-issue")

    page.get_by_label("Files").set_input_files([str(screenshot), str(dump)])
    page.get_by_role("button", name="Create in Acme Jira").click()
    expect(page.locator("#files-again")).to_be_visible()  # the required field was empty: files are chosen again
    page.select_option(f"#id_field_{jira.environment}", "Production")
    page.get_by_label("Files").set_input_files([str(screenshot), str(dump)])
    page.get_by_role("button", name="Create in Acme Jira").click()

    expect(page.locator("#linked-issues a.issue-key")).to_have_text("SHOP-1 · Acme Jira")
    messages = page.locator(".messages").inner_text()
    assert "SHOP-1 is filed in Acme Jira" in messages and "heap.bin was not sent to Acme Jira" in messages
    stored = jira.fake.issue("SHOP-1").attachments
    assert [(a.filename, a.content) for a in stored] == [("screen.png", screenshot.read_bytes())]


def test_the_tracker_filing_form_holds_up_on_a_phone_and_passes_the_accessibility_check(
    page, log_in, project, member, jira
):
    result = failed_result(project, title="Pay-with-a-card-whose-number-is-" + "9" * 120)
    log_in(member)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/SHOP/runs/{result.run_id}/results/{result.pk}/")
    page.click("#create-issue")
    expect(page.get_by_role("button", name="Create in Acme Jira")).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    blocking = [
        violation["id"]
        for violation in Axe().run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert blocking == []
