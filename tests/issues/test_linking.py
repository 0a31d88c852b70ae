"""Linking existing tracker issues to test artefacts, and seeing them: by key (checked against the
source's key pattern before saving) or by searching the tracker, custom trackers whose key builds
the URL, one reference per remote issue however often it is linked, unlink keeping the reference,
the status panel of every artefact and the project's list of internal and tracker issues."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditAction, AuditEvent, AuthType, Provider, Source
from issues.links.models import ExternalReference, Link
from issues.links.services import link
from projects.models import ResultStatus, Role
from tests.factories import (
    ExternalReferenceFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
    make_issue,
)
from tests.fakes.fixtures import GITHUB_LOGIN
from tests.issues.filing_support import jira_world
from tests.issues.sync_support import github_source
from tests.support.scripted_server import TricklingServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback", "fresh_cache")]


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP", name="Web shop")


@pytest.fixture
def member(client, project):
    user = MembershipFactory(project=project, role=Role.MEMBER).user
    client.force_login(user)
    return user


@pytest.fixture
def jira(fake_jira_cloud, project):
    world = jira_world(fake_jira_cloud, project)
    world.fake.add_user("dev@example.com", display_name="Dana Developer")
    return world


@pytest.fixture
def result(project):
    return TestResultFactory(
        run__project=project, run__name="Nightly", case__title="Pay with card", status=ResultStatus.FAILED
    )


@pytest.fixture
def custom(project):
    source = SourceFactory(
        provider=Provider.CUSTOM,
        name="Bugzilla",
        auth_type=AuthType.NONE,
        credentials={},
        base_url="https://bugs.example.com",
        key_pattern=r"^\d+$",
        issue_url_template="{baseUrl}/show_bug.cgi?id={key}",
    )
    return ProjectIntegrationFactory(project=project, source=source, external_project="", default_issue_type="")


def link_url(artefact_query, to):
    return f"{reverse('issues:link_issue', args=['SHOP'])}?{artefact_query}&to={to}"


class LinkByKeyTests:
    def test_a_key_links_the_issue_with_what_jira_says_about_it(self, client, member, jira, result):
        remote = jira.fake.add_issue(
            "SHOP", "Card payments time out", status="In Progress", assignee="dev@example.com", priority="High"
        )
        response = client.post(link_url(f"result={result.pk}", jira.integration.pk), {"key": remote.key})
        assert response["Location"].endswith(f"/results/{result.pk}/#linked-issues")
        reference = ExternalReference.objects.get()
        assert (reference.key, reference.title, reference.status, reference.status_category) == (
            remote.key,
            "Card payments time out",
            "In Progress",
            "in_progress",
        )
        assert (reference.assignee, reference.priority) == ("Dana Developer", "High")
        assert reference.last_synced_at is not None
        assert Link.objects.get().test_result == result
        assert AuditEvent.objects.get(action=AuditAction.ISSUE_LINKED).target == remote.key
        assert remote.remote_links[0]["object"]["url"].endswith(f"/results/{result.pk}/")

    def test_a_key_outside_the_pattern_is_refused_before_anything_is_asked_or_saved(self, client, member, jira, result):
        check = client.get(
            reverse("issues:link_check", args=["SHOP"]), {"to": jira.integration.pk, "key": "shop 12"}
        ).json()
        refusal = "“shop 12” is not an issue key of Acme Jira (keys match ^[A-Z][A-Z0-9_]+-\\d+$)."
        assert check == {"ok": False, "message": refusal}
        response = client.post(link_url(f"result={result.pk}", jira.integration.pk), {"key": "shop 12"})
        assert response.context["form"].errors["key"] == [check["message"]]
        assert jira.fake.requests == [] and not ExternalReference.objects.exists()

    def test_a_valid_key_is_confirmed_with_its_url(self, client, member, jira):
        check = client.get(
            reverse("issues:link_check", args=["SHOP"]), {"to": jira.integration.pk, "key": "SHOP-12"}
        ).json()
        assert check == {"ok": True, "key": "SHOP-12", "title": "", "url": f"{jira.fake.base_url}/browse/SHOP-12"}

    def test_a_key_jira_does_not_know_is_refused_and_nothing_is_saved(self, client, member, jira, result):
        response = client.post(link_url(f"result={result.pk}", jira.integration.pk), {"key": "SHOP-404"})
        assert response.context["form"].errors["key"] == ["Acme Jira has no issue SHOP-404."]
        assert not ExternalReference.objects.exists() and not Link.objects.exists()

    def test_linking_a_referenced_key_again_reuses_its_reference(self, client, member, jira, project, result):
        remote = jira.fake.add_issue("SHOP", "Card payments time out")
        case = TestCaseFactory(project=project)
        client.post(link_url(f"result={result.pk}", jira.integration.pk), {"key": remote.key})
        client.post(link_url(f"case={case.pk}", jira.integration.pk), {"key": remote.key})
        client.post(link_url(f"case={case.pk}", jira.integration.pk), {"key": remote.key})
        reference = ExternalReference.objects.get()
        assert {(link.test_result_id, link.test_case_id) for link in reference.links.all()} == {
            (result.pk, None),
            (None, case.pk),
        }
        assert len(remote.remote_links) == 2  # one per page, the repeat updated it

    def test_a_tracker_that_cannot_be_read_gives_a_typed_error_not_a_crash(self, client, member, jira, result):
        jira.fake.fail_next(503, "Service Unavailable", count=10)
        response = client.post(link_url(f"result={result.pk}", jira.integration.pk), {"key": "SHOP-1"})
        assert response.status_code == 200 and "try again" in response.text.lower()
        assert not ExternalReference.objects.exists()


class SearchTests:
    def test_words_and_keys_find_jira_issues(self, client, member, jira):
        jira.fake.add_issue("SHOP", "Card payments time out", description="The spinner never stops")
        second = jira.fake.add_issue("SHOP", "Refunds are slow")
        url = reverse("issues:link_search", args=["SHOP"])
        by_words = client.get(url, {"to": jira.integration.pk, "q": "spinner"}).json()
        assert [issue["title"] for issue in by_words["issues"]] == ["Card payments time out"]
        by_key = client.get(url, {"to": jira.integration.pk, "q": second.key}).json()
        assert [issue["key"] for issue in by_key["issues"]] == [second.key]
        nothing = client.get(url, {"to": jira.integration.pk, "q": "unicorn"}).json()
        assert nothing == {"issues": [], "message": "Nothing in Acme Jira matches “unicorn”."}

    def test_a_tracker_that_never_finishes_answering_gives_up_with_a_clear_message(
        self, client, member, jira, settings
    ):
        settings.TRACKER_INTERACTIVE_SECONDS = 0.5
        trickling = TricklingServer()
        Source.objects.filter(pk=jira.integration.source_id).update(base_url=trickling.base_url, allow_http=True)
        before = ExternalReference.objects.count()
        try:
            response = client.get(
                reverse("issues:link_search", args=["SHOP"]), {"to": jira.integration.pk, "q": "spinner"}
            )
        finally:
            trickling.stop()

        assert response.status_code == 200
        assert response.json() == {
            "issues": [],
            "message": "Acme Jira did not answer within 0.5 s: try again later, or link the issue by its key.",
        }
        assert trickling.connections >= 1 and ExternalReference.objects.count() == before

    def test_a_tracker_testmanager_does_not_read_says_to_type_the_key(self, client, member, custom):
        found = client.get(reverse("issues:link_search", args=["SHOP"]), {"to": custom.pk, "q": "crash"}).json()
        assert found == {"issues": [], "message": "Bugzilla cannot be searched from testmanager: type the issue's key."}


class CustomTrackerTests:
    def test_the_key_builds_the_url_and_the_title_is_the_members(self, client, member, custom, result):
        page = client.get(link_url(f"result={result.pk}", custom.pk))
        assert "title" in page.context["form"].fields and 'id="issue-search"' not in page.text
        client.post(link_url(f"result={result.pk}", custom.pk), {"key": "4711", "title": "Crash on refund"})
        reference = ExternalReference.objects.get()
        assert (reference.key, reference.url, reference.title) == (
            "4711",
            "https://bugs.example.com/show_bug.cgi?id=4711",
            "Crash on refund",
        )
        assert reference.last_synced_at is None
        panel = client.get(reverse("projects:result", args=["SHOP", result.run_id, result.pk])).text
        assert 'href="https://bugs.example.com/show_bug.cgi?id=4711"' in panel and "Crash on refund" in panel


@pytest.fixture
def github(fake_github, project):
    fake_github.add_repo("acme/shop")
    fake_github.add_repo("acme/private", private=True)  # the source's token may not see it
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    source = github_source(fake_github, can_process_webhooks=False)
    return ProjectIntegrationFactory(project=project, source=source, external_project="acme/shop")


class OtherRepositoryTests:
    def test_a_key_of_another_repository_gets_that_repositorys_url(self, client, member, github, fake_github, result):
        fake_github.add_issue("acme/private", "Leaks card numbers", author=GITHUB_LOGIN)
        web = fake_github.web_url

        check = client.get(reverse("issues:link_check", args=["SHOP"]), {"to": github.pk, "key": "acme/private#1"})
        client.post(link_url(f"result={result.pk}", github.pk), {"key": "acme/private#1"})

        assert check.json()["url"] == f"{web}/acme/private/issues/1"
        reference = ExternalReference.objects.get()
        assert (reference.key, reference.url, reference.title) == ("acme/private#1", f"{web}/acme/private/issues/1", "")

    def test_a_short_key_is_in_the_integrations_repository(self, client, member, github, fake_github):
        check = client.get(reverse("issues:link_check", args=["SHOP"]), {"to": github.pk, "key": "#7"}).json()
        assert (check["key"], check["url"]) == ("acme/shop#7", f"{fake_github.web_url}/acme/shop/issues/7")


class UnlinkTests:
    def test_unlinking_keeps_the_reference_for_the_next_link(self, client, member, jira, result):
        reference = ExternalReferenceFactory(source=jira.source, key="SHOP-3", title="Kept")
        found = link(artefact=result, reference=reference, actor=member)
        url = reverse("issues:unlink", args=["SHOP", found.pk])
        assert "only this link is removed" in client.get(url).text
        response = client.post(url)
        assert response["Location"].endswith(f"/results/{result.pk}/#linked-issues")
        assert not Link.objects.exists() and ExternalReference.objects.get().title == "Kept"
        assert AuditEvent.objects.filter(action=AuditAction.ISSUE_UNLINKED, target="SHOP-3").exists()

    def test_viewers_and_other_projects_cannot_unlink(self, client, project, jira, result):
        found = link(artefact=result, reference=ExternalReferenceFactory(source=jira.source))
        client.force_login(MembershipFactory(project=project, role=Role.VIEWER).user)
        assert client.post(reverse("issues:unlink", args=["SHOP", found.pk])).status_code == 403
        client.force_login(MembershipFactory(project=ProjectFactory(key="BANK"), role=Role.ADMIN).user)
        assert client.post(reverse("issues:unlink", args=["BANK", found.pk])).status_code == 404
        assert Link.objects.count() == 1


class StatusPanelTests:
    def test_every_linked_issue_shows_its_status_people_and_last_sync(self, client, member, jira, result):
        synced = timezone.now() - timedelta(minutes=5)
        link(
            artefact=result,
            reference=ExternalReferenceFactory(
                source=jira.source,
                key="SHOP-7",
                title="Slow refunds",
                status="In Review",
                status_category="in_progress",
                assignee="Dana Developer",
                priority="High",
                last_synced_at=synced,
            ),
        )
        panel = client.get(reverse("projects:result", args=["SHOP", result.run_id, result.pk])).text
        panel = panel.split('id="linked-issues"')[1].split("</section>")[0]
        for shown in (
            '<span class="badge cat-in_progress">In Review</span>',
            "Dana Developer",
            "High",
            "5\xa0minutes ago",
            "Open in tracker",
            "Slow refunds",
            "Unlink",
            "Link existing issue",
        ):
            assert shown in panel

    def test_a_remotely_deleted_issue_is_struck_through_and_a_deleted_sources_snapshot_stays(
        self, client, member, jira, project, result
    ):
        link(
            artefact=result,
            reference=ExternalReferenceFactory(
                source=jira.source, key="SHOP-8", title="Gone bug", deleted_remotely=True
            ),
        )
        orphan = ExternalReferenceFactory(
            source=None,
            source_name="Old Jira",
            key="OLD-1",
            title="Legacy bug",
            url="https://old.example.com/browse/OLD-1",
        )
        link(artefact=result, reference=orphan)
        panel = client.get(reverse("projects:result", args=["SHOP", result.run_id, result.pk])).text
        assert '<s>Gone bug</s> <span class="badge status-failed">deleted in tracker</span>' in panel
        assert "Old Jira was deleted: last known values" in panel
        assert 'href="https://old.example.com/browse/OLD-1"' in panel
        run_page = client.get(reverse("projects:run", args=["SHOP", result.run_id])).text
        assert "<s>Gone bug</s>" in run_page and "OLD-1" in run_page


class IssueListTests:
    def test_internal_and_tracker_issues_are_listed_together_and_filtered(self, client, member, jira, project, result):
        make_issue(project, name="Internal crash")
        done = ExternalReferenceFactory(
            source=jira.source, key="SHOP-1", title="Fixed remotely", status="Done", status_category="done"
        )
        link(artefact=result, reference=done)
        ExternalReferenceFactory(source=jira.source, key="SHOP-2", title="Linked elsewhere only")  # not in SHOP
        url = reverse("issues:list", args=["SHOP"])

        listed = client.get(url).context["page"].object_list  # newest first: the reference was made last
        assert [str(item) for item in listed] == ["Acme Jira: SHOP-1", "SHOP#1 Internal crash"]
        assert [str(item) for item in client.get(url, {"source": str(jira.source.pk)}).context["page"].object_list] == [
            "Acme Jira: SHOP-1"
        ]
        assert [str(item) for item in client.get(url, {"source": "internal"}).context["page"].object_list] == [
            "SHOP#1 Internal crash"
        ]
        assert [str(item) for item in client.get(url, {"category": "done"}).context["page"].object_list] == [
            "Acme Jira: SHOP-1"
        ]
        assert [str(item) for item in client.get(url, {"category": "todo"}).context["page"].object_list] == [
            "SHOP#1 Internal crash"
        ]
        assert [str(item) for item in client.get(url, {"q": "remotely"}).context["page"].object_list] == [
            "Acme Jira: SHOP-1"
        ]
        page = client.get(url).text
        assert "Fixed remotely" in page and '<span class="badge cat-done">Done</span>' in page
        assert f'<option value="{jira.source.pk}">Acme Jira</option>' in page
