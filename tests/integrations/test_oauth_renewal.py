"""Members' OAuth tokens are renewed with their refresh tokens: ahead of expiry by the periodic task,
before use when expired, once after a 401 (then the operation runs once more); a refused renewal
marks the token and asks the member to authorize again; one renewal per token at a time, which
matters because Atlassian rotates refresh tokens; and a member's token only ever carries that
member's requests. Against the fake Jira (Atlassian 3LO) and the fake GitHub over real HTTP."""

import os
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from integrations import services, tasks
from integrations.errors import AuthenticationFailed, AuthorizationRequired, Unreachable
from integrations.models import AuditAction, AuditEvent, ProjectIntegration, Provider, UserToken
from integrations.providers.base import IssueDraft
from projects.models import Role
from tests.integrations.oauth_support import (
    MIA,
    NOAH,
    TRACKERS_PAGE,
    authorize,
    github_with_oauth,
    jira_with_oauth,
    member,
    oauth_source,
    seeded_token,
)
from tests.support.processes import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

SEARCH = r"/rest/api/3/search/jql"


@pytest.fixture
def jira(monkeypatch):
    with jira_with_oauth(monkeypatch) as fake:
        yield fake


@pytest.fixture
def source(jira):
    return oauth_source(Provider.JIRA_CLOUD, jira.base_url, "Acme Jira")


@pytest.fixture
def mia():
    return member()


@pytest.fixture
def token(jira, source, mia):
    return seeded_token(jira, source, mia, MIA)


def fetch(user, source):
    return services.with_member_token(user, source, lambda provider: provider.fetch_many(["SHOP-1"]))


def refresh_requests(fake) -> list[str]:
    """The refresh tokens the authorization server was asked to renew, in order."""
    return [
        request.parameters["refresh_token"]
        for request in fake.oauth.token_requests
        if request.grant_type == "refresh_token"
    ]


def carried(fake, path=SEARCH) -> list[str]:
    return [request.headers.get("Authorization", "") for request in fake.requests_to(path=path)]


# --- After a 401 ------------------------------------------------------------------------


def test_a_401_renews_the_token_once_and_runs_the_operation_once_more(jira, source, mia, token):
    old_access, old_refresh = token.access_token, token.refresh_token
    jira.oauth.expire(old_access)

    result = fetch(mia, source)

    assert result.issues["SHOP-1"].title == "Checkout fails"
    assert refresh_requests(jira) == [old_refresh]
    renewed = UserToken.objects.get(pk=token.pk)
    assert carried(jira) == [f"Bearer {old_access}", f"Bearer {renewed.access_token}"]
    assert renewed.refresh_token != old_refresh  # rotated: the old one no longer works at Atlassian
    assert renewed.last_refreshed_at is not None and renewed.last_error == ""
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REFRESHED)
    assert (event.actor, event.source, event.success) == (mia, source, True)


def test_a_second_401_after_renewing_is_raised_without_renewing_again(jira, source, mia, token):
    jira.fail_next(401, "Client must be authenticated to access this resource.", count=2, path=SEARCH)

    with pytest.raises(AuthenticationFailed):
        fetch(mia, source)

    assert len(refresh_requests(jira)) == 1
    assert len(carried(jira)) == 2


def test_an_expired_token_is_renewed_before_it_is_used(jira, source, mia, token):
    UserToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    fetch(mia, source)

    renewed = UserToken.objects.get(pk=token.pk)
    assert carried(jira) == [f"Bearer {renewed.access_token}"]  # no request with the expired one


def test_a_github_apps_expiring_token_is_renewed_with_a_form_request(settings):
    with github_with_oauth(expiring=True) as github:
        source = oauth_source(Provider.GITHUB, github.web_url, "Acme GitHub")
        user = member()
        expiring = seeded_token(github, source, user, "mia", scopes=("repo",))
        github.oauth.expire(expiring.access_token)

        report = services.with_member_token(user, source, lambda provider: provider.whoami())

        assert report.user == "Mia Krystof (mia)"
        assert refresh_requests(github) == [expiring.refresh_token]
        assert UserToken.objects.get(pk=expiring.pk).expires_at > timezone.now() + timedelta(hours=7)


# --- When renewing fails ----------------------------------------------------------------


