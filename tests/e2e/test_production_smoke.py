"""Smoke test of the production stack (`make prod`): gunicorn with two workers, PostgreSQL, Redis,
a Celery worker with beat and whitenoise, with DEBUG off, driven in headless Chromium.

An admin adds a Jira source that takes webhooks and tests it against the fake Jira, then registers
the webhook address its page shows in Jira; a project admin assigns the source, a member records
failures from a JUnit upload over the API and files a Jira issue from one of them, Jira moves it to
Done and posts its signed webhook to gunicorn (a forged one is refused first), and the member's
page shows Done. /healthz answers 200 throughout, and 503 naming the worker once the worker is stopped.
"""

import re
import secrets

import pytest
import requests
from playwright.sync_api import expect

from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN
from tests.fakes.webhooks import send
from tests.support.prod_stack import eventually, prod_stack

pytestmark = [pytest.mark.e2e, pytest.mark.celery_worker]

PASSWORD = "correct horse battery staple"
WEBHOOK_SECRET = secrets.token_urlsafe(32)
JUNIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="checkout" tests="2" failures="1">
  <testcase classname="checkout.Payment" name="pay_with_saved_card" time="1.2">
    <failure message="spinner never stops">Timeout after 30s waiting for the receipt</failure>
  </testcase>
  <testcase classname="checkout.Payment" name="pay_with_new_card" time="0.8"/>
