"""/api/requirements: requirements of the caller's projects; pulled ones keep the tracker's wording."""

import pytest

from projects.models import Requirement
from tests.factories import RequirementFactory

from .helpers import database_state

pytestmark = pytest.mark.django_db


def test_a_member_creates_a_requirement(world, client_as):
    response = client_as("member").post(
        "/api/requirements",
        {
            "project": "SHOP",
            "title": "Refunds within 14 days",
            "priority": "P1",
            "state": "active",
            "origin_key": "JIRA-1",
        },
        format="json",
    )
    assert response.status_code == 201
    requirement = Requirement.objects.get(pk=response.json()["id"])
    assert (requirement.title, requirement.priority, requirement.state) == ("Refunds within 14 days", "P1", "active")
    assert requirement.origin_key == ""  # set by tracker pulls only


@pytest.fixture
def pulled(world):
    return RequirementFactory(
        project=world.project,
        title="Checkout in one page",
        origin_tracker="Jira",
        origin_key="SHOP-7",
        origin_read_only=True,
    )


def test_a_pulled_requirements_title_belongs_to_the_tracker(client_as, pulled):
    before = database_state()
    response = client_as("member").patch(f"/api/requirements/{pulled.pk}", {"title": "Mine"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "title": ["Pulled from Jira (SHOP-7): the tracker owns the title while the integration is connected."]
    }
    assert database_state() == before


def test_a_pulled_requirements_state_and_priority_stay_editable(client_as, pulled):
    response = client_as("member").patch(
        f"/api/requirements/{pulled.pk}",
        {"state": "active", "priority": "P0", "title": "Checkout in one page"},
        format="json",
    )
    assert response.status_code == 200
    pulled.refresh_from_db()
    assert (pulled.state, pulled.priority) == ("active", "P0")


def test_requirements_are_filtered_and_searched(world, client_as):
    RequirementFactory(project=world.project, title="Refunds", state="active", priority="P0")
    RequirementFactory(project=world.project, title="Gift cards", state="draft", priority="P3")
    client = client_as("viewer")

    def titles(query):
        return [r["title"] for r in client.get(f"/api/requirements?{query}").json()["results"]]

    assert titles("state=active") == ["Refunds"]
    assert titles("search=gift") == ["Gift cards"]
    assert titles("priority=P3") == ["Gift cards"]
    bad = client.get("/api/requirements?priority=P9")
    assert bad.status_code == 400 and "priority" in bad.json()["errors"]


def test_a_requirement_is_deleted(world, client_as):
    assert client_as("member").delete(f"/api/requirements/{world.mine.requirement.pk}").status_code == 204
    assert not Requirement.objects.filter(pk=world.mine.requirement.pk).exists()
