"""Links back: a remote issue shows the testmanager page of the test it is linked to, in the
tracker's own way (a Jira remote link, an Azure DevOps hyperlink, a comment on GitHub and Linear),
once, and up to date when linked again. Against the fake trackers over real HTTP."""

import pytest

from integrations.errors import TrackerError
from integrations.models import AuthType, Provider
from integrations.providers import provider_for
from integrations.providers.base import BackLink, Unsupported
from issues.links.selectors import back_link
from projects.models import ResultStatus
from tests.factories import SourceFactory, TestResultFactory
from tests.fakes.fixtures import (
    ADO_PAT,
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    GITHUB_LOGIN,
    GITHUB_TOKEN,
    LINEAR_API_KEY,
    SERVER_PAT,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trackers_on_loopback")]

PAGE = "https://tm.example.com/projects/SHOP/runs/1/results/7/"
FAILED = BackLink(
    url=PAGE,
    title="Test result: Pay with card in Nightly",
    status="Failed",
    icon_url="https://tm.example.com/static/issues/link-icons/testmanager.svg",
    status_icon_url="https://tm.example.com/static/issues/link-icons/failed.svg",
)
PASSED = BackLink(url=PAGE, title="Test result: Pay with card in Nightly", status="Passed", resolved=True)


def source_for(base_url, provider, auth_type, credentials, **options):
    return SourceFactory(
        provider=provider,
        base_url=base_url,
        allow_http=True,
        auth_type=auth_type,
        credentials=credentials,
        issue_url_template="",
        **options,
    )


@pytest.fixture(params=["cloud", "server"])
def jira(request, fake_jira_cloud, fake_jira_server):
    if request.param == "cloud":
        fake = fake_jira_cloud
        source = source_for(
            fake.base_url, Provider.JIRA_CLOUD, AuthType.API_TOKEN, {"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN}
        )
    else:
        fake = fake_jira_server
        source = source_for(fake.base_url, Provider.JIRA_SERVER, AuthType.PAT, {"token": SERVER_PAT})
    fake.add_project("SHOP")
    return fake, provider_for(source)


def test_jira_gets_a_remote_link_with_the_test_status(jira):
    fake, provider = jira
    key = fake.add_issue("SHOP", "Card payments fail").key

    provider.link_back(key, FAILED)

    (remote_link,) = fake.issue(key).remote_links
    assert remote_link["relationship"] == "tested by"
    assert remote_link["application"] == {"type": "testmanager", "name": "testmanager"}
    assert remote_link["object"]["url"] == PAGE
    assert remote_link["object"]["title"] == "Test result: Pay with card in Nightly"
    assert remote_link["object"]["summary"] == "Failed"
    assert remote_link["object"]["icon"]["url16x16"].endswith("/testmanager.svg")
    assert remote_link["object"]["status"] == {
        "resolved": False,
        "icon": {"url16x16": "https://tm.example.com/static/issues/link-icons/failed.svg", "title": "Failed"},
    }


def test_jira_linking_the_same_page_again_updates_its_remote_link(jira):
    fake, provider = jira
    key = fake.add_issue("SHOP", "Card payments fail").key

    provider.link_back(key, FAILED)
    provider.link_back(key, PASSED)

    (remote_link,) = fake.issue(key).remote_links
    assert remote_link["object"]["summary"] == "Passed"
    assert remote_link["object"]["status"] == {"resolved": True}


def test_jira_refusing_the_remote_link_is_a_typed_error(jira):
    fake, provider = jira
    fake.add_issue("SHOP", "Card payments fail")
    with pytest.raises(TrackerError) as refused:
        provider.link_back("SHOP-99", FAILED)
    assert refused.value.code == "not_found"


@pytest.fixture
def ado(fake_azure_devops):
    fake_azure_devops.add_project("Fabrikam")
    source = source_for(fake_azure_devops.base_url, Provider.AZURE_DEVOPS, AuthType.PAT, {"token": ADO_PAT})
    return fake_azure_devops, provider_for(source)


def test_azure_devops_gets_one_hyperlink_whose_comment_follows_the_status(ado):
    fake, provider = ado
    item = fake.add_work_item("Fabrikam", "Bug", "Card payments fail")

    provider.link_back(str(item.id), FAILED)
    provider.link_back(str(item.id), FAILED)
    assert item.relations == [
        {
            "rel": "Hyperlink",
            "url": PAGE,
            "attributes": {"comment": "testmanager: Test result: Pay with card in Nightly (Failed)"},
        }
    ]

    provider.link_back(str(item.id), PASSED)
    assert item.relations == [
        {
            "rel": "Hyperlink",
            "url": PAGE,
            "attributes": {"comment": "testmanager: Test result: Pay with card in Nightly (Passed)"},
        }
    ]
    assert len(fake.requests_to("PATCH", r".*/workitems/\d+")) == 2  # the repeat changed nothing


@pytest.fixture
def github(fake_github):
    fake_github.add_repo("acme/shop")
    fake_github.grant("acme/shop", GITHUB_LOGIN, "write")
    source = source_for(
        fake_github.web_url, Provider.GITHUB, AuthType.PAT, {"token": GITHUB_TOKEN}, can_add_comments=True
    )
    return fake_github, provider_for(source)


def test_github_gets_one_comment_naming_the_page(github):
    fake, provider = github
    issue = fake.add_issue("acme/shop", "Card payments fail", author=GITHUB_LOGIN)

    provider.link_back(f"acme/shop#{issue.number}", FAILED)
    provider.link_back(f"acme/shop#{issue.number}", FAILED)

    (comment,) = fake.issue("acme/shop", issue.number).comments
    assert comment.body == f"Linked in testmanager: [Test result: Pay with card in Nightly]({PAGE}) (Failed)"


@pytest.fixture
def linear(fake_linear):
    fake_linear.add_team("ENG", "Engineering")
    source = source_for(
        fake_linear.base_url, Provider.LINEAR, AuthType.PAT, {"token": LINEAR_API_KEY}, can_add_comments=True
    )
    return fake_linear, provider_for(source)


def test_linear_gets_one_comment_with_markdown_special_characters_kept_literal(linear):
    fake, provider = linear
    issue = fake.add_issue("ENG", "Card payments fail")
    link = BackLink(url=PAGE, title="Test case: [Pay] *with* card", status="Failed")

    provider.link_back(issue.identifier, link)
    provider.link_back(issue.identifier, link)

    (comment,) = fake.issue(issue.identifier).comment_list
    assert comment.body == f"Linked in testmanager: [Test case: \\[Pay\\] \\*with\\* card]({PAGE}) (Failed)"


def test_a_tracker_without_links_or_comments_cannot_link_back(db):
    custom = SourceFactory(
        provider=Provider.CUSTOM, auth_type=AuthType.NONE, credentials={}, base_url="https://tracker.example.com"
    )
    with pytest.raises(Unsupported):
        provider_for(custom).link_back("BUG-1", FAILED)


def test_back_link_icons_keep_their_plain_names_even_where_static_files_were_never_collected(settings, tmp_path):
    """Production storage (hashed names from collectstatic's manifest) on a worker host where
    collectstatic never ran: the icons' addresses need no manifest, and stay valid after the next
    deploy changes the hashes (trackers keep them in their remote links)."""
    settings.STATIC_ROOT = str(tmp_path / "never-collected")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

    link = back_link(TestResultFactory(status=ResultStatus.FAILED), "https://tm.example.com/")

    assert link.icon_url == "https://tm.example.com/static/issues/link-icons/testmanager.svg"
    assert link.status_icon_url == "https://tm.example.com/static/issues/link-icons/failed.svg"
