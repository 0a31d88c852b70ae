"""Moving the links of a source to another one (issue 11, "from a URL-only tracker to a full integration"):
the key rule, the preview, the move with merges, the refresh from the new source, the audit, and the
admin action that drives it."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import AuditAction, AuditEvent, AuthType, Provider
from issues.filing.models import FilingJob, FilingJobItem
from issues.links import selectors, source_moves
from issues.links.key_moves import follow_move
from issues.links.models import ExternalReference, Link, ReferenceAlias
from issues.links.source_moves import KeyRule, Outcome, key_rule, move_references, plan_move
from issues.pulls.models import PulledRequirement
from issues.quality.models import KnownFailureRule
from issues.sync.models import DefectSync
from tests.factories import (
    ExternalReferenceFactory,
    ProjectFactory,
    ProjectIntegrationFactory,
    RequirementFactory,
    SourceFactory,
    TestCaseFactory,
    TestResultFactory,
    UserFactory,
    make_issue,
)
from tests.issues.sync_support import jira_cloud_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_hosts(settings):
    settings.TRACKER_ALLOW_PRIVATE_HOSTS = True  # the fake trackers listen on 127.0.0.1


@pytest.fixture
def admin_user():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def custom_source(**fields):
    return SourceFactory(
        **{
            "provider": Provider.CUSTOM,
            "name": "Old tracker",
            "auth_type": AuthType.NONE,
            "credentials": {},
            "base_url": "https://jira.example.com",
            "issue_url_template": "{baseUrl}/browse/{key}",
            **fields,
        }
    )


def jira_target(**fields):
    return SourceFactory(**{"name": "Jira Cloud", "connected": False, **fields})


def reference(source, key, **fields):
    return ExternalReferenceFactory(source=source, key=key, **fields)


def link_to(reference_, artefact, **fields):
    field = {"TestCase": "test_case", "TestResult": "test_result", "Requirement": "requirement"}[
        type(artefact).__name__
    ]
    project = artefact.run.project if field == "test_result" else artefact.project
    return Link.objects.create(project=project, external_reference=reference_, **{field: artefact}, **fields)


def state(source):
    """Every reference of a source and what its links point at, to compare before and after."""
    return sorted(
        (
            ref.key,
            ref.title,
            ref.status,
            sorted(
                (link.test_case_id or 0, link.test_result_id or 0, link.requirement_id or 0) for link in ref.links.all()
            ),
        )
        for ref in ExternalReference.objects.filter(source=source).prefetch_related("links")
    )


# -- the key rule -------------------------------------------------------------------------------


def test_without_a_pattern_every_key_stays_as_it_is():
    rule = key_rule("", "")
    assert not rule.rewrites
    assert rule.apply("SHOP-12") == "SHOP-12"


def test_a_rule_rewrites_keys_its_pattern_matches_whole_and_keeps_the_others():
    rule = key_rule(r"JIRA-([A-Z]+-\d+)", r"\1")
    assert rule.apply("JIRA-SHOP-12") == "SHOP-12"
    assert rule.apply("SHOP-7") == "SHOP-7"
    assert rule.apply("XJIRA-SHOP-1") == "XJIRA-SHOP-1"  # the whole key must match
    assert key_rule(r"(?P<number>\d+)", r"owner/repo#\g<number>").apply("42") == "owner/repo#42"


@pytest.mark.parametrize(
    ("pattern", "replacement", "field", "says"),
    [
        ("JIRA-(", r"\1", "pattern", "Not a valid RE2 regular expression"),
        (r"(a)\1", r"\1", "pattern", "no backreferences"),
        (r"JIRA-(\d+)", r"\2", "replacement", "names a group the pattern does not have (it has 1)"),
        (r"JIRA-(\d+)", r"\g<number>", "replacement", "names a group the pattern does not have"),
        (r"JIRA-(\d+)", "", "replacement", "Enter the new key"),
        (r"JIRA-(\d+)", "SHOP-\\", "replacement", "lone backslash"),
        ("", r"\1", "pattern", "Enter the pattern"),
    ],
)
def test_a_bad_rule_is_refused_with_a_message_on_the_field_at_fault(pattern, replacement, field, says):
    with pytest.raises(ValidationError) as refused:
        key_rule(pattern, replacement)
    assert says in " ".join(refused.value.message_dict[field])


# -- the preview ----------------------------------------------------------------------------------


def test_the_preview_shows_each_old_and_new_key_what_merges_what_is_refused_and_counts():
    source, target = custom_source(), jira_target()
    case = TestCaseFactory()
    link_to(reference(source, "JIRA-SHOP-1"), case)
    reference(source, "SHOP-1")
    reference(source, "JIRA-SHOP-2")
    reference(source, "JIRA-shop-3")
    reference(target, "SHOP-2")

    plan = plan_move(source, target, key_rule(r"JIRA-(.+)", r"\1"))

    rows = {row.old_key: (row.new_key, row.outcome, row.links) for row in plan.rows}
    assert rows == {
        "JIRA-SHOP-1": ("SHOP-1", Outcome.MOVED, 1),
        "SHOP-1": ("SHOP-1", Outcome.MERGED_WITH_MOVED, 0),
        "JIRA-SHOP-2": ("SHOP-2", Outcome.MERGED_WITH_TARGET, 0),
        "JIRA-shop-3": ("shop-3", Outcome.REFUSED, 0),
    }
    assert "Not a key of Jira Cloud" in plan.refused[0].problem
    assert (plan.moving, plan.merging_with_target, plan.merging_with_moved, len(plan.refused)) == (1, 1, 1, 1)
    assert (plan.links, plan.rewritten) == (1, 3)


def test_a_long_preview_lists_refused_keys_and_merges_first_and_counts_every_row(monkeypatch):
    monkeypatch.setattr(source_moves, "PREVIEW_ROWS", 3)
    source, target = custom_source(), jira_target()
    for number in range(1, 6):
        reference(source, f"SHOP-{number}")
    reference(source, "shop-9")
    reference(target, "SHOP-4")

    plan = plan_move(source, target, KeyRule())

    assert [(row.old_key, row.outcome) for row in plan.preview][:2] == [
        ("shop-9", Outcome.REFUSED),
        ("SHOP-4", Outcome.MERGED_WITH_TARGET),
    ]
    assert len(plan.preview) == 3 and plan.not_listed == 3
    assert (plan.moving, plan.merging_with_target, len(plan.refused)) == (4, 1, 1)


def test_a_short_key_the_target_needs_with_its_repository_is_refused_with_the_full_form():
    source = custom_source()
    github = SourceFactory(
        provider=Provider.GITHUB,
        name="GitHub",
        base_url="https://github.com",
        auth_type=AuthType.PAT,
        credentials={"token": "t"},
    )
    ProjectIntegrationFactory(source=github, external_project="acme/web")
    reference(source, "12")

    short = plan_move(source, github, key_rule(r"(\d+)", r"#\1"))
    full = plan_move(source, github, key_rule(r"(\d+)", r"acme/web#\1"))

    assert "rewrite it to the full key, e.g. acme/web#12" in short.refused[0].problem
    assert [(row.new_key, row.outcome) for row in full.rows] == [("acme/web#12", Outcome.MOVED)]


def test_the_same_source_and_a_target_that_cannot_read_issues_are_refused():
    source = custom_source()
    with pytest.raises(ValidationError, match="already on this one"):
        plan_move(source, source, KeyRule())
    with pytest.raises(ValidationError, match="Custom tracker source, which cannot read issues"):
        plan_move(source, custom_source(name="Another URL tracker"), KeyRule())


# -- the move -------------------------------------------------------------------------------------


def test_an_identity_move_keeps_every_key_link_and_cached_value(admin_user):
    source, target = custom_source(), jira_target()
    first, second = reference(source, "SHOP-1", status="Open"), reference(source, "SHOP-2", status="Done")
    result, requirement = TestResultFactory(), RequirementFactory()
    link_to(first, result)
    link_to(second, requirement)
    before = state(source)

    report = move_references(source, target, KeyRule(), actor=admin_user)

    assert (report.moved, report.merged, report.links_repointed, report.links_dropped) == (2, 0, 0, 0)
    assert state(target) == before
    assert state(source) == []
    first.refresh_from_db()
    assert (first.pk, first.source, first.source_name) == (first.pk, target, "Jira Cloud")


def test_a_rule_rewrites_the_keys_of_the_moved_references(admin_user):
    source, target = custom_source(), jira_target()
    moved = reference(source, "JIRA-SHOP-12")
    link_to(moved, TestCaseFactory())

    move_references(source, target, key_rule(r"JIRA-(.+)", r"\1"), actor=admin_user)

    moved.refresh_from_db()
    assert (moved.source, moved.key, moved.links.count()) == (target, "SHOP-12", 1)


def test_a_reference_the_target_already_has_absorbs_the_links_without_duplicating_one(admin_user):
    source, target = custom_source(), jira_target()
    case, other_case, result = TestCaseFactory(), TestCaseFactory(), TestResultFactory()
    existing = reference(
        target,
        "SHOP-5",
        title="From Jira",
        status="In Progress",
        remote_updated_at=timezone.now() - timedelta(hours=1),
        last_synced_at=timezone.now(),
    )
    link_to(existing, case)
    old = reference(source, "SHOP-5", title="Typed by hand", status="", remote_updated_at=None, last_synced_at=None)
    link_to(old, case)  # the same test case: would duplicate
    link_to(old, other_case)
    link_to(old, result)
    rule = KnownFailureRule.objects.create(project=case.project, pattern="timeout", external_reference=old)
    job = FilingJob.objects.create(project=result.run.project, run=result.run, site_url="https://tm.example.com")
    filed = FilingJobItem.objects.create(job=job, result=result, reference=old, state="filed")

    report = move_references(source, target, KeyRule(), actor=admin_user)

    assert (report.moved, report.merged, report.links_repointed, report.links_dropped) == (0, 1, 2, 1)
    assert not ExternalReference.objects.filter(pk=old.pk).exists()
    existing.refresh_from_db()
    assert (existing.title, existing.status) == ("From Jira", "In Progress")  # the better values stay
    assert {(link.test_case_id, link.test_result_id) for link in existing.links.all()} == {
        (case.pk, None),
        (other_case.pk, None),
        (None, result.pk),
    }
    rule.refresh_from_db()
    filed.refresh_from_db()
    assert rule.external_reference == existing and filed.reference == existing  # hidden relations too


def test_two_old_keys_that_get_the_same_new_key_merge_keeping_the_fresher_values(admin_user):
    source, target = custom_source(), jira_target()
    case = TestCaseFactory()
    stale = reference(source, "JIRA-SHOP-1", title="Old title", last_synced_at=timezone.now() - timedelta(days=2))
    fresh = reference(source, "SHOP-1", title="New title", last_synced_at=timezone.now())
    link_to(stale, case)
    link_to(fresh, case)

    report = move_references(source, target, key_rule(r"JIRA-(.+)", r"\1"), actor=admin_user)

    assert (report.moved, report.merged, report.links_dropped) == (1, 1, 1)
    survivor = ExternalReference.objects.get(source=target)
    assert (survivor.key, survivor.title, survivor.links.count()) == ("SHOP-1", "New title", 1)


@pytest.mark.parametrize("rule", [KeyRule(), KeyRule(r"JIRA-(.+)", r"\1")], ids=["identity", "rewrite"])
def test_a_move_writes_in_batches_not_a_query_per_reference(admin_user, rule):
    def queries_to_move(count):
        source, target = custom_source(name=f"Old {count}"), jira_target(name=f"Jira {count}")
        for number in range(1, count + 1):
            link_to(reference(source, f"JIRA-SHOP-{number}" if rule.rewrites else f"SHOP-{number}"), TestCaseFactory())
        with CaptureQueriesContext(connection) as queries:
            move_references(source, target, rule, actor=admin_user)
        assert ExternalReference.objects.filter(source=target).count() == count
        return len(queries)

    assert queries_to_move(40) == queries_to_move(4)


def test_a_key_the_target_refuses_moves_nothing_and_says_which(admin_user):
    source, target = custom_source(), jira_target()
    reference(source, "SHOP-1")
    link_to(reference(source, "legacy 7"), TestCaseFactory())
    before = state(source)

    with pytest.raises(
        ValidationError,
        match=r"1 key\(s\) would not be accepted by Jira Cloud, so nothing was "
        r"moved\. legacy 7 → legacy 7: Not a key of Jira Cloud",
    ):
        move_references(source, target, KeyRule(), actor=admin_user)

    assert state(source) == before
    assert state(target) == []
    assert not AuditEvent.objects.filter(action=AuditAction.LINKS_MOVED).exists()


def test_the_move_is_audited_with_counts_and_no_credentials(admin_user):
    source, target = custom_source(), jira_target()
    link_to(reference(source, "SHOP-1"), TestCaseFactory())

    move_references(source, target, KeyRule(), actor=admin_user)

    event = AuditEvent.objects.get(action=AuditAction.LINKS_MOVED)
    assert (event.actor, event.source, event.target) == (admin_user, source, "Jira Cloud")
    assert event.details == {
        "to_source": "Jira Cloud",
        "to_source_id": target.pk,
        "pattern": "",
        "replacement": "",
        "references": 1,
        "rewritten": 0,
        "moved": 1,
        "merged": 0,
        "links_repointed": 0,
        "links_dropped": 0,
        "refresh_queued": 0,
        "handed_over": 0,
    }
    assert "tok-secret-123" not in str(event.details) + event.message


def test_pulls_and_defect_syncs_follow_to_the_targets_integration_of_the_same_project(admin_user):
    """A Data Center to Cloud migration: what the old integration kept up to date about a moved reference
    (its pulled requirement, its defect sync) now belongs to the new one; a project the target is not
    assigned to keeps its old integration."""
    source = SourceFactory(
        provider=Provider.JIRA_SERVER,
        auth_type=AuthType.PAT,
        credentials={"token": "t"},
        name="Jira DC",
        base_url="https://jira.example.com",
    )
    target = jira_target()
    shop, other = ProjectFactory(key="SHOP"), ProjectFactory(key="OTHER")
    old_shop = ProjectIntegrationFactory(project=shop, source=source)
    old_other = ProjectIntegrationFactory(project=other, source=source)
    new_shop = ProjectIntegrationFactory(project=shop, source=target)
    story, bug = reference(source, "SHOP-1"), reference(source, "OTHER-2")
    pulled = PulledRequirement.objects.create(
        requirement=RequirementFactory(project=shop), integration=old_shop, reference=story, pulled_at=timezone.now()
    )
    synced = DefectSync.objects.create(
        issue=make_issue(other), reference=bug, integration=old_other, synced_status="open", synced_priority="major"
    )

    report = move_references(source, target, KeyRule(), actor=admin_user)

    pulled.refresh_from_db()
    synced.refresh_from_db()
    assert (pulled.integration, pulled.reference.source) == (new_shop, target)
    assert (synced.integration, synced.reference.source) == (old_other, target)
    assert report.handed_over == 1


def test_references_moved_from_a_custom_tracker_to_jira_cloud_are_refreshed_from_jira(
    admin_user, fake_jira_cloud, django_capture_on_commit_callbacks
):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails", status="In Progress", priority="High")
    source, target = (
        custom_source(base_url=fake_jira_cloud.base_url, allow_http=True),
        jira_cloud_source(fake_jira_cloud, name="Jira Cloud", can_process_webhooks=False),
    )
    moved = reference(source, "JIRA-SHOP-1", title="", status="", url="")
    link_to(moved, TestCaseFactory())

    with django_capture_on_commit_callbacks(execute=True):
        report = move_references(source, target, key_rule(r"JIRA-(.+)", r"\1"), actor=admin_user)

    assert report.refresh_queued == 1
    moved.refresh_from_db()
    assert (moved.key, moved.title, moved.status, moved.priority) == ("SHOP-1", "Checkout fails", "In Progress", "High")
    assert moved.last_synced_at is not None and moved.links.count() == 1


def test_a_tracker_that_is_down_leaves_the_moved_references_and_their_values_intact(
    admin_user, fake_jira_cloud, django_capture_on_commit_callbacks
):
    target = jira_cloud_source(fake_jira_cloud, name="Jira Cloud", can_process_webhooks=False)
    source = custom_source()
    moved = reference(source, "SHOP-1", title="Cached title", status="Open")
    link_to(moved, TestCaseFactory())
    fake_jira_cloud.stop()

    with django_capture_on_commit_callbacks(execute=True):
        move_references(source, target, KeyRule(), actor=admin_user)

    moved.refresh_from_db()
    assert (moved.source, moved.title, moved.status, moved.links.count()) == (target, "Cached title", "Open", 1)
    assert moved.last_error


# -- the admin action -----------------------------------------------------------------------------


def test_the_action_leads_from_the_changelist_to_the_preview_and_the_confirmation_moves(client, admin_user):
    source, target = custom_source(), jira_target()
    case = TestCaseFactory()
    link_to(reference(source, "JIRA-SHOP-1"), case)
    link_to(reference(target, "SHOP-1"), case)
    client.force_login(admin_user)

    chosen = client.post(
        reverse("admin:integrations_source_changelist"), {"action": "move_links", "_selected_action": [source.pk]}
    )
    page = reverse("admin:integrations_source_move_links", args=[source.pk])
    assert chosen.status_code == 302 and chosen["Location"] == page
    preview = client.get(page, {"target": target.pk, "pattern": r"JIRA-(.+)", "replacement": r"\1"})
    assert preview.status_code == 200
    assert "merges with Jira Cloud's SHOP-1" in preview.content.decode()
    assert b'id="move-links-confirm"' in preview.content
    assert ExternalReference.objects.filter(source=source).count() == 1  # a preview changes nothing

    done = client.post(page, {"target": target.pk, "pattern": r"JIRA-(.+)", "replacement": r"\1"}, follow=True)

    assert "1 reference(s) of Old tracker moved to Jira Cloud: 1 merged" in done.content.decode()
    assert not ExternalReference.objects.filter(source=source).exists()
    assert ExternalReference.objects.get(source=target, key="SHOP-1").links.count() == 1


def test_a_long_preview_page_says_how_many_rows_it_does_not_list(client, admin_user, monkeypatch):
    monkeypatch.setattr(source_moves, "PREVIEW_ROWS", 2)
    source, target = custom_source(), jira_target()
    for number in range(1, 6):
        reference(source, f"SHOP-{number}")
    client.force_login(admin_user)

    preview = client.get(reverse("admin:integrations_source_move_links", args=[source.pk]), {"target": target.pk})

    page = preview.content.decode()
    assert page.count("data-old-key=") == 2
    assert "… and 3 more references that move as counted above" in page
    assert "Move 5 references to Jira Cloud" in page


def test_the_source_page_leads_to_the_move_page(client, admin_user):
    source = custom_source()
    client.force_login(admin_user)

    page = client.get(reverse("admin:integrations_source_change", args=[source.pk])).content.decode()

    assert f'href="{reverse("admin:integrations_source_move_links", args=[source.pk])}" id="move-links"' in page
    assert 'id="test-connection"' in page  # the integrations page, extended


def test_the_action_page_shows_a_bad_rule_and_a_refused_target_on_their_fields(client, admin_user):
    source = custom_source()
    client.force_login(admin_user)
    page = reverse("admin:integrations_source_move_links", args=[source.pk])

    bad_rule = client.get(page, {"target": jira_target().pk, "pattern": "JIRA-(", "replacement": r"\1"})
    same = client.post(page, {"target": source.pk})
    cannot_read = client.get(page, {"target": custom_source(name="Other").pk})

    assert "Not a valid RE2 regular expression" in bad_rule.content.decode()
    assert "Select a valid choice" in same.content.decode()
    assert "cannot read issues" in cannot_read.content.decode()
    assert b'id="move-links-confirm"' not in bad_rule.content + cannot_read.content


def test_the_action_refuses_more_than_one_source(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:integrations_source_changelist"),
        {"action": "move_links", "_selected_action": [custom_source().pk, jira_target().pk]},
        follow=True,
    )
    assert "Select exactly one source whose links to move." in response.content.decode()


def test_staff_without_the_integrations_permission_cannot_move_links(client):
    source, target = custom_source(), jira_target()
    reference(source, "SHOP-1")
    client.force_login(UserFactory(is_staff=True))
    page = reverse("admin:integrations_source_move_links", args=[source.pk])

    assert client.get(page).status_code == 403
    assert client.post(page, {"target": target.pk}).status_code == 403
    assert ExternalReference.objects.filter(source=source).count() == 1


def test_staff_granted_the_integrations_permission_may_move_links(client):
    source, target = custom_source(), jira_target()
    reference(source, "SHOP-1")
    integrator = UserFactory(is_staff=True)
    integrator.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="integrations", codename__in=["view_source", "change_source"]
        )
    )
    client.force_login(integrator)

    done = client.post(reverse("admin:integrations_source_move_links", args=[source.pk]), {"target": target.pk})

    assert done.status_code == 302
    assert ExternalReference.objects.get(key="SHOP-1").source == target


def test_the_keys_moved_issues_had_go_with_their_references_to_the_target(admin_user):
    source, target = custom_source(), jira_target()
    moved = follow_move(reference(source, "SHOP-1"), "OPS-1")
    other = follow_move(reference(source, "SHOP-2"), "OPS-2")
    reference(target, "SHOP-2")  # the target knows that key as another issue's: the alias is dropped

    move_references(source, target, KeyRule(), actor=admin_user)

    assert selectors.reference_of(target, "SHOP-1") == moved
    assert list(ReferenceAlias.objects.values_list("source", "key", "reference")) == [(target.pk, "SHOP-1", moved.pk)]
    assert selectors.reference_of(target, "OPS-2") == other
