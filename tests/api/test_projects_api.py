"""/api/projects: the projects a user can see, with their role; system admins create and delete them."""

import pytest

from projects.models import Project, Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

from .conftest import bearer_client
from .helpers import database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def system_admin():
    return bearer_client(UserFactory(username="root", is_superuser=True, is_staff=True))


def test_the_list_shows_each_project_with_the_callers_role(world, client_as):
    listed = client_as("viewer").get("/api/projects").json()
    assert listed["count"] == 1
    (shop,) = listed["results"]
    assert (shop["key"], shop["name"], shop["role"]) == ("SHOP", world.project.name, "viewer")


def test_lists_are_paginated_searchable_and_ordered():
    user = UserFactory()
    for key, name in (("ALPHA", "Checkout"), ("BETA", "Billing"), ("GAMMA", "Checkout v2")):
        MembershipFactory(user=user, project=ProjectFactory(key=key, name=name), role=Role.VIEWER)
    client = bearer_client(user)

    first_page = client.get("/api/projects?page_size=2&ordering=-key").json()
    assert [p["key"] for p in first_page["results"]] == ["GAMMA", "BETA"]
    assert first_page["count"] == 3
    assert [p["key"] for p in client.get(first_page["next"]).json()["results"]] == ["ALPHA"]
    assert [p["key"] for p in client.get("/api/projects?search=checkout").json()["results"]] == ["ALPHA", "GAMMA"]


def test_a_system_admin_creates_a_project(system_admin):
    response = system_admin.post("/api/projects", {"key": "PAY", "name": "Payments"}, format="json")
    assert response.status_code == 201
    assert response.json()["key"] == "PAY" and response.json()["role"] == "admin"
    assert Project.objects.filter(key="PAY", name="Payments").exists()


@pytest.mark.parametrize(
    "key, error",
    [
        ("pay", "2-10 characters: uppercase letters and digits, starting with a letter."),
        ("SHOP", "project with this key already exists."),
    ],
)
def test_a_bad_project_key_is_refused(world, system_admin, key, error):
    before = database_state()
    response = system_admin.post("/api/projects", {"key": key, "name": "Payments"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"message": f"key: {error}", "errors": {"key": [error]}}
    assert database_state() == before


def test_only_system_admins_create_projects(world, client_as):
    response = client_as("admin").post("/api/projects", {"key": "PAY", "name": "Payments"}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "Only system administrators create projects."


def test_a_project_admin_edits_the_project_but_not_its_key(world, client_as):
    client = client_as("admin")
    renamed = client.patch("/api/projects/SHOP", {"name": "Web shop", "key": "SHOP"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Web shop"

    rekeyed = client.patch("/api/projects/SHOP", {"key": "STORE"}, format="json")
    assert rekeyed.status_code == 400
    assert rekeyed.json()["errors"] == {"key": ["Can only be set on create."]}
    assert Project.objects.filter(key="SHOP", name="Web shop").exists()


def test_members_cannot_edit_the_project(world, client_as):
    response = client_as("member").patch("/api/projects/SHOP", {"name": "Mine now"}, format="json")
    assert response.status_code == 403
    assert response.json()["message"] == "Your role in SHOP does not allow this."


def test_a_system_admin_deletes_a_project_with_its_content(world, system_admin):
    assert system_admin.delete("/api/projects/SHOP").status_code == 204
    assert not Project.objects.filter(key="SHOP").exists()
    assert Project.objects.filter(key="BANK").exists()
