"""The HTTP server under every fake tracker: held answers (a request carried out, its answer kept back)."""

import threading

import pytest
import requests

from tests.fakes.server import FakeHTTPServer, json_response


@pytest.fixture
def server():
    server = FakeHTTPServer()
    created = []

    def create(request):
        created.append(request.json())
        return json_response(201, {"id": len(created)})

    server.add_route("POST", r"/items", create)
    server.add_route("GET", r"/items", lambda request: json_response(200, created))
    with server:
        yield server


def post_in_background(url, payload):
    """The request in a thread; its answer (or the error that ended it) lands in the list."""
    answers = []

    def post():
        try:
            answers.append(requests.post(url, json=payload, timeout=30))
        except requests.RequestException as error:
            answers.append(error)

    thread = threading.Thread(target=post)
    thread.start()
    return thread, answers


def test_a_held_request_is_carried_out_but_answered_only_once_released(server):
    held = server.hold_answers("POST", r"/items", after=1)
    assert requests.post(f"{server.base_url}/items", json={"n": 1}, timeout=5).json() == {"id": 1}

    thread, answers = post_in_background(f"{server.base_url}/items", {"n": 2})
    held.wait_until_held(timeout=10)
    listed = requests.get(f"{server.base_url}/items", timeout=5).json()  # other requests go on meanwhile
    assert listed == [{"n": 1}, {"n": 2}] and answers == []

    held.release()
    thread.join(timeout=10)
    assert [answer.json() for answer in answers] == [{"id": 2}]
    assert requests.post(f"{server.base_url}/items", json={"n": 3}, timeout=5).json() == {"id": 3}  # held once


def test_waiting_for_a_hold_that_never_comes_fails_with_the_request_named(server):
    held = server.hold_answers("POST", r"/items")
    with pytest.raises(AssertionError, match=r"0 of 1 answers to POST /items held after 0.1 s"):
        held.wait_until_held(timeout=0.1)


def test_stopping_the_server_lets_held_requests_end(server):
    held = server.hold_answers("POST", r"/items")
    thread, answers = post_in_background(f"{server.base_url}/items", {"n": 1})
    held.wait_until_held(timeout=10)
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(answers) == 1  # answered, or its connection closed
