"""NeuroLens settings. Every value comes from the environment; see the README's settings table."""

import base64
import importlib.util
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

#  Production mode turns on every protection `manage.py check --deploy` asks for and refuses to
#  start without a real secret key.
PRODUCTION = env_bool("PRODUCTION", False)
DEBUG = env_bool("DEBUG", not PRODUCTION)

_DEV_SECRET = "dev-only-secret-do-not-use-in-production-neurolens-0000000000"
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured("PRODUCTION=1 needs SECRET_KEY set to a random string of 50+ characters")

#  Keys the hash that turns a DICOM Patient ID into a pseudonymous patient key. Kept apart from
#  SECRET_KEY so that rotating the session secret does not split every patient's scans in two.
PATIENT_KEY_SECRET = env_str("PATIENT_KEY_SECRET", "")
if PRODUCTION and len(PATIENT_KEY_SECRET) < 32:
    raise ImproperlyConfigured("PRODUCTION=1 needs PATIENT_KEY_SECRET set to a random string of 32+ characters")
if not PATIENT_KEY_SECRET:
    PATIENT_KEY_SECRET = "development-patient-key:" + SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "scans",
    "api",
    "audit",
    "analytics",
    "accounts",
    "axes",
    "csp",
]
#  Benchmarks and demo seeding (devtools/: bench_batch, ...) are development commands, not product:
#  installed when DEVTOOLS is on (the default outside PRODUCTION) and the package is present.
DEVTOOLS = env_bool("DEVTOOLS", not PRODUCTION) and importlib.util.find_spec("devtools") is not None
if DEVTOOLS:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "scans.intake.uploads.RequestSizeLimitMiddleware",  # a body too large for its route, before it is read
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.sessions.SessionDeadlineMiddleware",
    "accounts.sessions.HtmxLoginRequiredMiddleware",
    "audit.middleware.AuditAddressMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "scans.middleware.TimezoneMiddleware",
    "accounts.security.PolicyMiddleware",
    "accounts.security.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "scans.context_processors.roles",
                "analytics.context_processors.analytics",
                "accounts.context_processors.account",
            ],
        },
    },
]

#  The embedded default lets a first run work with nothing installed; CI and production use
#  PostgreSQL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/neurolens
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database address: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    #  Django's backend with a health check that needs no round trip while the socket is quiet.
    DATABASES["default"]["ENGINE"] = "lib.postgresql"
#  PostgreSQL's memory per sort or hash in one query (work_mem). At its 4 MB default the analytics'
#  grouping of one clinician's 57,000 predictions went to disk (external merge, 70 ms; 25 ms here).
DATABASE_WORK_MEM_MB = env_int("DATABASE_WORK_MEM_MB", 16, minimum=1)
#  PostgreSQL's parallel workers per query (max_parallel_workers_per_gather; its default is 2). The app's
#  queries read rollups and indexes, a few thousand rows; starting two workers cost more than the work
#  (an analytics query outside UTC at 10 M predictions: 12.6 ms with workers, 3 ms without).
DATABASE_PARALLEL_WORKERS = env_int("DATABASE_PARALLEL_WORKERS", 0, minimum=0)
#  ... except for the CSV export's one statement, which reads and sorts every row it sends.
EXPORT_PARALLEL_WORKERS = env_int("EXPORT_PARALLEL_WORKERS", 2, minimum=0)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (f"{_options.get('options', '')} -c work_mem={DATABASE_WORK_MEM_MB}MB"
                           f" -c max_parallel_workers_per_gather={DATABASE_PARALLEL_WORKERS}").strip()
#  The token lookup and the duplicate check, which every upload runs, are prepared on PostgreSQL
#  (lib.prepared): 0 for a connection pooler that cannot carry prepared statements. psycopg then
#  prepares only what lib.prepared asks it to (a threshold no other statement reaches).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
if DATABASE_PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
#  Sign-in protection (django-axes, counts in the database, so every worker sees the same ones):
#  LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one address, block sign-in there
#  for LOGIN_LOCKOUT_MINUTES, on the login page and POST /api/v1/auth/token alike. An administrator
#  unlocks sooner in Admin > Access attempts or with `manage.py axes_reset_username NAME`.
#  TRUSTED_PROXIES: how many proxies of ours add to X-Forwarded-For (0: the address is REMOTE_ADDR).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0, minimum=0)
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "lib.addresses.client_ip"
AXES_USERNAME_CALLABLE = "accounts.addresses.login_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
#  Password reset mails go through EMAIL_BACKEND: the console (the web process's output) by default;
#  set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST etc. to send them.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "NeuroLens <neurolens@localhost>")
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_MINUTES", 60, minimum=5) * 60
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
#  Stored in UTC; shown in each user's own zone (TimezoneMiddleware reads the browser's zone).
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"  # never served directly: images go through a view that checks access
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

