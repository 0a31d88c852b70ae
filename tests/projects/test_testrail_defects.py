"""The Defects column of a run's export becomes tracker references linked to the imported results."""

import pytest

from integrations.models import AuditAction, AuditEvent, AuthType, IntegrationState, Provider
from issues.links.models import ExternalReference, Link
from projects.models import ImportStatus, TestResult
from tests.factories import (
    ExternalReferenceFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    SourceFactory,
    UserFactory,
)
from tests.projects.testrail_support import import_through_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return ProjectFactory(key="SHOP")


@pytest.fixture
def jira(project):
    """The project's primary tracker: Jira Cloud, whose default key pattern is ^[A-Z][A-Z0-9_]+-\\d+$."""
    source = SourceFactory(name="Company Jira", base_url="https://company.atlassian.net", key_pattern="")
    return ProjectIntegrationFactory(project=project, source=source, external_project="SHOP", is_primary=True)


def linked(project) -> set[tuple[str, str]]:
    return set(
        Link.objects.filter(project=project).values_list("test_result__case__import_key", "external_reference__key")
    )


def defect_log(job, action) -> dict[str, str]:
    return dict(job.log_entries.filter(kind="defect", action=action).values_list("item", "message"))


class PrimaryIntegrationTests:
    def test_defects_become_references_of_the_primary_trackers_source_linked_to_their_results(self, project, jira):
        job = import_through_job(project, "run-results.csv")

        assert job.status == ImportStatus.DONE
        assert linked(project) == {("C102", "SHOP-12"), ("C102", "SHOP-13"), ("C104", "SHOP-12")}
        references = {ref.key: ref for ref in ExternalReference.objects.all()}
        assert set(references) == {"SHOP-12", "SHOP-13"}  # C102 and C104 share SHOP-12
        shop12 = references["SHOP-12"]
        assert (shop12.source, shop12.source_name, shop12.url) == (
            jira.source,
            "Company Jira",
            "https://company.atlassian.net/browse/SHOP-12",
        )
        assert Link.objects.filter(test_result=TestResult.objects.get(case__import_key="C104")).count() == 1

    def test_defects_that_are_not_keys_of_the_tracker_are_skipped_with_the_reason(self, project, jira):
        job = import_through_job(project, "run-results.csv")

        pattern = r"^[A-Z][A-Z0-9_]+-\d+$"
        assert defect_log(job, "skipped") == {
            "gateway outage": f"C103: “gateway outage” is not a Company Jira issue key (key pattern {pattern}), "
            "so it was not linked.",
            "shop-99": f"C106: “shop-99” is not a Company Jira issue key (key pattern {pattern}), "
            "so it was not linked.",
        }
        assert not ExternalReference.objects.filter(key__in=["gateway outage", "shop-99"]).exists()

    def test_the_sources_own_key_pattern_decides(self, project, jira):
        jira.source.key_pattern = r"^(SHOP-\d+|shop-\d+)$"
        jira.source.save()
        import_through_job(project, "run-results.csv")
        assert ("C106", "shop-99") in linked(project)

    def test_a_reference_the_project_already_knows_is_reused(self, project, jira):
        known = ExternalReferenceFactory(source=jira.source, key="SHOP-12", title="Discount ignored", url="https://x/1")

        import_through_job(project, "run-results.csv")

        assert ExternalReference.objects.filter(key="SHOP-12").get() == known
        known.refresh_from_db()
        assert (known.title, known.links.count()) == ("Discount ignored", 2)

    def test_importing_the_run_again_links_nothing_twice(self, project, jira):
        import_through_job(project, "run-results.csv")
        again = import_through_job(project, "run-results.csv")

        assert Link.objects.count() == 3 and ExternalReference.objects.count() == 2
        assert set(defect_log(again, "unchanged")) == {"SHOP-12", "SHOP-13"}
        assert defect_log(again, "created") == {}

    def test_the_links_of_an_import_are_audited_together(self, project, jira):
        user = UserFactory(username="migrator")
        import_through_job(project, "run-results.csv", user=user)

        event = AuditEvent.objects.get(action=AuditAction.ISSUE_LINKED)
        assert (event.actor, event.source, event.project_key) == (user, jira.source, "SHOP")
        assert event.target == "3 defect links from a TestRail import"
        assert event.details == {"run": "Release 2.4 regression", "keys": ["SHOP-12", "SHOP-13"]}
        assert set(Link.objects.values_list("created_by", flat=True)) == {user.pk}


class OtherTrackerTests:
    def test_a_custom_tracker_can_be_chosen_instead_of_the_primary_one(self, project, jira):
        custom = ProjectIntegrationFactory(
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

        job = import_through_job(project, "run-results.csv", integration=custom.pk)

        # The custom tracker's default pattern is "no spaces", so "gateway outage" is still refused.
        assert linked(project) == {("C102", "SHOP-12"), ("C102", "SHOP-13"), ("C104", "SHOP-12"), ("C106", "shop-99")}
        assert ExternalReference.objects.get(key="shop-99").url == "https://bugs.example.com/show_bug.cgi?id=shop-99"
        assert set(defect_log(job, "skipped")) == {"gateway outage"}
        assert not ExternalReference.objects.filter(source=jira.source).exists()

    def test_without_any_tracker_every_defect_is_skipped_saying_why(self, project):
        job = import_through_job(project, "run-results.csv")

        assert not Link.objects.exists()
        skipped = defect_log(job, "skipped")
        assert set(skipped) == {"SHOP-12", "SHOP-13", "gateway outage", "shop-99"}
        assert skipped["SHOP-13"] == (
            "C102: not linked, because the project has no tracker (assign one on its "
            "Integrations page and import again)."
        )

    def test_choosing_not_to_link_defects_skips_them(self, project, jira):
        job = import_through_job(project, "run-results.csv", integration=None)
        assert not Link.objects.exists()
        assert defect_log(job, "skipped")["SHOP-13"] == "C102: not linked, because no tracker was chosen for defects."

    def test_a_tracker_archived_after_the_preview_links_nothing(self, project, jira):
        ProjectIntegrationFactory(project=project, source=SourceFactory(name="Spare"), external_project="OPS")
        jira.is_primary, jira.state = False, IntegrationState.ARCHIVED
        jira.save()

        job = import_through_job(project, "run-results.csv", integration=jira.pk)

        assert job.status == ImportStatus.DONE and not Link.objects.exists()
        assert defect_log(job, "skipped")["SHOP-13"] == (
            "C102: not linked, because the tracker chosen for defects is no longer available to this project."
        )
