"""Django settings for the Sundial control plane.

Every setting comes from the environment (django-environ). With no variables set, the whole
product runs embedded: SQLite under ``./var/``, Channels' in-memory layer and Celery's
filesystem broker. ``.env.example`` lists every variable with its default.
"""

from __future__ import annotations

import secrets
import warnings
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("SUNDIAL_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret(filename: str, nbytes: int) -> str:
    """A random secret generated once and kept under the data dir, so that it survives restarts
    without configuration (Django's key; the engine admin secret that ``sundial up`` hands on)."""
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def _database(url: str) -> dict[str, object]:
    """Parse a DATABASE_URL, naming the variable when it is not a database URL we support."""
    expected = "expected sqlite:///path or postgres://user@host:port/name"
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise ImproperlyConfigured(f"DATABASE_URL is not a URL ({expected})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = env.db_url_config(url)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL ({exc})") from None
    engine = str(config.get("ENGINE", ""))
    if engine not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL scheme {scheme!r} is not supported ({expected})")
    if engine == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
        )
    else:
        config.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
    config["ATOMIC_REQUESTS"] = False
    return dict(config)


SECRET_KEY = env.str("SECRET_KEY", default="") or _embedded_secret("secret_key", 50)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth.usersessions' session list uses naturaltime
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "cloud",
    "accounts",
    "namespaces",
    "billing",
    "audit",
    "console",
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
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "cloud.urls"
ASGI_APPLICATION = "cloud.asgi.application"
WSGI_APPLICATION = "cloud.wsgi.application"

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

DATABASES = {"default": _database(env.str("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'sundial.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
# Sign-up (accounts.forms) asks for the organisation to create; the adapter answers exhausted
# sign-in attempts with allauth's 429 page.
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
# Off by default: signing up with a taken e-mail is refused with a clear message (what people
# expect of a console) at the cost of revealing that the address has an account. On, allauth
# answers as if the sign-up worked and mails the address's owner instead.
ACCOUNT_PREVENT_ENUMERATION = env.bool("ACCOUNT_PREVENT_ENUMERATION", default=False)
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Sundial] "
# Login throttling (allauth's rate limits, kept in the cache: Redis when REDIS_URL is set).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="5/5m/ip,5/5m/key"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Sundial"
# Accept the code of the previous and next 30-second step too: phones' clocks drift.
MFA_TOTP_TOLERANCE = 1
USERSESSIONS_TRACK_ACTIVITY = True

# Secrets derived from SECRET_KEY unless given: the pepper of API-key and invitation digests,
# and the key of the audit log's hash chain (rotating either invalidates keys / the chain).
API_KEY_PEPPER = env.str("API_KEY_PEPPER", default="") or f"sundial-api-key:{SECRET_KEY}"
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="") or f"sundial-audit-chain:{SECRET_KEY}"
INVITATION_TTL_SECONDS = env.int("INVITATION_TTL_SECONDS", default=7 * 24 * 3600)
# The address people reach the web app at, used in e-mailed links.
SUNDIAL_PUBLIC_URL = env.str("SUNDIAL_PUBLIC_URL", default="") or (
    f"http://{env.str('SUNDIAL_WEB_HOST', default='127.0.0.1')}:{env.str('SUNDIAL_WEB_PORT', default='8000')}"
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or DATA_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# django-environ drops the first "/" after "filemail://": an absolute path needs one more.
_email = environ.Env.email_url_config(env.str("EMAIL_URL", default="") or f"filemail:///{DATA_DIR / 'mail'}")
vars().update(_email)
if _email["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend":
    EMAIL_FILE_PATH = str(_email.get("EMAIL_FILE_PATH") or DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Sundial <noreply@localhost>")

# Channels and the cache: Redis when REDIS_URL is set, otherwise in-process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CHANNELS_PREFIX", default="sundial"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNELS_PREFIX", default="sundial")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: an explicit broker, else Redis, else the filesystem broker that needs no server.
_celery_dir = DATA_DIR / "celery"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://localhost//"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (
    REDIS_URL if REDIS_URL else f"file://{_celery_dir / 'results'}"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "results", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Periodic tasks, declared here: beat's DatabaseScheduler copies them into its tables at start.
CELERY_BEAT_SCHEDULE = {
    "audit-retention": {"task": "audit.apply_retention", "schedule": crontab(minute=17, hour=3)},
    # Re-queue engine changes whose queueing was lost (broker down): namespaces.tasks.requeue_pending.
    "namespaces-requeue-pending": {
        "task": "namespaces.requeue_pending",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
}

# The engine this control plane provisions and reads through.
SUNDIAL_ENGINE_ADDRESS = env.str("SUNDIAL_ENGINE_ADDRESS", default="") or (
    f"127.0.0.1:{env.int('SUNDIAL_ENGINE_PORT', default=7233)}"
)
# Where tenants' SDKs reach the engine, as the namespace connection page shows it (default:
# SUNDIAL_ENGINE_ADDRESS), and whether it serves TLS there.
SUNDIAL_ENGINE_PUBLIC_ADDRESS = env.str("SUNDIAL_ENGINE_PUBLIC_ADDRESS", default="")
SUNDIAL_ENGINE_PUBLIC_TLS = env.bool("SUNDIAL_ENGINE_PUBLIC_TLS", default=False)
# The engine's --tls-namespace-suffix: mTLS clients name their namespace as <namespace id>.<suffix>.
SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX = env.str("SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX", default="sundial.localhost")
# Its admin API (docs/engine-admin-api.md): where namespaces, keys and grants are provisioned.
SUNDIAL_ENGINE_ADMIN_ADDRESS = env.str("SUNDIAL_ENGINE_ADMIN_ADDRESS", default="") or (
    f"127.0.0.1:{env.int('SUNDIAL_ENGINE_ADMIN_PORT', default=7234)}"
)
SUNDIAL_ENGINE_ADMIN_SECRET = env.str("SUNDIAL_ENGINE_ADMIN_SECRET", default="") or _embedded_secret(
    "engine_admin_secret", 32
)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sundial API",
    "DESCRIPTION": "Manage Sundial accounts, people, keys and namespaces.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
