"""Configuration: defaults here, then instance/config.py, then PORTAL_* variables.

Two keys are kept apart on purpose: ``SECRET_KEY`` signs the session cookie,
``ENCRYPTION_KEY`` encrypts sender passwords at rest. Both are generated into
``instance/`` on first run unless supplied, and neither is ever committed.
"""

import os
import secrets
from pathlib import Path


class Defaults:
    """Settings every deployment starts from."""

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600  # seconds ("Keep me signed in")
    SESSION_MAX_AGE_DAYS = 30  # no sign-in session lives longer, remembered or not
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # Failed sign-ins, counted in the database for all processes (see auth.throttle).
    LOGIN_RATE_LIMIT = "10 per minute"  # per address and username
    LOGIN_RATE_LIMIT_PER_ADDRESS = "50 per 15 minutes"
    LOGIN_RATE_LIMIT_PER_USER = "30 per 15 minutes"
    PROXY_COUNT = 0
    SMTP_TIMEOUT = 15.0
    WORKER_INTERVAL = 60
    WORKER_LEASE_SECONDS = 300
    # Claimed messages the worker reads from the database at a time (their bytes included).
    WORKER_READ_AHEAD = 10
    MAX_ATTEMPTS = 5
    RETRY_BASE_SECONDS = 60
    RETRY_MAX_SECONDS = 3600
    SENDER_PAUSE_SECONDS = 300
    # The rolling window of a sender's "recipients per 24 hours" (seconds); keep 86400
    # outside tests.
    QUOTA_WINDOW_SECONDS = 86400
    # An immediate send waits at most this long for its sender's next rate slot, else the
    # message is queued for the worker.
    IMMEDIATE_RATE_WAIT_SECONDS = 5
    PAGE_SIZE = 50
    RECORDS_RETENTION_DAYS = 365
    # An API request's body apart from its attachments (JSON fields, the ``message`` part);
    # attachments add up to the largest message any sender takes (see MAX_MESSAGE_BYTES).
    API_MAX_BODY = 1024 * 1024
    # The largest message (encoded, attachments included) for a sender without its own
    # limit; the compose page's uploads and the API's bodies follow the largest limit.
    MAX_MESSAGE_BYTES = 25 * 1024 * 1024
    # Attachments Windows would run (.exe, .bat, .js, .vbs, .msi, ...) are refused unless on.
    ALLOW_EXECUTABLE_ATTACHMENTS = False
    API_BATCH_MAX_BODY = 10 * 1024 * 1024  # POST /api/v1/messages/batch (up to 1,000 items)
    # send_at: at most this many days ahead; a time up to PAST_TOLERANCE seconds ago
    # (clock skew) is sent at once, an older one refused.
    SCHEDULE_HORIZON_DAYS = 30
    SCHEDULE_PAST_TOLERANCE_SECONDS = 300
    # Delivery callbacks (portal.callbacks): seconds per POST, tries, backoff, and how
    # often the worker's callback thread looks for due ones.
    CALLBACK_TIMEOUT = 10.0
    CALLBACK_MAX_ATTEMPTS = 8
    CALLBACK_RETRY_BASE_SECONDS = 30
    CALLBACK_RETRY_MAX_SECONDS = 3600
    CALLBACK_INTERVAL = 5.0
    # Mail servers team admins may test and save ("smtp.qq.com, *.corp.local, 10.0.0.0/8");
    # empty = any. Test connection / Send test mail per user:
    SENDER_HOST_ALLOWLIST = ""
    SENDER_CHECK_RATE_LIMIT = "20 per minute"
    # Hard budget of one template render (it runs in a child process): seconds, megabytes.
    TEMPLATE_RENDER_SECONDS = 5.0
    TEMPLATE_RENDER_MEMORY_MB = 256
    # The language and time zone of anyone who has not chosen their own (en, zh_Hans_CN,
    # zh_Hant_TW; an IANA zone name). The browser's Accept-Language comes before the locale.
    DEFAULT_LOCALE = "en"
    DEFAULT_TIMEZONE = "UTC"
    # Sign-in with LDAP / Active Directory (PORTAL_LDAP_*; see portal.directory and the
    # README). No URL = off: only local accounts. URL: one or more ldap:// or ldaps://
    # URLs (space or comma separated, tried in order). Certificates are always verified;
    # CA_FILE trusts a private CA. The service account's password is never shown.
    LDAP_URL = None
    LDAP_STARTTLS = False
    LDAP_CA_FILE = None
    LDAP_BIND_DN = None
    LDAP_BIND_PASSWORD = None
    LDAP_USER_BASE = None
    LDAP_USER_FILTER = ("(|(uid={username})(sAMAccountName={username})"
                        "(userPrincipalName={username}))")
    LDAP_DISPLAY_NAME_ATTR = "displayName"  # falls back to cn
    LDAP_EMAIL_ATTR = "mail"
    LDAP_GROUP_BASE = None
    LDAP_ADMIN_GROUP = None  # members are system admins
    LDAP_NESTED_GROUPS = None  # None: nested (in-chain) lookups when the server is AD
    LDAP_TIMEOUT = 5.0  # seconds, per server
    LDAP_REFUSE_UNMAPPED = True  # refuse directory users in no linked group (not admins)
    LDAP_RECHECK_SECONDS = 300  # how often a signed-in directory user is looked up again


