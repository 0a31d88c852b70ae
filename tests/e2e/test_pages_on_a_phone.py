"""Pages that hold up at 390 px (an iPhone's width): long unbroken titles wrap, tables scroll in their
own box, the navigation folds into a Menu button; the page is never wider than the screen."""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.pages_world import daily_pages, main_pages, seed_pages_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def phone(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, user, password="correct horse battery staple"):
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("name", ["home", "run", "issue-list", "filing-form", "result", "issue", "traceability"])
def test_a_page_with_long_unbroken_titles_is_no_wider_than_a_phone(phone, name):
    world = seed_pages_world()
    log_in(phone, world.member)

    phone.goto(main_pages(world)[name])

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / f"390-{name}.png"), full_page=True)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide at {PHONE['width']} px"


def test_the_navigation_folds_into_a_menu_that_opens_and_closes(phone):
    world = seed_pages_world()
    log_in(phone, world.member)
    phone.goto("/projects/SHOP/")
    menu = phone.get_by_role("button", name="Menu")
    tabs = phone.get_by_role("navigation", name="Project")

    expect(tabs).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    tabs.get_by_role("link", name="Issues").click()
    expect(phone.locator("h1")).to_have_text("Issues")
    expect(phone.get_by_role("navigation", name="Project")).to_be_hidden()


def test_without_javascript_the_navigation_wraps_and_stays_usable(chromium, live_server):
    world = seed_pages_world()
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, world.member)
        page.goto("/projects/SHOP/")
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("navigation", name="Project").get_by_role("link", name="Issues")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


DAILY_PAGES = [
    "cases",
    "case",
    "case-form",
    "case-edit",
    "runs",
    "run-form",
    "milestones",
    "milestone-form",
    "my-results",
    "requirements",
    "requirement",
    "requirement-edit",
    "issue-edit",
    "new-failures",
    "import",
    "trackers",
]
MAIN_PAGES = ["home", "run", "issue-list", "filing-form", "result", "issue", "traceability"]


@pytest.mark.parametrize("name", DAILY_PAGES)
def test_every_other_page_of_daily_work_is_no_wider_than_a_phone(phone, name):
    world = seed_pages_world()
    log_in(phone, world.member)

    response = phone.goto(daily_pages(world)[name])

    assert response.ok, f"{name} answered {response.status}"
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width} px wide at {PHONE['width']} px"


@pytest.mark.parametrize("name", MAIN_PAGES + DAILY_PAGES)
def test_at_phone_width_no_page_has_a_serious_or_critical_accessibility_violation(phone, name):
    """At 390 px tables overflow into their scroll boxes, which axe then asks to be reachable by keyboard."""
    world = seed_pages_world()
    log_in(phone, world.member)

    phone.goto({**main_pages(world), **daily_pages(world)}[name])

    found = Axe().run(phone).response["violations"]
    blocking = [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in found
        if violation["impact"] in ("serious", "critical")
    ]
    assert blocking == []
