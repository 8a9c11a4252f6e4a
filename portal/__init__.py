"""Mailbox Portal: manage the mail accounts an organisation sends from."""

import os
from pathlib import Path

from flask import Flask
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config, security
from portal.bounds import IdConverter
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.i18n.marks import N_

TEMPLATE_DIR = "../templates"
STATIC_DIR = "../static"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the portal: configuration, extensions, blueprints and CLI commands."""
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None,
                template_folder=TEMPLATE_DIR, static_folder=STATIC_DIR)
    config.load(app, test_config)
    from portal.outbox.attachments import allow_uploads

    app.before_request(allow_uploads)  # first: other hooks read the body
    from portal.templates_.render import configure as configure_rendering

    configure_rendering(app.config["TEMPLATE_RENDER_SECONDS"],
                        app.config["TEMPLATE_RENDER_MEMORY_MB"])
    _init_extensions(app)
    _apply_proxy_fix(app)
    security.register(app)
    app.url_map.converters["int"] = IdConverter
    _register_blueprints(app)
    from portal import audit, cli, errors, templating

    errors.register(app)
    templating.register(app)
    cli.register(app)
    audit.install()
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    from portal import i18n

    i18n.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("Please sign in to open that page.")
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    from portal import models  # noqa: F401  (register every table with the metadata)

    @login_manager.user_loader
    def load_user(alternative_id: str):
        from portal.auth import sessions

        return sessions.load(alternative_id)


def _apply_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-* only from as many proxies as configured (default none)."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count,
                                x_host=count, x_prefix=count)


def _register_blueprints(app: Flask) -> None:
    from portal.api.views import bp as api_bp
    from portal.audit.views import bp as audit_bp
    from portal.auth.views import bp as auth_bp
    from portal.directory.views import bp as directory_bp
    from portal.health.views import bp as health_bp
    from portal.home.views import bp as home_bp
    from portal.outbox.views import bp as outbox_bp
    from portal.profile.views import bp as profile_bp
    from portal.records.views import bp as records_bp
    from portal.senders.connect import bp as sender_oauth_bp
    from portal.senders.views import bp as senders_bp
    from portal.teams.views import bp as teams_bp
    from portal.templates_.views import bp as templates_bp
    from portal.tokens.views import bp as tokens_bp
    from portal.users.views import bp as users_bp

    for blueprint in (auth_bp, home_bp, teams_bp, users_bp, senders_bp, templates_bp,
                      outbox_bp, records_bp, tokens_bp, api_bp, health_bp, audit_bp,
                      profile_bp, directory_bp, sender_oauth_bp):
        app.register_blueprint(blueprint)
