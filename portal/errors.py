"""Error pages in the portal's style, and the service-level validation error."""

import contextlib
import logging

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from portal.extensions import db
from portal.htmx import is_htmx
from portal.i18n.marks import N_

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A rule was broken; ``field`` names the form field to attach the message to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# (title, message), translated when shown; the API's error ``code`` is made from the
# English title and never changes with the reader's language.
MESSAGES = {
    400: (N_("Bad request"), N_("The request could not be understood.")),
    403: (N_("Not allowed"), N_("You do not have permission to open this page.")),
    404: (N_("Not found"), N_("This page does not exist, or you cannot see it.")),
    405: (N_("Not allowed"), N_("This action is not available here.")),
    413: (N_("Too large"), N_("What you sent is larger than the portal accepts.")),
    429: (N_("Too many attempts"), N_("Too many attempts. Wait a minute and try again.")),
    500: (N_("Something went wrong"), N_("The portal hit an unexpected error. Try again; "
                                         "if it keeps happening, tell your administrator.")),
}


def error_response(status: int, detail: str | None = None):
    """The error in the portal's style (JSON under /api/), after undoing the failed
    transaction: the page itself queries the database for its banners."""
    with contextlib.suppress(Exception):
        db.session.rollback()
    english_title, english_message = MESSAGES.get(status, MESSAGES[500])
    title, message = _translated(english_title), _translated(english_message)
    if request.path.startswith("/api/"):
        code = english_title.lower().replace(" ", "_")
        return {"error": {"code": code, "message": detail or message}}, status
    template = "shared/_error.html" if is_htmx() else "errors/error.html"
    try:
        return render_template(template, status=status, title=title,
                               message=detail or message), status
    except Exception:  # e.g. the database is down: still answer, plainly
        log.exception("the error page could not be rendered")
        return f"{title}: {detail or message}", status, {"Content-Type": "text/plain"}


def _translated(text: str) -> str:
    """``text`` in the reader's language; as it is when even that fails (a broken request)."""
    try:
        return _(text)
    except Exception:  # noqa: BLE001 - an error page must always be answered
        return text


def register(app) -> None:
    """Install the handlers so no request ends in a bare traceback page."""
    for status in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(status, lambda e, s=status: error_response(s))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if request.endpoint == "auth.login":
            flash(_("Your session expired or the form was stale. Please sign in again."),
                  "error")
        return error_response(
            400, _("The form's security token was missing or expired. "
                   "Reload the page and submit it again.")
        )

    @app.errorhandler(429)
    def too_many(error):
        return error_response(429)
