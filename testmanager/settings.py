"""Settings, twelve-factor: every deployment knob comes from the environment (see .env.example)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Only good for a laptop: the deploy check refuses it (testmanager.checks).
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-never-use-in-production"

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Newest key first: values written with an older key still decrypt after a new one is prepended.
FERNET_KEYS = env.list("FERNET_KEYS", default=[SECRET_KEY])

# Tracker requests to loopback/private networks are refused unless an admin allows them.
TRACKER_ALLOW_PRIVATE_HOSTS = env.bool("TRACKER_ALLOW_PRIVATE_HOSTS", default=False)
# A page or API call a person waits on (search, link by key, test connection) gives up on a tracker after
# this many seconds, retries included, with a message naming it (integrations.services.interactive).
TRACKER_INTERACTIVE_SECONDS = env.float("TRACKER_INTERACTIVE_SECONDS", default=8.0)

REDIS_URL = env("REDIS_URL", default="")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "social_django",
    # OAuth 2.0 access tokens for API clients (projects/oauth_clients.py); before projects, whose
    # admin replaces the toolkit's application admin.
    "oauth2_provider",
    "testmanager",
    "projects",
    "integrations",
    "issues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Trackers' deliveries to /hooks/ go straight to their view, without the browser middleware below.
    "testmanager.middleware.WebhookFastPathMiddleware",
    # Serves collected static files in production (gunicorn has no static file server).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Lets an issue's history name the signed-in user where a write did not name its actor.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A refused sign-in with a tracker account comes back to the login page with its reason.
    "social_django.middleware.SocialAuthExceptionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "testmanager.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "testmanager.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'testmanager.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False


def _connection_max_age(value: str) -> int | None:
    """Seconds as a whole number; "forever" keeps a connection for the life of the process."""
    if value.strip().lower() == "forever":
        return None
    seconds = int(value)
    if seconds < 0:
        raise ValueError(f"DATABASE_CONN_MAX_AGE must be 0 or more seconds, or forever; got {value!r}")
    return seconds


# Connecting to PostgreSQL costs ~7 ms of a request; a process keeps its connection for
# DATABASE_CONN_MAX_AGE seconds instead (0: a new one per request, "forever": for the process's life).
# Each gunicorn worker and each Celery child holds at most one (sync workers, prefork pool; Celery's
# Django fixup closes the parent's before forking and expired ones around each task), so PostgreSQL
# needs WEB_WORKERS + worker concurrency connections. Health checks reconnect once, at the start of a
# request or task, when the server dropped a kept connection (restart, idle timeout) instead of failing
# it. make prod keeps connections (scripts/prod.sh).
DATABASES["default"]["CONN_MAX_AGE"] = _connection_max_age(env("DATABASE_CONN_MAX_AGE", default="0"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)


def _connection_pool(min_size: int, max_size: int) -> dict[str, int]:
    """psycopg_pool sizes for one process; a process never uses more connections than its threads."""
    if not 1 <= min_size <= max_size:
        raise ValueError(
            "DATABASE_POOL_MIN_SIZE must be at least 1 and at most DATABASE_POOL_MAX_SIZE;"
            f" got {min_size} and {max_size}"
        )
    return {"min_size": min_size, "max_size": max_size}


# DATABASE_POOL: each process (gunicorn worker) draws its PostgreSQL connections from its own psycopg
# pool instead: a request borrows one and hands it back at its end, and connections are opened ahead
# by the pool's threads, never on the request's path. A pool replaces kept connections (Django
# refuses both), and DATABASE_CONN_HEALTH_CHECKS then checks each borrowed connection.
if env.bool("DATABASE_POOL", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = _connection_pool(
        env.int("DATABASE_POOL_MIN_SIZE", default=1), env.int("DATABASE_POOL_MAX_SIZE", default=2)
    )
# The issue list's covering index (its INCLUDE column) serves deep pages on PostgreSQL; SQLite builds
# it without that column, which is all SQLite needs, so its warning says nothing to act on.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Hashed, compressed file names cached for a year by browsers; `collectstatic` writes them
# (make prod). With DEBUG the unhashed names are served straight from the static folders.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Attachments are never served from MEDIA_URL directly: a view checks permission first.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Files sent to a tracker with a filing or a push: at most each tracker's documented limit, and at
# most this when set (a tracker whose administrator lowered its limit); 0 keeps the trackers' own.
TRACKER_ATTACHMENT_MAX_BYTES = env.int("TRACKER_ATTACHMENT_MAX_BYTES", default=0)
# Webhook deliveries larger than this are refused (413) before they are verified or parsed.
WEBHOOK_MAX_BYTES = env.int("WEBHOOK_MAX_BYTES", default=1024 * 1024)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"

# Signing in with GitHub, GitLab, Atlassian or Microsoft Entra ID accounts (integrations/signin):
# a site admin configures each provider in the admin, or here from the environment
# (SOCIAL_AUTH_GITHUB_KEY / _SECRET / _SERVER_URL / _ALLOW_NEW_USERS, likewise GITLAB, ATLASSIAN,
# AZUREAD_TENANT_OAUTH2 with _TENANT_ID). Password sign-in stays.
AUTHENTICATION_BACKENDS = [
    "integrations.signin.backends.GitHubSignIn",
    "integrations.signin.backends.GitLabSignIn",
    "integrations.signin.backends.AtlassianSignIn",
    "integrations.signin.backends.EntraSignIn",
    "django.contrib.auth.backends.ModelBackend",
]
for _backend in ("GITHUB", "GITLAB", "ATLASSIAN", "AZUREAD_TENANT_OAUTH2"):
    for _name in ("KEY", "SECRET", "SERVER_URL", "TENANT_ID"):
        _variable = f"SOCIAL_AUTH_{_backend}_{_name}"
        if _variable in env.ENVIRON:
            globals()[_variable] = env(_variable)
    if f"SOCIAL_AUTH_{_backend}_ALLOW_NEW_USERS" in env.ENVIRON:
        globals()[f"SOCIAL_AUTH_{_backend}_ALLOW_NEW_USERS"] = env.bool(f"SOCIAL_AUTH_{_backend}_ALLOW_NEW_USERS")
SOCIAL_AUTH_STRATEGY = "integrations.signin.strategy.ConfiguredStrategy"
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/accounts/login/"
SOCIAL_AUTH_RAISE_EXCEPTIONS = False
# No token is kept after sign-in (no load_extra_data); users are matched by verified email only.
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "integrations.signin.pipeline.match_user_by_verified_email",
    "integrations.signin.pipeline.create_user_if_allowed",
    "social_core.pipeline.social_auth.associate_user",
)

# HTTPS=true behind TLS in production: secure cookies, HSTS, redirect to https.
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe /healthz over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
# How many reverse proxies in front of the web server append to X-Forwarded-For. With 0 the
# client's address is the connection's; with N it is the Nth address from the right of the header
# (entries further left are whatever the client sent, so never trusted). Login lockouts and API
# throttles count per client address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

REST_FRAMEWORK = {
    # Bearer first: its challenge makes unauthenticated API calls answer 401. OAuth access tokens
    # this installation issued, then personal tokens (`tm_...`), then the pages' session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "projects.oauth_clients.OAuthAccessTokenAuthentication",
        "projects.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "testmanager.api_exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth_token": "10/min"},  # POST /api/auth/token (password guessing)
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # An OAuth access token reaches only as far as its scope (read, write); roles decide the rest.
        "projects.oauth_clients.TokenScopeAllows",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "testmanager API",
    "DESCRIPTION": "Test cases, runs, results, internal issues and tracker links.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files, not a CDN: self-hosted installs may have no Internet,
    # and the page must not run scripts from elsewhere.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The OAuth 2.0 security scheme (projects.oauth_clients.OAuthScheme): relative to this server.
    "OAUTH2_FLOWS": ["authorizationCode", "clientCredentials"],
    "OAUTH2_AUTHORIZATION_URL": "/oauth/authorize/",
    "OAUTH2_TOKEN_URL": "/oauth/token/",
    "OAUTH2_REFRESH_URL": "/oauth/token/",
    "ENUM_NAME_OVERRIDES": {
        "ResultStatusEnum": "projects.models.ResultStatus",
        "RequirementPriorityEnum": "projects.models.Priority",
        "IssueStatusEnum": "issues.models.IssueStatus",
        "IssuePriorityEnum": "issues.models.IssuePriority",
    },
}

# OAuth 2.0 access tokens for API clients (django-oauth-toolkit, endpoints under /oauth/): client
# credentials for machines (acting as the service user the application names), authorization code
# with PKCE (S256 only) for tools acting as the member who consents. Applications are registered in
# the admin. Tokens are stored hashed; expired ones are deleted by a beat task.
OAUTH_API_SCOPES = {
    "read": "Read the test cases, runs, results, requirements and issues of your projects",
    "write": "Create and change them in your projects, as far as your role allows",
}
OAUTH2_PROVIDER = {
    "SCOPES": OAUTH_API_SCOPES,
    "DEFAULT_SCOPES": ["read"],
    "OAUTH2_VALIDATOR_CLASS": "projects.oauth_clients.ApiClientValidator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": env.int("OAUTH_AUTHORIZATION_CODE_SECONDS", default=60),
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "force",
    # https only; command-line tools receiving the code on a loopback address (RFC 8252) need
    # OAUTH_REDIRECT_URI_SCHEMES=https,http (then `check --deploy` warns, as it should).
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list("OAUTH_REDIRECT_URI_SCHEMES", default=["https"]),
    "ALLOW_LOCALHOST_LOOPBACK": True,
    # RFC 9700 (OAuth 2.0 Security Best Current Practice), enforced: no implicit or password
    # grant, no "plain" PKCE, no token in a query string, `iss` in authorization responses,
    # tokens hashed at rest.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# Without Redis (make run), tasks execute eagerly in the web process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# At least once: a task is acknowledged when it ends, so one whose worker dies (killed, out of memory)
# is delivered again; tasks are written to be run again (see issues.filing, issues.sync). Redis hands
# an unacknowledged task to another worker after the visibility timeout, which must exceed the
# longest task (a bulk filing job, a full pull), or a task still running starts a second time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# No task holds a worker for ever (a tracker trickling its answers, a stuck query): at the soft
# limit the task gets SoftTimeLimitExceeded and can end cleanly, at the hard limit its process is
# killed. Ten minutes for every task; the ones that legitimately run long (bulk filing jobs, pulls,
# the daily full read of webhook-fed sources, TestRail imports) get CELERY_LONG_TASK_TIME_LIMIT.
# Every limit stays below the visibility timeout (testmanager.E003), or Redis would hand a task
# still running to a second worker.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=10 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=9 * 60)
CELERY_LONG_TASK_TIME_LIMIT = env.int("CELERY_LONG_TASK_TIME_LIMIT", default=50 * 60)
CELERY_LONG_TASK_SOFT_TIME_LIMIT = env.int("CELERY_LONG_TASK_SOFT_TIME_LIMIT", default=48 * 60)
CELERY_BEAT_SCHEDULE = {
    "integrations-source-health": {"task": "integrations.refresh_source_health", "schedule": 15 * 60},
    # issues.sync: stale references every minute (each source by its own interval), webhook-fed
    # sources read in full once a day, delivery ids forgotten after a week.
    "issues-refresh-stale-references": {"task": "issues.refresh_stale_references", "schedule": 60},
    "issues-reconcile-webhook-sources": {"task": "issues.reconcile_webhook_sources", "schedule": 24 * 3600},
    "issues-prune-webhook-deliveries": {"task": "issues.prune_webhook_deliveries", "schedule": 24 * 3600},
    "issues-apply-waiting-deliveries": {"task": "issues.apply_waiting_deliveries", "schedule": 60},
    # Members' OAuth tokens expiring within five minutes are renewed ahead of use.
    "integrations-renew-member-tokens": {"task": "integrations.renew_expiring_tokens", "schedule": 60},
    "issues-pull-from-trackers": {"task": "issues.pull_all", "schedule": 30 * 60},
    # Expired OAuth access tokens, refresh tokens and authorization codes of API clients.
    "projects-clear-expired-oauth-tokens": {"task": "projects.clear_expired_oauth_tokens", "schedule": 3600},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
