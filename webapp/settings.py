"""Eligo settings: one module, every value from the environment with a safe default.

A local env file, ``<ELIGO_VAR_DIR>/eligo.env`` (default ``var/eligo.env``, git-ignored), is read
first when it exists: ``KEY=VALUE`` lines that fill in variables the environment does not set
(cookiecutter-django's ``.env`` pattern). ``make run`` writes one (debug on, a generated secret
key), so ``python manage.py ...`` works after it without exporting anything; a deployment has no
such file (the image sets ``ELIGO_VAR_DIR=/data``), so without ``DJANGO_SECRET_KEY`` and with
debug off it refuses to start. ``ELIGO_ENV_FILE`` names another file (empty: read none).
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
import os

BASE_DIR = Path(__file__).resolve().parent.parent


def read_env_file(path: Path) -> None:
    """Set the ``KEY=VALUE`` pairs of ``path`` that the environment lacks (``#`` comments, quotes)."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().partition("=")
        key = key.removeprefix("export ").strip()
        if not sep or not key or key.startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key, value)


ENV_FILE = os.environ.get(
    "ELIGO_ENV_FILE", str(Path(os.environ.get("ELIGO_VAR_DIR", str(BASE_DIR / "var"))) / "eligo.env"))
if ENV_FILE:
    read_env_file(Path(ENV_FILE))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Core ------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (for local use, `make run` "
            "writes var/eligo.env with one; see the README).")
    SECRET_KEY = "insecure-development-key-only-for-debug"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

VAR_DIR = Path(env("ELIGO_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_htmx",
    "annotation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

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

# --- Database --------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'eligo.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # a file, not :memory:, so that worker processes started by tests see the test database
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# database sessions that the annotation actions save inside their own transaction
SESSION_ENGINE = "webapp.sessions"

# --- Auth ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("ELIGO_STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(env("ELIGO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("ELIGO_UPLOAD_MAX_MEMORY", str(10 * 1024 * 1024)))
ELIGO_UPLOAD_MAX_BYTES = int(env("ELIGO_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
FILE_UPLOAD_TEMP_DIR = None

# --- Security (strict when DEBUG is off) -----------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# HSTS and the HTTPS redirect only make sense behind TLS: on by default when DEBUG is off,
# each switchable for a plain-HTTP intranet deployment.
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # the container health check speaks plain HTTP
# set only behind a proxy that overwrites X-Forwarded-Proto (else clients could spoof HTTPS)
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# refuse oversized bodies from Content-Length before reading them; stop chunked ones mid-way
MIDDLEWARE.insert(1, "annotation.security.UploadSizeLimitMiddleware")
MIDDLEWARE.insert(2, "annotation.security.NulByteMiddleware")
MIDDLEWARE.append("annotation.audit.AuditUserMiddleware")
# last, so that its process_exception sees a view's RecursionError first (deeply nested JSON)
MIDDLEWARE.append("annotation.security.DeepInputMiddleware")
FILE_UPLOAD_HANDLERS = [
    "annotation.security.MaxSizeUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
ELIGO_ZIP_MAX_TOTAL_BYTES = int(env("ELIGO_ZIP_MAX_TOTAL_BYTES", str(1024 * 1024 * 1024)))
ELIGO_ZIP_MAX_RATIO = int(env("ELIGO_ZIP_MAX_RATIO", "100"))
ELIGO_ZIP_MAX_MEMBERS = int(env("ELIGO_ZIP_MAX_MEMBERS", "50000"))
# failed logins per username + client IP (login page, admin and /api/auth/token/)
AUTHENTICATION_BACKENDS = ["annotation.security.ThrottledModelBackend"]
ELIGO_LOGIN_MAX_FAILURES = int(env("ELIGO_LOGIN_MAX_FAILURES", "5"))
ELIGO_LOGIN_WINDOW_S = int(env("ELIGO_LOGIN_WINDOW_S", "300"))
# login and API throttle counters must be shared by every gunicorn worker: Redis when there is one
_cache_url = env("ELIGO_CACHE_URL", env("CELERY_BROKER_URL") if env("CELERY_BROKER_URL").startswith("redis") else "")
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": _cache_url, "KEY_PREFIX": "eligo"}}

# --- REST framework ---------------------------------------------------------------------
INSTALLED_APPS += ["rest_framework.authtoken", "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",  # scripts (first: 401 + WWW-Authenticate)
        "rest_framework.authentication.SessionAuthentication",  # pages; CSRF enforced
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "annotation.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotation.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("ELIGO_THROTTLE_ANON", "60/minute"),
        "user": env("ELIGO_THROTTLE_USER", "3000/minute"),
        "uploads": env("ELIGO_THROTTLE_UPLOADS", "30/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Eligo API",
    "DESCRIPTION": "Annotate clinical-trial eligibility criteria with a model in the loop.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SentenceStatusEnum": "annotation.models.SentenceStatus",
        "SuggestionStatusEnum": "annotation.models.ml.SuggestionStatus",
        "TrainingRunStatusEnum": "annotation.models.ml.TrainingRunStatus",
        "ImportJobStatusEnum": "annotation.models.audit.ImportJobStatus",
    },
}
# uploads of at least this size are imported by a Celery task (default queue) instead of inline
ELIGO_IMPORT_ASYNC_BYTES = int(env("ELIGO_IMPORT_ASYNC_BYTES", str(2 * 1024 * 1024)))

# --- Celery -----------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": float(env("CELERY_POLLING_INTERVAL", "0.1")),
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'results'}")
if CELERY_RESULT_BACKEND.startswith("file://"):
    (VAR_DIR / "results").mkdir(parents=True, exist_ok=True)
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "worker.tasks.train_model": {"queue": "training"},
    "worker.tasks.preannotate": {"queue": "inference"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Eligo: model store and encoder -----------------------------------------------------
ELIGO_MODEL_DIR = Path(env("ELIGO_MODEL_DIR", str(VAR_DIR / "models")))
ELIGO_ENCODER = env("ELIGO_ENCODER", "")  # empty: the packaged MiniLM (mlcore resolves it)
# pre-annotation precision: auto = bf16 where the CPU/GPU has it, else int8 on a CPU;
# or fp32 | bf16 | int8
ELIGO_INFERENCE_PRECISION = env("ELIGO_INFERENCE_PRECISION", "auto")
# training runs: the worker touches a heartbeat this often; the web marks a run "lost" after
# this long without one (worker killed, crashed, out of memory)
ELIGO_TRAINING_HEARTBEAT_S = float(env("ELIGO_TRAINING_HEARTBEAT_S", "2"))
ELIGO_TRAINING_STALE_AFTER_S = float(env("ELIGO_TRAINING_STALE_AFTER_S", "60"))
# the annotation queue: an annotator's claim on the criterion they opened lapses after this
# many minutes without an action of theirs on it
ELIGO_CLAIM_MINUTES = float(env("ELIGO_CLAIM_MINUTES", "30"))

# --- Logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
