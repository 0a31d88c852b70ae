"""The fake Jira answers as Jira's documented REST API does, on Cloud and on Data Center.

These tests talk to the fake over real HTTP with plain `requests`, so what they pin is the wire
behaviour the project's own client will meet.
"""

import base64
import re
from datetime import UTC, datetime

import pytest
import requests

from tests.fakes.fixtures import (
    CLOUD_API_TOKEN,
    CLOUD_LOGIN,
    SERVER_LOGIN,
    SERVER_PASSWORD,
    SERVER_PAT,
)
from tests.fakes.jira import ISSUE_NOT_FOUND, JiraFake, document_from_text


class SiteSession(requests.Session):
    """A session whose request paths are relative to one Jira site's base URL."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url

    def request(self, method, path, *args, **kwargs):
        return super().request(method, self.base_url + path, *args, **kwargs)


@pytest.fixture
def cloud(fake_jira_cloud):
    """A Cloud session signed in with the service account's e-mail and API token."""
    session = SiteSession(fake_jira_cloud.base_url)
    session.auth = (CLOUD_LOGIN, CLOUD_API_TOKEN)
    return session


@pytest.fixture
def server(fake_jira_server):
    """A Data Center session signed in with the service account's personal access token."""
    session = SiteSession(fake_jira_server.base_url)
    session.headers["Authorization"] = f"Bearer {SERVER_PAT}"
    return session


def basic(login, secret):
    return "Basic " + base64.b64encode(f"{login}:{secret}".encode()).decode()


def keys_of_json(body):
    return [issue["key"] for issue in body["issues"]]


def keys_of(response):
    return keys_of_json(response.json())


# -- instance information and authentication -----------------------------------------------------


def test_server_info_answers_anonymously_and_names_the_cloud_deployment(fake_jira_cloud):
    info = requests.get(fake_jira_cloud.base_url + "/rest/api/3/serverInfo").json()

    assert info["deploymentType"] == "Cloud"
    assert info["baseUrl"] == fake_jira_cloud.base_url
    assert info["versionNumbers"][0] == 1001


def test_data_center_lives_under_its_context_path_and_names_its_deployment(fake_jira_server):
    assert fake_jira_server.base_url.endswith("/jira")
    info = requests.get(fake_jira_server.base_url + "/rest/api/2/serverInfo").json()

    assert info["deploymentType"] == "DataCenter"
    assert info["version"] == "9.12.15"
    assert info["versionNumbers"] == [9, 12, 15]
    outside = requests.get(fake_jira_server.base_url.removesuffix("/jira") + "/rest/api/2/serverInfo")
    assert outside.status_code == 404


def test_data_center_serves_no_rest_v3(server):
    assert server.get("/rest/api/3/myself").status_code == 404


def test_cloud_signs_in_with_email_and_api_token_and_identifies_users_by_account_id(cloud):
    me = cloud.get("/rest/api/3/myself").json()

    assert me["emailAddress"] == CLOUD_LOGIN
    assert me["accountId"]
    assert me["accountType"] == "atlassian"
    assert "name" not in me and "key" not in me


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic(CLOUD_LOGIN, "wrong-token")},  # the right e-mail, a wrong token
        {"Authorization": f"Bearer {CLOUD_API_TOKEN}"},  # Cloud takes API tokens over basic auth only
    ],
    ids=["no credentials", "wrong token", "bearer"],
)
def test_cloud_refuses_missing_or_wrong_credentials_with_401(fake_jira_cloud, headers):
    response = requests.get(fake_jira_cloud.base_url + "/rest/api/3/myself", headers=headers)

    assert response.status_code == 401
    assert response.text == "Client must be authenticated to access this resource."


def test_data_center_signs_in_with_a_personal_access_token_or_a_password(fake_jira_server):
    me_url = fake_jira_server.base_url + "/rest/api/2/myself"
    by_token = requests.get(me_url, headers={"Authorization": f"Bearer {SERVER_PAT}"}).json()
    by_password = requests.get(me_url, auth=(SERVER_LOGIN, SERVER_PASSWORD)).json()

    assert by_token == by_password
    assert by_token["name"] == SERVER_LOGIN
    assert by_token["key"].startswith("JIRAUSER")
    assert "accountId" not in by_token


def test_data_center_refuses_a_wrong_password_and_names_the_failed_login(fake_jira_server):
    response = requests.get(fake_jira_server.base_url + "/rest/api/2/myself", auth=(SERVER_LOGIN, "nope"))

    assert response.status_code == 401
    assert response.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert response.json() == {
        "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
        "errors": {},
    }


def test_data_center_refuses_an_unknown_personal_access_token(fake_jira_server):
    response = requests.get(
        fake_jira_server.base_url + "/rest/api/2/myself", headers={"Authorization": "Bearer revoked"}
    )

    assert response.status_code == 401


# -- projects ------------------------------------------------------------------------------------


def test_cloud_project_search_pages_with_start_at_total_and_is_last(fake_jira_cloud, cloud):
    for key in ("ALPHA", "BETA", "GAMMA"):
        fake_jira_cloud.add_project(key)

    first = cloud.get("/rest/api/3/project/search", params={"maxResults": 2}).json()
    second = cloud.get("/rest/api/3/project/search", params={"startAt": 2, "maxResults": 2}).json()

    assert [p["key"] for p in first["values"]] == ["ALPHA", "BETA"]
    assert (first["startAt"], first["total"], first["isLast"]) == (0, 3, False)
    assert "startAt=2" in first["nextPage"]
    assert [p["key"] for p in second["values"]] == ["GAMMA"]
    assert second["isLast"] is True and "nextPage" not in second


def test_projects_the_user_may_not_browse_are_not_listed(fake_jira_cloud, cloud, fake_jira_server, server):
    for fake in (fake_jira_cloud, fake_jira_server):
        fake.add_project("SHOP")
        fake.add_project("SECRET")
        fake.forbid_project("SECRET")

    cloud_keys = [p["key"] for p in cloud.get("/rest/api/3/project/search").json()["values"]]
    server_keys = [p["key"] for p in server.get("/rest/api/2/project").json()]

    assert cloud_keys == server_keys == ["SHOP"]


