"""A project filing into a fake Jira Cloud, shared by the filing and linking tests (pages, API, browser).

The Jira project SHOP files Bugs with a required "Environment" select (Staging, Production);
the project integration is SHOP's primary tracker with the standard priority mapping.
"""

from dataclasses import dataclass

from integrations import mappings
from integrations.models import AuthType, ProjectIntegration, Provider, Source
from projects.models import Project
from tests.factories import ProjectIntegrationFactory, SourceFactory
from tests.fakes.fixtures import CLOUD_API_TOKEN, CLOUD_LOGIN
from tests.fakes.jira import JiraFake, plain_text

CREATE_PATH = r"/rest/api/3/issue"
SEARCH_PATH = r"/rest/api/3/search/jql"


@dataclass
class JiraWorld:
    fake: JiraFake
    source: Source
    integration: ProjectIntegration
    environment: str  # the id of the required custom field

    def creates(self):
        """The create requests Jira received."""
        return self.fake.requests_to("POST", CREATE_PATH)

    def only_issue(self):
        (issue,) = self.fake.issues.values()
        return issue

    def description_of(self, key: str) -> str:
        return plain_text(self.fake.issue(key).description)


def jira_world(fake: JiraFake, project: Project, **integration) -> JiraWorld:
    fake.add_project("SHOP", "Web shop", issue_types=("Bug", "Task"))
    environment = fake.add_field(
        "SHOP", "Bug", "Environment", "select", required=True, options=("Staging", "Production")
    )
    source = SourceFactory(
        provider=Provider.JIRA_CLOUD,
        name="Acme Jira",
        base_url=fake.base_url,
        allow_http=True,
        auth_type=AuthType.API_TOKEN,
        credentials={"email": CLOUD_LOGIN, "api_token": CLOUD_API_TOKEN},
        issue_url_template="",
        can_create_issues=True,
    )
    assigned = ProjectIntegrationFactory(
        project=project,
        source=source,
        external_project="SHOP",
        default_issue_type="Bug",
        is_primary=True,
        priority_mapping=mappings.default_priority_mapping(),
        status_mapping=mappings.default_status_mapping(),
        **integration,
    )
    return JiraWorld(fake=fake, source=source, integration=assigned, environment=environment.field_id)