#  Upload limits
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 20, minimum=1)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MIN_IMAGE_SIDE = env_int("MIN_IMAGE_SIDE", 64, minimum=1)
MAX_IMAGE_SIDE = env_int("MAX_IMAGE_SIDE", 8192, minimum=MIN_IMAGE_SIDE)
#  Pixels per image in all (4096 x 4096 by default): bounds one image's working set in memory, so
#  that a small file that declares a huge image is refused before it is decoded.
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 4096 * 4096, minimum=MIN_IMAGE_SIDE * MIN_IMAGE_SIDE)
#  Heat maps, overlays and the pictures in PDF reports are drawn at most this many pixels a side.
DISPLAY_SIDE = env_int("DISPLAY_SIDE", 1024, minimum=128)
HISTORY_PAGE_SIZE = 25
#  Load the model when the WSGI application starts, so the first upload is not slow.
WARM_MODEL = env_bool("WARM_MODEL", True)

#  The API (api/): tokens, throttling, pagination. API_TOKEN_DAYS: a token's life (0: no expiry).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.UserThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "URL_FORMAT_OVERRIDE": None,
}
API_THROTTLE_RATES = {
    "user": env_rate("API_THROTTLE_USER", "600/min"),
    "upload": env_rate("API_THROTTLE_UPLOAD", "60/min"),
}
API_PAGE_SIZE = env_int("API_PAGE_SIZE", HISTORY_PAGE_SIZE, minimum=1)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100, minimum=API_PAGE_SIZE)
API_MAX_TOKENS_PER_USER = env_int("API_MAX_TOKENS_PER_USER", 20, minimum=1)
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, minimum=0)
_API_QUICK_START = """Brain-MRI tumour triage. Results support a clinical decision; they are not a diagnosis.

## Quick start

1. **Get a token** with your NeuroLens user name and password (or create one on your profile page,
   *your name > API tokens*). Signing in again with the same `name` replaces that token's key.

       curl -s -X POST https://neurolens.example.org/api/v1/auth/token \\
            -d username=alice -d password='...' -d name=my-script
       # {"token": "nl_..."}

2. **Upload a slice** (JPEG, PNG or DICOM); the answer is the stored scan with the model's result.

       curl -s -H "Authorization: Bearer nl_..." \\
            -F image=@slice.png -F patient_ref=ST-1 https://neurolens.example.org/api/v1/scans

3. **Read the result** again later by the scan's `id`. Probabilities and `confidence` are fractions
   from 0 to 1 (the pages show them as percentages); times are ISO 8601 with their UTC offset.

       curl -s -H "Authorization: Bearer nl_..." https://neurolens.example.org/api/v1/scans/42

`Authorization: Token nl_...` works as well as `Bearer`. A token expires (API_TOKEN_DAYS) and stops
working when its owner's password changes. Wrong passwords lock sign-in for a while (429
`locked_out`); every error has the shape `{"error": {"code", "message", "field"}}`.

The **prototype** calls under `/api/` (without `v1`) are listed last: they are kept so that old
clients keep working; new code should use `/api/v1/`.
"""
#  The order of the sections in the API docs: the prototype's calls last.
_API_TAGS = [
    ("tokens", "Getting and managing API tokens."),
    ("scans", "Upload a slice and read its result."),
    ("predictions", "The model's results for the scans you can see."),
    ("reviews", "Reviewers' verdicts on a scan."),
    ("patients", "Scans grouped by patient reference."),
    ("reports", "PDF reports."),
    ("batches", "Many images (or ZIP archives) at once, with progress."),
    ("results", "Statistics and exports over your results."),
    ("analytics", "The dashboard's figures."),
    ("model", "The model: classes, version, card and validation figures."),
    ("service", "Is the service up?"),
    ("prototype", ("Kept for old clients of the prototype: the same results as /api/v1/ in the "
                   "prototype's shapes. New code should use /api/v1/.")),
]
SPECTACULAR_SETTINGS = {
    "TAGS": [{"name": name, "description": text} for name, text in _API_TAGS],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema_hooks.prototype_last"],
    "TITLE": "NeuroLens API",
    "DESCRIPTION": _API_QUICK_START,
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    #  One name for each choice set the API uses in several places (else drf-spectacular invents
    #  names such as Label2baEnum and warns, which fails `check --deploy`).
    "ENUM_NAME_OVERRIDES": {
        "ClassLabelEnum": "ml.labels.CLASSES",
        "ReviewStatusEnum": ["unreviewed", "confirmed", "corrected", "not_assessable"],
        "VerdictEnum": ["confirmed", "corrected", "not_assessable"],
        "NotAssessableReasonEnum": ["wrong_modality", "poor_quality", "not_brain", "other"],
        "HealthStatusEnum": ["ok", "error"],
        "BatchItemStatusEnum": "scans.models.batches.BatchItem.STATUS_CHOICES",
        "SeriesStatusEnum": "scans.models.studies.Series.STATUS_CHOICES",
    },
}

