"""Production settings pass Django's deploy checks; development defaults are refused there."""

import secrets
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, manage, project_env, worker_database_url

PRODUCTION = {
    "DEBUG": "false",
    "HTTPS": "true",
    "ALLOWED_HOSTS": "testmanager.example.com",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FERNET_KEYS": f"{secrets.token_urlsafe(32)},{secrets.token_urlsafe(32)}",
}


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=project_env(**PRODUCTION), check=False)
    assert result.returncode == 0, result.stderr + result.stdout


def test_deploy_check_refuses_development_secrets():
    env = project_env(**{**PRODUCTION, "SECRET_KEY": "", "FERNET_KEYS": ""})
    env.pop("SECRET_KEY"), env.pop("FERNET_KEYS")
    result = manage("check", "--deploy", env=env, check=False)
    assert result.returncode != 0
    assert "testmanager.E001" in result.stderr and "testmanager.E002" in result.stderr


def test_deploy_check_refuses_task_time_limits_a_redelivery_could_overtake():
    env = project_env(**PRODUCTION, CELERY_VISIBILITY_TIMEOUT="1800", CELERY_LONG_TASK_TIME_LIMIT="3000")
    result = manage("check", "--deploy", env=env, check=False)
    assert result.returncode != 0
    assert "testmanager.E003" in result.stderr
    assert "CELERY_LONG_TASK_TIME_LIMIT (3000 s) < CELERY_VISIBILITY_TIMEOUT (1800 s) does not hold" in result.stderr


def test_every_task_has_soft_and_hard_time_limits_below_the_visibility_timeout():
    from django.conf import settings

    from testmanager.celery import app

    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (540, 600)
    long_running = {name for name, task in tasks.items() if task.time_limit == settings.CELERY_LONG_TASK_TIME_LIMIT}
    assert long_running == {
        "issues.run_filing_job",
        "issues.pull_integration",
        "issues.pull_all",
        "issues.import_testrail",
        "issues.reconcile_webhook_sources",
    }
    for name, task in tasks.items():
        limits = (task.soft_time_limit or app.conf.task_soft_time_limit, task.time_limit or app.conf.task_time_limit)
        assert 0 < limits[0] < limits[1] < settings.CELERY_VISIBILITY_TIMEOUT, name


# One request through the WSGI handler gunicorn calls (the test client skips the connection
# housekeeping that runs when a request starts and ends).
KEPT_CONNECTION_PROBE = """
from wsgiref.util import setup_testing_defaults

from django.db import connection

from testmanager.wsgi import application

def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]

before = backend_pid()
environ = {"PATH_INFO": "/accounts/login/", "HTTP_HOST": "127.0.0.1"}
setup_testing_defaults(environ)
application(environ, lambda status, headers: None).close()
print(connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"], before == backend_pid())
"""


def connection_settings_after_a_request(**variables):
    """(CONN_MAX_AGE, CONN_HEALTH_CHECKS, whether a request kept the process's PostgreSQL connection),
    read in a fresh process with these environment variables."""
    env = project_env(DATABASE_URL=worker_database_url(), **variables)
    result = manage("shell", "--no-imports", "-c", KEPT_CONNECTION_PROBE, env=env)
    return result.stdout.split()


@pytest.mark.django_db
def test_by_default_each_request_opens_a_new_database_connection():
    assert connection_settings_after_a_request() == ["0", "True", "False"]


@pytest.mark.django_db
def test_a_kept_connection_serves_the_next_request_and_is_checked_first():
    assert connection_settings_after_a_request(DATABASE_CONN_MAX_AGE="600") == ["600", "True", "True"]
    assert connection_settings_after_a_request(DATABASE_CONN_MAX_AGE="forever") == ["None", "True", "True"]
    assert connection_settings_after_a_request(DATABASE_CONN_MAX_AGE="60", DATABASE_CONN_HEALTH_CHECKS="false") == [
        "60",
        "False",
        "True",
    ]


def test_a_negative_connection_age_stops_the_process_naming_the_variable():
    result = manage("check", env=project_env(DATABASE_CONN_MAX_AGE="-5"), check=False)
    assert result.returncode != 0
    assert "DATABASE_CONN_MAX_AGE must be 0 or more seconds, or forever; got '-5'" in result.stderr


