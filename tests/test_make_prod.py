"""What `make prod` does (scripts/prod.sh): without DATABASE_URL and REDIS_URL it starts its own
PostgreSQL and Redis, prepares the database and static files, serves with gunicorn and a Celery
worker until Ctrl-C, and then stops everything it started."""

import os
import signal
import socket
import subprocess

import requests

from tests.support.processes import ROOT
from tests.support.prod_stack import answers, deployment, eventually

SECRET_KEY = "a-local-production-like-secret-key-of-fifty-characters-or-more"


def refuses_connections(port: str) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", int(port))) != 0


def test_serves_on_its_own_services_until_ctrl_c_then_stops_all_of_them():
    with deployment(SECRET_KEY=SECRET_KEY, DEBUG="false", WEB_WORKERS="2") as (folder, env):
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        base_url = f"http://{env['BIND']}"
        with open(folder / "prod.log", "w") as log:
            # Its own session: Ctrl-C in a terminal reaches the whole foreground process group.
            prod = subprocess.Popen(
                ["scripts/prod.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                eventually(lambda: answers(f"{base_url}/healthz") or prod.poll() is not None, "serving")
                assert prod.poll() is None, (folder / "prod.log").read_text()
                assert requests.get(f"{base_url}/accounts/login/", timeout=10).status_code == 200
                stylesheet = requests.get(f"{base_url}/static/admin/css/base.css", timeout=10)
                assert stylesheet.status_code == 200 and stylesheet.headers["Content-Type"].startswith("text/css")

                os.killpg(prod.pid, signal.SIGINT)
                assert prod.wait(timeout=120) == 0
            finally:
                if prod.poll() is None:
                    os.killpg(prod.pid, signal.SIGKILL)
                    prod.wait()
        output = (folder / "prod.log").read_text()
        assert "[prod] stopped" in output and "[prod-services] stopped" in output, output
        for port in (env["BIND"].rsplit(":", 1)[1], env["PROD_PG_PORT"], env["PROD_REDIS_PORT"]):
            assert refuses_connections(port), f"port {port} still answers after Ctrl-C"
        assert (folder / "services" / "pg" / "PG_VERSION").exists(), "the database is kept for the next run"