#  Analytics (analytics/): Chart.js comes from this address, checked against this SRI hash (empty:
#  no check); a hospital without internet points it at its own copy.
CHARTJS_URL = env_str("CHARTJS_URL", "https://cdn.jsdelivr.net/npm/chart.js@4.6.1/dist/chart.umd.js")
CHARTJS_INTEGRITY = env_str(
    "CHARTJS_INTEGRITY", "sha384-lm7tNiW/3uF4tLujoEeoR94zIODe3hCWqRtW0UgxpQE3QslzOhlD22UqQk1tSBhB")
#  Content-Security-Policy (django-csp; accounts/security.py adds CHARTJS_URL to script-src). No
#  inline script anywhere; style attributes (progress bar widths) are the one inline thing allowed.
#  The API docs pages relax it for themselves (api/urls.py): ReDoc writes its styles inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
#  A prediction below this confidence (per cent) counts as low-confidence in the statistics, and a
#  suspected tumour below it comes first in the reviewers' worklist (scans.reviews).
ANALYTICS_LOW_CONFIDENCE_PCT = env_int("ANALYTICS_LOW_CONFIDENCE_PCT", 60, minimum=0)
if ANALYTICS_LOW_CONFIDENCE_PCT > 100:
    raise ImproperlyConfigured("ANALYTICS_LOW_CONFIDENCE_PCT is a percentage: 0 to 100")

#  A session ends this long after sign-in or the last "Stay signed in" (accounts/sessions.py); the
#  page warns SESSION_WARNING_SECONDS before.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_WARNING_SECONDS = env_int("SESSION_WARNING_SECONDS", 300, minimum=10)
CSRF_FAILURE_VIEW = "accounts.errors.csrf_failure"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

#  Batches (scans/batches/: services.py, tasks.py). With no broker the tasks run in-process, on a
#  background thread of the web process (BATCH_BACKGROUND=0: inside the request that uploads the
#  batch); with CELERY_BROKER_URL=redis://... they go to `make worker`.
#  Workers read the staged files from the default storage: MEDIA_ROOT must then be a volume every
#  web process and worker shares, or MEDIA_STORAGE an object storage backend.
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "django.core.files.storage.FileSystemStorage")
STORAGES["default"] = {"BACKEND": MEDIA_STORAGE}
BATCH_MAX_FILES = env_int("BATCH_MAX_FILES", 500, minimum=1)
#  Files per POST /api/predict/batch (the prototype's call): as many as a batch, read BATCH_CHUNK at a time.
API_BATCH_MAX_FILES = env_int("API_BATCH_MAX_FILES", BATCH_MAX_FILES, minimum=1)
BATCH_CHUNK = env_int("BATCH_CHUNK", 64, minimum=1)  # items per task: one forward pass
BATCH_ZIP_MAX_MEMBERS = env_int("BATCH_ZIP_MAX_MEMBERS", 2000, minimum=1)
BATCH_ZIP_MAX_UNPACKED_MB = env_int("BATCH_ZIP_MAX_UNPACKED_MB", 1024, minimum=1)
BATCH_BACKGROUND = env_bool("BATCH_BACKGROUND", True)
#  Recovery without restarts (scans.batches.tasks.sweep): every BATCH_SWEEP_S seconds a worker, or the
#  web process's batch thread when idle, sends again the pending items whose work was lost (a broker or
#  database fault, a killed process), BATCH_RETRY_S after they were last sent, doubling each attempt; an
#  item a process began BATCH_MAX_ATTEMPTS times without finishing fails instead of looping.
BATCH_SWEEP_S = env_int("BATCH_SWEEP_S", 15, minimum=1)
BATCH_RETRY_S = env_int("BATCH_RETRY_S", 30, minimum=1)
BATCH_MAX_ATTEMPTS = env_int("BATCH_MAX_ATTEMPTS", 3, minimum=1)
#  A batch scan keeps its heat map too (the map's cells: about 0.05 ms an image). Off: it is drawn when
#  first viewed, by the model version that made the prediction (a forward pass then).
BATCH_HEATMAPS = env_bool("BATCH_HEATMAPS", True)
DATA_UPLOAD_MAX_NUMBER_FILES = max(BATCH_MAX_FILES, API_BATCH_MAX_FILES) + 10
FILE_UPLOAD_HANDLERS = ["scans.intake.uploads.SpooledUploadHandler"]  # small files in memory, not 500 temporary files
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
#  Seconds before Redis hands an unacknowledged task (its worker died) to another worker.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=1)

