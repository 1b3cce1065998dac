"""Settings for the agent33 control plane, read from the environment (contract §6).

Development defaults let `make run` and `make test` work on a fresh machine; with
`DJANGO_DEBUG=0` the process refuses to start on a missing or development secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "agent33-dev-secret-key-not-for-production"
DEV_JWT_SECRET = "agent33-dev-jwt-secret-not-for-production"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or DEV_SECRET_KEY
AGENT33_JWT_SECRET = os.environ.get("AGENT33_JWT_SECRET", "") or DEV_JWT_SECRET

if not DEBUG:
    # Production refuses to start on a secret anyone can read in this repository.
    if SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG=0 needs DJANGO_SECRET_KEY set to a private value "
            "(the development key is refused)."
        )
    if AGENT33_JWT_SECRET == DEV_JWT_SECRET:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG=0 needs AGENT33_JWT_SECRET set to a private value "
            "(the development JWT secret is refused)."
        )
    if len(AGENT33_JWT_SECRET) < 32:
        raise ImproperlyConfigured("AGENT33_JWT_SECRET must be at least 32 characters.")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "agent33_site",
    "operations",
    "multimodal",
    "outcomes",
]

MIDDLEWARE = [
    # First, so every response (a 413, a 404, a 500 too) gets an X-Request-ID and a log line.
    "agent33_site.observability.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "agent33_site.api.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agent33_site.security.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The console's messages live in the staff session it already needs. (The default tries a
# signed cookie first, whose signer is built on every request, API calls included.)
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "agent33_site.urls"

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

WSGI_APPLICATION = "agent33_site.wsgi.application"
ASGI_APPLICATION = "agent33_site.asgi.application"

# The embedded SQLite holds Django's own auth users and sessions only; the three
# apps keep their state in memory.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("AGENT33_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}

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
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", "") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the apps' static folders when collectstatic has not run.
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A 5 MB artifact is about 6.7 MB once base64-encoded; leave room for the JSON around it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("AGENT33_MAX_BODY_BYTES", 8 * 1024 * 1024)

# Production hardening, active whenever DEBUG is off (see README "Deploying").
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REFERRER_POLICY = "same-origin"
# Only a TLS-terminating proxy that overwrites X-Forwarded-Proto may say "this was HTTPS";
# trusted from any direct client, the header would fake a secure request.
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health probes come over plain HTTP from the orchestrator, inside the TLS boundary.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Content-Security-Policy (django-csp) on every response: everything from this origin only.
# Inline scripts need the per-request nonce (the docs pages' init script); inline styles are
# allowed because the admin, the console and ReDoc (styled-components) write them. ReDoc's
# search runs in a blob: worker; the console plays WAV results from data: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "media-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agent33_site.security.authentication.BearerJWTAuthentication",
        "agent33_site.security.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["agent33_site.security.permissions.ScopedPermission"],
    "DEFAULT_RENDERER_CLASSES": [
        "agent33_core.renderers.PydanticJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["agent33_site.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "agent33_site.api.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "agent33_site.api.errors.exception_handler",
    # Off unless AGENT33_RATE_LIMITS is set (below; README "Rate limits").
    "DEFAULT_THROTTLE_CLASSES": ["agent33_site.security.throttling.PrincipalRateThrottle"],
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}


def _enum_values(dotted_path: str):
    """An ENUM_NAME_OVERRIDES entry for a StrEnum (or a set of its members) exposed by value.

    Serializers declare `ChoiceField(choices=[e.value for e in MyEnum])` (labels = values);
    given the Enum class, drf-spectacular would label by member name and never match.
    A callable defers the import until the schema is built (settings load before the apps).
    """

    def values() -> list[str]:
        from django.utils.module_loading import import_string

        members = import_string(dotted_path)
        values = [str(getattr(member, "value", member)) for member in members]
        # A set has no order; its serializer lists the values sorted, so the hash must too.
        return sorted(values) if isinstance(members, frozenset | set) else values

    return values


SPECTACULAR_SETTINGS = {
    "TITLE": "agent33 control plane API",
    "DESCRIPTION": (
        "One place to see and steer the work of the agent33 platform: the operations hub "
        "with lifecycle controls, multimodal requests, and outcome metrics. Authenticate "
        "with `Authorization: Bearer <JWT>` (see `manage.py issue_token`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    # One named component per StrEnum; an unnamed choice set would become a "...Enum"
    # component, which tests/api/test_schema.py refuses.
    "ENUM_NAME_OVERRIDES": {
        "MetricType": _enum_values("outcomes.domain.MetricType"),
        "TrendDirection": _enum_values("outcomes.domain.TrendDirection"),
        "ExperimentVerdict": _enum_values("outcomes.domain.Verdict"),
        "Modality": _enum_values("multimodal.domain.Modality"),
        "RequestState": _enum_values("multimodal.domain.RequestState"),
        "ResultState": _enum_values("multimodal.domain.ResultState"),
        "ControlAction": _enum_values("operations.domain.ControlAction"),
        "ProcessType": _enum_values("operations.domain.ProcessType"),
        "ProcessStatus": _enum_values("operations.serializers.KNOWN_STATUSES"),
        "TraceStatus": _enum_values("operations.sources.traces.domain.TraceStatus"),
        "TraceFinalStatus": _enum_values("operations.sources.traces.domain.FINAL_TRACE_STATUSES"),
        "BudgetState": _enum_values("operations.sources.budgets.domain.BudgetState"),
        "IntakeStatus": _enum_values("operations.sources.intakes.domain.IntakeStatus"),
        "ResearchType": _enum_values("operations.sources.intakes.domain.ResearchType"),
        "Urgency": _enum_values("operations.sources.intakes.domain.Urgency"),
        "WorkflowRunStatus": _enum_values("operations.sources.workflows.domain.WorkflowRunStatus"),
        "TriggerType": _enum_values("operations.sources.workflows.domain.TriggerType"),
        "StepEventType": _enum_values("operations.sources.workflows.domain.StepEventType"),
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "agent33_site.api.schema.document_error_responses",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# --- the apps' own settings -------------------------------------------------------

AGENT33_SEED_DEMO = env_bool("AGENT33_SEED_DEMO", False)

# Where the three apps keep their state (agent33_core/state.py; contract §6).
AGENT33_STATE_BACKEND = os.environ.get("AGENT33_STATE_BACKEND", "memory") or "memory"
AGENT33_REDIS_URL = os.environ.get("AGENT33_REDIS_URL", "redis://127.0.0.1:6379/0")
AGENT33_REDIS_PREFIX = os.environ.get("AGENT33_REDIS_PREFIX", "a33") or "a33"

MiB = 1024 * 1024

# Every per-tenant store is bounded in count and in bytes (contract §1; README "Memory").
AGENT33_MAX_JSON_FIELD_BYTES = env_int("AGENT33_MAX_JSON_FIELD_BYTES", 16 * 1024)

OUTCOMES_MAX_EVENTS_PER_TENANT = env_int("OUTCOMES_MAX_EVENTS_PER_TENANT", 10_000)
OUTCOMES_MAX_BYTES_PER_TENANT = env_int("OUTCOMES_MAX_BYTES_PER_TENANT", 64 * MiB)
OUTCOMES_MAX_IDEMPOTENCY_KEYS = env_int("OUTCOMES_MAX_IDEMPOTENCY_KEYS", 10_000)
# Experiments (contract §8): per tenant, and per experiment; bytes cover all three.
OUTCOMES_MAX_EXPERIMENTS_PER_TENANT = env_int("OUTCOMES_MAX_EXPERIMENTS_PER_TENANT", 100)
OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT = env_int(
    "OUTCOMES_MAX_ASSIGNMENTS_PER_EXPERIMENT", 100_000
)
OUTCOMES_MAX_OBSERVATIONS_PER_EXPERIMENT = env_int(
    "OUTCOMES_MAX_OBSERVATIONS_PER_EXPERIMENT", 100_000
)
OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT = env_int(
    "OUTCOMES_MAX_EXPERIMENT_BYTES_PER_TENANT", 64 * MiB
)

OPERATIONS_MAX_RECORDS_PER_TENANT = env_int("OPERATIONS_MAX_RECORDS_PER_TENANT", 10_000)
OPERATIONS_MAX_BYTES_PER_TENANT = env_int("OPERATIONS_MAX_BYTES_PER_TENANT", 16 * MiB)
OPERATIONS_MAX_ACTIONS_PER_TRACE = env_int("OPERATIONS_MAX_ACTIONS_PER_TRACE", 1_000)
OPERATIONS_MAX_CONTROL_HISTORY_PER_TENANT = env_int(
    "OPERATIONS_MAX_CONTROL_HISTORY_PER_TENANT", 10_000
)
OPERATIONS_MAX_CONTROL_HISTORY_BYTES_PER_TENANT = env_int(
    "OPERATIONS_MAX_CONTROL_HISTORY_BYTES_PER_TENANT", 4 * MiB
)
# The live stream (contract §7, operations/stream.py): events a resume can reach back, the
# heartbeat, and the subscribers one server process holds (each holds one thread of
# `manage.py serve`'s worker, which adds that many threads to AGENT33_THREADS).
OPERATIONS_STREAM_BACKLOG = env_int("OPERATIONS_STREAM_BACKLOG", 10_000)
OPERATIONS_STREAM_BACKLOG_BYTES = env_int("OPERATIONS_STREAM_BACKLOG_BYTES", 16 * MiB)
OPERATIONS_STREAM_HEARTBEAT_SECONDS = env_int("OPERATIONS_STREAM_HEARTBEAT_SECONDS", 15)
OPERATIONS_STREAM_MAX_SUBSCRIBERS = env_int("OPERATIONS_STREAM_MAX_SUBSCRIBERS", 512)

MULTIMODAL_MAX_REQUESTS_PER_TENANT = env_int("MULTIMODAL_MAX_REQUESTS_PER_TENANT", 10_000)
MULTIMODAL_MAX_BYTES_PER_TENANT = env_int("MULTIMODAL_MAX_BYTES_PER_TENANT", 64 * MiB)
# A claimed request's lease beyond its timeout (multimodal/services.py).
MULTIMODAL_LEASE_GRACE_SECONDS = env_int("MULTIMODAL_LEASE_GRACE_SECONDS", 10)
MULTIMODAL_HTTP_MAX_RESPONSE_BYTES = env_int("MULTIMODAL_HTTP_MAX_RESPONSE_BYTES", 32 * MiB)
MULTIMODAL_HTTP_BASE_URL = os.environ.get("MULTIMODAL_HTTP_BASE_URL", "https://api.openai.com/v1")
MULTIMODAL_HTTP_API_KEY = os.environ.get("MULTIMODAL_HTTP_API_KEY", "")
MULTIMODAL_HTTP_STT_MODEL = os.environ.get("MULTIMODAL_HTTP_STT_MODEL", "whisper-1")
MULTIMODAL_HTTP_TTS_MODEL = os.environ.get("MULTIMODAL_HTTP_TTS_MODEL", "tts-1")
MULTIMODAL_HTTP_TTS_VOICE = os.environ.get("MULTIMODAL_HTTP_TTS_VOICE", "alloy")
MULTIMODAL_HTTP_VISION_MODEL = os.environ.get("MULTIMODAL_HTTP_VISION_MODEL", "gpt-4o-mini")
MULTIMODAL_ADAPTERS = {
    "speech_to_text": os.environ.get(
        "MULTIMODAL_ADAPTER_SPEECH_TO_TEXT", "multimodal.adapters.offline.SpeechToTextAdapter"
    ),
    "text_to_speech": os.environ.get(
        "MULTIMODAL_ADAPTER_TEXT_TO_SPEECH", "multimodal.adapters.offline.TextToSpeechAdapter"
    ),
    "vision_analysis": os.environ.get(
        "MULTIMODAL_ADAPTER_VISION_ANALYSIS", "multimodal.adapters.offline.VisionAnalysisAdapter"
    ),
}

# Per-principal rate limits: "" (off), "600/min", or "read=600/min,write=120/min"
# (agent33_site/security/throttling.py); a value that cannot be read refuses to start.
AGENT33_RATE_LIMITS = os.environ.get("AGENT33_RATE_LIMITS", "").strip()
if AGENT33_RATE_LIMITS:
    from agent33_site.security.throttling import parse_rate_limits

    parse_rate_limits(AGENT33_RATE_LIMITS)

# The rate-limit counters live in Django's cache: this process's memory, or the shared Redis.
if AGENT33_STATE_BACKEND == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": AGENT33_REDIS_URL,
            "KEY_PREFIX": f"{AGENT33_REDIS_PREFIX}:cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Culling would forget live rate-limit counters: room for many principals.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# `GET /metrics` also answers `Authorization: Bearer <this>` (a Prometheus scraper); unset,
# only operator principals with `admin` can scrape.
AGENT33_METRICS_TOKEN = os.environ.get("AGENT33_METRICS_TOKEN", "")

LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "agent33_site.observability.json_logs.JSONFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "json": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # One JSON line per request (agent33_site/observability/middleware.py).
    "loggers": {"agent33.requests": {"handlers": ["json"], "level": LOG_LEVEL, "propagate": False}},
}
