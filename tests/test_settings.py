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
