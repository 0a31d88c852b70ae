"""The fake Linear answers as Linear's documented GraphQL API does.

These tests talk to the fake over real HTTP with plain `requests`, so what they pin is the wire
behaviour the project's own client will meet.
"""

import time
from datetime import UTC, datetime

import pytest
import requests

from tests.fakes.fixtures import LINEAR_API_KEY, LINEAR_LOGIN, LINEAR_OAUTH_TOKEN

CREATE = "mutation Create($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { identifier } } }"


@pytest.fixture
def post(fake_linear):
    """POST a GraphQL request with the API key; returns the response."""

    def send(query, variables=None, authorization=LINEAR_API_KEY, **extra):
        return requests.post(
            fake_linear.base_url + "/graphql",
            json={"query": query, "variables": variables or {}, **extra},
            headers={"Authorization": authorization},
        )

    return send


@pytest.fixture
def eng(fake_linear):
    return fake_linear.add_team("ENG", "Engineering")


def data_of(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


# -- authentication --------------------------------------------------------------------------


def test_an_api_key_goes_in_the_authorization_header_as_it_is(post):
    viewer = data_of(post("{ viewer { name email } }"))["viewer"]

    assert viewer == {"name": "Automation", "email": LINEAR_LOGIN}


def test_an_oauth_token_goes_in_the_authorization_header_as_bearer(post):
    viewer = data_of(post("{ viewer { email } }", authorization=f"Bearer {LINEAR_OAUTH_TOKEN}"))["viewer"]

    assert viewer["email"] == LINEAR_LOGIN


@pytest.mark.parametrize(
    "authorization", ["", "lin_api_wrong", f"Bearer {LINEAR_API_KEY}"], ids=["none", "wrong key", "key as bearer"]
)
def test_missing_or_wrong_credentials_are_an_authentication_error(post, fake_linear, authorization):
    response = post("{ viewer { id } }", authorization=authorization)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["type"] == "authentication error"
    assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
    assert "data" not in response.json()


# -- GraphQL itself ----------------------------------------------------------------------------


def test_every_answer_reports_the_request_and_complexity_budgets(post):
    small = post("{ viewer { id } }")
    large = post("{ issues(first: 100) { nodes { id title state { name } } } }")

    assert int(small.headers["X-RateLimit-Requests-Limit"]) >= int(small.headers["X-RateLimit-Requests-Remaining"])
    assert (
        int(large.headers["X-RateLimit-Requests-Remaining"]) == int(small.headers["X-RateLimit-Requests-Remaining"]) - 1
    )
    # 0.1 a property, 1 an object, a connection's children times `first`; rounded up.
    assert small.headers["X-Complexity"] == "2"  # viewer: 1 + 0.1
    assert large.headers["X-Complexity"] == "231"  # issues: 1 + 100 * (node 1 + id, title 0.2 + state 1.1)
    assert int(large.headers["X-RateLimit-Complexity-Remaining"]) < int(
        small.headers["X-RateLimit-Complexity-Remaining"]
    )
    assert int(small.headers["X-RateLimit-Requests-Reset"]) > time.time() * 1000  # epoch milliseconds


def test_a_field_outside_the_schema_fails_validation(post):
    response = post("{ viewer { id favouriteColour } }")

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == "Cannot query field 'favouriteColour' on type 'User'."
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["locations"] == [{"line": 1, "column": 15}]


def test_a_query_that_does_not_parse_is_refused(post):
    response = post("{ viewer { id }")

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_a_body_that_is_not_json_is_refused_and_changes_nothing(fake_linear, eng):
    response = requests.post(
        fake_linear.base_url + "/graphql",
        data=b'{"query": "mutation { issueCreate(input: {teamId: \\"ENG\\", title: \\"x\\"}) { success } }"',
        headers={"Authorization": LINEAR_API_KEY, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert fake_linear.issues == []


def test_variables_of_the_wrong_type_fail_the_request(post, fake_linear, eng):
    response = post(CREATE, {"input": {"teamId": eng.id, "title": "x", "priority": "high"}})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert fake_linear.issues == []


# -- reading ---------------------------------------------------------------------------------


def test_teams_come_in_pages_of_first_after_the_end_cursor(post, fake_linear):
    for key in ("ALPHA", "BETA", "GAMMA"):
        fake_linear.add_team(key)
    query = (
        "query($after: String) { teams(first: 2, after: $after) { nodes { key } pageInfo { hasNextPage endCursor } } }"
    )

    first = data_of(post(query))["teams"]
    second = data_of(post(query, {"after": first["pageInfo"]["endCursor"]}))["teams"]

    assert [team["key"] for team in first["nodes"]] == ["GAMMA", "BETA"]  # newest first
    assert first["pageInfo"]["hasNextPage"] is True
    assert [team["key"] for team in second["nodes"]] == ["ALPHA"]
    assert second["pageInfo"]["hasNextPage"] is False


def test_pages_hold_50_nodes_unless_first_says_otherwise(post, fake_linear, eng):
    for number in range(55):
        fake_linear.add_issue("ENG", f"Issue {number}")

    page = data_of(post("{ issues { nodes { id } pageInfo { hasNextPage } } }"))["issues"]

    assert len(page["nodes"]) == 50
    assert page["pageInfo"]["hasNextPage"] is True


def test_issues_filter_by_team_key_and_numbers_or_by_ids(post, fake_linear, eng):
    fake_linear.add_team("OPS")
    one = fake_linear.add_issue("ENG", "One")
    fake_linear.add_issue("ENG", "Two")
    three = fake_linear.add_issue("ENG", "Three")
    ops = fake_linear.add_issue("OPS", "Ops one")
    by_number = """{ issues(filter: {or: [{team: {key: {eq: "ENG"}}, number: {in: [1, 3]}},
                                          {team: {key: {eq: "OPS"}}, number: {in: [1]}}]}) { nodes { identifier } } }"""
    by_id = "query($ids: [ID!]) { issues(filter: {id: {in: $ids}}) { nodes { identifier } } }"

    numbered = data_of(post(by_number))["issues"]["nodes"]
    identified = data_of(post(by_id, {"ids": [one.id, ops.id]}))["issues"]["nodes"]

    assert sorted(node["identifier"] for node in numbered) == sorted([one.identifier, three.identifier, ops.identifier])
    assert sorted(node["identifier"] for node in identified) == sorted([one.identifier, ops.identifier])


def test_an_issue_shows_its_state_priority_assignee_labels_and_url(post, fake_linear, eng):
    fake_linear.add_label("Bug", "ENG")
    issue = fake_linear.add_issue(
        "ENG", "Checkout fails", state="In Progress", priority=2, assignee=LINEAR_LOGIN, labels=["Bug"]
    )
    query = """query($id: String!) { issue(id: $id) { identifier title priority priorityLabel url updatedAt
               state { name type } assignee { name } team { key } labels { nodes { name } } } }"""

    answer = data_of(post(query, {"id": issue.identifier}))["issue"]

    assert answer["identifier"] == "ENG-1"
    assert answer["state"] == {"name": "In Progress", "type": "started"}
    assert (answer["priority"], answer["priorityLabel"]) == (2, "High")
    assert answer["assignee"] == {"name": "Automation"}
    assert answer["labels"]["nodes"] == [{"name": "Bug"}]
    assert answer["url"] == "https://linear.app/example/issue/ENG-1/checkout-fails"
    assert answer["updatedAt"].endswith("Z")


def test_a_missing_issue_is_an_error_next_to_null_data(post, eng):
    response = post('{ issue(id: "ENG-404") { id } }')

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["message"] == "Entity not found: Issue"
    assert error["path"] == ["issue"]
    assert error["extensions"]["type"] == "invalid input"
    assert error["extensions"]["userPresentableMessage"] == "Could not find referenced Issue."


def test_issues_of_a_private_team_are_invisible_to_non_members(post, fake_linear):
    fake_linear.add_team("SEC", private=True)
    hidden = fake_linear.add_issue("SEC", "Secret")

    listed = data_of(post("{ teams { nodes { key } } issues { nodes { id } } }"))
    direct = post(f'{{ issue(id: "{hidden.identifier}") {{ id }} }}')

    assert listed == {"teams": {"nodes": []}, "issues": {"nodes": []}}
    assert direct.json()["errors"][0]["message"] == "Entity not found: Issue"


def test_search_finds_issues_by_words_of_title_and_description_or_by_identifier(post, fake_linear, eng):
    login = fake_linear.add_issue("ENG", "Login page crashes", description="After **submit** the page is blank")
    other = fake_linear.add_issue("ENG", "Slow dashboard")
    fake_linear.add_comment(other.identifier, "also the login is slow", author=LINEAR_LOGIN)
    query = (
        "query($term: String!, $comments: Boolean) { searchIssues(term: $term, includeComments: $comments) "
        "{ totalCount nodes { identifier } } }"
    )

    by_words = data_of(post(query, {"term": "submit crashes"}))["searchIssues"]
    by_identifier = data_of(post(query, {"term": other.identifier}))["searchIssues"]
    with_comments = data_of(post(query, {"term": "login", "comments": True}))["searchIssues"]

    assert by_words == {"totalCount": 1, "nodes": [{"identifier": login.identifier}]}
    assert by_identifier["nodes"] == [{"identifier": other.identifier}]
    assert with_comments["totalCount"] == 2


def test_workflow_states_of_a_team_have_linear_types(post, eng):
    states = data_of(post('{ team(id: "ENG") { states { nodes { name type } } } }'))["team"]["states"]["nodes"]

    assert {(state["name"], state["type"]) for state in states} == {
        ("Backlog", "backlog"),
        ("Todo", "unstarted"),
        ("In Progress", "started"),
        ("Done", "completed"),
        ("Canceled", "canceled"),
    }


# -- writing ---------------------------------------------------------------------------------


def test_creating_an_issue_stores_markdown_priority_labels_and_assignee(post, fake_linear, eng):
    label = fake_linear.add_label("Bug", "ENG")
    workspace_label = fake_linear.add_label("Customer")
    viewer = fake_linear.users[LINEAR_LOGIN]
    variables = {"input": {
        "teamId": eng.id, "title": "Checkout fails", "description": "Steps:\n\n1. Pay\n2. **Boom**",
        "priority": 1, "labelIds": [label.id, workspace_label.id], "assigneeId": viewer.id,
    }}  # fmt: skip

    result = data_of(post(CREATE, variables))["issueCreate"]

    assert result == {"success": True, "issue": {"identifier": "ENG-1"}}
    stored = fake_linear.issue("ENG-1")
    assert stored.description == "Steps:\n\n1. Pay\n2. **Boom**"
    assert stored.priority_label == "Urgent"
    assert {label.name for label in stored.label_list} == {"Bug", "Customer"}
    assert stored.assignee is viewer
    assert stored.creator is viewer
    assert stored.state.type == "unstarted"


@pytest.mark.parametrize(
    ("changes", "presentable"),
    [
        ({"priority": 5}, "priority must be between 0 and 4"),
        ({"title": " "}, "title must not be empty"),
        ({"assigneeId": "no-such-user"}, "Could not find referenced User."),
    ],
    ids=["priority out of range", "blank title", "unknown assignee"],
)
def test_invalid_input_is_an_error_and_creates_nothing(post, fake_linear, eng, changes, presentable):
    response = post(CREATE, {"input": {"teamId": eng.id, "title": "Valid", **changes}})

    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["type"] == "invalid input"
    assert error["extensions"]["userPresentableMessage"] == presentable
    assert fake_linear.issues == []


def test_a_label_of_another_team_is_refused(post, fake_linear, eng):
    fake_linear.add_team("OPS")
    ops_label = fake_linear.add_label("Infra", "OPS")

    response = post(CREATE, {"input": {"teamId": eng.id, "title": "x", "labelIds": [ops_label.id]}})

    assert response.json()["errors"][0]["extensions"]["type"] == "invalid input"
    assert fake_linear.issues == []


def test_a_read_only_key_may_not_create_issues(post, fake_linear, eng):
    fake_linear.add_api_key(LINEAR_LOGIN, "lin_api_readonly", scopes=["read"])

    response = post(CREATE, {"input": {"teamId": eng.id, "title": "x"}}, authorization="lin_api_readonly")

    error = response.json()["errors"][0]
    assert error["extensions"]["type"] == "forbidden"
    assert error["message"] == "Invalid scope: `issues:create` required"
    assert fake_linear.issues == []


def test_moving_an_issue_to_a_workflow_state_is_an_update_of_its_state_id(post, fake_linear, eng):
    issue = fake_linear.add_issue("ENG", "Broken")
    done = next(state for state in fake_linear.team_states(eng) if state.type == "completed")
    query = (
        "mutation($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) "
        "{ success issue { state { name } } } }"
    )

    result = data_of(post(query, {"id": issue.identifier, "input": {"stateId": done.id}}))["issueUpdate"]

    assert result == {"success": True, "issue": {"state": {"name": "Done"}}}
    assert fake_linear.issue(issue.identifier).state is done


def test_completing_or_canceling_an_issue_dates_it_and_reopening_clears_the_date(post, fake_linear, eng):
    issue = fake_linear.add_issue("ENG", "Broken")
    states = {state.type: state for state in fake_linear.team_states(eng)}
    query = (
        "mutation($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) "
        "{ issue { updatedAt completedAt canceledAt } } }"
    )

    def move(kind):
        variables = {"id": issue.identifier, "input": {"stateId": states[kind].id}}
        return data_of(post(query, variables))["issueUpdate"]["issue"]

    completed = move("completed")
    assert (completed["completedAt"], completed["canceledAt"]) == (completed["updatedAt"], None)
    canceled = move("canceled")
    assert (canceled["completedAt"], canceled["canceledAt"]) == (None, canceled["updatedAt"])
    reopened = move("started")
    assert (reopened["completedAt"], reopened["canceledAt"]) == (None, None)


def test_adding_a_comment_answers_it(post, fake_linear, eng):
    issue = fake_linear.add_issue("ENG", "Broken")
    query = "mutation($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { id body } } }"

    result = data_of(post(query, {"input": {"issueId": issue.id, "body": "Seen in **CI**"}}))["commentCreate"]

    assert result["success"] is True
    assert result["comment"]["body"] == "Seen in **CI**"
    assert [comment.id for comment in issue.comment_list] == [result["comment"]["id"]]


def test_issues_filter_by_labels_some_and_every_and_by_project_and_cycle(post, fake_linear, eng):
    fake_linear.add_label("requirement")
    fake_linear.add_label("Bug", "ENG")
    fake_linear.add_project("Checkout", ["ENG"])
    fake_linear.add_cycle("ENG", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC), name="Polish")
    both = fake_linear.add_issue("ENG", "Both", labels=["requirement", "Bug"], project="Checkout")
    bug = fake_linear.add_issue("ENG", "Bug only", labels=["Bug"], cycle=1)
    fake_linear.add_issue("ENG", "Neither")
    query = "query($filter: IssueFilter) { issues(filter: $filter) { nodes { title } } }"

    def titles(condition):
        return sorted(node["title"] for node in data_of(post(query, {"filter": condition}))["issues"]["nodes"])

    assert titles({"labels": {"some": {"name": {"eqIgnoreCase": "bug"}}}}) == [both.title, bug.title]
    assert titles({"labels": {"every": {"name": {"eq": "Bug"}}}}) == [bug.title, "Neither"]  # vacuously
    assert titles({"project": {"name": {"eq": "Checkout"}}}) == [both.title]
    assert titles({"cycle": {"number": {"eq": 1}}}) == titles({"cycle": {"name": {"eqIgnoreCase": "polish"}}})
    assert titles({"cycle": {"number": {"eq": 1}}}) == [bug.title]


def test_an_issue_reads_its_cycle_project_due_date_and_estimate(post, fake_linear, eng):
    fake_linear.add_project("Checkout", ["ENG"], target_date="2025-06-30")
    fake_linear.add_cycle("ENG", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
    issue = fake_linear.add_issue("ENG", "Pay", project="Checkout", cycle=1, due_date="2025-05-15", estimate=3)
    query = """query($id: String!) { issue(id: $id) { dueDate estimate trashed archivedAt
               cycle { name number endsAt } project { name targetDate } } }"""

    answer = data_of(post(query, {"id": issue.identifier}))["issue"]

    assert answer == {
        "dueDate": "2025-05-15",
        "estimate": 3.0,
        "trashed": None,
        "archivedAt": None,
        "cycle": {"name": None, "number": 1.0, "endsAt": "2025-03-17T00:00:00.000Z"},
        "project": {"name": "Checkout", "targetDate": "2025-06-30"},
    }


def test_trashed_and_archived_issues_are_left_out_unless_archived_ones_are_asked_for(post, fake_linear, eng):
    fake_linear.add_issue("ENG", "Open")
    trashed = fake_linear.add_issue("ENG", "Deleted")
    archived = fake_linear.add_issue("ENG", "Archived")
    purged = fake_linear.add_issue("ENG", "Deleted for good")
    fake_linear.delete_issue(trashed.identifier)
    fake_linear.archive_issue(archived.identifier)
    fake_linear.delete_issue(purged.identifier, permanently=True)
    query = "query($all: Boolean) { issues(includeArchived: $all) { nodes { title trashed } } }"

    listed = data_of(post(query))["issues"]["nodes"]
    everything = data_of(post(query, {"all": True}))["issues"]["nodes"]
    by_id = data_of(post(f'{{ issue(id: "{trashed.identifier}") {{ trashed archivedAt }} }}'))["issue"]

    assert listed == [{"title": "Open", "trashed": None}]
    assert sorted((node["title"], node["trashed"]) for node in everything) == [
        ("Archived", None),
        ("Deleted", True),
        ("Open", None),
    ]
    assert by_id["trashed"] is True and by_id["archivedAt"].endswith("Z")


def test_cycles_and_projects_are_those_of_teams_the_account_sees(post, fake_linear, eng):
    fake_linear.add_team("SEC", private=True)
    fake_linear.add_cycle("ENG", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC), completed=True)
    fake_linear.add_cycle("SEC", datetime(2025, 3, 3, tzinfo=UTC), datetime(2025, 3, 17, tzinfo=UTC))
    fake_linear.add_project("Checkout", ["ENG"], start_date="2025-04-01", canceled=True)
    fake_linear.add_project("Audit", ["SEC"])
    cycles = "{ cycles { nodes { number startsAt completedAt team { key } } } }"
    projects = """query($team: ID) { projects(filter: {accessibleTeams: {some: {id: {eq: $team}}}}) {
                  nodes { name startDate targetDate completedAt canceledAt } } }"""

    [cycle] = data_of(post(cycles))["cycles"]["nodes"]
    [project] = data_of(post(projects, {"team": eng.id}))["projects"]["nodes"]

    assert cycle == {
        "number": 1.0,
        "startsAt": "2025-03-03T00:00:00.000Z",
        "completedAt": "2025-03-17T00:00:00.000Z",
        "team": {"key": "ENG"},
    }
    assert (project["name"], project["startDate"], project["targetDate"], project["completedAt"]) == (
        "Checkout",
        "2025-04-01",
        None,
        None,
    )
    assert project["canceledAt"].endswith("Z")


UPDATE_COMMENT = """mutation($id: String!, $input: CommentUpdateInput!) {
  commentUpdate(id: $id, input: $input) { success comment { id body editedAt } } }"""


def test_editing_an_own_comment_changes_it_in_place(post, fake_linear, eng):
    issue = fake_linear.add_issue("ENG", "Broken")
    comment = fake_linear.add_comment(issue.identifier, "Seen once", author=LINEAR_LOGIN)

    result = data_of(post(UPDATE_COMMENT, {"id": comment.id, "input": {"body": "Seen **twice**"}}))["commentUpdate"]

    assert result["success"] is True
    assert (result["comment"]["id"], result["comment"]["body"]) == (comment.id, "Seen **twice**")
    assert result["comment"]["editedAt"].endswith("Z")
    assert [c.body for c in issue.comment_list] == ["Seen **twice**"]


def test_editing_a_deleted_or_someone_elses_comment_is_refused(post, fake_linear, eng):
    issue = fake_linear.add_issue("ENG", "Broken")
    fake_linear.add_user("someone@example.com", "Someone Else")
    theirs = fake_linear.add_comment(issue.identifier, "Mine", author="someone@example.com")
    gone = fake_linear.add_comment(issue.identifier, "Soon gone", author=LINEAR_LOGIN)
    fake_linear.delete_comment(issue.identifier, gone.id)

    missing = post(UPDATE_COMMENT, {"id": gone.id, "input": {"body": "Edited"}}).json()
    forbidden = post(UPDATE_COMMENT, {"id": theirs.id, "input": {"body": "Edited"}}).json()

    assert missing["errors"][0]["message"] == "Entity not found: Comment"
    assert forbidden["errors"][0]["extensions"]["type"] == "forbidden"
    assert theirs.body == "Mine"


# -- rate limits -----------------------------------------------------------------------------


@pytest.mark.parametrize("budget", ["requests", "complexity"])
def test_an_exhausted_budget_answers_a_ratelimited_error_with_its_reset(post, fake_linear, budget):
    fake_linear.rate_limit_next(budget=budget, reset_in=120)

    limited = post("{ viewer { id } }")
    after = post("{ viewer { id } }")

    assert limited.status_code == 400
    error = limited.json()["errors"][0]
    assert error["extensions"]["code"] == "RATELIMITED"
    assert error["extensions"]["type"] == "ratelimited"
    header = f"X-RateLimit-{budget.title()}"
    assert limited.headers[f"{header}-Remaining"] == "0"
    assert int(limited.headers[f"{header}-Reset"]) / 1000 > time.time() + 60
    assert after.status_code == 200


def test_an_update_delivery_after_a_team_move_has_the_new_identifier_the_same_id_and_the_previous_values(
    fake_linear, eng
):
    fake_linear.add_team("OPS")
    issue = fake_linear.add_issue("ENG", "Checkout fails")
    team, number, state, updated = issue.team.id, issue.number, issue.state.id, issue.updated_at

    fake_linear.move_issue("ENG-1", "OPS")
    payload = fake_linear.issue_delivery("OPS-1", secret="s").json()

    assert (payload["action"], payload["data"]["id"], payload["data"]["identifier"]) == ("update", issue.id, "OPS-1")
    assert payload["data"]["team"]["key"] == "OPS"
    assert payload["updatedFrom"] == {
        "teamId": team,
        "number": number,
        "stateId": state,
        "updatedAt": updated.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


# -- file uploads ----------------------------------------------------------------------------------

FILE_UPLOAD = """mutation($contentType: String!, $filename: String!, $size: Int!) {
  fileUpload(contentType: $contentType, filename: $filename, size: $size) {
    success uploadFile { uploadUrl assetUrl headers { key value } }
  }
}"""


ATTACHMENT_CREATE = """mutation($input: AttachmentCreateInput!) {
  attachmentCreate(input: $input) { success attachment { id } }
}"""


def signed_upload(post, content=b"Traceback"):
    variables = {"contentType": "text/plain", "filename": "trace.log", "size": len(content)}
    upload = data_of(post(FILE_UPLOAD, variables))["fileUpload"]["uploadFile"]
    return upload, {header["key"]: header["value"] for header in upload["headers"]}


def test_a_file_goes_to_the_signed_url_on_another_host_with_the_headers_given(fake_linear, post):
    upload, headers = signed_upload(post)

    assert not upload["uploadUrl"].startswith(fake_linear.base_url)  # storage is another host
    response = requests.put(upload["uploadUrl"], data=b"Traceback", headers=headers)

    assert response.status_code == 200
    stored = fake_linear.stored_files[upload["assetUrl"]]
    assert (stored["filename"], stored["content"]) == ("trace.log", b"Traceback")


def test_the_signed_url_refuses_missing_headers_another_size_and_credentials(fake_linear, post):
    upload, headers = signed_upload(post)

    unsigned = requests.put(upload["uploadUrl"], data=b"Traceback")
    resized = requests.put(upload["uploadUrl"], data=b"Trace", headers=headers)
    credentialed = requests.put(
        upload["uploadUrl"], data=b"Traceback", headers={**headers, "Authorization": LINEAR_API_KEY}
    )

    assert (unsigned.status_code, resized.status_code, credentialed.status_code) == (403, 403, 400)
    assert fake_linear.stored_files == {}


def test_an_uploaded_file_becomes_an_attachment_of_an_issue(fake_linear, post, eng):
    issue = fake_linear.add_issue("ENG", "Checkout fails")
    upload, headers = signed_upload(post)
    requests.put(upload["uploadUrl"], data=b"Traceback", headers=headers)

    answer = data_of(
        post(
            ATTACHMENT_CREATE,
            {"input": {"issueId": issue.identifier, "title": "trace.log", "url": upload["assetUrl"]}},
        )
    )

    assert answer["attachmentCreate"]["success"] is True
    assert [(a["issue"], a["title"], a["url"]) for a in fake_linear.attachments] == [
        (issue, "trace.log", upload["assetUrl"])
    ]
