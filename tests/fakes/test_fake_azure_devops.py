"""The fake Azure DevOps answers as the documented REST API 7.1 does.

These tests talk to the fake over real HTTP with plain `requests`, so what they pin is the wire
behaviour the project's own client will meet.
"""

import pytest
import requests

from tests.fakes.azure_devops import AzureDevOpsFake
from tests.fakes.fixtures import ADO_LOGIN, ADO_OAUTH_TOKEN, ADO_PAT

API = {"api-version": "7.1"}
PREVIEW = {"api-version": "7.1-preview.4"}
PATCH = {"Content-Type": "application/json-patch+json"}


class OrgSession(requests.Session):
    """A session whose request paths are relative to one organization's URL."""

    def __init__(self, base_url):
        super().__init__()
        self.base_url = base_url
        self.headers["X-TFS-FedAuthRedirect"] = "Suppress"

    def request(self, method, path, *args, **kwargs):
        return super().request(method, self.base_url + path, *args, **kwargs)


@pytest.fixture
def ado(fake_azure_devops):
    session = OrgSession(fake_azure_devops.base_url)
    session.auth = ("", ADO_PAT)
    return session


@pytest.fixture
def fabrikam(fake_azure_devops):
    return fake_azure_devops.add_project("Fabrikam", areas=["Web"], iterations=["Sprint 1"])


def title_patch(title="Checkout fails", **fields):
    document = [{"op": "add", "path": "/fields/System.Title", "value": title}]
    return document + [{"op": "add", "path": f"/fields/{name}", "value": value} for name, value in fields.items()]


def ids_of(response):
    return [item["id"] for item in response.json()["workItems"]]


# -- authentication and the organization -------------------------------------------------------


@pytest.mark.parametrize("user", ["", "anything"])
def test_a_personal_access_token_is_the_basic_password_whatever_the_user_name(fake_azure_devops, user):
    response = requests.get(
        fake_azure_devops.base_url + "/_apis/connectionData",
        params=API,
        auth=(user, ADO_PAT),
    )

    assert response.status_code == 200
    assert response.json()["authenticatedUser"]["properties"]["Account"]["$value"] == ADO_LOGIN
    assert response.json()["deploymentType"] == "hosted"


def test_an_oauth_access_token_is_sent_as_bearer(fake_azure_devops):
    response = requests.get(
        fake_azure_devops.base_url + "/_apis/connectionData",
        params=API,
        headers={"Authorization": f"Bearer {ADO_OAUTH_TOKEN}"},
    )

    assert response.json()["authenticatedUser"]["providerDisplayName"] == "Automation"


def test_a_wrong_token_is_refused_with_401_when_the_sign_in_redirect_is_suppressed(ado):
    ado.auth = ("", "not-the-token")
    response = ado.get("/_apis/connectionData", params=API)

    assert response.status_code == 401
    assert response.json()["message"].startswith("TF400813")


def test_without_suppressing_the_redirect_a_sign_in_page_answers_with_203(fake_azure_devops):
    response = requests.get(fake_azure_devops.base_url + "/_apis/connectionData", params=API)

    assert response.status_code == 203
    assert response.headers["Content-Type"].startswith("text/html")


def test_every_request_needs_an_api_version(ado):
    response = ado.get("/_apis/projects")

    assert response.status_code == 400
    assert response.json()["typeKey"] == "VssVersionNotSpecifiedException"


def test_an_azure_devops_server_collection_lives_under_its_path():
    fake = AzureDevOpsFake("/tfs/DefaultCollection", deployment_type="onPremises")
    fake.add_personal_access_token("CONTOSO\\builder", "server-token")
    with fake:
        base_url = fake.base_url
        response = requests.get(base_url + "/_apis/connectionData", params=API, auth=("", "server-token"))
        outside = requests.get(base_url.removesuffix("/tfs/DefaultCollection") + "/_apis/connectionData")

    assert base_url.endswith("/tfs/DefaultCollection")
    assert response.json()["deploymentType"] == "onPremises"
    assert outside.status_code == 404


