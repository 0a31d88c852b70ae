from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secrets_are_configured(app_configs, **kwargs):
    """The development defaults must never reach a production deployment."""
    errors = []
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development default.",
                hint="Set SECRET_KEY in the environment.",
                id="testmanager.E001",
            )
        )
    if settings.DEVELOPMENT_SECRET_KEY in settings.FERNET_KEYS:
        errors.append(
            Error(
                "FERNET_KEYS uses the development default.",
                hint="Set FERNET_KEYS (comma-separated, newest first) in the environment.",
                id="testmanager.E002",
            )
        )
    return errors


@register(deploy=True)
def check_task_time_limits(app_configs, **kwargs):
    """Redis gives an unacknowledged task to another worker after the visibility timeout: a task
    allowed to run longer would run twice at once. Soft limits come before hard ones."""
    pairs = [
        ("CELERY_TASK_SOFT_TIME_LIMIT", "CELERY_TASK_TIME_LIMIT"),
        ("CELERY_LONG_TASK_SOFT_TIME_LIMIT", "CELERY_LONG_TASK_TIME_LIMIT"),
    ]
    errors = []
    for soft, hard in pairs:
        if not 0 < getattr(settings, soft) < getattr(settings, hard) < settings.CELERY_VISIBILITY_TIMEOUT:
            errors.append(
                Error(
                    f"{soft} ({getattr(settings, soft)} s) < {hard} ({getattr(settings, hard)} s) < "
                    f"CELERY_VISIBILITY_TIMEOUT ({settings.CELERY_VISIBILITY_TIMEOUT} s) does not hold.",
                    hint="Keep every task time limit positive, soft below hard, and below the visibility timeout.",
                    id="testmanager.E003",
                )
            )
    return errors