def test_a_refused_renewal_marks_the_token_audits_and_asks_the_member_to_authorize_again(
    client, jira, source, mia, token
):
    jira.oauth.revoke(token.refresh_token)
    jira.oauth.expire(token.access_token)

    with pytest.raises(AuthorizationRequired) as refused:
        fetch(mia, source)

    reason = "Acme Jira refused to renew your authorization (invalid_grant): authorize your account again."
    assert str(refused.value) == reason
    assert UserToken.objects.get(pk=token.pk).last_error == reason
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REFRESH_FAILED)
    assert (event.success, event.message, event.details) == (
        False,
        reason,
        {"code": "oauth_refused", "oauth_error": "invalid_grant"},
    )

    requests_before = len(jira.requests) + len(jira.oauth.token_requests)
    with pytest.raises(AuthorizationRequired, match="authorize your account again"):
        fetch(mia, source)
    assert len(jira.requests) + len(jira.oauth.token_requests) == requests_before  # not tried again

    client.force_login(mia)
    page = client.get(TRACKERS_PAGE).content.decode()
    assert reason in page and ">Authorize again</a>" in page


def test_authorizing_again_replaces_a_marked_token(client, jira, source, mia, token):
    UserToken.objects.filter(pk=token.pk).update(last_error="Acme Jira refused to renew your authorization.")
    jira.oauth.sign_in(MIA)
    client.force_login(mia)

    authorize(client, source)

    assert UserToken.objects.get(user=mia).last_error == ""
    assert fetch(mia, source).issues["SHOP-1"]


def test_a_token_without_refresh_token_cannot_be_renewed(jira, source, mia, token):
    UserToken.objects.filter(pk=token.pk).update(refresh_token=None)
    jira.oauth.expire(token.access_token)

    with pytest.raises(AuthorizationRequired, match="no longer accepts your token and it cannot be renewed"):
        fetch(mia, source)

    assert refresh_requests(jira) == []
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_REFRESH_FAILED).details == {"code": "not_renewable"}


def test_an_unreachable_authorization_server_leaves_the_token_as_it_was(jira, source, mia, token, monkeypatch):
    monkeypatch.setattr("integrations.providers.jira.ATLASSIAN_AUTH", f"http://127.0.0.1:{free_port()}")
    jira.oauth.expire(token.access_token)

    with pytest.raises(Unreachable):
        fetch(mia, source)

    unchanged = UserToken.objects.get(pk=token.pk)
    assert (unchanged.refresh_token, unchanged.last_error) == (token.refresh_token, "")
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REFRESH_FAILED)
    assert (event.success, event.details) == (False, {"code": "unreachable"})


def test_a_member_without_authorization_is_asked_for_it(jira, source, mia):
    with pytest.raises(AuthorizationRequired, match="acts as each member: authorize your own account"):
        fetch(mia, source)
    assert jira.requests == []


# --- The periodic renewal ---------------------------------------------------------------


def test_the_periodic_renewal_takes_the_tokens_expiring_within_five_minutes(jira, source):
    soon = seeded_token(jira, source, member(), MIA, expires_in=timedelta(minutes=2))
    seeded_token(jira, source, member(), NOAH, expires_in=timedelta(hours=1))
    marked = seeded_token(jira, source, member(), MIA, expires_in=timedelta(minutes=1))
    UserToken.objects.filter(pk=marked.pk).update(last_error="Acme Jira refused to renew your authorization.")
    unrenewable = seeded_token(jira, source, member(), NOAH, expires_in=timedelta(minutes=1))
    UserToken.objects.filter(pk=unrenewable.pk).update(refresh_token=None)
    disabled = oauth_source(Provider.JIRA_CLOUD, jira.base_url, "Disabled Jira")
    seeded_token(jira, disabled, member(), MIA, expires_in=timedelta(minutes=1))
    disabled.enabled = False
    disabled.save()

    assert tasks.renew_expiring_tokens() == 1

    assert refresh_requests(jira) == [soon.refresh_token]
    assert UserToken.objects.get(pk=soon.pk).expires_at > timezone.now() + timedelta(minutes=55)
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_REFRESHED).actor is None  # the system renewed it


def test_the_periodic_renewal_marks_a_token_the_tracker_refuses(jira, source, mia):
    soon = seeded_token(jira, source, mia, MIA, expires_in=timedelta(minutes=2))
    jira.oauth.revoke(soon.refresh_token)

    assert tasks.renew_member_token(soon.pk) is False

    assert "refused to renew your authorization" in UserToken.objects.get(pk=soon.pk).last_error
    assert tasks.renew_member_token(soon.pk) is None  # marked: no longer due
    assert len(refresh_requests(jira)) == 1


# --- A member's token serves that member only -------------------------------------------


