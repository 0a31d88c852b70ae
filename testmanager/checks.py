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