def test_boards_are_listed_by_project_and_name_in_agile_pages(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP", "Web shop")
    fake_jira_cloud.add_project("OPS")
    shop = fake_jira_cloud.add_board("SHOP", "Shop scrum")
    fake_jira_cloud.add_board("SHOP", "Shop kanban", board_type="kanban")
    fake_jira_cloud.add_board("OPS", "Ops board")

    body = cloud.get("/rest/agile/1.0/board", params={"projectKeyOrId": "SHOP", "maxResults": 1}).json()
    assert [(b["id"], b["name"], b["type"]) for b in body["values"]] == [(shop, "Shop scrum", "scrum")]
    assert body["values"][0]["location"]["projectKey"] == "SHOP"
    assert (body["startAt"], body["total"], body["isLast"]) == (0, 2, False)
    named = cloud.get("/rest/agile/1.0/board", params={"name": "kanban"}).json()
    assert [b["name"] for b in named["values"]] == ["Shop kanban"]
    unknown = cloud.get("/rest/agile/1.0/board", params={"projectKeyOrId": "NOPE"})
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["errorMessages"][0]


def test_project_components_are_listed_unpaged_and_a_hidden_project_reads_as_not_found(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP", components=("Checkout", "Cart"))
    fake_jira_cloud.add_project("SECRET", components=("Vault",))
    fake_jira_cloud.forbid_project("SECRET")

    components = cloud.get("/rest/api/3/project/SHOP/components").json()
    assert [c["name"] for c in components] == ["Checkout", "Cart"] and all(c["id"] and c["self"] for c in components)
    assert cloud.get("/rest/api/3/project/SECRET/components").status_code == 404


# -- create metadata -----------------------------------------------------------------------------


def issue_type_id(fake, project_key, name="Task"):
    return next(t.id for t in fake.projects[project_key].issue_types if t.name == name)


def test_cloud_createmeta_lists_the_project_issue_types_under_issue_types(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP", issue_types=["Bug", "Story"])

    page = cloud.get("/rest/api/3/issue/createmeta/SHOP/issuetypes").json()

    assert [t["name"] for t in page["issueTypes"]] == ["Bug", "Story"]
    assert (page["startAt"], page["maxResults"], page["total"]) == (0, 50, 2)
    assert page["issueTypes"][0]["subtask"] is False


def test_data_center_createmeta_pages_carry_values_and_is_last(fake_jira_server, server):
    fake_jira_server.add_project("SHOP", issue_types=["Bug", "Story"])
    base = "/rest/api/2/issue/createmeta/SHOP/issuetypes"

    types = server.get(base, params={"maxResults": 1}).json()
    fields = server.get(f"{base}/{issue_type_id(fake_jira_server, 'SHOP', 'Bug')}").json()

    assert [t["name"] for t in types["values"]] == ["Bug"]
    assert (types["total"], types["isLast"]) == (2, False)
    assert "summary" in [f["fieldId"] for f in fields["values"]]
    assert fields["isLast"] is True


CUSTOM_FIELD_SCHEMAS = {
    "text": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"},
    "textarea": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea"},
    "select": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select"},
    "radio": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:radiobuttons"},
    "multiselect": {
        "type": "array",
        "items": "option",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multiselect",
    },
    "checkboxes": {
        "type": "array",
        "items": "option",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes",
    },
    "user": {"type": "user", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:userpicker"},
    "date": {"type": "date", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"},
    "datetime": {"type": "datetime", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datetime"},
    "number": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
    "labels": {
        "type": "array",
        "items": "string",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:labels",
    },
}


@pytest.mark.parametrize("kind", sorted(CUSTOM_FIELD_SCHEMAS))
def test_createmeta_describes_each_custom_field_kind_with_jira_schema(fake_jira_cloud, cloud, kind):
    fake_jira_cloud.add_project("SHOP")
    spec = fake_jira_cloud.add_field("SHOP", "Task", "Extra", kind, options=["One", "Two"])
    type_id = issue_type_id(fake_jira_cloud, "SHOP")

    fields = cloud.get(f"/rest/api/3/issue/createmeta/SHOP/issuetypes/{type_id}").json()["fields"]
    meta = next(f for f in fields if f["fieldId"] == spec.field_id)

    assert spec.field_id.startswith("customfield_")
    assert meta["schema"] == {**CUSTOM_FIELD_SCHEMAS[kind], "customId": int(spec.field_id.split("_")[1])}
    assert (meta["name"], meta["required"], meta["hasDefaultValue"]) == ("Extra", False, False)
    if "option" in (meta["schema"]["type"], meta["schema"].get("items")):
        assert [value["value"] for value in meta["allowedValues"]] == ["One", "Two"]
        assert all(value["id"] for value in meta["allowedValues"])
    else:
        assert "allowedValues" not in meta


def test_createmeta_describes_system_fields_and_their_allowed_values(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP", components=["Checkout", "Search"])
    type_id = issue_type_id(fake_jira_cloud, "SHOP")

    fields = cloud.get(f"/rest/api/3/issue/createmeta/SHOP/issuetypes/{type_id}").json()["fields"]
    by_id = {f["fieldId"]: f for f in fields}

    assert by_id["summary"]["schema"] == {"type": "string", "system": "summary"}
    assert by_id["summary"]["required"] is True
    # Jira fills the reporter itself, so a required field with a default need not be sent.
    assert (by_id["reporter"]["required"], by_id["reporter"]["hasDefaultValue"]) == (True, True)
    assert by_id["priority"]["schema"] == {"type": "priority", "system": "priority"}
    assert [p["name"] for p in by_id["priority"]["allowedValues"]] == [
        "Highest",
        "High",
        "Medium",
        "Low",
        "Lowest",
    ]
    assert by_id["priority"]["defaultValue"]["name"] == "Medium"
    assert by_id["labels"]["schema"] == {"type": "array", "items": "string", "system": "labels"}
    assert [c["name"] for c in by_id["components"]["allowedValues"]] == ["Checkout", "Search"]
    assert by_id["components"]["schema"] == {"type": "array", "items": "component", "system": "components"}
    assert by_id["assignee"]["schema"] == {"type": "user", "system": "assignee"}


def test_createmeta_fields_are_paginated(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    type_id = issue_type_id(fake_jira_cloud, "SHOP")
    path = f"/rest/api/3/issue/createmeta/SHOP/issuetypes/{type_id}"

    first = cloud.get(path, params={"maxResults": 4}).json()
    rest = cloud.get(path, params={"startAt": 4, "maxResults": 50}).json()

    assert len(first["fields"]) == 4
    assert first["total"] == rest["total"] == len(first["fields"]) + len(rest["fields"])


def test_createmeta_refuses_pages_larger_than_200(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")

    response = cloud.get("/rest/api/3/issue/createmeta/SHOP/issuetypes", params={"maxResults": 201})

    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["Parameter 'maxResults' must not exceed the limit '200'"]


def test_createmeta_of_a_project_the_user_may_not_browse_reads_as_not_found(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SECRET")
    fake_jira_cloud.forbid_project("SECRET")

    hidden = cloud.get("/rest/api/3/issue/createmeta/SECRET/issuetypes")
    missing = cloud.get("/rest/api/3/issue/createmeta/NOPE/issuetypes")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["errorMessages"] == ["No project could be found with key 'SECRET'."]


# -- users ---------------------------------------------------------------------------------------


def test_cloud_user_search_matches_the_start_of_names_and_addresses(fake_jira_cloud, cloud):
    fake_jira_cloud.add_user("ada@example.com", display_name="Ada Lovelace")
    fake_jira_cloud.add_user("grace@example.com", display_name="Grace Hopper")

    by_surname = cloud.get("/rest/api/3/user/search", params={"query": "hop"}).json()
    by_address = cloud.get("/rest/api/3/user/search", params={"query": "ada@"}).json()

    assert [u["displayName"] for u in by_surname] == ["Grace Hopper"]
    assert [u["emailAddress"] for u in by_address] == ["ada@example.com"]
    assert by_address[0]["accountId"]


def test_cloud_user_search_matches_a_whole_display_name(fake_jira_cloud, cloud):
    fake_jira_cloud.add_user("ada@example.com", display_name="Ada Lovelace")
    fake_jira_cloud.add_user("adam@example.com", display_name="Adam Smith")

    found = cloud.get("/rest/api/3/user/search", params={"query": "ada lovelace"}).json()

    assert [u["displayName"] for u in found] == ["Ada Lovelace"]


def test_data_center_user_search_takes_a_username(fake_jira_server, server):
    fake_jira_server.add_user("jdoe", display_name="Jane Doe")

    found = server.get("/rest/api/2/user/search", params={"username": "jd"}).json()
    refused = server.get("/rest/api/2/user/search", params={"query": "jd"})

    assert [(u["name"], u["displayName"]) for u in found] == [("jdoe", "Jane Doe")]
    assert refused.status_code == 400
    assert refused.json()["errorMessages"] == ["The username query parameter was not provided"]


# -- issues --------------------------------------------------------------------------------------


def test_an_issue_reads_with_status_category_and_rest_version_specific_description(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_user("ada@example.com", display_name="Ada Lovelace")
    fake_jira_cloud.add_issue(
        "SHOP",
        "Checkout fails",
        status="Done",
        description="Steps:\nopen the cart",
        assignee="ada@example.com",
        priority="High",
        labels=["checkout"],
        updated=datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
    )

    v3 = cloud.get("/rest/api/3/issue/SHOP-1").json()
    v2 = cloud.get("/rest/api/2/issue/SHOP-1").json()

    fields = v3["fields"]
    assert v3["key"] == "SHOP-1"
    assert fields["summary"] == "Checkout fails"
    assert fields["status"]["name"] == "Done"
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["assignee"]["displayName"] == "Ada Lovelace"
    assert fields["priority"]["name"] == "High"
    assert fields["labels"] == ["checkout"]
    assert fields["updated"] == "2024-03-01T09:30:00.000+0000"
    assert fields["issuetype"]["name"] == "Task"
    assert fields["description"] == document_from_text("Steps:\nopen the cart")
    assert v2["fields"]["description"] == "Steps:\nopen the cart"


def test_the_fields_parameter_limits_the_fields_of_an_issue(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")

    issue = cloud.get("/rest/api/3/issue/SHOP-1", params={"fields": "summary,status"}).json()

    assert set(issue["fields"]) == {"summary", "status"}


def test_the_sprint_field_is_a_list_of_sprint_objects_on_cloud_and_of_legacy_strings_on_data_center(
    fake_jira_cloud, cloud, fake_jira_server, server
):
    answers = []
    for fake, session in ((fake_jira_cloud, cloud), (fake_jira_server, server)):
        fake.add_project("SHOP")
        issue = fake.add_issue("SHOP", "Pay by card")
        field = fake.add_sprint_field("SHOP", issue.issue_type.name)
        closed = fake.add_sprint(
            3, "Sprint 1", state="closed", start_date="2025-04-01T08:00:00.000Z", end_date="2025-04-14T17:00:00.000Z"
        )
        fake.set_sprints(issue.key, field.field_id, closed, fake.add_sprint(3, "Sprint 2", state="active"))
        fields = session.get(f"/rest/api/2/issue/{issue.key}", params={"fields": field.field_id}).json()["fields"]
        answers.append((closed["id"], fields[field.field_id]))

    (cloud_id, on_cloud), (server_id, on_data_center) = answers
    assert on_cloud[0] == {
        "id": cloud_id,
        "name": "Sprint 1",
        "state": "closed",
        "boardId": 3,
        "startDate": "2025-04-01T08:00:00.000Z",
        "endDate": "2025-04-14T17:00:00.000Z",
    }
    assert (on_cloud[1]["name"], on_cloud[1]["state"]) == ("Sprint 2", "active")
    first, second = on_data_center
    assert re.fullmatch(
        rf"com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-f]+\[id={server_id},rapidViewId=3,"
        rf"state=CLOSED,name=Sprint 1,startDate=2025-04-01T08:00:00\.000Z,endDate=2025-04-14T17:00:00\.000Z,"
        rf"completeDate=<null>,sequence={server_id}\]",
        first,
    )
    assert ",state=ACTIVE,name=Sprint 2,startDate=<null>,endDate=<null>," in second


def test_an_issue_of_a_project_the_user_may_not_browse_reads_as_not_found(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SECRET")
    fake_jira_cloud.add_issue("SECRET", "Hidden")
    fake_jira_cloud.forbid_project("SECRET")

    response = cloud.get("/rest/api/3/issue/SECRET-1")

    # Jira never confirms that an issue exists to someone who may not see it: 404, not 403.
    assert response.status_code == 404
    assert response.json() == {"errorMessages": [ISSUE_NOT_FOUND], "errors": {}}


def test_a_moved_issue_answers_to_its_old_key_under_its_new_key(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_project("NEW")
    fake_jira_cloud.add_issue("NEW", "Already here")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")

    moved = fake_jira_cloud.move_issue("SHOP-1", "NEW")
    read = cloud.get("/rest/api/3/issue/SHOP-1", params={"fields": "summary"}).json()
    found = search(cloud, 'key = "SHOP-1"').json()

    assert (moved.key, moved.former_keys) == ("NEW-2", ["SHOP-1"])
    assert (read["key"], read["fields"]["summary"]) == ("NEW-2", "Checkout fails")
    assert keys_of_json(found) == ["NEW-2"]


def test_a_deleted_issue_is_not_found(fake_jira_server, server):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_issue("SHOP", "Soon gone")
    fake_jira_server.delete_issue("SHOP-1")

    response = server.get("/rest/api/2/issue/SHOP-1")

    assert response.status_code == 404
    assert response.json()["errorMessages"] == [ISSUE_NOT_FOUND]


# -- creating issues -----------------------------------------------------------------------------


def test_cloud_creates_an_issue_from_an_atlassian_document_and_answers_201(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    description = document_from_text("The cart empties itself")

    response = cloud.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "SHOP"},
                "issuetype": {"name": "Bug"},
                "summary": "Cart empties",
                "description": description,
                "priority": {"name": "High"},
                "labels": ["cart"],
            }
        },
    )

    assert response.status_code == 201
    created = response.json()
    assert created["key"] == "SHOP-1"
    assert created["self"] == f"{cloud.base_url}/rest/api/3/issue/{created['id']}"
    issue = fake_jira_cloud.issue("SHOP-1")
    assert (issue.summary, issue.issue_type.name, issue.priority, issue.labels) == (
        "Cart empties",
        "Bug",
        "High",
        ["cart"],
    )
    assert issue.description == description
    assert issue.reporter.login == CLOUD_LOGIN
    assert issue.status.name == "To Do"


def test_cloud_rest_v3_refuses_a_plain_string_description(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fields = {
        "project": {"key": "SHOP"},
        "issuetype": {"name": "Task"},
        "summary": "S",
        "description": "plain",
    }

    v3 = cloud.post("/rest/api/3/issue", json={"fields": fields})
    v2 = cloud.post("/rest/api/2/issue", json={"fields": fields})

    assert v3.status_code == 400
    assert v3.json() == {
        "errorMessages": [],
        "errors": {"description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"},
    }
    assert v2.status_code == 201


def test_data_center_creates_an_issue_from_wiki_markup(fake_jira_server, server):
    fake_jira_server.add_project("SHOP")

    response = server.post(
        "/rest/api/2/issue",
        json={
            "fields": {
                "project": {"key": "SHOP"},
                "issuetype": {"name": "Task"},
                "summary": "Export broken",
                "description": "h2. Steps\n* open export",
                "assignee": {"name": SERVER_LOGIN},
            }
        },
    )

    assert response.status_code == 201
    issue = fake_jira_server.issue("SHOP-1")
    assert issue.description == "h2. Steps\n* open export"
    assert issue.assignee.login == SERVER_LOGIN
    read = server.get("/rest/api/2/issue/SHOP-1", params={"fields": "labels,components,priority"}).json()
    assert read["fields"] == {"labels": [], "components": [], "priority": read["fields"]["priority"]}
    assert read["fields"]["priority"]["name"] == "Medium"


def test_create_names_every_missing_required_field(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    severity = fake_jira_cloud.add_field("SHOP", "Bug", "Severity", "select", required=True, options=["S1", "S2"])

    response = cloud.post(
        "/rest/api/3/issue",
        json={"fields": {"project": {"key": "SHOP"}, "issuetype": {"name": "Bug"}}},
    )

    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": [],
        "errors": {
            "summary": "You must specify a summary of the issue.",
            severity.field_id: "Severity is required.",
        },
    }


@pytest.mark.parametrize(
    "kind, value, message",
    [
        ("select", {"value": "S9"}, "Option value 'S9' is not valid"),
        ("select", "S1", "Could not find valid 'id' or 'value' in the Parent Option object."),
        ("multiselect", {"value": "S1"}, "data was not an array"),
        ("multiselect", [{"value": "S1"}, {"value": "S9"}], "Option value 'S9' is not valid"),
        ("number", "three", "Operation value must be a number"),
        ("date", "01/02/2024", "Error parsing date string: 01/02/2024"),
        ("datetime", "2024-01-02", "Error parsing date string: 2024-01-02"),
        ("text", {"value": "x"}, "Operation value must be a string"),
        (
            "textarea",
            "plain",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (
            "user",
            {"accountId": "nobody"},
            "Specified user does not exist or you do not have required permissions",
        ),
    ],
)
def test_create_refuses_a_value_that_does_not_fit_the_field(fake_jira_cloud, cloud, kind, value, message):
    fake_jira_cloud.add_project("SHOP")
    spec = fake_jira_cloud.add_field("SHOP", "Task", "Extra", kind, options=["S1", "S2"])

    response = cloud.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "SHOP"},
                "issuetype": {"name": "Task"},
                "summary": "S",
                spec.field_id: value,
            }
        },
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {spec.field_id: message}


def test_create_stores_valid_values_of_every_kind_and_reads_them_back(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    ada = fake_jira_cloud.add_user("ada@example.com", display_name="Ada Lovelace")

    def add(kind):
        return fake_jira_cloud.add_field("SHOP", "Task", kind.title(), kind, options=["A", "B"]).field_id

    values = {
        add("select"): {"value": "B"},
        add("multiselect"): [{"value": "A"}, {"value": "B"}],
        add("user"): {"accountId": ada.account_id},
        add("date"): "2024-05-01",
        add("datetime"): "2024-05-01T10:00:00.000+0000",
        add("number"): 3.5,
        add("labels"): ["one", "two"],
    }
    fields = {"project": {"key": "SHOP"}, "issuetype": {"name": "Task"}, "summary": "Everything", **values}

    created = cloud.post("/rest/api/3/issue", json={"fields": fields})
    read = cloud.get(f"/rest/api/3/issue/{created.json()['key']}").json()["fields"]

    assert created.status_code == 201
    select, multiselect, user, date, moment, number, labels = values
    assert read[select]["value"] == "B"
    assert [option["value"] for option in read[multiselect]] == ["A", "B"]
    assert read[user]["accountId"] == ada.account_id
    assert (read[date], read[moment], read[number], read[labels]) == (
        "2024-05-01",
        "2024-05-01T10:00:00.000+0000",
        3.5,
        ["one", "two"],
    )


def test_create_refuses_a_field_that_is_not_on_the_create_screen(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")

    response = cloud.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "SHOP"},
                "issuetype": {"name": "Task"},
                "summary": "S",
                "customfield_99999": "x",
            }
        },
    )

    assert response.json()["errors"] == {
        "customfield_99999": (
            "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown."
        )
    }


def test_create_refuses_an_unknown_or_hidden_project_and_an_unknown_issue_type(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_project("SECRET")
    fake_jira_cloud.forbid_project("SECRET")
    create = lambda fields: cloud.post("/rest/api/3/issue", json={"fields": fields})  # noqa: E731

    hidden = create({"project": {"key": "SECRET"}, "issuetype": {"name": "Task"}, "summary": "S"})
    bad_type = create({"project": {"key": "SHOP"}, "issuetype": {"name": "Epic"}, "summary": "S"})

    assert hidden.status_code == bad_type.status_code == 400
    assert hidden.json()["errors"] == {"project": "Specify a valid project ID or key"}
    assert bad_type.json()["errors"] == {"issuetype": "The issue type selected is invalid."}


# -- comments ------------------------------------------------------------------------------------


def test_comments_are_documents_on_v3_and_strings_on_v2(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")

    added = cloud.post("/rest/api/3/issue/SHOP-1/comment", json={"body": document_from_text("Covered")})
    plain_on_v3 = cloud.post("/rest/api/3/issue/SHOP-1/comment", json={"body": "Covered"})
    empty = cloud.post("/rest/api/2/issue/SHOP-1/comment", json={"body": "  "})
    listed_v2 = cloud.get("/rest/api/2/issue/SHOP-1/comment").json()

    assert added.status_code == 201
    assert added.json()["body"] == document_from_text("Covered")
    assert added.json()["author"]["emailAddress"] == CLOUD_LOGIN
    assert plain_on_v3.status_code == 400
    assert empty.json() == {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}
    assert (listed_v2["total"], listed_v2["comments"][0]["body"]) == (1, "Covered")


def test_commenting_on_a_hidden_issue_is_not_found(fake_jira_server, server):
    fake_jira_server.add_project("SECRET")
    fake_jira_server.add_issue("SECRET", "Hidden")
    fake_jira_server.forbid_project("SECRET")

    response = server.post("/rest/api/2/issue/SECRET-1/comment", json={"body": "hello"})

    assert response.status_code == 404
    assert fake_jira_server.issue("SECRET-1").comments == []


# -- transitions ---------------------------------------------------------------------------------


def test_transitions_lead_to_every_other_status_and_move_the_issue(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_status("In Review", "indeterminate")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails", status="To Do")

    offered = cloud.get("/rest/api/3/issue/SHOP-1/transitions").json()["transitions"]
    to_done = next(t for t in offered if t["to"]["name"] == "Done")
    moved = cloud.post("/rest/api/3/issue/SHOP-1/transitions", json={"transition": {"id": to_done["id"]}})
    after = cloud.get("/rest/api/3/issue/SHOP-1", params={"fields": "status"}).json()

    assert [t["to"]["name"] for t in offered] == ["In Progress", "Done", "In Review"]
    assert to_done["to"]["statusCategory"]["key"] == "done"
    assert moved.status_code == 204 and moved.content == b""
    assert after["fields"]["status"]["name"] == "Done"


def test_entering_a_done_status_dates_the_resolution_and_leaving_it_clears_it(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails", status="To Do")

    def move_to(status):
        offered = cloud.get("/rest/api/3/issue/SHOP-1/transitions").json()["transitions"]
        transition = next(t for t in offered if t["to"]["name"] == status)
        cloud.post("/rest/api/3/issue/SHOP-1/transitions", json={"transition": {"id": transition["id"]}})
        return cloud.get("/rest/api/3/issue/SHOP-1", params={"fields": "updated,resolutiondate"}).json()["fields"]

    assert move_to("In Progress")["resolutiondate"] is None
    done = move_to("Done")
    assert done["resolutiondate"] == done["updated"]
    assert move_to("To Do")["resolutiondate"] is None


def test_a_transition_that_is_not_available_is_refused(fake_jira_server, server):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_issue("SHOP", "Export broken", status="Done")
    to_done = next(t.id for t in fake_jira_server.transitions if t.to.name == "Done")

    unavailable = server.post("/rest/api/2/issue/SHOP-1/transitions", json={"transition": {"id": to_done}})
    unknown = server.post("/rest/api/2/issue/SHOP-1/transitions", json={"transition": {"id": "999"}})
    missing = server.post("/rest/api/2/issue/SHOP-1/transitions", json={})

    assert unavailable.status_code == unknown.status_code == missing.status_code == 400
    assert unavailable.json()["errorMessages"] == [f"Transition id '{to_done}' is not valid for this issue."]
    assert missing.json()["errorMessages"] == ["Missing 'transition' identifier"]
    assert fake_jira_server.issue("SHOP-1").status.name == "Done"


# -- attachments ---------------------------------------------------------------------------------


def test_attachments_without_the_xsrf_token_header_are_blocked(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")

    response = cloud.post("/rest/api/3/issue/SHOP-1/attachments", files={"file": ("log.txt", b"trace", "text/plain")})

    assert response.status_code == 403
    assert response.text == "XSRF check failed"
    assert fake_jira_cloud.issue("SHOP-1").attachments == []


def test_attachments_with_the_token_header_are_stored_from_the_file_parts(fake_jira_server, server):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_issue("SHOP", "Export broken")

    response = server.post(
        "/rest/api/2/issue/SHOP-1/attachments",
        headers={"X-Atlassian-Token": "no-check"},
        files=[
            ("file", ("log.txt", b"trace", "text/plain")),
            ("file", ("shot.png", b"\x89PNG", "image/png")),
        ],
    )

    assert response.status_code == 200
    assert [(a["filename"], a["size"], a["mimeType"]) for a in response.json()] == [
        ("log.txt", 5, "text/plain"),
        ("shot.png", 4, "image/png"),
    ]
    stored = fake_jira_server.issue("SHOP-1").attachments
    assert [(a.filename, a.content) for a in stored] == [("log.txt", b"trace"), ("shot.png", b"\x89PNG")]


def test_attachments_sent_as_anything_but_multipart_are_unsupported(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")

    response = cloud.post(
        "/rest/api/3/issue/SHOP-1/attachments",
        headers={"X-Atlassian-Token": "no-check", "Content-Type": "application/octet-stream"},
        data=b"trace",
    )

    assert response.status_code == 415
    assert fake_jira_cloud.issue("SHOP-1").attachments == []


def test_a_file_over_the_sites_attachment_size_is_refused_with_413(fake_jira_server, server):
    fake_jira_server.add_project("SHOP")
    fake_jira_server.add_issue("SHOP", "Export broken")
    fake_jira_server.max_attachment_bytes = 4

    response = server.post(
        "/rest/api/2/issue/SHOP-1/attachments",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("log.txt", b"trace", "text/plain")},
    )

    assert response.status_code == 413
    assert "log.txt" in response.json()["errorMessages"][0]
    assert fake_jira_server.issue("SHOP-1").attachments == []


def test_attachments_turned_off_are_forbidden(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("SHOP")
    fake_jira_cloud.add_issue("SHOP", "Checkout fails")
    fake_jira_cloud.attachments_enabled = False

    response = cloud.post(
        "/rest/api/3/issue/SHOP-1/attachments",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("log.txt", b"trace", "text/plain")},
    )

    assert response.status_code == 403
    assert fake_jira_cloud.issue("SHOP-1").attachments == []


# -- Cloud enhanced search -----------------------------------------------------------------------


@pytest.fixture
def shop(fake_jira_cloud):
    """Cloud project SHOP with three issues and a hidden project SECRET with one."""
    fake = fake_jira_cloud
    fake.add_project("SHOP")
    fake.add_user("ada@example.com", display_name="Ada Lovelace")
    fake.add_issue(
        "SHOP",
        "Login page crashes",
        description="Stack trace in the auth module",
        status="In Progress",
        assignee="ada@example.com",
        labels=["auth"],
        updated=datetime(2024, 1, 10, tzinfo=UTC),
    )
    fake.add_issue(
        "SHOP",
        "Cart total is wrong",
        description="Rounding of the VAT",
        status="To Do",
        assignee=CLOUD_LOGIN,
        updated=datetime(2024, 2, 10, tzinfo=UTC),
    )
    fake.add_issue(
        "SHOP",
        'Search for "exact phrase" fails',
        description="login required first",
        status="Done",
        priority="Highest",
        updated=datetime(2024, 3, 10, tzinfo=UTC),
    )
    fake.add_project("SECRET")
    fake.add_issue("SECRET", "Login secret")
    fake.forbid_project("SECRET")
    return fake


def search(session, jql, **body):
    return session.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["summary"], **body})


def test_enhanced_search_returns_only_issue_ids_unless_fields_are_asked_for(shop, cloud):
    bare = cloud.post("/rest/api/3/search/jql", json={"jql": "key = SHOP-1"}).json()
    with_fields = search(cloud, "key = SHOP-1").json()

    assert bare == {"issues": [{"id": shop.issue("SHOP-1").id}], "isLast": True}
    assert with_fields["issues"][0]["key"] == "SHOP-1"
    assert with_fields["issues"][0]["fields"] == {"summary": "Login page crashes"}


def test_enhanced_search_pages_with_next_page_token_until_is_last(shop, cloud):
    first = search(cloud, "project = SHOP ORDER BY key ASC", maxResults=2).json()
    second = search(cloud, "project = SHOP ORDER BY key ASC", maxResults=2, nextPageToken=first["nextPageToken"])

    assert keys_of_json(first) == ["SHOP-1", "SHOP-2"]
    assert first["isLast"] is False
    assert keys_of(second) == ["SHOP-3"]
    assert second.json()["isLast"] is True
    assert "nextPageToken" not in second.json()
    assert "total" not in first and "startAt" not in first


def test_enhanced_search_get_reads_its_parameters_from_the_query_string(shop, cloud):
    response = cloud.get(
        "/rest/api/3/search/jql",
        params={"jql": "project = SHOP ORDER BY key", "maxResults": 1, "fields": "summary,status"},
    )

    assert keys_of(response) == ["SHOP-1"]
    assert set(response.json()["issues"][0]["fields"]) == {"summary", "status"}
    assert response.json()["nextPageToken"]


def test_enhanced_search_serves_at_most_100_issues_a_page_when_fields_are_requested(fake_jira_cloud, cloud):
    fake_jira_cloud.add_project("BULK")
    for number in range(150):
        fake_jira_cloud.add_issue("BULK", f"Issue {number}")
    keys = ", ".join(f"BULK-{n}" for n in range(1, 151))

    with_fields = search(cloud, f"key in ({keys})", maxResults=500).json()
    keys_only = cloud.post(
        "/rest/api/3/search/jql", json={"jql": f"key in ({keys})", "fields": ["key"], "maxResults": 500}
    ).json()

    assert len(with_fields["issues"]) == 100
    assert with_fields["isLast"] is False
    assert len(keys_only["issues"]) == 150
    assert keys_only["isLast"] is True


def test_enhanced_search_leaves_out_keys_that_do_not_exist_or_are_hidden(shop, cloud):
    response = search(cloud, "key in (SHOP-1, SHOP-404, SECRET-1) ORDER BY key")

    assert response.status_code == 200
    assert keys_of(response) == ["SHOP-1"]


def test_enhanced_search_never_returns_issues_of_hidden_projects(shop, cloud):
    assert keys_of(search(cloud, "summary ~ login ORDER BY key")) == ["SHOP-1"]
    assert keys_of(search(cloud, "project = SECRET")) == []


def test_enhanced_search_refuses_unbounded_queries(shop, cloud):
    for jql in ("", "ORDER BY created DESC"):
        response = search(cloud, jql)
        assert response.status_code == 400
        assert response.json()["errorMessages"] == [
            "Unbounded JQL queries are not allowed here. Add a search restriction to the query."
        ]


def test_enhanced_search_refuses_a_page_token_issued_for_another_query(shop, cloud):
    token = search(cloud, "project = SHOP", maxResults=1).json()["nextPageToken"]

    response = search(cloud, "summary ~ login", nextPageToken=token)

    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["The provided nextPageToken is invalid or has expired."]


@pytest.mark.parametrize("body", [{"startAt": 0}, {"validateQuery": "warn"}], ids=["startAt", "validateQuery"])
def test_enhanced_search_refuses_the_classic_search_parameters(shop, cloud, body):
    response = search(cloud, "project = SHOP", **body)

    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": ["Invalid request payload. Refer to the REST API documentation and try again."]
    }


@pytest.mark.parametrize("max_results", [0, 5001])
def test_enhanced_search_refuses_page_sizes_outside_1_to_5000(shop, cloud, max_results):
    response = search(cloud, "project = SHOP", maxResults=max_results)

    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["The maxResults parameter must be between 1 and 5,000."]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("version", ["2", "3"])
def test_the_removed_cloud_search_endpoint_answers_410_gone(shop, cloud, method, version):
    response = cloud.request(method, f"/rest/api/{version}/search", params={"jql": "project = SHOP"})

    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


@pytest.mark.parametrize(
    "jql, expected",
    [
        ("key = SHOP-2", ["SHOP-2"]),
        ("issuekey = shop-2", ["SHOP-2"]),
        ("key in (SHOP-3, SHOP-1) ORDER BY key ASC", ["SHOP-1", "SHOP-3"]),
        ("key not in (SHOP-3) AND project = SHOP ORDER BY key", ["SHOP-1", "SHOP-2"]),
        ("key > SHOP-1 ORDER BY key", ["SHOP-2", "SHOP-3"]),
        ("project = SHOP", ["SHOP-3", "SHOP-2", "SHOP-1"]),
        ('project = "shop" ORDER BY updated DESC', ["SHOP-3", "SHOP-2", "SHOP-1"]),
        ("summary ~ cart", ["SHOP-2"]),
        ("summary ~ 'LOGIN page'", ["SHOP-1"]),
        ("summary ~ log*", ["SHOP-1"]),
        ('summary ~ "\\"exact phrase\\""', ["SHOP-3"]),
        ('summary ~ "\\"phrase exact\\""', []),
        ("description ~ vat", ["SHOP-2"]),
        ("text ~ login ORDER BY key", ["SHOP-1", "SHOP-3"]),
        ("summary ~ login OR description ~ rounding ORDER BY key", ["SHOP-1", "SHOP-2"]),
        ("(summary ~ login OR summary ~ cart) AND status = 'To Do'", ["SHOP-2"]),
        ("project = SHOP AND NOT status = Done ORDER BY key", ["SHOP-1", "SHOP-2"]),
        ("status in ('In Progress', Done) ORDER BY key", ["SHOP-1", "SHOP-3"]),
        ("status != Done AND project = SHOP ORDER BY key", ["SHOP-1", "SHOP-2"]),
        ("assignee = currentUser()", ["SHOP-2"]),
        ("project = SHOP AND assignee is EMPTY", ["SHOP-3"]),
        ("project = SHOP AND assignee = EMPTY", ["SHOP-3"]),
        ("labels = auth", ["SHOP-1"]),
        ("updated >= '2024-02-01' ORDER BY updated ASC", ["SHOP-2", "SHOP-3"]),
        ("updated < 2024/02/01", ["SHOP-1"]),
        ("project = SHOP ORDER BY priority DESC, key ASC", ["SHOP-3", "SHOP-1", "SHOP-2"]),
        ("project = SHOP ORDER BY status ASC, key DESC", ["SHOP-2", "SHOP-1", "SHOP-3"]),
    ],
)
def test_jql_selects_and_orders_issues_as_jira_does(shop, cloud, jql, expected):
    response = search(cloud, jql)

    assert response.status_code == 200, response.text
    assert keys_of(response) == expected


@pytest.mark.parametrize(
    "jql, message",
    [
        (
            "summary ~ 'unfinished",
            "Error in the JQL Query: The quoted string 'unfinished' has not been completed.",
        ),
        (
            "project SHOP",
            "Error in the JQL Query: Expecting operator but got 'SHOP'. The valid operators are "
            "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. "
            "(line 1, character 9)",
        ),
        (
            "project = SHOP summary ~ x",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'summary'.",
        ),
        ("(project = SHOP", "Error in the JQL Query: Expecting ')' before the end of the query."),
        (
            "key in (SHOP-1,",
            "Error in the JQL Query: Expecting either a value, list or function before the end",
        ),
        ("flavour = sweet", "Field 'flavour' does not exist or you do not have permission to view it."),
        ("summary = crash", "The operator '=' is not supported by the 'summary' field."),
        ("project ~ SHOP", "The operator '~' is not supported by the 'project' field."),
        ("key = banana", "The issue key 'banana' for field 'key' is invalid."),
        ("updated > yesterday", "Date value 'yesterday' for field 'updated' is invalid."),
        ("project = SHOP ORDER BY text", "Not able to sort using field 'text'."),
        ("assignee = membersOf(devs)", "Unable to find JQL function 'membersOf(devs)'."),
    ],
)
def test_invalid_jql_is_refused_with_jira_error_messages(shop, cloud, jql, message):
    response = search(cloud, jql)

    assert response.status_code == 400
    assert response.json()["errors"] == {}
    assert response.json()["errorMessages"][0].startswith(message)


# -- Data Center classic search ------------------------------------------------------------------


@pytest.fixture
def dc_shop(fake_jira_server):
    fake_jira_server.add_project("SHOP")
    for summary in ("Export broken", "Import slow", "Export to PDF"):
        fake_jira_server.add_issue("SHOP", summary, description=f"About: {summary}")
    return fake_jira_server


def test_classic_search_pages_with_start_at_max_results_and_total(dc_shop, server):
    page = server.get(
        "/rest/api/2/search", params={"jql": "project = SHOP ORDER BY key", "startAt": 1, "maxResults": 1}
    ).json()

    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 1, 3)
    assert keys_of_json(page) == ["SHOP-2"]


def test_classic_search_returns_navigable_fields_by_default(dc_shop, server):
    issue = server.post("/rest/api/2/search", json={"jql": "key = SHOP-1"}).json()["issues"][0]

    assert issue["fields"]["description"] == "About: Export broken"
    assert {"summary", "status", "updated", "priority"} <= set(issue["fields"])
    assert "comment" not in issue["fields"]


def test_classic_search_names_every_missing_key_under_strict_validation(dc_shop, server):
    response = server.post(
        "/rest/api/2/search", json={"jql": "key in (SHOP-1, SHOP-404, GONE-1)", "fields": ["summary"]}
    )

    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": [
            "An issue with key 'SHOP-404' does not exist for field 'key'.",
            "An issue with key 'GONE-1' does not exist for field 'key'.",
        ],
        "errors": {},
    }


def test_classic_search_with_warn_validation_drops_missing_keys_and_warns(dc_shop, server):
    dc_shop.delete_issue("SHOP-2")

    response = server.get(
        "/rest/api/2/search",
        params={"jql": "key in (SHOP-1, SHOP-2) ORDER BY key", "validateQuery": "warn", "fields": "summary"},
    )

    assert response.status_code == 200
    assert keys_of(response) == ["SHOP-1"]
    assert response.json()["warningMessages"] == ["An issue with key 'SHOP-2' does not exist for field 'key'."]


def test_classic_search_treats_a_hidden_project_as_missing(dc_shop, server):
    dc_shop.add_project("SECRET")
    dc_shop.forbid_project("SECRET")

    response = server.get("/rest/api/2/search", params={"jql": "project = SECRET"})

    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["The value 'SECRET' does not exist for the field 'project'."]


def test_classic_search_post_refuses_properties_it_does_not_know(dc_shop, server):
    response = server.post("/rest/api/2/search", json={"jql": "project = SHOP", "nextPageToken": "x"})

    assert response.status_code == 400
    assert response.json()["errorMessages"] == [
        'Unrecognized field "nextPageToken" (Class com.atlassian.jira.rest.v2.search.SearchRequestBean), '
        "not marked as ignorable"
    ]


def test_data_center_has_no_enhanced_search(dc_shop, server):
    response = server.post("/rest/api/2/search/jql", json={"jql": "project = SHOP"})

    assert response.status_code == 404


# -- rate limiting and injected failures ---------------------------------------------------------


def test_cloud_rate_limiting_answers_429_with_retry_after_and_rate_limit_headers(fake_jira_cloud, cloud):
    fake_jira_cloud.rate_limit_next(2, retry_after=7)

    limited = [cloud.get("/rest/api/3/myself") for _ in range(2)]
    afterwards = cloud.get("/rest/api/3/myself")

    assert [r.status_code for r in limited] == [429, 429]
    headers = limited[0].headers
    assert headers["Retry-After"] == "7"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Reason"] == "jira-burst-based"
    assert headers["X-RateLimit-NearLimit"] == "true"
    assert datetime.strptime(headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%MZ")
    assert afterwards.status_code == 200


def test_data_center_rate_limiting_sends_its_token_bucket_headers(fake_jira_server, server):
    fake_jira_server.rate_limit_next(retry_after=3)

    response = server.get("/rest/api/2/myself")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert {"X-RateLimit-Limit", "X-RateLimit-Interval-Seconds", "X-RateLimit-FillRate"} <= set(response.headers)


def test_fail_next_answers_the_given_failure_then_recovers(fake_jira_cloud, cloud):
    fake_jira_cloud.fail_next(503, {"errorMessages": ["Service unavailable"]}, headers={"Retry-After": "1"}, count=2)

    failures = [cloud.get("/rest/api/3/myself") for _ in range(2)]
    recovered = cloud.get("/rest/api/3/myself")

    assert [(r.status_code, r.json()) for r in failures] == [(503, {"errorMessages": ["Service unavailable"]})] * 2
    assert failures[0].headers["Retry-After"] == "1"
    assert recovered.status_code == 200


# -- the request log -----------------------------------------------------------------------------


def test_every_request_is_recorded_below_the_context_path(dc_shop, server):
    server.post("/rest/api/2/search", params={"validateQuery": "warn"}, json={"jql": "project = SHOP"})
    server.get("/rest/api/2/issue/SHOP-1")

    searches = dc_shop.requests_to("POST", r"/rest/api/2/search")
    assert len(dc_shop.requests) == 2
    assert len(searches) == 1
    recorded = searches[0]
    assert recorded.path == "/jira/rest/api/2/search"
    assert recorded.route_path == "/rest/api/2/search"
    assert recorded.param("validateQuery") == "warn"
    assert recorded.headers["authorization"] == f"Bearer {SERVER_PAT}"
    assert recorded.json() == {"jql": "project = SHOP"}
    assert len(dc_shop.requests_to("GET", r"/rest/api/2/issue/[^/]+")) == 1


def test_a_fake_can_run_outside_a_fixture_and_stopping_it_drops_open_connections():
    fake = JiraFake("cloud", context_path="/site")
    fake.set_credentials("bot@example.com", "token")
    session = requests.Session()
    session.auth = ("bot@example.com", "token")

    with fake:
        base = fake.base_url
        assert session.get(base + "/rest/api/3/myself").status_code == 200

    with pytest.raises(requests.ConnectionError):
        session.get(base + "/rest/api/3/serverInfo", timeout=5)