</testsuite>
"""


@pytest.fixture
def stack():
    with prod_stack(
        DEBUG="false",
        HTTPS="false",
        ALLOWED_HOSTS="127.0.0.1",
        TRACKER_ALLOW_PRIVATE_HOSTS="true",
        SECRET_KEY=secrets.token_urlsafe(50),
        FERNET_KEYS=secrets.token_urlsafe(32),
        WEB_WORKERS="2",
    ) as stack:
        stack.run(f"from tests.support.prod_actions import seed; seed({PASSWORD!r})")
        yield stack


@pytest.fixture
def browser(chromium, stack):
    contexts = []

    def signed_in(username):
        context = chromium.new_context(base_url=stack.base_url)
        context.set_default_timeout(20000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    yield signed_in
    for context in contexts:
        context.close()


def all_ok(health):
    return {part: check["ok"] for part, check in health.json()["checks"].items()} == {
        "database": True,
        "redis": True,
        "worker": True,
    }


def test_the_production_stack_serves_the_whole_issue_flow(stack, browser, fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    try:
        with stack.web():
            with stack.worker():
                health = stack.health()
                assert health.status_code == 200 and all_ok(health)
                issue_flow(stack, browser, fake_jira_cloud)
                assert all_ok(stack.health())
            # The worker is stopped: within the health check's window the probe says so.
            eventually(lambda: stack.health().status_code == 503, "503 without a worker")
            assert stack.health().json()["checks"] == {
                "database": {"ok": True},
                "redis": {"ok": True},
                "worker": {"ok": False, "detail": "no worker answered"},
            }
    except BaseException:
        print(stack.logs())
        raise


def issue_flow(stack, browser, jira):
    # A system admin adds the Jira source and tests its connection.
    admin = browser("root")
    admin.goto("/admin/integrations/source/add/")
    admin.select_option("#id_provider", "jira_cloud")
    admin.select_option("#id_auth_type", "api_token")
    admin.fill("#id_name", "Fake Jira")
    admin.fill("#id_base_url", jira.base_url)
    admin.check("#id_allow_http")
    admin.fill("#id_credential_email", CLOUD_LOGIN)
    admin.fill("#id_credential_api_token", CLOUD_API_TOKEN)
    admin.check("#id_can_read_details")
    admin.check("#id_can_create_issues")
    admin.check("#id_can_process_webhooks")
    admin.fill("#id_webhook_secret_input", WEBHOOK_SECRET)
    admin.click("input[name=_continue]")
    expect(admin.locator(".messagelist")).to_contain_text("was added successfully")
    admin.click("#test-connection")
    expect(admin.locator(".messagelist")).to_contain_text("Fake Jira: connection works.")
    assert CLOUD_API_TOKEN not in admin.content() and WEBHOOK_SECRET not in admin.content()

    # The page shows the webhook address; the admin registers it in Jira with the same secret.
    address = admin.locator(".field-webhook_address .readonly")
    expect(address).to_contain_text("a webhook secret is stored")
    hook_path = re.search(r"/hooks/[0-9a-f-]{36}/", address.inner_text()).group()
    registered = requests.post(
        f"{jira.base_url}/rest/webhooks/1.0/webhook",
        auth=(CLOUD_LOGIN, CLOUD_API_TOKEN),
        timeout=10,
        json={
            "name": "testmanager",
            "url": stack.base_url + hook_path,
            "events": ["jira:issue_updated"],
            "secret": WEBHOOK_SECRET,
            "filters": {"issue-related-events-section": "project = SHOP"},
        },
    )
    assert registered.status_code == 201, registered.text

    # Whitenoise serves the collected stylesheets under their hashed names.
    stylesheet = admin.locator("link[rel=stylesheet][href*='/admin/css/base.']").get_attribute("href")
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", stylesheet)
    assert requests.get(stack.base_url + stylesheet, timeout=10).headers["Content-Type"].startswith("text/css")
    # Link icons keep their plain names (trackers store them in remote links): served too.
    icon = requests.get(f"{stack.base_url}/static/issues/link-icons/testmanager.svg", timeout=10)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")

    # The project admin assigns it to SHOP as the primary tracker.
    lead = browser("lead")
    lead.goto("/projects/SHOP/integrations/")
    lead.click("#assign-source")
    lead.select_option("#id_source", label="Fake Jira (Jira Cloud)")
    # The project and issue type are picked from the lists the tracker gives (the text inputs are hidden).
    lead.locator("#id_external_project_choice").select_option("SHOP")
    lead.locator("#id_default_issue_type_choice").select_option("Bug")
    lead.check("#id_is_primary")
    lead.click("form.integration button[type=submit]")
    expect(lead.locator("#integrations")).to_contain_text("Fake Jira")

    # The member's CI records a run from a JUnit report through the API.
    api = requests.Session()
    token = api.post(
        f"{stack.base_url}/api/auth/token", json={"username": "mia", "password": PASSWORD, "name": "ci"}, timeout=30
    )
    assert token.status_code == 201, token.text
    api.headers["Authorization"] = f"Bearer {token.json()['token']}"
    run = api.post(f"{stack.base_url}/api/testruns", json={"project": "SHOP", "name": "Nightly"}, timeout=30)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    uploaded = api.post(
        f"{stack.base_url}/api/testruns/{run_id}/junit",
        data=JUNIT,
        headers={"Content-Type": "application/xml"},
        timeout=30,
    )
    assert uploaded.status_code == 200, uploaded.text
    failed = api.get(f"{stack.base_url}/api/testresults", params={"run": run_id, "status": "failed"}, timeout=30)
    [failure] = failed.json()["results"]

    member = browser("mia")
    member.goto(f"/projects/SHOP/runs/{run_id}/")
    expect(member.locator(f"#result-{failure['id']}")).to_contain_text("pay_with_saved_card")

    # The member files a Jira issue from the failure; it is linked to it.
    member.goto(f"/projects/SHOP/runs/{run_id}/results/{failure['id']}/")
    member.click("#create-issue")
    expect(member.locator("#filing-targets [aria-current=true]")).to_contain_text("Fake Jira")
    expect(member.locator("#id_title")).to_have_value("pay_with_saved_card failed in Nightly")
    member.get_by_role("button", name="Create in Fake Jira").click()
    linked = member.locator("#linked-issues")
    expect(linked).to_contain_text("SHOP-1")
    expect(linked).not_to_contain_text("Done")
    assert jira.issue("SHOP-1").summary == "pay_with_saved_card failed in Nightly"

    # Someone moves it to Done in Jira. A delivery signed with another secret is refused and changes
    # nothing; Jira's own delivery to the registered hook is accepted and the member sees Done.
    jira.edit_issue("SHOP-1", status="Done")
    (hook,) = jira.hooks
    forged = send(jira.issue_delivery("SHOP-1", secret="guessed"), hook.url)
    assert forged.status_code == 401, forged.text
    member.reload()
    expect(linked).to_contain_text("SHOP-1")
    expect(linked).not_to_contain_text("Done")
    delivered = send(jira.issue_delivery("SHOP-1", secret=hook.secret), hook.url)
    assert delivered.status_code == 202, delivered.text  # recorded; the Celery worker applies it

    def shows_done():
        member.reload()
        return "Done" in linked.inner_text()

    eventually(shows_done, "showing Done on the member's page")
