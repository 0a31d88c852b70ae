"""What the tracker HTTP client costs per request, against a local server.

    .venv/bin/python bench/http_client.py [requests]

Prints requests made and requests per second for a plain ``requests.Session`` and for
``TrackerHttpClient`` (address check, budget, body cap, logging), and how many requests
the client made for a tracker that answers 503 before every success.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testmanager.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402

from integrations.http import TrackerHttpClient  # noqa: E402
from integrations.ratelimit import LocalRequestBudget  # noqa: E402
from tests.support.scripted_server import Reply, ScriptedServer  # noqa: E402

BODY = b'{"key": "PROJ-1", "fields": {"summary": "Login fails", "status": {"name": "Open"}}}'


def per_second(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def main(count: int) -> None:
    server = ScriptedServer()
    server.script("/issue", Reply(200, {"Content-Type": "application/json"}, BODY))
    server.start()
    try:
        with requests.Session() as session:
            started = time.perf_counter()
            for _ in range(count):
                session.get(server.url("/issue")).json()
            print(f"requests.Session       {count:6d} requests  {per_second(count, started):8.0f} req/s")

        with TrackerHttpClient(
            server.base_url,
            allow_private_hosts=True,
            budget_key="bench",
            budget_per_minute=count * 10,
            budget=LocalRequestBudget(),
        ) as client:
            started = time.perf_counter()
            for _ in range(count):
                client.get("/issue").json()
            rate = per_second(count, started)
            print(f"TrackerHttpClient      {client.requests_made:6d} requests  {rate:8.0f} req/s")

        with TrackerHttpClient(server.base_url, allow_private_hosts=True, sleep=lambda seconds: None) as client:
            for _ in range(10):
                server.script("/flaky", Reply(503), Reply(200, {"Content-Type": "application/json"}, BODY))
                client.get("/flaky")
            print(f"503 before each of 10 answers: {client.requests_made} requests made")
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
