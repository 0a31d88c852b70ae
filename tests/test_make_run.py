"""Smoke test of what `make run` does: migrate, seed the demo, serve, log in, see the demo project."""

import re
import sys

import requests

from tests.support.processes import free_port, manage, project_env, running


def test_demo_project_page_answers_with_demo_data(tmp_path):
    env = project_env(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", REDIS_URL="")
    manage("migrate", "--noinput", env=env)
    seeded = manage("seed_demo", env=env)
    assert "login demo / demo-password" in seeded.stdout
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with running(command, env, ready_url=f"{base}/accounts/login/"):
        browser = requests.Session()
        login_page = browser.get(f"{base}/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        browser.post(
            f"{base}/accounts/login/",
            data={
                "username": "demo",
                "password": "demo-password",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": f"{base}/accounts/login/"},
        )
        page = browser.get(f"{base}/projects/SHOP/")
        assert page.status_code == 200
        assert "Release 2.4 regression" in page.text
        assert "2 failed" in page.text
        assert "Pay with a saved card" in page.text
        assert browser.get(f"{base}/admin/integrations/source/").status_code == 200
        assert "Demo tracker" in browser.get(f"{base}/admin/integrations/source/").text