def test_each_members_requests_carry_their_own_token_and_no_one_elses():
    with github_with_oauth() as github:
        source = oauth_source(Provider.GITHUB, github.web_url, "Acme GitHub")
        mia, noah = member(), member()
        for user, login in ((mia, "mia"), (noah, "noah")):
            browser = Client()
            browser.force_login(user)
            github.oauth.sign_in(login)
            authorize(browser, source)
        tokens = {user: UserToken.objects.get(user=user).access_token for user in (mia, noah)}

        for user, login in ((mia, "mia"), (noah, "noah"), (mia, "mia"), (noah, "noah")):
            before = len(github.requests)
            who = services.with_member_token(user, source, lambda provider: provider.whoami())
            created = services.with_member_token(
                user,
                source,
                lambda provider, login=login: provider.create_issue(
                    IssueDraft(project="acme/shop", issue_type="", title=f"Filed by {login}")
                ),
            )
            sent = github.requests[before:]
            assert {request.headers["Authorization"] for request in sent} == {f"Bearer {tokens[user]}"}
            assert who.user.endswith(f"({login})")
            assert github.issue("acme/shop", int(created.key.rsplit("#", 1)[1])).user.login == login


def test_cached_tracker_metadata_is_never_served_to_another_member(jira, source, mia, token):
    noah = member()
    seeded_token(jira, source, noah, NOAH)
    createmeta = r"/rest/api/3/issue/createmeta/SHOP/issuetypes"

    for user in (mia, noah, mia, noah):
        services.with_member_token(user, source, lambda provider: provider.issue_types("SHOP"))

    noah_token = UserToken.objects.get(user=noah).access_token
    # Each member's first call asks Jira with their own token; their second is their own cache.
    assert carried(jira, createmeta) == [f"Bearer {token.access_token}", f"Bearer {noah_token}"]


# --- One renewal per token at a time ----------------------------------------------------


def renew_in_two_workers(fake, token) -> list:
    """Two workers read the same token and renew it while the first one's renewal is under way at
    the authorization server; returns what each got (or raised)."""
    outcomes: list = []
    second_read = threading.Event()

    def worker(read=None):
        try:
            seen = UserToken.objects.get(pk=token.pk)
            if read is not None:
                read.set()
            outcomes.append(services.renew_member_token(seen).access_token)
        except Exception as error:  # noqa: BLE001 -- whatever a worker raises is collected and asserted by the caller
            outcomes.append(error)
        finally:
            close_old_connections()
            connection.close()

    with fake.oauth.holding_token_requests() as hold:
        first = threading.Thread(target=worker)
        first.start()
        assert hold.arrived.wait(30), "the first worker never asked to renew"
        second = threading.Thread(target=worker, args=(second_read,))
        second.start()
        assert second_read.wait(30), "the second worker never read the token"
        hold.release.set()
        first.join()
        second.join()
    return outcomes


def assert_renewed_once(fake, token, outcomes):
    renewed = UserToken.objects.get(pk=token.pk)
    assert outcomes == [renewed.access_token, renewed.access_token]
    assert refresh_requests(fake) == [token.refresh_token]
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REFRESHED).count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_REFRESH_FAILED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_renewing_one_token_renew_it_once_through_the_redis_lock(jira, source, mia, token, settings):
    redis_url = os.environ.get("REDIS_URL")
    assert redis_url, "make test provides a real Redis in REDIS_URL"
    settings.REDIS_URL = redis_url

    assert_renewed_once(jira, token, renew_in_two_workers(jira, token))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_renewing_one_token_renew_it_once_through_the_row_lock(jira, source, mia, token, settings):
    assert connection.vendor == "postgresql"
    settings.REDIS_URL = ""  # the database alone serializes the renewals

    assert_renewed_once(jira, token, renew_in_two_workers(jira, token))


# --- A renewal is kept whatever the request that needed it answers -------------------------


def test_a_token_renewed_while_checking_a_refused_assignment_is_kept(jira, source, token):
    """Atlassian rotates refresh tokens: rolling the renewal back with the refused assignment would leave
    a refresh token Atlassian no longer accepts (the member would have to authorize again)."""
    admin = token.user
    admin.memberships.update(role=Role.ADMIN)
    UserToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    api = APIClient()
    api.force_authenticate(admin)

    response = api.post(
        "/api/projects/SHOP/integrations", {"source": source.pk, "external_project": "NOPE"}, format="json"
    )

    assert response.status_code == 400 and "external_project" in response.json()["errors"], response.json()
    renewed = UserToken.objects.get(pk=token.pk)
    assert refresh_requests(jira) == [token.refresh_token]
    assert renewed.refresh_token != token.refresh_token and renewed.expires_at > timezone.now()
    assert not ProjectIntegration.objects.filter(external_project="NOPE").exists()
