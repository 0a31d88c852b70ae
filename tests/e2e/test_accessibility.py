"""axe-core (through axe-playwright-python) on the main pages: project home, run, result, issue list,
issue, filing form and traceability have no serious or critical accessibility violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.pages_world import main_pages, seed_pages_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

BLOCKING = {"serious", "critical"}


def _blocking(violations) -> list[str]:
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in violations
        if violation["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("name", ["home", "run", "result", "issue-list", "issue", "filing-form", "traceability"])
def test_a_main_page_has_no_serious_or_critical_violation(page, log_in, name):
    world = seed_pages_world()
    log_in(world.member)

    page.goto(main_pages(world)[name])

    assert _blocking(Axe().run(page).response["violations"]) == []


def test_the_page_title_names_the_page_and_the_project(page, log_in):
    world = seed_pages_world()
    log_in(world.member)

    page.goto("/projects/SHOP/issues/")

    assert page.title() == "Issues · SHOP · testmanager"
    assert page.locator("link[rel=icon]").get_attribute("href").endswith("favicon.svg")


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(page, log_in):
    world = seed_pages_world()
    log_in(world.member)
    page.goto("/projects/SHOP/issues/")

    page.keyboard.press("Tab")

    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.evaluate("element => getComputedStyle(element).outlineStyle") != "none"
    skip.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