@pytest.mark.parametrize("process", ["web", "worker"])
def test_make_prod_keeps_database_connections_in_web_and_worker_processes(tmp_path, process):
    """scripts/prod.sh runs gunicorn and Celery with kept, health-checked connections unless told otherwise."""
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "$DATABASE_CONN_MAX_AGE $DATABASE_CONN_HEALTH_CHECKS $*"\n')
    fake_python.chmod(0o755)
    env = project_env(PYTHON=str(fake_python), BEAT_SCHEDULE=str(tmp_path / "beat"))
    env.pop("DATABASE_CONN_MAX_AGE", None), env.pop("DATABASE_CONN_HEALTH_CHECKS", None)
    script = str(ROOT / "scripts" / "prod.sh")
    kept = subprocess.run([script, process], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert kept.stdout.startswith("600 true -m " + ("gunicorn" if process == "web" else "celery"))
    env.update(DATABASE_CONN_MAX_AGE="0", DATABASE_CONN_HEALTH_CHECKS="false")
    chosen = subprocess.run([script, process], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert chosen.stdout.startswith("0 false -m ")


def django_process(probe: str, **environment: str) -> str:
    """What ``probe`` prints in a fresh process of the app set up on the test database."""
    env = project_env(DJANGO_SETTINGS_MODULE="testmanager.settings", DATABASE_URL=worker_database_url(), **environment)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


@pytest.mark.django_db
def test_the_wsgi_application_leaves_no_database_connection_for_preforked_workers():
    """gunicorn --preload forks workers after loading testmanager.wsgi: nothing may be connected then."""
    probe = (
        "from django.db import connection; connection.ensure_connection(); import testmanager.wsgi; "
        "print(connection.connection is None)"
    )
    assert django_process(probe, DATABASE_CONN_MAX_AGE="600") == "True"


POOLED_CONNECTION_PROBE = KEPT_CONNECTION_PROBE.replace(
    'print(connection.settings_dict["CONN_MAX_AGE"], ',
    'print(connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["OPTIONS"]["pool"], ',
)


@pytest.mark.django_db
def test_a_pool_from_the_environment_lends_each_request_a_connection_and_takes_it_back():
    """With one pooled connection, the request after the probe's first query is served by the same backend."""
    env = project_env(
        DATABASE_URL=worker_database_url(),
        DATABASE_CONN_MAX_AGE="600",
        DATABASE_POOL="true",
        DATABASE_POOL_MIN_SIZE="1",
        DATABASE_POOL_MAX_SIZE="1",
    )
    result = manage("shell", "--no-imports", "-c", POOLED_CONNECTION_PROBE, env=env)
    assert result.stdout.strip() == "0 {'min_size': 1, 'max_size': 1} True True"


def test_pool_sizes_out_of_order_stop_the_process_naming_the_variables():
    env = project_env(DATABASE_POOL="true", DATABASE_POOL_MIN_SIZE="3", DATABASE_POOL_MAX_SIZE="2")
    result = manage("check", env=env, check=False)
    assert result.returncode != 0
    assert "DATABASE_POOL_MIN_SIZE must be at least 1 and at most DATABASE_POOL_MAX_SIZE; got 3 and 2" in result.stderr


@pytest.mark.django_db
def test_the_wsgi_application_leaves_no_open_connection_pool_for_preforked_workers():
    """A pool opened while gunicorn preloads testmanager.wsgi would hand one socket to every worker."""
    probe = (
        "from django.db import connection; connection.ensure_connection(); opened = not connection.pool.closed; "
        "import testmanager.wsgi; print(opened, connection.pool.closed)"
    )
    assert django_process(probe, DATABASE_POOL="true") == "True True"


@pytest.mark.parametrize(("process", "pooled"), [("web", "true"), ("worker", "unset")])
def test_make_prod_pools_connections_in_gunicorn_workers_only(tmp_path, process, pooled):
    """Celery's prefork children keep their connections; gunicorn workers borrow from a pool unless told otherwise."""
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "${DATABASE_POOL:-unset} $*"\n')
    fake_python.chmod(0o755)
    env = project_env(PYTHON=str(fake_python), BEAT_SCHEDULE=str(tmp_path / "beat"))
    env.pop("DATABASE_POOL", None)
    script = str(ROOT / "scripts" / "prod.sh")
    default = subprocess.run([script, process], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert default.stdout.startswith(f"{pooled} -m ")
    env.update(DATABASE_POOL="false")
    chosen = subprocess.run([script, process], env=env, capture_output=True, text=True, check=True, timeout=60)
    assert chosen.stdout.startswith("false -m ")