#  DICOM network intake and results (scans/studies/; README "Studies from a PACS").
DICOM_AE_TITLE = env_str("DICOM_AE_TITLE", "NEUROLENS")
DICOM_HOST = env_str("DICOM_HOST", "0.0.0.0")
DICOM_PORT = env_int("DICOM_PORT", 11112, minimum=1)
DICOM_ALLOWED_AES = env_list("DICOM_ALLOWED_AES", [])  # empty: any calling AE title
DICOM_SERIES_IDLE_S = env_int("DICOM_SERIES_IDLE_S", 30, minimum=1)
#  Processes that de-identify and encode received instances beside the listener (scans/studies/workers.py):
#  -1 (default) = one less than the cores, 1 to 4; 0 = threads in the listener's own process.
DICOM_WORK_PROCESSES = env_int("DICOM_WORK_PROCESSES", -1, minimum=-1)
DICOM_SERVICE_USER = env_str("DICOM_SERVICE_USER", "pacs")  # owns every study that arrives over the network
#  Where results go when a series is done: "AET@host:port" (C-STORE) and/or a STOW-RS URL.
DICOM_RESULTS_AE = env_str("DICOM_RESULTS_AE", "")
DICOM_RESULTS_STOW_URL = env_str("DICOM_RESULTS_STOW_URL", "")
#  The Fernet key (urlsafe base64 of 32 bytes) that encrypts the original UIDs and patient module;
#  unset, one is derived from PATIENT_KEY_SECRET (which production requires to be long and random).
DICOM_ORIGINALS_KEY = env_str("DICOM_ORIGINALS_KEY", "")
if DICOM_ORIGINALS_KEY:
    try:
        if len(base64.urlsafe_b64decode(DICOM_ORIGINALS_KEY.encode())) != 32:
            raise ValueError
    except ValueError:
        raise ImproperlyConfigured("DICOM_ORIGINALS_KEY must be a Fernet key (python -c 'from cryptography.fernet "
                                   "import Fernet; print(Fernet.generate_key().decode())')") from None
STOW_MAX_MB = env_int("STOW_MAX_MB", 512, minimum=1)
#  A FHIR server's base URL: a finished series' study Bundle (transaction) is POSTed there, tried
#  FHIR_SEND_ATTEMPTS times; unset, the Bundle is only at GET /api/v1/studies/{id}/fhir.
FHIR_SERVER_URL = env_str("FHIR_SERVER_URL", "")
FHIR_SEND_ATTEMPTS = env_int("FHIR_SEND_ATTEMPTS", 3, minimum=1)
FHIR_SEND_TIMEOUT_S = env_int("FHIR_SEND_TIMEOUT_S", 10, minimum=1)
#  pynetdicom logs a line per C-STORE at INFO; highdicom logs the UIDs of the instances it copies from.
LOGGING["loggers"] = {"pynetdicom": {"level": "WARNING"}, "highdicom": {"level": "WARNING"}}
