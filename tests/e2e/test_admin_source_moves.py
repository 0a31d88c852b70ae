"""An administrator moves the links of a URL-only tracker to a Jira Cloud source of the same Jira in a real
browser: the action on the source list, the preview with a merge, the confirmation, and the references
refreshed from the fake Jira."""

import pytest
from playwright.sync_api import expect

from integrations.models import AuthType, Provider
from issues.links.models import ExternalReference, Link
from tests.factories import ExternalReferenceFactory, SourceFactory, TestCaseFactory, UserFactory
from tests.issues.sync_support import jira_cloud_source

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def admin(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True  # the fake Jira listens on 127.0.0.1
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_an_admin_moves_a_custom_trackers_links_to_jira_cloud_merging_a_reference(page, log_in, admin, fake_jira_cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails", status="In Progress")
    fake_jira_cloud.add_issue("SHOP", "Search is slow", status="Done")
    old = SourceFactory(
        provider=Provider.CUSTOM,
        name="Old tracker",
        auth_type=AuthType.NONE,
        credentials={},
        base_url=fake_jira_cloud.base_url,
        allow_http=True,
        issue_url_template="{baseUrl}/browse/{key}",
    )
    jira = jira_cloud_source(fake_jira_cloud, name="Jira Cloud", can_process_webhooks=False)
    checkout, search = TestCaseFactory(title="Checkout"), TestCaseFactory(title="Search")
    for key, case in (("JIRA-SHOP-1", checkout), ("JIRA-SHOP-2", search)):
        reference = ExternalReferenceFactory(source=old, key=key, title="", status="")
        Link.objects.create(project=case.project, external_reference=reference, test_case=case)
    existing = ExternalReferenceFactory(source=jira, key="SHOP-1", title="Checkout fails")
    Link.objects.create(project=checkout.project, external_reference=existing, test_case=checkout)

    log_in(admin)
    page.goto("/admin/integrations/source/")
    page.check(f"input[name=_selected_action][value='{old.pk}']")
    page.select_option("select[name=action]", "move_links")
    page.click("button[name=index]")

    expect(page.locator("h1")).to_have_text("Move the links of Old tracker to another source")
    page.select_option("#id_target", str(jira.pk))
    page.fill("#id_pattern", r"JIRA-(SHOP-\d+)")
    page.fill("#id_replacement", r"\1")
    page.click("#move-links-preview")

    preview = page.locator("#move-links-preview-table")
    expect(preview.locator("tr[data-old-key='JIRA-SHOP-1']")).to_contain_text("merges with Jira Cloud's SHOP-1")
    expect(preview.locator("tr[data-old-key='JIRA-SHOP-2']")).to_contain_text("moves")
    expect(page.locator("#move-links-counts")).to_contain_text("2 references with 2 links; 2 keys rewritten")
    page.click("#move-links-submit")

    expect(page.locator(".messagelist")).to_contain_text(
        "2 reference(s) of Old tracker moved to Jira Cloud: 1 merged with a reference with the same key, "
        "0 link(s) re-pointed, 1 duplicate link(s) dropped; refreshing 2 from Jira Cloud."
    )
    assert not ExternalReference.objects.filter(source=old).exists()
    moved = {ref.key: ref for ref in ExternalReference.objects.filter(source=jira)}
    assert sorted(moved) == ["SHOP-1", "SHOP-2"]
    assert (moved["SHOP-2"].title, moved["SHOP-2"].status) == ("Search is slow", "Done")
    assert [link.test_case for link in moved["SHOP-1"].links.all()] == [checkout]
    assert [link.test_case for link in moved["SHOP-2"].links.all()] == [search]
