"""Production settings pass Django's deploy checks; development defaults are refused there."""

import secrets

from tests.support.processes import manage, project_env

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