def test_projects_come_in_pages_linked_by_the_continuation_token_header(fake_azure_devops, ado):
    for name in ("Alpha", "Beta", "Gamma"):
        fake_azure_devops.add_project(name)

    first = ado.get("/_apis/projects", params={**API, "$top": 2})
    second = ado.get(
        "/_apis/projects", params={**API, "$top": 2, "continuationToken": first.headers["x-ms-continuationtoken"]}
    )

    assert [project["name"] for project in first.json()["value"]] == ["Alpha", "Beta"]
    assert first.json()["count"] == 2
    assert [project["name"] for project in second.json()["value"]] == ["Gamma"]
    assert "x-ms-continuationtoken" not in second.headers


def test_a_project_the_account_is_no_member_of_does_not_exist_for_it(fake_azure_devops, ado, fabrikam):
    fake_azure_devops.set_access("Fabrikam", ADO_LOGIN, None)

    listed = ado.get("/_apis/projects", params=API).json()["value"]
    types = ado.get("/Fabrikam/_apis/wit/workitemtypes", params=API)

    assert listed == []
    assert types.status_code == 404
    assert types.json()["message"].startswith("TF200016: The following project does not exist: Fabrikam.")


# -- work item types and fields --------------------------------------------------------------


def test_work_item_types_list_their_states_with_categories(ado, fabrikam):
    types = {t["name"]: t for t in ado.get("/Fabrikam/_apis/wit/workitemtypes", params=API).json()["value"]}
    states = ado.get("/Fabrikam/_apis/wit/workitemtypes/Bug/states", params=API).json()["value"]

    assert set(types) == {"Bug", "Task", "User Story", "Test Case"}
    assert [(s["name"], s["category"]) for s in states] == [
        ("New", "Proposed"),
        ("Active", "InProgress"),
        ("Resolved", "Resolved"),
        ("Closed", "Completed"),
    ]
    assert types["Bug"]["states"] == states


def test_type_fields_carry_required_flags_and_allowed_values_only_when_expanded(ado, fake_azure_devops, fabrikam):
    fake_azure_devops.add_field(
        "Fabrikam", "Bug", "Custom.Browser", "Browser", required=True, allowed_values=["Firefox", "Chrome"]
    )
    url = "/Fabrikam/_apis/wit/workitemtypes/Bug/fields"

    plain = {f["referenceName"]: f for f in ado.get(url, params=API).json()["value"]}
    expanded = {f["referenceName"]: f for f in ado.get(url, params={**API, "$expand": "All"}).json()["value"]}

    assert plain["Custom.Browser"]["alwaysRequired"] is True
    assert "allowedValues" not in plain["Custom.Browser"]
    assert expanded["Custom.Browser"]["allowedValues"] == ["Firefox", "Chrome"]
    assert expanded["Microsoft.VSTS.Common.Priority"]["allowedValues"] == [1, 2, 3, 4]
    assert expanded["Microsoft.VSTS.Common.Priority"]["defaultValue"] == 2
    assert expanded["System.Title"]["alwaysRequired"] is True


def test_the_field_list_says_each_fields_type(ado, fabrikam):
    fields = {f["referenceName"]: f for f in ado.get("/Fabrikam/_apis/wit/fields", params=API).json()["value"]}

    assert fields["System.AssignedTo"]["type"] == "identity"
    assert fields["System.AssignedTo"]["isIdentity"] is True
    assert fields["System.Description"]["type"] == "html"
    assert fields["System.AreaPath"]["type"] == "treePath"


def test_an_unknown_work_item_type_is_404(ado, fabrikam):
    response = ado.get("/Fabrikam/_apis/wit/workitemtypes/Epic/fields", params=API)

    assert response.status_code == 404
    assert response.json()["message"].startswith("TF201036")


# -- WIQL ------------------------------------------------------------------------------------