def database_url(instance_path: str) -> str:
    """``DATABASE_URL`` when set (PostgreSQL), else SQLite inside ``instance/``."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "portal.sqlite")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(url: str) -> dict:
    """A server database gets connection checks and UTC sessions; SQLite needs neither
    (a ping per checkout would only slow the worker down)."""
    if url.startswith("sqlite"):
        return {}
    return {"pool_pre_ping": True, "connect_args": {"options": "-c timezone=UTC"}}


def secure_files(instance_path: str, database_uri: str) -> None:
    """A new ``instance/`` is readable by its owner only (0700); an existing one loses
    access for others (group access, e.g. for backups, stays). A new SQLite database is
    0600 (created empty here before SQLite would create it world-readable; its WAL and
    shared-memory files take the same mode). Existing files are left as they are."""
    folder = Path(instance_path)
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
    elif folder.stat().st_uid == os.getuid():
        folder.chmod(folder.stat().st_mode & 0o770)
    if database_uri.startswith("sqlite:///") and ":memory:" not in database_uri:
        database = Path(database_uri.removeprefix("sqlite:///").split("?")[0])
        if database.parent.is_dir() and not database.exists():
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def instance_secret(instance_path: str, filename: str, factory) -> str:
    """Read a generated secret from ``instance/``, creating it (mode 600) if absent."""
    path = Path(instance_path) / filename
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = factory()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def load(app, test_config: dict | None) -> None:
    """Apply the layers in order; later layers win."""
    app.config.from_object(Defaults)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.instance_path)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        encryption_env = os.environ.get("PORTAL_SECRET_KEY")
        session_key = app.config.get("SECRET_KEY")
        app.config.from_prefixed_env("PORTAL")
        if encryption_env:
            # PORTAL_SECRET_KEY is the encryption key, not the session key.
            app.config["ENCRYPTION_KEY"] = encryption_env
            app.config["SECRET_KEY"] = session_key
        if os.environ.get("PORTAL_SESSION_KEY"):
            app.config["SECRET_KEY"] = os.environ["PORTAL_SESSION_KEY"]
    else:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(
            app.instance_path, "session.key", lambda: secrets.token_hex(32)
        )
    if not app.config.get("ENCRYPTION_KEY"):
        app.config["ENCRYPTION_KEY"] = instance_secret(
            app.instance_path, "encryption.key", lambda: secrets.token_urlsafe(32)
        )
    secure_files(app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"])
    if "SQLALCHEMY_ENGINE_OPTIONS" not in app.config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
            app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config.get("SESSION_COOKIE_SECURE"):
        app.config["REMEMBER_COOKIE_SECURE"] = True
