"""scripts/test-services.sh and the suite's guard: `make test` starts from any folder, a service that
cannot start stops it with its message, and the main pass never runs on anything but PostgreSQL and
Redis (and the real Redmine)."""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests

from tests.support.processes import ROOT, free_port

pytestmark = pytest.mark.postgres


@pytest.fixture
def locked_clone():
    """A copy of the script in a clone under a folder only its owner can enter (like /root, 0700)."""
    locked = Path(tempfile.mkdtemp(prefix="testmanager-locked-"))
    locked.chmod(0o700)
    clone = locked / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test-services.sh", clone / "scripts" / "test-services.sh")
    yield clone
    shutil.rmtree(locked, ignore_errors=True)


def _services(clone: Path, command: str, pg_port: int, redis_port: int) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TEST_PG_PORT": str(pg_port),
        "TEST_REDIS_PORT": str(redis_port),
        "TEST_REDMINE_PORT": str(free_port()),
    }
    return subprocess.run(
        ["bash", str(clone / "scripts" / "test-services.sh"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_services_start_and_stop_from_a_clone_only_its_owner_can_enter(locked_clone):
    pg_port, redis_port = free_port(), free_port()
    started = _services(locked_clone, "start", pg_port, redis_port)
    try:
        assert started.returncode == 0, started.stderr
        urls = dict(part.split("=", 1) for part in shlex.split(started.stdout)[1:])
        database = urlsplit(urls["DATABASE_URL"])
        with psycopg.connect(host=database.hostname, port=database.port, user="postgres", dbname="postgres") as db:
            assert db.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis.from_url(urls["REDIS_URL"]).ping()
        redmine = _redmine_current_user(urls)
        assert (redmine.status_code, redmine.json()["user"]["admin"]) == (200, True)
        state = locked_clone / "var" / "test-services"
        data = Path((state / "pg.datadir").read_text().strip())
        redmine_data = Path((state / "redmine.datadir").read_text().strip())
        redmine_instance = Path("/var/lib/redmine", (state / "redmine.instance").read_text().strip())
        assert data.is_dir() and redmine_data.is_dir()
        assert redmine_instance.resolve() == redmine_data  # Debian's instance folder points into /tmp
    finally:
        stopped = _services(locked_clone, "stop", pg_port, redis_port)
    assert stopped.returncode == 0, stopped.stderr
    assert not data.exists()  # the throwaway data directories are removed
    assert not redmine_data.exists() and not redmine_instance.is_symlink()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=pg_port, user="postgres", dbname="postgres", connect_timeout=3)
    with pytest.raises(requests.ConnectionError):
        _redmine_current_user(urls)


def _redmine_current_user(urls: dict[str, str]) -> requests.Response:
    return requests.get(
        f"{urls['REDMINE_URL']}/users/current.json", headers={"X-Redmine-API-Key": urls["REDMINE_API_KEY"]}, timeout=30
    )


def test_a_service_that_cannot_start_fails_loudly_with_its_message(locked_clone):
    taken = urlsplit(os.environ["DATABASE_URL"]).port  # the suite's own PostgreSQL holds this port
    redis_port = free_port()
    try:
        started = _services(locked_clone, "start", taken, redis_port)
    finally:
        _services(locked_clone, "stop", taken, redis_port)
    assert started.returncode != 0
    assert f"FAILED: PostgreSQL did not start on 127.0.0.1:{taken}" in started.stderr
    assert "export DATABASE_URL" not in started.stdout
    # Redmine's setup, started alongside, is not left running behind the failure.
    assert str(locked_clone) not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_the_main_pass_refuses_to_run_on_anything_but_postgresql_and_redis(tmp_path):
    env = {
        **os.environ,
        "TEST_SERVICES_REQUIRED": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fallback.sqlite3'}",
    }
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_architecture.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert "not PostgreSQL" in ran.stdout + ran.stderr


def test_a_redmine_that_cannot_start_fails_loudly_and_leaves_nothing_behind(locked_clone):
    taken = urlsplit(os.environ["REDMINE_URL"]).port  # the suite's own Redmine holds this port
    pg_port, redis_port = free_port(), free_port()
    env = {
        **os.environ,
        "TEST_PG_PORT": str(pg_port),
        "TEST_REDIS_PORT": str(redis_port),
        "TEST_REDMINE_PORT": str(taken),
    }
    script = ["bash", str(locked_clone / "scripts" / "test-services.sh")]
    try:
        started = subprocess.run([*script, "start"], env=env, capture_output=True, text=True, timeout=180)
        instance = (locked_clone / "var" / "test-services" / "redmine.instance").read_text().strip()
    finally:
        subprocess.run([*script, "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "FAILED: Redmine exited on start" in started.stderr
    assert "Address already in use" in started.stderr  # the server's own words
    assert "export" not in started.stdout
    assert not Path("/var/lib/redmine", instance).is_symlink()