def test_wiql_answers_ids_only_in_the_requested_order(ado, fake_azure_devops, fabrikam):
    first = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Login page crashes", Microsoft_VSTS_Common_Priority=3)
    second = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Login is slow", Microsoft_VSTS_Common_Priority=1)
    fake_azure_devops.add_work_item("Fabrikam", "Task", "Write docs")
    query = (
        "SELECT [System.Id], [System.Title] FROM WorkItems WHERE [System.TeamProject] = @project "
        "AND [System.Title] CONTAINS 'login' ORDER BY [Microsoft.VSTS.Common.Priority] ASC"
    )

    response = ado.post("/Fabrikam/_apis/wit/wiql", params=API, json={"query": query})

    assert ids_of(response) == [second.id, first.id]
    body = response.json()
    assert body["queryType"] == "flat"
    assert [column["referenceName"] for column in body["columns"]] == ["System.Id", "System.Title"]
    assert set(body["workItems"][0]) == {"id", "url"}


def test_wiql_supports_or_parentheses_in_and_contains_words(ado, fake_azure_devops, fabrikam):
    cart = fake_azure_devops.add_work_item(
        "Fabrikam", "Bug", "Cart", System_Description="<p>Totals are <b>wrong</b></p>"
    )
    task = fake_azure_devops.add_work_item("Fabrikam", "Task", "Deploy", state="Active")
    fake_azure_devops.add_work_item("Fabrikam", "Task", "Plan")
    query = (
        "SELECT [System.Id] FROM WorkItems WHERE ([System.Description] CONTAINS WORDS 'wrong' "
        "OR [System.State] IN ('Active', 'Resolved')) AND [System.WorkItemType] <> 'Epic' ORDER BY [System.Id]"
    )

    response = ado.post("/_apis/wit/wiql", params=API, json={"query": query})

    assert ids_of(response) == [cart.id, task.id]


def test_wiql_top_caps_the_result(ado, fake_azure_devops, fabrikam):
    for number in range(5):
        fake_azure_devops.add_work_item("Fabrikam", "Task", f"Task {number}")

    response = ado.post(
        "/_apis/wit/wiql", params={**API, "$top": 2}, json={"query": "SELECT [System.Id] FROM WorkItems"}
    )

    assert len(ids_of(response)) == 2


def test_wiql_leaves_out_work_items_of_projects_the_account_cannot_see(ado, fake_azure_devops, fabrikam):
    fake_azure_devops.add_project("Secret")
    fake_azure_devops.add_work_item("Secret", "Bug", "Hidden")
    fake_azure_devops.set_access("Secret", ADO_LOGIN, None)
    visible = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Shown")

    response = ado.post("/_apis/wit/wiql", params=API, json={"query": "SELECT [System.Id] FROM WorkItems"})

    assert ids_of(response) == [visible.id]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT [System.Id] FROM WorkItems WHERE [System.Nope] = 1", "TF51005"),
        ("SELECT [System.Id] WHERE [System.Title] = 'x'", "TF51006"),
        ("SELECT [System.Id] FROM WorkItems WHERE [System.Title] = ", "Expecting a value"),
    ],
    ids=["unknown field", "missing FROM", "missing value"],
)
def test_wiql_refuses_what_azure_devops_refuses(ado, fabrikam, query, message):
    response = ado.post("/_apis/wit/wiql", params=API, json={"query": query})

    assert response.status_code == 400
    assert message in response.json()["message"]


# -- reading work items ----------------------------------------------------------------------


