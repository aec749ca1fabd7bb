"""Settings, every value from the environment (12-factor).

Unset, the product runs embedded on one machine: SQLite, an in-memory channel layer,
a local-memory cache and eager Celery. Production is the same file with other
environment values: DATABASE_URL (PostgreSQL), REDIS_URL (channels-redis, Redis
cache, Celery broker with real workers), DEBUG off, real SECRET_KEY and
PSEUDONYM_KEY. Any secret may also come from a file: SECRET_KEY_FILE=/run/secrets/...

One file, as Django expects, so that every setting and the checks that refuse unsafe
production values are read in one place.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# FileAwareEnv reads NAME, or the file named by NAME_FILE (Docker/Kubernetes secrets).
env = environ.FileAwareEnv()

DEBUG = env.bool("DEBUG", default=False)

# Development-only values. They are public (they are in this file), so production
# refuses to start with them: see _require_secret() below.
DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
DEV_PSEUDONYM_KEY = "dev-only-pseudonym-key-do-not-use-in-production"


def _secret(name: str) -> str:
    """A secret from NAME or NAME_FILE, without the newline an editor or `echo` leaves at the end of a file."""
    return env.str(name, default="").strip()


def _require_secret(name: str, dev_value: str, min_length: int) -> str:
    """The secret from the environment; the dev value only when DEBUG is on."""
    value = _secret(name)
    if DEBUG:
        return value or dev_value
    if not value or value == dev_value:
        raise ImproperlyConfigured(
            f"{name} is not set. Production (DEBUG off) needs a real {name} "
            f"(or {name}_FILE); for local development set DEBUG=true."
        )
    if len(value) < min_length:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} characters long.")
    return value


SECRET_KEY = _require_secret("SECRET_KEY", DEV_SECRET_KEY, min_length=50)
# Rotation: the new key signs, the old ones (comma-separated) still verify sessions and reset links.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Key of the HMAC that turns patient identifiers into pseudonyms at ingestion.
PSEUDONYM_KEY = _require_secret("PSEUDONYM_KEY", DEV_PSEUDONYM_KEY, min_length=32)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is empty: list the host names this site answers to.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first: its runserver serves HTTP and websockets (ASGI) in development.
    "daphne",
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
    "corsheaders",
    "csp",
    "django_prometheus",
    "channels",
    "healthcare.accounts",
    "healthcare.encounters",
    "predictions",
    "optimization",
    "monitoring_app",
    "dashboard",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First of ours: every log line after it, and the tasks queued, carry the request's id.
    "healthcare.logs.RequestIdMiddleware",
    # Errors under /api/ from outside DRF (the URL resolver's 404, DEBUG's pages) answer in JSON.
    "healthcare.api.ApiErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "monitoring_app.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dashboard.middleware.RefusalPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "healthcare.accounts.middleware.ApiPagesCspMiddleware",
    "healthcare.accounts.middleware.RateLimitMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "healthcare.urls"
WSGI_APPLICATION = "healthcare.wsgi.application"
ASGI_APPLICATION = "healthcare.asgi.application"

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

# --- Database -------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs the server and the replay command side by side: WAL lets readers
    # and one writer work at once, IMMEDIATE transactions avoid "database is locked"
    # upgrades from read to write lock, and the timeout waits for the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: the browser tests' server runs in another process and must see the
    # test data. One per test process, so two test runs never share one.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test-db-{os.getpid()}.sqlite3")}
else:
    # A connection pool per process (psycopg_pool): opening a connection per request costs more
    # than most of our queries, and persistent connections are unsafe under ASGI (Django's docs).
    # Connections are checked when taken, so a database restart costs one failed check, not errors.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Prepared statements: a query run 5 times on a connection is parsed and planned once from then
    # on (psycopg's default threshold). Parameters are then bound by the server. Safe with the pool
    # in this process; behind a transaction-mode pgbouncer, set DB_PREPARED_STATEMENTS=false.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=8)
    if DB_POOL_MAX_SIZE > 0:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }

# The pieces written for speed where the framework's public API or its usual pattern would do,
# which bench/serving.py audits; named here, the product runs the framework's way in their place
# (docs/performance.md): a switch for the paired measurement, never needed in production.
PRIVATE_PIECES = ("statements", "representation", "count-cache", "layer-loop")
PUBLIC_API_FOR = frozenset(env.list("PUBLIC_API_FOR", default=[]))
if PUBLIC_API_FOR - set(PRIVATE_PIECES):
    raise ImproperlyConfigured(
        f"PUBLIC_API_FOR: unknown {sorted(PUBLIC_API_FOR - set(PRIVATE_PIECES))}; the pieces are {PRIVATE_PIECES}"
    )

# Query counts and latencies per database, for /metrics (django-prometheus wraps the backend).
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery -------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "hospital", "capacity": 1000, "expiry": 30},
        }
    }
    # Django's own Redis cache, wrapped by django-prometheus to count gets, hits, misses and failures
    # (its module imports django-redis, hence that dependency), reusing its Redis client (caching.py).
    CACHES = {
        "default": {
            "BACKEND": "healthcare.caching.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hospital",
            # A Redis that stops answering (not just refusing) must not hold requests: give up in 1 s.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache"}}

# Without Redis, tasks run in the calling process (eager); with it, on real workers.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# Tasks are idempotent on their database row, so a task lost with its worker is
# redelivered rather than dropped; one message at a time so none waits behind a long job.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# Forecast and plan jobs take seconds. Their own, shorter limit is what the sweep waits for before it
# hands a job whose worker died to another worker (healthcare/jobs.py): minutes, not half an hour.
CELERY_JOB_TIME_LIMIT = env.int("CELERY_JOB_TIME_LIMIT", default=min(300, CELERY_TASK_TIME_LIMIT))
if not 60 <= CELERY_JOB_TIME_LIMIT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_JOB_TIME_LIMIT must be at least 60 s and at most CELERY_TASK_TIME_LIMIT")
# Longer than the longest task, or Redis redelivers a task that is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a request gives up within about 2 s when the broker is down; the job stays queued
# in PostgreSQL and the sweep sends it once Redis is back (healthcare/jobs.py).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = "UTC"
# Workers log through LOGGING above (JSON with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # Patients still in a unit count up to the current hour: extend their census as hours pass.
    "workload-refresh": {"task": "healthcare.encounters.tasks.workload_refresh_task", "schedule": crontab(minute=1)},
    # A forecast job whose message was lost, or whose worker died, is queued again.
    "forecast-jobs-sweep": {"task": "predictions.tasks.forecast_jobs_sweep_task", "schedule": 300.0},
    "optimization-runs-sweep": {"task": "optimization.tasks.optimization_runs_sweep_task", "schedule": 300.0},
    "named-rosters-sweep": {"task": "optimization.tasks.named_rosters_sweep_task", "schedule": 300.0},
    # Plans whose hours have passed: their cost against the census that came, and the hindsight oracle.
    "optimization-runs-review": {
        "task": "optimization.tasks.optimization_runs_review_task",
        "schedule": crontab(minute=5),
    },
    # Units short now or likely short soon, and forecast drift, raised as alerts on the dashboards (a safety
    # net: every census or duty change already rechecks its department).
    "alerts-check": {"task": "monitoring_app.tasks.alerts_check_task", "schedule": 900.0},
    # New data every week: retrain, and keep the new version only if it forecasts better.
    "forecast-retrain": {
        "task": "predictions.tasks.forecast_models_retrain_task",
        "schedule": crontab(minute=20, hour=3, day_of_week="sunday"),
    },
}

# --- Auth and API -----------------------------------------------------------------------

# ModelBackend with each user's permission set cached across requests (healthcare/accounts/backends.py).
AUTHENTICATION_BACKENDS = ["healthcare.accounts.backends.CachedPermissionsBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "healthcare.accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "healthcare.encounters.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "healthcare.schema.ProductAutoSchema",
    "EXCEPTION_HANDLER": "healthcare.accounts.api.exceptions.api_exception_handler",
    # The API reads JSON only (the FHIR endpoints also application/fhir+json): any other body is a 415,
    # and the schema documents exactly that. The browsable API's raw-data form sends JSON.
    "DEFAULT_PARSER_CLASSES": ["healthcare.parsers.DepthSafeJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

JWT_ACCESS_MINUTES = env.int("JWT_ACCESS_MINUTES", default=10)
if not 5 <= JWT_ACCESS_MINUTES <= 15:
    raise ImproperlyConfigured("JWT_ACCESS_MINUTES must be 5-15: access tokens cannot be revoked before they expire")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env.int("JWT_REFRESH_HOURS", default=24)),
    # Each refresh gives a new refresh token and blacklists the old one: a stolen one works once.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a digest of the password: changing it rejects every token issued before.
    "CHECK_REVOKE_TOKEN": True,
    "UPDATE_LAST_LOGIN": True,
}

# Rate limits (healthcare/accounts/ratelimits.py), counted in the shared cache. Behind a proxy,
# RATELIMIT_IP_META_KEY names the header with the client's address (e.g. HTTP_X_REAL_IP).
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY", default=None) or None
RATELIMIT_SIGN_IN = env("RATELIMIT_SIGN_IN", default="10/m")  # per address
RATELIMIT_SIGN_IN_USER = env("RATELIMIT_SIGN_IN_USER", default="5/m")  # per user name tried
RATELIMIT_WRITES = env("RATELIMIT_WRITES", default="600/m")  # encounters, events, FHIR, per user
RATELIMIT_JOBS = env("RATELIMIT_JOBS", default="30/m")  # forecast and plan requests, per user

# --- Single sign-on (OpenID Connect) ----------------------------------------------------------

# Staff sign in through the hospital's identity provider (healthcare/accounts/oidc.py,
# docs/integration.md). Off while OIDC_RP_CLIENT_ID is unset: local accounts only. Local accounts
# stay when it is on: the break-glass way in, on the same page, with the same limits and audit.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = _secret("OIDC_RP_CLIENT_SECRET")
# The provider's discovery document, or its issuer URL (/.well-known/openid-configuration is
# appended): issuer and endpoints are read from it at the first sign-in of each process.
OIDC_OP_DISCOVERY = env.str("OIDC_OP_DISCOVERY", default="")
# Set, these win over the discovered values (a provider without discovery names them all but userinfo).
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_LOGOUT_ENDPOINT = env.str("OIDC_OP_LOGOUT_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
# client_secret_basic, the default of OpenID Connect; false sends the secret in the body (client_secret_post).
OIDC_TOKEN_USE_BASIC_AUTH = env.bool("OIDC_TOKEN_USE_BASIC_AUTH", default=True)
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env.float("OIDC_TIMEOUT", default=10.0)
# Kept in the session for the id_token_hint of the provider's logout.
OIDC_STORE_ID_TOKEN = True
OIDC_AUTHENTICATE_CLASS = "healthcare.accounts.oidc.AuthenticationRequestView"
OIDC_OP_LOGOUT_URL_METHOD = "healthcare.accounts.oidc.logout_url"
LOGIN_REDIRECT_URL_FAILURE = LOGIN_URL
LOGOUT_REDIRECT_URL = LOGIN_URL
OIDC_BUTTON_LABEL = env.str("OIDC_BUTTON_LABEL", default="Sign in with your hospital account")
# Which claims give a user their roles and departments, and how the provider's values map onto
# them: {"roles_claim": "groups", "roles": {"<provider group>": "<role>"}, "departments_claim":
# "departments", "departments": {"<provider group>": "<department code>"}}. A user none of whose
# groups maps to a role is refused.
OIDC_CLAIMS_MAPPING = {
    "roles_claim": "groups",
    "roles": {},
    "departments_claim": "departments",
    "departments": {},
    **env.json("OIDC_CLAIMS_MAPPING", default={}),
}
if OIDC_RP_CLIENT_ID:
    AUTHENTICATION_BACKENDS.append("healthcare.accounts.oidc.OidcBackend")
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured("OIDC_RP_CLIENT_ID is set but OIDC_RP_CLIENT_SECRET (or its _FILE) is not.")
    _oidc_explicit = [OIDC_OP_ISSUER, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_JWKS_ENDPOINT]
    if not OIDC_OP_DISCOVERY and not all(_oidc_explicit):
        raise ImproperlyConfigured(
            "Single sign-on needs OIDC_OP_DISCOVERY, or OIDC_OP_ISSUER, OIDC_OP_AUTHORIZATION_ENDPOINT, "
            "OIDC_OP_TOKEN_ENDPOINT and OIDC_OP_JWKS_ENDPOINT."
        )
    _oidc_urls = [OIDC_OP_DISCOVERY, *_oidc_explicit, OIDC_OP_USER_ENDPOINT, OIDC_OP_LOGOUT_ENDPOINT]
    if not DEBUG and any(url.startswith("http://") for url in _oidc_urls):
        raise ImproperlyConfigured("The identity provider's URLs must be https:// in production.")
    if not OIDC_RP_SIGN_ALGO.startswith(("RS", "ES", "PS")):
        raise ImproperlyConfigured("OIDC_RP_SIGN_ALGO must be an asymmetric algorithm (RS256, ES256, PS256, ...).")
    for _name in ("roles", "departments"):
        if not isinstance(OIDC_CLAIMS_MAPPING[_name], dict):
            raise ImproperlyConfigured(f'OIDC_CLAIMS_MAPPING: "{_name}" must map provider values to names.')
    if not OIDC_CLAIMS_MAPPING["roles"]:
        raise ImproperlyConfigured('OIDC_CLAIMS_MAPPING has no "roles": nobody could sign in with single sign-on.')
# Signing out (a form) of a single sign-on session ends at the provider: CSP's form-action allows its origin.
_oidc_logout = urlsplit(OIDC_OP_LOGOUT_ENDPOINT or OIDC_OP_DISCOVERY)
OIDC_FORM_ACTION = [f"{_oidc_logout.scheme}://{_oidc_logout.netloc}"] if OIDC_RP_CLIENT_ID else []

SPECTACULAR_SETTINGS = {
    "TITLE": "Hospital Workload API",
    "DESCRIPTION": (
        "Patient-flow ingestion, hourly workload, forecasts and nurse staffing per department. "
        "Authenticate with a JWT from POST /api/v1/auth/token/ (header `Authorization: Bearer <access>`) "
        "or with a Django session. Objects of departments you are not assigned to do not exist for you (404)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: served locally, no CDN.
    "ENUM_NAME_OVERRIDES": {
        "EncounterStatusEnum": "healthcare.encounters.choices.EncounterStatus",
        "ForecastStatusEnum": "predictions.models.ForecastStatus",
        "DutyChangeKindEnum": "optimization.models.DutyChangeKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "optimization.api.serializers.plan_request_constraints",
        "healthcare.encounters.api.serializers.department_choices",
        "healthcare.schema.text_without_nul",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# Batch uploads of encounters are bounded: see ENCOUNTER_BATCH_MAX.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# --- Metrics -----------------------------------------------------------------------------

# Request latency histograms include the 0.2 s bucket the latency alert is written against.
PROMETHEUS_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))
# /metrics answers ops users (session or token), or a scraper that sends this bearer token, or
# one of these addresses (the Prometheus server). Nobody else.
METRICS_TOKEN = _secret("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# Alertmanager posts Prometheus' alerts to /api/v1/alerts/prometheus with this bearer token,
# and they appear on the dashboards. Unset: the webhook refuses everything.
ALERTMANAGER_TOKEN = _secret("ALERTMANAGER_TOKEN")

# --- Security (hardened further with the security work) ----------------------------------

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Called over plain HTTP inside the private network, by callers that cannot send X-Forwarded-Proto:
# Prometheus (/metrics), Alertmanager (its webhook), the probes. nginx redirects them from outside.
SECURE_REDIRECT_EXEMPT = [r"^metrics$", r"^api/v1/(health|status)/?$", r"^api/v1/alerts/prometheus/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# Preloading commits the hospital's whole domain to HTTPS in browsers for months, beyond this
# product: its owner decides (SECURE_HSTS_PRELOAD=true). Until then the deploy check's reminder
# (security.W021) is silenced on purpose, and only that one (SECURITY.md).
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy (django-csp): scripts, styles and connections from this site only; no inline
# script anywhere (the pages load theirs as files and pass data as JSON). 'self' in connect-src
# covers the same-origin websocket.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", *OIDC_FORM_ACTION],
        "frame-ancestors": ["'none'"],
    }
}
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation, static files -----------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Front-end libraries come from the npm registry (package.json, `npm ci`) and are served as they are.
CHART_JS_DIST = BASE_DIR / "node_modules" / "chart.js" / "dist"
if CHART_JS_DIST.is_dir():
    STATICFILES_DIRS.append(("vendor/chartjs", CHART_JS_DIST))
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")

# --- Product settings ---------------------------------------------------------------------

# Time zone of new departments; naive timestamps in imported files are read in it.
HOSPITAL_TIME_ZONE = env.str("HOSPITAL_TIME_ZONE", default="UTC")
# JSON file that replaces the default encounter-class -> department mapping
# (healthcare/encounters/ingest/mapping.py; docs/ingestion.md).
INGEST_CLASS_MAPPING_FILE = env.str("INGEST_CLASS_MAPPING_FILE", default="")
# Largest batch accepted by POST /api/v1/encounters/batch/.
ENCOUNTER_BATCH_MAX = env.int("ENCOUNTER_BATCH_MAX", default=5000)

# JSON lines in production (one object per line, with request_id, user_id and task; never
# patient data), plain text for people at a terminal. docs/operations.md lists the fields.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "healthcare.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "healthcare.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per request (healthcare.logs); at a terminal runserver already prints one.
        "healthcare.request": {"level": env.str("REQUEST_LOG_LEVEL", default="WARNING" if DEBUG else "INFO")},
        # One line per task run ("Task ... succeeded in"): in the demo's eager seeding, dozens of them.
        "celery.app.trace": {"level": env.str("TASK_LOG_LEVEL", default="WARNING" if DEBUG else "INFO")},
    },
}
