"""Executing a run in a real browser: a 20-result run worked through with the keyboard only
(statuses, a comment and duration, a failure filed as an internal issue) with the counts and the
progress bar following; five results set at once; results assigned and found in "My results"."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from issues.core.models import Issue
from issues.links.models import Link
from projects.models import Milestone, ResultStatus, Role, TestResult
from tests.factories import MembershipFactory, ProjectFactory, TestResultFactory, TestRunFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(project):
    return MembershipFactory(project=project, role=Role.MEMBER, user__username="mia").user


def run_with(project, count):
    run = TestRunFactory(project=project, name="Release check")
    results = [
        TestResultFactory(run=run, case__title=f"Case {n:02d}", status=ResultStatus.UNTESTED, comment="", duration=None)
        for n in range(1, count + 1)
    ]
    return run, results


def row(page, result):
    return page.locator(f"#result-{result.pk}")


def expect_status(page, result, label):
    expect(row(page, result).locator("[data-role=status]")).to_have_text(label)


def press(page, *keys):
    for key in keys:
        page.keyboard.press(key)


def tab_to(page, element_id, limit=60):
    """Press Tab until the element has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} never got the focus")


def test_a_twenty_result_run_is_executed_with_the_keyboard_only(page, log_in, project, member):
    run, results = run_with(project, 20)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{run.pk}/")
    expect(page.locator("#run-progress [data-progress=tested]")).to_have_text("0")

    press(page, "j")  # the first row
    for result in results[:12]:
        press(page, "p")
        expect_status(page, result, "Passed")
        press(page, "j")
    for result, key, label in zip(results[12:16], "fbsr", ["Failed", "Blocked", "Skipped", "Retest"], strict=True):
        press(page, key)
        expect_status(page, result, label)
        press(page, "j")
    press(page, "k", "k", "k", "k")  # back up to the failure, then on to the next untested
    assert page.evaluate("document.activeElement.id") == f"result-{results[12].pk}"
    press(page, "n")
    assert page.evaluate("document.activeElement.id") == f"result-{results[16].pk}"

    press(page, "c")  # comment and duration, edited in place
    page.keyboard.type("Slow on the first load")
    press(page, "Tab")
    page.keyboard.type("1m 30s")
    press(page, "Enter")
    expect(row(page, results[16]).locator("[data-role=comment]")).to_have_text("Slow on the first load")
    expect(row(page, results[16]).locator("[data-role=duration]")).to_have_text("1m 30s")
    press(page, "p")
    expect_status(page, results[16], "Passed")

    counts = {
        "passed": "13 passed",
        "failed": "1 failed",
        "blocked": "1 blocked",
        "skipped": "1 skipped",
        "retest": "1 retest",
        "untested": "3 untested",
    }
    for status, text in counts.items():
        expect(page.locator(f"[data-status-count={status}]")).to_have_text(text)
    expect(page.locator("#run-progress [data-progress=tested]")).to_have_text("16")
    expect(page.locator("#run-progress [data-progress=percent]")).to_have_text("80")
    bar = page.locator("#run-progress [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "80")
    widths = bar.evaluate(
        "bar => Object.fromEntries([...bar.children].map(s => [s.dataset.segment, parseFloat(s.style.width)]))"
    )
    assert widths == {"passed": 65, "failed": 5, "blocked": 5, "skipped": 5, "untested": 15, "retest": 5}

    stored = dict(TestResult.objects.filter(run=run).values_list("pk", "status"))
    assert [stored[r.pk] for r in results[12:16]] == ["failed", "blocked", "skipped", "retest"]
    noted = TestResult.objects.get(pk=results[16].pk)
    assert (noted.comment, noted.duration, noted.recorded_by) == (
        "Slow on the first load",
        timedelta(seconds=90),
        member,
    )

    # The failure is filed on the spot as an internal issue (no tracker here), keyboard only.
    press(page, "k", "k", "k", "k")
    assert page.evaluate("document.activeElement.id") == f"result-{results[12].pk}"
    press(page, "i")
    page.wait_for_url("**/issues/new/**")
    expect(page.locator("#filed-from")).to_contain_text("Case 13")
    tab_to(page, "id_name")
    press(page, "Enter")
    page.wait_for_url("**/projects/SHOP/issues/1/")
    issue = Issue.objects.get()
    assert Link.objects.filter(issue=issue, test_result_id=results[12].pk).exists()


def test_five_results_are_set_at_once(page, log_in, project, member):
    run, results = run_with(project, 7)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{run.pk}/")
    for result in results[:5]:
        page.get_by_label(f"Select {result.case.title}").check()
    page.get_by_label("Status", exact=True).select_option("passed")
    page.get_by_role("button", name="Set status").click()

    expect(page.locator("body")).to_contain_text("Set 5 results to passed.")
    for result in results[:5]:
        expect_status(page, result, "Passed")
    for result in results[5:]:
        expect_status(page, result, "Untested")
    expect(page.locator("[data-status-count=passed]")).to_have_text("5 passed")
    expect(page.locator("#run-progress [data-progress=percent]")).to_have_text("71")


def test_results_assigned_to_a_member_are_in_their_my_results(page, log_in, project, member):
    tester = MembershipFactory(project=project, role=Role.MEMBER, user__username="tess").user
    run, results = run_with(project, 4)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{run.pk}/")
    for result in results[1:3]:
        page.get_by_label(f"Select {result.case.title}").check()
    page.get_by_label("Assignee").select_option(label="tess")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("body")).to_contain_text("Assigned 2 results to tess.")
    expect(row(page, results[1]).locator(".assignee")).to_have_text("→ tess")

    page.context.clear_cookies()
    log_in(tester)
    page.get_by_role("link", name="My results").click()
    rows = page.locator("#my-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Case 02")
    expect(rows.nth(1)).to_contain_text("Case 03")
    rows.nth(0).get_by_role("link", name="Release check").click()
    page.wait_for_url(f"**/projects/SHOP/runs/{run.pk}/#result-{results[1].pk}")