def test_the_batch_answers_the_requested_fields_with_identities_as_objects(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken", assigned_to=ADO_LOGIN, state="Active")
    fields = ["System.Id", "System.Title", "System.State", "System.AssignedTo", "System.Tags"]

    response = ado.post("/Fabrikam/_apis/wit/workitemsbatch", params=API, json={"ids": [item.id], "fields": fields})

    (answer,) = response.json()["value"]
    assert answer["id"] == item.id
    assert answer["fields"]["System.State"] == "Active"
    assert answer["fields"]["System.AssignedTo"]["uniqueName"] == ADO_LOGIN
    assert "System.Tags" not in answer["fields"]  # no value, no key


def test_the_batch_takes_at_most_200_ids(ado, fabrikam):
    response = ado.post("/_apis/wit/workitemsbatch", params=API, json={"ids": list(range(1, 202))})

    assert response.status_code == 400
    assert "exceeds the limit of 200" in response.json()["message"]


def test_a_missing_id_fails_the_batch_unless_the_error_policy_omits_it(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Here")

    failed = ado.post("/_apis/wit/workitemsbatch", params=API, json={"ids": [item.id, 999]})
    omitted = ado.post("/_apis/wit/workitemsbatch", params=API, json={"ids": [item.id, 999], "errorPolicy": "Omit"})

    assert failed.status_code == 404
    assert failed.json()["message"].startswith("TF401232: Work item 999 does not exist")
    assert [value and value["id"] for value in omitted.json()["value"]] == [item.id, None]


def test_fields_and_expand_cannot_be_combined(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Here")

    response = ado.post(
        "/_apis/wit/workitemsbatch",
        params=API,
        json={"ids": [item.id], "fields": ["System.Title"], "$expand": "Relations"},
    )

    assert response.status_code == 400


# -- creating and updating -------------------------------------------------------------------


def test_creating_takes_a_json_patch_document_and_answers_the_new_work_item(ado, fake_azure_devops, fabrikam):
    document = title_patch(
        "Checkout fails",
        **{
            "System.Description": "<p>Steps</p>",
            "System.AreaPath": "Fabrikam\\Web",
            "System.IterationPath": "Fabrikam\\Sprint 1",
            "System.Tags": "checkout; regression",
            "System.AssignedTo": ADO_LOGIN,
            "Microsoft.VSTS.Common.Priority": 1,
            "Microsoft.VSTS.Common.Severity": "2 - High",
        },
    )

    response = ado.post("/Fabrikam/_apis/wit/workitems/$Bug", params=API, json=document, headers=PATCH)

    assert response.status_code == 200
    created = response.json()
    stored = fake_azure_devops.work_item(created["id"])
    assert stored.fields["System.AreaPath"] == "Fabrikam\\Web"
    assert stored.fields["Microsoft.VSTS.Common.Priority"] == 1
    assert created["fields"]["System.State"] == "New"
    assert created["fields"]["System.AssignedTo"]["uniqueName"] == ADO_LOGIN
    assert created["fields"]["System.CreatedBy"]["uniqueName"] == ADO_LOGIN


def test_creating_with_plain_json_is_refused_as_an_unsupported_media_type(ado, fake_azure_devops, fabrikam):
    response = ado.post("/Fabrikam/_apis/wit/workitems/$Bug", params=API, json=title_patch())

    assert response.status_code == 415
    assert "application/json-patch+json" in response.json()["message"]
    assert fake_azure_devops.work_items == {}


def test_a_malformed_patch_document_is_refused_and_nothing_is_created(ado, fake_azure_devops, fabrikam):
    response = ado.post(
        "/Fabrikam/_apis/wit/workitems/$Bug", params=API, data=b'[{"op": "add", "path": ', headers=PATCH
    )

    assert response.status_code == 400
    assert response.json()["message"] == "You must pass a valid patch document in the body of the request."
    assert fake_azure_devops.work_items == {}


@pytest.mark.parametrize(
    ("document", "message", "field"),
    [
        (title_patch(""), "TF401320: Rule Error for field Title. Error code: Required, InvalidEmpty.", "System.Title"),
        (
            title_patch(**{"Microsoft.VSTS.Common.Priority": 7}),
            "TF401320: Rule Error for field Priority. Error code: HasValues, LimitedToValues, InvalidListValue.",
            "Microsoft.VSTS.Common.Priority",
        ),
        (title_patch(**{"Custom.Nope": "x"}), "TF51535: Cannot find field Custom.Nope.", None),
        (title_patch(**{"System.AreaPath": "Fabrikam\\Mobile"}), "TF401347", None),
    ],
    ids=["empty title", "priority out of range", "unknown field", "unknown area"],
)
def test_invalid_values_are_refused_with_the_rule_that_failed(
    ado, fake_azure_devops, fabrikam, document, message, field
):
    response = ado.post("/Fabrikam/_apis/wit/workitems/$Bug", params=API, json=document, headers=PATCH)

    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    if field:
        assert response.json()["customProperties"]["FieldReferenceName"] == field
    assert fake_azure_devops.work_items == {}


def test_validate_only_checks_without_saving(ado, fake_azure_devops, fabrikam):
    response = ado.post(
        "/Fabrikam/_apis/wit/workitems/$Bug", params={**API, "validateOnly": "true"}, json=title_patch(), headers=PATCH
    )

    assert response.status_code == 200
    assert fake_azure_devops.work_items == {}


def test_a_reader_may_not_create_work_items(ado, fake_azure_devops, fabrikam):
    fake_azure_devops.set_access("Fabrikam", ADO_LOGIN, "read")

    response = ado.post("/Fabrikam/_apis/wit/workitems/$Bug", params=API, json=title_patch(), headers=PATCH)

    assert response.status_code == 403
    assert response.json()["message"].startswith("TF237111")
    assert fake_azure_devops.work_items == {}


def test_a_state_change_is_an_update_of_the_state_field(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")
    document = [{"op": "add", "path": "/fields/System.State", "value": "Resolved"}]

    response = ado.patch(f"/_apis/wit/workitems/{item.id}", params=API, json=document, headers=PATCH)

    assert response.status_code == 200
    assert response.json()["fields"]["System.State"] == "Resolved"
    assert response.json()["rev"] == 2


def test_resolving_closing_and_reactivating_set_and_clear_the_state_dates(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")
    dates = ("Microsoft.VSTS.Common.ResolvedDate", "Microsoft.VSTS.Common.ClosedDate")

    def move(state):
        document = [{"op": "add", "path": "/fields/System.State", "value": state}]
        fields = ado.patch(f"/_apis/wit/workitems/{item.id}", params=API, json=document, headers=PATCH).json()["fields"]
        return [fields.get(name) for name in dates], fields["System.ChangedDate"]

    (resolved, closed), changed = move("Resolved")
    assert (resolved, closed) == (changed, None)
    (kept, closed), changed = move("Closed")
    assert (kept, closed) == (resolved, changed)
    assert move("Active")[0] == [None, None]  # fields without a value are left out of the answer


def test_a_state_the_type_does_not_have_is_refused(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")
    document = [{"op": "add", "path": "/fields/System.State", "value": "Removed"}]  # Tasks have it, Bugs not

    response = ado.patch(f"/_apis/wit/workitems/{item.id}", params=API, json=document, headers=PATCH)

    assert response.status_code == 400
    assert response.json()["customProperties"]["FieldReferenceName"] == "System.State"
    assert fake_azure_devops.work_item(item.id).fields["System.State"] == "New"


# -- comments --------------------------------------------------------------------------------


def test_comments_need_the_preview_api_version(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")

    response = ado.post(f"/Fabrikam/_apis/wit/workItems/{item.id}/comments", params=API, json={"text": "Hi"})

    assert response.status_code == 400
    assert response.json()["typeKey"] == "VssInvalidPreviewVersionException"
    assert fake_azure_devops.work_item(item.id).comments == []


def test_adding_a_comment_answers_it_with_its_id_and_html_text(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")

    response = ado.post(
        f"/Fabrikam/_apis/wit/workItems/{item.id}/comments", params=PREVIEW, json={"text": "<p>Seen in <b>CI</b></p>"}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["workItemId"] == item.id
    assert body["text"] == "<p>Seen in <b>CI</b></p>"
    assert body["createdBy"]["uniqueName"] == ADO_LOGIN
    assert [comment.id for comment in fake_azure_devops.work_item(item.id).comments] == [body["id"]]


def test_an_empty_comment_is_refused(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")

    response = ado.post(f"/Fabrikam/_apis/wit/workItems/{item.id}/comments", params=PREVIEW, json={"text": " "})

    assert response.status_code == 400


def test_comments_come_newest_first_in_pages_with_a_continuation_token(ado, fake_azure_devops, fabrikam):
    item = fake_azure_devops.add_work_item("Fabrikam", "Bug", "Broken")
    for number in range(3):
        fake_azure_devops.add_comment(item.id, f"<p>comment {number}</p>", author=ADO_LOGIN)
    url = f"/Fabrikam/_apis/wit/workItems/{item.id}/comments"

    first = ado.get(url, params={**PREVIEW, "$top": 2}).json()
    second = ado.get(url, params={**PREVIEW, "$top": 2, "continuationToken": first["continuationToken"]}).json()

    assert [c["text"] for c in first["comments"]] == ["<p>comment 2</p>", "<p>comment 1</p>"]
    assert first["totalCount"] == 3
    assert "continuationToken=" in first["nextPage"]
    assert [c["text"] for c in second["comments"]] == ["<p>comment 0</p>"]
    assert "continuationToken" not in second


# -- rate limits -----------------------------------------------------------------------------


def test_a_blocked_request_answers_429_with_the_documented_headers(ado, fake_azure_devops):
    fake_azure_devops.rate_limit_next(retry_after=30)

    blocked = ado.get("/_apis/projects", params=API)
    after = ado.get("/_apis/projects", params=API)

    assert blocked.status_code == 429
    assert blocked.json()["message"].startswith("TF400733: The request has been canceled")
    assert blocked.headers["Retry-After"] == "30"
    assert blocked.headers["X-RateLimit-Remaining"] == "0"
    assert int(blocked.headers["X-RateLimit-Reset"]) > 1_000_000_000
    assert blocked.headers["X-RateLimit-Resource"]
    assert after.status_code == 200


# -- attachments ---------------------------------------------------------------------------------


def test_an_attachment_is_the_bytes_of_the_body_named_by_filename(ado, fake_azure_devops, fabrikam):
    response = ado.post(
        "/Fabrikam/_apis/wit/attachments",
        params={**API, "fileName": "trace.log"},
        data=b"Traceback",
        headers={"Content-Type": "application/octet-stream"},
    )

    assert response.status_code == 201
    reference = response.json()
    assert set(reference) == {"id", "url"}
    stored = fake_azure_devops.attachments[reference["url"]]
    assert (stored.id, stored.filename, stored.content) == (reference["id"], "trace.log", b"Traceback")


def test_an_attachment_without_a_name_or_sent_as_json_is_refused(ado, fake_azure_devops, fabrikam):
    unnamed = ado.post(
        "/Fabrikam/_apis/wit/attachments", params=API, data=b"x", headers={"Content-Type": "application/octet-stream"}
    )
    as_json = ado.post("/Fabrikam/_apis/wit/attachments", params={**API, "fileName": "a.json"}, json={"a": 1})

    assert (unnamed.status_code, as_json.status_code) == (400, 400)
    assert fake_azure_devops.attachments == {}


def test_an_attachedfile_relation_must_point_to_an_uploaded_attachment(ado, fake_azure_devops, fabrikam):
    created = ado.post("/Fabrikam/_apis/wit/workitems/$Bug", params=API, json=title_patch(), headers=PATCH).json()
    uploaded = ado.post(
        "/Fabrikam/_apis/wit/attachments",
        params={**API, "fileName": "a.log"},
        data=b"a",
        headers={"Content-Type": "application/octet-stream"},
    ).json()

    def attach(url):
        relation = {"rel": "AttachedFile", "url": url, "attributes": {"comment": "log"}}
        return ado.patch(
            f"/_apis/wit/workitems/{created['id']}",
            params=API,
            json=[{"op": "add", "path": "/relations/-", "value": relation}],
            headers=PATCH,
        )

    assert attach(f"{fake_azure_devops.base_url}/_apis/wit/attachments/unknown").status_code == 400
    assert attach(uploaded["url"]).status_code == 200
    relations = fake_azure_devops.work_items[created["id"]].relations
    assert [(r["rel"], r["url"]) for r in relations] == [("AttachedFile", uploaded["url"])]
