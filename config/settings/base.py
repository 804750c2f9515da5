"""Settings shared by every environment; everything that differs comes from the environment."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise ImproperlyConfigured(f"{name} must be a whole number of 0 or more, not {value!r}")
    return int(value)


# Never a key from the source: anyone could sign tokens with it. Without DJANGO_SECRET_KEY this
# module (used as is by tools such as the benchmark) makes one per process, valid nowhere else;
# local keeps one per install under var/, production refuses to start without its own.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50)
# Debug pages only for `make run` (config.settings.local reads DJANGO_DEBUG); never elsewhere.
DEBUG = False
ALLOWED_HOSTS = [
    h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "tenants",
    "accounts",
    "workflows",
    "approvals",
    "cases",
    "demo",
]

MIDDLEWARE = [
    "core.proxies.TrustedProxyMiddleware",  # first: nothing may read a forged X-Forwarded-*
    "core.metrics.MetricsMiddleware",  # request count and latency by route
    "core.middleware.RequestIdMiddleware",
    "core.middleware.RequestGuardMiddleware",  # 413 by Content-Length; lost database: 503
    "django.middleware.security.SecurityMiddleware",
    "core.console.ConsoleFilesMiddleware",  # the built console's files (WhiteNoise)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

VAR_DIR = Path(os.environ.get("WORKFLOWS_VAR_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Every statement uses server-side binding, and psycopg prepares one after this many runs on
    # a connection, so that the engine's batches and the ORM's hot reads (a token's user, the
    # inbox, a list page) are planned once per connection rather than on every run (make load:
    # database CPU per decision 24.9 -> 17.0 ms, relay 13.3 -> 7.6). Empty threshold, or
    # DB_SERVER_SIDE_BINDING=0, turns it off (e.g. behind a transaction-pooling PgBouncer).
    _prepare = os.environ.get("DB_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(_prepare) if _prepare else None
    )
    if env_bool("DB_SERVER_SIDE_BINDING", True):
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`: the server and the job poller (run_jobs) write one file. A transaction takes
    # the write lock when it begins (never "database is locked" when a reader starts writing)
    # and waits for it while the other process holds it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
# A PostgreSQL streaming replica (a hot standby of DATABASE_URL's cluster) for the reads of
# lists, the inbox, reports and the audit log (core.db_router): same login, role and tenant
# context as the primary. Unset: every read goes to the primary. Under test it mirrors default.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"]
    )
    if DATABASES["replica"]["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must name a replica of DATABASE_URL")
    DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
# PostgreSQL roles (core.db_roles, core.rls): every connection switches to DB_APP_ROLE on
# connect; cross-tenant platform code switches to DB_PLATFORM_ROLE per transaction. A superuser
# or BYPASSRLS login is refused unless DB_ALLOW_SUPERUSER says so.
DB_APP_ROLE = os.environ.get("DB_APP_ROLE", "workflows_app")
DB_PLATFORM_ROLE = os.environ.get("DB_PLATFORM_ROLE", "workflows_platform")
DB_ALLOW_SUPERUSER = env_bool("DB_ALLOW_SUPERUSER", False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# Django's backend refusing inactive users and users of inactive tenants (login and sessions).
AUTHENTICATION_BACKENDS = ["accounts.backends.TenantModelBackend"]
TEST_RUNNER = "core.test_runner.PytestRunner"

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
STATIC_ROOT = VAR_DIR / "static"

# The web console (a Vite build, `frontend/dist/`): its files are served at the site root
# (core.console; hashed `assets/*` cached for a year), and every other GET outside /api/,
# /static/, /healthz and /readyz answers its index.html (503 while it is not built).
CONSOLE_DIR = Path(os.environ.get("WORKFLOWS_CONSOLE_DIR", BASE_DIR / "frontend" / "dist"))
WHITENOISE_ALLOW_ALL_ORIGINS = False  # same-origin console: no CORS header on its files

# Sessions are the console's sign-in (POST /api/auth/session/); API clients use JWT. The
# console reads the CSRF cookie and sends it back as X-CSRFToken, so that one is not HttpOnly.
SESSION_COOKIE_NAME = "workflows_session"
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_HOURS", "8")) * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False
CSRF_COOKIE_SAMESITE = "Lax"

# Request bodies: over API_MAX_BODY_BYTES is a 413 on every endpoint (middleware and parser),
# JSON nested deeper than API_MAX_JSON_DEPTH a 400; Django's own reads use the same limit.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(1024 * 1024)))
API_MAX_JSON_DEPTH = int(os.environ.get("API_MAX_JSON_DEPTH", "64"))
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header keeps an unauthenticated answer a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        "accounts.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Counted in the default cache: shared across processes when REDIS_URL is set.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.proxies.AnonRateThrottle",
        "core.proxies.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON_RATE", "120/minute"),
        "user": os.environ.get("THROTTLE_USER_RATE", "1200/minute"),
        "login": os.environ.get("THROTTLE_LOGIN_RATE", "20/minute"),
    },
    # The client IP comes from core.proxies.client_ip (TRUSTED_PROXIES below); 0 keeps any
    # stock DRF throttle on REMOTE_ADDR rather than DRF's default of trusting X-Forwarded-For.
    "NUM_PROXIES": 0,
}

# Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs or CIDRs, e.g.
# "10.0.0.5,10.1.0.0/24"). Empty: no forwarded header is trusted; from any other address they
# are stripped (core.proxies.TrustedProxyMiddleware).
TRUSTED_PROXIES = [p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()]

# /metrics (core.metrics, README "Metrics"): readable with this bearer token, or from these
# client addresses/CIDRs; neither: a 404, except from loopback when WORKFLOWS_METRICS_LOOPBACK.
WORKFLOWS_METRICS_TOKEN = os.environ.get("WORKFLOWS_METRICS_TOKEN", "")
WORKFLOWS_METRICS_ALLOWED_IPS = [
    p.strip() for p in os.environ.get("WORKFLOWS_METRICS_ALLOWED_IPS", "").split(",") if p.strip()
]
WORKFLOWS_METRICS_LOOPBACK = env_bool("WORKFLOWS_METRICS_LOOPBACK", False)
# Collectors read at scrape time (the engine's backlog gauges).
METRICS_COLLECTORS = ["workflows.metrics.EngineGauges"]

# Login lockout (accounts.lockout): per email and per client IP, counted in the default cache.
LOGIN_LOCKOUT_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_FAILURES", "5"))
LOGIN_LOCKOUT_IP_FAILURES = int(os.environ.get("LOGIN_LOCKOUT_IP_FAILURES", "20"))
LOGIN_LOCKOUT_WINDOW_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_WINDOW_SECONDS", "900"))
LOGIN_LOCKOUT_COOLOFF_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_COOLOFF_SECONDS", "900"))

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(os.environ.get("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(os.environ.get("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Every token carries a digest of the password hash: a new password voids older tokens
    # (checked by accounts.tokens on every request and refresh).
    "CHECK_REVOKE_TOKEN": True,
    # The rule every password login applies (token and session): active user, active tenant.
    "USER_AUTHENTICATION_RULE": "accounts.backends.user_may_sign_in",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Workflows API",
    "DESCRIPTION": "Multi-tenant workflow and approval engine.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Every enum named here: a generated name (e.g. `Status97dEnum`) changes with the choices.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.CaseStatus",
        "PriorityEnum": "cases.models.CasePriority",
        "RoleEnum": "accounts.models.Role",
        "RunStatusEnum": "workflows.models.runs.RunStatus",
        "RunStepStatusEnum": "workflows.models.runs.StepRunStatus",
        "TaskStatusEnum": "workflows.models.runs.TaskStatus",
        "BallotDecisionEnum": "workflows.models.runs.BallotDecision",
        "ActionKindEnum": "workflows.engine.registry.ActionKind",
        "TransferStatusEnum": "approvals.models.TransferStatus",
        "WebhookEventEnum": "workflows.models.webhooks.WebhookEvent",
        "WebhookDeliveryStatusEnum": "workflows.models.webhooks.DeliveryStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.strict_oas30_hook",
    ],
    # Swagger UI served from our own static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work: no broker means events run in-process after commit.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "workflows")
# A worker killed mid-task has its task redelivered, not acknowledged and lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
CELERY_TASK_PUBLISH_RETRY = False  # the outbox retries; a publish either works now or waits
# Automated steps: retries back off as base * 2**attempt seconds, at most RETRY_MAX_DELAY.
WORKFLOWS_RETRY_BASE_SECONDS = float(os.environ.get("WORKFLOWS_RETRY_BASE_SECONDS", "2"))
WORKFLOWS_RETRY_MAX_DELAY = float(os.environ.get("WORKFLOWS_RETRY_MAX_DELAY", "300"))
# An attempt's lease (at least the action's timeout_s + 5 s): a redelivery waits it out.
WORKFLOWS_STEP_LEASE_SECONDS = float(os.environ.get("WORKFLOWS_STEP_LEASE_SECONDS", "60"))
# The relay's sweep re-enqueues a running step with no event or live attempt for this long.
WORKFLOWS_SWEEP_AFTER_SECONDS = float(os.environ.get("WORKFLOWS_SWEEP_AFTER_SECONDS", "60"))
# Jobs (workflows.engine.jobs): a claimed job not finished within this lease is taken again.
WORKFLOWS_JOB_LEASE_SECONDS = float(os.environ.get("WORKFLOWS_JOB_LEASE_SECONDS", "300"))
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)

# Notification mail: SMTP when EMAIL_HOST is set (Django's EMAIL_* settings, from the
# environment); else printed to stdout here, and logged unsent with the production settings.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)  # seconds: a hung server fails the job, retried
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "workflows@localhost")
# Where the console is served, for links in notification emails (`/inbox?task=ID`); empty:
# the first of ALLOWED_HOSTS (https when SECURE_SSL_REDIRECT). `make run` sets it.
WORKFLOWS_CONSOLE_URL = os.environ.get("WORKFLOWS_CONSOLE_URL", "")


def logging_config(log_format: str) -> dict:
    """`text` (one readable line) or `json` (one JSON object per line: README "Logs")."""
    formatters = {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    }
    if log_format not in formatters:
        raise ImproperlyConfigured(
            f"WORKFLOWS_LOG_FORMAT must be 'text' or 'json', not {log_format!r}"
        )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # Request id, tenant and user (core.logging) on every record, whatever the format.
        "filters": {"context": {"()": "core.logging.ContextFilter"}},
        "formatters": {log_format: formatters[log_format]},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            },
        },
        "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


LOGGING = logging_config(os.environ.get("WORKFLOWS_LOG_FORMAT", "text"))
# A Celery worker keeps these handlers (and so the format and the context) instead of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# SQLite (the embedded default) has no deferrable constraints; PostgreSQL enforces them.
SILENCED_SYSTEM_CHECKS = ["models.W038"]
