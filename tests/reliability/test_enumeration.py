"""Cross-project enumeration of the pages: every route under /projects/<key>/, found by walking the
URL resolver so a new page is covered the day it is added, answers 404 to a project admin for another
project and for another project's objects, exactly as for a project or object that does not exist.
Nothing changes, whatever the method."""

import pytest

from .conftest import FOREIGN_ID, database_state, fill, project_routes

pytestmark = pytest.mark.django_db

ROUTES = project_routes()
MISSING_ID = 987654


def test_the_walk_finds_the_pages_of_every_app():
    names = {name for name, _ in ROUTES}
    assert {"projects:case", "issues:attachment", "integrations:edit", "imports:job"} <= names


def answers(client, path):
    return {method: getattr(client, method)(path).status_code for method in ("get", "post")}


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[name for name, _ in ROUTES])
def test_another_project_is_indistinguishable_from_a_missing_one(client, worlds, name, route):
    client.force_login(worlds.member)
    before = database_state()

    foreign = answers(client, fill(route, worlds.foreign.key, FOREIGN_ID))

    assert foreign == answers(client, fill(route, "NOSUCH", FOREIGN_ID))
    assert 404 in foreign.values() and set(foreign.values()) <= {404, 405}
    assert database_state() == before


@pytest.mark.parametrize(
    ("name", "route"),
    [(name, route) for name, route in ROUTES if "<int:" in route],
    ids=[name for name, route in ROUTES if "<int:" in route],
)
def test_another_projects_ids_under_ones_own_project_are_not_found(client, worlds, name, route):
    client.force_login(worlds.member)
    before = database_state()

    foreign = answers(client, fill(route, worlds.mine.key, FOREIGN_ID))

    assert foreign == answers(client, fill(route, worlds.mine.key, MISSING_ID))
    assert 404 in foreign.values() and set(foreign.values()) <= {404, 405}
    assert database_state() == before
