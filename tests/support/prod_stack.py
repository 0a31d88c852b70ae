"""The production stack of `make prod`, started piece by piece for smoke tests.

`prod_stack()` gives the stack its own PostgreSQL and Redis (scripts/prod-services.sh) in a
temporary folder on free ports, runs `scripts/prod.sh prepare` (deploy check, migrate,
collectstatic) and yields a `ProdStack` whose gunicorn and Celery worker (with beat) are started
and stopped separately, with exactly the command lines of `make prod`.
"""

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.processes import ROOT, free_port, project_env, running


@dataclass
class ProdStack:
    env: dict[str, str]
    base_url: str
    folder: Path

    def _logged(self, role: str) -> list[str]:
        """`scripts/prod.sh <role>` writing to a log file (a pipe nobody reads would fill up)."""
        return ["bash", "-c", f'exec scripts/prod.sh {role} >>"$0" 2>&1', str(self.folder / f"{role}.log")]

    def web(self):
        return running(self._logged("web"), self.env, ready=lambda: answers(f"{self.base_url}/accounts/login/"))

    def worker(self):
        return running(self._logged("worker"), self.env, ready=lambda: answers(f"{self.base_url}/healthz"))

    def health(self) -> requests.Response:
        return requests.get(f"{self.base_url}/healthz", timeout=10)

    def run(self, code: str) -> str:
        """Run Python in the stack's Django (`manage.py shell -c`); returns what it printed."""
        return _script([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], self.env).stdout.strip()

    def logs(self) -> str:
        return "\n".join(
            f"== {log.name}\n{log.read_text(errors='replace')}" for log in sorted(self.folder.glob("*.log"))
        )


@contextmanager
def deployment(**settings: str):
    """Environment of a deployment on 127.0.0.1 in a temporary folder, with free ports for its
    web server and its own PostgreSQL and Redis; `settings` are further environment variables.
    Afterwards stops the services it may have started and removes the folder."""
    folder = Path(tempfile.mkdtemp(prefix="testmanager-prod-"))
    folder.chmod(0o755)  # PostgreSQL runs as the postgres user when the tests run as root
    env = project_env(
        PROD_STATE=str(folder / "services"),
        PROD_PG_PORT=str(free_port()),
        PROD_REDIS_PORT=str(free_port()),
        PYTHON=sys.executable,
        BIND=f"127.0.0.1:{free_port()}",
        STATIC_ROOT=str(folder / "static"),
        MEDIA_ROOT=str(folder / "media"),
        BEAT_SCHEDULE=str(folder / "celerybeat-schedule"),
        **settings,
    )
    try:
        yield folder, env
    finally:
        subprocess.run(["scripts/prod-services.sh", "stop"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def prod_stack(**settings: str):
    """A prepared stack (services started, `scripts/prod.sh prepare` done), nothing serving yet."""
    with deployment(**settings) as (folder, env):
        started = _script(["scripts/prod-services.sh", "start"], env)
        env.update(dict(assignment.split("=", 1) for assignment in shlex.split(started.stdout)[1:]))
        _script(["scripts/prod.sh", "prepare"], env)
        yield ProdStack(env, f"http://{env['BIND']}", folder)


def answers(url: str) -> bool:
    """Whether the URL answers 200 (a server still starting may refuse or answer slowly)."""
    try:
        return requests.get(url, timeout=10).status_code == 200
    except requests.RequestException:
        return False


def eventually(condition, what: str, timeout: float = 90) -> None:
    """Wait until condition() is true (servers and probes settle on their own schedule)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {timeout}s"
        time.sleep(0.5)


def _script(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done
