"""Error pages in the portal's style, and the service-level validation error."""

import contextlib
import logging

from flask import flash, render_template, request
from flask_wtf.csrf import CSRFError

from portal.extensions import db
from portal.htmx import is_htmx

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A rule was broken; ``field`` names the form field to attach the message to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You do not have permission to open this page."),
    404: ("Not found", "This page does not exist, or you cannot see it."),
    405: ("Not allowed", "This action is not available here."),
    413: ("Too large", "What you sent is larger than the portal accepts."),
    429: ("Too many attempts", "Too many attempts. Wait a minute and try again."),
    500: ("Something went wrong", "The portal hit an unexpected error. Try again; "
          "if it keeps happening, tell your administrator."),
}


def error_response(status: int, detail: str | None = None):
    """The error in the portal's style (JSON under /api/), after undoing the failed
    transaction: the page itself queries the database for its banners."""
    with contextlib.suppress(Exception):
        db.session.rollback()
    title, message = MESSAGES.get(status, MESSAGES[500])
    if request.path.startswith("/api/"):
        code = title.lower().replace(" ", "_")
        return {"error": {"code": code, "message": detail or message}}, status
    template = "shared/_error.html" if is_htmx() else "errors/error.html"
    try:
        return render_template(template, status=status, title=title,
                               message=detail or message), status
    except Exception:  # e.g. the database is down: still answer, plainly
        log.exception("the error page could not be rendered")
        return f"{title}: {detail or message}", status, {"Content-Type": "text/plain"}


def register(app) -> None:
    """Install the handlers so no request ends in a bare traceback page."""
    for status in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(status, lambda e, s=status: error_response(s))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if request.endpoint == "auth.login":
            flash("Your session expired or the form was stale. Please sign in again.", "error")
        return error_response(
            400, "The form's security token was missing or expired. "
                 "Reload the page and submit it again."
        )

    @app.errorhandler(429)
    def too_many(error):
        return error_response(429)