def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_the_run_and_milestone_pages_pass_the_accessibility_check(page, log_in, project, member):
    pytest.importorskip("axe_playwright_python")
    milestone = Milestone.objects.create(project=project, name="Release 2.0")
    run, results = run_with(project, 3)
    TestResult.objects.filter(pk=results[0].pk).update(status=ResultStatus.FAILED)
    run.milestone = milestone
    run.save()
    log_in(member)
    for address in (
        f"/projects/SHOP/runs/{run.pk}/",
        "/projects/SHOP/milestones/",
        f"/projects/SHOP/milestones/{milestone.pk}/",
        "/projects/SHOP/milestones/new/",
        "/projects/my-results/",
    ):
        page.goto(address)
        assert serious_violations(page) == [], address
    page.goto(f"/projects/SHOP/runs/{run.pk}/")
    press(page, "j", "c")  # the comment editor in place
    assert serious_violations(page) == []


def test_without_javascript_a_failure_is_recorded_and_filed_through_plain_forms(chromium, live_server, project, member):
    run, results = run_with(project, 3)
    failing = results[1]
    failing.case.steps = [
        {"action": "Open the cart", "expected": "The cart lists it"},
        {"action": "Pay", "expected": "Paid"},
    ]
    failing.case.save()
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", member.username)
        page.fill("#id_password", "correct horse battery staple")
        page.click("button[type=submit]")
        page.goto(f"/projects/SHOP/runs/{run.pk}/")
        expect(row(page, failing).locator(".edit-row")).to_be_hidden()  # only the script shows in-place editing

        # The row's status button is a plain form: the page reloads with the failure saved.
        row(page, failing).get_by_role("button", name="Failed: Case 02").click()
        expect(page.locator("body")).to_contain_text("Recorded failed for “Case 02”.")
        expect_status(page, failing, "Failed")
        assert TestResult.objects.get(pk=failing.pk).status == ResultStatus.FAILED

        # Record: the result form takes the comment, the duration and a status per step.
        row(page, failing).get_by_role("link", name="Record").click()
        page.get_by_label("Comment").fill("The Pay button does nothing")
        page.get_by_label("Duration").fill("1m 30s")
        page.get_by_label("Step 1: Open the cart").select_option("passed")
        page.get_by_label("Step 2: Pay").select_option("failed")
        page.get_by_role("button", name="Save result").click()
        page.wait_for_url(f"**/projects/SHOP/runs/{run.pk}/**")
        saved = TestResult.objects.get(pk=failing.pk)
        assert (saved.status, saved.comment, saved.duration, saved.recorded_by) == (
            ResultStatus.FAILED,
            "The Pay button does nothing",
            timedelta(seconds=90),
            member,
        )
        assert [step["status"] for step in saved.step_results] == ["passed", "failed"]

        # Create issue: the internal form (no tracker here), prefilled with the result, posts as is.
        row(page, failing).get_by_role("link", name="Create issue").click()
        page.wait_for_url("**/issues/new/?result=*")
        assert "Step 2: Pay" in page.locator("#id_description").input_value()
        page.get_by_role("button", name="Create issue").click()
        page.wait_for_url("**/projects/SHOP/issues/1/")
        issue = Issue.objects.get()
        assert issue.name == "Case 02 failed in Release check"
        assert Link.objects.filter(issue=issue, test_result_id=failing.pk).exists()
    finally:
        context.close()


def test_a_long_comment_saved_in_place_is_cut_with_its_whole_text_on_hover(page, log_in, project, member):
    run, results = run_with(project, 2)
    long = " ".join(["The card form hangs after the third retry and shows no error at all."] * 3)
    log_in(member)
    page.goto(f"/projects/SHOP/runs/{run.pk}/")
    row(page, results[0]).get_by_role("button", name="Edit comment and duration: Case 01").click()
    row(page, results[0]).get_by_role("textbox", name="Comment").fill(long)
    row(page, results[0]).get_by_role("button", name="Save", exact=True).click()

    shown = row(page, results[0]).locator("[data-role=comment] .shortened")
    expect(shown).to_have_attribute("title", long)
    assert len(shown.inner_text()) == 120 and shown.inner_text().endswith("…")
    assert TestResult.objects.get(pk=results[0].pk).comment == long
    page.reload()
    expect(row(page, results[0]).locator("[data-role=comment] .shortened")).to_have_attribute("title", long)
